"""Parse: bytes to a usable book (copy), a zero-copy view, re-pointing a
view, and copying into a book made earlier."""

from __future__ import annotations

import ctypes
from functools import partial

import numpy as np
import pytest

from harness import case, impls, measure, same_book
from peers import BOOK_SIZE, ctypes_book, msgspec_book, numpy_book, struct_book
from vec_baseline import VecOrderBook
from workloads import DEPTHS, FULL
from orderbook import OrderBook

# --- bytes to a new owning book ---------------------------------------------------

OP_COPY = "parse.from_bytes"


@case(OP_COPY, "ours")
def _(w):
    """OrderBook.from_bytes(data)"""
    return partial(OrderBook.from_bytes, w.payload)


@case(OP_COPY, "vec")
def _(w):
    """VecOrderBook.from_bytes(data) (levels become lists of tuples)"""
    return partial(VecOrderBook.from_bytes, w.vec_payload)


@case(OP_COPY, "ctypes")
def _(w):
    """CBook.from_buffer_copy(data)"""
    return partial(ctypes_book.CBook.from_buffer_copy, w.payload)


@case(OP_COPY, "struct")
def _(w):
    """Struct.unpack_from(data): a flat tuple of 1,033 ints"""
    return partial(struct_book.BOOK.unpack_from, w.payload)


@case(OP_COPY, "numpy")
def _(w):
    """np.frombuffer(bytearray(data), BOOK) (copy, then a view of the copy)"""
    return partial(numpy_book.from_bytes, w.payload)


@case(OP_COPY, "msgspec")
def _(w):
    """Decoder(MBook).decode(msgpack)"""
    return partial(msgspec_book.BOOK_DECODER.decode, w.msgspec_payload)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("impl", impls(OP_COPY))
def test_from_bytes(benchmark, impl, depth):
    measure(benchmark, OP_COPY, impl, depth, check=same_book)


# --- a zero-copy view over a bytearray --------------------------------------------

OP_VIEW = "parse.view"


@case(OP_VIEW, "ours")
def _(w):
    """OrderBook.view(buf)"""
    return partial(OrderBook.view, w.payload_buf)


@case(OP_VIEW, "ctypes")
def _(w):
    """CBook.from_buffer(buf)"""
    return partial(ctypes_book.CBook.from_buffer, w.payload_buf)


@case(OP_VIEW, "numpy")
def _(w):
    """np.frombuffer(buf, BOOK)"""
    return partial(np.frombuffer, w.payload_buf, numpy_book.BOOK)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("impl", impls(OP_VIEW))
def test_view(benchmark, impl, depth):
    measure(benchmark, OP_VIEW, impl, depth, check=same_book)


OP_REBIND = "parse.rebind"


@case(OP_REBIND, "ours")
def _(w):
    """view.rebind(buf) (an existing view re-pointed; returns None)"""
    view = OrderBook.view(bytearray(w.payload))
    return partial(view.rebind, w.payload_buf), view


@pytest.mark.parametrize("impl", impls(OP_REBIND))
def test_rebind(benchmark, impl):
    measure(benchmark, OP_REBIND, impl, FULL, check=same_book)


# --- copy into a book made earlier -------------------------------------------------

OP_LOAD = "parse.load_from"


@case(OP_LOAD, "ours")
def _(w):
    """book.load_from(data)"""
    book = OrderBook()
    return partial(book.load_from, w.payload), book


@case(OP_LOAD, "ctypes")
def _(w):
    """ctypes.memmove(addressof(cbook), data, 6200)"""
    book = ctypes_book.CBook()
    return partial(ctypes.memmove, ctypes.addressof(book), w.payload, BOOK_SIZE), book


@case(OP_LOAD, "numpy")
def _(w):
    """record.view(uint8)[:] = np.frombuffer(data, uint8)"""
    return partial(numpy_book.load_from, np.zeros(1, numpy_book.BOOK), w.payload)


@pytest.mark.parametrize("impl", impls(OP_LOAD))
def test_load_from(benchmark, impl):
    measure(benchmark, OP_LOAD, impl, FULL, check=same_book)
