# CPython C API entries that Cython's own cpython/*.pxd declare with owned
# references or not at all: the borrowed-pointer forms the level loops use,
# so reading a level costs no reference counting.  Shared by every module.

from cpython.object cimport PyObject

cdef extern from "Python.h":
    bint is_str "PyUnicode_Check"(PyObject* o) noexcept nogil
    int str_kind "PyUnicode_KIND"(PyObject* o) noexcept nogil
    void* str_data "PyUnicode_DATA"(PyObject* o) noexcept nogil
    Py_ssize_t str_len "PyUnicode_GET_LENGTH"(PyObject* o) noexcept nogil
    bint is_bytes "PyBytes_Check"(PyObject* o) noexcept nogil
    char* bytes_data "PyBytes_AS_STRING"(PyObject* o) noexcept nogil
    Py_ssize_t bytes_len "PyBytes_GET_SIZE"(PyObject* o) noexcept nogil
    bint is_list "PyList_CheckExact"(PyObject* o) noexcept nogil
    Py_ssize_t list_len "PyList_GET_SIZE"(PyObject* o) noexcept nogil
    PyObject* list_item "PyList_GET_ITEM"(PyObject* o, Py_ssize_t i) noexcept nogil
    bint is_tuple "PyTuple_CheckExact"(PyObject* o) noexcept nogil
    bint is_any_tuple "PyTuple_Check"(PyObject* o) noexcept nogil
    Py_ssize_t tuple_len "PyTuple_GET_SIZE"(PyObject* o) noexcept nogil
    PyObject* tuple_item "PyTuple_GET_ITEM"(PyObject* o, Py_ssize_t i) noexcept nogil
    bint is_int "PyLong_CheckExact"(PyObject* o) noexcept nogil
    long long int_value "PyLong_AsLongLongAndOverflow"(PyObject* o, int* overflow) noexcept
    # the owned-reference forms, for values held as objects
    long long PyLong_AsLongLongAndOverflow(object, int*) except? -1
    unsigned long long PyLong_AsUnsignedLongLong(object)
