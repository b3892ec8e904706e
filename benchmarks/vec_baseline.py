"""The pre-FixedVec design, modelled faithfully in pure Python: the baseline
every benchmark and the memray report compare against.

The original Rust struct held its sides as ``Vec<OrderLevel>``; serialised,
that is the fixed header fields, then per side a ``u32`` count followed by
the levels, then the trailing ids (``payload_size()`` in the original):
``24 + (4 + 24 * bids) + (4 + 24 * asks) + 12`` bytes.  On the Python side
the levels live in lists of tuples, as a Python user of that design kept
them, and are encoded and decoded with precompiled ``struct.Struct``s.
"""

from __future__ import annotations

import bisect
import struct
from typing import Iterable, List, Sequence, Tuple

Level = Tuple[int, int, int, int]

_HEAD = struct.Struct("<QQq")        # timestamp_ns, sequence, precision_factor
_COUNT = struct.Struct("<I")
_LEVEL = struct.Struct("<qqII")      # price, size, order_count, reserved
_TAIL = struct.Struct("<QHBB")       # asset_id, venue_id, asset_type, reserved


def _level(item: Sequence[int]) -> Level:
    price, size, *rest = item
    count = rest[0] if rest else 0
    reserved = rest[1] if len(rest) > 1 else 0
    return (int(price), int(size), int(count), int(reserved))


class VecOrderBook:
    """Order book with ``list`` sides: grows without bound, serialises with a
    length prefix per side."""

    __slots__ = ("timestamp_ns", "sequence", "precision_factor", "bids", "asks",
                 "asset_id", "venue_id", "asset_type", "reserved")

    def __init__(self, bids: Iterable[Sequence[int]] = (), asks: Iterable[Sequence[int]] = (), *,
                 timestamp_ns: int = 0, sequence: int = 0, precision_factor: int = 100_000_000,
                 asset_id: int = 0, venue_id: int = 0, asset_type: int = 0, reserved: int = 0) -> None:
        self.timestamp_ns = timestamp_ns
        self.sequence = sequence
        self.precision_factor = precision_factor
        self.bids: List[Level] = [_level(x) for x in bids]
        self.asks: List[Level] = [_level(x) for x in asks]
        self.asset_id = asset_id
        self.venue_id = venue_id
        self.asset_type = asset_type
        self.reserved = reserved

    def add_bid(self, price: int, size: int, order_count: int = 0) -> None:
        # descending: insert after equal prices, via negated keys
        keys = [-lv[0] for lv in self.bids]
        self.bids.insert(bisect.bisect_right(keys, -price), (price, size, order_count, 0))

    def add_ask(self, price: int, size: int, order_count: int = 0) -> None:
        keys = [lv[0] for lv in self.asks]
        self.asks.insert(bisect.bisect_right(keys, price), (price, size, order_count, 0))

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    @property
    def best_bid(self) -> "Level | None":
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> "Level | None":
        return self.asks[0] if self.asks else None

    def payload_size(self) -> int:
        return (_HEAD.size + 2 * _COUNT.size + _LEVEL.size * (len(self.bids) + len(self.asks))
                + _TAIL.size)

    def to_bytes(self) -> bytes:
        out = bytearray(self.payload_size())
        self.pack_into(out, 0)
        return bytes(out)

    def pack_into(self, buf: bytearray, offset: int = 0) -> int:
        _HEAD.pack_into(buf, offset, self.timestamp_ns, self.sequence, self.precision_factor)
        pos = offset + _HEAD.size
        for side in (self.bids, self.asks):
            _COUNT.pack_into(buf, pos, len(side))
            pos += _COUNT.size
            for lv in side:
                _LEVEL.pack_into(buf, pos, *lv)
                pos += _LEVEL.size
        _TAIL.pack_into(buf, pos, self.asset_id, self.venue_id, self.asset_type, self.reserved)
        return pos + _TAIL.size - offset

    @classmethod
    def from_bytes(cls, data: "bytes | bytearray | memoryview", offset: int = 0) -> "VecOrderBook":
        book = cls.__new__(cls)
        book.timestamp_ns, book.sequence, book.precision_factor = _HEAD.unpack_from(data, offset)
        pos = offset + _HEAD.size
        sides = []
        for _ in range(2):
            (n,) = _COUNT.unpack_from(data, pos)
            pos += _COUNT.size
            end = pos + n * _LEVEL.size
            sides.append(list(_LEVEL.iter_unpack(memoryview(data)[pos:end])))
            pos = end
        book.bids, book.asks = sides
        book.asset_id, book.venue_id, book.asset_type, book.reserved = _TAIL.unpack_from(data, pos)
        return book


# --- Protocol V2 framing, as the pre-FixedVec services sent it ------------------
#
# Same 32-byte header and CRC-32 as today; the book travels as one extended
# TLV record (type 3) whose value is the length-prefixed payload above, so
# its length is payload_size() and varies with depth.

import zlib  # noqa: E402  (kept next to the code that uses it)

MAGIC = 0xDEADBEEF
_MSG_HEAD = struct.Struct("<IBBBBQQI")   # the 28 header bytes before the checksum
_CRC = struct.Struct("<I")
_EXT = struct.Struct("<BBBH")            # 255, 0, type, u16 length
_HEADER_SIZE = 32
_CRC_HEAD = 28


def message_size(book: VecOrderBook) -> int:
    return _HEADER_SIZE + _EXT.size + book.payload_size()


def encode_message_into(buf: bytearray, offset: int, book: VecOrderBook, *, sequence: int = 0,
                        timestamp_ns: int = 0, source: int = 0, relay_domain: int = 0,
                        flags: int = 0) -> int:
    """Write header, TLV header and payload at ``offset``; CRC over
    memoryview slices, patched into the header.  Returns bytes written."""
    n = book.payload_size()
    _MSG_HEAD.pack_into(buf, offset, MAGIC, relay_domain, 1, source, flags, sequence,
                        timestamp_ns, _EXT.size + n)
    _EXT.pack_into(buf, offset + _HEADER_SIZE, 255, 0, 3, n)
    book.pack_into(buf, offset + _HEADER_SIZE + _EXT.size)
    end = offset + _HEADER_SIZE + _EXT.size + n
    mv = memoryview(buf)
    crc = zlib.crc32(mv[offset + _HEADER_SIZE:end], zlib.crc32(mv[offset:offset + _CRC_HEAD]))
    _CRC.pack_into(buf, offset + _CRC_HEAD, crc)
    return end - offset


def encode_message(book: VecOrderBook, **header: int) -> bytes:
    out = bytearray(message_size(book))
    encode_message_into(out, 0, book, **header)
    return bytes(out)


def decode_message(data: "bytes | bytearray | memoryview", offset: int = 0,
                   verify: bool = True) -> "Tuple[tuple, VecOrderBook]":
    """(header fields, book): checks magic, version and the CRC, walks every
    TLV record (skipping unknown types), parses the first OrderBook record."""
    head = _MSG_HEAD.unpack_from(data, offset)
    magic, _domain, version, _source, _flags, _seq, _ts, payload_size = head
    if magic != MAGIC or version != 1:
        raise ValueError(f"bad magic {magic:#x} or version {version}")
    mv = memoryview(data)
    start = offset + _HEADER_SIZE
    end = start + payload_size
    if end > len(mv):
        raise ValueError("payload runs past the buffer")
    if verify:
        (checksum,) = _CRC.unpack_from(data, offset + _CRC_HEAD)
        if zlib.crc32(mv[start:end], zlib.crc32(mv[offset:offset + _CRC_HEAD])) != checksum:
            raise ValueError("checksum mismatch")
    pos = start
    book = None
    while pos < end:
        tlv_type = data[pos]
        if tlv_type == 255:
            _marker, _reserved, tlv_type, length = _EXT.unpack_from(data, pos)
            pos += _EXT.size
        else:
            length = data[pos + 1]
            pos += 2
        if pos + length > end:
            raise ValueError("record runs past payload_size")
        if tlv_type == 3 and book is None:
            book = VecOrderBook.from_bytes(mv[pos:pos + length])
        pos += length
    if book is None:
        raise ValueError("no OrderBook record")
    return head, book
