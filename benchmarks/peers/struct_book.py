"""The book as one precompiled ``struct.Struct`` of the whole layout, one
per capacity (``model(capacity)``, made once and cached): the 7 header
fields and 4 padding bytes, then per side the count, 6 padding bytes and
N × 4 level fields — 1,033 values at capacity 128, 409 at capacity 50.  A
struct user holds either that flat tuple of values or the bytes, and reads
single fields with small ``unpack_from`` calls at fixed offsets."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from itertools import repeat
from types import SimpleNamespace

from peers import (
    BIDS_OFFSET, BOOK_AT, CRC_HEAD, EXT, HEAD, HEADER_KEYS, HEADER_SIZE, LEVEL_SIZE, MAGIC,
    TLV_EXTENDED, TLV_ORDER_BOOK, U32, VERSION, PeerChecksumError, layout,
)

LEVEL = struct.Struct("<qqII")
COUNT = struct.Struct("<H")
#: where the header values sit in the flat tuple, and the first side count
N_HEADER = len(HEADER_KEYS)


@lru_cache(maxsize=None)
def model(capacity: int) -> SimpleNamespace:
    """The Struct of the whole book and the functions that use it, at ``capacity``."""
    lay = layout(capacity)
    BOOK_SIZE, PAYLOAD, ASKS_OFFSET = lay.book_size, lay.payload_size, lay.asks_offset
    side = "H6x" + "qqII" * capacity
    BOOK = struct.Struct("<QQqQHBB4x" + side + side)
    assert BOOK.size == BOOK_SIZE
    side_values = 1 + 4 * capacity                  # the count, then 4 per slot
    zeros = tuple(repeat(0, 4 * capacity))
    keys = HEADER_KEYS
    bids_count_at, asks_count_at = N_HEADER, N_HEADER + side_values

    def flat_values(bids, asks, header) -> list:
        """The values ``BOOK.pack`` takes, from (price, size, count) tuples:
        every level gets its reserved 0, every unused slot four zeros."""
        args = [header.get(k, 0) for k in keys]
        for levels in (bids, asks):
            args.append(len(levels))
            for price, size, count in levels:
                args += (price, size, count, 0)
            args += zeros[:4 * (capacity - len(levels))]
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

    def encode_message_into(buf: bytearray, offset: int, values, sequence: int,
                            timestamp_ns: int) -> int:
        """Header, TLV header and book packed in place; the CRC over memoryview
        slices (no copies), then patched into the header."""
        HEAD.pack_into(buf, offset, MAGIC, 0, VERSION, 0, 0, sequence, timestamp_ns, PAYLOAD)
        EXT.pack_into(buf, offset + HEADER_SIZE, TLV_EXTENDED, 0, TLV_ORDER_BOOK, BOOK_SIZE)
        BOOK.pack_into(buf, offset + BOOK_AT, *values)
        mv = memoryview(buf)
        crc = zlib.crc32(mv[offset + HEADER_SIZE:offset + HEADER_SIZE + PAYLOAD],
                         zlib.crc32(mv[offset:offset + CRC_HEAD]))
        U32.pack_into(buf, offset + CRC_HEAD, crc)
        return HEADER_SIZE + PAYLOAD

    def encode_message(values, sequence: int, timestamp_ns: int) -> bytes:
        buf = bytearray(HEADER_SIZE + PAYLOAD)
        encode_message_into(buf, 0, values, sequence, timestamp_ns)
        return bytes(buf)

    def decode_message(data):
        """(header tuple, flat book values) after checking framing and CRC."""
        head = HEAD.unpack_from(data, 0)
        magic, _domain, version, _source, _flags, _seq, _ts, payload_size = head
        if magic != MAGIC or version != VERSION:
            raise ValueError("bad magic or version")
        marker, _res, tlv_type, length = EXT.unpack_from(data, HEADER_SIZE)
        if payload_size != PAYLOAD or marker != TLV_EXTENDED or tlv_type != TLV_ORDER_BOOK \
                or length != BOOK_SIZE:
            raise ValueError("not a single OrderBook record of this capacity")
        mv = memoryview(data)
        (checksum,) = U32.unpack_from(data, CRC_HEAD)
        if zlib.crc32(mv[HEADER_SIZE:HEADER_SIZE + PAYLOAD], zlib.crc32(mv[:CRC_HEAD])) != checksum:
            raise PeerChecksumError("checksum mismatch")
        values = BOOK.unpack_from(data, BOOK_AT)
        if values[bids_count_at] > capacity or values[asks_count_at] > capacity:
            raise ValueError("side count past capacity")
        return head, values

    return SimpleNamespace(
        capacity=capacity, layout=lay, BOOK=BOOK, LEVEL=LEVEL, COUNT=COUNT,
        n_values=len(BOOK.unpack(bytes(BOOK_SIZE))), flat_values=flat_values, build=build,
        best=best, iterate=iterate, encode_message_into=encode_message_into,
        encode_message=encode_message, decode_message=decode_message)
