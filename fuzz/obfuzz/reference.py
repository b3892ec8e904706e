"""A pure-Python reference of the wire format and the book rules (the spec's sections
1 to 3), written from the spec with ``struct`` and ``zlib``: the oracle the fuzz
targets and the property tests hold the library to.

A book is a plain dict: the seven header fields named as on the wire, and
``bids`` / ``asks`` as lists of ``(price, size, order_count, reserved)``
tuples.  Bad input raises :class:`RefError` whose ``kind`` names the
``orderbook`` exception class the library must raise, and whose ``attrs`` are
the values that exception's attributes must carry where it has them
(``TruncatedError.offset/needed/available``, ``ChecksumError.expected/found``).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Dict, Iterator, List, Optional, Tuple

CAPACITIES = (128, 50)                          # slots per side; 128 is the default
MAX_LEVELS = CAPACITIES[0]
LEVEL_SIZE = 24
HEAD_SIZE = 40                                  # the fields, then 4 bytes of padding
BIDS_AT = HEAD_SIZE
HEADER_SIZE = 32
CRC_HEAD = 28                                   # the checksum covers [0, 28) then the payload
EXT_SIZE = 5
MAGIC = 0xDEADBEEF
VERSION = 1
TLV_ORDER_BOOK = 3
TLV_EXTENDED = 255

LEVEL = struct.Struct("<qqII")
FIELDS = struct.Struct("<QQqQHBB")              # upstream's order: u64s, u16, u8s
HEADER = struct.Struct("<IBBBBQQII")
EXT = struct.Struct("<BBBH")


def side_size(capacity: int = MAX_LEVELS) -> int:
    return 8 + capacity * LEVEL_SIZE            # count u16, 6 bytes padding, the slots


def asks_at(capacity: int = MAX_LEVELS) -> int:
    return BIDS_AT + side_size(capacity)


def book_size(capacity: int = MAX_LEVELS) -> int:
    return HEAD_SIZE + 2 * side_size(capacity)


def message_size(capacity: int = MAX_LEVELS) -> int:
    return HEADER_SIZE + EXT_SIZE + book_size(capacity)


def capacity_of(size: int) -> Optional[int]:
    """The capacity whose book is `size` bytes (an OrderBook record's length)."""
    for c in CAPACITIES:
        if book_size(c) == size:
            return c
    return None


BOOK_SIZE = book_size()
ASKS_AT = asks_at()
MESSAGE_SIZE = message_size()

HEADER_FIELDS = ("magic", "relay_domain", "version", "source", "flags", "sequence",
                 "timestamp", "payload_size", "checksum")
BOOK_FIELDS = ("snapshot_timestamp_ns", "sequence", "precision_factor", "asset_id", "venue_id",
               "asset_type", "reserved")
SIDES = ("bids", "asks")

# Field ranges (bits, signed) as on the wire.
BOOK_FIELD_RANGES = {
    "snapshot_timestamp_ns": (0, 2**64 - 1), "sequence": (0, 2**64 - 1),
    "precision_factor": (-2**63, 2**63 - 1), "asset_id": (0, 2**64 - 1),
    "venue_id": (0, 2**16 - 1), "asset_type": (0, 2**8 - 1), "reserved": (0, 2**8 - 1),
}

Book = Dict[str, Any]
Level = Tuple[int, int, int, int]


assert (BOOK_SIZE, ASKS_AT, MESSAGE_SIZE) == (6200, 3120, 6237)
assert (book_size(50), asks_at(50), message_size(50)) == (2456, 1248, 2493)


class RefError(Exception):
    """The reference rejects the input: the library must raise ``kind``."""

    def __init__(self, kind: str, **attrs: Any) -> None:
        super().__init__(kind, attrs)
        self.kind = kind
        self.attrs = attrs


# --- books ------------------------------------------------------------------------

def empty_book(**fields: int) -> Book:
    book: Book = {"snapshot_timestamp_ns": 0, "sequence": 0, "precision_factor": 100_000_000,
                  "asset_id": 0, "venue_id": 0, "asset_type": 0, "reserved": 0,
                  "bids": [], "asks": [], "capacity": MAX_LEVELS}
    book.update(fields)
    return book


def padding_offsets(bids_count: int, asks_count: int, capacity: int = MAX_LEVELS) -> List[int]:
    """Byte offsets that must be zero in canonical bytes, in order: the
    padding before the sides, then each side's padding and unused slots."""
    out: List[int] = list(range(FIELDS.size, HEAD_SIZE))
    for at, count in ((BIDS_AT, bids_count), (asks_at(capacity), asks_count)):
        out.extend(range(at + 2, at + 8))
        out.extend(range(at + 8 + count * LEVEL_SIZE, at + side_size(capacity)))
    return out


def parse_book_bytes(raw: bytes, strict: bool = False) -> Book:
    """The book in exactly book_size(capacity) bytes (the length tells the
    capacity); LayoutError on a count above the capacity, and (strict) on any
    nonzero padding or unused-slot byte."""
    capacity = capacity_of(len(raw))
    assert capacity is not None
    values = FIELDS.unpack_from(raw, 0)
    book: Book = dict(zip(BOOK_FIELDS, values))
    book["capacity"] = capacity
    counts = []
    if strict and any(raw[FIELDS.size:HEAD_SIZE]):
        off = next(off for off in range(FIELDS.size, HEAD_SIZE) if raw[off])
        raise RefError("LayoutError", byte_offset=off)
    for name, at in zip(SIDES, (BIDS_AT, asks_at(capacity))):
        count = int.from_bytes(raw[at:at + 2], "little")
        if count > capacity:
            raise RefError("LayoutError", side=name, count=count)
        counts.append(count)
        start = at + 8
        book[name] = list(LEVEL.iter_unpack(raw[start:start + count * LEVEL_SIZE]))
    if strict and not is_clean(raw, *counts):
        off = next(off for off in padding_offsets(*counts, capacity) if raw[off])
        raise RefError("LayoutError", byte_offset=off)
    return book


def is_clean(raw: bytes, bids_count: int, asks_count: int) -> bool:
    """No nonzero byte in the padding or the unused slots."""
    capacity = capacity_of(len(raw)) or MAX_LEVELS
    return not any(raw[off] for off in padding_offsets(bids_count, asks_count, capacity))


def parse_book(data: bytes, offset: int = 0, strict: bool = False,
               capacity: int = MAX_LEVELS) -> Book:
    """``OrderBook.from_bytes(data, offset, strict=..., capacity=...)`` as the spec has it."""
    if offset < 0:
        raise RefError("OffsetError")
    size = book_size(capacity)
    avail = len(data) - offset
    if avail < size:
        raise RefError("TruncatedError", offset=offset, needed=size, available=max(avail, 0))
    return parse_book_bytes(bytes(data[offset:offset + size]), strict)


def book_bytes(book: Book) -> bytes:
    """Canonical bytes: padding and unused slots zero."""
    capacity = book.get("capacity", MAX_LEVELS)
    out = bytearray(book_size(capacity))
    FIELDS.pack_into(out, 0, *(book[f] for f in BOOK_FIELDS))
    for name, at in zip(SIDES, (BIDS_AT, asks_at(capacity))):
        levels = book[name]
        assert len(levels) <= capacity
        struct.pack_into("<H", out, at, len(levels))
        for i, lv in enumerate(levels):
            lv = tuple(lv) + (0,) * (4 - len(lv))
            LEVEL.pack_into(out, at + 8 + i * LEVEL_SIZE, *lv)
    return bytes(out)


# --- the rules ----------------------------------------------------------------------

def validate(book: Book) -> List[Tuple[str, Optional[str], int]]:
    """Every broken rule as ``(rule, side, index)``, in the order upstream's
    validate() (and so the library) checks them: bids non-increasing, asks
    non-decreasing, then bid prices and sizes > 0, the same for asks, then
    best ask not below best bid."""
    out: List[Tuple[str, Optional[str], int]] = []
    for name in SIDES:
        levels = book[name]
        for i in range(1, len(levels)):
            prev, price = levels[i - 1][0], levels[i][0]
            if name == "bids" and price > prev:
                out.append(("bids_descending", name, i))
            if name == "asks" and price < prev:
                out.append(("asks_ascending", name, i))
    for name in SIDES:
        for i, (price, size, _count, _res) in enumerate(book[name]):
            if price <= 0:
                out.append(("positive_price", name, i))
            if size <= 0:
                out.append(("positive_size", name, i))
    if book["bids"] and book["asks"] and book["asks"][0][0] < book["bids"][0][0]:
        out.append(("crossed", None, 0))
    return out


def trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero (Rust's ``/``)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def spread_bps(book: Book) -> Optional[int]:
    """``(ask - bid) * 10000 / ((bid + ask) / 2)``, None when a side is empty
    or the mid is not positive."""
    if not book["bids"] or not book["asks"]:
        return None
    bid, ask = book["bids"][0][0], book["asks"][0][0]
    mid = trunc_div(bid + ask, 2)
    if mid <= 0:
        return None
    return trunc_div((ask - bid) * 10000, mid)


def insert_level(levels: List[Level], asks: bool, level: Level) -> None:
    """Sorted insert after equal prices (arrival order kept)."""
    i = 0
    while i < len(levels) and not (level[0] < levels[i][0] if asks else level[0] > levels[i][0]):
        i += 1
    levels.insert(i, level)


# --- messages -----------------------------------------------------------------------

def message_crc(data: bytes, at: int, payload_size: int) -> int:
    crc = zlib.crc32(data[at:at + CRC_HEAD])
    return zlib.crc32(data[at + HEADER_SIZE:at + HEADER_SIZE + payload_size], crc)


def encode_message(book: Book, *, sequence: int = 0, timestamp: int = 0, source: int = 0,
                   relay_domain: int = 0, flags: int = 0) -> bytes:
    return frame_book(book_bytes(book), sequence=sequence, timestamp=timestamp, source=source,
                      relay_domain=relay_domain, flags=flags)


def frame_book(raw: bytes, *, sequence: int = 0, timestamp: int = 0, source: int = 0,
               relay_domain: int = 0, flags: int = 0) -> bytes:
    """A message holding the given book bytes as they are."""
    payload = EXT.pack(TLV_EXTENDED, 0, TLV_ORDER_BOOK, len(raw)) + bytes(raw)
    head = HEADER.pack(MAGIC, relay_domain, VERSION, source, flags, sequence, timestamp,
                       len(payload), 0)
    crc = zlib.crc32(payload, zlib.crc32(head[:CRC_HEAD]))
    return head[:CRC_HEAD] + struct.pack("<I", crc) + payload


def decode_message(data: bytes, offset: int = 0, verify: bool = True,
                   at: Optional[int] = None) -> Dict[str, Any]:
    """``decode_message(data, offset, verify=...)``: ``{"header": {...},
    "book_at": absolute offset of the book, "book": {...}}``.  Errors report
    offsets relative to ``at`` (default ``offset``)."""
    if offset < 0:
        raise RefError("OffsetError")
    n = len(data)
    if offset > n:
        raise RefError("TruncatedError", offset=offset, needed=0, available=0)
    at = offset if at is None else at
    avail = n - offset
    if avail < HEADER_SIZE:
        raise RefError("TruncatedError", offset=at, needed=HEADER_SIZE, available=avail)
    header = dict(zip(HEADER_FIELDS, HEADER.unpack_from(data, offset)))
    if header["magic"] != MAGIC:
        raise RefError("MagicError")
    if header["version"] != VERSION:
        raise RefError("VersionError")
    end = HEADER_SIZE + header["payload_size"]
    if end > avail:
        raise RefError("TruncatedError", offset=at, needed=end, available=avail)
    if verify:
        found = message_crc(data, offset, header["payload_size"])
        if found != header["checksum"]:
            raise RefError("ChecksumError", expected=header["checksum"], found=found)
    pos = HEADER_SIZE
    book_pos = None
    while pos < end:
        kind = data[offset + pos]
        if kind == TLV_EXTENDED:
            if pos + EXT_SIZE > end:
                raise RefError("RecordError", why="extended header past payload")
            _marker, reserved, kind, vlen = EXT.unpack_from(data, offset + pos)
            if reserved:
                raise RefError("RecordError", why="extended reserved byte")
            pos += EXT_SIZE
        else:
            if pos + 2 > end:
                raise RefError("RecordError", why="header past payload")
            if kind == 0:
                raise RefError("RecordError", why="type 0")
            vlen = data[offset + pos + 1]
            pos += 2
        if pos + vlen > end:
            raise RefError("RecordError", why="value past payload")
        if kind == TLV_ORDER_BOOK and book_pos is None:
            if capacity_of(vlen) is None:
                raise RefError("RecordError", why="book length")
            book_pos, book_len = pos, vlen
        pos += vlen
    if book_pos is None:
        raise RefError("MissingRecordError")
    start = offset + book_pos
    book = parse_book_bytes(bytes(data[start:start + book_len]))
    return {"header": header, "book_at": start, "book": book}


def iter_messages(data: bytes, verify: bool = True,
                  stop_on_truncated: bool = False) -> Iterator[Dict[str, Any]]:
    """``iter_messages(data, ...)``: messages back to back; a magic error as
    soon as a header is complete, TruncatedError for a short last message."""
    pos, n = 0, len(data)
    while pos < n:
        if n - pos < HEADER_SIZE:
            need = -1
        else:
            if int.from_bytes(data[pos:pos + 4], "little") != MAGIC:
                raise RefError("MagicError")
            need = HEADER_SIZE + int.from_bytes(data[pos + 24:pos + 28], "little")
        if need < 0 or pos + need > n:
            if stop_on_truncated:
                return
            raise RefError("TruncatedError", offset=pos,
                           needed=HEADER_SIZE if need < 0 else need, available=n - pos)
        yield decode_message(data, pos, verify)
        pos += need


def walk_records(data: bytes, at: int = 0) -> List[Tuple[int, int, int, int]]:
    """Lenient record walk for mutators: ``(start, type, value_start, length)``
    for each whole record of the message at ``at`` until the payload (or the
    buffer) ends or a record is malformed."""
    out = []
    if len(data) - at < HEADER_SIZE:
        return out
    end = min(len(data), at + HEADER_SIZE + int.from_bytes(data[at + 24:at + 28], "little"))
    pos = at + HEADER_SIZE
    while pos < end:
        kind = data[pos]
        if kind == TLV_EXTENDED:
            if pos + EXT_SIZE > end:
                break
            _m, _r, kind, vlen = EXT.unpack_from(data, pos)
            value = pos + EXT_SIZE
        else:
            if pos + 2 > end:
                break
            vlen = data[pos + 1]
            value = pos + 2
        if value + vlen > end:
            break
        out.append((pos, kind, value, vlen))
        pos = value + vlen
    return out
