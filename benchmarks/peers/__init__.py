"""What a Python user would reach for instead of this library.

Each module models the same 6,200-byte ``OrderBookTLV`` (and the 6,237-byte
Protocol V2 message) with one stdlib or third-party tool, written the way a
competent user of that tool would write it: precompiled layouts, the tool's
fastest idiom, nothing deliberately slow.  The fixed-layout peers (ctypes,
struct, numpy) produce byte-for-byte the same bytes as the library; the
workloads check that before anything is timed.

- ``ctypes_book``: ``ctypes.Structure`` with the Rust layout.
- ``struct_book``: one precompiled ``struct.Struct`` for the whole book.
- ``numpy_book``: a structured dtype with explicit offsets.
- ``msgspec_book``: msgpack of the same content, the fast general serializer.

The Vec baseline (the pre-FixedVec design) lives in ``vec_baseline.py``.
"""

from __future__ import annotations

import struct as _struct

#: Protocol V2 constants, spelled out here (not imported from the library)
#: so that the peers stay independent models of the wire format.
MAX_LEVELS = 128
LEVEL_SIZE = 24
LEVELS_SIZE = 8 + MAX_LEVELS * LEVEL_SIZE          # u16 count, 6 pad, elements
BOOK_SIZE = 24 + 2 * LEVELS_SIZE + 16               # 6,200
BIDS_OFFSET = 24
ASKS_OFFSET = BIDS_OFFSET + LEVELS_SIZE              # 3,104
HEADER_SIZE = 32
EXT_SIZE = 5                                         # 255, 0, type, u16 length
MESSAGE_SIZE = HEADER_SIZE + EXT_SIZE + BOOK_SIZE    # 6,237
MAGIC = 0xDEADBEEF
VERSION = 1
TLV_ORDER_BOOK = 3
TLV_EXTENDED = 255
CRC_HEAD = 28                                        # header bytes before the checksum

#: 28 header bytes before the checksum, then the checksum itself.
HEAD = _struct.Struct("<IBBBBQQI")
U32 = _struct.Struct("<I")
EXT = _struct.Struct("<BBBH")


class PeerChecksumError(ValueError):
    """Raised by the peers' decoders on a CRC mismatch (they must check too)."""
