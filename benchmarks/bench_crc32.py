"""CRC-32 of one book's bytes, against zlib; and the timing overheads that
every other number includes."""

from __future__ import annotations

import zlib
from functools import partial

import pytest

import orderbook
from harness import case, impls, measure
from workloads import FULL

OP = "crc32"


def zlib_value(w, impl, result):
    assert result == zlib.crc32(w.payload), f"{impl} computed a different CRC-32"


@case(OP, "ours")
def _(w):
    """orderbook.crc32(data)"""
    return partial(orderbook.crc32, w.payload)


@case(OP, "ref")
def _(w):
    """zlib.crc32(data)"""
    return partial(zlib.crc32, w.payload)


@pytest.mark.parametrize("impl", impls(OP))
def test_crc32(benchmark, impl):
    measure(benchmark, OP, impl, FULL, check=zlib_value)


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
