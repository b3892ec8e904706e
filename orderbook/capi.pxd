# The orderbook C API: `cdef inline` helpers over the wire structs that need
# no Python object and run with the GIL released.
#
#     from orderbook cimport OrderBook, OrderBookTLV, OrderLevel
#     from orderbook.capi cimport ob_best_bid, ob_spread_bps
#
#     cdef const OrderBookTLV* t = (<OrderBook?>book).tlv()   # raises if released
#     cdef OrderLevel lv
#     cdef int64_t bps
#     with nogil:
#         if ob_best_bid(t, &lv) and ob_spread_bps(t, &bps) == 1:
#             ...
#
# `cimport orderbook` brings all of these in as well (orderbook.ob_best_bid).
# Reference: docs/cython.md.
#
# Rules every function here keeps:
# - Pointers may be unaligned: a book inside a message starts at offset 37.
#   The structs are `packed`, so the compiler emits unaligned-safe accesses;
#   fields are read by value and whole levels copied with memcpy.  Never take
#   the address of a single integer field (gcc: -Waddress-of-packed-member).
# - Nothing allocates, raises or touches a Python object: every function is
#   `noexcept nogil` and reports "none" or failure in its return value.
# - A side's count is never trusted past OB_MAX_LEVELS when indexing, so a
#   corrupt count cannot make a helper read or write outside the struct.
# - Writers keep the wire invariants: slots at and past `count` stay zero, so
#   equal books keep giving equal bytes.
# - Results do not depend on the compiler directives of the extension that
#   cimports this file: divisions carry their own `cdivision` and only ever
#   divide non-negative numbers by positive ones; no signed overflow anywhere.
#
# The pointer is only valid while its memory is: keep a reference to the
# OrderBook, and when another thread could release() or rebind() a view, hold
# a buffer export of the book (PyObject_GetBuffer) across the `nogil` block -
# both refuse with BufferError while one exists.

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t, INT64_MAX, INT64_MIN, UINT64_MAX
from libc.string cimport memcpy, memmove, memset
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

from orderbook.structs cimport (
    OB_HEADER_MAGIC, OB_MAX_LEVELS, OB_PROTOCOL_VERSION, OB_TLV_EXTENDED, OB_TLV_ORDER_BOOK,
    ExtendedTLVHeader, Levels, MessageHeader, OrderBookTLV, OrderLevel,
)
from orderbook._message cimport crc32_update, write_message


cdef enum:
    # side selectors for the `asks` arguments
    OB_BIDS = 0
    OB_ASKS = 1
    # wire sizes, from the structs themselves
    OB_ORDER_LEVEL_SIZE = sizeof(OrderLevel)                                 # 24
    OB_LEVELS_SIZE = sizeof(Levels)                                          # 3,080
    OB_ORDER_BOOK_SIZE = sizeof(OrderBookTLV)                                # 6,200
    OB_HEADER_SIZE = sizeof(MessageHeader)                                   # 32
    OB_BOOK_OFFSET = sizeof(MessageHeader) + sizeof(ExtendedTLVHeader)       # 37
    OB_MESSAGE_SIZE = OB_BOOK_OFFSET + sizeof(OrderBookTLV)                  # 6,237


cdef enum:
    # ob_validate(): the first rule a book breaks (OrderBook.validate()'s
    # ValidationError.rule in quotes), or OB_VALID.
    OB_VALID = 0
    OB_RULE_POSITIVE_PRICE = 1      # "positive_price": a price <= 0
    OB_RULE_POSITIVE_SIZE = 2       # "positive_size": a size <= 0
    OB_RULE_BIDS_DESCENDING = 3     # "bids_descending": a bid above the one before it
    OB_RULE_ASKS_ASCENDING = 4      # "asks_ascending": an ask below the one before it
    OB_RULE_CROSSED = 5             # "crossed": best ask below best bid
    OB_RULE_COUNT = 6               # a side count above OB_MAX_LEVELS (LayoutError in Python)


cdef enum:
    # ob_decode_message() failures; the exception decode_message raises for the
    # same bytes in brackets.
    OB_ETRUNCATED = -1              # [TruncatedError] shorter than the header or 32 + payload_size
    OB_EMAGIC = -2                  # [MagicError] magic is not 0xDEADBEEF
    OB_EVERSION = -3                # [VersionError] version is not 1
    OB_ECHECKSUM = -4               # [ChecksumError] CRC-32 mismatch (verify only)
    OB_ERECORD = -5                 # [RecordError] malformed TLV record or OrderBook length
    OB_EMISSING = -6                # [MissingRecordError] no OrderBook record
    OB_ELAYOUT = -7                 # [LayoutError] a side count above OB_MAX_LEVELS


# --- sides and levels ---------------------------------------------------------

cdef inline Levels* ob_side(OrderBookTLV* t, bint asks) noexcept nogil:
    """The bid (asks false) or ask side, writable."""
    return &t.asks if asks else &t.bids


cdef inline const Levels* ob_cside(const OrderBookTLV* t, bint asks) noexcept nogil:
    """The bid (asks false) or ask side, read-only."""
    return &t.asks if asks else &t.bids


cdef inline Py_ssize_t ob_count(const OrderBookTLV* t, bint asks) noexcept nogil:
    """Levels in use on a side, clamped to OB_MAX_LEVELS: always a safe loop bound."""
    cdef Py_ssize_t n = ob_cside(t, asks).count
    return n if n <= OB_MAX_LEVELS else OB_MAX_LEVELS


cdef inline bint ob_level_at(const OrderBookTLV* t, bint asks, Py_ssize_t i,
                             OrderLevel* out) noexcept nogil:
    """Copy level i (0 = best) of a side into *out; false, *out untouched,
    when i is not in 0..count-1."""
    cdef const Levels* s = ob_cside(t, asks)
    if i < 0 or i >= s.count or i >= OB_MAX_LEVELS:
        return False
    memcpy(out, &s.elements[i], sizeof(OrderLevel))
    return True


cdef inline bint ob_best_bid(const OrderBookTLV* t, OrderLevel* out) noexcept nogil:
    """Copy the best (highest) bid into *out; false when there are no bids."""
    return ob_level_at(t, False, 0, out)


cdef inline bint ob_best_ask(const OrderBookTLV* t, OrderLevel* out) noexcept nogil:
    """Copy the best (lowest) ask into *out; false when there are no asks."""
    return ob_level_at(t, True, 0, out)


# --- prices ---------------------------------------------------------------------

@cython.cdivision(True)
cdef inline int64_t _ob_trunc_mid(int64_t a, int64_t b) noexcept nogil:
    # (a + b) / 2 truncated toward zero, exact for all int64 and overflow-free:
    # floor(a/2) + floor(b/2) + (both odd), then floor -> trunc for a negative
    # odd sum.  (x - (x & 1)) is even, so its division by 2 is exact.
    cdef int64_t m = (a - (a & 1)) // 2 + (b - (b & 1)) // 2 + (a & b & 1)
    if m < 0 and ((a ^ b) & 1):
        m += 1
    return m


cdef inline bint ob_mid_price(const OrderBookTLV* t, int64_t* out) noexcept nogil:
    """(best bid + best ask) / 2, truncated toward zero as Rust's integer `/`
    (exact for every int64 price, no overflow); false when a side is empty."""
    if t.bids.count == 0 or t.asks.count == 0:
        return False
    out[0] = _ob_trunc_mid(t.bids.elements[0].price, t.asks.elements[0].price)
    return True


@cython.cdivision(True)
cdef inline int ob_spread_bps(const OrderBookTLV* t, int64_t* out) noexcept nogil:
    """The spread in basis points as the Rust side computes it,
    ``(ask - bid) * 10000 / ((bid + ask) / 2)`` with both divisions truncating
    toward zero, exactly as OrderBook.spread_bps (the 128-bit intermediate is
    done in 64-bit halves: no compiler extension needed).

    Returns 1 with *out set; 0 when there is no spread (a side is empty or the
    mid is not positive: spread_bps is None); -1 when the exact result does
    not fit in int64, which needs prices no real book has (|ask - bid| above
    about 9.2e14 with a mid of 1 or so)."""
    cdef int64_t bid, ask, mid
    cdef uint64_t d, mag, q, a, b, hi, lo, r
    cdef bint neg
    cdef int i
    if t.bids.count == 0 or t.asks.count == 0:
        return 0
    bid = t.bids.elements[0].price
    ask = t.asks.elements[0].price
    mid = _ob_trunc_mid(bid, ask)
    if mid <= 0:
        return 0
    d = <uint64_t>mid
    # |ask - bid| < 2**64 always fits in uint64; the sign is kept apart
    neg = ask < bid
    mag = <uint64_t>bid - <uint64_t>ask if neg else <uint64_t>ask - <uint64_t>bid
    if mag <= UINT64_MAX // 10000:
        q = mag * 10000 // d
    else:
        # hi:lo = mag * 10000, from 32-bit halves (each partial product < 2**46)
        a = (mag >> 32) * 10000
        b = (mag & <uint64_t>0xFFFFFFFFU) * 10000
        hi = a >> 32
        lo = (a << 32) + b
        if lo < b:
            hi += 1
        if hi >= d:
            return -1               # the quotient is at least 2**64
        # restoring long division of hi:lo by d: r < d < 2**63, so 2r + 1 fits
        r = hi
        q = 0
        for i in range(63, -1, -1):
            r = (r << 1) | ((lo >> i) & 1)
            q <<= 1
            if r >= d:
                r -= d
                q |= 1
    if neg:
        if q > <uint64_t>INT64_MAX + 1:
            return -1
        out[0] = INT64_MIN if q == <uint64_t>INT64_MAX + 1 else -<int64_t>q
    else:
        if q > <uint64_t>INT64_MAX:
            return -1
        out[0] = <int64_t>q
    return 1


# --- writing ------------------------------------------------------------------------

cdef inline void ob_clear_side(OrderBookTLV* t, bint asks) noexcept nogil:
    """Empty a side: count 0, every slot and padding byte zeroed."""
    memset(ob_side(t, asks), 0, sizeof(Levels))


cdef inline void ob_clear(OrderBookTLV* t) noexcept nogil:
    """Empty both sides (OrderBook.clear()); header fields are kept."""
    memset(&t.bids, 0, sizeof(Levels))
    memset(&t.asks, 0, sizeof(Levels))


cdef inline bint ob_set_side(OrderBookTLV* t, bint asks, const OrderLevel* levels,
                             Py_ssize_t n) noexcept nogil:
    """Replace a side with the n levels at `levels` (best first, copied as
    given; ob_validate() checks the order).  `levels` may point into the book
    itself.  False, side unchanged, when n is not in 0..OB_MAX_LEVELS."""
    cdef Levels* s
    if n < 0 or n > OB_MAX_LEVELS:
        return False
    s = ob_side(t, asks)
    if n:
        memmove(&s.elements[0], levels, <size_t>n * sizeof(OrderLevel))
    memset(&s.elements[n], 0, <size_t>(OB_MAX_LEVELS - n) * sizeof(OrderLevel))
    memset(&s._pad[0], 0, sizeof(s._pad))
    s.count = <uint16_t>n
    return True


cdef inline bint ob_push_level(OrderBookTLV* t, bint asks, int64_t price, int64_t size,
                               uint32_t order_count) noexcept nogil:
    """Append a level after the last one (for a side given best first; no
    order check); false when the side is full."""
    cdef Levels* s = ob_side(t, asks)
    cdef Py_ssize_t n = s.count
    if n >= OB_MAX_LEVELS:
        return False
    s.elements[n].price = price
    s.elements[n].size = size
    s.elements[n].order_count = order_count
    s.elements[n].reserved = 0
    s.count = <uint16_t>(n + 1)
    return True


cdef inline Py_ssize_t ob_insert_level(OrderBookTLV* t, bint asks, int64_t price, int64_t size,
                                       uint32_t order_count) noexcept nogil:
    """Sorted insertion, as OrderBook.add_bid / add_ask: bids stay descending,
    asks ascending, a level goes after those of equal price.  Returns its
    index, or -1 (book unchanged) when the side is full."""
    cdef Levels* s = ob_side(t, asks)
    cdef Py_ssize_t n = s.count, lo = 0, hi, mid
    cdef int64_t p
    if n >= OB_MAX_LEVELS:
        return -1
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        p = s.elements[mid].price
        if (price < p) if asks else (price > p):
            hi = mid
        else:
            lo = mid + 1
    memmove(&s.elements[lo + 1], &s.elements[lo], <size_t>(n - lo) * sizeof(OrderLevel))
    s.elements[lo].price = price
    s.elements[lo].size = size
    s.elements[lo].order_count = order_count
    s.elements[lo].reserved = 0
    s.count = <uint16_t>(n + 1)
    return lo


cdef inline int ob_validate(const OrderBookTLV* t, bint* asks, Py_ssize_t* index) noexcept nogil:
    """The rules of OrderBook.validate(), in the same order: OB_VALID, or the
    first OB_RULE_* broken, with its side in *asks and level in *index (for
    OB_RULE_CROSSED: the asks, level 0).  Either pointer may be NULL."""
    cdef const Levels* s
    cdef Py_ssize_t i = 0, n
    cdef int a = 0, rule = OB_VALID
    cdef int64_t price, prev = 0
    for a in range(2):
        s = ob_cside(t, a)
        n = s.count
        if n > OB_MAX_LEVELS:
            rule = OB_RULE_COUNT
            i = n
            break
        for i in range(n):
            price = s.elements[i].price
            if price <= 0:
                rule = OB_RULE_POSITIVE_PRICE
            elif s.elements[i].size <= 0:
                rule = OB_RULE_POSITIVE_SIZE
            elif i and ((price < prev) if a else (price > prev)):
                rule = OB_RULE_ASKS_ASCENDING if a else OB_RULE_BIDS_DESCENDING
            if rule != OB_VALID:
                break
            prev = price
        if rule != OB_VALID:
            break
    if rule == OB_VALID and t.bids.count and t.asks.count \
            and t.asks.elements[0].price < t.bids.elements[0].price:
        rule = OB_RULE_CROSSED
        a = 1
        i = 0
    if rule != OB_VALID:
        if asks != NULL:
            asks[0] = a
        if index != NULL:
            index[0] = i
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


cdef inline Py_ssize_t ob_encode_message(uint8_t* dst, size_t capacity, const OrderBookTLV* book,
                                         uint64_t sequence, uint64_t timestamp_ns, uint8_t source,
                                         uint8_t relay_domain, uint8_t flags) noexcept nogil:
    """Write the OB_MESSAGE_SIZE-byte message holding `book` at `dst` (any
    alignment), byte for byte what encode_message_into writes for the same
    header fields.  Returns the bytes written, or -1 (nothing written) when
    capacity < OB_MESSAGE_SIZE.  `book` may lie inside the destination."""
    return write_message(dst, capacity, book, sequence, timestamp_ns, source, relay_domain, flags)


cdef inline Py_ssize_t ob_decode_message(const uint8_t* src, size_t length, bint verify,
                                         MessageHeader* header,
                                         const OrderBookTLV** book) noexcept nogil:
    """Check the message at `src` (`length` bytes readable) as decode_message
    does - magic, version, payload_size, CRC-32 when `verify`, every TLV
    record, side counts - and point *book at its OrderBook value inside
    `src` (zero-copy; unaligned, offset OB_BOOK_OFFSET in the library's own
    messages).  Copies the header into *header.  Either pointer may be NULL.

    Returns the message's length (32 + payload_size: the offset of the next
    message in a capture), or a negative OB_E* code, outputs untouched."""
    cdef MessageHeader h
    cdef ExtendedTLVHeader ext
    cdef size_t end, pos, vlen, book_pos = 0
    cdef uint32_t crc
    cdef uint8_t typ
    cdef const OrderBookTLV* b
    if length < sizeof(MessageHeader):
        return OB_ETRUNCATED
    memcpy(&h, src, sizeof(MessageHeader))
    if h.magic != OB_HEADER_MAGIC:
        return OB_EMAGIC
    if h.version != OB_PROTOCOL_VERSION:
        return OB_EVERSION
    end = sizeof(MessageHeader) + <size_t>h.payload_size
    if end > length:
        return OB_ETRUNCATED
    if verify:
        # bytes [0, 28) then the payload: everything but the checksum field
        crc = crc32_update(0, src, sizeof(MessageHeader) - sizeof(uint32_t))
        crc = crc32_update(crc, src + sizeof(MessageHeader), h.payload_size)
        if crc != h.checksum:
            return OB_ECHECKSUM
    pos = sizeof(MessageHeader)
    while pos < end:
        typ = src[pos]
        if typ == OB_TLV_EXTENDED:
            if end - pos < sizeof(ExtendedTLVHeader):
                return OB_ERECORD
            memcpy(&ext, src + pos, sizeof(ExtendedTLVHeader))
            if ext.reserved != 0:
                return OB_ERECORD
            typ = ext.tlv_type
            vlen = ext.length
            pos += sizeof(ExtendedTLVHeader)
        else:
            if end - pos < 2 or typ == 0:
                return OB_ERECORD
            vlen = src[pos + 1]
            pos += 2
        if vlen > end - pos:
            return OB_ERECORD
        if typ == OB_TLV_ORDER_BOOK and book_pos == 0:
            if vlen != sizeof(OrderBookTLV):
                return OB_ERECORD
            book_pos = pos
        pos += vlen
    if book_pos == 0:
        return OB_EMISSING
    b = <const OrderBookTLV*>(src + book_pos)
    if b.bids.count > OB_MAX_LEVELS or b.asks.count > OB_MAX_LEVELS:
        return OB_ELAYOUT
    if header != NULL:
        memcpy(header, &h, sizeof(MessageHeader))
    if book != NULL:
        book[0] = b
    return <Py_ssize_t>end
