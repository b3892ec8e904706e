"""Serialize: a book to bytes, into a caller's buffer, or as a memoryview;
and the producer's whole job, tuples in and bytes out."""

from __future__ import annotations

from functools import partial

import pytest

from harness import case, impls, measure
from peers import msgspec_book
from vec_baseline import VecOrderBook
from workloads import FULL_POINTS, POINTS
from orderbook import OrderBook


def same_bytes(w, impl, result):
    """Serialized output equals the workload's bytes for ``impl``."""
    assert bytes(result) == w.expected(impl), f"{impl} serialized different bytes"


# --- tuples in, bytes out ---------------------------------------------------------

OP_BUILD = "serialize.build_bytes"


@case(OP_BUILD, "ours")
def _(w):
    """bytes(OrderBook(bids, asks, **header[, capacity=50]))"""
    bids, asks, header = w.bids, w.asks, w.book_kw

    def build():
        return bytes(OrderBook(bids, asks, **header))
    return build


@case(OP_BUILD, "vec")
def _(w):
    """VecOrderBook(bids, asks, **header).to_bytes()"""
    bids, asks, header = w.bids, w.asks, w.vec_header

    def build():
        return VecOrderBook(bids, asks, **header).to_bytes()
    return build


@case(OP_BUILD, "ctypes")
def _(w):
    """bytes() of the field-filled CBook"""
    bids, asks, header, build_ = w.bids, w.asks, w.header, w.ct.build

    def build():
        return bytes(build_(bids, asks, header))
    return build


@case(OP_BUILD, "struct")
def _(w):
    """one Struct.pack of the flattened values"""
    return partial(w.st.build, w.bids, w.asks, w.header)


@case(OP_BUILD, "numpy")
def _(w):
    """.tobytes() of the column-filled record"""
    bids, asks, header, build_ = w.bids, w.asks, w.header, w.nm.build

    def build():
        return build_(bids, asks, header).tobytes()
    return build


@case(OP_BUILD, "msgspec")
def _(w):
    """Encoder.encode(MBook(bids=bids, asks=asks, **header))"""
    bids, asks, header = w.bids, w.asks, w.header
    encode, MBook = msgspec_book.ENCODER.encode, msgspec_book.MBook

    def build():
        return encode(MBook(bids=bids, asks=asks, **header))
    return build


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_BUILD))
def test_build_bytes(benchmark, impl, capacity, depth):
    measure(benchmark, OP_BUILD, impl, depth, check=same_bytes, capacity=capacity)


# --- an existing book to bytes ----------------------------------------------------------

OP_BYTES = "serialize.bytes"


@case(OP_BYTES, "ours")
def _(w):
    """bytes(book)"""
    return partial(bytes, w.book)


@case(OP_BYTES, "vec")
def _(w):
    """book.to_bytes()"""
    return w.vec.to_bytes


@case(OP_BYTES, "ctypes")
def _(w):
    """bytes(cbook)"""
    return partial(bytes, w.ctypes)


@case(OP_BYTES, "struct")
def _(w):
    """Struct.pack(*values)"""
    return partial(w.st.BOOK.pack, *w.struct_values)


@case(OP_BYTES, "numpy")
def _(w):
    """record.tobytes()"""
    return w.numpy.tobytes


@case(OP_BYTES, "msgspec")
def _(w):
    """Encoder.encode(mbook)"""
    return partial(msgspec_book.ENCODER.encode, w.msgspec)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_BYTES))
def test_bytes(benchmark, impl, capacity, depth):
    measure(benchmark, OP_BYTES, impl, depth, check=same_bytes, capacity=capacity)


# --- into a caller's buffer ---------------------------------------------------------------

OP_INTO = "serialize.pack_into"


@case(OP_INTO, "ours")
def _(w):
    """book.pack_into(out, 0)"""
    out = bytearray(w.book_size)
    return partial(w.book.pack_into, out, 0), out


@case(OP_INTO, "vec")
def _(w):
    """book.pack_into(out, 0)"""
    out = bytearray(len(w.vec_payload))
    return partial(w.vec.pack_into, out, 0), out


@case(OP_INTO, "ctypes")
def _(w):
    """out[0:size] = cbook (bytearray slice assignment from the struct)"""
    out = bytearray(w.book_size)
    return partial(w.ct.pack_into, w.ctypes, out, 0), out


@case(OP_INTO, "struct")
def _(w):
    """Struct.pack_into(out, 0, *values)"""
    out = bytearray(w.book_size)
    return partial(w.st.BOOK.pack_into, out, 0, *w.struct_values), out


@case(OP_INTO, "numpy")
def _(w):
    """memoryview(out)[0:size] = record.view(uint8).data"""
    out = bytearray(w.book_size)
    return partial(w.nm.pack_into, w.numpy, out, 0), out


@case(OP_INTO, "msgspec")
def _(w):
    """Encoder.encode_into(mbook, out, 0)"""
    out = bytearray(len(w.msgspec_payload))
    return partial(msgspec_book.ENCODER.encode_into, w.msgspec, out, 0), out


@case(OP_INTO, "ref")
def _(w):
    """plain copy: out[0:size] = src (bytearray to bytearray slice assignment)"""
    out, src = bytearray(w.book_size), bytearray(w.payload)
    return partial(out.__setitem__, slice(0, w.book_size), src), out


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_INTO))
def test_pack_into(benchmark, impl, capacity, depth):
    measure(benchmark, OP_INTO, impl, depth, check=same_bytes, capacity=capacity)


# --- a memoryview over the book ---------------------------------------------------------------

OP_MV = "serialize.memoryview"


@case(OP_MV, "ours")
def _(w):
    """memoryview(book)"""
    return partial(memoryview, w.book)


@case(OP_MV, "ctypes")
def _(w):
    """memoryview(cbook)"""
    return partial(memoryview, w.ctypes)


@case(OP_MV, "numpy")
def _(w):
    """memoryview(record)"""
    return partial(memoryview, w.numpy)


def whole_book(w, impl, result):
    assert result.nbytes == w.book_size and result.tobytes() == w.payload, impl


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_MV))
def test_memoryview(benchmark, impl, capacity, depth):
    measure(benchmark, OP_MV, impl, depth, check=whole_book, capacity=capacity)
