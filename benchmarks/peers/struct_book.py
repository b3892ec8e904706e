"""The book as one precompiled ``struct.Struct`` of the whole 6,200-byte
layout: 1,033 values (header, count, 128 × 4 level fields per side, tail).
A struct user holds either that flat tuple of values or the bytes, and
reads single fields with small ``unpack_from`` calls at fixed offsets."""

from __future__ import annotations

import struct
import zlib
from itertools import repeat

from peers import (
    ASKS_OFFSET, BIDS_OFFSET, BOOK_SIZE, CRC_HEAD, EXT, EXT_SIZE, HEAD, HEADER_SIZE, LEVEL_SIZE,
    MAGIC, MAX_LEVELS, TLV_EXTENDED, TLV_ORDER_BOOK, U32, VERSION, PeerChecksumError,
)

_SIDE = "H6x" + "qqII" * MAX_LEVELS
BOOK = struct.Struct("<QQq" + _SIDE + _SIDE + "QHBB4x")
LEVEL = struct.Struct("<qqII")
COUNT = struct.Struct("<H")
assert BOOK.size == BOOK_SIZE

_PAYLOAD = EXT_SIZE + BOOK_SIZE
_BOOK_AT = HEADER_SIZE + EXT_SIZE
#: values per side in the flat tuple: the count, then 4 per slot
_SIDE_VALUES = 1 + 4 * MAX_LEVELS
_ZEROS = tuple(repeat(0, 4 * MAX_LEVELS))
_HEADER_KEYS = ("timestamp_ns", "sequence", "precision_factor")
_TAIL_KEYS = ("asset_id", "venue_id", "asset_type", "reserved")


def flat_values(bids, asks, header) -> list:
    """The 1,033 values ``BOOK.pack`` takes, from (price, size, count) tuples:
    every level gets its reserved 0, every unused slot four zeros."""
    args = [header.get(k, 0) for k in _HEADER_KEYS]
    for levels in (bids, asks):
        args.append(len(levels))
        for price, size, count in levels:
            args += (price, size, count, 0)
        args += _ZEROS[:4 * (MAX_LEVELS - len(levels))]
    args += [header.get(k, 0) for k in _TAIL_KEYS]
    return args


def build(bids, asks, header) -> bytes:
    """The struct user's "construct": the book's bytes, packed in one call."""
    return BOOK.pack(*flat_values(bids, asks, header))


def best(data):
    """Best bid and ask read in place from the bytes: two counts, two levels."""
    (nb,) = COUNT.unpack_from(data, BIDS_OFFSET)
    (na,) = COUNT.unpack_from(data, ASKS_OFFSET)
    return (LEVEL.unpack_from(data, BIDS_OFFSET + 8) if nb else None,
            LEVEL.unpack_from(data, ASKS_OFFSET + 8) if na else None)


def iterate(data) -> int:
    """Visit every level of both sides with ``iter_unpack`` over a memoryview."""
    mv = memoryview(data)
    n = 0
    for base in (BIDS_OFFSET, ASKS_OFFSET):
        (count,) = COUNT.unpack_from(mv, base)
        for p, s, c, r in LEVEL.iter_unpack(mv[base + 8:base + 8 + count * LEVEL_SIZE]):
            n += 1
    return n


def encode_message_into(buf: bytearray, offset: int, values, sequence: int, timestamp_ns: int) -> int:
    """Header, TLV header and book packed in place; the CRC over memoryview
    slices (no copies), then patched into the header."""
    HEAD.pack_into(buf, offset, MAGIC, 0, VERSION, 0, 0, sequence, timestamp_ns, _PAYLOAD)
    EXT.pack_into(buf, offset + HEADER_SIZE, TLV_EXTENDED, 0, TLV_ORDER_BOOK, BOOK_SIZE)
    BOOK.pack_into(buf, offset + _BOOK_AT, *values)
    mv = memoryview(buf)
    crc = zlib.crc32(mv[offset + HEADER_SIZE:offset + HEADER_SIZE + _PAYLOAD],
                     zlib.crc32(mv[offset:offset + CRC_HEAD]))
    U32.pack_into(buf, offset + CRC_HEAD, crc)
    return HEADER_SIZE + _PAYLOAD


def encode_message(values, sequence: int, timestamp_ns: int) -> bytes:
    buf = bytearray(HEADER_SIZE + _PAYLOAD)
    encode_message_into(buf, 0, values, sequence, timestamp_ns)
    return bytes(buf)


def decode_message(data):
    """(header tuple, flat book values) after checking framing and CRC."""
    head = HEAD.unpack_from(data, 0)
    magic, _domain, version, _source, _flags, _seq, _ts, payload_size = head
    if magic != MAGIC or version != VERSION:
        raise ValueError("bad magic or version")
    marker, _res, tlv_type, length = EXT.unpack_from(data, HEADER_SIZE)
    if payload_size != _PAYLOAD or marker != TLV_EXTENDED or tlv_type != TLV_ORDER_BOOK \
            or length != BOOK_SIZE:
        raise ValueError("not a single OrderBook record")
    mv = memoryview(data)
    (checksum,) = U32.unpack_from(data, CRC_HEAD)
    if zlib.crc32(mv[HEADER_SIZE:HEADER_SIZE + _PAYLOAD], zlib.crc32(mv[:CRC_HEAD])) != checksum:
        raise PeerChecksumError("checksum mismatch")
    values = BOOK.unpack_from(data, _BOOK_AT)
    if values[3] > MAX_LEVELS or values[3 + _SIDE_VALUES] > MAX_LEVELS:
        raise ValueError("side count past capacity")
    return head, values
