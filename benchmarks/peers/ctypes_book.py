"""The book as ``ctypes.Structure`` classes: the layout a C-minded Python
user writes by hand, one set of classes per capacity (``model(capacity)``,
made once and cached).  ``Structure`` uses the platform C alignment, which
on every little-endian 64-bit ABI gives exactly the Rust ``#[repr(C)]``
offsets of upstream's ``OrderBookTLV`` (header fields first, 4 padding bytes
at 36, then the two ``FixedVec`` sides at 40 and 48 + 24·N); the message
needs ``_pack_ = 1`` because the book sits at offset 37."""

from __future__ import annotations

import ctypes
import zlib
from functools import lru_cache
from types import SimpleNamespace
from ctypes import addressof, c_int64, c_uint8, c_uint16, c_uint32, c_uint64, memmove, memset, sizeof

from peers import (
    BIDS_OFFSET, CRC_HEAD, HEADER_SIZE, MAGIC, TLV_EXTENDED, TLV_ORDER_BOOK, VERSION,
    PeerChecksumError, layout,
)


class CLevel(ctypes.LittleEndianStructure):
    _fields_ = [("price", c_int64), ("size", c_int64), ("order_count", c_uint32),
                ("reserved", c_uint32)]


assert sizeof(CLevel) == 24


def fill_side(side, levels) -> None:
    """Field-by-field fill of (price, size, order_count) tuples into a zeroed side."""
    els = side.elements
    i = 0
    for price, size, count in levels:
        e = els[i]
        e.price = price
        e.size = size
        e.order_count = count
        i += 1
    side.count = i


def best(book):
    """Best bid and ask as (price, size, order_count, reserved) tuples."""
    b = book.bids
    a = book.asks
    lb = b.elements[0]
    la = a.elements[0]
    return ((lb.price, lb.size, lb.order_count, lb.reserved) if b.count else None,
            (la.price, la.size, la.order_count, la.reserved) if a.count else None)


def iterate(book) -> int:
    """Visit every level of both sides, reading all four fields."""
    n = 0
    for side in (book.bids, book.asks):
        for lv in side.elements[:side.count]:
            p, s, c, r = lv.price, lv.size, lv.order_count, lv.reserved
            n += 1
    return n


@lru_cache(maxsize=None)
def model(capacity: int) -> SimpleNamespace:
    """The Structure classes and the functions that need them, at ``capacity``."""
    lay = layout(capacity)
    BOOK_SIZE, PAYLOAD = lay.book_size, lay.payload_size

    class CLevels(ctypes.LittleEndianStructure):
        _fields_ = [("count", c_uint16), ("_padding", c_uint8 * 6), ("elements", CLevel * capacity)]

    class CBook(ctypes.LittleEndianStructure):
        # upstream order; ctypes inserts the 4 padding bytes at 36 itself
        _fields_ = [("snapshot_timestamp_ns", c_uint64), ("sequence", c_uint64),
                    ("precision_factor", c_int64), ("asset_id", c_uint64),
                    ("venue_id", c_uint16), ("asset_type", c_uint8), ("reserved", c_uint8),
                    ("bids", CLevels), ("asks", CLevels)]

    class CMessage(ctypes.LittleEndianStructure):
        _pack_ = 1
        _fields_ = [("magic", c_uint32), ("relay_domain", c_uint8), ("version", c_uint8),
                    ("source", c_uint8), ("flags", c_uint8), ("sequence", c_uint64),
                    ("timestamp", c_uint64), ("payload_size", c_uint32), ("checksum", c_uint32),
                    ("tlv_marker", c_uint8), ("tlv_reserved", c_uint8), ("tlv_type", c_uint8),
                    ("tlv_length", c_uint16), ("book", CBook)]

    for cls in (CLevels, CBook, CMessage):
        cls.__name__ = cls.__qualname__ = f"{cls.__name__}{capacity}"
    assert sizeof(CLevels) == lay.levels_size and sizeof(CBook) == BOOK_SIZE
    assert sizeof(CMessage) == lay.message_size and CMessage.book.offset == 37
    assert CBook.asset_id.offset == 24 and CBook.venue_id.offset == 32
    assert CBook.reserved.offset == 35
    assert CBook.bids.offset == BIDS_OFFSET and CBook.asks.offset == lay.asks_offset
    SIDES = 2 * sizeof(CLevels)

    def build(bids, asks, header):
        """A new book from level tuples (``CBook()`` starts all-zero)."""
        book = CBook(**header)
        fill_side(book.bids, bids)
        fill_side(book.asks, asks)
        return book

    def refill(book, bids, asks):
        """Replace both sides of an existing book: zero them, then fill."""
        memset(addressof(book.bids), 0, SIDES)
        fill_side(book.bids, bids)
        fill_side(book.asks, asks)
        return book

    def build_from_numpy(bids, asks, header):
        """From (n, 3) int64 arrays: ``.tolist()`` then the field fill (the
        ctypes user's route; element-wise numpy indexing would be far slower)."""
        return build(bids.tolist(), asks.tolist(), header)

    def load_from(book, data):
        """Copy the book's bytes into an existing book."""
        memmove(addressof(book), data, BOOK_SIZE)
        return book

    def pack_into(book, buf: bytearray, offset: int) -> None:
        """Copy the book into a caller's bytearray: slice assignment from the
        struct's buffer (about twice as fast as ``memmove`` to
        ``c_char.from_buffer(buf, offset)``, whose export costs more than the copy)."""
        buf[offset:offset + BOOK_SIZE] = book

    def add_bid(side, price: int, size: int, order_count: int = 0) -> None:
        """Sorted insert into a descending side: bisect on the prices, shift the
        tail with one memmove, write the new slot."""
        els = side.elements
        n = side.count
        if n >= capacity:
            raise ValueError("bids are full")
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) >> 1
            if els[mid].price < price:
                hi = mid
            else:
                lo = mid + 1
        base = addressof(els)
        memmove(base + (lo + 1) * 24, base + lo * 24, (n - lo) * 24)
        e = els[lo]
        e.price = price
        e.size = size
        e.order_count = order_count
        e.reserved = 0
        side.count = n + 1

    def clear(book) -> None:
        memset(addressof(book.bids), 0, SIDES)

    def encode_message(book, sequence: int, timestamp_ns: int) -> bytes:
        """Header + extended TLV + book in one packed struct, CRC by zlib over a
        zero-copy view of the struct's own memory."""
        m = CMessage(magic=MAGIC, version=VERSION, sequence=sequence, timestamp=timestamp_ns,
                     payload_size=PAYLOAD, tlv_marker=TLV_EXTENDED, tlv_type=TLV_ORDER_BOOK,
                     tlv_length=BOOK_SIZE, book=book)
        raw = memoryview(m).cast("B")
        m.checksum = zlib.crc32(raw[HEADER_SIZE:], zlib.crc32(raw[:CRC_HEAD]))
        return bytes(m)

    def decode_message(data):
        """Copy the message into a new struct, check the framing and the CRC."""
        m = CMessage.from_buffer_copy(data)
        if m.magic != MAGIC or m.version != VERSION:
            raise ValueError("bad magic or version")
        if m.payload_size != PAYLOAD or m.tlv_marker != TLV_EXTENDED \
                or m.tlv_type != TLV_ORDER_BOOK or m.tlv_length != BOOK_SIZE:
            raise ValueError("not a single OrderBook record of this capacity")
        mv = memoryview(data)
        if zlib.crc32(mv[HEADER_SIZE:HEADER_SIZE + PAYLOAD], zlib.crc32(mv[:CRC_HEAD])) != m.checksum:
            raise PeerChecksumError("checksum mismatch")
        if m.book.bids.count > capacity or m.book.asks.count > capacity:
            raise ValueError("side count past capacity")
        return m

    return SimpleNamespace(
        capacity=capacity, layout=lay, CLevel=CLevel, CLevels=CLevels, CBook=CBook,
        CMessage=CMessage, build=build, refill=refill, build_from_numpy=build_from_numpy,
        load_from=load_from, pack_into=pack_into, best=best, iterate=iterate, add_bid=add_bid,
        clear=clear, encode_message=encode_message, decode_message=decode_message)
