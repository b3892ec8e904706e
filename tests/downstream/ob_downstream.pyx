# A strategy-engine-sized user of orderbook's C API: it reads and writes books
# in C, with the GIL released, through the public .pxd files only.

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer

cimport orderbook
cimport orderbook as cob
cimport orderbook.capi as ob
from orderbook cimport MessageHeaderC, OrderBook, OrderBookTLV, OrderLevel
from orderbook.capi cimport ob_best_ask, ob_best_bid, ob_spread_bps


cdef tuple _level(OrderLevel* lv):
    return (lv.price, lv.size, lv.order_count, lv.reserved)


def constants():
    """The C constants, to compare with the Python ones."""
    return {
        "MAX_ORDER_LEVELS": orderbook.OB_MAX_LEVELS,
        "ORDER_LEVEL_SIZE": sizeof(OrderLevel),
        "ORDER_BOOK_SIZE": sizeof(OrderBookTLV),
        "HEADER_SIZE": sizeof(MessageHeaderC),
        "MESSAGE_SIZE": ob.OB_MESSAGE_SIZE,
        "BOOK_OFFSET": ob.OB_BOOK_OFFSET,
        "TLV_ORDER_BOOK": orderbook.OB_TLV_ORDER_BOOK,
    }


def top(OrderBook book not None):
    """Best bid, best ask, mid and spread, all read with the GIL released."""
    cdef const OrderBookTLV* t = book.tlv()
    cdef OrderLevel bid, ask
    cdef int64_t mid = 0, bps = 0
    cdef bint has_bid, has_ask, has_mid
    cdef int spread
    with nogil:
        has_bid = ob.ob_best_bid(t, &bid)
        has_ask = orderbook.ob_best_ask(t, &ask)       # the same helpers through `cimport orderbook`
        has_mid = ob.ob_mid_price(t, &mid)
        spread = ob.ob_spread_bps(t, &bps)
    return (_level(&bid) if has_bid else None, _level(&ask) if has_ask else None,
            mid if has_mid else None, bps if spread == 1 else (None if spread == 0 else "overflow"))


def levels(OrderBook book not None, bint asks):
    """Every level of a side through ob_count / ob_level_at."""
    cdef const OrderBookTLV* t = book.tlv()
    cdef Py_ssize_t i, n = ob.ob_count(t, asks)
    cdef OrderLevel lv
    out = []
    for i in range(n):
        ob.ob_level_at(t, asks, i, &lv)
        out.append(_level(&lv))
    return out


def level_at(OrderBook book not None, bint asks, Py_ssize_t i):
    cdef OrderLevel lv
    if not ob.ob_level_at(book.tlv(), asks, i, &lv):
        return None
    return _level(&lv)


def total_size(OrderBook book not None, bint asks):
    """Sum of a side's sizes in a nogil loop."""
    cdef const OrderBookTLV* t = book.tlv()
    cdef Py_ssize_t i
    cdef int64_t total = 0
    cdef OrderLevel lv
    with nogil:
        for i in range(ob.ob_count(t, asks)):
            ob.ob_level_at(t, asks, i, &lv)
            total += lv.size
    return total


def spread_of(int64_t bid, int64_t ask):
    """ob_spread_bps / ob_mid_price for one bid and one ask, on a stack struct."""
    cdef OrderBookTLV t
    cdef int64_t bps = 0, mid = 0
    cdef int r
    ob.ob_clear(&t)
    ob.ob_push_level(&t, ob.OB_BIDS, bid, 1, 0)
    ob.ob_push_level(&t, ob.OB_ASKS, ask, 1, 0)
    with nogil:
        r = ob.ob_spread_bps(&t, &bps)
        ob.ob_mid_price(&t, &mid)
    return (bps if r == 1 else (None if r == 0 else "overflow")), mid


def write_book(OrderBook book not None, bids, asks, uint64_t sequence):
    """Rebuild a book in C: clear, sorted inserts for bids (any order), appends
    for asks (given best first), header fields set on the struct."""
    cdef OrderBookTLV* t = book.mut()          # raises ReadOnlyError / ReleasedError
    cdef Py_ssize_t i, n
    cdef int64_t p, s
    cdef list placed = []
    ob.ob_clear(t)
    t.sequence = sequence
    for p, s in bids:
        placed.append(ob.ob_insert_level(t, ob.OB_BIDS, p, s, 1))
    for p, s in asks:
        placed.append(ob.ob_push_level(t, ob.OB_ASKS, p, s, 2))
    return placed


def insert(OrderBook book not None, bint asks, int64_t price, int64_t size, uint32_t count):
    cdef OrderBookTLV* t = book.mut()
    cdef Py_ssize_t at
    with nogil:
        at = ob.ob_insert_level(t, asks, price, size, count)
    return at


def set_side(OrderBook book not None, bint asks, levels, n=None):
    """ob_set_side from a C array built from (price, size, count) tuples; `n`
    overrides the count passed (to test the range check)."""
    cdef OrderLevel buf[orderbook.OB_MAX_LEVELS + 1]
    cdef Py_ssize_t i = 0
    for price, size, count in levels:
        if i > orderbook.OB_MAX_LEVELS:
            raise ValueError("at most OB_MAX_LEVELS + 1 levels")
        buf[i].price = price
        buf[i].size = size
        buf[i].order_count = count
        buf[i].reserved = 0
        i += 1
    return ob.ob_set_side(book.mut(), asks, buf, i if n is None else n)


def clear_side(OrderBook book not None, bint asks):
    ob.ob_clear_side(book.mut(), asks)


def validate(OrderBook book not None):
    cdef bint asks = False
    cdef Py_ssize_t index = -1
    cdef int rule = ob.ob_validate(book.tlv(), &asks, &index)
    return (rule, asks, index)


RULES = {
    ob.OB_VALID: None,
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
}


def encode_into(buffer, Py_ssize_t offset, OrderBook book not None, uint64_t sequence,
                uint64_t timestamp_ns, uint8_t source=0, uint8_t relay_domain=0, uint8_t flags=0):
    """ob_encode_message into a writable buffer at offset, with the GIL released."""
    cdef Py_buffer b
    cdef Py_ssize_t n
    cdef const OrderBookTLV* t = book.tlv()
    PyObject_GetBuffer(buffer, &b, PyBUF_WRITABLE)
    try:
        if offset < 0 or offset > b.len:
            raise IndexError(offset)
        with nogil:
            n = ob.ob_encode_message(<uint8_t*>b.buf + offset, <size_t>(b.len - offset), t,
                                     sequence, timestamp_ns, source, relay_domain, flags)
    finally:
        PyBuffer_Release(&b)
    return n


def now_ns():
    return ob.ob_now_ns()


def decode(data, bint verify=True):
    """ob_decode_message: (length or error code, header fields, book offset, book copy)."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    cdef const OrderBookTLV* t = NULL
    cdef Py_ssize_t n
    cdef OrderBook copy
    PyObject_GetBuffer(data, &b, PyBUF_SIMPLE)
    try:
        with nogil:
            n = ob.ob_decode_message(<const uint8_t*>b.buf, <size_t>b.len, verify, &h, &t)
        if n < 0:
            return n, None, None, None
        copy = OrderBook()
        copy.mut()[0] = t[0]                    # struct copy into the owned storage
        return (n, (h.magic, h.relay_domain, h.version, h.source, h.flags, h.sequence,
                    h.timestamp, h.payload_size, h.checksum),
                <const char*>t - <const char*>b.buf, copy)
    finally:
        PyBuffer_Release(&b)


def crc(data, uint32_t value=0):
    cdef const unsigned char[:] v = data
    return ob.ob_crc32(value, &v[0] if v.shape[0] else NULL, <size_t>v.shape[0])


def header_of(orderbook_message):
    """A decoded Message's header struct and book pointer, reached in C."""
    cdef orderbook.Message m = orderbook_message
    cdef MessageHeaderC* h = &m.header.h
    return (h.sequence, h.timestamp, h.source, m.book.tlv().sequence)


# --- the examples of docs/cython.md, verbatim (tests/test_typing.py checks) ---------

def quote(OrderBook book not None):
    cdef const OrderBookTLV* t = book.tlv()
    cdef OrderLevel bid, ask
    cdef int64_t bps = 0
    cdef bint ok
    with nogil:
        ok = ob_best_bid(t, &bid) and ob_best_ask(t, &ask) and ob_spread_bps(t, &bps) == 1
    return (bid.price, ask.price, bps) if ok else None


def best_bids(capture):
    """The best bid of every message of a capture, decoded in C."""
    cdef Py_buffer b
    cdef const uint8_t* p
    cdef const cob.OrderBookTLV* t
    cdef cob.OrderLevel lv
    cdef Py_ssize_t pos = 0, n
    out = []
    PyObject_GetBuffer(capture, &b, PyBUF_SIMPLE)
    try:
        p = <const uint8_t*>b.buf
        while pos < b.len:
            with nogil:
                n = cob.ob_decode_message(p + pos, <size_t>(b.len - pos), True, NULL, &t)
            if n < 0:
                raise ValueError(f"bad message at offset {pos}: error {n}")
            out.append(lv.price if cob.ob_best_bid(t, &lv) else None)
            pos += n
    finally:
        PyBuffer_Release(&b)
    return out
