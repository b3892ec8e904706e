"""The book as a numpy structured array (shape (1,)) whose dtype has the
Rust offsets spelled out, one dtype per capacity (``model(capacity)``, made
once and cached).  The numpy user's strengths are used: zero-copy
``frombuffer`` views, column assignment, ``searchsorted``, and views of the
sides made once and kept (like holding any other accessor object)."""

from __future__ import annotations

import zlib
from functools import lru_cache
from types import SimpleNamespace

import numpy as np

from peers import (
    BIDS_OFFSET, BOOK_AT, CRC_HEAD, HEADER_KEYS, HEADER_SIZE, MAGIC, TLV_EXTENDED,
    TLV_ORDER_BOOK, VERSION, PeerChecksumError, layout,
)

LEVEL = np.dtype([("price", "<i8"), ("size", "<i8"), ("order_count", "<u4"), ("reserved", "<u4")])
assert LEVEL.itemsize == 24


def _fill_side(side, levels) -> None:
    """``side`` is the (1,)-shaped LEVELS field; ``levels`` an (n, 3) int64 array."""
    n = len(levels)
    side["count"] = n
    els = side["elements"][0]
    els["price"][:n] = levels[:, 0]
    els["size"][:n] = levels[:, 1]
    els["order_count"][:n] = levels[:, 2]


def refill_from_numpy(a, bids, asks):
    """Replace both sides of an existing book: zero them, assign the columns."""
    a["bids"] = 0
    a["asks"] = 0
    _fill_side(a["bids"], bids)
    _fill_side(a["asks"], asks)
    return a


def refill(a, bids, asks):
    return refill_from_numpy(a, np.array(bids, dtype=np.int64).reshape(-1, 3),
                             np.array(asks, dtype=np.int64).reshape(-1, 3))


class Sides:
    """Views of one book's counts and level slots, made once and kept."""

    __slots__ = ("bid_count", "bids", "ask_count", "asks")

    def __init__(self, a) -> None:
        self.bid_count = a["bids"]["count"]
        self.bids = a["bids"]["elements"][0]
        self.ask_count = a["asks"]["count"]
        self.asks = a["asks"]["elements"][0]


def best(s: Sides):
    """Best bid and ask as np.void records (numpy's value for one record)."""
    return (s.bids[0] if s.bid_count[0] else None, s.asks[0] if s.ask_count[0] else None)


def iterate(s: Sides) -> int:
    """Visit every level of both sides: ``.tolist()`` of the used slots gives
    plain tuples, numpy's fastest route to Python values."""
    n = 0
    for p, q, c, r in s.bids[:s.bid_count[0]].tolist():
        n += 1
    for p, q, c, r in s.asks[:s.ask_count[0]].tolist():
        n += 1
    return n


def bids_array(a):
    """The used bid slots as a structured array sharing the book's memory."""
    side = a["bids"]
    return side["elements"][0, :side["count"][0]]


def clear(a) -> None:
    a["bids"] = 0
    a["asks"] = 0


@lru_cache(maxsize=None)
def model(capacity: int) -> SimpleNamespace:
    """The dtypes and the functions that need them, at ``capacity``."""
    lay = layout(capacity)
    BOOK_SIZE, PAYLOAD = lay.book_size, lay.payload_size
    LEVELS = np.dtype({"names": ["count", "elements"], "formats": ["<u2", (LEVEL, (capacity,))],
                       "offsets": [0, 8], "itemsize": lay.levels_size})
    BOOK = np.dtype({
        "names": [*HEADER_KEYS, "bids", "asks"],
        "formats": ["<u8", "<u8", "<i8", "<u8", "<u2", "u1", "u1", LEVELS, LEVELS],
        "offsets": [0, 8, 16, 24, 32, 34, 35, BIDS_OFFSET, lay.asks_offset],
        "itemsize": BOOK_SIZE,
    })
    MESSAGE = np.dtype({
        "names": ["magic", "relay_domain", "version", "source", "flags", "sequence", "timestamp",
                  "payload_size", "checksum", "tlv_marker", "tlv_reserved", "tlv_type",
                  "tlv_length", "book"],
        "formats": ["<u4", "u1", "u1", "u1", "u1", "<u8", "<u8", "<u4", "<u4", "u1", "u1", "u1",
                    "<u2", BOOK],
        "offsets": [0, 4, 5, 6, 7, 8, 16, 24, 28, 32, 33, 34, 35, BOOK_AT],
        "itemsize": lay.message_size,
    })
    assert BOOK.itemsize == BOOK_SIZE and MESSAGE.itemsize == lay.message_size

    def build_from_numpy(bids, asks, header):
        """A new zeroed book, header fields and level columns assigned."""
        a = np.zeros(1, BOOK)
        for k, v in header.items():
            a[k] = v
        _fill_side(a["bids"], bids)
        _fill_side(a["asks"], asks)
        return a

    def build(bids, asks, header):
        """From tuples: one ``np.array`` conversion per side, then the columns."""
        return build_from_numpy(np.array(bids, dtype=np.int64).reshape(-1, 3),
                                np.array(asks, dtype=np.int64).reshape(-1, 3), header)

    def pack_into(a, buf: bytearray, offset: int) -> None:
        """Copy the record's bytes into a caller's buffer: memoryview slice
        assignment from a uint8 view (faster than assigning into
        ``np.frombuffer(buf, uint8)``)."""
        memoryview(buf)[offset:offset + BOOK_SIZE] = a.view(np.uint8).data

    def from_bytes(data):
        """An owning copy: the bytes copied into a bytearray, viewed as the record.
        (``frombuffer(...).copy()`` is ~20x slower and, copying field by field,
        leaves the padding bytes uninitialised: not the same bytes.)"""
        return np.frombuffer(bytearray(data), BOOK)

    def load_from(a, data):
        """Copy the book's bytes into an existing book."""
        a.view(np.uint8)[:] = np.frombuffer(data, np.uint8, BOOK_SIZE)
        return a

    def add_bid(s: Sides, price: int, size: int, order_count: int = 0) -> None:
        """Sorted insert into a descending side: ``searchsorted`` on the reversed
        prices, an overlapping slice copy (numpy buffers it), the new record."""
        n = int(s.bid_count[0])
        if n >= capacity:
            raise ValueError("bids are full")
        els = s.bids
        # bids descend; the new level goes after every price >= its own
        lo = n - int(np.searchsorted(els["price"][n - 1::-1] if n else els["price"][:0], price, "left"))
        els[lo + 1:n + 1] = els[lo:n]
        els[lo] = (price, size, order_count, 0)
        s.bid_count[0] = n + 1

    def encode_message(a, sequence: int, timestamp_ns: int) -> bytes:
        """A zeroed message record, header fields and book assigned, CRC by zlib
        over a memoryview of its bytes, the checksum patched in."""
        m = np.zeros(1, MESSAGE)
        m["magic"] = MAGIC
        m["version"] = VERSION
        m["sequence"] = sequence
        m["timestamp"] = timestamp_ns
        m["payload_size"] = PAYLOAD
        m["tlv_marker"] = TLV_EXTENDED
        m["tlv_type"] = TLV_ORDER_BOOK
        m["tlv_length"] = BOOK_SIZE
        m["book"] = a
        raw = m.view(np.uint8).data
        m["checksum"] = zlib.crc32(raw[HEADER_SIZE:], zlib.crc32(raw[:CRC_HEAD]))
        return m.tobytes()

    def _checked(data):
        """The message record (a zero-copy view), framing and CRC checked."""
        rec = np.frombuffer(data, MESSAGE, 1)[0]
        if rec["magic"] != MAGIC or rec["version"] != VERSION:
            raise ValueError("bad magic or version")
        if rec["payload_size"] != PAYLOAD or rec["tlv_marker"] != TLV_EXTENDED \
                or rec["tlv_type"] != TLV_ORDER_BOOK or rec["tlv_length"] != BOOK_SIZE:
            raise ValueError("not a single OrderBook record of this capacity")
        mv = memoryview(data)
        if zlib.crc32(mv[HEADER_SIZE:HEADER_SIZE + PAYLOAD], zlib.crc32(mv[:CRC_HEAD])) != rec["checksum"]:
            raise PeerChecksumError("checksum mismatch")
        return rec, mv

    def _check_counts(book) -> None:
        if book["bids"]["count"][0] > capacity or book["asks"]["count"][0] > capacity:
            raise ValueError("side count past capacity")

    def decode_message(data):
        """(header record, book): the book's bytes copied out into an owning
        array, like the library's default decode."""
        rec, mv = _checked(data)
        book = np.frombuffer(bytearray(mv[BOOK_AT:BOOK_AT + BOOK_SIZE]), BOOK)
        _check_counts(book)
        return rec, book

    def decode_message_view(data):
        """(header record, book) with the book a zero-copy view of the message."""
        rec, _mv = _checked(data)
        book = np.frombuffer(data, BOOK, 1, BOOK_AT)
        _check_counts(book)
        return rec, book

    return SimpleNamespace(
        capacity=capacity, layout=lay, LEVEL=LEVEL, LEVELS=LEVELS, BOOK=BOOK, MESSAGE=MESSAGE,
        build=build, build_from_numpy=build_from_numpy, refill=refill,
        refill_from_numpy=refill_from_numpy, pack_into=pack_into, from_bytes=from_bytes,
        load_from=load_from, Sides=Sides, best=best, iterate=iterate, bids_array=bids_array,
        add_bid=add_bid, clear=clear, encode_message=encode_message,
        decode_message=decode_message, decode_message_view=decode_message_view)
