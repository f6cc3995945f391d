#!/usr/bin/env bash
# Install the cross toolchain for the Raspberry Pi targets on Debian 12 / Ubuntu (x86_64):
#   - Debian's rustc 1.85 ("rustc-web", cargo-web, libstd-rust-web-dev), pinned
#   - the ARM standard libraries for that exact rustc (unpacked from the arm64/armhf .debs)
#   - the GNU cross linkers (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf)
#   - qemu user-mode emulation (qemu-user-static) to run the ARM test binaries, and its
#     binfmt_misc handlers registered (if not already) so ARM binaries can start ARM children
#
# Idempotent and cheap when everything is already there (no apt-get update then), so CI can
# call it on every run. Needs root (or sudo).
#
# Environment:
#   DEB_RUST_VERSION   Debian version of rustc-web/cargo-web/libstd to pin
#                      (default 1.85.0+dfsg3-1~deb12u3). If it is no longer in the archive,
#                      the candidate version is used instead, with a warning.
#   CROSS_TARGETS      which ARM std libraries to unpack (default: both)
set -euo pipefail

V_DEFAULT="1.85.0+dfsg3-1~deb12u3"
V="${DEB_RUST_VERSION:-$V_DEFAULT}"
TARGETS="${CROSS_TARGETS:-aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf}"
STAMP_NAME=".originchats-libstd-version"

log() { printf '[install-toolchain] %s\n' "$*"; }
die() { printf '[install-toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "must run as root (or with sudo available)"
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script is for Debian/Ubuntu"
[ "$(dpkg --print-architecture)" = "amd64" ] || log "warning: host is $(dpkg --print-architecture), tested only on amd64"

deb_arch() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo arm64 ;;
        armv7-unknown-linux-gnueabihf) echo armhf ;;
        *) die "unsupported target $1 (aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf)" ;;
    esac
}

pkg_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '$3=="installed"{print $4}'; }

# --- binfmt_misc: run ARM executables directly (through qemu) ---------------------------
# The integration tests start the server binary as a child process. Under cargo's runner only
# the test binary itself runs in qemu; the child it spawns is an ARM executable that the host
# kernel can only start through a binfmt_misc handler. A normal Debian host registers
# qemu-user-static's handlers at boot (systemd-binfmt); containers without systemd don't.
# The handlers find the ARM libc through QEMU_LD_PREFIX, which cross/test.sh sets.
setup_binfmt() {
    local bm=/proc/sys/fs/binfmt_misc a
    if [ ! -e "$bm/register" ]; then
        $SUDO mount -t binfmt_misc binfmt_misc "$bm" 2>/dev/null || {
            log "warning: cannot mount binfmt_misc: tests that spawn ARM child processes will fail"
            return 0
        }
    fi
    for a in aarch64 arm; do
        [ -e "$bm/qemu-$a" ] && continue
        [ -f "/usr/lib/binfmt.d/qemu-$a.conf" ] || { log "warning: /usr/lib/binfmt.d/qemu-$a.conf missing"; continue; }
        if $SUDO sh -c "cat /usr/lib/binfmt.d/qemu-$a.conf > $bm/register" 2>/dev/null; then
            log "registered binfmt_misc handler qemu-$a"
        else
            log "warning: could not register binfmt_misc handler qemu-$a: tests that spawn ARM child processes will fail"
        fi
    done
}

# --- What is missing? -------------------------------------------------------------------
# Without an explicit DEB_RUST_VERSION, accept a rustc-web that an earlier run installed as
# a fallback (see below) as long as the ARM std libraries were unpacked for that version.
if [ -z "${DEB_RUST_VERSION:-}" ] && inst="$(pkg_version rustc-web)" && [ -n "$inst" ] && [ "$inst" != "$V" ]; then
    same=1
    for t in $TARGETS; do
        [ "$(cat "/usr/lib/rustlib/$t/$STAMP_NAME" 2>/dev/null)" = "$inst" ] || same=0
    done
    [ "$same" = 1 ] && V="$inst"
fi
need_apt=()
for p in rustc-web cargo-web libstd-rust-web-dev; do
    [ "$(pkg_version "$p")" = "$V" ] || need_apt+=("$p")
done
for b in aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu arm-linux-gnueabihf-gcc:gcc-arm-linux-gnueabihf \
         qemu-aarch64-static:qemu-user-static qemu-arm-static:qemu-user-static; do
    command -v "${b%%:*}" >/dev/null 2>&1 || need_apt+=("${b#*:}")
done

need_std=()
for t in $TARGETS; do
    d="/usr/lib/rustlib/$t/lib"
    if [ -f "/usr/lib/rustlib/$t/$STAMP_NAME" ] && [ "$(cat "/usr/lib/rustlib/$t/$STAMP_NAME")" = "$V" ] \
        && compgen -G "$d/libstd-*.rlib" >/dev/null; then
        continue
    fi
    need_std+=("$t")
done

if [ ${#need_apt[@]} -eq 0 ] && [ ${#need_std[@]} -eq 0 ]; then
    setup_binfmt
    log "already installed: rustc-web $V, std for: $TARGETS, cross gcc, qemu-user-static"
    log "$(/usr/bin/rustc --version)"
    exit 0
fi

# --- Host packages ----------------------------------------------------------------------
log "apt-get update"
$SUDO apt-get update -qq || log "warning: apt-get update reported errors (continuing)"

if ! apt-cache show "rustc-web=$V" >/dev/null 2>&1; then
    cand="$(apt-cache policy rustc-web | awk '/Candidate:/{print $2}')"
    [ -n "$cand" ] && [ "$cand" != "(none)" ] || die "rustc-web is not available from apt (Debian 12 bookworm needed)"
    log "warning: rustc-web=$V is not in the archive; using candidate $cand"
    V="$cand"
fi
# Package name of the versioned std library, e.g. libstd-rust-web-1.85
STD_PKG="libstd-rust-web-$(echo "$V" | cut -d. -f1,2)"

log "installing rustc-web=$V cargo-web=$V libstd-rust-web-dev=$V, cross gcc, qemu-user-static"
$SUDO apt-get install -y -q --allow-downgrades --no-install-recommends \
    "rustc-web=$V" "cargo-web=$V" "libstd-rust-web-dev=$V" \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
    qemu-user-static
# 'auto' install of rustc-web pulls libstd for the host; make sure the versions agree
[ "$(pkg_version rustc-web)" = "$V" ] || die "rustc-web is $(pkg_version rustc-web), expected $V"

# --- ARM standard libraries -------------------------------------------------------------
# apt's multiarch resolver refuses libstd-rust-web-dev:arm64 on this image (an unrelated
# libxml2:arm64 dependency), so download the .debs and unpack them: they only add
# /usr/lib/rustlib/<target>/lib/*.rlib, matching /usr/bin/rustc exactly.
# The .debs for the same version re-install the current files again, which is harmless.
if [ ${#need_std[@]} -eq 0 ]; then
    # rustc-web may have changed version above; re-check the stamps
    for t in $TARGETS; do
        [ "$(cat "/usr/lib/rustlib/$t/$STAMP_NAME" 2>/dev/null)" = "$V" ] || need_std+=("$t")
    done
fi
if [ ${#need_std[@]} -gt 0 ]; then
    archs=()
    for t in "${need_std[@]}"; do archs+=("$(deb_arch "$t")"); done
    added=0
    for a in "${archs[@]}"; do
        if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
            log "dpkg --add-architecture $a"
            $SUDO dpkg --add-architecture "$a"
            added=1
        fi
    done
    if [ "$added" = 1 ]; then
        log "apt-get update (foreign architectures)"
        # The arm64/armhf index of bookworm-security may fail ("Mirror sync in progress");
        # the packages come from bookworm main.
        $SUDO apt-get update -qq || log "warning: apt-get update reported errors (continuing)"
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    chmod 0777 "$tmp"   # apt's _apt sandbox user writes the downloads
    for a in "${archs[@]}"; do
        log "downloading libstd-rust-web-dev:$a=$V $STD_PKG:$a=$V"
        (cd "$tmp" && apt-get download -qq "libstd-rust-web-dev:$a=$V" "$STD_PKG:$a=$V") \
            || die "could not download the $a std library debs for $V"
    done
    # Leave dpkg's architecture list as it was: the foreign architectures were only needed
    # for the download (and their bookworm-security index tends to fail apt-get update).
    if [ "$added" = 1 ] && [ "${CROSS_KEEP_FOREIGN_ARCH:-0}" != 1 ]; then
        for a in "${archs[@]}"; do $SUDO dpkg --remove-architecture "$a" 2>/dev/null || true; done
    fi
    for f in "$tmp"/*.deb; do
        log "unpacking $(basename "$f")"
        $SUDO dpkg -x "$f" /
    done
    for t in "${need_std[@]}"; do
        compgen -G "/usr/lib/rustlib/$t/lib/libstd-*.rlib" >/dev/null \
            || die "no libstd rlib in /usr/lib/rustlib/$t/lib after unpacking"
        echo "$V" | $SUDO tee "/usr/lib/rustlib/$t/$STAMP_NAME" >/dev/null
    done
fi

setup_binfmt
log "done: $(/usr/bin/rustc --version); targets in /usr/lib/rustlib: $(ls /usr/lib/rustlib | tr '\n' ' ')"
