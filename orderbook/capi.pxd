# The orderbook C API: `cdef inline` helpers over the wire structs that need
# no Python object and run with the GIL released, for books of either
# capacity.  Every rule (checks, validation, insertion, the spread, the TLV
# walk) is the library's own _core, the same code the Python API runs.
#
#     from orderbook cimport OrderBook, OrderBookHeadC, BookLayout, OrderLevelC
#     from orderbook.capi cimport ob_best_bid, ob_spread_bps
#
#     cdef const OrderBookHeadC* t = (<OrderBook?>book).tlv()   # raises if released
#     cdef const BookLayout* L = (<OrderBook>book).layout()      # its capacity and sizes
#     cdef OrderLevelC lv
#     cdef int64_t bps
#     with nogil:
#         if ob_best_bid(t, L, &lv) and ob_spread_bps(t, L, &bps) == 1:
#             ...
#
# `cimport orderbook` brings all of these in as well (orderbook.ob_best_bid).
# Reference: docs/cython.md.
#
# Rules every function here keeps:
# - A book is an OrderBookHeadC* (its first 40 bytes, the same at every
#   capacity) with the BookLayout that says where its sides are; a struct of
#   your own (OrderBookTLVC or OrderBookTLV50C) gets its layout from
#   ob_layout(capacity, &L).  Sides are reached with ob_side() / ob_cside().
# - Pointers may be unaligned: a book inside a message starts at offset 37.
#   The structs are `packed`, so the compiler emits unaligned-safe accesses;
#   fields are read by value and whole levels copied with memcpy.  Never take
#   the address of a single integer field (gcc: -Waddress-of-packed-member).
# - Nothing allocates, raises or touches a Python object: every function is
#   `noexcept nogil` and reports "none" or failure in its return value.
# - A side's count is never trusted past the capacity when indexing, so a
#   corrupt count cannot make a helper read or write outside the struct.
# - Writers keep the wire invariants: slots at and past `count` stay zero, so
#   equal books keep giving equal bytes.
#
# The pointer is only valid while its memory is: keep a reference to the
# OrderBook, and when Python code can run while you hold the pointer (another
# thread, a collector callback), pin the book (book.pin() / book.unpin()) or
# hold a buffer export of it (PyObject_GetBuffer) across the `nogil` block:
# release() and rebind() refuse with ExportError while either is held.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, memset
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

# the result codes (OB_OK, OB_RULE_*, OB_E*) and ob_count are _core's own
from orderbook._core cimport (
    OB_ECHECKSUM, OB_EFULL, OB_ELAYOUT, OB_EMAGIC, OB_EMISSING, OB_ERECORD, OB_ETRUNCATED,
    OB_EVERSION, OB_OK, OB_RULE_ASKS_ASCENDING, OB_RULE_BIDS_DESCENDING, OB_RULE_COUNT,
    OB_RULE_CROSSED, OB_RULE_POSITIVE_PRICE, OB_RULE_POSITIVE_SIZE, ob_count, ob_fault, ob_insert,
    ob_trunc_mid,
)
from orderbook._core cimport (
    ob_clear as _core_clear, ob_spread_bps as _core_spread, ob_validate as _core_validate,
)
from orderbook.structs cimport (
    BookLayout, ExtendedTLVHeaderC, LevelsC, MessageHeaderC, OrderBookHeadC, OrderLevelC,
    ob_cside, ob_layout, ob_layout_of_size, ob_side, ob_zero_side,
)
from orderbook._message cimport crc32_update, parse_message, write_message


cdef enum:
    # side selectors for the `asks` arguments
    OB_BIDS = 0
    OB_ASKS = 1
    # wire sizes that do not depend on the capacity, from the structs themselves
    OB_ORDER_LEVEL_SIZE = sizeof(OrderLevelC)                                # 24
    OB_HEADER_SIZE = sizeof(MessageHeaderC)                                  # 32
    OB_BOOK_OFFSET = sizeof(MessageHeaderC) + sizeof(ExtendedTLVHeaderC)     # 37


# --- sides and levels ---------------------------------------------------------

cdef inline bint ob_level_at(const OrderBookHeadC* t, const BookLayout* L, bint asks, Py_ssize_t i,
                             OrderLevelC* out) noexcept nogil:
    """Copy level i (0 = best) of a side into *out; false, *out untouched,
    when i is not in 0..count-1."""
    if i < 0 or i >= ob_count(t, L, asks):
        return False
    memcpy(out, &ob_cside(t, L, asks).elements[i], sizeof(OrderLevelC))
    return True


cdef inline bint ob_best_bid(const OrderBookHeadC* t, const BookLayout* L, OrderLevelC* out) noexcept nogil:
    """Copy the best (highest) bid into *out; false when there are no bids."""
    return ob_level_at(t, L, False, 0, out)


cdef inline bint ob_best_ask(const OrderBookHeadC* t, const BookLayout* L, OrderLevelC* out) noexcept nogil:
    """Copy the best (lowest) ask into *out; false when there are no asks."""
    return ob_level_at(t, L, True, 0, out)


# --- prices ---------------------------------------------------------------------

cdef inline bint ob_mid_price(const OrderBookHeadC* t, const BookLayout* L, int64_t* out) noexcept nogil:
    """(best bid + best ask) / 2, truncated toward zero as Rust's integer `/`
    (exact for every int64 price, no overflow); false when a side is empty."""
    if ob_count(t, L, False) == 0 or ob_count(t, L, True) == 0:
        return False
    out[0] = ob_trunc_mid(ob_cside(t, L, False).elements[0].price, ob_cside(t, L, True).elements[0].price)
    return True


cdef inline int ob_spread_bps(const OrderBookHeadC* t, const BookLayout* L, int64_t* out) noexcept nogil:
    """upstream's spread_bps, as OrderBook.spread_bps: 1 with *out set; 0 when
    there is no spread (a side is empty or the mid is not positive); -1 when
    the exact result does not fit in int64."""
    return _core_spread(t, L, out)


# --- writing ------------------------------------------------------------------------

cdef inline void ob_clear_side(OrderBookHeadC* t, const BookLayout* L, bint asks) noexcept nogil:
    """Empty a side: count 0, every slot and padding byte zeroed."""
    ob_zero_side(ob_side(t, L, asks), L)


cdef inline void ob_clear(OrderBookHeadC* t, const BookLayout* L) noexcept nogil:
    """Empty both sides (OrderBook.clear()); header fields are kept."""
    _core_clear(t, L)


cdef inline bint ob_set_side(OrderBookHeadC* t, const BookLayout* L, bint asks,
                             const OrderLevelC* levels, Py_ssize_t n) noexcept nogil:
    """Replace a side with the n levels at `levels` (best first, copied as
    given; ob_validate() checks the order).  `levels` may point into the book
    itself.  False, side unchanged, when n is not in 0..capacity."""
    cdef LevelsC* s
    if n < 0 or n > L.capacity:
        return False
    s = ob_side(t, L, asks)
    if n:
        memmove(&s.elements[0], levels, <size_t>n * sizeof(OrderLevelC))
    memset(&s.elements[n], 0, <size_t>(L.capacity - n) * sizeof(OrderLevelC))
    memset(&s._padding[0], 0, sizeof(s._padding))
    s.count = <uint16_t>n
    return True


cdef inline bint ob_push_level(OrderBookHeadC* t, const BookLayout* L, bint asks, int64_t price,
                               int64_t size, uint32_t order_count) noexcept nogil:
    """Append a level after the last one (for a side given best first; no
    order check); false when the side is full."""
    cdef LevelsC* s = ob_side(t, L, asks)
    cdef Py_ssize_t n = s.count
    if n >= L.capacity:
        return False
    s.elements[n].price = price
    s.elements[n].size = size
    s.elements[n].order_count = order_count
    s.elements[n].reserved = 0
    s.count = <uint16_t>(n + 1)
    return True


cdef inline Py_ssize_t ob_insert_level(OrderBookHeadC* t, const BookLayout* L, bint asks,
                                       int64_t price, int64_t size, uint32_t order_count) noexcept nogil:
    """Sorted insertion, as OrderBook.add_bid / add_ask (and upstream's):
    before the first level priced strictly worse, so equal prices keep arrival
    order.  Returns its index, or -1 (book unchanged) when the side is full or
    its count is corrupt."""
    cdef ob_fault f
    cdef Py_ssize_t at = ob_insert(t, L, asks, price, size, order_count, &f)
    return at if at >= 0 else -1


cdef inline int ob_validate(const OrderBookHeadC* t, const BookLayout* L, bint* asks,
                            Py_ssize_t* index) noexcept nogil:
    """The rules of OrderBook.validate(), in upstream's order: OB_OK, or the
    first OB_RULE_* broken, with its side in *asks and level in *index (for
    OB_RULE_CROSSED: the asks, level 0; for OB_RULE_COUNT: -1).  Either
    pointer may be NULL."""
    cdef ob_fault f
    cdef int rule = _core_validate(t, L, &f)
    if rule != OB_OK:
        if asks != NULL:
            asks[0] = f.asks
        if index != NULL:
            index[0] = f.index
    return rule


# --- messages --------------------------------------------------------------------

cdef inline uint32_t ob_crc32(uint32_t crc, const uint8_t* buf, size_t length) noexcept nogil:
    """CRC-32 (IEEE 802.3) continuing from `crc`, as zlib.crc32(buf, crc): the
    library's own kernel (hardware-accelerated where the CPU allows)."""
    return crc32_update(crc, buf, length)


cdef inline uint64_t ob_now_ns() noexcept nogil:
    """Nanoseconds since the epoch (CLOCK_REALTIME), what encode_message
    stamps when timestamp_ns is None."""
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <uint64_t>ts.tv_sec * 1000000000 + <uint64_t>ts.tv_nsec


cdef inline Py_ssize_t ob_message_size(const BookLayout* L) noexcept nogil:
    """Bytes of a message holding one book of layout L (6,237 or 2,493)."""
    return OB_BOOK_OFFSET + L.book_size


cdef inline Py_ssize_t ob_encode_message(uint8_t* dst, size_t capacity, const OrderBookHeadC* book,
                                         const BookLayout* L, uint64_t sequence, uint64_t timestamp_ns,
                                         uint8_t source, uint8_t relay_domain, uint8_t flags) noexcept nogil:
    """Write the message holding `book` at `dst` (any alignment), byte for
    byte what encode_message_into writes for the same header fields.  Returns
    the bytes written, or -1 (nothing written) when capacity is smaller than
    ob_message_size(L) or a side's count is above L.capacity (encode_message_into
    raises LayoutError there).  `book` may lie inside the destination."""
    return write_message(dst, capacity, book, L, sequence, timestamp_ns, source, relay_domain, flags)


cdef inline Py_ssize_t ob_decode_message(const uint8_t* src, size_t length, bint verify,
                                         MessageHeaderC* header, const OrderBookHeadC** book,
                                         BookLayout* L) noexcept nogil:
    """Check the message at `src` (`length` bytes readable) as decode_message
    does - magic, version, payload_size, CRC-32 when `verify`, every TLV
    record, side counts - and point *book at its OrderBook value inside `src`
    (zero-copy; unaligned, offset OB_BOOK_OFFSET in the library's own
    messages), with its layout (the record's length gives the capacity) in
    *L.  Copies the header into *header.  Any pointer may be NULL.

    Returns the message's length (32 + payload_size: the offset of the next
    message in a capture), or a negative OB_E* code, outputs untouched."""
    cdef MessageHeaderC h
    cdef BookLayout lay
    cdef ob_fault f
    cdef Py_ssize_t pos = parse_message(src, <Py_ssize_t>length, verify, &h, &lay, &f)
    if pos < 0:
        return pos
    if header != NULL:
        memcpy(header, &h, sizeof(MessageHeaderC))
    if book != NULL:
        book[0] = <const OrderBookHeadC*>(src + pos)
    if L != NULL:
        L[0] = lay
    return sizeof(MessageHeaderC) + <Py_ssize_t>h.payload_size
