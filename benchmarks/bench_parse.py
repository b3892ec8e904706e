"""Parse: bytes to a usable book (copy), a zero-copy view, re-pointing a
view, and copying into a book made earlier."""

from __future__ import annotations

import ctypes
from functools import partial

import numpy as np
import pytest

from harness import case, impls, measure, same_book, with_capacity
from peers import msgspec_book
from vec_baseline import VecOrderBook
from workloads import FULL_POINTS, POINTS
from orderbook import OrderBook

# --- bytes to a new owning book ---------------------------------------------------

OP_COPY = "parse.from_bytes"


@case(OP_COPY, "ours")
def _(w):
    """OrderBook.from_bytes(data[, capacity=50])"""
    return with_capacity(OrderBook.from_bytes, w.payload, w.capacity)


@case(OP_COPY, "vec")
def _(w):
    """VecOrderBook.from_bytes(data) (levels become lists of tuples)"""
    return partial(VecOrderBook.from_bytes, w.vec_payload)


@case(OP_COPY, "ctypes")
def _(w):
    """CBook.from_buffer_copy(data)"""
    return partial(w.ct.CBook.from_buffer_copy, w.payload)


@case(OP_COPY, "struct")
def _(w):
    """Struct.unpack_from(data): a flat tuple of ints (1,033 at capacity 128, 409 at 50)"""
    return partial(w.st.BOOK.unpack_from, w.payload)


@case(OP_COPY, "numpy")
def _(w):
    """np.frombuffer(bytearray(data), BOOK) (copy, then a view of the copy)"""
    return partial(w.nm.from_bytes, w.payload)


@case(OP_COPY, "msgspec")
def _(w):
    """Decoder(MBook).decode(msgpack)"""
    return partial(msgspec_book.BOOK_DECODER.decode, w.msgspec_payload)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_COPY))
def test_from_bytes(benchmark, impl, capacity, depth):
    measure(benchmark, OP_COPY, impl, depth, check=same_book, capacity=capacity)


# --- a zero-copy view over a bytearray --------------------------------------------

OP_VIEW = "parse.view"


@case(OP_VIEW, "ours")
def _(w):
    """OrderBook.view(buf[, capacity=50])"""
    return with_capacity(OrderBook.view, w.payload_buf, w.capacity)


@case(OP_VIEW, "ctypes")
def _(w):
    """CBook.from_buffer(buf)"""
    return partial(w.ct.CBook.from_buffer, w.payload_buf)


@case(OP_VIEW, "numpy")
def _(w):
    """np.frombuffer(buf, BOOK)"""
    return partial(np.frombuffer, w.payload_buf, w.nm.BOOK)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_VIEW))
def test_view(benchmark, impl, capacity, depth):
    measure(benchmark, OP_VIEW, impl, depth, check=same_book, capacity=capacity)


OP_REBIND = "parse.rebind"


@case(OP_REBIND, "ours")
def _(w):
    """view.rebind(buf) (an existing view re-pointed; returns None)"""
    view = OrderBook.view(bytearray(w.payload), **w.cap_kw)
    return partial(view.rebind, w.payload_buf), view


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_REBIND))
def test_rebind(benchmark, impl, capacity, depth):
    measure(benchmark, OP_REBIND, impl, depth, check=same_book, capacity=capacity)


# --- copy into a book made earlier -------------------------------------------------

OP_LOAD = "parse.load_from"


@case(OP_LOAD, "ours")
def _(w):
    """book.load_from(data) (the book made with the data's capacity)"""
    book = OrderBook(**w.cap_kw)
    return partial(book.load_from, w.payload), book


@case(OP_LOAD, "ctypes")
def _(w):
    """ctypes.memmove(addressof(cbook), data, sizeof(CBook)) (6,200 or 2,456)"""
    book = w.ct.CBook()
    return partial(ctypes.memmove, ctypes.addressof(book), w.payload, w.book_size), book


@case(OP_LOAD, "numpy")
def _(w):
    """record.view(uint8)[:] = np.frombuffer(data, uint8)"""
    return partial(w.nm.load_from, np.zeros(1, w.nm.BOOK), w.payload)


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_LOAD))
def test_load_from(benchmark, impl, capacity, depth):
    measure(benchmark, OP_LOAD, impl, depth, check=same_book, capacity=capacity)
