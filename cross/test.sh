#!/usr/bin/env bash
# Run the test suite for an ARM target under qemu user-mode emulation, with Debian's rustc 1.85.
# The runner (qemu-aarch64-static / qemu-arm-static) comes from .cargo/config.toml.
#
#   cross/test.sh TARGET [CARGO_TEST_ARGS...]
#   e.g. cross/test.sh aarch64-unknown-linux-gnu
#        cross/test.sh armv7 -- --test-threads=1
# Timings under emulation say nothing about a real board's speed.
set -euo pipefail

cd "$(dirname "$0")/.."

die() { printf '[cross/test] ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: cross/test.sh TARGET [CARGO_TEST_ARGS...]"
case "$1" in
    aarch64|arm64|aarch64-unknown-linux-gnu) t=aarch64-unknown-linux-gnu; qemu=qemu-aarch64-static; sysroot=/usr/aarch64-linux-gnu; handler=qemu-aarch64 ;;
    armv7|armhf|armv7-unknown-linux-gnueabihf) t=armv7-unknown-linux-gnueabihf; qemu=qemu-arm-static; sysroot=/usr/arm-linux-gnueabihf; handler=qemu-arm ;;
    *) die "unknown target '$1' (use aarch64-unknown-linux-gnu or armv7-unknown-linux-gnueabihf)" ;;
esac
shift

export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO=/usr/bin/cargo
unset RUSTUP_TOOLCHAIN
[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] || die "Debian's cargo/rustc missing: run cross/install-toolchain.sh"
[ -d "/usr/lib/rustlib/$t/lib" ] || die "no standard library for $t in /usr/lib/rustlib: run cross/install-toolchain.sh"
command -v "$qemu" >/dev/null || die "$qemu missing: run cross/install-toolchain.sh"
export CC_aarch64_unknown_linux_gnu="${CC_aarch64_unknown_linux_gnu:-aarch64-linux-gnu-gcc}"
export AR_aarch64_unknown_linux_gnu="${AR_aarch64_unknown_linux_gnu:-aarch64-linux-gnu-ar}"
export CC_armv7_unknown_linux_gnueabihf="${CC_armv7_unknown_linux_gnueabihf:-arm-linux-gnueabihf-gcc}"
export AR_armv7_unknown_linux_gnueabihf="${AR_armv7_unknown_linux_gnueabihf:-arm-linux-gnueabihf-ar}"

# Child processes the tests spawn (the server binary) are ARM executables: the kernel starts
# them through qemu's binfmt_misc handler (registered by cross/install-toolchain.sh), and
# QEMU_LD_PREFIX tells that qemu where the ARM libc is (the runner itself uses -L).
export QEMU_LD_PREFIX="$sysroot"
if ! grep -qx enabled "/proc/sys/fs/binfmt_misc/$handler" 2>/dev/null; then
    echo "[cross/test] warning: no binfmt_misc handler $handler: tests that start the server binary" \
         "as a child process will fail (run cross/install-toolchain.sh as root)" >&2
fi

echo "[cross/test] $(/usr/bin/cargo --version) / $(/usr/bin/rustc --version): testing $t under $qemu"
# tests/browser.rs needs a Chromium of the target's architecture, which Debian's x86_64
# machine does not have: those tests return early (each prints why with --nocapture).
echo "[cross/test] browser tests (tests/browser.rs) skip under qemu: no $t Chromium here"
# The library's, the binary's and the integration tests; not the examples (the load tool and
# the benchmarks' stores hold no tests, and building them for the target under CI costs
# minutes). Doc tests do not run for another target anyway.
exec /usr/bin/cargo test --target "$t" --lib --bins --tests "$@"
