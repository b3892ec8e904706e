from orderbook.structs cimport BookLayout

# A `capacity=` argument as its layout: 128 (or None) or 50, else CapacityError.
cdef int layout_arg(object capacity, BookLayout* out) except -1
