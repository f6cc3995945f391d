#!/usr/bin/env bash
# CI for the Raspberry Pi builds (Debian 12 x86_64, as root, rustup's cargo on PATH):
#   1. install/check the cross toolchain (Debian's rustc 1.85, ARM std, cross gcc, qemu)
#   2. the test suite for aarch64 under qemu
#   3. release builds for aarch64 and armv7, and their stripped sizes
#   4. the amd64 .deb (cargo-deb) and its contents; the arm64/armhf .debs from step 3
# Prints the elapsed time of each step. Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "$0")/.."

declare -a summary=()
step() {
    local name="$1"; shift
    echo
    echo "==== [cross/ci] $name: $*"
    local t0=$SECONDS
    "$@"
    local dt=$((SECONDS - t0))
    summary+=("$(printf '%-34s %4d s' "$name" "$dt")")
    echo "==== [cross/ci] $name: done in ${dt} s"
}

sizes() {
    local t bin
    for t in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
        bin="${CARGO_TARGET_DIR:-target}/$t/release/originchats-server"
        [ -f "$bin" ] || { echo "[cross/ci] missing $bin" >&2; return 1; }
        if readelf -S "$bin" | grep -q '\.symtab'; then echo "[cross/ci] $bin is not stripped" >&2; return 1; fi
        printf '[cross/ci] stripped size %-32s %9d bytes\n' "$t" "$(stat -c %s "$bin")"
    done
}

total0=$SECONDS
step "install toolchain" bash cross/install-toolchain.sh
step "test aarch64 (qemu)" bash cross/test.sh aarch64-unknown-linux-gnu
step "build aarch64 release" bash cross/build.sh aarch64-unknown-linux-gnu
step "build armv7 release" bash cross/build.sh armv7-unknown-linux-gnueabihf
step "binary sizes" sizes
step "deb amd64 (build + check)" bash cross/check-deb.sh
step "deb arm64 (check)" bash cross/check-deb.sh aarch64-unknown-linux-gnu
step "deb armhf (check)" bash cross/check-deb.sh armv7-unknown-linux-gnueabihf

echo
echo "==== [cross/ci] summary"
printf '  %s\n' "${summary[@]}"
sizes | sed 's/^/  /'
ls -l target/debian/*.deb | sed 's/^/  /'
echo "==== [cross/ci] all steps passed in $((SECONDS - total0)) s"
