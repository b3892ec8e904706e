# The OrderBook class and its side views, for `cimport` by other extensions.

from cpython.buffer cimport Py_buffer
from libc.stdint cimport int64_t, uint32_t

from orderbook._core cimport ob_fault
from orderbook.structs cimport BookLayout, LevelsC, OrderBookHeadC


cdef class OrderBook:
    # The struct lives either in `_own` (heap storage owned by the object,
    # allocated on first use at the largest capacity's size, 16-aligned) or in
    # a caller's buffer (a view).  Keeping it out of the object makes a view a
    # small object: no 6,200 bytes allocated and zeroed only to be ignored.
    cdef OrderBookHeadC* _p        # _own, a foreign buffer, or NULL (not yet / released)
    cdef OrderBookHeadC* _own
    cdef Py_buffer _src            # held while viewing a foreign buffer
    cdef BookLayout _lay           # this book's capacity and sizes
    cdef bint _viewing
    cdef bint _readonly
    cdef bint _released
    cdef bint _release_pending     # a `with` block ended in an exception while exported
    cdef Py_ssize_t _exports       # live buffer exports of our memory (book or sides)
    cdef Py_ssize_t _pins          # running calls that hold a pointer across Python code
    cdef object __weakref__

    # C API.  tlv()/mut(): the struct's start, readable / writable (they raise
    # when released / read-only); side(): one side; layout(): the sizes.
    # pin()/unpin(): while pinned, release(), rebind() and capacity changes
    # refuse with ExportError, so a pointer taken after pin() stays valid
    # across Python code until unpin().
    cdef OrderBookHeadC* tlv(self) except NULL
    cdef OrderBookHeadC* mut(self) except NULL
    cdef LevelsC* side(self, bint asks) except NULL
    cdef OrderBookHeadC* checked(self, object what) except NULL     # tlv(), counts checked
    cdef const BookLayout* layout(self) noexcept
    cdef void pin(self) noexcept
    cdef void unpin(self) noexcept
    cdef int _refuse_move(self, object action) except -1
    cdef void export_released(self) noexcept
    cdef int set_layout(self, const BookLayout* L) except -1
    cdef int load(self, const char* data, const BookLayout* L, bint strict, object what) except -1
    cdef int attach(self, object buffer, Py_ssize_t offset, const BookLayout* L, bint strict, object what) except -1
    cdef int detach(self) except -1
    cdef int fill_side(self, bint asks, object levels, bint truncate) except -1
    cdef int insert_level(self, bint asks, int64_t price, int64_t size, uint32_t order_count) except -1


# Shared with the other modules.
cdef int raise_fault(const ob_fault* f, Py_ssize_t base, object what) except -1
# A side's count, never trusted past the capacity (LayoutError).
cdef Py_ssize_t count_of(const LevelsC* side, const BookLayout* L, bint asks) except -1
