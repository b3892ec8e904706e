# `cimport orderbook`: the package's whole C API in one name, as `cimport numpy`.
#
#     cimport orderbook
#     from orderbook cimport OrderBook, OrderBookHeadC, BookLayout, ob_best_bid
#
# - the wire structs (orderbook/structs.pxd): OrderLevelC, LevelsC and
#   Levels50C (one side at capacity 128 / 50), OrderBookHeadC (the 40 bytes
#   before the sides), OrderBookTLVC and OrderBookTLV50C, MessageHeaderC,
#   ExtendedTLVHeaderC, the BookLayout descriptor with ob_layout() and
#   ob_side(), and the OB_* constants of src/ob_platform.h;
# - the classes (orderbook/_book.pxd, _levels.pxd, _message.pxd): OrderBook
#   with its C accessors `tlv()` (read pointer, raises ReleasedError for a
#   released view), `mut()` (write pointer, raises ReadOnlyError as well),
#   `layout()` and `pin()`/`unpin()`, Levels, Message (`.header`, `.book`)
#   and MessageHeader (`.h`, the header struct);
# - the nogil helpers (orderbook/capi.pxd): ob_best_bid, ob_level_at,
#   ob_spread_bps, ob_encode_message, ob_decode_message, ...
#
# The C compiler must find the header these declarations name:
# include_dirs=[orderbook.get_include()].  Reference: docs/cython.md.

from orderbook.structs cimport (
    OB_HEADER_MAGIC, OB_MAX_LEVELS, OB_PROTOCOL_VERSION, OB_TLV_EXTENDED, OB_TLV_ORDER_BOOK,
    OB_UPSTREAM_LEVELS, BookLayout, ExtendedTLVHeaderC, Levels50C, LevelsC, MessageHeaderC,
    OrderBookHeadC, OrderBookTLV50C, OrderBookTLVC, OrderLevelC, ob_cside, ob_layout,
    ob_layout_of_size, ob_side,
)
from orderbook._book cimport OrderBook
from orderbook._levels cimport Levels
from orderbook._message cimport Message, MessageHeader
from orderbook.capi cimport *
