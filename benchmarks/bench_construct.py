"""Construct: a full book from level tuples or numpy arrays, new or reused."""

from __future__ import annotations

from functools import partial

import pytest

from harness import case, impls, measure, same_book
from peers import msgspec_book, numpy_book
from vec_baseline import VecOrderBook
from workloads import FULL_POINTS, POINTS
from orderbook import OrderBook

# --- from tuples, a new object ---------------------------------------------------

OP = "construct.tuples"


@case(OP, "ours")
def _(w):
    """OrderBook(bids, asks, **header[, capacity=50])"""
    return partial(OrderBook, w.bids, w.asks, **w.book_kw)


@case(OP, "vec")
def _(w):
    """VecOrderBook(bids, asks, **header)"""
    return partial(VecOrderBook, w.bids, w.asks, **w.vec_header)


@case(OP, "ctypes")
def _(w):
    """CBook(**header), then field-by-field fill of each level slot"""
    return partial(w.ct.build, w.bids, w.asks, w.header)


@case(OP, "struct")
def _(w):
    """one Struct.pack of the flattened values (1,033 at capacity 128, 409 at 50: levels + zero slots)"""
    return partial(w.st.build, w.bids, w.asks, w.header)


@case(OP, "numpy")
def _(w):
    """np.zeros(1, BOOK), header fields set, np.array(tuples) columns assigned"""
    return partial(w.nm.build, w.bids, w.asks, w.header)


@case(OP, "msgspec")
def _(w):
    """MBook(bids=list(bids), asks=list(asks), **header) (copies the lists)"""
    return partial(msgspec_book.build, w.bids, w.asks, w.header)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP))
def test_construct_tuples(benchmark, impl, capacity, depth):
    measure(benchmark, OP, impl, depth, check=same_book, capacity=capacity)


# --- from tuples, refilling an existing object -------------------------------------

OP_REUSE = "construct.tuples_reuse"


@case(OP_REUSE, "ours")
def _(w):
    """book.set_bids(bids); book.set_asks(asks)"""
    book = OrderBook(**w.book_kw)
    bids, asks = w.bids, w.asks

    def refill():
        book.set_bids(bids)
        book.set_asks(asks)
        return book
    return refill


@case(OP_REUSE, "ctypes")
def _(w):
    """memset both sides, field-by-field fill"""
    return partial(w.ct.refill, w.ct.CBook(**w.header), w.bids, w.asks)


@case(OP_REUSE, "struct")
def _(w):
    """Struct.pack_into an existing bytearray from the flattened values"""
    out = bytearray(w.st.BOOK.size)
    bids, asks, header = w.bids, w.asks, w.header
    pack_into, flat = w.st.BOOK.pack_into, w.st.flat_values

    def refill():
        pack_into(out, 0, *flat(bids, asks, header))
        return out
    return refill


@case(OP_REUSE, "numpy")
def _(w):
    """zero both sides, np.array(tuples) columns assigned"""
    return partial(numpy_book.refill, w.nm.build_from_numpy(
        w.bids_np[:0], w.asks_np[:0], w.header), w.bids, w.asks)


@case(OP_REUSE, "msgspec")
def _(w):
    """book.bids = list(bids); book.asks = list(asks)"""
    return partial(msgspec_book.refill, msgspec_book.MBook(**w.header), w.bids, w.asks)


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_REUSE))
def test_construct_tuples_reuse(benchmark, impl, capacity, depth):
    measure(benchmark, OP_REUSE, impl, depth, check=same_book, capacity=capacity)


# --- from numpy (N, 3) int64 arrays ------------------------------------------------

OP_NP = "construct.numpy"


@case(OP_NP, "ours")
def _(w):
    """OrderBook(bids_array, asks_array, **header[, capacity=50])"""
    return partial(OrderBook, w.bids_np, w.asks_np, **w.book_kw)


@case(OP_NP, "vec")
def _(w):
    """VecOrderBook(bids_array.tolist(), asks_array.tolist(), **header)"""
    bids, asks, header = w.bids_np, w.asks_np, w.vec_header

    def build():
        return VecOrderBook(bids.tolist(), asks.tolist(), **header)
    return build


@case(OP_NP, "ctypes")
def _(w):
    """.tolist() of each array, then the field-by-field fill"""
    return partial(w.ct.build_from_numpy, w.bids_np, w.asks_np, w.header)


@case(OP_NP, "numpy")
def _(w):
    """np.zeros(1, BOOK), header fields set, array columns assigned"""
    return partial(w.nm.build_from_numpy, w.bids_np, w.asks_np, w.header)


@case(OP_NP, "msgspec")
def _(w):
    """MBook(bids=bids_array.tolist(), ...)"""
    return partial(msgspec_book.build_from_numpy, w.bids_np, w.asks_np, w.header)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_NP))
def test_construct_numpy(benchmark, impl, capacity, depth):
    measure(benchmark, OP_NP, impl, depth, check=same_book, capacity=capacity)


OP_NP_REUSE = "construct.numpy_reuse"


@case(OP_NP_REUSE, "ours")
def _(w):
    """book.set_bids(bids_array); book.set_asks(asks_array)"""
    book = OrderBook(**w.book_kw)
    bids, asks = w.bids_np, w.asks_np

    def refill():
        book.set_bids(bids)
        book.set_asks(asks)
        return book
    return refill


@case(OP_NP_REUSE, "numpy")
def _(w):
    """zero both sides, array columns assigned"""
    return partial(numpy_book.refill_from_numpy, w.nm.build_from_numpy(
        w.bids_np[:0], w.asks_np[:0], w.header), w.bids_np, w.asks_np)


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_NP_REUSE))
def test_construct_numpy_reuse(benchmark, impl, capacity, depth):
    measure(benchmark, OP_NP_REUSE, impl, depth, check=same_book, capacity=capacity)
