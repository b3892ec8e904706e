# A strategy-engine-sized user of orderbook's C API: it reads and writes books
# of both capacities (128 and 50 slots per side) in C, with the GIL released,
# through the public .pxd files only.  Every function takes a book of either
# capacity and works on its OrderBookHeadC* with its BookLayout: one code path.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer

cimport orderbook
cimport orderbook as cob
cimport orderbook.capi as ob
from orderbook cimport (
    BookLayout, Levels50C, LevelsC, MessageHeaderC, OrderBook, OrderBookHeadC, OrderBookTLV50C,
    OrderBookTLVC, OrderLevelC, ExtendedTLVHeaderC, ob_cside, ob_layout, ob_layout_of_size, ob_side,
)
from orderbook.capi cimport ob_best_ask, ob_best_bid, ob_spread_bps


cdef tuple _level(const OrderLevelC* lv):
    return (lv.price, lv.size, lv.order_count, lv.reserved)


cdef BookLayout _layout(Py_ssize_t capacity) except *:
    cdef BookLayout L
    if not ob_layout(capacity, &L):
        raise ValueError(f"no book has {capacity} slots per side")
    return L


cdef tuple _layout_tuple(const BookLayout* L):
    return (L.capacity, L.side_size, L.book_size, L.asks_offset, ob.ob_message_size(L))


cdef object _spread(int r, int64_t bps):
    return bps if r == 1 else (None if r == 0 else "overflow")


# --- constants and layouts ------------------------------------------------------------

def constants():
    """The C constants and both layouts, to compare with the Python ones."""
    cdef BookLayout L
    cdef Py_ssize_t size
    layouts = {}
    for cap in (cob.OB_MAX_LEVELS, cob.OB_UPSTREAM_LEVELS):
        L = _layout(cap)
        layouts[cap] = _layout_tuple(&L)
    # ob_layout refuses every other capacity and leaves its output untouched
    L.capacity = -7
    refused = [c for c in (-1, 0, 1, 49, 51, 64, 127, 129, 256) if ob_layout(c, &L)]
    assert L.capacity == -7
    of_size = {}
    for size in (0, 40, 1208, 2455, 2456, 2457, 3080, 6199, 6200, 6201, 6237):
        of_size[size] = L.capacity if ob_layout_of_size(size, &L) else None
    return {
        "MAX_ORDER_LEVELS": cob.OB_MAX_LEVELS,
        "UPSTREAM_LEVELS": cob.OB_UPSTREAM_LEVELS,
        "ORDER_LEVEL_SIZE": ob.OB_ORDER_LEVEL_SIZE,
        "HEADER_SIZE": ob.OB_HEADER_SIZE,
        "BOOK_OFFSET": ob.OB_BOOK_OFFSET,
        "TLV_ORDER_BOOK": cob.OB_TLV_ORDER_BOOK,
        "TLV_EXTENDED": cob.OB_TLV_EXTENDED,
        "HEADER_MAGIC": cob.OB_HEADER_MAGIC,
        "PROTOCOL_VERSION": cob.OB_PROTOCOL_VERSION,
        "BIDS_ASKS": (ob.OB_BIDS, ob.OB_ASKS),
        "sizeof": {
            "OrderLevelC": sizeof(OrderLevelC), "LevelsC": sizeof(LevelsC),
            "Levels50C": sizeof(Levels50C), "OrderBookHeadC": sizeof(OrderBookHeadC),
            "OrderBookTLVC": sizeof(OrderBookTLVC), "OrderBookTLV50C": sizeof(OrderBookTLV50C),
            "MessageHeaderC": sizeof(MessageHeaderC), "ExtendedTLVHeaderC": sizeof(ExtendedTLVHeaderC),
        },
        "layouts": layouts,
        "refused": refused,
        "of_size": of_size,
    }


def book_layout(OrderBook book not None):
    """The book's own BookLayout: (capacity, side_size, book_size, asks_offset, message size)."""
    return _layout_tuple(book.layout())


def head(OrderBook book not None):
    """The 40 bytes before the sides, field by field, read through OrderBookHeadC."""
    cdef const OrderBookHeadC* t = book.tlv()
    return (t.snapshot_timestamp_ns, t.sequence, t.precision_factor, t.asset_id, t.venue_id,
            t.asset_type, t.reserved, bytes([t._padding[i] for i in range(4)]))


def side_offsets(OrderBook book not None):
    """Where ob_side / ob_cside / OrderBook.side() put each side, in bytes from the book."""
    cdef OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    return ((<char*>ob_cside(t, L, False) - <char*>t, <char*>ob_cside(t, L, True) - <char*>t),
            (<char*>ob_side(t, L, False) - <char*>t, <char*>ob_side(t, L, True) - <char*>t),
            (<char*>book.side(False) - <char*>t, <char*>book.side(True) - <char*>t))


# --- reading ----------------------------------------------------------------------------

def top(OrderBook book not None):
    """Best bid, best ask, mid and spread, all read with the GIL released."""
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef OrderLevelC bid, ask
    cdef int64_t mid = 0, bps = 0
    cdef bint has_bid, has_ask, has_mid
    cdef int spread
    with nogil:
        has_bid = ob.ob_best_bid(t, L, &bid)
        has_ask = orderbook.ob_best_ask(t, L, &ask)    # the same helpers through `cimport orderbook`
        has_mid = ob.ob_mid_price(t, L, &mid)
        spread = ob.ob_spread_bps(t, L, &bps)
    return (_level(&bid) if has_bid else None, _level(&ask) if has_ask else None,
            mid if has_mid else None, _spread(spread, bps))


def levels(OrderBook book not None, bint asks):
    """Every level of a side through ob_count / ob_level_at."""
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef Py_ssize_t i, n = ob.ob_count(t, L, asks)
    cdef OrderLevelC lv
    out = []
    for i in range(n):
        ob.ob_level_at(t, L, asks, i, &lv)
        out.append(_level(&lv))
    return out


def raw_levels(OrderBook book not None, bint asks):
    """The same through the side struct: ob_cside(...).elements[i], read by value."""
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef const LevelsC* s = ob_cside(t, L, asks)
    cdef Py_ssize_t i
    return s.count, [_level(&s.elements[i]) for i in range(ob.ob_count(t, L, asks))]


def level_at(OrderBook book not None, bint asks, Py_ssize_t i):
    cdef OrderLevelC lv
    if not ob.ob_level_at(book.tlv(), book.layout(), asks, i, &lv):
        return None
    return _level(&lv)


def total_size(OrderBook book not None, bint asks):
    """Sum of a side's sizes in a nogil loop."""
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef Py_ssize_t i
    cdef int64_t total = 0
    cdef OrderLevelC lv
    with nogil:
        for i in range(ob.ob_count(t, L, asks)):
            ob.ob_level_at(t, L, asks, i, &lv)
            total += lv.size
    return total


def spread_of(int64_t bid, int64_t ask, Py_ssize_t capacity=128):
    """ob_spread_bps / ob_mid_price for one bid and one ask, on a stack struct
    of the given capacity."""
    cdef OrderBookTLVC big
    cdef OrderBookTLV50C small
    cdef BookLayout L = _layout(capacity)
    cdef OrderBookHeadC* t = &big.head if capacity == cob.OB_MAX_LEVELS else &small.head
    cdef int64_t bps = 0, mid = 0
    cdef int r
    ob.ob_clear(t, &L)
    ob.ob_push_level(t, &L, ob.OB_BIDS, bid, 1, 0)
    ob.ob_push_level(t, &L, ob.OB_ASKS, ask, 1, 0)
    with nogil:
        r = ob.ob_spread_bps(t, &L, &bps)
        ob.ob_mid_price(t, &L, &mid)
    return _spread(r, bps), mid


# --- pointers across Python code: pin() and buffer exports ----------------------------

def total_size_pinned(OrderBook book not None, bint asks, callback=None):
    """Sum a side's sizes twice, in two nogil blocks with Python code (the
    callback) between them, holding a pin: while pinned the view cannot be
    released or rebound, so the pointer taken once stays valid throughout."""
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef Py_ssize_t i
    cdef int64_t first = 0, second = 0
    cdef OrderLevelC lv
    book.pin()                      # release() / rebind() now raise ExportError
    try:
        with nogil:
            for i in range(ob.ob_count(t, L, asks)):
                ob.ob_level_at(t, L, asks, i, &lv)
                first += lv.size
        if callback is not None:
            callback(book)          # any Python code, another thread's included
        with nogil:
            for i in range(ob.ob_count(t, L, asks)):
                ob.ob_level_at(t, L, asks, i, &lv)
                second += lv.size
    finally:
        book.unpin()
    return first, second


def total_size_exported(OrderBook book not None, bint asks, callback=None):
    """The same, holding a buffer export of the book instead of a pin."""
    cdef Py_buffer v
    cdef const OrderBookHeadC* t
    cdef const BookLayout* L = book.layout()
    cdef Py_ssize_t i
    cdef int64_t total = 0
    cdef OrderLevelC lv
    PyObject_GetBuffer(book, &v, PyBUF_SIMPLE)
    try:
        t = <const OrderBookHeadC*>v.buf        # the export is the struct's memory
        if callback is not None:
            callback(book)
        with nogil:
            for i in range(ob.ob_count(t, L, asks)):
                ob.ob_level_at(t, L, asks, i, &lv)
                total += lv.size
    finally:
        PyBuffer_Release(&v)
    return total


# --- writing ----------------------------------------------------------------------------

def write_book(OrderBook book not None, bids, asks, uint64_t sequence):
    """Rebuild a book in C: clear, sorted inserts for bids (any order), appends
    for asks (given best first), header fields set on the struct."""
    cdef OrderBookHeadC* t = book.mut()         # raises ReadOnlyError / ReleasedError
    cdef const BookLayout* L = book.layout()
    cdef int64_t p, s
    cdef list placed = []
    ob.ob_clear(t, L)
    t.sequence = sequence
    for p, s in bids:
        placed.append(ob.ob_insert_level(t, L, ob.OB_BIDS, p, s, 1))
    for p, s in asks:
        placed.append(ob.ob_push_level(t, L, ob.OB_ASKS, p, s, 2))
    return placed


def insert(OrderBook book not None, bint asks, int64_t price, int64_t size, uint32_t count):
    cdef OrderBookHeadC* t = book.mut()
    cdef const BookLayout* L = book.layout()
    cdef Py_ssize_t at
    with nogil:
        at = ob.ob_insert_level(t, L, asks, price, size, count)
    return at


def push(OrderBook book not None, bint asks, int64_t price, int64_t size, uint32_t count):
    return ob.ob_push_level(book.mut(), book.layout(), asks, price, size, count)


def set_side(OrderBook book not None, bint asks, levels, n=None):
    """ob_set_side from a C array built from (price, size, count) tuples; `n`
    overrides the count passed (to test the range check)."""
    cdef OrderLevelC buf[orderbook.OB_MAX_LEVELS + 1]
    cdef Py_ssize_t i = 0
    for price, size, count in levels:
        if i > orderbook.OB_MAX_LEVELS:
            raise ValueError("at most OB_MAX_LEVELS + 1 levels")
        buf[i].price = price
        buf[i].size = size
        buf[i].order_count = count
        buf[i].reserved = 0
        i += 1
    return ob.ob_set_side(book.mut(), book.layout(), asks, buf, i if n is None else n)


def shift_side(OrderBook book not None, bint asks, Py_ssize_t start):
    """ob_set_side from the book's own levels: drop the first `start` levels."""
    cdef OrderBookHeadC* t = book.mut()
    cdef const BookLayout* L = book.layout()
    cdef LevelsC* s = ob_side(t, L, asks)
    return ob.ob_set_side(t, L, asks, &s.elements[start], ob.ob_count(t, L, asks) - start)


def clear_side(OrderBook book not None, bint asks):
    ob.ob_clear_side(book.mut(), book.layout(), asks)


def clear(OrderBook book not None):
    ob.ob_clear(book.mut(), book.layout())


def stack_book(Py_ssize_t capacity, bids, asks, uint64_t snapshot_timestamp_ns, uint64_t sequence,
               int64_t precision_factor, uint64_t asset_id, uint16_t venue_id, uint8_t asset_type,
               uint8_t reserved, uint64_t msg_sequence, uint64_t msg_timestamp):
    """Build a book on the stack - an OrderBookTLV50C at capacity 50, an
    OrderBookTLVC at 128 - by sorted insertion with the GIL released; return
    its bytes, the message ob_encode_message writes for it, and the insertion
    indexes."""
    cdef OrderBookTLV50C small
    cdef OrderBookTLVC big
    cdef BookLayout L = _layout(capacity)
    cdef OrderBookHeadC* t = <OrderBookHeadC*>&small if capacity == cob.OB_UPSTREAM_LEVELS \
        else <OrderBookHeadC*>&big
    cdef OrderLevelC lv[2 * orderbook.OB_MAX_LEVELS + 2]
    cdef bint side[2 * orderbook.OB_MAX_LEVELS + 2]
    cdef Py_ssize_t at[2 * orderbook.OB_MAX_LEVELS + 2]
    cdef uint8_t msg[6237]
    cdef Py_ssize_t i, n = 0, written
    for a, levels in ((False, bids), (True, asks)):
        for price, size, count in levels:
            if n == 2 * orderbook.OB_MAX_LEVELS + 2:
                raise ValueError("too many levels")
            side[n] = a
            lv[n].price = price
            lv[n].size = size
            lv[n].order_count = count
            n += 1
    with nogil:
        memset(t, 0xA5, L.book_size)            # garbage: ob_clear and the writers must cover it
        ob.ob_clear(t, &L)
        t.snapshot_timestamp_ns = snapshot_timestamp_ns
        t.sequence = sequence
        t.precision_factor = precision_factor
        t.asset_id = asset_id
        t.venue_id = venue_id
        t.asset_type = asset_type
        t.reserved = reserved
        for i in range(n):
            at[i] = ob.ob_insert_level(t, &L, side[i], lv[i].price, lv[i].size, lv[i].order_count)
        written = ob.ob_encode_message(msg, sizeof(msg), t, &L, msg_sequence, msg_timestamp, 0, 0, 0)
    # the head padding still holds 0xA5: the writer zeroes it (as the library writes books)
    return ((<char*>t)[:L.book_size], (<char*>msg)[:written] if written >= 0 else written,
            [at[i] for i in range(n)])


# --- validation ---------------------------------------------------------------------------

def validate(OrderBook book not None):
    cdef bint asks = False
    cdef Py_ssize_t index = -1
    cdef int rule = ob.ob_validate(book.tlv(), book.layout(), &asks, &index)
    return (rule, asks, index)


def validate_null(OrderBook book not None):
    """ob_validate with both output pointers NULL."""
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef int rule
    with nogil:
        rule = ob.ob_validate(t, L, NULL, NULL)
    return rule


RULES = {
    ob.OB_OK: None,
    ob.OB_RULE_POSITIVE_PRICE: "positive_price",
    ob.OB_RULE_POSITIVE_SIZE: "positive_size",
    ob.OB_RULE_BIDS_DESCENDING: "bids_descending",
    ob.OB_RULE_ASKS_ASCENDING: "asks_ascending",
    ob.OB_RULE_CROSSED: "crossed",
    ob.OB_RULE_COUNT: "count",
}

ERRORS = {
    ob.OB_ETRUNCATED: "TruncatedError",
    ob.OB_EMAGIC: "MagicError",
    ob.OB_EVERSION: "VersionError",
    ob.OB_ECHECKSUM: "ChecksumError",
    ob.OB_ERECORD: "RecordError",
    ob.OB_EMISSING: "MissingRecordError",
    ob.OB_ELAYOUT: "LayoutError",
    ob.OB_EFULL: "CapacityError",
}


# --- messages -----------------------------------------------------------------------------

def message_size(OrderBook book not None):
    return ob.ob_message_size(book.layout())


def encode_into(buffer, Py_ssize_t offset, OrderBook book not None, uint64_t sequence,
                uint64_t timestamp_ns, uint8_t source=0, uint8_t relay_domain=0, uint8_t flags=0):
    """ob_encode_message into a writable buffer at offset, with the GIL released."""
    cdef Py_buffer b
    cdef Py_ssize_t n
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    PyObject_GetBuffer(buffer, &b, PyBUF_WRITABLE)
    try:
        if offset < 0 or offset > b.len:
            raise IndexError(offset)
        with nogil:
            n = ob.ob_encode_message(<uint8_t*>b.buf + offset, <size_t>(b.len - offset), t, L,
                                     sequence, timestamp_ns, source, relay_domain, flags)
    finally:
        PyBuffer_Release(&b)
    return n


def now_ns():
    return ob.ob_now_ns()


def decode(data, bint verify=True):
    """ob_decode_message: (length or error code, header fields, book offset,
    capacity, a copy of the book as an OrderBook of that capacity)."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    cdef const OrderBookHeadC* t = NULL
    cdef BookLayout L
    cdef Py_ssize_t n
    cdef OrderBook copy
    PyObject_GetBuffer(data, &b, PyBUF_SIMPLE)
    try:
        with nogil:
            n = ob.ob_decode_message(<const uint8_t*>b.buf, <size_t>b.len, verify, &h, &t, &L)
        if n < 0:
            return n, None, None, None, None
        copy = OrderBook(capacity=L.capacity)
        memcpy(copy.mut(), t, L.book_size)      # into the owned storage, sized by the layout
        return (n, (h.magic, h.relay_domain, h.version, h.source, h.flags, h.sequence,
                    h.timestamp, h.payload_size, h.checksum),
                <const char*>t - <const char*>b.buf, L.capacity, copy)
    finally:
        PyBuffer_Release(&b)


def decode_null(data, bint verify=True):
    """ob_decode_message with every output pointer NULL: only the result."""
    cdef const unsigned char[:] v = data
    cdef const uint8_t* p = &v[0] if v.shape[0] else NULL
    cdef Py_ssize_t n
    with nogil:
        n = ob.ob_decode_message(p, <size_t>v.shape[0], verify, NULL, NULL, NULL)
    return n


def walk(capture, bint verify=True):
    """Every message of a capture of books of either capacity, each decoded in
    C: (offset, length, capacity, header sequence, book sequence, bid count,
    ask count, best bid price or None), and at the end (offset, error code) if
    a message is bad."""
    cdef Py_buffer b
    cdef const uint8_t* p
    cdef const OrderBookHeadC* t
    cdef MessageHeaderC h
    cdef BookLayout L
    cdef OrderLevelC lv
    cdef Py_ssize_t pos = 0, n
    out = []
    PyObject_GetBuffer(capture, &b, PyBUF_SIMPLE)
    try:
        p = <const uint8_t*>b.buf
        while pos < b.len:
            with nogil:
                n = ob.ob_decode_message(p + pos, <size_t>(b.len - pos), verify, &h, &t, &L)
            if n < 0:
                out.append((pos, n))
                break
            out.append((pos, n, L.capacity, h.sequence, t.sequence, ob.ob_count(t, &L, ob.OB_BIDS),
                        ob.ob_count(t, &L, ob.OB_ASKS),
                        lv.price if ob.ob_best_bid(t, &L, &lv) else None))
            pos += n
    finally:
        PyBuffer_Release(&b)
    return out


def capture_totals(capture):
    """A whole capture walked with the GIL released: (messages at 128, at 50,
    total bid size, total ask size, bytes consumed, first error code or 0)."""
    cdef Py_buffer b
    cdef const uint8_t* p
    cdef const OrderBookHeadC* t
    cdef BookLayout L
    cdef OrderLevelC lv
    cdef Py_ssize_t pos = 0, n = 0, i, n128 = 0, n50 = 0
    cdef int64_t sizes[2]
    cdef int a
    sizes[0] = sizes[1] = 0
    PyObject_GetBuffer(capture, &b, PyBUF_SIMPLE)
    try:
        p = <const uint8_t*>b.buf
        with nogil:
            while pos < b.len:
                n = ob.ob_decode_message(p + pos, <size_t>(b.len - pos), True, NULL, &t, &L)
                if n < 0:
                    break
                if L.capacity == cob.OB_UPSTREAM_LEVELS:
                    n50 += 1
                else:
                    n128 += 1
                for a in range(2):
                    for i in range(ob.ob_count(t, &L, a)):
                        ob.ob_level_at(t, &L, a, i, &lv)
                        sizes[a] += lv.size
                pos += n
    finally:
        PyBuffer_Release(&b)
    return n128, n50, sizes[0], sizes[1], pos, n if n < 0 else 0


def crc(data, uint32_t value=0):
    cdef const unsigned char[:] v = data
    return ob.ob_crc32(value, &v[0] if v.shape[0] else NULL, <size_t>v.shape[0])


def header_of(orderbook_message):
    """A decoded Message's header struct, book pointer and layout, reached in C."""
    cdef orderbook.Message m = orderbook_message
    cdef MessageHeaderC* h = &m.header.h
    return (h.sequence, h.timestamp, h.source, m.book.tlv().sequence, m.book.layout().capacity)


# --- the examples of docs/cython.md, verbatim (tests/test_typing.py checks) ---------

def quote(OrderBook book not None):
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef OrderLevelC bid, ask
    cdef int64_t bps = 0
    cdef bint ok
    with nogil:
        ok = ob_best_bid(t, L, &bid) and ob_best_ask(t, L, &ask) and ob_spread_bps(t, L, &bps) == 1
    return (bid.price, ask.price, bps) if ok else None


def best_bids(capture):
    """The best bid of every message of a capture, books of either capacity."""
    cdef Py_buffer b
    cdef const uint8_t* p
    cdef const cob.OrderBookHeadC* t
    cdef cob.BookLayout L
    cdef cob.OrderLevelC lv
    cdef Py_ssize_t pos = 0, n
    out = []
    PyObject_GetBuffer(capture, &b, PyBUF_SIMPLE)
    try:
        p = <const uint8_t*>b.buf
        while pos < b.len:
            with nogil:
                n = cob.ob_decode_message(p + pos, <size_t>(b.len - pos), True, NULL, &t, &L)
            if n < 0:
                raise ValueError(f"bad message at offset {pos}: error {n}")
            out.append(lv.price if cob.ob_best_bid(t, &L, &lv) else None)
            pos += n
    finally:
        PyBuffer_Release(&b)
    return out


def total_bid_size(OrderBook book not None):
    cdef const OrderBookHeadC* t = book.tlv()
    cdef const BookLayout* L = book.layout()
    cdef cob.OrderLevelC lv
    cdef int64_t total = 0
    cdef Py_ssize_t i
    book.pin()                  # until unpin(): release() and rebind() raise ExportError
    try:
        with nogil:
            for i in range(cob.ob_count(t, L, cob.OB_BIDS)):
                cob.ob_level_at(t, L, cob.OB_BIDS, i, &lv)
                total += lv.size
    finally:
        book.unpin()
    return total


def stack_message(int64_t bid, int64_t ask):
    cdef cob.OrderBookTLV50C s
    cdef cob.BookLayout L
    cdef uint8_t out[2493]
    cdef Py_ssize_t n
    cob.ob_layout(50, &L)
    memset(&s, 0, sizeof(s))
    s.head.precision_factor = 100_000_000
    with nogil:
        cob.ob_push_level(&s.head, &L, cob.OB_BIDS, bid, 1, 0)
        cob.ob_push_level(&s.head, &L, cob.OB_ASKS, ask, 1, 0)
        n = cob.ob_encode_message(out, sizeof(out), &s.head, &L, 1, cob.ob_now_ns(), 0, 0, 0)
    return (<char*>out)[:n]
