/* Building OrderLevel values (a tuple subclass) directly: the generic
   `tuple.__new__(OrderLevel, (...))` path costs a call, an argument tuple and
   a copy per level, which dominates iteration over a side. */
#ifndef OB_LEVEL_H
#define OB_LEVEL_H

#include <Python.h>
#include <stdint.h>

static inline PyObject *
ob_level_new(PyObject *type, int64_t price, int64_t size, uint32_t count, uint32_t reserved)
{
    PyTypeObject *t = (PyTypeObject *)type;
    PyObject *items[4];
    PyObject *level;
    int i;
    items[0] = PyLong_FromLongLong(price);
    items[1] = PyLong_FromLongLong(size);
    items[2] = PyLong_FromUnsignedLong(count);
    items[3] = PyLong_FromUnsignedLong(reserved);
    level = (items[0] && items[1] && items[2] && items[3]) ? t->tp_alloc(t, 4) : NULL;
    if (level == NULL) {
        for (i = 0; i < 4; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    for (i = 0; i < 4; i++) PyTuple_SET_ITEM(level, i, items[i]);   /* steals */
    return level;
}

/* The same four values as a plain tuple: CPython unpacks exact tuples on a
   fast path (`for p, s, c, r in ...`) that tuple subclasses miss. */
static inline PyObject *
ob_level_tuple(int64_t price, int64_t size, uint32_t count, uint32_t reserved)
{
    PyObject *items[4];
    PyObject *level;
    int i;
    items[0] = PyLong_FromLongLong(price);
    items[1] = PyLong_FromLongLong(size);
    items[2] = PyLong_FromUnsignedLong(count);
    items[3] = PyLong_FromUnsignedLong(reserved);
    level = (items[0] && items[1] && items[2] && items[3]) ? PyTuple_New(4) : NULL;
    if (level == NULL) {
        for (i = 0; i < 4; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    for (i = 0; i < 4; i++) PyTuple_SET_ITEM(level, i, items[i]);   /* steals */
    return level;
}

#endif
