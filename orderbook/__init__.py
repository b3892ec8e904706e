"""Zero-copy, fixed-layout order book snapshot messages.

The bytes of a book are exactly the Rust ``#[repr(C)] OrderBookTLV`` of the
upstream services (Torq Protocol V2), with two inline ``FixedVec<OrderLevel,
N>`` sides for N = 128 (the default) or 50; messages are Protocol V2 (32-byte
header, TLV records, CRC-32).  See README.md for the tour.
"""

import os as _os
import sys as _sys
from typing import TYPE_CHECKING, Any

if _sys.byteorder != "little":  # pragma: no cover - refused at build time too
    raise ImportError(
        "orderbook supports little-endian hosts only: its structs are the little-endian "
        f"wire bytes read in place, and this host is {_sys.byteorder}-endian")

from orderbook._layout import (
    CAPACITIES,
    HEADER_SIZE,
    MAX_ORDER_LEVELS,
    MESSAGE_SIZE,
    ORDER_BOOK_SIZE,
    ORDER_LEVEL_SIZE,
    book_size,
    layout,
    message_size,
)
from orderbook._book import OrderBook
from orderbook._levels import LEVEL_FORMAT, Levels
from orderbook._message import (
    TLV_ORDER_BOOK,
    Message,
    MessageHeader,
    crc32,
    crc32_implementation,
    decode_message,
    encode_message,
    encode_message_into,
    iter_messages,
)
from orderbook._stream import MessageReader
from orderbook._decimal import format_fixed, to_decimal, to_fixed, to_snapshot
from orderbook.errors import (
    CapacityError,
    ChecksumError,
    DecimalError,
    ExportError,
    FieldRangeError,
    FieldTypeError,
    IdentifierError,
    LayoutError,
    LevelIndexError,
    MagicError,
    MissingRecordError,
    OffsetError,
    OrderBookError,
    ProtocolError,
    ReadOnlyError,
    RecordError,
    ReleasedError,
    TruncatedError,
    ValidationError,
    VenueError,
    VersionError,
)
from orderbook.ids import AssetType, InstrumentId, RelayDomain, SourceType, VenueId
from orderbook.level import OrderLevel
# research and replay (numpy / pyarrow imported on first use only)
from orderbook.dtypes import book_dtype, header_dtype, message_dtype
from orderbook._capture import Capture
from orderbook.arrow import to_arrow

from orderbook._version import __version__

__all__ = [
    "__version__",
    "OrderBook", "OrderLevel", "Levels", "Message", "MessageHeader",
    "encode_message", "encode_message_into", "decode_message", "iter_messages",
    "MessageReader",
    "crc32", "crc32_implementation", "layout", "book_size", "message_size", "CAPACITIES",
    "VenueId", "AssetType", "SourceType", "RelayDomain", "InstrumentId",
    "to_fixed", "format_fixed", "to_decimal", "to_snapshot", "get_include",
    "MAX_ORDER_LEVELS", "ORDER_LEVEL_SIZE", "ORDER_BOOK_SIZE", "HEADER_SIZE",
    "MESSAGE_SIZE", "TLV_ORDER_BOOK", "LEVEL_DTYPE", "LEVEL_FORMAT",
    "OrderBookError", "CapacityError", "ValidationError", "FieldRangeError",
    "FieldTypeError", "DecimalError", "VenueError", "IdentifierError", "LayoutError",
    "LevelIndexError", "OffsetError", "ExportError", "ReadOnlyError", "ReleasedError",
    "ProtocolError", "TruncatedError", "ChecksumError", "MagicError", "VersionError",
    "RecordError", "MissingRecordError",
    "book_dtype", "message_dtype", "header_dtype", "Capture", "to_arrow",
]


def get_include() -> str:
    """The directory of the C headers that orderbook's ``.pxd`` files name, for
    ``Extension(include_dirs=[orderbook.get_include()])`` in an extension that
    cimports orderbook (as ``numpy.get_include()``).  Its parent directory holds
    ``orderbook/*.pxd``: Cython's ``include_path``.  See docs/cython.md."""
    return _os.path.dirname(_os.path.abspath(__file__))


if TYPE_CHECKING:
    import numpy

    # numpy stays optional: provided on first use by __getattr__ below.
    LEVEL_DTYPE: "numpy.dtype[numpy.void]"


def __getattr__(name: str) -> Any:
    # LEVEL_DTYPE needs numpy, which stays optional: import it on first use.
    if name == "LEVEL_DTYPE":
        from orderbook.level import level_dtype

        dtype = globals()["LEVEL_DTYPE"] = level_dtype()   # later reads skip __getattr__
        return dtype
    if name == "venues":
        # the venue adapters, loaded on first use like an explicit import
        import importlib

        return importlib.import_module("orderbook.venues")
    raise AttributeError(f"module 'orderbook' has no attribute {name!r}")
