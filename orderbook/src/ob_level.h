/* Building level values directly in C: the generic
   `tuple.__new__(OrderLevel, (...))` path costs a call, an argument tuple and
   a copy per level, which dominates iteration over a side. */
#ifndef OB_LEVEL_H
#define OB_LEVEL_H

#include <Python.h>
#include <stdint.h>

/* A 4-tuple of (price, size, order_count, reserved): an instance of `type`
   (a tuple subclass such as OrderLevel), or a plain tuple when `type` is NULL. */
static inline PyObject *
ob_level_build(PyObject *type, int64_t price, int64_t size, uint32_t count, uint32_t reserved)
{
    PyObject *items[4];
    PyObject *level = NULL;
    int i;
    items[0] = PyLong_FromLongLong(price);
    items[1] = PyLong_FromLongLong(size);
    items[2] = PyLong_FromUnsignedLong(count);
    items[3] = PyLong_FromUnsignedLong(reserved);
    if (items[0] && items[1] && items[2] && items[3]) {
        level = type ? ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, 4) : PyTuple_New(4);
    }
    if (level == NULL) {
        for (i = 0; i < 4; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    for (i = 0; i < 4; i++) PyTuple_SET_ITEM(level, i, items[i]);   /* steals */
    return level;
}

/* An OrderLevel (named tuple) for indexing and iteration. */
static inline PyObject *
ob_level_new(PyObject *type, int64_t price, int64_t size, uint32_t count, uint32_t reserved)
{
    return ob_level_build(type, price, size, count, reserved);
}

/* A plain tuple: CPython unpacks exact tuples (`for p, s, c, r in ...`) on a
   fast path that tuple subclasses miss. */
static inline PyObject *
ob_level_tuple(int64_t price, int64_t size, uint32_t count, uint32_t reserved)
{
    return ob_level_build(NULL, price, size, count, reserved);
}

#endif
