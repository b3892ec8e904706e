"""Prebuilt inputs for every benchmark, one set per (capacity, depth).

Everything a timed call needs (level tuples, arrays, books, bytes, buffers)
is made here, outside the timing.  Building a workload also checks that the
peers model the same thing: the fixed-layout peers must produce the
library's exact bytes and message at the workload's capacity, the Vec
baseline and msgspec must round-trip the same levels.  A peer that drifted
from the layout fails before it is timed.
"""

from __future__ import annotations

import ctypes
import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Tuple, TypedDict

import numpy as np

import orderbook
from peers import ctypes_book, layout, msgspec_book, numpy_book, struct_book
from vec_baseline import VecOrderBook
import vec_baseline

#: The library's default capacity and upstream's (a book's MAX_ORDER_LEVELS).
CAPACITIES = (128, 50)
DEFAULT_CAPACITY = 128

#: Depths where depth matters (at the default capacity), and the one every
#: single-depth row uses.
DEPTHS = (1, 10, 128)
FULL = 128

#: (capacity, depth) points of the rows where depth matters: the default
#: capacity at 1, 10 and 128 levels per side, and capacity 50 full.
POINTS = tuple((DEFAULT_CAPACITY, d) for d in DEPTHS) + ((50, 50),)
#: the single-depth rows: each capacity with both sides full.
FULL_POINTS = ((DEFAULT_CAPACITY, FULL), (50, 50))

#: Message header values used by every encoder.
SEQUENCE = 1_234_567
TIMESTAMP_NS = 1_700_000_000_123_456_789

class Header(TypedDict):
    """The book's header fields, as ``OrderBook(**header)`` takes them."""

    snapshot_timestamp_ns: int
    sequence: int
    precision_factor: int
    asset_id: int
    venue_id: int
    asset_type: int
    reserved: int


HEADER: Header = {
    "snapshot_timestamp_ns": 1_700_000_000_000_000_000,
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


#: Upstream's reference bytes (rustc), when the ../shared checkout is present:
#: the peers must reproduce them too, not only agree with the library.
GOLDEN = Path(__file__).resolve().parent.parent.parent / "shared" / "golden"
GOLDEN_DIRS = {128: GOLDEN, 50: GOLDEN / "depth50"}


class Workload:
    """All inputs at one capacity and depth (levels per side)."""

    def __init__(self, depth: int, capacity: int = DEFAULT_CAPACITY) -> None:
        if not 0 <= depth <= capacity:
            raise ValueError(f"depth {depth} does not fit capacity {capacity}")
        self.depth = depth
        self.capacity = capacity
        self.layout = layout(capacity)                     # the peers' own sizes and offsets
        self.book_size = self.layout.book_size
        #: what ours passes for the capacity: nothing at the default (the
        #: call a user writes), ``capacity=50`` otherwise
        self.cap_kw: Dict[str, int] = {} if capacity == DEFAULT_CAPACITY else {"capacity": capacity}
        self.header: Header = HEADER.copy()
        #: the book keywords for ours: the header plus the capacity
        self.book_kw: Dict[str, int] = {**self.header, **self.cap_kw}
        #: the Vec baseline predates the rename: its book field is still timestamp_ns
        self.vec_header: Dict[str, int] = dict(self.header)
        self.vec_header["timestamp_ns"] = self.vec_header.pop("snapshot_timestamp_ns")
        self.bids = levels(depth, asks=False)
        self.asks = levels(depth, asks=True)
        self.bids_np = np.array(self.bids, dtype=np.int64).reshape(-1, 3)
        self.asks_np = np.array(self.asks, dtype=np.int64).reshape(-1, 3)
        # sorted-insert input: the bids in a fixed shuffled order
        self.shuffled_bids = list(self.bids)
        random.Random(depth).shuffle(self.shuffled_bids)

        # the fixed-layout peers at this capacity (cached: one model per capacity)
        self.ct = ctypes_book.model(capacity)
        self.st = struct_book.model(capacity)
        self.nm = numpy_book.model(capacity)

        # ours
        self.book = orderbook.OrderBook(self.bids, self.asks, **self.book_kw)
        self.payload = bytes(self.book)
        self.payload_buf = bytearray(self.payload)         # writable, for zero-copy views
        self.message = orderbook.encode_message(self.book, sequence=SEQUENCE,
                                                timestamp_ns=TIMESTAMP_NS)
        self.out = bytearray(self.layout.message_size)     # a caller's output buffer

        # Vec baseline
        self.vec = VecOrderBook(self.bids, self.asks, **self.vec_header)
        self.vec_payload = self.vec.to_bytes()
        self.vec_message = vec_baseline.encode_message(self.vec, sequence=SEQUENCE,
                                                       timestamp_ns=TIMESTAMP_NS)
        self.vec_out = bytearray(len(self.vec_message))

        # ctypes
        self.ctypes = self.ct.build(self.bids, self.asks, self.header)

        # struct: the flat values are the struct user's "book"
        self.struct_values = tuple(self.st.flat_values(self.bids, self.asks, self.header))

        # numpy
        self.numpy = self.nm.build_from_numpy(self.bids_np, self.asks_np, self.header)
        self.numpy_sides = self.nm.Sides(self.numpy)

        # msgspec
        self.msgspec = msgspec_book.build(self.bids, self.asks, self.header)
        self.msgspec_payload = msgspec_book.ENCODER.encode(self.msgspec)
        self.msgspec_message = msgspec_book.encode_message(self.msgspec, SEQUENCE, TIMESTAMP_NS)
        self.msgspec_out = bytearray(len(self.msgspec_payload))

        self._check()

    # -- one canonical form per implementation, to compare results with ------------

    def canonical(self, impl: str, obj: Any) -> bytes:
        """The bytes that identify a book of ``impl``: the wire bytes (6,200 or
        2,456) for ours and the fixed-layout peers, the Vec payload, the msgpack body."""
        if impl == "vec":
            return obj.to_bytes()
        if impl == "msgspec":
            return msgspec_book.ENCODER.encode(obj)
        if impl == "struct" and isinstance(obj, (tuple, list)):
            return self.st.BOOK.pack(*obj)
        if impl == "numpy":
            return obj.tobytes()
        return bytes(obj)

    def expected(self, impl: str) -> bytes:
        """The canonical bytes of this workload's full book for ``impl``."""
        return {"vec": self.vec_payload, "msgspec": self.msgspec_payload}.get(impl, self.payload)

    def _check(self) -> None:
        c, ct, st, nm = self.capacity, self.ct, self.st, self.nm
        _check_layout(c)
        p = self.payload
        assert len(p) == self.book_size == orderbook.book_size(c), f"capacity {c}: book size"
        assert self.book.capacity == c
        assert bytes(self.ctypes) == p, f"capacity {c}: ctypes layout differs from the library's bytes"
        assert st.BOOK.pack(*self.struct_values) == p, f"capacity {c}: struct layout differs"
        assert st.build(self.bids, self.asks, self.header) == p
        assert self.numpy.tobytes() == p, f"capacity {c}: numpy dtype differs from the library's bytes"
        assert nm.build(self.bids, self.asks, self.header).tobytes() == p
        assert bytes(ct.build_from_numpy(self.bids_np, self.asks_np, self.header)) == p
        assert VecOrderBook.from_bytes(self.vec_payload).bids == self.vec.bids
        assert len(self.vec_payload) == 24 + 2 * 4 + 24 * 2 * self.depth + 12
        assert msgspec_book.BOOK_DECODER.decode(self.msgspec_payload) == self.msgspec
        m = self.message
        assert len(m) == self.layout.message_size == orderbook.message_size(c)
        assert ct.encode_message(self.ctypes, SEQUENCE, TIMESTAMP_NS) == m, f"capacity {c}: ctypes message"
        assert st.encode_message(self.struct_values, SEQUENCE, TIMESTAMP_NS) == m, f"capacity {c}: struct message"
        assert nm.encode_message(self.numpy, SEQUENCE, TIMESTAMP_NS) == m, f"capacity {c}: numpy message"
        assert bytes(ct.decode_message(m).book) == p
        assert st.BOOK.pack(*st.decode_message(m)[1]) == p
        assert nm.decode_message(m)[1].tobytes() == p
        assert nm.decode_message_view(m)[1].tobytes() == p
        assert vec_baseline.decode_message(self.vec_message)[1].to_bytes() == self.vec_payload
        assert msgspec_book.decode_message(self.msgspec_message).book == self.msgspec
        assert orderbook.decode_message(m).book == self.book
        # ours reads the peers' bytes back to the same book (and fields, by name)
        back = orderbook.OrderBook.from_bytes(bytes(self.ctypes), **self.cap_kw)
        assert back == self.book and back.snapshot_timestamp_ns == self.ctypes.snapshot_timestamp_ns


@lru_cache(maxsize=None)
def _check_layout(capacity: int) -> None:
    """The peers' offsets against the library's layout descriptor, then the
    peers against upstream's own bytes (the golden ``full`` case) when present."""
    lib = orderbook.layout(capacity)["OrderBookTLV"]
    ours = layout(capacity)
    ct = ctypes_book.model(capacity).CBook
    nm = numpy_book.model(capacity).BOOK
    assert lib["size"] == ours.book_size == ctypes.sizeof(ct) == nm.itemsize == \
        struct_book.model(capacity).BOOK.size, f"capacity {capacity}: book size"
    for field in ("snapshot_timestamp_ns", "sequence", "precision_factor", "asset_id",
                  "venue_id", "asset_type", "reserved", "bids", "asks"):
        assert getattr(ct, field).offset == nm.fields[field][1] == lib[field], \
            f"capacity {capacity}: {field} offset"
    folder = GOLDEN_DIRS[capacity]
    if not (folder / "full.json").is_file():
        return                                  # no ../shared checkout: the library check stands
    case = json.loads((folder / "full.json").read_text())
    header = {k: case[k] for k in HEADER}
    bids = [tuple(lv[:3]) for lv in case["bids"]]
    asks = [tuple(lv[:3]) for lv in case["asks"]]
    assert all(lv[3] == 0 for lv in case["bids"] + case["asks"])
    want = (folder / "full.payload.bin").read_bytes()
    assert bytes(ctypes_book.model(capacity).build(bids, asks, header)) == want, \
        f"capacity {capacity}: ctypes differs from upstream's bytes"
    assert struct_book.model(capacity).build(bids, asks, header) == want, \
        f"capacity {capacity}: struct differs from upstream's bytes"
    assert numpy_book.model(capacity).build(bids, asks, header).tobytes() == want, \
        f"capacity {capacity}: numpy differs from upstream's bytes"
    assert bytes(orderbook.OrderBook(bids, asks, capacity=capacity, **header)) == want


@lru_cache(maxsize=None)
def workload(depth: int, capacity: int = DEFAULT_CAPACITY) -> Workload:
    return Workload(depth, capacity)
