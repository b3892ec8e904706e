# The side views of a book, for `cimport` by other extensions.

from orderbook._book cimport OrderBook
from orderbook.structs cimport LevelsC


cdef class Levels:
    # One side of a book: a sequence of OrderLevel values and a buffer exporter
    # (PEP 3118 struct format, shape (count,)) over the book's own memory.
    cdef readonly OrderBook book
    cdef bint _asks
    cdef LevelsC* side(self) except NULL
    cdef Py_ssize_t count(self) except -1
    cdef list _slice(self, object key)


cdef Levels make_levels(OrderBook book, bint asks)
