# The message codec, for `cimport` by other extensions.
#
# The two classes are declared here so that C code can reach a decoded
# message's header struct and book without a Python call; the functions are
# shared with other extensions through this module's capsule table (Cython's
# `__pyx_capi__`), so a downstream extension calls the library's own CRC-32
# kernel and message codec without compiling or linking any C file.
# orderbook/capi.pxd wraps them as ob_crc32(), ob_encode_message() and
# ob_decode_message().

from libc.stdint cimport uint8_t, uint32_t, uint64_t

from orderbook._book cimport OrderBook
from orderbook._core cimport ob_fault
from orderbook.structs cimport BookLayout, MessageHeaderC, OrderBookHeadC


cdef class MessageHeader:
    # The 32 header bytes as read (or written), in host = wire byte order.
    cdef MessageHeaderC h


cdef class Message:
    cdef readonly MessageHeader header
    cdef readonly OrderBook book


# The checked message at p (its book at p + book_pos, header h, layout L) into
# `into` (a Message or OrderBook), or into `fresh` (or a new Message) when
# `into` is None; the book first, so a failure leaves `into` as it was.
cdef object deliver(object buffer, Py_ssize_t offset, Py_ssize_t book_pos, const uint8_t* p,
                    const MessageHeaderC* h, const BookLayout* L, object into, Message fresh,
                    bint copy, str what)

# zlib.crc32 semantics: crc32_update(crc32_update(0, a, na), b, nb) is the CRC of a||b.
cdef uint32_t crc32_update(uint32_t crc, const uint8_t* buf, size_t length) noexcept nogil

# Write the message holding `book` (of layout L) at `dst` (any alignment;
# `book` may lie inside [dst, dst + capacity)).  Returns the bytes written, or
# -1, writing nothing, when capacity is smaller than the message.
cdef Py_ssize_t write_message(uint8_t* dst, size_t capacity, const OrderBookHeadC* book,
                              const BookLayout* L, uint64_t sequence, uint64_t timestamp_ns,
                              uint8_t source, uint8_t relay_domain, uint8_t flags) noexcept nogil

# Check the message at `src` as decode_message does; the offset of its book,
# with *h and *L filled, or a negative OB_E* code with *f describing it.
cdef Py_ssize_t parse_message(const uint8_t* src, Py_ssize_t length, bint verify, MessageHeaderC* h,
                              BookLayout* L, ob_fault* f) noexcept nogil
