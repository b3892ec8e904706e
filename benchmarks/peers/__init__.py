"""What a Python user would reach for instead of this library.

Each module models the same upstream ``OrderBookTLV`` (6,200 bytes at
capacity 128, 2,456 at capacity 50) and its Protocol V2 message (6,237 /
2,493 bytes) with one stdlib or third-party tool, written the way a
competent user of that tool would write it: precompiled layouts, the tool's
fastest idiom, nothing deliberately slow.  The fixed-layout peers (ctypes,
struct, numpy) produce byte-for-byte the same bytes as the library at either
capacity; the workloads check that before anything is timed.

- ``ctypes_book``: ``ctypes.Structure`` classes with the Rust layout.
- ``struct_book``: one precompiled ``struct.Struct`` for the whole book.
- ``numpy_book``: a structured dtype with explicit offsets.
- ``msgspec_book``: msgpack of the same content, the fast general serializer.

A fixed-layout peer is built per capacity by a cached factory,
``model(capacity)``, whose layout comes from :func:`layout` below: the
Structure classes, the struct format or the dtype are made once per
capacity, and the functions a benchmark times close over them (no
per-call lookup of the capacity).

The Vec baseline (the pre-FixedVec design) lives in ``vec_baseline.py``.
"""

from __future__ import annotations

import struct as _struct
from functools import lru_cache
from typing import NamedTuple

#: The two capacities in the field: the FixedVec task's 128 (the library's
#: default) and the 50 upstream ships today.
CAPACITIES = (128, 50)

#: Protocol V2 constants, spelled out here (not imported from the library)
#: so that the peers stay independent models of the wire format.
LEVEL_SIZE = 24
HEAD_SIZE = 40                                       # book fields + 4 padding bytes before bids
BIDS_OFFSET = HEAD_SIZE                              # the same at every capacity
HEADER_SIZE = 32
EXT_SIZE = 5                                         # 255, 0, type, u16 length
BOOK_AT = HEADER_SIZE + EXT_SIZE                     # the book's offset in a message: 37
MAGIC = 0xDEADBEEF
VERSION = 1
TLV_ORDER_BOOK = 3
TLV_EXTENDED = 255
CRC_HEAD = 28                                        # header bytes before the checksum

#: The book's header fields in upstream order (offsets 0, 8, 16, 24, 32, 34, 35).
HEADER_KEYS = ("snapshot_timestamp_ns", "sequence", "precision_factor", "asset_id",
               "venue_id", "asset_type", "reserved")

#: 28 header bytes before the checksum, then the checksum itself.
HEAD = _struct.Struct("<IBBBBQQI")
U32 = _struct.Struct("<I")
EXT = _struct.Struct("<BBBH")


class Layout(NamedTuple):
    """Sizes and offsets of upstream's ``OrderBookTLV`` at one capacity."""

    capacity: int          # MAX_ORDER_LEVELS
    levels_size: int       # one FixedVec: u16 count, 6 padding bytes, N levels
    book_size: int         # 40 + 2 * levels_size
    bids_offset: int       # 40
    asks_offset: int       # 40 + levels_size
    payload_size: int      # the extended TLV header + the book
    message_size: int      # 32-byte header + payload


@lru_cache(maxsize=None)
def layout(capacity: int) -> Layout:
    if capacity not in CAPACITIES:
        raise ValueError(f"capacity must be one of {CAPACITIES}, not {capacity}")
    levels_size = 8 + capacity * LEVEL_SIZE
    book_size = HEAD_SIZE + 2 * levels_size
    return Layout(capacity, levels_size, book_size, BIDS_OFFSET, BIDS_OFFSET + levels_size,
                  EXT_SIZE + book_size, HEADER_SIZE + EXT_SIZE + book_size)


assert layout(128).book_size == 6200 and layout(128).asks_offset == 3120
assert layout(50).book_size == 2456 and layout(50).asks_offset == 1248
assert layout(128).message_size == 6237 and layout(50).message_size == 2493


class PeerChecksumError(ValueError):
    """Raised by the peers' decoders on a CRC mismatch (they must check too)."""
