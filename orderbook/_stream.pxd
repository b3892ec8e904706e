# Incremental decoding of message streams (sockets, pipes, files), for
# `cimport` by other extensions.  See _stream.pyx.

from libc.stdint cimport uint8_t

from orderbook._core cimport ob_fault
from orderbook.structs cimport BookLayout, MessageHeaderC


# What one framing step over the unread bytes found (_frame in _stream.pyx).
cdef struct StreamStep:
    int kind                # _NEED, _MSG, _JUNK, ... (see _stream.pyx)
    Py_ssize_t n            # bytes the step consumes / the message claims
    Py_ssize_t book_pos     # _MSG: offset of the book inside the message
    MessageHeaderC h
    BookLayout L
    ob_fault f


cdef class MessageReader:
    # The buffer: a bytearray allocated once at construction and never resized
    # (so memoryviews of it handed to recv_into/readinto can never dangle);
    # the unread bytes are [_start, _end), the free tail [_end, _cap).
    cdef bytearray _store
    cdef Py_ssize_t _cap
    cdef Py_ssize_t _start
    cdef Py_ssize_t _end
    cdef long long _base                # stream offset of _store[0]
    cdef Py_ssize_t _max_payload
    cdef bint _verify
    cdef bint _resync
    cdef bint _eof                      # the stream ended (feed_eof, or a read returned 0)
    cdef bint _busy                     # a recv_into/readinto/read call is running
    cdef bint _stop_on_truncated        # iter_messages: a cut last message ends quietly
    cdef bint _lazy_oversize            # iter_messages: fill the buffer before refusing a header
    cdef object _into                   # None, a Message or an OrderBook
    cdef object _pending                # list of bytes not yet in the buffer (feed overflow), or None
    cdef Py_ssize_t _pending_pos        # offset into _pending[0]
    cdef Py_ssize_t _pending_len        # bytes in _pending, past _pending_pos
    cdef readonly unsigned long long messages
    cdef readonly unsigned long long skipped_bytes
    cdef readonly unsigned long long skipped_messages
    cdef readonly unsigned long long identification_frames

    cdef int _init(self, bint verify, bint resync, object max_payload, object into,
                   Py_ssize_t min_buffer) except -1
    cdef int _check_idle(self, str what) except -1
    cdef Py_ssize_t _free(self) noexcept
    cdef void _tidy(self) noexcept
    cdef int _full(self) except -1
    cdef object _fill_with(self, object method, str what)
    cdef int _refill(self) except -1
    cdef int _push(self, object data) except -1
    cdef object _next(self)
    cdef Py_ssize_t _read_fd(self, int fd) except -1
