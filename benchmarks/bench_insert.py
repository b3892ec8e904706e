"""Sorted insert: clear a book, then insert N bids one call at a time in a
shuffled order; the side must come out best (highest) first."""

from __future__ import annotations

import numpy as np
import pytest

from harness import case, impls, measure
from peers import msgspec_book, numpy_book
from vec_baseline import VecOrderBook
from workloads import POINTS
from orderbook import OrderBook

OP = "insert.sorted"


def sorted_bids(w, impl, result):
    """The book holds exactly the workload's bids, best first, and no asks."""
    expected = {
        "ours": lambda: bytes(OrderBook(w.bids, (), **w.book_kw)),
        "vec": lambda: VecOrderBook(w.bids, (), **w.vec_header).to_bytes(),
        "ctypes": lambda: bytes(w.ct.build(w.bids, (), w.header)),
        "numpy": lambda: w.nm.build(w.bids, (), w.header).tobytes(),
        "msgspec": lambda: msgspec_book.ENCODER.encode(msgspec_book.build(w.bids, (), w.header)),
    }[impl]()
    assert w.canonical(impl, result) == expected, f"{impl} inserted out of order"


def _clear_and_add(book, levels):
    """The timed call for books with clear() and add_bid(): ours and the Vec baseline."""
    add, clear = book.add_bid, book.clear

    def fill():
        clear()
        for p, s, c in levels:
            add(p, s, c)
        return book
    return fill


@case(OP, "ours")
def _(w):
    """book.clear(); book.add_bid(price, size, count) per level"""
    return _clear_and_add(OrderBook(**w.book_kw), w.shuffled_bids)


@case(OP, "vec")
def _(w):
    """book.clear(); book.add_bid(price, size, count) per level"""
    return _clear_and_add(VecOrderBook(**w.vec_header), w.shuffled_bids)


@case(OP, "ctypes")
def _(w):
    """memset the sides; per level: bisect the prices, memmove the tail, set the slot"""
    book = w.ct.CBook(**w.header)
    side, add, clear, levels = book.bids, w.ct.add_bid, w.ct.clear, w.shuffled_bids

    def fill():
        clear(book)
        for p, s, c in levels:
            add(side, p, s, c)
        return book
    return fill


@case(OP, "numpy")
def _(w):
    """zero the sides; per level: searchsorted, shift the slice, assign the record"""
    book = w.nm.build_from_numpy(np.zeros((0, 3), np.int64), np.zeros((0, 3), np.int64), w.header)
    sides, add, clear, levels = numpy_book.Sides(book), w.nm.add_bid, numpy_book.clear, w.shuffled_bids

    def fill():
        clear(book)
        for p, s, c in levels:
            add(sides, p, s, c)
        return book
    return fill


@case(OP, "msgspec")
def _(w):
    """lists cleared; per level: bisect.insort_right(bids, level, key=neg_price)"""
    book = msgspec_book.MBook(**w.header)
    add, clear, levels = msgspec_book.add_bid, msgspec_book.clear, w.shuffled_bids

    def fill():
        clear(book)
        for p, s, c in levels:
            add(book, p, s, c)
        return book
    return fill


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP))
def test_sorted_insert(benchmark, impl, capacity, depth):
    measure(benchmark, OP, impl, depth, check=sorted_bids, capacity=capacity)
