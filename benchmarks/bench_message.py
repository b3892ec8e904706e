"""Messages: the 32-byte header, the extended TLV record and the book,
with the CRC-32 computed on encode and verified on decode."""

from __future__ import annotations

from functools import partial

import pytest

import orderbook
import vec_baseline
from harness import case, impls, measure
from peers import msgspec_book
from workloads import FULL_POINTS, POINTS, SEQUENCE, TIMESTAMP_NS

STAMP = {"sequence": SEQUENCE, "timestamp_ns": TIMESTAMP_NS}


def expected_message(w, impl):
    return {"vec": w.vec_message, "msgspec": w.msgspec_message}.get(impl, w.message)


def same_message(w, impl, result):
    assert bytes(result) == expected_message(w, impl), f"{impl} encoded a different message"


def decoded_book(w, impl, result):
    """The decoded book, in ``impl``'s form, is the workload's book."""
    book = {
        "ours": lambda r: r.book,
        "vec": lambda r: r[1],
        "ctypes": lambda r: r.book,
        "struct": lambda r: r[1],
        "numpy": lambda r: r[1],
        "msgspec": lambda r: r.book,
    }[impl](result)
    assert w.canonical(impl, book) == w.expected(impl), f"{impl} decoded a different book"


# --- encode to new bytes ----------------------------------------------------------------

OP_ENC = "message.encode"


@case(OP_ENC, "ours")
def _(w):
    """encode_message(book, sequence=..., timestamp_ns=...)"""
    return partial(orderbook.encode_message, w.book, **STAMP)


@case(OP_ENC, "vec")
def _(w):
    """header + TLV + Vec payload packed in a bytearray, zlib.crc32 over memoryview slices"""
    return partial(vec_baseline.encode_message, w.vec, **STAMP)


@case(OP_ENC, "ctypes")
def _(w):
    """CMessage(header fields, book=cbook) (_pack_=1), zlib.crc32 over its memoryview"""
    return partial(w.ct.encode_message, w.ctypes, SEQUENCE, TIMESTAMP_NS)


@case(OP_ENC, "struct")
def _(w):
    """header, TLV and book pack_into'd a bytearray, zlib.crc32, checksum patched in"""
    return partial(w.st.encode_message, w.struct_values, SEQUENCE, TIMESTAMP_NS)


@case(OP_ENC, "numpy")
def _(w):
    """np.zeros(1, MESSAGE), fields and book assigned, zlib.crc32 of a uint8 view"""
    return partial(w.nm.encode_message, w.numpy, SEQUENCE, TIMESTAMP_NS)


@case(OP_ENC, "msgspec")
def _(w):
    """msgpack of MMessage(header fields, book) + a 4-byte zlib.crc32 trailer"""
    return partial(msgspec_book.encode_message, w.msgspec, SEQUENCE, TIMESTAMP_NS)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_ENC))
def test_encode(benchmark, impl, capacity, depth):
    measure(benchmark, OP_ENC, impl, depth, check=same_message, capacity=capacity)


# --- encode into a caller's buffer ---------------------------------------------------------

OP_ENC_INTO = "message.encode_into"


@case(OP_ENC_INTO, "ours")
def _(w):
    """encode_message_into(out, 0, book, sequence=..., timestamp_ns=...)"""
    out = bytearray(orderbook.message_size(w.capacity))
    return partial(orderbook.encode_message_into, out, 0, w.book, **STAMP), out


@case(OP_ENC_INTO, "vec")
def _(w):
    """encode_message_into(out, 0, book, ...): pack_into + zlib.crc32"""
    out = bytearray(len(w.vec_message))
    return partial(vec_baseline.encode_message_into, out, 0, w.vec, **STAMP), out


@case(OP_ENC_INTO, "struct")
def _(w):
    """header, TLV and book pack_into'd out, zlib.crc32, checksum patched in"""
    out = bytearray(w.layout.message_size)
    return partial(w.st.encode_message_into, out, 0, w.struct_values, SEQUENCE, TIMESTAMP_NS), out


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_ENC_INTO))
def test_encode_into(benchmark, impl, capacity, depth):
    measure(benchmark, OP_ENC_INTO, impl, depth, check=same_message, capacity=capacity)


# --- decode, CRC verified ------------------------------------------------------------------

OP_DEC = "message.decode"


@case(OP_DEC, "ours")
def _(w):
    """decode_message(msg): Message with header and an owning book"""
    return partial(orderbook.decode_message, w.message)


@case(OP_DEC, "vec")
def _(w):
    """header unpacked, zlib.crc32 checked, TLVs walked, VecOrderBook.from_bytes"""
    return partial(vec_baseline.decode_message, w.vec_message)


@case(OP_DEC, "ctypes")
def _(w):
    """CMessage.from_buffer_copy(msg), framing and zlib.crc32 checked"""
    return partial(w.ct.decode_message, w.message)


@case(OP_DEC, "struct")
def _(w):
    """header unpacked, zlib.crc32 checked, book Struct.unpack_from'd"""
    return partial(w.st.decode_message, w.message)


@case(OP_DEC, "numpy")
def _(w):
    """np.frombuffer(msg, MESSAGE) checked, zlib.crc32, book bytes copied out"""
    return partial(w.nm.decode_message, w.message)


@case(OP_DEC, "msgspec")
def _(w):
    """zlib.crc32 of the body checked, Decoder(MMessage).decode"""
    return partial(msgspec_book.decode_message, w.msgspec_message)


@pytest.mark.parametrize("capacity, depth", POINTS)
@pytest.mark.parametrize("impl", impls(OP_DEC))
def test_decode(benchmark, impl, capacity, depth):
    measure(benchmark, OP_DEC, impl, depth, check=decoded_book, capacity=capacity)


# --- our reuse and zero-copy variants --------------------------------------------------

OP_DEC_INTO = "message.decode_into"


@case(OP_DEC_INTO, "ours")
def _(w):
    """decode_message(msg, into=message) (refilled in place; its book has the message's capacity)"""
    message = orderbook.Message()
    orderbook.decode_message(w.message, into=message)      # the book takes the capacity once
    assert message.book.capacity == w.capacity
    return partial(orderbook.decode_message, w.message, into=message)


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_DEC_INTO))
def test_decode_into(benchmark, impl, capacity, depth):
    measure(benchmark, OP_DEC_INTO, impl, depth, check=decoded_book, capacity=capacity)


OP_DEC_VIEW = "message.decode_view"


@case(OP_DEC_VIEW, "ours")
def _(w):
    """decode_message(msg, copy=False): the book views the message"""
    return partial(orderbook.decode_message, w.message, copy=False)


@case(OP_DEC_VIEW, "numpy")
def _(w):
    """np.frombuffer(msg, MESSAGE), framing and zlib.crc32 checked, book field kept as a view"""
    return partial(w.nm.decode_message_view, w.message)


@pytest.mark.parametrize("capacity, depth", FULL_POINTS)
@pytest.mark.parametrize("impl", impls(OP_DEC_VIEW))
def test_decode_view(benchmark, impl, capacity, depth):
    measure(benchmark, OP_DEC_VIEW, impl, depth, check=decoded_book, capacity=capacity)
