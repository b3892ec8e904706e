"""Zero-copy, fixed-layout order book snapshot messages.

The bytes of a book are exactly the Rust ``#[repr(C)] OrderBookTLV`` with two
inline ``FixedVec<OrderLevel, 128>`` sides; messages are Protocol V2 (32-byte
header, TLV records, CRC-32).  See README.md for the tour.
"""

import os as _os
import sys as _sys
from typing import TYPE_CHECKING, Any

if _sys.byteorder != "little":  # pragma: no cover - refused at build time too
    raise ImportError(
        "orderbook supports little-endian hosts only: its structs are the little-endian "
        f"wire bytes read in place, and this host is {_sys.byteorder}-endian")

from orderbook._book import (
    HEADER_SIZE,
    LEVEL_FORMAT,
    MAX_ORDER_LEVELS,
    MESSAGE_SIZE,
    ORDER_BOOK_SIZE,
    ORDER_LEVEL_SIZE,
    Levels,
    OrderBook,
    layout,
)
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
from orderbook._decimal import format_fixed, to_decimal, to_fixed, to_snapshot
from orderbook.errors import (
    CapacityError,
    ChecksumError,
    DecimalError,
    ExportError,
    FieldRangeError,
    FieldTypeError,
    LayoutError,
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
from orderbook.level import OrderLevel

from orderbook._version import __version__

__all__ = [
    "OrderBook", "OrderLevel", "Levels", "Message", "MessageHeader",
    "encode_message", "encode_message_into", "decode_message", "iter_messages",
    "crc32", "crc32_implementation", "layout",
    "to_fixed", "format_fixed", "to_decimal", "to_snapshot", "get_include",
    "MAX_ORDER_LEVELS", "ORDER_LEVEL_SIZE", "ORDER_BOOK_SIZE", "HEADER_SIZE",
    "MESSAGE_SIZE", "TLV_ORDER_BOOK", "LEVEL_DTYPE", "LEVEL_FORMAT",
    "OrderBookError", "CapacityError", "ValidationError", "FieldRangeError",
    "FieldTypeError", "DecimalError", "VenueError", "LayoutError", "OffsetError", "ExportError", "ReadOnlyError", "ReleasedError",
    "ProtocolError", "TruncatedError", "ChecksumError", "MagicError", "VersionError",
    "RecordError", "MissingRecordError",
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
    raise AttributeError(f"module 'orderbook' has no attribute {name!r}")
