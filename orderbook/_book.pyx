# The OrderBook class: one OrderBookTLV of either capacity, in owned heap
# storage or viewed in place in a caller's buffer, and the Levels views over
# its two sides.
#
# Hot-path methods create no Python objects and call no allocator once warm:
# buffers are taken with PyObject_GetBuffer on C-local Py_buffer structs,
# integers are read with the C API, and error messages are only formatted on
# the error path.
#
# No pointer survives Python code: a method converts its arguments (which may
# run __index__, __iter__, buffer hooks) before it takes a pointer into the
# book, or pins the book for as long as it holds one across such code (see
# docs/design.md).

cimport cython
from cpython.buffer cimport (
    PyBUF_FORMAT, PyBUF_ND, PyBUF_SIMPLE, PyBUF_STRIDES, PyBUF_WRITABLE, PyBuffer_FillInfo,
    PyBuffer_Release,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.slice cimport PySlice_Check
from libc.stdint cimport UINT8_MAX, UINT16_MAX, UINT32_MAX, UINT64_MAX, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memmove, memset

from orderbook._convert cimport as_i64, as_index, as_offset, as_u64, get_span
from orderbook._core cimport (
    OB_D_COUNT, OB_D_HEAD_PADDING, OB_D_SIDE_PADDING, OB_D_SLOT, OB_EFULL, OB_ELAYOUT, OB_OK,
    OB_RULE_ASKS_ASCENDING, OB_RULE_BIDS_DESCENDING, OB_RULE_COUNT, OB_RULE_CROSSED,
    OB_RULE_POSITIVE_PRICE, OB_RULE_POSITIVE_SIZE, ob_check_book, ob_clear, ob_copy_book, ob_fault, ob_insert,
    ob_spread_bps, ob_validate,
)
from orderbook._fill cimport fill_levels
from orderbook._layout cimport layout_arg
from orderbook._levels cimport Levels, make_levels
from orderbook.structs cimport (
    OB_MAX_LEVELS, OB_UPSTREAM_LEVELS, BookLayout, ExtendedTLVHeaderC, Levels50C, LevelsC,
    MessageHeaderC, OrderBookHeadC, OrderBookTLV50C, OrderBookTLVC, OrderLevelC, ob_cside,
    ob_copy_side, ob_layout, ob_layout_of_size, ob_side,
)

from orderbook.errors import (
    CapacityError, ExportError, FieldTypeError, LayoutError, LevelIndexError, ReadOnlyError,
    ReleasedError, TruncatedError, ValidationError,
)
from orderbook.ids import InstrumentId, describe_instrument
from orderbook.level import OrderLevel as PyOrderLevel

cdef extern from "src/ob_level.h":
    object ob_level_new(object type, int64_t price, int64_t size, uint32_t count, uint32_t reserved)
    object ob_level_tuple(int64_t price, int64_t size, uint32_t count, uint32_t reserved)


cdef tuple _SIDE_NAMES = ("bids", "asks")
cdef str _OWN_MEMORY = ("a book cannot view its own memory (the buffer is this book, one of its "
                        "sides, or a memoryview of them)")


# --- faults to exceptions ------------------------------------------------------

cdef int raise_fault(const ob_fault* f, Py_ssize_t base, object what) except -1:
    """Raise the exception for a book fault of _core (offsets relative to the
    book, reported from `base`); `what` names the call."""
    cdef str side = _SIDE_NAMES[f.asks]
    cdef Py_ssize_t at = base + f.offset
    if f.code == OB_ELAYOUT or f.code == OB_RULE_COUNT:
        if f.detail == OB_D_COUNT:
            raise LayoutError(
                f"{what}: {side} count at byte offset {at} is {f.found}, expected at most {f.needed}")
        if f.detail == OB_D_HEAD_PADDING:
            raise LayoutError(
                f"{what}: padding byte at offset {at} is {f.found:#04x}, expected 0 (strict)")
        if f.detail == OB_D_SIDE_PADDING:
            raise LayoutError(
                f"{what}: {side} padding byte at offset {at} is {f.found:#04x}, expected 0 (strict)")
        if f.detail == OB_D_SLOT:
            raise LayoutError(
                f"{what}: {side} slot {f.index} is unused (count {f.available}) but byte offset {at} "
                f"is {f.found:#04x}, expected 0 (strict)")
    if f.code == OB_EFULL:
        raise CapacityError(f"{what}: {side} hold at most {f.needed} levels, got {f.available}",
                            f.needed, f.available)
    if f.code == OB_RULE_POSITIVE_PRICE:
        raise ValidationError(f"{side}[{f.index}].price must be > 0, got {f.found}",
                              "positive_price", side, f.index)
    if f.code == OB_RULE_POSITIVE_SIZE:
        raise ValidationError(f"{side}[{f.index}].size must be > 0, got {f.found}",
                              "positive_size", side, f.index)
    if f.code == OB_RULE_BIDS_DESCENDING or f.code == OB_RULE_ASKS_ASCENDING:
        raise ValidationError(
            f"{side}[{f.index}].price {f.found} is {'below' if f.asks else 'above'} "
            f"{side}[{f.index - 1}].price {f.other}",
            "asks_ascending" if f.asks else "bids_descending", side, f.index)
    if f.code == OB_RULE_CROSSED:
        raise ValidationError(
            f"crossed book: best ask {f.found} is below best bid {f.other}", "crossed", None, 0)
    raise SystemError(f"orderbook: unknown fault {f.code}/{f.detail}")


cdef int _raise_count(Py_ssize_t c, const BookLayout* L, bint asks) except -1:
    raise LayoutError(
        f"{_SIDE_NAMES[asks]} count is {c}, expected at most {L.capacity}: the viewed "
        "memory was changed to an invalid book after it was opened")


cdef Py_ssize_t count_of(const LevelsC* side, const BookLayout* L, bint asks) except -1:
    """A side's count, never trusted past the capacity: a view's memory can be
    rewritten by its other users after OrderBook.view() checked it."""
    cdef Py_ssize_t c = side.count
    if c > L.capacity:
        _raise_count(c, L, asks)
    return c


cdef inline object _level_obj(const OrderLevelC* lv):
    # the fields are read into the call's arguments before anything allocates
    return ob_level_new(PyOrderLevel, lv.price, lv.size, lv.order_count, lv.reserved)


def _restore(cls, data):
    """Pickle and copy support: an owning book of `cls` from its bytes (the
    length tells the capacity)."""
    cdef BookLayout L
    if not ob_layout_of_size(len(data), &L):
        raise LayoutError(
            f"a pickled OrderBook holds {sizeof(OrderBookTLVC)} or "
            f"{sizeof(OrderBookTLV50C)} bytes, got {len(data)}")
    return cls.from_bytes(data, capacity=L.capacity)


cdef str _fmt_price(int64_t value, int64_t factor):
    """Render fixed point as a decimal when the factor is a power of ten."""
    cdef int64_t f = factor
    cdef int digits = 0
    while f > 1 and f % 10 == 0:
        f //= 10
        digits += 1
    if f != 1 or digits == 0:
        return str(value)
    s = str(abs(value)).rjust(digits + 1, "0")
    return ("-" if value < 0 else "") + s[:-digits] + "." + s[-digits:]


cdef str _fmt_best(Py_ssize_t count, int64_t price, int64_t size, int64_t factor):
    if not count:
        return "None"
    return f"{_fmt_price(price, factor)} x {_fmt_price(size, factor)}"


cdef inline OrderBook _new_book(object cls, const BookLayout* L):
    # the direct tp_new call for the common case; subclasses go the generic way
    cdef OrderBook book
    if cls is OrderBook:
        book = OrderBook.__new__(OrderBook)
    else:
        book = cls.__new__(cls)
    book._lay = L[0]
    return book




# --- storage -------------------------------------------------------------------

cdef extern from *:
    """
    /* Storage of owning books: a few freed blocks are kept for the next book,
       because a 6,200-byte malloc and free (past pymalloc's small-object limit)
       cost more than filling a book.  Under AddressSanitizer none are kept, so
       that it sees every free.  Only called with the GIL held. */
    #ifndef OB_SPARE_BOOKS
    #  if defined(__SANITIZE_ADDRESS__)
    #    define OB_SPARE_BOOKS 0
    #  else
    #    define OB_SPARE_BOOKS 8
    #  endif
    #endif
    static void *ob_spare[OB_SPARE_BOOKS > 0 ? OB_SPARE_BOOKS : 1];
    static int ob_nspare = 0;
    static void *ob_storage_get(size_t size) {
        if (ob_nspare > 0)
            return ob_spare[--ob_nspare];
        return PyMem_Malloc(size);
    }
    static void ob_storage_put(void *p) {
        if (p == NULL)
            return;
        if (ob_nspare < OB_SPARE_BOOKS)
            ob_spare[ob_nspare++] = p;
        else
            PyMem_Free(p);
    }
    """
    void* ob_storage_get(size_t size) noexcept
    void ob_storage_put(void* p) noexcept


# --- the book ----------------------------------------------------------------

@cython.embedsignature(False)    # the signature is written below, in the form inspect reads
cdef class OrderBook:
    """OrderBook(bids=(), asks=(), *, snapshot_timestamp_ns=0, sequence=0, precision_factor=100000000, asset_id=0, venue_id=0, asset_type=0, reserved=0, capacity=128, truncate=False)
--

    An order book snapshot: the bytes of the Rust ``OrderBookTLV`` (6,200 at
    capacity 128, 2,456 at capacity 50).

    ``OrderBook(bids, asks, **header)`` owns its struct (on the heap);
    ``OrderBook.view(buf)`` reads and writes a caller's buffer in place.
    ``memoryview(book)`` is the struct itself; ``book.bids`` / ``book.asks``
    are zero-copy side views.
    """

    def __cinit__(self):
        # every book has a layout, even one made with OrderBook.__new__;
        # storage is allocated zeroed (the empty book) on first use
        ob_layout(OB_MAX_LEVELS, &self._lay)

    def __init__(self, bids=(), asks=(), *, snapshot_timestamp_ns=0, sequence=0,
                 precision_factor=100_000_000, asset_id=0, venue_id=0, asset_type=0,
                 reserved=0, capacity=OB_MAX_LEVELS, bint truncate=False):
        # every argument is converted before the book is touched
        cdef uint64_t ts, seq, asset, venue, atype, res
        cdef int64_t factor
        cdef BookLayout L
        cdef LevelsC tb, ta
        cdef OrderBookHeadC* t
        layout_arg(capacity, &L)
        as_u64(snapshot_timestamp_ns, UINT64_MAX, None, 0, "snapshot_timestamp_ns", &ts)
        as_u64(sequence, UINT64_MAX, None, 0, "sequence", &seq)
        as_i64(precision_factor, None, 0, "precision_factor", &factor)
        as_u64(asset_id, UINT64_MAX, None, 0, "asset_id", &asset)
        as_u64(venue_id, UINT16_MAX, None, 0, "venue_id", &venue)
        as_u64(asset_type, UINT8_MAX, None, 0, "asset_type", &atype)
        as_u64(reserved, UINT8_MAX, None, 0, "reserved", &res)
        if self._own == NULL and self._p == NULL and not self._released:
            # a new book (the usual case): its storage, allocated here and
            # never moved or freed before the book is, is filled in place (no
            # zeroing first, no copy); a bad level leaves it zeroed
            self._lay = L
            self._own = <OrderBookHeadC*>ob_storage_get(sizeof(OrderBookTLVC))
            if self._own == NULL:
                raise MemoryError()
            self._p = t = self._own
            try:
                fill_levels(ob_side(t, &L, False), &L, bids, False, truncate)
                fill_levels(ob_side(t, &L, True), &L, asks, True, truncate)
            except BaseException:
                memset(t, 0, sizeof(OrderBookTLVC))
                raise
        else:
            fill_levels(&tb, &L, bids, False, truncate)
            fill_levels(&ta, &L, asks, True, truncate)
            self.set_layout(&L)
            t = self.mut()
            ob_copy_side(ob_side(t, &L, False), &tb, &L)
            ob_copy_side(ob_side(t, &L, True), &ta, &L)
        t.snapshot_timestamp_ns = ts
        t.sequence = seq
        t.precision_factor = factor
        t.asset_id = asset
        t.venue_id = <uint16_t>venue
        t.asset_type = <uint8_t>atype
        t.reserved = <uint8_t>res
        memset(&t._padding[0], 0, sizeof(t._padding))

    def __dealloc__(self):
        if self._viewing:
            PyBuffer_Release(&self._src)
        ob_storage_put(self._own)

    # -- C API --------------------------------------------------------------

    cdef OrderBookHeadC* tlv(self) except NULL:
        if self._p != NULL:
            return self._p
        if self._released:
            raise ReleasedError("this view was released; open a new one with OrderBook.view()")
        if self._own == NULL:
            # the largest layout's size, so that the capacity can change in place
            self._own = <OrderBookHeadC*>ob_storage_get(sizeof(OrderBookTLVC))
            if self._own == NULL:
                raise MemoryError()
            memset(self._own, 0, sizeof(OrderBookTLVC))
        self._p = self._own
        return self._p

    cdef OrderBookHeadC* mut(self) except NULL:
        if self._readonly:
            raise ReadOnlyError(
                f"this book views read-only memory ({type(self._src.obj).__name__}); "
                "copy it with OrderBook.from_bytes() or view a writable buffer")
        return self.tlv()

    cdef LevelsC* side(self, bint asks) except NULL:
        return ob_side(self.tlv(), &self._lay, asks)

    cdef OrderBookHeadC* checked(self, object what) except NULL:
        """tlv(), refusing counts that a view's memory was rewritten to: bytes
        written from the book must be bytes a reader accepts."""
        cdef ob_fault f
        cdef OrderBookHeadC* t = self.tlv()
        if ob_check_book(t, &self._lay, False, &f) != OB_OK:
            raise_fault(&f, 0, what)
        return t

    cdef const BookLayout* layout(self) noexcept:
        return &self._lay

    cdef void pin(self) noexcept:
        self._pins += 1

    cdef void unpin(self) noexcept:
        self._pins -= 1

    cdef int _refuse_move(self, object action) except -1:
        if self._exports or self._pins:
            raise ExportError(
                f"cannot {action} while {self._exports} buffer export(s) of it are alive"
                if self._exports else
                f"cannot {action} while a call on it is running (from the garbage collector, "
                "a finalizer, an argument's __index__/__iter__, or another thread)")
        return 0

    cdef int set_layout(self, const BookLayout* L) except -1:
        """Give an owning book another capacity (a view's is its buffer's)."""
        if L.capacity == self._lay.capacity:
            return 0
        if self._viewing:
            raise LayoutError(
                f"this view holds a capacity-{self._lay.capacity} book; it cannot hold a "
                f"capacity-{L.capacity} one (open a new view or copy it)")
        self._refuse_move("change the capacity of this book")
        self._lay = L[0]
        return 0

    cdef int load(self, const char* data, const BookLayout* L, bint strict, object what) except -1:
        """Copy a book of layout L (an owning book takes L; a view must have it)."""
        cdef ob_fault f
        cdef OrderBookHeadC* t
        if self._p != NULL:
            self.mut()                    # read-only views refuse
        if ob_check_book(<const OrderBookHeadC*>data, L, strict, &f) != OB_OK:
            raise_fault(&f, 0, what)
        self.set_layout(L)
        # checked first, so fresh storage need not be zeroed: it is overwritten whole
        if self._p == NULL and self._own == NULL and not self._released:
            self._own = <OrderBookHeadC*>ob_storage_get(sizeof(OrderBookTLVC))
            if self._own == NULL:
                raise MemoryError()
            self._p = self._own
        ob_copy_book(self.mut(), data, L)
        return 0

    cdef int attach(self, object buffer, Py_ssize_t offset, const BookLayout* L, bint strict, object what) except -1:
        cdef Py_buffer nb
        cdef Py_ssize_t exports
        cdef ob_fault f
        self._refuse_move("re-point a view")
        if buffer is self or (isinstance(buffer, Levels) and (<Levels>buffer).book is self):
            raise ExportError(_OWN_MEMORY)
        exports = self._exports
        get_span(buffer, offset, L.book_size, PyBUF_SIMPLE, &nb, what)
        # the buffer hook may have run Python code: check again before anything changes
        if self._exports != exports or self._pins:
            own = self._exports != exports
            PyBuffer_Release(&nb)
            raise ExportError(_OWN_MEMORY if own else
                              "cannot re-point a view while a call on it is running")
        if ob_check_book(<const OrderBookHeadC*>(<char*>nb.buf + offset), L, strict, &f) != OB_OK:
            PyBuffer_Release(&nb)
            raise_fault(&f, offset, what)
        if self._viewing:
            PyBuffer_Release(&self._src)
        self._src = nb
        self._released = False
        self._release_pending = False
        self._viewing = True
        self._readonly = nb.readonly
        self._lay = L[0]
        self._p = <OrderBookHeadC*>(<char*>nb.buf + offset)
        return 0

    cdef int detach(self) except -1:
        if self._viewing:
            self._refuse_move("release a view")
            self._viewing = False
            self._readonly = False
            self._released = True
            self._p = NULL
            PyBuffer_Release(&self._src)
        return 0

    cdef int fill_side(self, bint asks, object levels, bint truncate) except -1:
        # Built in a local first: a bad level leaves the book as it was, a side
        # may be filled from a view of itself, and no pointer into the book is
        # held while the levels are read (which may run Python code).
        cdef LevelsC tmp
        fill_levels(&tmp, &self._lay, levels, asks, truncate)
        ob_copy_side(ob_side(self.mut(), &self._lay, asks), &tmp, &self._lay)
        return 0

    cdef int insert_level(self, bint asks, int64_t price, int64_t size, uint32_t order_count) except -1:
        cdef ob_fault f
        if ob_insert(self.mut(), &self._lay, asks, price, size, order_count, &f) < 0:
            raise_fault(&f, 0, "add_ask" if asks else "add_bid")
        return 0

    # -- construction and parsing --------------------------------------------

    @classmethod
    def from_bytes(cls, data, offset=0, *, capacity=OB_MAX_LEVELS, bint strict=False):
        """A new owning book copied from the book's bytes at ``offset``
        (6,200 at capacity 128, 2,456 at capacity 50)."""
        cdef BookLayout L
        cdef Py_buffer b
        layout_arg(capacity, &L)
        cdef Py_ssize_t off = as_offset(offset, "from_bytes")
        get_span(data, off, L.book_size, PyBUF_SIMPLE, &b, "from_bytes")
        try:
            book = _new_book(cls, &L)
            (<OrderBook>book).load(<const char*>b.buf + off, &L, strict, "from_bytes")
        finally:
            PyBuffer_Release(&b)
        return book

    @classmethod
    def view(cls, buffer, offset=0, *, capacity=OB_MAX_LEVELS, bint strict=False):
        """A book whose storage is the book's bytes at ``offset`` of ``buffer``
        (no copy).

        Holds the buffer until ``release()`` or collection; read-only when the
        buffer is.  Any offset works, aligned or not."""
        cdef BookLayout L
        layout_arg(capacity, &L)
        cdef Py_ssize_t off = as_offset(offset, "OrderBook.view")
        cdef OrderBook book = _new_book(cls, &L)
        book.attach(buffer, off, &L, strict, "OrderBook.view")
        return book

    def rebind(self, buffer, offset=0, *, bint strict=False):
        """Re-point this book at another buffer of the same capacity (it
        becomes a view); no allocation."""
        cdef Py_ssize_t off = as_offset(offset, "rebind")
        self.attach(buffer, off, &self._lay, strict, "rebind")

    def release(self):
        """Drop the viewed buffer now (a no-op for an owning book)."""
        self.detach()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and (self._exports or self._pins):
            # keep the user's exception: the view goes when its last export does
            self._release_pending = True
            return False
        self.detach()
        return False

    def load_from(self, buffer, offset=0, *, bint strict=False):
        """Copy the book's bytes at ``offset`` of ``buffer`` into this book (its
        own capacity)."""
        cdef Py_buffer b
        cdef Py_ssize_t off = as_offset(offset, "load_from")
        get_span(buffer, off, self._lay.book_size, PyBUF_SIMPLE, &b, "load_from")
        try:
            self.load(<const char*>b.buf + off, &self._lay, strict, "load_from")
        finally:
            PyBuffer_Release(&b)

    def pack_into(self, buffer, offset=0):
        """Write the book's bytes into a writable ``buffer`` at ``offset``."""
        cdef Py_buffer b
        cdef Py_ssize_t off = as_offset(offset, "pack_into")
        self.checked("pack_into")         # refuses before anything is held
        get_span(buffer, off, self._lay.book_size, PyBUF_WRITABLE, &b, "pack_into")
        # the pointer is taken after the buffer, whose exporter may run Python code
        cdef OrderBookHeadC* t = self._p
        if t == NULL:                     # released meanwhile: ReleasedError
            PyBuffer_Release(&b)
            self.tlv()
        ob_copy_book(<char*>b.buf + off, t, &self._lay)
        PyBuffer_Release(&b)

    def __bytes__(self):
        return self.to_bytes()

    def to_bytes(self):
        """The book's wire bytes (same as ``bytes(book)``), as the library
        writes them: padding and unused slots zero even where a viewed buffer
        holds something else there (``memoryview(book)`` shows the raw bytes)."""
        self.checked("to_bytes")          # raises before allocating
        out = PyBytes_FromStringAndSize(NULL, self._lay.book_size)
        # the pointer is taken after the allocation
        ob_copy_book(PyBytes_AS_STRING(out), self.tlv(), &self._lay)
        return out

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        cdef OrderBookHeadC* t = self.tlv()
        if (flags & PyBUF_WRITABLE) and self._readonly:
            raise ReadOnlyError("this book views read-only memory; a writable buffer was requested")
        PyBuffer_FillInfo(buffer, self, t, self._lay.book_size, self._readonly, flags)
        self._exports += 1

    def __releasebuffer__(self, Py_buffer* buffer):
        self.export_released()

    cdef void export_released(self) noexcept:
        """One buffer export of the book or a side ended; a `with` block that
        ended in an exception while exports were alive releases the view now."""
        self._exports -= 1
        if self._exports == 0 and self._release_pending and not self._pins and self._viewing:
            self._release_pending = False
            self._viewing = False
            self._readonly = False
            self._released = True
            self._p = NULL
            PyBuffer_Release(&self._src)

    # -- levels ---------------------------------------------------------------

    @property
    def capacity(self):
        """Slots per side: 128 or 50."""
        return self._lay.capacity

    @property
    def nbytes(self):
        """Bytes of the struct: 6,200 at capacity 128, 2,456 at 50."""
        return self._lay.book_size

    @property
    def bids(self):
        """Zero-copy view of the bid side (best, highest price first)."""
        return make_levels(self, False)

    @property
    def asks(self):
        """Zero-copy view of the ask side (best, lowest price first)."""
        return make_levels(self, True)

    def set_bids(self, levels, *, bint truncate=False):
        """Replace the bids from (price, size[, count]) items or an array."""
        self.fill_side(False, levels, truncate)

    def set_asks(self, levels, *, bint truncate=False):
        """Replace the asks from (price, size[, count]) items or an array."""
        self.fill_side(True, levels, truncate)

    def add_bid(self, price, size, order_count=0):
        """Insert a bid as upstream's add_bid: before the first lower price
        (after equal ones).  CapacityError when the side is full."""
        cdef int64_t p, s
        cdef uint64_t c
        as_i64(price, "add_bid", -1, "price", &p)
        as_i64(size, "add_bid", -1, "size", &s)
        as_u64(order_count, UINT32_MAX, "add_bid", -1, "order_count", &c)
        self.insert_level(False, p, s, <uint32_t>c)

    def add_ask(self, price, size, order_count=0):
        """Insert an ask as upstream's add_ask: before the first higher price
        (after equal ones).  CapacityError when the side is full."""
        cdef int64_t p, s
        cdef uint64_t c
        as_i64(price, "add_ask", -1, "price", &p)
        as_i64(size, "add_ask", -1, "size", &s)
        as_u64(order_count, UINT32_MAX, "add_ask", -1, "order_count", &c)
        self.insert_level(True, p, s, <uint32_t>c)

    def clear(self):
        """Empty both sides (every slot zeroed); header fields are kept."""
        ob_clear(self.mut(), &self._lay)

    @property
    def best_bid(self):
        """The best bid as an OrderLevel, or None when there are no bids."""
        cdef LevelsC* s = self.side(False)
        return _level_obj(&s.elements[0]) if s.count else None

    @property
    def best_ask(self):
        """The best ask as an OrderLevel, or None when there are no asks."""
        cdef LevelsC* s = self.side(True)
        return _level_obj(&s.elements[0]) if s.count else None

    @property
    def spread_bps(self):
        """upstream's ``(ask - bid) * 10000 / ((bid + ask) / 2)``, both
        divisions truncating toward zero; None when a side is empty or the mid
        is not positive.  Exact for every i64 price: where upstream's i64
        arithmetic or its ``as i32`` would overflow (a spread above 2**31 bps,
        or prices near 2**63) this is the true value, not upstream's wrapped one."""
        cdef int64_t out = 0
        cdef int r = ob_spread_bps(self.tlv(), &self._lay, &out)
        if r == 1:
            return out
        if r == 0:
            return None
        # beyond int64: the same formula on Python integers
        bid = self.side(False).elements[0].price
        ask = self.side(True).elements[0].price
        return _trunc_div((ask - bid) * 10000, _trunc_div(bid + ask, 2))

    def mid(self, exact=True):
        """``(best bid + best ask) / 2`` in price units: an exact Decimal (a
        Fraction when precision_factor is not a power of ten), or a float with
        ``exact=False``; None when a side is empty.  See orderbook.prices."""
        from orderbook.prices import mid
        return mid(self, exact)

    def spread(self, exact=True):
        """``best ask - best bid`` in price units, exact as ``mid``; None when a
        side is empty.  ``spread_bps`` is upstream's integer."""
        from orderbook.prices import spread
        return spread(self, exact)

    def validate(self):
        """Raise ValidationError naming the first rule broken and its level, in
        upstream's order of checks: bids non-increasing, asks non-decreasing,
        prices and sizes > 0, best ask not below best bid.  The error's
        ``upstream`` attribute is the message upstream's validate() gives."""
        cdef ob_fault f
        if ob_validate(self.tlv(), &self._lay, &f) != OB_OK:
            raise_fault(&f, 0, "validate")

    # -- header fields ----------------------------------------------------------

    @property
    def snapshot_timestamp_ns(self):
        """u64, when the venue took the snapshot (ns since the epoch)."""
        return self.tlv().snapshot_timestamp_ns

    @snapshot_timestamp_ns.setter
    def snapshot_timestamp_ns(self, value):
        cdef uint64_t u
        as_u64(value, UINT64_MAX, None, 0, "snapshot_timestamp_ns", &u)
        self.mut().snapshot_timestamp_ns = u

    @property
    def sequence(self):
        """u64, the book's sequence number."""
        return self.tlv().sequence

    @sequence.setter
    def sequence(self, value):
        cdef uint64_t u
        as_u64(value, UINT64_MAX, None, 0, "sequence", &u)
        self.mut().sequence = u

    @property
    def precision_factor(self):
        """i64, the fixed-point scale (100_000_000 for 8 decimals)."""
        return self.tlv().precision_factor

    @precision_factor.setter
    def precision_factor(self, value):
        cdef int64_t v
        as_i64(value, None, 0, "precision_factor", &v)
        self.mut().precision_factor = v

    @property
    def asset_id(self):
        """u64, the instrument's asset_id (see ``instrument``)."""
        return self.tlv().asset_id

    @asset_id.setter
    def asset_id(self, value):
        cdef uint64_t u
        as_u64(value, UINT64_MAX, None, 0, "asset_id", &u)
        self.mut().asset_id = u

    @property
    def venue_id(self):
        """u16, upstream's VenueId."""
        return self.tlv().venue_id

    @venue_id.setter
    def venue_id(self, value):
        cdef uint64_t u
        as_u64(value, UINT16_MAX, None, 0, "venue_id", &u)
        self.mut().venue_id = <uint16_t>u

    @property
    def asset_type(self):
        """u8, upstream's AssetType."""
        return self.tlv().asset_type

    @asset_type.setter
    def asset_type(self, value):
        cdef uint64_t u
        as_u64(value, UINT8_MAX, None, 0, "asset_type", &u)
        self.mut().asset_type = <uint8_t>u

    @property
    def reserved(self):
        """u8 reserved byte, preserved as read."""
        return self.tlv().reserved

    @reserved.setter
    def reserved(self, value):
        cdef uint64_t u
        as_u64(value, UINT8_MAX, None, 0, "reserved", &u)
        self.mut().reserved = <uint8_t>u

    @property
    def instrument(self):
        """The (asset_id, venue, asset_type, reserved) fields as an
        ``orderbook.InstrumentId``; assign one to set all four."""
        cdef OrderBookHeadC* t = self.tlv()
        cdef uint64_t asset = t.asset_id
        cdef uint16_t venue = t.venue_id
        cdef uint8_t atype = t.asset_type, res = t.reserved
        return InstrumentId(asset, venue, atype, res)

    @instrument.setter
    def instrument(self, value):
        cdef uint64_t asset, venue, atype, res
        if not isinstance(value, InstrumentId):
            raise FieldTypeError(f"instrument must be an InstrumentId, got {type(value).__name__}")
        as_u64(value.asset_id, UINT64_MAX, None, 0, "instrument.asset_id", &asset)
        as_u64(value.venue, UINT16_MAX, None, 0, "instrument.venue", &venue)
        as_u64(value.asset_type, UINT8_MAX, None, 0, "instrument.asset_type", &atype)
        as_u64(value.reserved, UINT8_MAX, None, 0, "instrument.reserved", &res)
        cdef OrderBookHeadC* t = self.mut()
        t.asset_id = asset
        t.venue_id = <uint16_t>venue
        t.asset_type = <uint8_t>atype
        t.reserved = <uint8_t>res

    @property
    def readonly(self):
        """True when this book views read-only memory."""
        return bool(self._readonly)

    @property
    def is_view(self):
        """True when the storage is a caller's buffer rather than the object."""
        return bool(self._viewing)

    # -- Python protocols -------------------------------------------------------

    def __eq__(self, other):
        """Equal content: capacity, header fields and the levels in use
        (padding and unused slots are not compared)."""
        if not isinstance(other, OrderBook):
            return NotImplemented
        cdef OrderBook o = <OrderBook>other
        if self._lay.capacity != o._lay.capacity:
            return False
        cdef const OrderBookHeadC* a = self.tlv()
        cdef const OrderBookHeadC* b = o.tlv()
        cdef const LevelsC* sa
        cdef const LevelsC* sb
        cdef int side
        if memcmp(a, b, <const char*>&a._padding[0] - <const char*>a) != 0:
            return False
        for side in range(2):
            sa = ob_cside(a, &self._lay, side)
            sb = ob_cside(b, &o._lay, side)
            if count_of(sa, &self._lay, side) != count_of(sb, &o._lay, side) \
                    or memcmp(&sa.elements[0], &sb.elements[0], sa.count * sizeof(OrderLevelC)) != 0:
                return False
        return True

    __hash__ = None       # mutable

    def __reduce__(self):
        # Always an owning copy: a view pickles as the bytes it shows.
        state = getattr(self, "__dict__", None)
        return (_restore, (type(self), self.to_bytes()), state or None)

    def __copy__(self):
        obj = _restore(type(self), self.to_bytes())
        state = getattr(self, "__dict__", None)
        if state:
            obj.__dict__.update(state)
        return obj

    def __deepcopy__(self, memo):
        import copy
        obj = _restore(type(self), self.to_bytes())
        state = getattr(self, "__dict__", None)
        if state:
            obj.__dict__.update(copy.deepcopy(state, memo))
        return obj

    def __repr__(self):
        if self._released:
            return f"<{type(self).__name__} released view>"
        # every field read into C locals first: formatting allocates
        cdef OrderBookHeadC* t = self.tlv()
        cdef const LevelsC* b = ob_cside(t, &self._lay, False)
        cdef const LevelsC* a = ob_cside(t, &self._lay, True)
        cdef uint64_t asset = t.asset_id, seq = t.sequence
        cdef uint16_t venue = t.venue_id
        cdef uint8_t atype = t.asset_type
        cdef int64_t factor = t.precision_factor
        cdef Py_ssize_t nb = count_of(b, &self._lay, False), na = count_of(a, &self._lay, True)
        cdef int64_t bp = b.elements[0].price, bs = b.elements[0].size
        cdef int64_t ap = a.elements[0].price, asz = a.elements[0].size
        kind = " view" if self._viewing else ""
        cap = "" if self._lay.capacity == OB_MAX_LEVELS else f" capacity={self._lay.capacity}"
        return (f"<{type(self).__name__}{kind}{cap} {describe_instrument(asset, venue, atype)} "
                f"seq={seq} bids={nb} asks={na} "
                f"best_bid={_fmt_best(nb, bp, bs, factor)} best_ask={_fmt_best(na, ap, asz, factor)}>")

    # -- decimal text (orderbook._decimal) ---------------------------------------

    @classmethod
    def from_snapshot(cls, bids, asks, *, precision_factor=100_000_000, rounding=None,
                      truncate=False, sort=True, validate=True, allow_negative=False,
                      order_counts=True, capacity=OB_MAX_LEVELS, **header):
        """A book from a venue's decimal levels, converted exactly (no float).

        ``bids`` / ``asks``: ``[price, size]`` or ``[price, size, order_count]``
        items, prices and sizes as decimal ``str``, ``bytes``, ``int`` or
        ``decimal.Decimal``.  More decimals than ``precision_factor`` allows
        raise DecimalError unless ``rounding='half_even'`` or ``'down'``;
        values outside i64 raise FieldRangeError.  Sides are sorted best first
        (``sort``), truncated to the best ``capacity`` only with
        ``truncate=True``, and the book is validated (``validate``).
        ``header``: snapshot_timestamp_ns, sequence, asset_id, venue_id,
        asset_type, reserved."""
        return _decimal_module().from_snapshot(
            cls, bids, asks, precision_factor=precision_factor, rounding=rounding,
            truncate=truncate, sort=sort, validate=validate, allow_negative=allow_negative,
            order_counts=order_counts, capacity=capacity, **header)

    def set_bids_from_strings(self, levels, *, rounding=None, truncate=False, sort=True,
                              allow_negative=False, order_counts=True):
        """Replace the bids from decimal ``[price, size[, order_count]]`` levels
        at this book's precision_factor (see ``from_snapshot``)."""
        _decimal_module().fill_side_from_strings(
            self, False, levels, rounding=rounding, truncate=truncate, sort=sort,
            allow_negative=allow_negative, order_counts=order_counts)

    def set_asks_from_strings(self, levels, *, rounding=None, truncate=False, sort=True,
                              allow_negative=False, order_counts=True):
        """Replace the asks from decimal ``[price, size[, order_count]]`` levels
        at this book's precision_factor (see ``from_snapshot``)."""
        _decimal_module().fill_side_from_strings(
            self, True, levels, rounding=rounding, truncate=truncate, sort=sort,
            allow_negative=allow_negative, order_counts=order_counts)

    def to_snapshot(self, *, strip_zeros=False, order_counts=False):
        """The levels as exact decimal text, ``{"bids": [[price, size], ...],
        "asks": [...]}``: the inverse of ``from_snapshot`` within the precision."""
        return _decimal_module().to_snapshot(self, strip_zeros=strip_zeros,
                                             order_counts=order_counts)


cdef object _decimal_mod = None


cdef object _decimal_module():
    """orderbook._decimal, imported on first use (it cimports this module)."""
    global _decimal_mod
    if _decimal_mod is None:
        import orderbook._decimal
        _decimal_mod = orderbook._decimal
    return _decimal_mod


def _trunc_div(a, b):
    """Integer division truncating toward zero, as Rust's `/` on integers."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q
