# The side views: one side of a book as a sequence of OrderLevel values and a
# buffer exporter over the book's own memory.
#
# A method that reads several levels while creating Python objects pins the
# book for its duration: creating an object may run the garbage collector,
# whose callbacks and finalizers (and other threads) could otherwise release
# or re-point the book under the loop.

cimport cython
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES, PyBUF_WRITABLE
from cpython.slice cimport PySlice_Check
from libc.stdint cimport int64_t, uint32_t

from orderbook._book cimport OrderBook, count_of
from orderbook._convert cimport as_index
from orderbook.structs cimport OB_MAX_LEVELS, LevelsC, OrderLevelC, ob_side

from orderbook.errors import FieldTypeError, LevelIndexError, OrderBookError, ReadOnlyError
from orderbook.level import OrderLevel as PyOrderLevel

cdef extern from "Python.h":
    int PySlice_Unpack(object slice, Py_ssize_t* start, Py_ssize_t* stop, Py_ssize_t* step) except -1
    Py_ssize_t PySlice_AdjustIndices(Py_ssize_t length, Py_ssize_t* start, Py_ssize_t* stop,
                                     Py_ssize_t step) noexcept

cdef extern from "src/ob_level.h":
    object ob_level_new(object type, int64_t price, int64_t size, uint32_t count, uint32_t reserved)
    object ob_level_tuple(int64_t price, int64_t size, uint32_t count, uint32_t reserved)

cdef tuple _SIDE_NAMES = ("bids", "asks")

# PEP 3118 format of one level, as a side exports it.
cdef bytes _LEVEL_FORMAT = b"T{<q:price:<q:size:<I:order_count:<I:reserved:}"
cdef const char* _LEVEL_FORMAT_C = _LEVEL_FORMAT
cdef const char* _BYTE_FORMAT_C = b"B"
LEVEL_FORMAT = _LEVEL_FORMAT.decode()

# Static shape/stride arrays handed to buffer consumers: they live as long as
# the module, so an export never points into memory that can change under it.
cdef Py_ssize_t _COUNTS[OB_MAX_LEVELS + 1]
cdef Py_ssize_t _LEVEL_STRIDE[1]
cdef Py_ssize_t _i
for _i in range(OB_MAX_LEVELS + 1):
    _COUNTS[_i] = _i
_LEVEL_STRIDE[0] = sizeof(OrderLevelC)

cdef object _frombuffer = None      # numpy.frombuffer and LEVEL_DTYPE, on first use
cdef object _level_dtype = None


cdef inline object _level_obj(const OrderLevelC* lv):
    # the fields are read into the call's arguments before anything allocates
    return ob_level_new(PyOrderLevel, lv.price, lv.size, lv.order_count, lv.reserved)


cdef Levels make_levels(OrderBook book, bint asks):
    cdef Levels s = Levels.__new__(Levels)
    s.book = book
    s._asks = asks
    return s


@cython.freelist(8)
cdef class _LevelIterator:
    """Iterates a side, re-reading the count each step (the book may change)."""
    cdef Levels levels
    cdef Py_ssize_t i

    def __iter__(self):
        return self

    def __next__(self):
        if self.levels is None:
            raise TypeError("level iterators are obtained with iter(book.bids)")
        cdef LevelsC* s = self.levels.side()
        if self.i >= self.levels.count():
            raise StopIteration
        self.i += 1
        return _level_obj(&s.elements[self.i - 1])


@cython.freelist(8)    # `book.bids` makes a fresh view each time: reuse the memory
cdef class Levels:
    """One side of a book: ``len``, indexing (negative too) and slicing to
    ``OrderLevel`` values, iteration, and the buffer protocol (PEP 3118 struct
    format, shape ``(count,)``) sharing the book's memory."""

    def __init__(self):
        raise TypeError("Levels are obtained from OrderBook.bids / OrderBook.asks")

    cdef LevelsC* side(self) except NULL:
        if self.book is None:
            raise TypeError("Levels are obtained from OrderBook.bids / OrderBook.asks")
        return self.book.side(self._asks)

    cdef Py_ssize_t count(self) except -1:
        return count_of(self.side(), self.book.layout(), self._asks)

    @property
    def name(self):
        """"bids" or "asks"."""
        return _SIDE_NAMES[self._asks]

    def __len__(self):
        return self.count()

    def __getitem__(self, key):
        cdef Py_ssize_t n, i
        cdef LevelsC* s
        if PySlice_Check(key):
            return self._slice(key)
        i = as_index(key, _SIDE_NAMES[self._asks])     # may run __index__: first
        n = self.count()
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise LevelIndexError(f"{_SIDE_NAMES[self._asks]} index {key} out of range for {n} levels")
        s = self.side()
        return _level_obj(&s.elements[i])

    cdef list _slice(self, object key):
        # The bounds are converted first (their __index__ may run anything);
        # then the book is pinned before the count is read or anything is
        # allocated (the result list may run the collector).
        cdef Py_ssize_t start = 0, stop = 0, step = 1, n, i
        cdef LevelsC* s
        cdef list out
        cdef OrderBook book = self.book
        self.side()                                  # raises for a bare Levels
        try:
            PySlice_Unpack(key, &start, &stop, &step)
        except (TypeError, ValueError) as e:
            if isinstance(e, OrderBookError):
                raise
            raise FieldTypeError(f"{_SIDE_NAMES[self._asks]}[{key.start!r}:{key.stop!r}:"
                                 f"{key.step!r}] is not a valid slice: {e}") from None
        book.pin()
        try:
            n = PySlice_AdjustIndices(self.count(), &start, &stop, step)
            out = []
            s = self.side()
            for i in range(n):
                out.append(_level_obj(&s.elements[start + i * step]))
        finally:
            book.unpin()
        return out

    def __iter__(self):
        cdef _LevelIterator it = _LevelIterator.__new__(_LevelIterator)
        it.levels = self
        return it

    def tolist(self):
        """The levels as a list of OrderLevel values (a copy)."""
        return self._slice(slice(None))

    def tuples(self):
        """The levels as a list of plain ``(price, size, order_count, reserved)``
        tuples: the fastest way to visit every level from Python, since CPython
        unpacks exact tuples on a fast path that named tuples miss."""
        cdef LevelsC* s
        cdef const OrderLevelC* lv
        cdef Py_ssize_t i, n
        cdef list out
        cdef OrderBook book = self.book
        self.side()                                  # raises for a bare Levels
        book.pin()                                   # before the list is allocated
        try:
            out = []
            s = self.side()
            n = self.count()
            for i in range(n):
                lv = &s.elements[i]
                out.append(ob_level_tuple(lv.price, lv.size, lv.order_count, lv.reserved))
        finally:
            book.unpin()
        return out

    def prices(self, scale=None):
        """The prices as a float64 numpy array, divided by ``scale`` (default the
        book's precision_factor).  See orderbook.prices."""
        from orderbook.prices import prices
        return prices(self, scale)

    def sizes(self, scale=None):
        """The sizes as a float64 numpy array (see ``prices``)."""
        from orderbook.prices import sizes
        return sizes(self, scale)

    def cumulative_depth(self, n=None, exact=True):
        """Cumulative size over the best ``n`` levels (all when None): exact
        int64 fixed point, or float64 in size units with ``exact=False``."""
        from orderbook.prices import cumulative_depth
        return cumulative_depth(self, n, exact)

    def to_numpy(self):
        """A numpy array of LEVEL_DTYPE sharing this side's memory (read-only
        when the book views read-only memory).  Far cheaper than
        ``numpy.asarray(side)``, which parses the PEP 3118 format each time."""
        global _frombuffer, _level_dtype
        if _frombuffer is None:
            from orderbook.level import level_dtype
            _level_dtype = level_dtype()          # raises the numpy-extra hint without numpy
            import numpy
            _frombuffer = numpy.frombuffer
        return _frombuffer(self, _level_dtype)

    def __eq__(self, other):
        if isinstance(other, Levels):
            return self.tolist() == other.tolist()
        try:
            return self.tolist() == [tuple(x) + (0,) * (4 - len(x)) for x in other]
        except TypeError:
            return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"<{_SIDE_NAMES[self._asks]} {self.tolist()!r}>"

    def __reduce__(self):
        return (list, (self.tolist(),))

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        cdef LevelsC* s = self.side()
        cdef Py_ssize_t n = self.count()
        cdef bint ro = self.book._readonly
        if (flags & PyBUF_WRITABLE) and ro:
            raise ReadOnlyError("this book views read-only memory; a writable buffer was requested")
        if (flags & PyBUF_ND) == PyBUF_ND:
            if not (flags & PyBUF_FORMAT):
                raise BufferError("a side exports records: request PyBUF_FORMAT with its shape")
            buffer.format = <char*>_LEVEL_FORMAT_C
            buffer.itemsize = sizeof(OrderLevelC)
            buffer.shape = &_COUNTS[n]
            buffer.strides = _LEVEL_STRIDE if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
        else:
            # a plain byte view (e.g. numpy.frombuffer): itemsize 1 by PEP 3118
            buffer.format = <char*>_BYTE_FORMAT_C if (flags & PyBUF_FORMAT) else NULL
            buffer.itemsize = 1
            buffer.shape = NULL
            buffer.strides = NULL
        buffer.buf = <void*>&s.elements[0]
        buffer.len = n * sizeof(OrderLevelC)
        buffer.readonly = ro
        buffer.ndim = 1
        buffer.suboffsets = NULL
        buffer.internal = NULL
        buffer.obj = self
        self.book._exports += 1

    def __releasebuffer__(self, Py_buffer* buffer):
        self.book.export_released()
