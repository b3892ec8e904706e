# One side of a book from Python values (declared in _fill.pxd).
#
# The common cases allocate nothing: a list or tuple of exact-int tuples is
# read through borrowed pointers, and numpy arrays are read from the array
# object itself (numpy's buffer export allocates on every call).  Everything
# else takes a checked slow path with the same results.

from cpython.buffer cimport PyBUF_RECORDS_RO, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.list cimport PyList_Check, PyList_CheckExact, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_Check, PyTuple_CheckExact, PyTuple_GET_SIZE
from libc.stdint cimport UINT32_MAX, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset, strcmp

from orderbook._convert cimport as_i64, as_u64
from orderbook._core cimport ob_worse
from orderbook._cpython cimport int_value, is_int, list_item, tuple_item
from orderbook.structs cimport BookLayout, LevelsC, OrderLevelC, ob_zero_side

import sys

from orderbook.errors import CapacityError, FieldRangeError, FieldTypeError, ValidationError

cdef extern from "src/ob_ndarray.h":
    ctypedef struct ob_ndarray:
        char* data
        int nd
        Py_ssize_t* dimensions
        Py_ssize_t* strides
        void* descr

cdef tuple _SIDE_NAMES = ("bids", "asks")

# The PEP 3118 formats a side of levels is read from: ours, and the native
# renderings numpy gives LEVEL_DTYPE ('l' on LP64, or 'q').
cdef tuple _LEVEL_FORMATS_IN = (
    b"T{<q:price:<q:size:<I:order_count:<I:reserved:}",
    b"T{q:price:q:size:I:order_count:I:reserved:}",
    b"T{=q:price:=q:size:=I:order_count:=I:reserved:}",
    b"T{l:price:l:size:I:order_count:I:reserved:}" if sizeof(long) == 8 else b"",
)


# --- checks -----------------------------------------------------------------------

cdef int start_side(LevelsC* dst, const BookLayout* L, Py_ssize_t total, bint asks,
                    bint truncate) except -1:
    if total > L.capacity and not truncate:
        raise CapacityError(
            f"{_SIDE_NAMES[asks]} hold at most {L.capacity} levels, got {total}; "
            f"pass truncate=True to keep the best {L.capacity}",
            L.capacity, total)
    ob_zero_side(dst, L)
    return 0


cdef int _raise_unsorted(const BookLayout* L, bint asks, Py_ssize_t i, int64_t price,
                         int64_t prev) except -1:
    raise ValidationError(
        f"cannot truncate {_SIDE_NAMES[asks]} to the best {L.capacity}: level {i} "
        f"(price {price}) is {'below' if asks else 'above'} level {i - 1} "
        f"(price {prev}); give the side best first",
        "sorted", _SIDE_NAMES[asks], i)


cdef inline int _put_level(LevelsC* dst, const BookLayout* L, Py_ssize_t i, const OrderLevelC* lv,
                           int64_t* prev, bint asks, Py_ssize_t total) except -1:
    """Store level i; past the capacity only check that truncation keeps the best."""
    if i < L.capacity:
        memcpy(&dst.elements[i], lv, sizeof(OrderLevelC))
        dst.count = <uint16_t>(i + 1)
    if total > L.capacity:
        if i > 0 and ob_worse(asks, prev[0], lv.price):
            _raise_unsorted(L, asks, i, lv.price, prev[0])
        prev[0] = lv.price
    return 0


# --- sequences of levels ------------------------------------------------------------

cdef int _level_from_item(OrderLevelC* out, object item, bint asks, Py_ssize_t i) except -1:
    """(price, size[, order_count[, reserved]]) as a tuple, OrderLevel or list."""
    cdef Py_ssize_t n
    cdef object side = _SIDE_NAMES[asks]
    cdef uint64_t u = 0
    cdef int64_t v = 0
    if PyList_Check(item):
        item = tuple(item)        # a snapshot: converting an item may run user code
    if PyTuple_Check(item):
        n = PyTuple_GET_SIZE(item)
    else:
        raise FieldTypeError(
            f"{side}[{i}] must be (price, size[, order_count[, reserved]]), got {type(item).__name__} {item!r}")
    if n < 2 or n > 4:
        raise FieldTypeError(
            f"{side}[{i}] must have 2 to 4 items (price, size[, order_count[, reserved]]), got {n}")
    as_i64(item[0], side, i, "price", &v)
    out.price = v
    as_i64(item[1], side, i, "size", &v)
    out.size = v
    u = 0
    if n > 2:
        as_u64(item[2], UINT32_MAX, side, i, "order_count", &u)
    out.order_count = <uint32_t>u
    u = 0
    if n > 3:
        as_u64(item[3], UINT32_MAX, side, i, "reserved", &u)
    out.reserved = <uint32_t>u
    return 0


cdef inline bint _small_level(OrderLevelC* out, PyObject* item) noexcept:
    """The common case without a Python call: a tuple (or OrderLevel) of 2..4
    exact ints that fit.  False sends the item to the checked slow path."""
    cdef Py_ssize_t n
    cdef int o0 = 0, o1 = 0, o2 = 0, o3 = 0
    cdef long long cnt = 0, res = 0
    cdef PyObject* p
    if not PyTuple_Check(<object>item):
        return False
    n = PyTuple_GET_SIZE(<object>item)
    if n < 2 or n > 4:
        return False
    p = tuple_item(item, 0)
    if not is_int(p):
        return False
    out.price = int_value(p, &o0)
    p = tuple_item(item, 1)
    if not is_int(p):
        return False
    out.size = int_value(p, &o1)
    if n > 2:
        p = tuple_item(item, 2)
        if not is_int(p):
            return False
        cnt = int_value(p, &o2)
    if n > 3:
        p = tuple_item(item, 3)
        if not is_int(p):
            return False
        res = int_value(p, &o3)
    if o0 | o1 | o2 | o3 or cnt < 0 or cnt > UINT32_MAX or res < 0 or res > UINT32_MAX:
        return False
    out.order_count = <uint32_t>cnt
    out.reserved = <uint32_t>res
    return True


cdef int _fill_from_sequence(LevelsC* dst, const BookLayout* L, object seq, bint asks,
                             bint truncate) except -1:
    """A list or tuple of levels; items are borrowed, so nothing is allocated."""
    cdef Py_ssize_t total = len(seq)
    cdef Py_ssize_t i
    cdef OrderLevelC lv
    cdef int64_t prev = 0
    cdef PyObject* item
    cdef bint is_list = PyList_CheckExact(seq)
    start_side(dst, L, total, asks, truncate)
    for i in range(total):
        if is_list and i >= PyList_GET_SIZE(seq):
            # only possible when user code run by the slow path (an __index__) shrank it
            raise ValidationError(
                f"{_SIDE_NAMES[asks]} changed size while being read: {total} levels, now "
                f"{PyList_GET_SIZE(seq)}", "changed", _SIDE_NAMES[asks], i)
        item = list_item(<PyObject*>seq, i) if is_list else tuple_item(<PyObject*>seq, i)
        if not _small_level(&lv, item):
            _level_from_item(&lv, <object>item, asks, i)
        _put_level(dst, L, i, &lv, &prev, asks, total)
    return 0


# --- arrays -------------------------------------------------------------------------

cdef inline bint _is_level_format(const char* fmt) noexcept:
    cdef bytes f
    if fmt == NULL:
        return False
    for f in _LEVEL_FORMATS_IN:
        if f and strcmp(fmt, <const char*>f) == 0:
            return True
    return False


cdef inline bint _is_i64_format(const char* fmt) noexcept nogil:
    # 'q' (or 'l' on LP64) in native or little-endian byte order, size checked by the caller
    if fmt == NULL:
        return False
    if fmt[0] == b'@' or fmt[0] == b'=' or fmt[0] == b'<':
        fmt += 1
    return (fmt[0] == b'q' or (fmt[0] == b'l' and sizeof(long) == 8)) and fmt[1] == 0


cdef inline int64_t _load_i64(const char* p) noexcept nogil:
    cdef int64_t v
    memcpy(&v, p, sizeof(v))
    return v


cdef int _raise_u32(int64_t v, bint asks, Py_ssize_t i, object field) except -1:
    raise FieldRangeError(f"{_SIDE_NAMES[asks]}[{i}].{field} must be in 0..{UINT32_MAX}, got {v}")


cdef inline int _u32_column(int64_t v, bint asks, Py_ssize_t i, object field, uint32_t* out) except -1:
    if v < 0 or v > UINT32_MAX:
        _raise_u32(v, asks, i, field)
    out[0] = <uint32_t>v
    return 0


cdef int _fill_records(LevelsC* dst, const BookLayout* L, const char* base, Py_ssize_t n,
                       Py_ssize_t stride, bint asks, bint truncate) except -1:
    """Levels laid out as OrderLevel records (LEVEL_DTYPE arrays, other sides)."""
    cdef Py_ssize_t i
    cdef OrderLevelC lv
    cdef int64_t prev = 0
    start_side(dst, L, n, asks, truncate)
    if stride == sizeof(OrderLevelC) and n <= L.capacity:
        # contiguous records are the wire bytes already
        memcpy(&dst.elements[0], base, n * sizeof(OrderLevelC))
        dst.count = <uint16_t>n
        return 0
    for i in range(n):
        memcpy(&lv, base + i * stride, sizeof(OrderLevelC))
        _put_level(dst, L, i, &lv, &prev, asks, n)
    return 0


cdef inline bint _rows_are_levels(const char* base, Py_ssize_t n) noexcept nogil:
    """True when every int64 count column (the third of three) is in 0..2**32-1."""
    cdef Py_ssize_t i
    for i in range(n):
        if <uint64_t>_load_i64(base + i * sizeof(OrderLevelC) + 2 * sizeof(int64_t)) > UINT32_MAX:
            return False
    return True


cdef int _fill_columns(LevelsC* dst, const BookLayout* L, const char* base, Py_ssize_t n,
                       Py_ssize_t ncol, Py_ssize_t s0, Py_ssize_t s1, bint asks,
                       bint truncate) except -1:
    """Levels as rows of 2..4 int64 columns: price, size[, order_count[, reserved]]."""
    cdef Py_ssize_t i
    cdef const char* row
    cdef OrderLevelC lv
    cdef uint32_t u32 = 0
    cdef int64_t prev = 0
    start_side(dst, L, n, asks, truncate)
    if ncol == 3 and s1 == 8 and s0 == sizeof(OrderLevelC) and n <= L.capacity \
            and _rows_are_levels(base, n):
        # C-contiguous (n, 3) int64 rows with counts in 0..2**32-1 are exactly
        # the little-endian level bytes: the count's high word is `reserved` = 0
        memcpy(&dst.elements[0], base, n * sizeof(OrderLevelC))
        dst.count = <uint16_t>n
        return 0
    lv.order_count = 0
    lv.reserved = 0
    for i in range(n):
        row = base + i * s0
        lv.price = _load_i64(row)
        lv.size = _load_i64(row + s1)
        if ncol > 2:
            _u32_column(_load_i64(row + 2 * s1), asks, i, "order_count", &u32)
            lv.order_count = u32
        if ncol > 3:
            _u32_column(_load_i64(row + 3 * s1), asks, i, "reserved", &u32)
            lv.reserved = u32
        _put_level(dst, L, i, &lv, &prev, asks, n)
    return 0


# numpy, once it has been imported by someone: the array type and the dtypes we
# read straight from the array object (see src/ob_ndarray.h for why).
cdef dict _modules = sys.modules
cdef type _ndarray_type = None
cdef object _i64_descrs = ()
cdef object _records_descr = None


cdef bint _numpy_seen():
    global _ndarray_type, _i64_descrs, _records_descr
    if _ndarray_type is not None:
        return True
    np = _modules.get("numpy")       # typed dict: no bound method per call
    if np is None:
        return False
    from orderbook.level import level_dtype
    _i64_descrs = (np.dtype(np.int64), np.dtype(np.longlong)) if np.dtype(np.longlong).itemsize == 8 \
        else (np.dtype(np.int64),)
    _records_descr = level_dtype()
    _ndarray_type = np.ndarray
    return True


cdef int _fill_from_ndarray(LevelsC* dst, const BookLayout* L, object obj, bint asks,
                            bint truncate) except 0:
    """Read a numpy array in place; 1 when done, 2 when it must take the generic
    buffer route (any other dtype, shape or byte order)."""
    cdef ob_ndarray* a = <ob_ndarray*>obj
    cdef object descr = <object>a.descr
    if a.nd == 1 and descr is _records_descr:
        _fill_records(dst, L, a.data, a.dimensions[0], a.strides[0], asks, truncate)
        return 1
    if a.nd == 2 and 2 <= a.dimensions[1] <= 4:
        for d in _i64_descrs:
            if descr is d:
                _fill_columns(dst, L, a.data, a.dimensions[0], a.dimensions[1], a.strides[0],
                              a.strides[1], asks, truncate)
                return 1
    return 2


cdef int _fill_from_buffer(LevelsC* dst, const BookLayout* L, object obj, bint asks,
                           bint truncate) except -1:
    """numpy arrays (n x 2..4 int64, or LEVEL_DTYPE records) and other side views."""
    cdef Py_buffer b
    if _numpy_seen() and isinstance(obj, _ndarray_type):
        if _fill_from_ndarray(dst, L, obj, asks, truncate) == 1:
            return 0
    PyObject_GetBuffer(obj, &b, PyBUF_RECORDS_RO)
    try:
        if b.ndim == 1 and b.itemsize == sizeof(OrderLevelC) and _is_level_format(b.format):
            _fill_records(dst, L, <const char*>b.buf, b.shape[0], b.strides[0], asks, truncate)
        elif b.ndim == 2 and b.itemsize == 8 and _is_i64_format(b.format) \
                and 2 <= b.shape[1] <= 4:
            _fill_columns(dst, L, <const char*>b.buf, b.shape[0], b.shape[1], b.strides[0],
                          b.strides[1], asks, truncate)
        else:
            fmt = (<bytes>b.format).decode("ascii", "replace") if b.format != NULL else "B"
            raise FieldTypeError(
                f"{_SIDE_NAMES[asks]}: expected an (n, 2..4) int64 array or LEVEL_DTYPE records, "
                f"got a buffer of format {fmt!r}, ndim {b.ndim}, itemsize {b.itemsize}")
    finally:
        PyBuffer_Release(&b)
    return 0


# --- entry point ----------------------------------------------------------------------

cdef int fill_levels(LevelsC* dst, const BookLayout* L, object levels, bint asks,
                     bint truncate) except -1:
    if PyList_CheckExact(levels) or PyTuple_CheckExact(levels):
        return _fill_from_sequence(dst, L, levels, asks, truncate)
    if isinstance(levels, (str, bytes, bytearray)):
        raise FieldTypeError(
            f"{_SIDE_NAMES[asks]} must be a sequence of levels or an array, got {type(levels).__name__}")
    if PyObject_CheckBuffer(levels):
        return _fill_from_buffer(dst, L, levels, asks, truncate)
    try:
        it = iter(levels)
    except TypeError:
        raise FieldTypeError(
            f"{_SIDE_NAMES[asks]} must be a sequence of levels or an array, got "
            f"{type(levels).__name__}") from None
    return _fill_from_sequence(dst, L, list(it), asks, truncate)
