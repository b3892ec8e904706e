#!/usr/bin/env bash
# make crc-aarch64: cross-compile tests/native/crc32_check.c + ob_crc32.c for
# aarch64 (static) and run it under qemu-aarch64-static: every aarch64 kernel
# (table, armv8-crc, pmull) against a bitwise reference, lengths 0..10,000 at
# offsets 0..63, chained; then once more with ORDERBOOK_CRC32_KERNEL=table to
# show the override selects the table kernel.
#
# Installs gcc-aarch64-linux-gnu and qemu-user-static with apt-get when they
# are missing and apt-get can be used (root); otherwise prints
# "crc-aarch64: SKIPPED: <reason>" and exits 0.  CRC_MAX_LEN shortens the run.
set -euo pipefail
cd "$(dirname "$0")/.."
CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-aarch64-static}
MAX_LEN=${CRC_MAX_LEN:-10000}
OUT=build/crc32_check_aarch64

skip() { echo "crc-aarch64: SKIPPED: $*"; exit 0; }

if ! command -v "$CROSS_CC" >/dev/null || ! command -v "$QEMU" >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "crc-aarch64: installing gcc-aarch64-linux-gnu qemu-user-static"
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
              gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static; } >build/crc-aarch64-apt.log 2>&1 \
            || skip "apt-get install failed (see build/crc-aarch64-apt.log)"
    fi
    command -v "$CROSS_CC" >/dev/null || skip "$CROSS_CC not found (Debian: gcc-aarch64-linux-gnu)"
    command -v "$QEMU" >/dev/null || skip "$QEMU not found (Debian: qemu-user-static)"
fi

mkdir -p build
set -x
nice -n 10 "$CROSS_CC" -O2 -std=c11 -Wall -Wextra -Werror -static -Iorderbook/src \
    tests/native/crc32_check.c orderbook/src/ob_crc32.c -lpthread -o "$OUT"
"$QEMU" "$OUT" --max-len "$MAX_LEN"
ORDERBOOK_CRC32_KERNEL=table "$QEMU" "$OUT" --max-len 256 | tee build/crc32_check_aarch64_table.txt
set +x
grep -q "^active kernel: table$" build/crc32_check_aarch64_table.txt
echo "crc-aarch64: OK"
