# The layout of the wire structs at each capacity, as Python values: the
# size constants, book_size()/message_size(), layout() (every offset taken
# from the structs themselves), and the `capacity=` argument of every call.

from cpython.long cimport PyLong_CheckExact

from orderbook._convert cimport as_index
from orderbook._cpython cimport PyLong_AsLongLongAndOverflow
from orderbook.structs cimport (
    OB_MAX_LEVELS, OB_UPSTREAM_LEVELS, BookLayout, ExtendedTLVHeaderC, LevelsC, MessageHeaderC,
    OrderBookHeadC, OrderBookTLV50C, OrderBookTLVC, OrderLevelC, ob_cside, ob_layout,
)

from orderbook.errors import CapacityError, FieldTypeError


# --- layout constants, derived from the structs ------------------------------

MAX_ORDER_LEVELS = OB_MAX_LEVELS
CAPACITIES = (OB_MAX_LEVELS, OB_UPSTREAM_LEVELS)
ORDER_LEVEL_SIZE = sizeof(OrderLevelC)
ORDER_BOOK_SIZE = sizeof(OrderBookTLVC)
HEADER_SIZE = sizeof(MessageHeaderC)
# header + extended TLV header (255, 0, type, u16 length) + the book
MESSAGE_SIZE = sizeof(MessageHeaderC) + sizeof(ExtendedTLVHeaderC) + sizeof(OrderBookTLVC)

cdef BookLayout _DEFAULT               # capacity 128, set at import
ob_layout(OB_MAX_LEVELS, &_DEFAULT)

cdef int layout_arg(object capacity, BookLayout* out) except -1:
    """A `capacity=` argument as its layout: 128 or 50, else CapacityError."""
    cdef Py_ssize_t c = -1
    cdef int overflow = 0
    if capacity is None:
        out[0] = _DEFAULT
        return 0
    if PyLong_CheckExact(capacity):
        # the common case in C: no Python comparison
        c = PyLong_AsLongLongAndOverflow(capacity, &overflow)
        if not overflow and ob_layout(c, out):
            return 0
    try:
        c = as_index(capacity, "capacity")
    except FieldTypeError:
        raise FieldTypeError(
            f"capacity must be one of {CAPACITIES}, got {type(capacity).__name__} {capacity!r}") from None
    if not ob_layout(c, out):
        raise CapacityError(f"capacity must be one of {CAPACITIES}, got {capacity}", c, c)
    return 0


def book_size(capacity=OB_MAX_LEVELS):
    """Bytes of an OrderBookTLV of ``capacity`` slots per side (6,200 or 2,456)."""
    cdef BookLayout L
    layout_arg(capacity, &L)
    return L.book_size


def message_size(capacity=OB_MAX_LEVELS):
    """Bytes of a message holding one book of ``capacity`` (6,237 or 2,493)."""
    cdef BookLayout L
    layout_arg(capacity, &L)
    return sizeof(MessageHeaderC) + sizeof(ExtendedTLVHeaderC) + L.book_size


cdef OrderBookTLVC _proto128     # only their field addresses are used, for offsets
cdef OrderBookTLV50C _proto50
cdef MessageHeaderC _hproto


cdef inline Py_ssize_t _off(const void* field, const void* base) noexcept nogil:
    return <const char*>field - <const char*>base


def layout(capacity=OB_MAX_LEVELS):
    """Sizes and field offsets of the C structs at ``capacity``, keyed like the
    Rust program's golden ``layout.json`` (compare the two with ``==``).
    Every offset is taken from the struct itself."""
    cdef BookLayout L
    layout_arg(capacity, &L)
    cdef OrderBookHeadC* h = &_proto128.head if L.capacity == OB_MAX_LEVELS else &_proto50.head
    cdef const void* book = h
    cdef const LevelsC* bids = ob_cside(h, &L, False)
    cdef const LevelsC* asks = ob_cside(h, &L, True)
    cdef const OrderLevelC* lv = &bids.elements[0]
    # rustc aligns each struct to its widest field: the 8-byte integers
    cdef Py_ssize_t align = sizeof(lv.price)
    return {
        "MAX_ORDER_LEVELS": L.capacity,
        "OrderLevel": {
            "size": sizeof(OrderLevelC), "align": align,
            "price": _off(&lv.price, lv), "size_field": _off(&lv.size, lv),
            "order_count": _off(&lv.order_count, lv), "reserved": _off(&lv.reserved, lv),
        },
        "FixedVec": {
            "size": L.side_size, "align": align,
            "count": _off(&bids.count, bids), "_padding": _off(&bids._padding[0], bids),
            "elements": _off(&bids.elements[0], bids),
        },
        "OrderBookTLV": {
            "size": L.book_size, "align": align,
            "snapshot_timestamp_ns": _off(&h.snapshot_timestamp_ns, book),
            "sequence": _off(&h.sequence, book),
            "precision_factor": _off(&h.precision_factor, book),
            "asset_id": _off(&h.asset_id, book),
            "venue_id": _off(&h.venue_id, book),
            "asset_type": _off(&h.asset_type, book),
            "reserved": _off(&h.reserved, book),
            "bids": _off(bids, book),
            "asks": _off(asks, book),
        },
        "MessageHeader": {
            "size": sizeof(MessageHeaderC),
            "magic": _off(&_hproto.magic, &_hproto),
            "relay_domain": _off(&_hproto.relay_domain, &_hproto),
            "version": _off(&_hproto.version, &_hproto),
            "source": _off(&_hproto.source, &_hproto),
            "flags": _off(&_hproto.flags, &_hproto),
            "sequence": _off(&_hproto.sequence, &_hproto),
            "timestamp": _off(&_hproto.timestamp, &_hproto),
            "payload_size": _off(&_hproto.payload_size, &_hproto),
            "checksum": _off(&_hproto.checksum, &_hproto),
        },
    }


if _off(&_proto128.bids, &_proto128) != _off(&_proto50.bids, &_proto50) \
        or _off(&_proto128.asks, &_proto128) != _DEFAULT.asks_offset \
        or sizeof(OrderBookTLVC) != _DEFAULT.book_size:
    raise ImportError("orderbook: the compiler did not honour `packed` on the wire structs")
