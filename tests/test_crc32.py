"""CRC-32 kernels (orderbook/src/ob_crc32.c): every kernel this CPU can run
equals zlib.crc32, the fold constants are the derived ones, the tables built
at init are zlib's, and ORDERBOOK_CRC32_KERNEL selects a kernel.

The full cross product (all lengths 0..10,000 at offsets 0..63, chained) runs
natively in C: tests/native/crc32_check.c, built here with the system
compiler, once as shipped and once with the avx512 kernel on emulated
intrinsics (tests/native/avx512_shim.h) for CPUs without AVX-512.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import orderbook
from orderbook._message import _crc32_kernels, _crc32_with

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import crc_constants  # noqa: E402

KERNELS = _crc32_kernels()
MAXLEN = 10_000
DATA = random.Random(20261201).randbytes(MAXLEN + 64)
X86 = {"pclmul", "avx2", "avx512"}
ARM = {"armv8-crc", "pmull"}


BEST = [k for k in ("avx512", "avx2", "pclmul", "pmull", "armv8-crc", "table") if k in KERNELS][0]


def test_table_kernel_is_always_there_and_the_default_is_the_best():
    assert KERNELS[0] == "table"
    assert orderbook.crc32_implementation() in KERNELS
    if os.environ.get("ORDERBOOK_CRC32_KERNEL") is None:
        assert orderbook.crc32_implementation() == BEST


# --- fold constants -------------------------------------------------------------

def test_c_constants_are_the_derived_ones():
    if not (ROOT / "orderbook/src/ob_crc32.c").is_file():
        pytest.skip("the C sources are not here (the suite runs against an installed wheel)")
    assert crc_constants.check() == []
    assert len(crc_constants.c_defines()) == len(crc_constants.constants())


def _clmul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


def _raw0(data: bytes) -> int:
    """The raw CRC register after data, from register 0 (no inversions)."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


@pytest.mark.parametrize("bits", [128, 256, 384, 512, 1024, 2048])
def test_fold_constants_fold(bits):
    """Folding lane A `bits` ahead onto lane B with (K(bits+32), K(bits-32))
    keeps the remainder: the 16 folded bytes have the CRC of A .. B."""
    lo_k, hi_k = crc_constants.k(bits + 32), crc_constants.k(bits - 32)
    rnd = random.Random(bits)
    for _ in range(20):
        a, gap, b = rnd.randbytes(16), bytes(bits // 8 - 16), rnd.randbytes(16)
        av, bv = int.from_bytes(a, "little"), int.from_bytes(b, "little")
        folded = _clmul(av & (2**64 - 1), lo_k) ^ _clmul(av >> 64, hi_k) ^ bv
        assert _raw0(folded.to_bytes(16, "little")) == _raw0(a + gap + b)


def test_barrett_constants():
    c = crc_constants.constants()
    assert c["K_PX"][0] == crc_constants.bitrev(0x104C11DB7, 33) == 0x1DB710641
    assert c["K_MU"][0] == 0x1F7011641


# --- tables built at init ---------------------------------------------------------

def test_tables_built_at_init_are_zlibs():
    """Every entry of the 16 slice tables: byte i at position j of a 16-byte
    block selects T[15 - j][i]; single bytes select T[0]."""
    for i in range(256):
        assert _crc32_with("table", bytes([i])) == zlib.crc32(bytes([i]))
        for j in range(16):
            block = bytes(j) + bytes([i]) + bytes(15 - j)
            assert _crc32_with("table", block, 0xFFFFFFFF) == zlib.crc32(block, 0xFFFFFFFF)


# --- every kernel against zlib ----------------------------------------------------

LENGTHS = sorted(set(range(0, 300)) | {511, 512, 513, 1000, 1023, 1024, 1025, 4095, 4096,
                                        6200, 6209, 6237, 8191, 9999, 10_000})


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel_matches_zlib_every_length(kernel):
    """Every length 0..10,000 (at offset len % 64) from a start value that
    changes with the length; every 11th also chained in two calls."""
    mv = memoryview(DATA)
    for n in range(MAXLEN + 1):
        off = n % 64
        start = (n * 2654435761) & 0xFFFFFFFF
        chunk = mv[off:off + n]
        want = zlib.crc32(chunk, start)
        assert _crc32_with(kernel, chunk, start) == want, (kernel, off, n)
        if n % 11 == 0:
            a = n // 3
            assert _crc32_with(kernel, chunk[a:], _crc32_with(kernel, chunk[:a], start)) == want


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel_matches_zlib_every_offset(kernel):
    mv = memoryview(DATA)
    for off in range(64):
        for n in LENGTHS:
            chunk = mv[off:off + n]
            assert _crc32_with(kernel, chunk, off) == zlib.crc32(chunk, off), (kernel, off, n)


def test_crc32_with_refuses_unknown_and_unavailable_kernels():
    with pytest.raises(ValueError, match="not available"):
        _crc32_with("nonsense", b"x")
    other = ARM if X86 & set(KERNELS) else X86
    for name in other:
        with pytest.raises(ValueError, match="not available"):
            _crc32_with(name, b"x")


def test_crc32_wrapper_semantics():
    assert orderbook.crc32(b"123456789") == 0xCBF43926
    for value in (0, 1, -1, 2**32 - 1, 2**32, 2**40 + 5, -(2**70), True):
        assert orderbook.crc32(b"abc", value) == zlib.crc32(b"abc", value)
    for data in (b"", bytearray(b"xyz"), memoryview(DATA)[3:77]):
        assert orderbook.crc32(data, 9) == zlib.crc32(data, 9)
    with pytest.raises(TypeError):
        orderbook.crc32(b"x", 1.5)
    with pytest.raises(TypeError):
        orderbook.crc32("text")


# --- ORDERBOOK_CRC32_KERNEL ---------------------------------------------------------

def _run_with_kernel(name: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORDERBOOK_CRC32_KERNEL=name)
    code = "import orderbook; print(orderbook.crc32_implementation(), orderbook.crc32(b'123456789'))"
    # run where the orderbook under test lives (the scratch build under make sanitize)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(orderbook.__file__)), timeout=60)


def test_env_selects_the_table_kernel():
    proc = _run_with_kernel("table")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["table", str(0xCBF43926)]
    assert proc.stderr == ""


@pytest.mark.parametrize("kernel", KERNELS)
def test_env_selects_every_available_kernel(kernel):
    proc = _run_with_kernel(kernel)
    assert proc.stdout.split() == [kernel, str(0xCBF43926)] and proc.stderr == ""


@pytest.mark.parametrize("name", ["bogus", "avx512" if "avx512" not in KERNELS else "pmull"])
def test_env_unknown_or_unavailable_kernel_warns_and_falls_back(name):
    proc = _run_with_kernel(name)
    assert proc.returncode == 0, proc.stderr
    assert f"ORDERBOOK_CRC32_KERNEL={name} is not" in proc.stderr
    assert proc.stdout.split() == [BEST, str(0xCBF43926)]


# --- the native driver: the full cross product ----------------------------------------

def _cc() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler (cc / gcc) to build tests/native/crc32_check.c")
    return cc


def _build_and_run(tmp_path: Path, name: str, extra: list) -> str:
    if not (ROOT / "orderbook/src/ob_crc32.c").is_file():
        pytest.skip("the C sources are not here (the suite runs against an installed wheel)")
    exe = tmp_path / name
    cmd = [_cc(), "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'orderbook/src'}",
           f"-I{ROOT / 'tests/native'}", *extra, str(ROOT / "tests/native/crc32_check.c"),
           str(ROOT / "orderbook/src/ob_crc32.c"), "-lpthread", "-o", str(exe)]
    subprocess.run(cmd, check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k != "ORDERBOOK_CRC32_KERNEL"}
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith(" passed, 0 failed"), proc.stdout
    return proc.stdout


def test_native_driver_all_lengths_all_offsets(tmp_path):
    out = _build_and_run(tmp_path, "crc32_check", [])
    for k in KERNELS:        # the same kernels as the extension sees
        assert f"{k:<10} lengths 0..10000 x offsets 0..63: ok" in out, out


@pytest.mark.skipif(not X86 & set(KERNELS), reason="x86-64 only")
def test_native_driver_avx512_kernel_on_emulated_intrinsics(tmp_path):
    if "avx2" not in KERNELS:
        pytest.skip("the AVX-512 shim needs AVX2 + VPCLMULQDQ")
    out = _build_and_run(tmp_path, "crc32_check_shim", ['-DOB_CRC32_TEST_AVX512_SHIM="avx512_shim.h"'])
    assert "avx512     lengths 0..10000 x offsets 0..63: ok" in out, out
