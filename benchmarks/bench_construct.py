"""Construct: a full book from level tuples or numpy arrays, new or reused."""

from __future__ import annotations

from functools import partial

import pytest

from harness import case, impls, measure, same_book
from peers import ctypes_book, msgspec_book, numpy_book, struct_book
from vec_baseline import VecOrderBook
from workloads import DEPTHS, FULL
from orderbook import OrderBook

# --- from tuples, a new object ---------------------------------------------------

OP = "construct.tuples"


@case(OP, "ours")
def _(w):
    """OrderBook(bids, asks, **header)"""
    return partial(OrderBook, w.bids, w.asks, **w.header)


@case(OP, "vec")
def _(w):
    """VecOrderBook(bids, asks, **header)"""
    return partial(VecOrderBook, w.bids, w.asks, **w.header)


@case(OP, "ctypes")
def _(w):
    """CBook(**header), then field-by-field fill of each level slot"""
    return partial(ctypes_book.build, w.bids, w.asks, w.header)


@case(OP, "struct")
def _(w):
    """one Struct.pack of the 1,033 flattened values (levels + zero slots)"""
    return partial(struct_book.build, w.bids, w.asks, w.header)


@case(OP, "numpy")
def _(w):
    """np.zeros(1, BOOK), header fields set, np.array(tuples) columns assigned"""
    return partial(numpy_book.build, w.bids, w.asks, w.header)


@case(OP, "msgspec")
def _(w):
    """MBook(bids=list(bids), asks=list(asks), **header) (copies the lists)"""
    return partial(msgspec_book.build, w.bids, w.asks, w.header)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("impl", impls(OP))
def test_construct_tuples(benchmark, impl, depth):
    measure(benchmark, OP, impl, depth, check=same_book)


# --- from tuples, refilling an existing object -------------------------------------

OP_REUSE = "construct.tuples_reuse"


@case(OP_REUSE, "ours")
def _(w):
    """book.set_bids(bids); book.set_asks(asks)"""
    book = OrderBook(**w.header)
    bids, asks = w.bids, w.asks

    def refill():
        book.set_bids(bids)
        book.set_asks(asks)
        return book
    return refill


@case(OP_REUSE, "ctypes")
def _(w):
    """memset both sides, field-by-field fill"""
    return partial(ctypes_book.refill, ctypes_book.CBook(**w.header), w.bids, w.asks)


@case(OP_REUSE, "struct")
def _(w):
    """Struct.pack_into an existing bytearray from the flattened values"""
    out = bytearray(struct_book.BOOK.size)
    bids, asks, header = w.bids, w.asks, w.header
    pack_into, flat = struct_book.BOOK.pack_into, struct_book.flat_values

    def refill():
        pack_into(out, 0, *flat(bids, asks, header))
        return out
    return refill


@case(OP_REUSE, "numpy")
def _(w):
    """zero both sides, np.array(tuples) columns assigned"""
    return partial(numpy_book.refill, numpy_book.build_from_numpy(
        w.bids_np[:0], w.asks_np[:0], w.header), w.bids, w.asks)


@case(OP_REUSE, "msgspec")
def _(w):
    """book.bids = list(bids); book.asks = list(asks)"""
    return partial(msgspec_book.refill, msgspec_book.MBook(**w.header), w.bids, w.asks)


@pytest.mark.parametrize("impl", impls(OP_REUSE))
def test_construct_tuples_reuse(benchmark, impl):
    measure(benchmark, OP_REUSE, impl, FULL, check=same_book)


# --- from numpy (N, 3) int64 arrays ------------------------------------------------

OP_NP = "construct.numpy"


@case(OP_NP, "ours")
def _(w):
    """OrderBook(bids_array, asks_array, **header)"""
    return partial(OrderBook, w.bids_np, w.asks_np, **w.header)


@case(OP_NP, "vec")
def _(w):
    """VecOrderBook(bids_array.tolist(), asks_array.tolist(), **header)"""
    bids, asks, header = w.bids_np, w.asks_np, w.header

    def build():
        return VecOrderBook(bids.tolist(), asks.tolist(), **header)
    return build


@case(OP_NP, "ctypes")
def _(w):
    """.tolist() of each array, then the field-by-field fill"""
    return partial(ctypes_book.build_from_numpy, w.bids_np, w.asks_np, w.header)


@case(OP_NP, "numpy")
def _(w):
    """np.zeros(1, BOOK), header fields set, array columns assigned"""
    return partial(numpy_book.build_from_numpy, w.bids_np, w.asks_np, w.header)


@case(OP_NP, "msgspec")
def _(w):
    """MBook(bids=bids_array.tolist(), ...)"""
    return partial(msgspec_book.build_from_numpy, w.bids_np, w.asks_np, w.header)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("impl", impls(OP_NP))
def test_construct_numpy(benchmark, impl, depth):
    measure(benchmark, OP_NP, impl, depth, check=same_book)


OP_NP_REUSE = "construct.numpy_reuse"


@case(OP_NP_REUSE, "ours")
def _(w):
    """book.set_bids(bids_array); book.set_asks(asks_array)"""
    book = OrderBook(**w.header)
    bids, asks = w.bids_np, w.asks_np

    def refill():
        book.set_bids(bids)
        book.set_asks(asks)
        return book
    return refill


@case(OP_NP_REUSE, "numpy")
def _(w):
    """zero both sides, array columns assigned"""
    return partial(numpy_book.refill_from_numpy, numpy_book.build_from_numpy(
        w.bids_np[:0], w.asks_np[:0], w.header), w.bids_np, w.asks_np)


@pytest.mark.parametrize("impl", impls(OP_NP_REUSE))
def test_construct_numpy_reuse(benchmark, impl):
    measure(benchmark, OP_NP_REUSE, impl, FULL, check=same_book)
