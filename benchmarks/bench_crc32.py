"""CRC-32 against zlib and the two fast zlib-compatible peers, isal
(``isal_zlib.crc32``, Intel ISA-L) and zlib-ng (``zlib_ng.crc32``), at 64
bytes, one book's bytes (6,200 at capacity 128, 2,456 at capacity 50) and
1 MiB; and the timing overheads that every
other number includes.  A peer that is not installed is left out."""

from __future__ import annotations

import random
import zlib
from functools import partial

import pytest

import orderbook
from harness import case, impls, measure
from workloads import FULL, FULL_POINTS

try:
    from isal import isal_zlib
except ImportError:          # the bench extra is not installed
    isal_zlib = None
try:
    from zlib_ng import zlib_ng
except ImportError:
    zlib_ng = None

MIB = random.Random(20261201).randbytes(1 << 20)

#: op id -> the bytes it checksums, from the workload
INPUTS = {
    "crc32.64": lambda w: w.payload[:64],
    "crc32": lambda w: w.payload,                # one book: 6,200 or 2,456 bytes
    "crc32.1mib": lambda w: MIB,
}


def zlib_value(op):
    def check(w, impl, result):
        assert result == zlib.crc32(INPUTS[op](w)), f"{impl} computed a different CRC-32"
    return check


for _op, _data in INPUTS.items():
    @case(_op, "ours")
    def _(w, data=_data):
        """orderbook.crc32(data)"""
        return partial(orderbook.crc32, data(w))

    if isal_zlib is not None:
        @case(_op, "isal")
        def _(w, data=_data):
            """isal.isal_zlib.crc32(data)"""
            return partial(isal_zlib.crc32, data(w))

    if zlib_ng is not None:
        @case(_op, "zlib-ng")
        def _(w, data=_data):
            """zlib_ng.zlib_ng.crc32(data)"""
            return partial(zlib_ng.crc32, data(w))

    @case(_op, "ref")
    def _(w, data=_data):
        """zlib.crc32(data)"""
        return partial(zlib.crc32, data(w))


#: one book's bytes at each capacity; 64 B and 1 MiB do not depend on it
POINTS_OF = {"crc32": FULL_POINTS}


@pytest.mark.parametrize("op, impl, capacity, depth",
                         [(op, impl, c, d) for op in INPUTS for impl in impls(op)
                          for c, d in POINTS_OF.get(op, FULL_POINTS[:1])])
def test_crc32(benchmark, op, impl, capacity, depth):
    measure(benchmark, op, impl, depth, check=zlib_value(op), capacity=capacity)


# --- what calling a timed callable costs by itself --------------------------------------

@case("overhead.partial", "ref")
def _(w):
    """functools.partial(len, b"")"""
    return partial(len, b"")


@case("overhead.function", "ref")
def _(w):
    """a Python function returning a local"""
    x = 0

    def function():
        return x
    return function


@pytest.mark.parametrize("op", ["overhead.partial", "overhead.function"])
def test_overhead(benchmark, op):
    measure(benchmark, op, "ref", FULL)
