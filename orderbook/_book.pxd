# The OrderBook class and its side views, for `cimport` by other extensions.

from cpython.buffer cimport Py_buffer
from libc.stdint cimport int64_t, uint64_t

from orderbook.structs cimport Levels as LevelsC, OrderBookTLV, OrderLevel


cdef class OrderBook:
    # The struct lives either in `_own` (heap storage owned by the object,
    # allocated on first use, 16-aligned) or in a caller's buffer (a view).
    # Keeping it out of the object makes a view a small object: no 6,200 bytes
    # allocated and zeroed only to be ignored.
    cdef OrderBookTLV* _p          # _own, a foreign buffer, or NULL (not yet / released)
    cdef OrderBookTLV* _own
    cdef Py_buffer _src            # held while viewing a foreign buffer
    cdef bint _viewing
    cdef bint _readonly
    cdef bint _released
    cdef Py_ssize_t _exports       # live buffer exports of our memory (book or sides)
    cdef object __weakref__

    cdef OrderBookTLV* _storage(self, bint zero) except NULL

    # C API: readable / writable struct pointers (raise when released / read-only).
    cdef OrderBookTLV* tlv(self) except NULL
    cdef OrderBookTLV* mut(self) except NULL
    cdef int load(self, const char* data, Py_ssize_t length, bint strict) except -1
    cdef int attach(self, object buffer, Py_ssize_t offset, bint strict) except -1
    cdef int detach(self) except -1
    cdef int fill_side(self, bint asks, object levels, bint truncate) except -1
    cdef int insert_level(self, bint asks, int64_t price, int64_t size, object order_count) except -1


cdef class Levels:
    # One side of a book: a sequence of OrderLevel values and a buffer exporter
    # (PEP 3118 struct format, shape (count,)) over the book's own memory.
    cdef readonly OrderBook book
    cdef bint _asks
    cdef LevelsC* side(self) except NULL


# Shared with the message codec.
cdef int check_book(const OrderBookTLV* t, bint strict) except -1
cdef int _get_span(object buffer, Py_ssize_t offset, Py_ssize_t need, int flags, Py_buffer* b,
                   object what) except -1
cdef Py_ssize_t _offset(object offset, object what) except -1
cdef int _start_side(LevelsC* dst, Py_ssize_t total, bint asks, bint truncate) except -1
cdef int _as_i64(object v, object side, Py_ssize_t index, object field, int64_t* out) except -1
cdef int _as_u64(object v, uint64_t maxv, object side, Py_ssize_t index, object field,
                 uint64_t* out) except -1
