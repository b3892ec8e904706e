# Argument conversion shared by every module (declared in _convert.pxd).

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bool cimport PyBool_Check
from cpython.exc cimport PyErr_Clear, PyErr_Occurred
from cpython.long cimport PyLong_Check
from libc.stdint cimport INT64_MAX, INT64_MIN, UINT64_MAX

from orderbook._cpython cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong

import operator

from orderbook.errors import (
    ExportError, FieldRangeError, FieldTypeError, OffsetError, ReadOnlyError, TruncatedError,
)


cdef str field_name(object side, Py_ssize_t index, object field):
    """"price" for a header field, "bids[3].price" for a level's, and
    "add_bid: price" for an argument of a call (index < 0)."""
    if side is None:
        return field
    if index < 0:
        return f"{side}: {field}"
    return f"{side}[{index}].{field}"


cdef object _index_of(object v, object side, Py_ssize_t index, object field):
    if PyBool_Check(v):
        raise FieldTypeError(f"{field_name(side, index, field)} must be an integer, got bool {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise FieldTypeError(
            f"{field_name(side, index, field)} must be an integer, got {type(v).__name__} {v!r}"
        ) from None


cdef int as_i64_any(object v, object side, Py_ssize_t index, object field, int64_t* out) except -1:
    cdef int overflow = 0
    cdef long long r
    if not PyLong_Check(v) or PyBool_Check(v):
        v = _index_of(v, side, index, field)
    r = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow:
        raise FieldRangeError(
            f"{field_name(side, index, field)} must be in {INT64_MIN}..{INT64_MAX}, got {v}")
    out[0] = r
    return 0


cdef int as_u64_any(object v, uint64_t maxv, object side, Py_ssize_t index, object field,
                    uint64_t* out) except -1:
    cdef int overflow = 0
    cdef long long r
    cdef unsigned long long u
    if not PyLong_Check(v) or PyBool_Check(v):
        v = _index_of(v, side, index, field)
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
    raise FieldRangeError(f"{field_name(side, index, field)} must be in 0..{maxv}, got {v}")


cdef Py_ssize_t as_offset(object offset, object what) except -1:
    """An offset argument as a C index: our errors, not Cython's, for values
    that are negative, beyond Py_ssize_t, or not integers."""
    cdef Py_ssize_t v
    if not PyLong_Check(offset) or PyBool_Check(offset):
        offset = _index_of(offset, None, 0, "offset")
    try:
        v = offset
    except OverflowError:
        raise OffsetError(f"{what}: offset {offset} is beyond any buffer") from None
    if v < 0:
        raise OffsetError(f"{what}: offset must be >= 0, got {v}")
    return v


cdef Py_ssize_t as_index(object key, object what) except? -1:
    """A sequence index as a C index; one beyond Py_ssize_t becomes the
    nearest Py_ssize_t, which every caller's range check then refuses."""
    cdef int overflow = 0
    cdef long long r
    if not PyLong_Check(key) or PyBool_Check(key):
        if PyBool_Check(key):
            raise FieldTypeError(f"{what} indices must be integers or slices, got bool")
        try:
            key = operator.index(key)
        except TypeError:
            raise FieldTypeError(
                f"{what} indices must be integers or slices, got {type(key).__name__}") from None
    r = PyLong_AsLongLongAndOverflow(key, &overflow)
    if overflow:
        return <Py_ssize_t>(-(1LL << 62) if overflow < 0 else (1LL << 62))
    return <Py_ssize_t>r


cdef bint _exports_read_only(object buffer):
    cdef Py_buffer b
    try:
        PyObject_GetBuffer(buffer, &b, PyBUF_SIMPLE)
    except Exception:
        return False
    PyBuffer_Release(&b)
    return True


cdef int get_span(object buffer, Py_ssize_t offset, Py_ssize_t need, int flags, Py_buffer* b,
                  object what) except -1:
    """Take `buffer` and check that `need` bytes exist at `offset`; nothing is
    held on failure.  `what` is the call the user made, for the message."""
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
