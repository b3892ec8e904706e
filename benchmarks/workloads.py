"""Prebuilt inputs for every benchmark, one set per depth.

Everything a timed call needs (level tuples, arrays, books, bytes, buffers)
is made here, outside the timing.  Building a workload also checks that the
peers model the same thing: the fixed-layout peers must produce the
library's exact bytes, the Vec baseline and msgspec must round-trip the same
levels.  A peer that drifted from the layout fails before it is timed.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any, List, Tuple, TypedDict

import numpy as np

import orderbook
from peers import ctypes_book, msgspec_book, numpy_book, struct_book
from vec_baseline import VecOrderBook
import vec_baseline

#: Depths where depth matters, and the one every single-depth row uses.
DEPTHS = (1, 10, 128)
FULL = 128

#: Message header values used by every encoder.
SEQUENCE = 1_234_567
TIMESTAMP_NS = 1_700_000_000_123_456_789

class Header(TypedDict):
    """The book's header fields, as ``OrderBook(**header)`` takes them."""

    timestamp_ns: int
    sequence: int
    precision_factor: int
    asset_id: int
    venue_id: int
    asset_type: int
    reserved: int


HEADER: Header = {
    "timestamp_ns": 1_700_000_000_000_000_000,
    "sequence": 42,
    "precision_factor": 100_000_000,
    "asset_id": 0x0102030405060708,
    "venue_id": 7,
    "asset_type": 1,
    "reserved": 0,
}

Level3 = Tuple[int, int, int]


def levels(depth: int, asks: bool) -> List[Level3]:
    """A realistic side: 8-decimal fixed point around 65,000.00 with a 0.50
    tick, best first, sizes and order counts that vary by level."""
    mid, tick = 6_500_000_000_000, 50_000_000
    step = tick if asks else -tick
    return [(mid + step * (i + 1), (i % 7 + 1) * 12_345_678, i % 13 + 1) for i in range(depth)]


class Workload:
    """All inputs at one depth (levels per side)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.header: Header = HEADER.copy()
        self.bids = levels(depth, asks=False)
        self.asks = levels(depth, asks=True)
        self.bids_np = np.array(self.bids, dtype=np.int64).reshape(-1, 3)
        self.asks_np = np.array(self.asks, dtype=np.int64).reshape(-1, 3)
        # sorted-insert input: the bids in a fixed shuffled order
        self.shuffled_bids = list(self.bids)
        random.Random(depth).shuffle(self.shuffled_bids)

        # ours
        self.book = orderbook.OrderBook(self.bids, self.asks, **self.header)
        self.payload = bytes(self.book)
        self.payload_buf = bytearray(self.payload)         # writable, for zero-copy views
        self.message = orderbook.encode_message(self.book, sequence=SEQUENCE,
                                                timestamp_ns=TIMESTAMP_NS)
        self.out = bytearray(orderbook.MESSAGE_SIZE)        # a caller's output buffer

        # Vec baseline
        self.vec = VecOrderBook(self.bids, self.asks, **self.header)
        self.vec_payload = self.vec.to_bytes()
        self.vec_message = vec_baseline.encode_message(self.vec, sequence=SEQUENCE,
                                                       timestamp_ns=TIMESTAMP_NS)
        self.vec_out = bytearray(len(self.vec_message))

        # ctypes
        self.ctypes = ctypes_book.build(self.bids, self.asks, self.header)

        # struct: the flat values are the struct user's "book"
        self.struct_values = tuple(struct_book.flat_values(self.bids, self.asks, self.header))

        # numpy
        self.numpy = numpy_book.build_from_numpy(self.bids_np, self.asks_np, self.header)
        self.numpy_sides = numpy_book.Sides(self.numpy)

        # msgspec
        self.msgspec = msgspec_book.build(self.bids, self.asks, self.header)
        self.msgspec_payload = msgspec_book.ENCODER.encode(self.msgspec)
        self.msgspec_message = msgspec_book.encode_message(self.msgspec, SEQUENCE, TIMESTAMP_NS)
        self.msgspec_out = bytearray(len(self.msgspec_payload))

        self._check()

    # -- one canonical form per implementation, to compare results with ------------

    def canonical(self, impl: str, obj: Any) -> bytes:
        """The bytes that identify a book of ``impl``: the 6,200 wire bytes for
        ours and the fixed-layout peers, the Vec payload, the msgpack body."""
        if impl == "vec":
            return obj.to_bytes()
        if impl == "msgspec":
            return msgspec_book.ENCODER.encode(obj)
        if impl == "struct" and isinstance(obj, (tuple, list)):
            return struct_book.BOOK.pack(*obj)
        if impl == "numpy":
            return obj.tobytes()
        return bytes(obj)

    def expected(self, impl: str) -> bytes:
        """The canonical bytes of this workload's full book for ``impl``."""
        return {"vec": self.vec_payload, "msgspec": self.msgspec_payload}.get(impl, self.payload)

    def _check(self) -> None:
        p = self.payload
        assert bytes(self.ctypes) == p, "ctypes layout differs from the library's bytes"
        assert struct_book.BOOK.pack(*self.struct_values) == p, "struct layout differs"
        assert struct_book.build(self.bids, self.asks, self.header) == p
        assert self.numpy.tobytes() == p, "numpy dtype differs from the library's bytes"
        assert numpy_book.build(self.bids, self.asks, self.header).tobytes() == p
        assert VecOrderBook.from_bytes(self.vec_payload).bids == self.vec.bids
        assert len(self.vec_payload) == 24 + 2 * 4 + 24 * 2 * self.depth + 12
        assert msgspec_book.BOOK_DECODER.decode(self.msgspec_payload) == self.msgspec
        m = self.message
        assert ctypes_book.encode_message(self.ctypes, SEQUENCE, TIMESTAMP_NS) == m
        assert struct_book.encode_message(self.struct_values, SEQUENCE, TIMESTAMP_NS) == m
        assert numpy_book.encode_message(self.numpy, SEQUENCE, TIMESTAMP_NS) == m
        assert bytes(ctypes_book.decode_message(m).book) == p
        assert struct_book.BOOK.pack(*struct_book.decode_message(m)[1]) == p
        assert numpy_book.decode_message(m)[1].tobytes() == p
        assert vec_baseline.decode_message(self.vec_message)[1].to_bytes() == self.vec_payload
        assert msgspec_book.decode_message(self.msgspec_message).book == self.msgspec
        assert orderbook.decode_message(m).book == self.book


@lru_cache(maxsize=None)
def workload(depth: int) -> Workload:
    return Workload(depth)
