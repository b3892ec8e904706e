# Python arguments to C values, with the library's own errors: integers with
# range checks, offsets, and contiguous byte spans of buffer objects.
#
# Each of these may run Python code (an argument's __index__, an exporter's
# buffer hook): call them before taking a pointer into a book, never between
# taking one and using it (docs/design.md, "No pointer survives Python code").

from cpython.buffer cimport Py_buffer
from libc.stdint cimport int64_t, uint64_t

cdef str field_name(object side, Py_ssize_t index, object field)
cdef int as_i64(object v, object side, Py_ssize_t index, object field, int64_t* out) except -1
cdef int as_u64(object v, uint64_t maxv, object side, Py_ssize_t index, object field,
                uint64_t* out) except -1
cdef Py_ssize_t as_offset(object offset, object what) except -1
cdef Py_ssize_t as_index(object key, object what) except? -1
cdef int get_span(object buffer, Py_ssize_t offset, Py_ssize_t need, int flags, Py_buffer* b,
                  object what) except -1
