# `cimport orderbook`: the package's whole C API in one name, as `cimport numpy`.
#
#     cimport orderbook
#     from orderbook cimport OrderBook, OrderBookTLV, OrderLevel, ob_best_bid
#
# - the wire structs (orderbook/structs.pxd): OrderLevel, OrderBookTLV,
#   LevelsC (one side, FixedVec<OrderLevel, 128>), MessageHeaderC,
#   ExtendedTLVHeader, and the OB_* constants of src/ob_platform.h;
# - the classes (orderbook/_book.pxd, orderbook/_message.pxd): OrderBook with
#   its C accessors `tlv()` (read pointer, raises ReleasedError for a released
#   view) and `mut()` (write pointer, raises ReadOnlyError as well), Levels,
#   Message (`.header`, `.book`) and MessageHeader (`.h`, the header struct);
# - the nogil helpers (orderbook/capi.pxd): ob_best_bid, ob_level_at,
#   ob_spread_bps, ob_encode_message, ob_decode_message, ...
#
# The C compiler must find the header these declarations name:
# include_dirs=[orderbook.get_include()].  Reference: docs/cython.md.

from orderbook.structs cimport (
    OB_HEADER_MAGIC, OB_MAX_LEVELS, OB_PROTOCOL_VERSION, OB_TLV_EXTENDED, OB_TLV_ORDER_BOOK,
    ExtendedTLVHeader, Levels as LevelsC, MessageHeader as MessageHeaderC, OrderBookTLV,
    OrderLevel,
)
from orderbook._book cimport Levels, OrderBook
from orderbook._message cimport Message, MessageHeader
from orderbook.capi cimport *
