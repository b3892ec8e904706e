# The OrderBook class: one OrderBookTLV held by value (or viewed in place in a
# caller's buffer) and the Levels views over its two sides.
#
# Hot-path methods (SPEC section 4) create no Python objects and call no
# allocator once warm: buffers are taken with PyObject_GetBuffer on C-local
# Py_buffer structs, integers are read with the C API, and error messages are
# only formatted on the error path.

cimport cython
from cpython.buffer cimport (
    PyBUF_FORMAT, PyBUF_ND, PyBUF_RECORDS_RO, PyBUF_SIMPLE, PyBUF_STRIDES, PyBUF_WRITABLE,
    PyBuffer_FillInfo, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.object cimport PyObject
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc
from cpython.list cimport PyList_CheckExact, PyList_Check, PyList_GET_SIZE
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_Check, PyTuple_GET_SIZE
from cpython.long cimport PyLong_Check
from cpython.bool cimport PyBool_Check
from cpython.slice cimport PySlice_Check
from cpython.exc cimport PyErr_Occurred, PyErr_Clear
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t, INT64_MAX, INT64_MIN, UINT32_MAX, UINT64_MAX, UINT16_MAX, UINT8_MAX
from libc.string cimport memcpy, memmove, memset, memcmp, strcmp

from orderbook.structs cimport (
    OB_MAX_LEVELS, ExtendedTLVHeader, Levels as LevelsC, MessageHeader, OrderBookTLV,
    OrderLevel, side_of,
)

import operator
import sys

from orderbook.errors import (
    CapacityError, ExportError, FieldRangeError, FieldTypeError, LayoutError, OffsetError,
    ReadOnlyError, ReleasedError, TruncatedError, ValidationError,
)
from orderbook.level import OrderLevel as PyOrderLevel

cdef extern from "src/ob_level.h":
    object ob_level_new(object type, int64_t price, int64_t size, uint32_t count, uint32_t reserved)
    object ob_level_tuple(int64_t price, int64_t size, uint32_t count, uint32_t reserved)


cdef extern from "src/ob_ndarray.h":
    ctypedef struct ob_ndarray:
        char* data
        int nd
        Py_ssize_t* dimensions
        Py_ssize_t* strides
        void* descr


cdef extern from "Python.h":
    # borrowed-reference forms for the level loop: no refcount traffic
    PyObject* _tuple_item "PyTuple_GET_ITEM"(PyObject*, Py_ssize_t)
    PyObject* _list_item "PyList_GET_ITEM"(object, Py_ssize_t)
    bint _long_exact "PyLong_CheckExact"(PyObject*)
    long long _as_ll "PyLong_AsLongLongAndOverflow"(PyObject*, int*)
    long long PyLong_AsLongLongAndOverflow(object, int*) except? -1
    unsigned long long PyLong_AsUnsignedLongLong(object)


# --- layout constants, derived from the structs ------------------------------

MAX_ORDER_LEVELS = OB_MAX_LEVELS
ORDER_LEVEL_SIZE = sizeof(OrderLevel)
ORDER_BOOK_SIZE = sizeof(OrderBookTLV)
HEADER_SIZE = sizeof(MessageHeader)
# header + extended TLV header (255, 0, type, u16 length) + the book
MESSAGE_SIZE = sizeof(MessageHeader) + sizeof(ExtendedTLVHeader) + sizeof(OrderBookTLV)

cdef OrderBookTLV _proto     # only its field addresses are used, for offsets
cdef MessageHeader _hproto


cdef inline Py_ssize_t _off(const void* field, const void* base) noexcept nogil:
    return <const char*>field - <const char*>base


def layout():
    """Sizes and field offsets of the C structs, keyed like golden/layout.json."""
    cdef OrderLevel* lv = &_proto.bids.elements[0]
    return {
        "OrderLevel": {
            "size": sizeof(OrderLevel),
            "price": 0,
            "size_field": sizeof(lv.price),
            "order_count": sizeof(lv.price) + sizeof(lv.size),
            "reserved": sizeof(lv.price) + sizeof(lv.size) + sizeof(lv.order_count),
        },
        "FixedVec": {
            "size": sizeof(LevelsC),
            "count": _off(&_proto.bids.count, &_proto.bids),
            "elements": _off(&_proto.bids.elements[0], &_proto.bids),
        },
        "OrderBookTLV": {
            "size": sizeof(OrderBookTLV),
            # The Rust struct's alignment is that of its widest field; the packed
            # Cython twin may sit at any address, owned storage is 8-aligned.
            "align": sizeof(_proto.timestamp_ns),
            "timestamp_ns": 0,
            "sequence": sizeof(_proto.timestamp_ns),
            "precision_factor": sizeof(_proto.timestamp_ns) + sizeof(_proto.sequence),
            "bids": _off(&_proto.bids, &_proto),
            "asks": _off(&_proto.asks, &_proto),
            "asset_id": _off(&_proto._tail[0], &_proto) - 4 - 8,
            "venue_id": _off(&_proto._tail[0], &_proto) - 4,
            "asset_type": _off(&_proto._tail[0], &_proto) - 2,
            "reserved": _off(&_proto._tail[0], &_proto) - 1,
        },
        "MessageHeader": {
            "size": sizeof(MessageHeader),
            "magic": 0,
            "relay_domain": 4,
            "version": 5,
            "source": 6,
            "flags": 7,
            "sequence": 8,
            "timestamp": 16,
            "payload_size": _off(&_hproto.checksum, &_hproto) - 4,
            "checksum": _off(&_hproto.checksum, &_hproto),
        },
    }


# PEP 3118 format of one level; numpy renders LEVEL_DTYPE natively with 'l'
# (LP64) or 'q', which we accept as well when reading.
cdef bytes _LEVEL_FORMAT = b"T{<q:price:<q:size:<I:order_count:<I:reserved:}"
cdef const char* _LEVEL_FORMAT_C = _LEVEL_FORMAT
cdef const char* _BYTE_FORMAT_C = b"B"
cdef tuple _LEVEL_FORMATS_IN = (
    _LEVEL_FORMAT,
    b"T{q:price:q:size:I:order_count:I:reserved:}",
    b"T{=q:price:=q:size:=I:order_count:=I:reserved:}",
    b"T{l:price:l:size:I:order_count:I:reserved:}" if sizeof(long) == 8 else _LEVEL_FORMAT,
)
LEVEL_FORMAT = _LEVEL_FORMAT.decode()

# Static shape/stride arrays handed to buffer consumers: they live as long as
# the module, so an export never points into memory that can change under it.
cdef Py_ssize_t _COUNTS[OB_MAX_LEVELS + 1]
cdef Py_ssize_t _LEVEL_STRIDE[1]
cdef Py_ssize_t _i
for _i in range(OB_MAX_LEVELS + 1):
    _COUNTS[_i] = _i
_LEVEL_STRIDE[0] = sizeof(OrderLevel)

if sizeof(OrderLevel) != 24 or sizeof(LevelsC) != 3080 or sizeof(OrderBookTLV) != 6200 \
        or sizeof(MessageHeader) != 32:
    raise ImportError("orderbook: struct sizes differ from the wire layout; the compiler did not honour `packed`")

cdef tuple _SIDE_NAMES = ("bids", "asks")


# --- integer conversion with range checks -----------------------------------

cdef str _field_name(object side, Py_ssize_t index, object field):
    if side is None:
        return field
    return f"{side}[{index}].{field}"


cdef object _as_index(object v, object side, Py_ssize_t index, object field):
    if PyBool_Check(v):
        raise FieldTypeError(f"{_field_name(side, index, field)} must be an integer, got bool {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise FieldTypeError(
            f"{_field_name(side, index, field)} must be an integer, got {type(v).__name__} {v!r}"
        ) from None


cdef int _as_i64(object v, object side, Py_ssize_t index, object field, int64_t* out) except -1:
    cdef int overflow = 0
    cdef long long r
    if not PyLong_Check(v) or PyBool_Check(v):
        v = _as_index(v, side, index, field)
    r = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow:
        raise FieldRangeError(
            f"{_field_name(side, index, field)} must be in {INT64_MIN}..{INT64_MAX}, got {v}")
    out[0] = r
    return 0


cdef int _as_u64(object v, uint64_t maxv, object side, Py_ssize_t index, object field,
                 uint64_t* out) except -1:
    cdef int overflow = 0
    cdef long long r
    cdef unsigned long long u
    if not PyLong_Check(v) or PyBool_Check(v):
        v = _as_index(v, side, index, field)
    r = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow == 0 and r >= 0 and <uint64_t>r <= maxv:
        out[0] = <uint64_t>r
        return 0
    if overflow == 1 and maxv == UINT64_MAX:
        u = PyLong_AsUnsignedLongLong(v)
        if not (u == <unsigned long long>-1 and PyErr_Occurred()):
            out[0] = u
            return 0
        PyErr_Clear()
    raise FieldRangeError(f"{_field_name(side, index, field)} must be in 0..{maxv}, got {v}")


# --- reading levels from Python values --------------------------------------

cdef int _level_from_item(OrderLevel* out, object item, bint asks, Py_ssize_t i) except -1:
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
    _as_i64(item[0], side, i, "price", &v)
    out.price = v
    _as_i64(item[1], side, i, "size", &v)
    out.size = v
    u = 0
    if n > 2:
        _as_u64(item[2], UINT32_MAX, side, i, "order_count", &u)
    out.order_count = <uint32_t>u
    u = 0
    if n > 3:
        _as_u64(item[3], UINT32_MAX, side, i, "reserved", &u)
    out.reserved = <uint32_t>u
    return 0


cdef inline bint _worse_order(bint asks, int64_t prev, int64_t price) noexcept nogil:
    """True when `price` may not follow `prev` on this side (best first)."""
    return price < prev if asks else price > prev


cdef int _start_side(LevelsC* dst, Py_ssize_t total, bint asks, bint truncate) except -1:
    if total > OB_MAX_LEVELS and not truncate:
        raise CapacityError(
            f"{_SIDE_NAMES[asks]} hold at most {OB_MAX_LEVELS} levels, got {total}; "
            f"pass truncate=True to keep the best {OB_MAX_LEVELS}",
            OB_MAX_LEVELS, total)
    memset(dst, 0, sizeof(LevelsC))
    return 0


cdef int _raise_unsorted(bint asks, Py_ssize_t i, int64_t price, int64_t prev) except -1:
    raise ValidationError(
        f"cannot truncate {_SIDE_NAMES[asks]} to the best {OB_MAX_LEVELS}: level {i} "
        f"(price {price}) is {'below' if asks else 'above'} level {i - 1} "
        f"(price {prev}); give the side best first",
        "sorted", _SIDE_NAMES[asks], i)


cdef inline int _put_level(LevelsC* dst, Py_ssize_t i, const OrderLevel* lv, int64_t* prev,
                           bint asks, Py_ssize_t total) except -1:
    """Store level i; past the capacity only check that truncation keeps the best."""
    if i < OB_MAX_LEVELS:
        memcpy(&dst.elements[i], lv, sizeof(OrderLevel))
        dst.count = <uint16_t>(i + 1)
    if total > OB_MAX_LEVELS:
        if i > 0 and _worse_order(asks, prev[0], lv.price):
            _raise_unsorted(asks, i, lv.price, prev[0])
        prev[0] = lv.price
    return 0


cdef inline bint _small_level(OrderLevel* out, PyObject* item) noexcept:
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
    p = _tuple_item(item, 0)
    if not _long_exact(p):
        return False
    out.price = _as_ll(p, &o0)
    p = _tuple_item(item, 1)
    if not _long_exact(p):
        return False
    out.size = _as_ll(p, &o1)
    if n > 2:
        p = _tuple_item(item, 2)
        if not _long_exact(p):
            return False
        cnt = _as_ll(p, &o2)
    if n > 3:
        p = _tuple_item(item, 3)
        if not _long_exact(p):
            return False
        res = _as_ll(p, &o3)
    if o0 | o1 | o2 | o3 or cnt < 0 or cnt > UINT32_MAX or res < 0 or res > UINT32_MAX:
        return False
    out.order_count = <uint32_t>cnt
    out.reserved = <uint32_t>res
    return True


cdef int _fill_from_sequence(LevelsC* dst, object seq, bint asks, bint truncate) except -1:
    """A list or tuple of levels; items are borrowed, so nothing is allocated."""
    cdef Py_ssize_t total = len(seq)
    cdef Py_ssize_t i
    cdef OrderLevel lv
    cdef int64_t prev = 0
    cdef PyObject* item
    cdef bint is_list = PyList_CheckExact(seq)
    _start_side(dst, total, asks, truncate)
    for i in range(total):
        if is_list and i >= PyList_GET_SIZE(seq):
            # only possible when user code run by the slow path (an __index__) shrank it
            raise ValidationError(
                f"{_SIDE_NAMES[asks]} changed size while being read: {total} levels, now "
                f"{PyList_GET_SIZE(seq)}", "changed", _SIDE_NAMES[asks], i)
        item = _list_item(seq, i) if is_list else _tuple_item(<PyObject*>seq, i)
        if not _small_level(&lv, item):
            _level_from_item(&lv, <object>item, asks, i)
        _put_level(dst, i, &lv, &prev, asks, total)
    return 0


cdef inline bint _is_level_format(const char* fmt) noexcept:
    cdef bytes f
    if fmt == NULL:
        return False
    for f in _LEVEL_FORMATS_IN:
        if strcmp(fmt, <const char*>f) == 0:
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


cdef int _fill_records(LevelsC* dst, const char* base, Py_ssize_t n, Py_ssize_t stride,
                       bint asks, bint truncate) except -1:
    """Levels laid out as OrderLevel records (LEVEL_DTYPE arrays, other sides)."""
    cdef Py_ssize_t i
    cdef OrderLevel lv
    cdef int64_t prev = 0
    _start_side(dst, n, asks, truncate)
    if stride == sizeof(OrderLevel) and n <= OB_MAX_LEVELS:
        # contiguous records are the wire bytes already
        memcpy(&dst.elements[0], base, n * sizeof(OrderLevel))
        dst.count = <uint16_t>n
        return 0
    for i in range(n):
        memcpy(&lv, base + i * stride, sizeof(OrderLevel))
        _put_level(dst, i, &lv, &prev, asks, n)
    return 0


cdef inline bint _rows_are_levels(const char* base, Py_ssize_t n) noexcept nogil:
    """True when every int64 count column (the third of three) is in 0..2**32-1."""
    cdef Py_ssize_t i
    for i in range(n):
        if <uint64_t>_load_i64(base + i * sizeof(OrderLevel) + 2 * sizeof(int64_t)) > UINT32_MAX:
            return False
    return True


cdef int _fill_columns(LevelsC* dst, const char* base, Py_ssize_t n, Py_ssize_t ncol,
                       Py_ssize_t s0, Py_ssize_t s1, bint asks, bint truncate) except -1:
    """Levels as rows of 2..4 int64 columns: price, size[, order_count[, reserved]]."""
    cdef Py_ssize_t i
    cdef const char* row
    cdef OrderLevel lv
    cdef uint32_t u32 = 0
    cdef int64_t prev = 0
    _start_side(dst, n, asks, truncate)
    if ncol == 3 and s1 == 8 and s0 == sizeof(OrderLevel) and n <= OB_MAX_LEVELS \
            and _rows_are_levels(base, n):
        # C-contiguous (n, 3) int64 rows with counts in 0..2**32-1 are exactly
        # the little-endian level bytes: the count's high word is `reserved` = 0
        memcpy(&dst.elements[0], base, n * sizeof(OrderLevel))
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
        _put_level(dst, i, &lv, &prev, asks, n)
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


cdef int _fill_from_ndarray(LevelsC* dst, object obj, bint asks, bint truncate) except 0:
    """Read a numpy array in place; 1 when done, 2 when it must take the generic
    buffer route (any other dtype, shape or byte order)."""
    cdef ob_ndarray* a = <ob_ndarray*>obj
    cdef object descr = <object>a.descr
    if a.nd == 1 and descr is _records_descr:
        _fill_records(dst, a.data, a.dimensions[0], a.strides[0], asks, truncate)
        return 1
    if a.nd == 2 and 2 <= a.dimensions[1] <= 4:
        for d in _i64_descrs:
            if descr is d:
                _fill_columns(dst, a.data, a.dimensions[0], a.dimensions[1], a.strides[0],
                              a.strides[1], asks, truncate)
                return 1
    return 2


cdef int _fill_from_buffer(LevelsC* dst, object obj, bint asks, bint truncate) except -1:
    """numpy arrays (n x 2..4 int64, or LEVEL_DTYPE records) and other side views."""
    cdef Py_buffer b
    if _numpy_seen() and isinstance(obj, _ndarray_type):
        if _fill_from_ndarray(dst, obj, asks, truncate) == 1:
            return 0
    PyObject_GetBuffer(obj, &b, PyBUF_RECORDS_RO)
    try:
        if b.ndim == 1 and b.itemsize == sizeof(OrderLevel) and _is_level_format(b.format):
            _fill_records(dst, <const char*>b.buf, b.shape[0], b.strides[0], asks, truncate)
        elif b.ndim == 2 and b.itemsize == 8 and _is_i64_format(b.format) \
                and 2 <= b.shape[1] <= 4:
            _fill_columns(dst, <const char*>b.buf, b.shape[0], b.shape[1], b.strides[0],
                          b.strides[1], asks, truncate)
        else:
            fmt = (<bytes>b.format).decode("ascii", "replace") if b.format != NULL else "B"
            raise FieldTypeError(
                f"{_SIDE_NAMES[asks]}: expected an (n, 2..4) int64 array or LEVEL_DTYPE records, "
                f"got a buffer of format {fmt!r}, ndim {b.ndim}, itemsize {b.itemsize}")
    finally:
        PyBuffer_Release(&b)
    return 0


cdef int _raise_count(Py_ssize_t c, bint asks) except -1:
    raise LayoutError(
        f"{_SIDE_NAMES[asks]} count is {c}, expected at most {OB_MAX_LEVELS}: the viewed "
        "memory was changed to an invalid book after it was opened")


cdef inline Py_ssize_t _count(const LevelsC* side, bint asks) except -1:
    """A side's count, never trusted past the capacity: a view's memory can be
    rewritten by its other users after OrderBook.view() checked it."""
    cdef Py_ssize_t c = side.count
    if c > OB_MAX_LEVELS:
        _raise_count(c, asks)
    return c


# --- reading and checking book bytes -----------------------------------------

cdef int _check_side(const LevelsC* side, bint asks, Py_ssize_t base, bint strict) except -1:
    cdef Py_ssize_t c = side.count
    cdef Py_ssize_t i, start, end
    cdef const uint8_t* raw = <const uint8_t*>side
    if c > OB_MAX_LEVELS:
        raise LayoutError(
            f"{_SIDE_NAMES[asks]} count at byte offset {base} is {c}, "
            f"expected at most {OB_MAX_LEVELS}")
    if strict:
        # padding after count, then every byte of the unused slots
        start = _off(&side._pad[0], side)
        end = _off(&side.elements[0], side)
        for i in range(start, end):
            if raw[i]:
                raise LayoutError(
                    f"{_SIDE_NAMES[asks]} padding byte at offset {base + i} is {raw[i]:#04x}, expected 0")
        start = _off(&side.elements[c], side)
        end = sizeof(LevelsC)
        for i in range(start, end):
            if raw[i]:
                raise LayoutError(
                    f"{_SIDE_NAMES[asks]} slot {(i - _off(&side.elements[0], side)) // sizeof(OrderLevel)} "
                    f"is unused (count {c}) but byte offset {base + i} is {raw[i]:#04x}, expected 0")
    return 0


cdef int check_book(const OrderBookTLV* t, bint strict) except -1:
    """Counts within capacity; with `strict`, also zero padding and unused slots."""
    cdef Py_ssize_t i
    _check_side(&t.bids, False, _off(&t.bids, t), strict)
    _check_side(&t.asks, True, _off(&t.asks, t), strict)
    if strict:
        for i in range(<Py_ssize_t>sizeof(t._tail)):
            if t._tail[i]:
                raise LayoutError(
                    f"tail padding byte at offset {_off(&t._tail[i], t)} is {t._tail[i]:#04x}, expected 0")
    return 0


cdef Py_ssize_t _offset(object offset, object what) except -1:
    """An offset argument as a C index: our errors, not Cython's, for values
    that are negative, beyond Py_ssize_t, or not integers."""
    cdef Py_ssize_t v
    if not PyLong_Check(offset) or PyBool_Check(offset):
        offset = _as_index(offset, None, 0, "offset")
    try:
        v = offset
    except OverflowError:
        raise OffsetError(f"{what}: offset {offset} is beyond any buffer") from None
    if v < 0:
        raise OffsetError(f"{what}: offset must be >= 0, got {v}")
    return v


cdef bint _exports_read_only(object buffer):
    cdef Py_buffer b
    try:
        PyObject_GetBuffer(buffer, &b, PyBUF_SIMPLE)
    except Exception:
        return False
    PyBuffer_Release(&b)
    return True


cdef int _get_span(object buffer, Py_ssize_t offset, Py_ssize_t need, int flags, Py_buffer* b,
                   object what) except -1:
    """Take `buffer` and check that `need` bytes exist at `offset`; releases on failure."""
    cdef Py_ssize_t avail
    if offset < 0:
        raise OffsetError(f"{what}: offset must be >= 0, got {offset}")
    try:
        PyObject_GetBuffer(buffer, b, flags)
    except (BufferError, ValueError) as e:
        # exporters refuse with BufferError or (numpy) ValueError: tell read-only
        # memory from memory that is not one contiguous block
        if flags & PyBUF_WRITABLE and _exports_read_only(buffer):
            raise ReadOnlyError(
                f"{what} needs a writable buffer, got read-only {type(buffer).__name__}") from e
        raise ExportError(
            f"{what} needs one contiguous buffer; {type(buffer).__name__} refused: {e}") from e
    except TypeError as e:
        raise FieldTypeError(
            f"{what} needs a bytes-like object (buffer protocol), got {type(buffer).__name__}") from e
    avail = b.len - offset
    if avail < need:
        PyBuffer_Release(b)
        raise TruncatedError(
            f"{what} needs {need} bytes at offset {offset}, the buffer has {max(avail, 0)} "
            f"(length {b.len})", offset, need, max(avail, 0))
    return 0


cdef inline object _level_obj(const OrderLevel* lv):
    return ob_level_new(PyOrderLevel, lv.price, lv.size, lv.order_count, lv.reserved)


def _restore(cls, data):
    """Pickle and copy support: an owning book of `cls` from its 6,200 bytes."""
    return cls.from_bytes(data)


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


cdef str _fmt_best(const LevelsC* side, int64_t factor):
    if not side.count:
        return "None"
    return (f"{_fmt_price(side.elements[0].price, factor)} x "
            f"{_fmt_price(side.elements[0].size, factor)}")


cdef inline OrderBook _new_book(object cls):
    # the direct tp_new call for the common case; subclasses go the generic way
    if cls is OrderBook:
        return OrderBook.__new__(OrderBook)
    return cls.__new__(cls)


# --- the book ----------------------------------------------------------------

cdef class OrderBook:
    """An order book snapshot: the 6,200 bytes of the Rust ``OrderBookTLV``.

    ``OrderBook(bids, asks, **header)`` owns its struct; ``OrderBook.view(buf)``
    reads and writes a caller's buffer in place.  ``memoryview(book)`` is the
    struct itself; ``book.bids`` / ``book.asks`` are zero-copy side views.
    """

    # No __cinit__: a new object has no storage (_p is NULL); an owning book
    # allocates it zeroed -- the empty book -- on first use.

    def __init__(self, bids=(), asks=(), *, timestamp_ns=0, sequence=0,
                 precision_factor=100_000_000, asset_id=0, venue_id=0, asset_type=0,
                 reserved=0, truncate=False):
        cdef OrderBookTLV* t = self.mut()
        # header fields checked before anything is written
        cdef uint64_t ts, seq, asset, venue, atype, res
        cdef int64_t factor
        _as_u64(timestamp_ns, UINT64_MAX, None, 0, "timestamp_ns", &ts)
        _as_u64(sequence, UINT64_MAX, None, 0, "sequence", &seq)
        _as_i64(precision_factor, None, 0, "precision_factor", &factor)
        _as_u64(asset_id, UINT64_MAX, None, 0, "asset_id", &asset)
        _as_u64(venue_id, UINT16_MAX, None, 0, "venue_id", &venue)
        _as_u64(asset_type, UINT8_MAX, None, 0, "asset_type", &atype)
        _as_u64(reserved, UINT8_MAX, None, 0, "reserved", &res)
        self.fill_side(False, bids, truncate)
        self.fill_side(True, asks, truncate)
        t.timestamp_ns = ts
        t.sequence = seq
        t.precision_factor = factor
        t.asset_id = asset
        t.venue_id = <uint16_t>venue
        t.asset_type = <uint8_t>atype
        t.reserved = <uint8_t>res
        memset(&t._tail[0], 0, sizeof(t._tail))

    def __dealloc__(self):
        if self._viewing:
            PyBuffer_Release(&self._src)
        PyMem_Free(self._own)

    # -- C API --------------------------------------------------------------

    cdef OrderBookTLV* _storage(self, bint zero) except NULL:
        """Point at owned storage, allocating it (zeroed when `zero`)."""
        if self._released:
            raise ReleasedError("this view was released; open a new one with OrderBook.view()")
        if self._own == NULL:
            self._own = <OrderBookTLV*>(PyMem_Calloc(1, sizeof(OrderBookTLV)) if zero
                                        else PyMem_Malloc(sizeof(OrderBookTLV)))
            if self._own == NULL:
                raise MemoryError()
        self._p = self._own
        return self._p

    cdef OrderBookTLV* tlv(self) except NULL:
        if self._p == NULL:
            return self._storage(True)
        return self._p

    cdef OrderBookTLV* mut(self) except NULL:
        if self._readonly:
            raise ReadOnlyError(
                f"this book views read-only memory ({type(self._src.obj).__name__}); "
                "copy it with OrderBook.from_bytes() or view a writable buffer")
        return self.tlv()

    cdef int load(self, const char* data, Py_ssize_t length, bint strict) except -1:
        cdef OrderBookTLV* t
        if self._p != NULL:
            self.mut()                    # read-only views refuse
        if length < <Py_ssize_t>sizeof(OrderBookTLV):
            raise TruncatedError(
                f"an order book needs {sizeof(OrderBookTLV)} bytes, got {length}",
                0, sizeof(OrderBookTLV), length)
        check_book(<const OrderBookTLV*>data, strict)
        # checked first, so fresh storage need not be zeroed: it is overwritten whole
        t = self._p if self._p != NULL else self._storage(False)
        memmove(t, data, sizeof(OrderBookTLV))
        return 0

    cdef int attach(self, object buffer, Py_ssize_t offset, bint strict) except -1:
        cdef Py_buffer nb
        if self._exports:
            raise ExportError(
                f"cannot re-point a view while {self._exports} buffer export(s) of it are alive")
        _get_span(buffer, offset, sizeof(OrderBookTLV), PyBUF_SIMPLE, &nb, "OrderBook.view")
        try:
            check_book(<const OrderBookTLV*>(<char*>nb.buf + offset), strict)
        except BaseException:
            PyBuffer_Release(&nb)
            raise
        if self._viewing:
            PyBuffer_Release(&self._src)
        self._src = nb
        self._released = False
        self._viewing = True
        self._readonly = nb.readonly
        self._p = <OrderBookTLV*>(<char*>nb.buf + offset)
        return 0

    cdef int detach(self) except -1:
        if self._exports:
            raise ExportError(
                f"cannot release a view while {self._exports} buffer export(s) of it are alive")
        if self._viewing:
            self._viewing = False
            self._readonly = False
            self._released = True
            self._p = NULL
            PyBuffer_Release(&self._src)
        return 0

    cdef int fill_side(self, bint asks, object levels, bint truncate) except -1:
        # Build in a local first: a bad level leaves the book as it was, and a
        # side may be filled from a view of itself.
        cdef LevelsC tmp
        cdef OrderBookTLV* t = self.mut()
        if PyList_CheckExact(levels) or PyTuple_CheckExact(levels):
            _fill_from_sequence(&tmp, levels, asks, truncate)
        elif isinstance(levels, (str, bytes, bytearray)):
            raise FieldTypeError(
                f"{_SIDE_NAMES[asks]} must be a sequence of levels or an array, got {type(levels).__name__}")
        elif PyObject_CheckBuffer(levels):
            _fill_from_buffer(&tmp, levels, asks, truncate)
        else:
            _fill_from_sequence(&tmp, list(levels), asks, truncate)
        memcpy(side_of(t, asks), &tmp, sizeof(LevelsC))
        return 0

    cdef int insert_level(self, bint asks, int64_t price, int64_t size, object order_count) except -1:
        cdef OrderBookTLV* t = self.mut()
        cdef LevelsC* side = side_of(t, asks)
        cdef Py_ssize_t n = _count(side, asks), lo = 0, hi = n, mid
        cdef uint64_t cnt = 0
        _as_u64(order_count, UINT32_MAX, _SIDE_NAMES[asks], n, "order_count", &cnt)
        if n >= OB_MAX_LEVELS:
            raise CapacityError(
                f"{_SIDE_NAMES[asks]} hold at most {OB_MAX_LEVELS} levels, got {n + 1}",
                OB_MAX_LEVELS, n + 1)
        # first slot whose price is strictly worse: equal prices keep arrival order
        while lo < hi:
            mid = (lo + hi) >> 1
            if _worse_order(asks, side.elements[mid].price, price):
                hi = mid
            else:
                lo = mid + 1
        memmove(&side.elements[lo + 1], &side.elements[lo], (n - lo) * sizeof(OrderLevel))
        side.elements[lo].price = price
        side.elements[lo].size = size
        side.elements[lo].order_count = <uint32_t>cnt
        side.elements[lo].reserved = 0
        side.count = <uint16_t>(n + 1)
        return 0

    # -- construction and parsing --------------------------------------------

    @classmethod
    def from_bytes(cls, data, offset=0, *, bint strict=False):
        """A new owning book copied from the 6,200 bytes at ``offset``."""
        cdef Py_ssize_t off = _offset(offset, "load_from")
        cdef OrderBook book = _new_book(cls)
        cdef Py_buffer b
        _get_span(data, off, sizeof(OrderBookTLV), PyBUF_SIMPLE, &b, "load_from")
        try:
            book.load(<const char*>b.buf + off, sizeof(OrderBookTLV), strict)
        finally:
            PyBuffer_Release(&b)
        return book

    @classmethod
    def view(cls, buffer, offset=0, *, bint strict=False):
        """A book whose storage is ``buffer[offset:offset + 6200]`` (no copy).

        Holds the buffer until ``release()`` or collection; read-only when the
        buffer is.  Any offset works, aligned or not."""
        cdef Py_ssize_t off = _offset(offset, "OrderBook.view")
        cdef OrderBook book = _new_book(cls)
        book.attach(buffer, off, strict)
        return book

    def rebind(self, buffer, offset=0, *, bint strict=False):
        """Re-point this book at another buffer (it becomes a view); no allocation."""
        self.attach(buffer, _offset(offset, "OrderBook.view"), strict)

    def release(self):
        """Drop the viewed buffer now (a no-op for an owning book)."""
        self.detach()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()
        return False

    def load_from(self, buffer, offset=0, *, bint strict=False):
        """Copy the 6,200 bytes at ``offset`` of ``buffer`` into this book."""
        cdef Py_buffer b
        cdef Py_ssize_t off = _offset(offset, "load_from")
        _get_span(buffer, off, sizeof(OrderBookTLV), PyBUF_SIMPLE, &b, "load_from")
        try:
            self.load(<const char*>b.buf + off, sizeof(OrderBookTLV), strict)
        finally:
            PyBuffer_Release(&b)

    def pack_into(self, buffer, offset=0):
        """Write the 6,200 bytes into a writable ``buffer`` at ``offset``."""
        cdef Py_buffer b
        cdef Py_ssize_t off = _offset(offset, "pack_into")
        cdef OrderBookTLV* t = self.tlv()
        _get_span(buffer, off, sizeof(OrderBookTLV), PyBUF_WRITABLE, &b, "pack_into")
        memmove(<char*>b.buf + off, t, sizeof(OrderBookTLV))
        PyBuffer_Release(&b)

    def __bytes__(self):
        return PyBytes_FromStringAndSize(<const char*>self.tlv(), sizeof(OrderBookTLV))

    def to_bytes(self):
        """The 6,200 wire bytes (same as ``bytes(book)``)."""
        return PyBytes_FromStringAndSize(<const char*>self.tlv(), sizeof(OrderBookTLV))

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        cdef OrderBookTLV* t = self.tlv()
        if (flags & PyBUF_WRITABLE) and self._readonly:
            raise ReadOnlyError("this book views read-only memory; a writable buffer was requested")
        PyBuffer_FillInfo(buffer, self, t, sizeof(OrderBookTLV), self._readonly, flags)
        self._exports += 1

    def __releasebuffer__(self, Py_buffer* buffer):
        self._exports -= 1

    # -- levels ---------------------------------------------------------------

    @property
    def bids(self):
        """Zero-copy view of the bid side (best, highest price first)."""
        cdef Levels s = Levels.__new__(Levels)
        s.book = self
        s._asks = False
        return s

    @property
    def asks(self):
        """Zero-copy view of the ask side (best, lowest price first)."""
        cdef Levels s = Levels.__new__(Levels)
        s.book = self
        s._asks = True
        return s

    def set_bids(self, levels, *, bint truncate=False):
        """Replace the bids from (price, size[, count]) items or an array."""
        self.fill_side(False, levels, truncate)

    def set_asks(self, levels, *, bint truncate=False):
        """Replace the asks from (price, size[, count]) items or an array."""
        self.fill_side(True, levels, truncate)

    # -- decimal text (orderbook._decimal) ---------------------------------------

    @classmethod
    def from_snapshot(cls, bids, asks, *, precision_factor=100_000_000, rounding=None,
                      truncate=False, sort=True, validate=True, allow_negative=False,
                      order_counts=True, **header):
        """A book from a venue's decimal levels, converted exactly (no float).

        ``bids`` / ``asks``: ``[price, size]`` or ``[price, size, order_count]``
        items, prices and sizes as decimal ``str``, ``bytes``, ``int`` or
        ``decimal.Decimal``.  More decimals than ``precision_factor`` allows
        raise DecimalError unless ``rounding='half_even'`` or ``'down'``;
        values outside i64 raise FieldRangeError.  Sides are sorted best first
        (``sort``), truncated to the best 128 only with ``truncate=True``, and
        the book is validated (``validate``).  ``header``: timestamp_ns,
        sequence, asset_id, venue_id, asset_type, reserved."""
        return _decimal_module().from_snapshot(
            cls, bids, asks, precision_factor=precision_factor, rounding=rounding,
            truncate=truncate, sort=sort, validate=validate, allow_negative=allow_negative,
            order_counts=order_counts, **header)

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

    def add_bid(self, price, size, order_count=0):
        """Insert a bid keeping prices descending (after equal prices)."""
        cdef int64_t p, s
        _as_i64(price, "bids", -1, "price", &p)
        _as_i64(size, "bids", -1, "size", &s)
        self.insert_level(False, p, s, order_count)

    def add_ask(self, price, size, order_count=0):
        """Insert an ask keeping prices ascending (after equal prices)."""
        cdef int64_t p, s
        _as_i64(price, "asks", -1, "price", &p)
        _as_i64(size, "asks", -1, "size", &s)
        self.insert_level(True, p, s, order_count)

    def clear(self):
        """Empty both sides (every slot zeroed); header fields are kept."""
        cdef OrderBookTLV* t = self.mut()
        memset(&t.bids, 0, sizeof(LevelsC))
        memset(&t.asks, 0, sizeof(LevelsC))

    @property
    def best_bid(self):
        """The best bid as an OrderLevel, or None when there are no bids."""
        cdef OrderBookTLV* t = self.tlv()
        return _level_obj(&t.bids.elements[0]) if t.bids.count else None

    @property
    def best_ask(self):
        """The best ask as an OrderLevel, or None when there are no asks."""
        cdef OrderBookTLV* t = self.tlv()
        return _level_obj(&t.asks.elements[0]) if t.asks.count else None

    @property
    def spread_bps(self):
        """``(ask - bid) * 10000 / ((bid + ask) / 2)``, truncating toward zero
        as Rust integer division does; None when a side is empty or the mid
        is not positive.  Exact for every i64 price (no overflow)."""
        cdef OrderBookTLV* t = self.tlv()
        cdef object bid, ask, mid
        if not t.bids.count or not t.asks.count:
            return None
        bid = t.bids.elements[0].price
        ask = t.asks.elements[0].price
        mid = _trunc_div(bid + ask, 2)
        if mid <= 0:
            return None
        return _trunc_div((ask - bid) * 10000, mid)

    def validate(self):
        """Raise ValidationError naming the first broken rule and level:
        prices and sizes > 0, bids non-increasing, asks non-decreasing, best
        ask not below best bid."""
        cdef OrderBookTLV* t = self.tlv()
        cdef LevelsC* side
        cdef OrderLevel* lv
        cdef Py_ssize_t i
        cdef int a
        for a in range(2):
            side = side_of(t, a)
            name = _SIDE_NAMES[a]
            for i in range(_count(side, a)):
                lv = &side.elements[i]
                if lv.price <= 0:
                    raise ValidationError(
                        f"{name}[{i}].price must be > 0, got {lv.price}", "positive_price", name, i)
                if lv.size <= 0:
                    raise ValidationError(
                        f"{name}[{i}].size must be > 0, got {lv.size}", "positive_size", name, i)
                if i and _worse_order(a, side.elements[i - 1].price, lv.price):
                    raise ValidationError(
                        f"{name}[{i}].price {lv.price} is {'below' if a else 'above'} "
                        f"{name}[{i - 1}].price {side.elements[i - 1].price}",
                        "asks_ascending" if a else "bids_descending", name, i)
        if t.bids.count and t.asks.count and t.asks.elements[0].price < t.bids.elements[0].price:
            raise ValidationError(
                f"crossed book: best ask {t.asks.elements[0].price} is below best bid "
                f"{t.bids.elements[0].price}", "crossed", None, 0)

    # -- header fields ----------------------------------------------------------

    @property
    def timestamp_ns(self):
        """u64, nanoseconds since the epoch."""
        return self.tlv().timestamp_ns

    @timestamp_ns.setter
    def timestamp_ns(self, value):
        cdef uint64_t u
        _as_u64(value, UINT64_MAX, None, 0, "timestamp_ns", &u)
        self.mut().timestamp_ns = u

    @property
    def sequence(self):
        """u64, the book's sequence number."""
        return self.tlv().sequence

    @sequence.setter
    def sequence(self, value):
        cdef uint64_t u
        _as_u64(value, UINT64_MAX, None, 0, "sequence", &u)
        self.mut().sequence = u

    @property
    def precision_factor(self):
        """i64, the fixed-point scale (100_000_000 for 8 decimals)."""
        return self.tlv().precision_factor

    @precision_factor.setter
    def precision_factor(self, value):
        cdef int64_t v
        _as_i64(value, None, 0, "precision_factor", &v)
        self.mut().precision_factor = v

    @property
    def asset_id(self):
        """u64 asset identifier."""
        return self.tlv().asset_id

    @asset_id.setter
    def asset_id(self, value):
        cdef uint64_t u
        _as_u64(value, UINT64_MAX, None, 0, "asset_id", &u)
        self.mut().asset_id = u

    @property
    def venue_id(self):
        """u16 venue identifier."""
        return self.tlv().venue_id

    @venue_id.setter
    def venue_id(self, value):
        cdef uint64_t u
        _as_u64(value, UINT16_MAX, None, 0, "venue_id", &u)
        self.mut().venue_id = <uint16_t>u

    @property
    def asset_type(self):
        """u8 asset type."""
        return self.tlv().asset_type

    @asset_type.setter
    def asset_type(self, value):
        cdef uint64_t u
        _as_u64(value, UINT8_MAX, None, 0, "asset_type", &u)
        self.mut().asset_type = <uint8_t>u

    @property
    def reserved(self):
        """u8 reserved byte, preserved as read."""
        return self.tlv().reserved

    @reserved.setter
    def reserved(self, value):
        cdef uint64_t u
        _as_u64(value, UINT8_MAX, None, 0, "reserved", &u)
        self.mut().reserved = <uint8_t>u

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
        """Equal content: header fields and the levels in use (padding and
        unused slots are not compared)."""
        if not isinstance(other, OrderBook):
            return NotImplemented
        cdef const OrderBookTLV* a = self.tlv()
        cdef const OrderBookTLV* b = (<OrderBook>other).tlv()
        return (
            a.timestamp_ns == b.timestamp_ns and a.sequence == b.sequence
            and a.precision_factor == b.precision_factor and a.asset_id == b.asset_id
            and a.venue_id == b.venue_id and a.asset_type == b.asset_type
            and a.reserved == b.reserved
            and _count(&a.bids, False) == _count(&b.bids, False)
            and _count(&a.asks, True) == _count(&b.asks, True)
            and memcmp(&a.bids.elements[0], &b.bids.elements[0], a.bids.count * sizeof(OrderLevel)) == 0
            and memcmp(&a.asks.elements[0], &b.asks.elements[0], a.asks.count * sizeof(OrderLevel)) == 0
        )

    __hash__ = None       # mutable

    def __reduce__(self):
        # Always an owning copy: a view pickles as the bytes it shows.
        state = getattr(self, "__dict__", None)
        return (_restore, (type(self), bytes(self)), state or None)

    def __copy__(self):
        obj = _restore(type(self), bytes(self))
        state = getattr(self, "__dict__", None)
        if state:
            obj.__dict__.update(state)
        return obj

    def __deepcopy__(self, memo):
        import copy
        obj = _restore(type(self), bytes(self))
        state = getattr(self, "__dict__", None)
        if state:
            obj.__dict__.update(copy.deepcopy(state, memo))
        return obj

    def __repr__(self):
        if self._released:
            return f"<{type(self).__name__} released view>"
        cdef OrderBookTLV* t = self.tlv()
        kind = " view" if self._viewing else ""
        return (f"<{type(self).__name__}{kind} venue={t.venue_id} asset={t.asset_id} "
                f"seq={t.sequence} bids={t.bids.count} asks={t.asks.count} "
                f"best_bid={_fmt_best(&t.bids, t.precision_factor)} "
                f"best_ask={_fmt_best(&t.asks, t.precision_factor)}>")


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


cdef object _frombuffer = None      # numpy.frombuffer and LEVEL_DTYPE, on first use
cdef object _level_dtype = None


# --- side views ---------------------------------------------------------------

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
        if self.i >= _count(s, self.levels._asks):
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
        return side_of(self.book.tlv(), self._asks)

    @property
    def name(self):
        """"bids" or "asks"."""
        return _SIDE_NAMES[self._asks]

    def __len__(self):
        return _count(self.side(), self._asks)

    def __getitem__(self, key):
        cdef LevelsC* s = self.side()
        cdef Py_ssize_t n = _count(s, self._asks), i
        if PySlice_Check(key):
            return [_level_obj(&s.elements[i]) for i in range(*key.indices(n))]
        i = key
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError(f"{_SIDE_NAMES[self._asks]} index {key} out of range for {n} levels")
        return _level_obj(&s.elements[i])

    def __iter__(self):
        cdef _LevelIterator it = _LevelIterator.__new__(_LevelIterator)
        it.levels = self
        return it

    def tolist(self):
        """The levels as a list of OrderLevel values (a copy)."""
        cdef LevelsC* s = self.side()
        cdef Py_ssize_t i
        return [_level_obj(&s.elements[i]) for i in range(_count(s, self._asks))]

    def tuples(self):
        """The levels as a list of plain ``(price, size, order_count, reserved)``
        tuples: the fastest way to visit every level from Python, since CPython
        unpacks exact tuples on a fast path that named tuples miss."""
        cdef LevelsC* s = self.side()
        cdef Py_ssize_t i
        cdef OrderLevel* lv
        out = []
        for i in range(_count(s, self._asks)):
            lv = &s.elements[i]
            out.append(ob_level_tuple(lv.price, lv.size, lv.order_count, lv.reserved))
        return out

    def to_numpy(self):
        """A numpy array of LEVEL_DTYPE sharing this side's memory (read-only
        when the book views read-only memory).  Far cheaper than
        ``numpy.asarray(side)``, which parses the PEP 3118 format each time."""
        global _frombuffer, _level_dtype
        if _frombuffer is None:
            import numpy
            from orderbook.level import level_dtype
            _level_dtype = level_dtype()
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
        cdef bint ro = self.book._readonly
        cdef Py_ssize_t n = _count(s, self._asks)
        if (flags & PyBUF_WRITABLE) and ro:
            raise ReadOnlyError("this book views read-only memory; a writable buffer was requested")
        if (flags & PyBUF_ND) == PyBUF_ND:
            if not (flags & PyBUF_FORMAT):
                raise BufferError("a side exports records: request PyBUF_FORMAT with its shape")
            buffer.format = <char*>_LEVEL_FORMAT_C
            buffer.itemsize = sizeof(OrderLevel)
            buffer.shape = &_COUNTS[n]
            buffer.strides = _LEVEL_STRIDE if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
        else:
            # a plain byte view (e.g. numpy.frombuffer): itemsize 1 by PEP 3118
            buffer.format = <char*>_BYTE_FORMAT_C if (flags & PyBUF_FORMAT) else NULL
            buffer.itemsize = 1
            buffer.shape = NULL
            buffer.strides = NULL
        buffer.buf = <void*>&s.elements[0]
        buffer.len = n * sizeof(OrderLevel)
        buffer.readonly = ro
        buffer.ndim = 1
        buffer.suboffsets = NULL
        buffer.internal = NULL
        buffer.obj = self
        self.book._exports += 1

    def __releasebuffer__(self, Py_buffer* buffer):
        self.book._exports -= 1
