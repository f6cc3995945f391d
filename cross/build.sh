#!/usr/bin/env bash
# Build release binaries of originchats-server for the Raspberry Pi with Debian's rustc 1.85
# and the GNU cross linkers (install them with cross/install-toolchain.sh).
#
#   cross/build.sh TARGET...        TARGET: aarch64-unknown-linux-gnu (alias aarch64, arm64)
#                                           armv7-unknown-linux-gnueabihf (alias armv7, armhf)
#                                           all (both)
# Extra cargo arguments may follow `--`, e.g. `cross/build.sh aarch64 -- --locked`.
# Output: target/<triple>/release/originchats-server (stripped by the release profile).
set -euo pipefail

cd "$(dirname "$0")/.."

die() { printf '[cross/build] ERROR: %s\n' "$*" >&2; exit 1; }

triple() {
    case "$1" in
        aarch64|arm64|aarch64-unknown-linux-gnu) echo aarch64-unknown-linux-gnu ;;
        armv7|armhf|armv7-unknown-linux-gnueabihf) echo armv7-unknown-linux-gnueabihf ;;
        *) die "unknown target '$1' (use aarch64-unknown-linux-gnu or armv7-unknown-linux-gnueabihf)" ;;
    esac
}

targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        all) targets+=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf) ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) targets+=("$(triple "$1")") ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || die "usage: cross/build.sh TARGET... [-- CARGO_ARGS]   (see --help)"

# Debian's toolchain, not rustup's (rustup's has no ARM standard library here).
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO=/usr/bin/cargo
unset RUSTUP_TOOLCHAIN
[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] || die "Debian's cargo/rustc missing: run cross/install-toolchain.sh"
# The cc crate (rusqlite's bundled SQLite, ring) finds the cross gcc by itself; be explicit anyway.
export CC_aarch64_unknown_linux_gnu="${CC_aarch64_unknown_linux_gnu:-aarch64-linux-gnu-gcc}"
export AR_aarch64_unknown_linux_gnu="${AR_aarch64_unknown_linux_gnu:-aarch64-linux-gnu-ar}"
export CC_armv7_unknown_linux_gnueabihf="${CC_armv7_unknown_linux_gnueabihf:-arm-linux-gnueabihf-gcc}"
export AR_armv7_unknown_linux_gnueabihf="${AR_armv7_unknown_linux_gnueabihf:-arm-linux-gnueabihf-ar}"

target_dir="${CARGO_TARGET_DIR:-target}"
for t in "${targets[@]}"; do
    [ -d "/usr/lib/rustlib/$t/lib" ] || die "no standard library for $t in /usr/lib/rustlib: run cross/install-toolchain.sh"
    echo "[cross/build] $(/usr/bin/cargo --version) / $(/usr/bin/rustc --version): building $t"
    start=$SECONDS
    /usr/bin/cargo build --release --target "$t" --bin originchats-server "$@"
    bin="$target_dir/$t/release/originchats-server"
    [ -f "$bin" ] || die "expected $bin after the build"
    echo "[cross/build] $t: $bin ($(stat -c %s "$bin") bytes) in $((SECONDS - start)) s"
    file "$bin" 2>/dev/null || true
done
