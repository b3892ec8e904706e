# The wire rules, each written once: checking book bytes, validation, sorted
# insertion, the spread, walking a message's TLV records and writing one.
#
# Everything here is `noexcept nogil` and touches no Python object: a function
# reports failure as a result code and fills an ob_fault with the numbers a
# message needs.  The Python API (_book.pyx, _message.pyx) turns faults into
# exceptions of orderbook.errors; the Cython API (capi.pxd) hands the codes to
# C callers.  Both therefore accept and refuse exactly the same bytes.
#
# Rules every function keeps:
# - Pointers may be unaligned (the structs are packed); whole levels move with
#   memcpy/memmove.
# - A side's count is never trusted past the layout's capacity.
# - Sizes come from the BookLayout, never from sizeof() of a capacity-128
#   struct (see structs.pxd).
# - No signed overflow; divisions carry their own cdivision and only divide
#   non-negative numbers by positive ones.

cimport cython
from libc.stdint cimport INT64_MAX, INT64_MIN, UINT64_MAX, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, memset

from orderbook.structs cimport (
    OB_HEADER_MAGIC, OB_PROTOCOL_VERSION, OB_TLV_EXTENDED, OB_TLV_ORDER_BOOK, BookLayout,
    ExtendedTLVHeaderC, LevelsC, MessageHeaderC, OrderBookHeadC, OrderBookTLVC, OrderLevelC, ob_cside,
    ob_layout_of_size, ob_side, ob_zero_side,
)


cdef enum:
    # Results.  ob_validate() returns OB_OK or the first rule broken (> 0);
    # the other functions return OB_OK or a failure (< 0).  The exception the
    # Python API raises for each is in brackets.
    OB_OK = 0
    OB_RULE_POSITIVE_PRICE = 1      # [ValidationError "positive_price"] a price <= 0
    OB_RULE_POSITIVE_SIZE = 2       # [ValidationError "positive_size"] a size <= 0
    OB_RULE_BIDS_DESCENDING = 3     # [ValidationError "bids_descending"] a bid above the one before
    OB_RULE_ASKS_ASCENDING = 4      # [ValidationError "asks_ascending"] an ask below the one before
    OB_RULE_CROSSED = 5             # [ValidationError "crossed"] best ask below best bid
    OB_RULE_COUNT = 6               # [LayoutError] a side count above the capacity
    OB_ETRUNCATED = -1              # [TruncatedError] shorter than the header or 32 + payload_size
    OB_EMAGIC = -2                  # [MagicError] magic is not 0xDEADBEEF
    OB_EVERSION = -3                # [VersionError] version is not 1
    OB_ECHECKSUM = -4               # [ChecksumError] CRC-32 mismatch
    OB_ERECORD = -5                 # [RecordError] malformed TLV record or OrderBook length
    OB_EMISSING = -6                # [MissingRecordError] no OrderBook record
    OB_ELAYOUT = -7                 # [LayoutError] side count past capacity; strict: nonzero padding
    OB_EFULL = -8                   # [CapacityError] insertion into a full side


cdef enum:
    # ob_fault.detail: which check of a result failed.
    OB_D_NONE = 0
    OB_D_HEADER = 1                 # ETRUNCATED: fewer than 32 bytes for the header
    OB_D_PAYLOAD = 2                # ETRUNCATED: payload_size runs past the buffer
    OB_D_EXT_SHORT = 3              # ERECORD: an extended TLV header cut by the payload end
    OB_D_EXT_RESERVED = 4           # ERECORD: an extended TLV's reserved byte is not 0
    OB_D_STD_SHORT = 5              # ERECORD: a standard TLV header cut by the payload end
    OB_D_TYPE0 = 6                  # ERECORD: a standard TLV of type 0
    OB_D_PAST_END = 7               # ERECORD: a value running past the payload end
    OB_D_BOOK_LENGTH = 8            # ERECORD: an OrderBook record of no known struct size
    OB_D_COUNT = 9                  # ELAYOUT / RULE_COUNT: side count above the capacity
    OB_D_HEAD_PADDING = 10          # ELAYOUT (strict): the 4 bytes before the bids
    OB_D_SIDE_PADDING = 11          # ELAYOUT (strict): a side's _padding
    OB_D_SLOT = 12                  # ELAYOUT (strict): an unused slot


cdef struct ob_fault:
    # What a failure found; which fields are set depends on code and detail.
    int code
    int detail
    bint asks               # the side, where one applies
    Py_ssize_t index        # level or slot, where one applies
    Py_ssize_t offset       # byte offset from the start of the book or message
    Py_ssize_t needed       # bytes (or the capacity) required
    Py_ssize_t available    # bytes (or levels) found
    int64_t found           # the offending value (price, byte, count, type, length)
    int64_t other           # the value it was compared with (previous price, checksum)


ctypedef uint32_t (*ob_crc_fn)(uint32_t crc, const uint8_t* buf, size_t length) noexcept nogil


cdef inline int ob_fail(ob_fault* f, int code, int detail, bint asks, Py_ssize_t index,
                        Py_ssize_t offset, int64_t found) noexcept nogil:
    f.code = code
    f.detail = detail
    f.asks = asks
    f.index = index
    f.offset = offset
    f.found = found
    return code


# --- book bytes -------------------------------------------------------------------

@cython.cdivision(True)
cdef inline int ob_check_book(const OrderBookHeadC* t, const BookLayout* L, bint strict,
                              ob_fault* f) noexcept nogil:
    """Counts within the capacity; with `strict` also zero padding and unused
    slots.  Checks in byte order, so a fault names the first bad byte."""
    cdef const uint8_t* raw = <const uint8_t*>t
    cdef const LevelsC* s
    cdef Py_ssize_t i, base, c, start
    cdef int a
    if strict:
        for i in range(<Py_ssize_t>sizeof(t._padding)):
            if t._padding[i]:
                return ob_fail(f, OB_ELAYOUT, OB_D_HEAD_PADDING, False, -1,
                               <const uint8_t*>&t._padding[i] - raw, t._padding[i])
    for a in range(2):
        s = ob_cside(t, L, a)
        base = <const uint8_t*>s - raw
        c = s.count
        if c > L.capacity:
            f.needed = L.capacity
            return ob_fail(f, OB_ELAYOUT, OB_D_COUNT, a, -1, base, c)
        if strict:
            for i in range(<Py_ssize_t>sizeof(s._padding)):
                if s._padding[i]:
                    return ob_fail(f, OB_ELAYOUT, OB_D_SIDE_PADDING, a, -1,
                                   <const uint8_t*>&s._padding[i] - raw, s._padding[i])
            start = <const uint8_t*>&s.elements[c] - raw
            for i in range(start, base + L.side_size):
                if raw[i]:
                    f.available = c
                    return ob_fail(f, OB_ELAYOUT, OB_D_SLOT, a,
                                   (i - start) // sizeof(OrderLevelC) + c, i, raw[i])
    return OB_OK


cdef inline Py_ssize_t ob_count(const OrderBookHeadC* t, const BookLayout* L, bint asks) noexcept nogil:
    """Levels in use on a side, clamped to the capacity: always a safe loop bound."""
    cdef Py_ssize_t n = ob_cside(t, L, asks).count
    return n if n <= L.capacity else L.capacity


cdef inline void ob_copy_book(void* dst, const void* src, const BookLayout* L) noexcept nogil:
    """Copy a book of layout L as the library writes books: every padding byte
    and unused slot zero, whatever the source holds there (a Rust struct
    literal leaves padding uninitialised).  The two may overlap.  The
    source's counts must have been checked (they are clamped regardless)."""
    cdef OrderBookHeadC* t = <OrderBookHeadC*>dst
    cdef LevelsC* d
    cdef Py_ssize_t n
    cdef int a
    # one move of the whole book, then the padding and unused slots of the copy
    # zeroed: as fast as a plain copy for a full book
    memmove(dst, src, L.book_size)
    memset(&t._padding[0], 0, sizeof(t._padding))
    for a in range(2):
        d = ob_side(t, L, a)
        memset(&d._padding[0], 0, sizeof(d._padding))
        n = d.count if d.count <= L.capacity else L.capacity
        if n < L.capacity:
            memset(&d.elements[n], 0, <size_t>(L.capacity - n) * sizeof(OrderLevelC))


cdef inline void ob_clear(OrderBookHeadC* t, const BookLayout* L) noexcept nogil:
    """Empty both sides: counts 0, every slot and padding byte zeroed."""
    ob_zero_side(ob_side(t, L, False), L)
    ob_zero_side(ob_side(t, L, True), L)


# --- rules ----------------------------------------------------------------------------

cdef inline bint ob_worse(bint asks, int64_t prev, int64_t price) noexcept nogil:
    """True when `price` may not follow `prev` on this side (best first)."""
    return price < prev if asks else price > prev


cdef inline int ob_validate(const OrderBookHeadC* t, const BookLayout* L, ob_fault* f) noexcept nogil:
    """upstream's validate(), checked in upstream's order so that the first
    rule broken is the one upstream reports: bids descending, asks ascending,
    bid prices and sizes > 0, the same for asks, best ask not below best bid.
    OB_OK, or the rule with side, level, value and the compared value."""
    cdef const LevelsC* s
    cdef const LevelsC* b
    cdef Py_ssize_t i, n
    cdef int a
    for a in range(2):
        s = ob_cside(t, L, a)
        if s.count > L.capacity:
            f.needed = L.capacity
            return ob_fail(f, OB_RULE_COUNT, OB_D_COUNT, a, -1, <const char*>s - <const char*>t, s.count)
    for a in range(2):
        s = ob_cside(t, L, a)
        for i in range(1, s.count):
            if ob_worse(a, s.elements[i - 1].price, s.elements[i].price):
                f.other = s.elements[i - 1].price
                return ob_fail(f, OB_RULE_ASKS_ASCENDING if a else OB_RULE_BIDS_DESCENDING, OB_D_NONE,
                               a, i, -1, s.elements[i].price)
    for a in range(2):
        s = ob_cside(t, L, a)
        for i in range(s.count):
            if s.elements[i].price <= 0:
                return ob_fail(f, OB_RULE_POSITIVE_PRICE, OB_D_NONE, a, i, -1, s.elements[i].price)
            if s.elements[i].size <= 0:
                return ob_fail(f, OB_RULE_POSITIVE_SIZE, OB_D_NONE, a, i, -1, s.elements[i].size)
    b = ob_cside(t, L, False)
    s = ob_cside(t, L, True)
    if b.count and s.count and s.elements[0].price < b.elements[0].price:
        f.other = b.elements[0].price
        return ob_fail(f, OB_RULE_CROSSED, OB_D_NONE, True, 0, -1, s.elements[0].price)
    return OB_OK


cdef inline Py_ssize_t _ob_first_worse(const LevelsC* s, Py_ssize_t n, bint asks,
                                       int64_t price) noexcept nogil:
    # The index of the first level priced strictly worse than `price`, or n,
    # by binary search: on a side in order (every side validate() accepts, and
    # every side add_bid/add_ask build) this is exactly where upstream's linear
    # search puts the level, in log(n) steps instead of n.
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if ob_worse(asks, s.elements[mid].price, price):
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef inline Py_ssize_t ob_insert(OrderBookHeadC* t, const BookLayout* L, bint asks, int64_t price,
                                 int64_t size, uint32_t order_count, ob_fault* f) noexcept nogil:
    """upstream's add_bid / add_ask: the level goes before the first one whose
    price is strictly worse (bids: lower, asks: higher), so equal prices keep
    arrival order.  On a side in order that is exactly upstream's placement; on
    a side out of order (which validate() refuses) the binary search may place
    it elsewhere than upstream's linear search.  Returns its index, or OB_EFULL
    (side unchanged; f.available = the count it would have had) / OB_ELAYOUT."""
    cdef LevelsC* s = ob_side(t, L, asks)
    cdef Py_ssize_t n = s.count, i = 0
    if n > L.capacity:
        f.needed = L.capacity
        return ob_fail(f, OB_ELAYOUT, OB_D_COUNT, asks, -1, <char*>s - <char*>t, n)
    if n >= L.capacity:
        f.needed = L.capacity
        f.available = n + 1
        return ob_fail(f, OB_EFULL, OB_D_NONE, asks, n, -1, n + 1)
    i = _ob_first_worse(s, n, asks, price)
    memmove(&s.elements[i + 1], &s.elements[i], <size_t>(n - i) * sizeof(OrderLevelC))
    s.elements[i].price = price
    s.elements[i].size = size
    s.elements[i].order_count = order_count
    s.elements[i].reserved = 0
    s.count = <uint16_t>(n + 1)
    return i


@cython.cdivision(True)
cdef inline int64_t ob_trunc_mid(int64_t a, int64_t b) noexcept nogil:
    """(a + b) / 2 truncated toward zero, exact for all int64 and overflow-free:
    floor(a/2) + floor(b/2) + (both odd), then floor -> trunc for a negative
    odd sum.  (x - (x & 1)) is even, so its division by 2 is exact."""
    cdef int64_t m = (a - (a & 1)) // 2 + (b - (b & 1)) // 2 + (a & b & 1)
    if m < 0 and ((a ^ b) & 1):
        m += 1
    return m


@cython.cdivision(True)
cdef inline int ob_spread_bps(const OrderBookHeadC* t, const BookLayout* L, int64_t* out) noexcept nogil:
    """upstream's spread_bps, ``(ask - bid) * 10000 / ((bid + ask) / 2)`` with
    both divisions truncating toward zero, computed exactly (the 128-bit
    product in 64-bit halves).  1 with *out set; 0 when there is no spread (a
    side is empty or the mid is not positive); -1 when the exact result does
    not fit in int64 (|ask - bid| above about 9.2e14 with a mid near 1)."""
    cdef const LevelsC* sb = ob_cside(t, L, False)
    cdef const LevelsC* sa = ob_cside(t, L, True)
    cdef int64_t bid, ask, mid
    cdef uint64_t d, mag, q, a, b, hi, lo, r
    cdef bint neg
    cdef int i
    if sb.count == 0 or sa.count == 0:
        return 0
    bid = sb.elements[0].price
    ask = sa.elements[0].price
    mid = ob_trunc_mid(bid, ask)
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


# --- messages -------------------------------------------------------------------------

cdef inline uint32_t ob_message_crc(const uint8_t* msg, uint32_t payload_size, ob_crc_fn crc) noexcept nogil:
    """The header's checksum: CRC-32 over bytes [0, 28) then the payload."""
    cdef uint32_t c = crc(0, msg, sizeof(MessageHeaderC) - sizeof(uint32_t))
    return crc(c, msg + sizeof(MessageHeaderC), payload_size)


cdef inline Py_ssize_t ob_parse_message(const uint8_t* p, Py_ssize_t avail, bint verify, ob_crc_fn crc,
                                        MessageHeaderC* h, BookLayout* L, ob_fault* f) noexcept nogil:
    """Check the message at p (`avail` bytes readable): magic, version,
    payload_size, the CRC-32 when `verify`, every TLV record (unknown types
    skipped, the first OrderBook record's length giving the capacity), the
    book's side counts.  Returns the offset of the book inside the message,
    with *h and *L filled, or a failure (< 0)."""
    cdef Py_ssize_t end, pos, rec, vlen, book_pos = -1
    cdef uint8_t typ
    cdef uint32_t found
    cdef ExtendedTLVHeaderC ext
    if avail < <Py_ssize_t>sizeof(MessageHeaderC):
        f.needed = sizeof(MessageHeaderC)
        f.available = avail if avail > 0 else 0
        return ob_fail(f, OB_ETRUNCATED, OB_D_HEADER, False, -1, 0, 0)
    memcpy(h, p, sizeof(MessageHeaderC))
    if h.magic != OB_HEADER_MAGIC:
        return ob_fail(f, OB_EMAGIC, OB_D_NONE, False, -1, 0, h.magic)
    if h.version != OB_PROTOCOL_VERSION:
        return ob_fail(f, OB_EVERSION, OB_D_NONE, False, -1, <char*>&h.version - <char*>h, h.version)
    end = sizeof(MessageHeaderC) + <Py_ssize_t>h.payload_size
    if end > avail:
        f.needed = end
        f.available = avail
        return ob_fail(f, OB_ETRUNCATED, OB_D_PAYLOAD, False, -1,
                       <char*>&h.payload_size - <char*>h, h.payload_size)
    if verify:
        found = ob_message_crc(p, h.payload_size, crc)
        if found != h.checksum:
            f.other = h.checksum
            return ob_fail(f, OB_ECHECKSUM, OB_D_NONE, False, -1, 0, found)
    pos = sizeof(MessageHeaderC)
    while pos < end:
        rec = pos
        typ = p[pos]
        if typ == OB_TLV_EXTENDED:
            if end - pos < <Py_ssize_t>sizeof(ExtendedTLVHeaderC):
                f.needed = sizeof(ExtendedTLVHeaderC)
                f.available = end - pos
                return ob_fail(f, OB_ERECORD, OB_D_EXT_SHORT, False, -1, rec, typ)
            memcpy(&ext, p + pos, sizeof(ExtendedTLVHeaderC))
            if ext.reserved != 0:
                return ob_fail(f, OB_ERECORD, OB_D_EXT_RESERVED, False, -1, rec, ext.reserved)
            typ = ext.tlv_type
            vlen = ext.length
            pos += sizeof(ExtendedTLVHeaderC)
        else:
            if end - pos < 2:
                f.needed = 2
                f.available = end - pos
                return ob_fail(f, OB_ERECORD, OB_D_STD_SHORT, False, -1, rec, typ)
            if typ == 0:
                return ob_fail(f, OB_ERECORD, OB_D_TYPE0, False, -1, rec, typ)
            vlen = p[pos + 1]
            pos += 2
        if vlen > end - pos:
            f.needed = vlen
            f.available = end - pos
            f.other = end
            return ob_fail(f, OB_ERECORD, OB_D_PAST_END, False, -1, rec, typ)
        if typ == OB_TLV_ORDER_BOOK and book_pos < 0:
            if not ob_layout_of_size(vlen, L):
                return ob_fail(f, OB_ERECORD, OB_D_BOOK_LENGTH, False, -1, pos, vlen)
            book_pos = pos
        pos += vlen
    if book_pos < 0:
        return ob_fail(f, OB_EMISSING, OB_D_NONE, False, -1, 0, 0)
    if ob_check_book(<const OrderBookHeadC*>(p + book_pos), L, False, f) != OB_OK:
        f.offset += book_pos
        return f.code
    return book_pos


cdef inline void ob_fill_header(MessageHeaderC* h, const BookLayout* L, uint64_t sequence,
                                uint64_t timestamp_ns, uint8_t source, uint8_t relay_domain,
                                uint8_t flags) noexcept nogil:
    """The header of a message holding one book of layout L (checksum 0)."""
    h.magic = OB_HEADER_MAGIC
    h.relay_domain = relay_domain
    h.version = OB_PROTOCOL_VERSION
    h.source = source
    h.flags = flags
    h.sequence = sequence
    h.timestamp = timestamp_ns
    h.payload_size = <uint32_t>(sizeof(ExtendedTLVHeaderC) + L.book_size)
    h.checksum = 0


cdef inline Py_ssize_t ob_write_message(uint8_t* dst, MessageHeaderC* h, const OrderBookHeadC* book,
                                        const BookLayout* L, ob_crc_fn crc) noexcept nogil:
    """Write header h (from ob_fill_header), one extended OrderBook record and
    the book at dst (any alignment); sets h.checksum.  `book` may lie inside
    the destination.  Returns the bytes written: 32 + 5 + the book's size."""
    cdef ExtendedTLVHeaderC ext
    cdef Py_ssize_t head = sizeof(MessageHeaderC) + sizeof(ExtendedTLVHeaderC)
    ext.marker = OB_TLV_EXTENDED
    ext.reserved = 0
    ext.tlv_type = OB_TLV_ORDER_BOOK
    ext.length = <uint16_t>L.book_size
    # the book first (it may be a view into this very buffer), as the library
    # writes books: padding and unused slots zero
    ob_copy_book(dst + head, book, L)
    memcpy(dst + sizeof(MessageHeaderC), &ext, sizeof(ExtendedTLVHeaderC))
    h.checksum = 0
    memcpy(dst, h, sizeof(MessageHeaderC))
    h.checksum = ob_message_crc(dst, h.payload_size, crc)
    memcpy(dst + sizeof(MessageHeaderC) - sizeof(uint32_t), &h.checksum, sizeof(uint32_t))
    return head + L.book_size
