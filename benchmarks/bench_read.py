"""Read: the best levels, every level in a Python loop, a side as numpy."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from harness import case, impls, level_count, measure
from peers import BIDS_OFFSET, ctypes_book, msgspec_book, numpy_book, struct_book
from vec_baseline import VecOrderBook
from workloads import DEFAULT_CAPACITY, FULL_POINTS, POINTS
from orderbook import OrderBook

# --- best bid and best ask -----------------------------------------------------------

OP_BEST = "read.best"


def best_levels(w, impl, result):
    """Both best levels, whatever tuple-like value each tool gives."""
    bid, ask = result
    assert tuple(bid)[:3] == w.bids[0] and tuple(ask)[:3] == w.asks[0], impl


@case(OP_BEST, "ours")
def _(w):
    """(book.best_bid, book.best_ask): two OrderLevel values"""
    book = w.book

    def best():
        return book.best_bid, book.best_ask
    return best


@case(OP_BEST, "vec")
def _(w):
    """(book.best_bid, book.best_ask): the stored tuples"""
    book = w.vec

    def best():
        return book.best_bid, book.best_ask
    return best


@case(OP_BEST, "ctypes")
def _(w):
    """counts checked, four fields of elements[0] of each side into tuples"""
    return partial(ctypes_book.best, w.ctypes)


@case(OP_BEST, "struct")
def _(w):
    """two counts and two levels unpack_from'd at fixed offsets of the bytes"""
    return partial(w.st.best, w.payload)


@case(OP_BEST, "numpy")
def _(w):
    """counts checked, elements[0] of each side (np.void) via views made once"""
    return partial(numpy_book.best, w.numpy_sides)


@case(OP_BEST, "msgspec")
def _(w):
    """(bids[0], asks[0]) of the lists"""
    return partial(msgspec_book.best, w.msgspec)


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_BEST))
def test_best(benchmark, impl, capacity, depth):
    measure(benchmark, OP_BEST, impl, depth, check=best_levels, capacity=capacity)


# --- bytes in, best bid and best ask: a consumer's top of book ---------------------------

OP_PARSE_BEST = "read.parse_best"


@case(OP_PARSE_BEST, "ours")
def _(w):
    """book = OrderBook.view(data[, capacity=50]); (book.best_bid, book.best_ask)"""
    data, view, cap = w.payload, OrderBook.view, w.capacity
    if cap == DEFAULT_CAPACITY:
        def parse_best():
            book = view(data)
            return book.best_bid, book.best_ask
    else:
        def parse_best():
            book = view(data, capacity=cap)
            return book.best_bid, book.best_ask
    return parse_best


@case(OP_PARSE_BEST, "vec")
def _(w):
    """book = VecOrderBook.from_bytes(data); (book.best_bid, book.best_ask)"""
    data = w.vec_payload

    def parse_best():
        book = VecOrderBook.from_bytes(data)
        return book.best_bid, book.best_ask
    return parse_best


@case(OP_PARSE_BEST, "ctypes")
def _(w):
    """CBook.from_buffer(bytearray), then the ctypes best levels"""
    data, from_buffer, best = bytearray(w.payload), w.ct.CBook.from_buffer, ctypes_book.best

    def parse_best():
        return best(from_buffer(data))
    return parse_best


@case(OP_PARSE_BEST, "struct")
def _(w):
    """two counts and two levels unpack_from'd at fixed offsets of the bytes"""
    return partial(w.st.best, w.payload)


@case(OP_PARSE_BEST, "msgspec")
def _(w):
    """Decoder(MBook).decode(msgpack), then (bids[0], asks[0])"""
    data, decode, best = w.msgspec_payload, msgspec_book.BOOK_DECODER.decode, msgspec_book.best

    def parse_best():
        return best(decode(data))
    return parse_best


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_PARSE_BEST))
def test_parse_best(benchmark, impl, capacity, depth):
    measure(benchmark, OP_PARSE_BEST, impl, depth, check=best_levels, capacity=capacity)


# --- every level, in Python ------------------------------------------------------------

OP_ITER = "read.iterate"


@case(OP_ITER, "ours")
def _(w):
    """for p, s, c, r in book.bids.tuples() (then asks): plain tuples built in C"""
    book = w.book

    def iterate():
        n = 0
        for p, s, c, r in book.bids.tuples():
            n += 1
        for p, s, c, r in book.asks.tuples():
            n += 1
        return n
    return iterate


@case(OP_ITER, "vec")
def _(w):
    """for p, s, c, r in book.bids (then asks): the stored tuples"""
    book = w.vec

    def iterate():
        n = 0
        for p, s, c, r in book.bids:
            n += 1
        for p, s, c, r in book.asks:
            n += 1
        return n
    return iterate


@case(OP_ITER, "ctypes")
def _(w):
    """for lv in side.elements[:count]: lv.price, lv.size, ..."""
    return partial(ctypes_book.iterate, w.ctypes)


@case(OP_ITER, "struct")
def _(w):
    """Struct.iter_unpack over a memoryview slice of each side"""
    return partial(w.st.iterate, w.payload)


@case(OP_ITER, "numpy")
def _(w):
    """for p, s, c, r in elements[:count].tolist()"""
    return partial(numpy_book.iterate, w.numpy_sides)


@case(OP_ITER, "msgspec")
def _(w):
    """for p, s, c in book.bids (then asks)"""
    return partial(msgspec_book.iterate, w.msgspec)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_ITER))
def test_iterate(benchmark, impl, capacity, depth):
    measure(benchmark, OP_ITER, impl, depth, check=level_count, capacity=capacity)


# --- every level as an OrderLevel (named tuple): ours only, for scale --------------

OP_ITER_NAMED = "read.iterate_named"


@case(OP_ITER_NAMED, "ours")
def _(w):
    """for p, s, c, r in book.bids (then asks): OrderLevel values, unpacked off
    CPython's exact-tuple fast path"""
    book = w.book

    def iterate():
        n = 0
        for p, s, c, r in book.bids:
            n += 1
        for p, s, c, r in book.asks:
            n += 1
        return n
    return iterate


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_ITER_NAMED))
def test_iterate_named(benchmark, impl, capacity, depth):
    measure(benchmark, OP_ITER_NAMED, impl, depth, check=level_count, capacity=capacity)


# --- bytes in, every level visited: the consumer's whole job ---------------------------
#
# The Vec baseline turns every level into a Python tuple when it parses;
# the others do it when they are read.  This row puts both halves together.

OP_PARSE_ITER = "read.parse_iterate"


@case(OP_PARSE_ITER, "ours")
def _(w):
    """book = OrderBook.view(data[, capacity=50]); for p, s, c, r in book.bids.tuples() (then asks)"""
    data, view, cap = w.payload, OrderBook.view, w.capacity

    def parse_iterate():
        book = view(data) if cap == DEFAULT_CAPACITY else view(data, capacity=cap)
        n = 0
        for p, s, c, r in book.bids.tuples():
            n += 1
        for p, s, c, r in book.asks.tuples():
            n += 1
        return n
    return parse_iterate


@case(OP_PARSE_ITER, "vec")
def _(w):
    """book = VecOrderBook.from_bytes(data); for p, s, c, r in book.bids (then asks)"""
    data = w.vec_payload

    def parse_iterate():
        book = VecOrderBook.from_bytes(data)
        n = 0
        for p, s, c, r in book.bids:
            n += 1
        for p, s, c, r in book.asks:
            n += 1
        return n
    return parse_iterate


@case(OP_PARSE_ITER, "ctypes")
def _(w):
    """CBook.from_buffer_copy(data), then the ctypes iteration"""
    data, from_copy, iterate = w.payload, w.ct.CBook.from_buffer_copy, ctypes_book.iterate

    def parse_iterate():
        return iterate(from_copy(data))
    return parse_iterate


@case(OP_PARSE_ITER, "struct")
def _(w):
    """Struct.iter_unpack over the bytes (no separate parse step)"""
    return partial(w.st.iterate, w.payload)


@case(OP_PARSE_ITER, "numpy")
def _(w):
    """np.frombuffer(data, BOOK), side views, then .tolist() iteration"""
    data, BOOK, Sides, iterate = w.payload, w.nm.BOOK, numpy_book.Sides, numpy_book.iterate

    def parse_iterate():
        return iterate(Sides(np.frombuffer(data, BOOK)))
    return parse_iterate


@case(OP_PARSE_ITER, "msgspec")
def _(w):
    """Decoder(MBook).decode(msgpack), then the list iteration"""
    data, decode, iterate = w.msgspec_payload, msgspec_book.BOOK_DECODER.decode, msgspec_book.iterate

    def parse_iterate():
        return iterate(decode(data))
    return parse_iterate


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_PARSE_ITER))
def test_parse_iterate(benchmark, impl, capacity, depth):
    measure(benchmark, OP_PARSE_ITER, impl, depth, check=level_count, capacity=capacity)


# --- the bid side as a numpy array -----------------------------------------------------------

OP_NP = "read.to_numpy"


def bid_array(w, impl, result):
    assert len(result) == w.depth and int(result[0][0]) == w.bids[0][0], impl


@case(OP_NP, "ours")
def _(w):
    """book.bids.to_numpy() (zero-copy, LEVEL_DTYPE)"""
    book = w.book

    def to_numpy():
        return book.bids.to_numpy()
    return to_numpy


@case(OP_NP, "vec")
def _(w):
    """np.array(book.bids, dtype=LEVEL) (copies the tuples)"""
    return partial(np.array, w.vec.bids, numpy_book.LEVEL)


@case(OP_NP, "ctypes")
def _(w):
    """np.frombuffer(cbook.bids.elements, LEVEL, count) (zero-copy)"""
    side, LEVEL = w.ctypes.bids, numpy_book.LEVEL

    def to_numpy():
        return np.frombuffer(side.elements, LEVEL, side.count)
    return to_numpy


@case(OP_NP, "struct")
def _(w):
    """count unpack_from'd, np.frombuffer(data, LEVEL, count, offset) (zero-copy)"""
    data, COUNT, LEVEL = w.payload, struct_book.COUNT, numpy_book.LEVEL

    def to_numpy():
        return np.frombuffer(data, LEVEL, COUNT.unpack_from(data, BIDS_OFFSET)[0], BIDS_OFFSET + 8)
    return to_numpy


@case(OP_NP, "numpy")
def _(w):
    """record["bids"]["elements"][0, :count] (zero-copy)"""
    return partial(numpy_book.bids_array, w.numpy)


@case(OP_NP, "msgspec")
def _(w):
    """np.array(book.bids, dtype=int64) (copies, (N, 3))"""
    return partial(np.array, w.msgspec.bids, np.int64)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_NP))
def test_to_numpy(benchmark, impl, capacity, depth):
    measure(benchmark, OP_NP, impl, depth, check=bid_array, capacity=capacity)
