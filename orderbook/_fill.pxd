# Filling one side of a book from Python values: sequences of levels, numpy
# arrays and other buffers.  The target is a caller's LevelsC (normally a
# local, copied into the book afterwards, so that a bad level leaves the book
# as it was and no pointer into the book is held while Python code runs).

from orderbook.structs cimport BookLayout, LevelsC

# Capacity check (CapacityError naming L's capacity unless `truncate`), then
# the side zeroed over L.side_size bytes.
cdef int start_side(LevelsC* dst, const BookLayout* L, Py_ssize_t total, bint asks,
                    bint truncate) except -1

# Replace dst (of layout L) with `levels`: an iterable of (price, size[,
# order_count[, reserved]]) items, an (n, 2..4) int64 array or LEVEL_DTYPE
# records.  May run Python code (iteration, __index__).
cdef int fill_levels(LevelsC* dst, const BookLayout* L, object levels, bint asks,
                     bint truncate) except -1
