/* The leading fields of numpy's array object (PyArrayObject_fields in
   numpy/ndarraytypes.h), unchanged since NumPy 1.7 and through 2.x.

   Reading them lets the hot path take an array's data pointer, shape and
   strides without the buffer protocol -- numpy's bf_getbuffer allocates its
   format string and info block on every call -- and without building against
   numpy, which stays an optional runtime dependency.  The caller checks the
   object's type and its dtype (by identity with dtypes numpy itself handed
   out) before trusting any field. */
#ifndef OB_NDARRAY_H
#define OB_NDARRAY_H

#include <Python.h>

typedef struct {
    PyObject_HEAD
    char *data;
    int nd;
    Py_ssize_t *dimensions;   /* npy_intp is Py_ssize_t-sized on every platform */
    Py_ssize_t *strides;
    PyObject *base;
    PyObject *descr;
    int flags;
} ob_ndarray;

#endif
