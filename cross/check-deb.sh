#!/usr/bin/env bash
# Build the Debian package with cargo-deb and check what is in it.
#
#   cross/check-deb.sh            amd64: `cargo deb` (builds the release binary natively)
#   cross/check-deb.sh TARGET     arm64/armhf: `cargo deb --no-build --target TARGET`, packaging
#                                 the binary that cross/build.sh TARGET made
#
# Checks: package name/arch, /usr/bin/originchats-server (and its ELF machine), the systemd unit,
# the sysusers file, /etc/originchats-server/config.json listed in conffiles, the systemd
# maintainer-script snippets. Exits non-zero with a message on the first failure.
# Installs cargo-deb (CARGO_DEB_VERSION, default 3.8.0) with `cargo install --locked` if missing.
set -euo pipefail

cd "$(dirname "$0")/.."

CARGO_DEB_VERSION="${CARGO_DEB_VERSION:-3.8.0}"
PKG=originchats-server
fail() { printf '[check-deb] FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf '[check-deb] ok: %s\n' "$*"; }

target="${1:-}"
case "$target" in
    "") arch=amd64; machine="X86-64" ;;
    aarch64|arm64|aarch64-unknown-linux-gnu) target=aarch64-unknown-linux-gnu; arch=arm64; machine="AArch64" ;;
    armv7|armhf|armv7-unknown-linux-gnueabihf) target=armv7-unknown-linux-gnueabihf; arch=armhf; machine="ARM" ;;
    *) fail "unknown target '$target' (none for amd64, aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf)" ;;
esac

for f in config.json debian/$PKG.service debian/$PKG.sysusers; do
    [ -f "$f" ] || fail "$f is missing (the package is made from it)"
done
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found (Debian/Ubuntu needed)"

if ! cargo deb --version >/dev/null 2>&1; then
    echo "[check-deb] installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi
echo "[check-deb] $(cargo deb --version)"

start=$SECONDS
out="target/debian/check"
rm -rf "$out"; mkdir -p "$out"
if [ -z "$target" ]; then
    cargo deb --output "$out/" >"$out/cargo-deb.log" 2>&1 || { cat "$out/cargo-deb.log" >&2; fail "cargo deb failed"; }
else
    bin="${CARGO_TARGET_DIR:-target}/$target/release/$PKG"
    [ -f "$bin" ] || fail "$bin not built: run cross/build.sh $target first"
    # Debian's toolchain knows the ARM target; cargo-deb only reads metadata with --no-build.
    PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc \
        cargo deb --no-build --target "$target" --output "$out/" >"$out/cargo-deb.log" 2>&1 \
        || { cat "$out/cargo-deb.log" >&2; fail "cargo deb --target $target failed"; }
fi
cat "$out/cargo-deb.log"
deb="$(ls "$out"/*.deb 2>/dev/null | head -n1)"
[ -n "$deb" ] || fail "no .deb in $out"
echo "[check-deb] built $deb ($(stat -c %s "$deb") bytes) in $((SECONDS - start)) s"

# --- control ---
info="$(dpkg-deb -I "$deb")" || fail "dpkg-deb -I failed on $deb"
echo "$info"
[ "$(dpkg-deb -f "$deb" Package)" = "$PKG" ] || fail "Package is not $PKG"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture is $(dpkg-deb -f "$deb" Architecture), expected $arch"
ok "Package: $PKG, Architecture: $arch, Version: $(dpkg-deb -f "$deb" Version), Depends: $(dpkg-deb -f "$deb" Depends)"

# --- contents ---
contents="$(dpkg-deb -c "$deb")" || fail "dpkg-deb -c failed on $deb"
echo "$contents"
has() { awk '{print $6}' <<<"$contents" | grep -qx "$1"; }
for p in ./usr/bin/$PKG ./etc/$PKG/config.json ./usr/lib/sysusers.d/$PKG.conf; do
    has "$p" || fail "$p is not in the package"
    ok "$p"
done
if has ./usr/lib/systemd/system/$PKG.service; then unit=./usr/lib/systemd/system/$PKG.service
elif has ./lib/systemd/system/$PKG.service; then unit=./lib/systemd/system/$PKG.service
else fail "no systemd unit $PKG.service in the package"; fi
ok "$unit"
grep -q -- "-rwxr-xr-x .* ./usr/bin/$PKG\$" <<<"$contents" || fail "/usr/bin/$PKG is not mode 755"

# --- files and maintainer scripts ---
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/DEBIAN"
[ -f "$tmp/DEBIAN/conffiles" ] || fail "no conffiles in the package"
grep -qx "/etc/$PKG/config.json" "$tmp/DEBIAN/conffiles" || fail "/etc/$PKG/config.json is not a conffile: $(cat "$tmp/DEBIAN/conffiles")"
ok "conffiles: $(tr '\n' ' ' < "$tmp/DEBIAN/conffiles")"
cmp -s "$tmp/root/etc/$PKG/config.json" config.json || fail "packaged config.json differs from ./config.json"
cmp -s "$tmp/root/$unit" debian/$PKG.service || fail "packaged unit differs from debian/$PKG.service"
grep -q "^ExecStart=/usr/bin/$PKG " "$tmp/root/$unit" || fail "unit has no ExecStart=/usr/bin/$PKG"
grep -q "deb-systemd-helper enable $PKG.service" "$tmp/DEBIAN/postinst" 2>/dev/null || fail "postinst does not enable $PKG.service"
grep -q "systemd-sysusers.*$PKG.conf" "$tmp/DEBIAN/postinst" || fail "postinst does not run systemd-sysusers"
grep -q "deb-systemd-invoke stop $PKG.service" "$tmp/DEBIAN/prerm" 2>/dev/null || fail "prerm does not stop $PKG.service"
ok "maintainer scripts: $(cd "$tmp/DEBIAN" && ls | tr '\n' ' ')"
got_machine="$(readelf -h "$tmp/root/usr/bin/$PKG" | awk -F: '/Machine:/{gsub(/^ +/,"",$2); print $2}')"
grep -q "$machine" <<<"$got_machine" || fail "/usr/bin/$PKG is for '$got_machine', expected $machine"
if readelf -S "$tmp/root/usr/bin/$PKG" | grep -q '\.symtab'; then fail "/usr/bin/$PKG is not stripped"; fi
ok "/usr/bin/$PKG: $got_machine, stripped, $(stat -c %s "$tmp/root/usr/bin/$PKG") bytes"
# The Depends on libc6 must cover the newest glibc symbol version the binary uses.
need_glibc="$(objdump -T "$tmp/root/usr/bin/$PKG" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)"
dep_glibc="$(dpkg-deb -f "$deb" Depends | grep -o 'libc6[^,]*(>= *[0-9.]*)' | grep -o '[0-9][0-9.]*' | tail -n1)"
[ -n "$dep_glibc" ] || fail "Depends has no 'libc6 (>= X)'"
dpkg --compare-versions "$need_glibc" le "$dep_glibc" \
    || fail "the binary needs GLIBC_$need_glibc but Depends says libc6 (>= $dep_glibc): raise it in Cargo.toml"
ok "binary needs GLIBC_$need_glibc, Depends libc6 (>= $dep_glibc)"
if [ -z "$target" ]; then
    "$tmp/root/usr/bin/$PKG" --version >/dev/null || fail "/usr/bin/$PKG --version failed"
    ok "/usr/bin/$PKG --version: $("$tmp/root/usr/bin/$PKG" --version)"
fi
mkdir -p target/debian
cp "$deb" target/debian/
echo "[check-deb] PASS: target/debian/$(basename "$deb")"
