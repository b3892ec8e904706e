"""The same content as msgpack via msgspec, the fast general serializer:
``array_like`` structs (no field names on the wire), ``gc=False`` (no
cycles), levels as (price, size, order_count) tuples in lists, a
precompiled typed decoder.  msgpack is variable length, so every size
depends on depth.  The message frames the msgpack body with a zlib CRC-32
trailer, the general-serializer way of carrying a checksum."""

from __future__ import annotations

import zlib
from bisect import insort_right
from typing import List, Tuple

import msgspec

from peers import U32, PeerChecksumError

Level = Tuple[int, int, int]


class MBook(msgspec.Struct, array_like=True, gc=False):
    # the book's field names (they are what ``**header`` passes); msgpack
    # carries none of them (array_like)
    snapshot_timestamp_ns: int = 0
    sequence: int = 0
    precision_factor: int = 100_000_000
    bids: List[Level] = []
    asks: List[Level] = []
    asset_id: int = 0
    venue_id: int = 0
    asset_type: int = 0
    reserved: int = 0


class MMessage(msgspec.Struct, array_like=True, gc=False):
    relay_domain: int
    version: int
    source: int
    flags: int
    sequence: int
    timestamp: int
    book: MBook


ENCODER = msgspec.msgpack.Encoder()
BOOK_DECODER = msgspec.msgpack.Decoder(MBook)
MESSAGE_DECODER = msgspec.msgpack.Decoder(MMessage)


def build(bids, asks, header) -> MBook:
    """A new book owning its own lists (shallow copies: the tuples are immutable)."""
    return MBook(bids=list(bids), asks=list(asks), **header)


def build_from_numpy(bids, asks, header) -> MBook:
    """From (n, 3) int64 arrays via ``.tolist()`` (lists of lists: the same msgpack)."""
    return MBook(bids=bids.tolist(), asks=asks.tolist(), **header)


def refill(book: MBook, bids, asks) -> MBook:
    book.bids = list(bids)
    book.asks = list(asks)
    return book


def best(book: MBook):
    return (book.bids[0] if book.bids else None, book.asks[0] if book.asks else None)


def iterate(book: MBook) -> int:
    n = 0
    for p, s, c in book.bids:
        n += 1
    for p, s, c in book.asks:
        n += 1
    return n


def _neg_price(level: Level) -> int:
    return -level[0]


def add_bid(book: MBook, price: int, size: int, order_count: int = 0) -> None:
    """``bisect.insort`` with a key: the best a list-based Python book does."""
    insort_right(book.bids, (price, size, order_count), key=_neg_price)


def clear(book: MBook) -> None:
    book.bids.clear()
    book.asks.clear()


def encode_message(book: MBook, sequence: int, timestamp_ns: int) -> bytes:
    """msgpack body plus a 4-byte CRC-32 trailer, built in one bytearray."""
    buf = bytearray()
    ENCODER.encode_into(MMessage(0, 1, 0, 0, sequence, timestamp_ns, book), buf)
    buf += U32.pack(zlib.crc32(buf))
    return bytes(buf)


def decode_message(data) -> MMessage:
    mv = memoryview(data)
    body = mv[:-4]
    if zlib.crc32(body) != U32.unpack_from(mv, len(mv) - 4)[0]:
        raise PeerChecksumError("checksum mismatch")
    return MESSAGE_DECODER.decode(body)
