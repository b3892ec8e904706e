# Python arguments to C values, with the library's own errors: integers with
# range checks, offsets, and contiguous byte spans of buffer objects.
#
# Each of these may run Python code (an argument's __index__, an exporter's
# buffer hook): call them before taking a pointer into a book, never between
# taking one and using it (docs/design.md, "No pointer survives Python code").

from cpython.buffer cimport Py_buffer
from libc.stdint cimport int64_t, uint64_t

from cpython.ref cimport PyObject

from orderbook._cpython cimport int_value, is_int

cdef str field_name(object side, Py_ssize_t index, object field)
cdef int as_i64_any(object v, object side, Py_ssize_t index, object field, int64_t* out) except -1
cdef int as_u64_any(object v, uint64_t maxv, object side, Py_ssize_t index, object field,
                    uint64_t* out) except -1


# The common case inline in every caller (an exact int in range: no call
# across modules, no argument reference counting); anything else, and every
# error, goes through the full conversion above.
cdef inline int as_i64(object v, object side, Py_ssize_t index, object field,
                       int64_t* out) except -1:
    cdef int overflow = 0
    cdef long long r
    if is_int(<PyObject*>v):
        r = int_value(<PyObject*>v, &overflow)
        if overflow == 0:
            out[0] = r
            return 0
    return as_i64_any(v, side, index, field, out)


cdef inline int as_u64(object v, uint64_t maxv, object side, Py_ssize_t index, object field,
                       uint64_t* out) except -1:
    cdef int overflow = 0
    cdef long long r
    if is_int(<PyObject*>v):
        r = int_value(<PyObject*>v, &overflow)
        if overflow == 0 and r >= 0 and <uint64_t>r <= maxv:
            out[0] = <uint64_t>r
            return 0
    return as_u64_any(v, maxv, side, index, field, out)
cdef Py_ssize_t as_offset(object offset, object what) except -1
cdef Py_ssize_t as_index(object key, object what) except? -1
cdef int get_span(object buffer, Py_ssize_t offset, Py_ssize_t need, int flags, Py_buffer* b,
                  object what) except -1
