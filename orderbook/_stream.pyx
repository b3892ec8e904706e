# Incremental decoding of Protocol V2 message streams.
#
# MessageReader frames messages out of a byte stream that arrives in pieces of
# any size (a SOCK_STREAM socket, a pipe, a file): each message is framed only
# by its header's payload_size, so a reader keeps the unread bytes and yields a
# message as soon as all of it is there.  _Scan is the iterator behind
# orderbook.iter_messages: in place over a bytes-like capture, or through a
# MessageReader over a file.
#
# Memory: one buffer per reader, a bytearray allocated at construction and
# never resized (32 + max_payload bytes, 64 KiB by default).  A header whose
# payload_size is above max_payload is refused (TruncatedError) instead of
# buffered.  The unread tail moves to the front (memmove) when the free space
# is short; nothing is allocated per message.  With into= each message refills
# the same Message (or OrderBook): no allocation at all once warm.
#
# No pointer survives Python code (docs/design.md, section 4): a pointer into
# the buffer is taken after everything that may run Python code and used in C
# only; an allocation (a new Message) comes first and the framing starts again
# after it.  While a recv_into/readinto/read call (Python code, or a nogil
# read) writes into the buffer, the reader is busy: every other call on it
# raises ExportError, so nothing moves the bytes under the writer.

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_FromStringAndSize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from libc.errno cimport EINTR, errno
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memchr, memcpy, memmove
from posix.unistd cimport close as c_close, read as c_read

from orderbook._book cimport OrderBook
from orderbook._convert cimport as_u64, get_span
from orderbook._core cimport OB_D_NONE, OB_EMAGIC, ob_fail
from orderbook._message cimport Message, deliver, parse_message
from orderbook.structs cimport OB_HEADER_MAGIC, MessageHeaderC

import io
import os

from orderbook._message import _raise_fault
from orderbook.errors import ExportError, FieldTypeError, TruncatedError

cdef enum:
    HDR = sizeof(MessageHeaderC)

# What _frame found at the start of the unread bytes.
cdef enum:
    _NEED = 0           # more bytes are needed to decide (or none are left)
    _MSG = 1            # a message of n bytes, book at book_pos
    _JUNK = 2           # resync: n bytes that begin no message
    _IDENT = 3          # resync: a 32-byte identification frame
    _DAMAGED = 4        # resync: a header that fails to decode; n bytes to the next magic
    _FAULT = 5          # the message fails to decode (f says why)
    _OVERSIZE = 6       # payload_size above max_payload (n: the bytes it claims)
    _CUT = 7            # the stream ended inside a message (n: its size, -1: inside the header)
    _STOP = 8           # stop_on_truncated: the stream ended inside a message

# The default max_payload: the buffer is 64 KiB.  The largest message the
# library writes is 32 + 5 + 6,200 = 6,237 bytes; the rest is room for
# foreign TLV records that upstream services may add beside the book.
DEFAULT_BUFFER_SIZE = 64 * 1024
DEFAULT_MAX_PAYLOAD = DEFAULT_BUFFER_SIZE - HDR

# iter_messages over a file reads through a buffer of at least this size
cdef Py_ssize_t _SCAN_BUFFER = 256 * 1024

cdef Py_ssize_t _NO_LIMIT = 0xFFFFFFFF


cdef inline Py_ssize_t _find_magic(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    """Offset of the first whole magic (EF BE AD DE) in p[0:n], or -1."""
    cdef const uint8_t* q = p
    cdef const uint8_t* last = p + n - 3        # a magic must start before this
    while q < last:
        q = <const uint8_t*>memchr(q, 0xEF, <size_t>(last - q))
        if q == NULL:
            return -1
        if q[1] == 0xBE and q[2] == 0xAD and q[3] == 0xDE:
            return q - p
        q += 1
    return -1


cdef inline int _skip(const uint8_t* p, Py_ssize_t avail, bint eof, StreamStep* s, int kind) noexcept nogil:
    """Resync: skip to the next magic after p[0]; without one, skip all but the
    last 3 bytes (they may begin a magic), or everything at the end of the stream."""
    cdef Py_ssize_t k = _find_magic(p + 1, avail - 1)
    if k >= 0:
        s.n = k + 1
    elif eof:
        s.n = avail
    else:
        s.n = avail - 3 if avail > 3 else 1
    return kind


cdef int _frame(const uint8_t* p, Py_ssize_t avail, Py_ssize_t cap, bint eof, bint verify,
                bint resync, bint stop, bint lazy, Py_ssize_t max_payload, StreamStep* s) noexcept nogil:
    """Decide what the `avail` unread bytes at p begin with (pure C, no Python).

    `eof`: no more bytes will come; `cap`: the most bytes the caller can ever
    hold from p; `lazy`: an oversized header waits for a full buffer (or the
    end of the stream) before it is refused, so that a short file reports a
    truncation exactly as a bytes capture does."""
    cdef uint32_t magic
    cdef Py_ssize_t need, pos
    s.n = 0
    s.book_pos = -1
    if avail <= 0:
        return _NEED
    if resync:
        if avail < 4:
            if not eof:
                return _NEED
            s.n = avail
            return _JUNK
        memcpy(&magic, p, 4)
        if magic != OB_HEADER_MAGIC:
            return _skip(p, avail, eof, s, _JUNK)
    if avail < HDR:
        if not eof:
            return _NEED
        if stop:
            return _STOP
        if resync:
            return _skip(p, avail, eof, s, _DAMAGED)
        s.n = -1
        return _CUT
    memcpy(&s.h, p, HDR)
    if s.h.magic != OB_HEADER_MAGIC:                     # (resync skipped these above)
        ob_fail(&s.f, OB_EMAGIC, OB_D_NONE, False, -1, 0, s.h.magic)
        return _FAULT
    if resync and s.h.payload_size == 0 and s.h.checksum == 0:
        s.n = HDR
        return _IDENT
    need = HDR + <Py_ssize_t>s.h.payload_size
    if avail < need:
        if eof:
            if stop:
                return _STOP
            if resync:
                return _skip(p, avail, eof, s, _DAMAGED)
            s.n = need
            return _CUT
        if need - HDR > max_payload:
            if resync:
                return _skip(p, avail, eof, s, _DAMAGED)
            if lazy and avail < cap:
                return _NEED
            s.n = need
            return _OVERSIZE
        return _NEED
    pos = parse_message(p, need, verify, &s.h, &s.L, &s.f)
    if pos < 0:
        if resync:
            return _skip(p, avail, eof, s, _DAMAGED)
        return _FAULT
    s.n = need
    s.book_pos = pos
    return _MSG


cdef inline object _deliver(const uint8_t* p, StreamStep* s, object into, Message fresh,
                            object buffer, Py_ssize_t offset, bint copy, str what):
    """The message framed at p into `into` (or `fresh`), by _message.deliver.
    Runs no Python code before the copy (load() allocates an owning book's
    storage with PyMem; `fresh` was allocated before the framing)."""
    return deliver(buffer, offset, s.book_pos, p, &s.h, &s.L, into, fresh, copy, what)


cdef int _raise_step(int kind, StreamStep* s, long long at, Py_ssize_t have,
                     Py_ssize_t max_payload) except -1:
    """The exception for a step that cannot go on; `at` is the stream offset of
    the message, `have` the bytes held from there."""
    if kind == _FAULT:
        _raise_fault(s.f, at)
    if kind == _CUT:
        if s.n < 0:
            raise TruncatedError(
                f"truncated message at offset {at}: {have} bytes left, a header needs {HDR}",
                at, HDR, have)
        raise TruncatedError(
            f"truncated message at offset {at}: it needs {s.n} bytes, {have} remain", at, s.n, have)
    if kind == _OVERSIZE:
        raise TruncatedError(
            f"message at offset {at} claims payload_size {s.h.payload_size} ({s.n} bytes with its "
            f"header), more than max_payload={max_payload}: refused without buffering it (pass a "
            f"larger max_payload=, or resync=True to skip it)", at, s.n, have)
    raise SystemError(f"orderbook: unexpected stream step {kind}")


cdef object _check_into(object into):
    if into is not None and not isinstance(into, (Message, OrderBook)):
        raise FieldTypeError(f"into= takes a Message or an OrderBook, got {type(into).__name__}")
    return into


cdef Py_ssize_t _read_count(object n, Py_ssize_t limit, str what) except -2:
    """What a readinto/recv_into call returned: -1 for None, else 0..limit."""
    if n is None:
        return -1
    if not isinstance(n, int):
        raise FieldTypeError(f"{what} returned {type(n).__name__}, expected the number of bytes read")
    if n < 0 or n > limit:
        raise FieldTypeError(f"{what} returned {n}, expected 0..{limit} (the bytes it was given)")
    return n


@cython.auto_pickle(False)
cdef class MessageReader:
    """MessageReader(*, verify=True, resync=False, max_payload=None, into=None)

    Incremental decoder of a message stream: give it bytes as they arrive
    (``feed(data)``, ``recv_into(sock)``, ``readinto(f)``) and iterate over it
    for every message complete so far, in order; a partial message waits for
    the rest.

    - ``max_payload``: the largest payload_size accepted (default 65,504: a
      64 KiB buffer; the largest message the library writes is 6,237 bytes,
      the rest is room for foreign TLV records beside the book).  The buffer,
      ``32 + max_payload`` bytes, is allocated once here and never regrown; a
      header claiming more raises TruncatedError at once (``needed``: the bytes
      it claims), with ``resync=True`` it is skipped as damage.
    - ``verify``: check every CRC-32 (default).
    - ``into``: a Message or OrderBook refilled by every message (no
      allocation); without it each message is a new Message with a copy of the
      book.  The book takes each message's capacity (128 or 50).
    - ``resync``: bytes that begin no valid message are skipped to the next
      0xDEADBEEF magic and counted: ``skipped_bytes`` (all bytes not
      delivered), ``skipped_messages`` (headers with the magic that failed to
      decode), ``identification_frames`` (32-byte headers with payload_size 0
      and checksum 0, which upstream's relays send first: not yielded, not
      damage).  Resync relies on the CRC: keep ``verify=True``.

    Errors (without resync) are raised by the iteration with the stream offset
    of the message (in the text and, for TruncatedError, in ``offset``); the
    offending bytes stay, so iterating again raises again: ``reset()`` drops
    everything buffered.  ``offset`` is the stream offset of the next unread
    byte, ``buffered`` the bytes waiting, ``messages`` the count yielded.
    """

    def __init__(self, *, bint verify=True, bint resync=False, max_payload=None, into=None):
        self._init(verify, resync, max_payload, into, 0)

    cdef int _init(self, bint verify, bint resync, object max_payload, object into,
                   Py_ssize_t min_buffer) except -1:
        cdef uint64_t mp = DEFAULT_MAX_PAYLOAD
        if self._busy:
            self._check_idle("re-initialise")
        if max_payload is not None:
            as_u64(max_payload, 0xFFFFFFFF, None, 0, "max_payload", &mp)
        self._into = _check_into(into)
        self._verify = verify
        self._resync = resync
        self._max_payload = <Py_ssize_t>mp
        self._cap = HDR + self._max_payload
        if self._cap < min_buffer:
            self._cap = min_buffer
        self._store = PyByteArray_FromStringAndSize(NULL, self._cap)
        self._start = self._end = 0
        self._base = 0
        self._eof = False
        self._pending = None
        self._pending_pos = self._pending_len = 0
        self.messages = self.skipped_bytes = self.skipped_messages = self.identification_frames = 0
        return 0

    cdef int _check_idle(self, str what) except -1:
        if self._busy:
            raise ExportError(
                f"MessageReader: cannot {what} while a recv_into/readinto/read call is filling it")
        if self._store is None:
            self._init(True, False, None, None, 0)
        return 0

    cdef Py_ssize_t _free(self) noexcept:
        """Move the unread bytes to the front; the free space after them."""
        cdef char* b
        if self._start > 0:
            b = PyByteArray_AS_STRING(self._store)
            memmove(b, b + self._start, self._end - self._start)
            self._base += self._start
            self._end -= self._start
            self._start = 0
        return self._cap - self._end

    cdef void _tidy(self) noexcept:
        if self._start == self._end and self._start:
            self._base += self._start
            self._start = self._end = 0

    cdef int _refill(self) except -1:
        """Move bytes of fed chunks that did not fit into the buffer."""
        cdef Py_ssize_t k, left
        cdef bytes chunk
        while self._pending is not None:
            if self._cap - self._end < self._pending_len:
                self._free()
            if self._end == self._cap:
                return 0
            chunk = <bytes>self._pending[0]
            left = PyBytes_GET_SIZE(chunk) - self._pending_pos
            k = min(left, self._cap - self._end)
            memcpy(PyByteArray_AS_STRING(self._store) + self._end,
                   PyBytes_AS_STRING(chunk) + self._pending_pos, k)
            self._end += k
            self._pending_pos += k
            self._pending_len -= k
            if k == left:
                del self._pending[0]
                self._pending_pos = 0
                if not self._pending:
                    self._pending = None
        return 0

    cdef int _push(self, object data) except -1:
        """Copy `data` (bytes-like) in: into the buffer as far as it fits, the
        rest into an immutable chunk drained as the messages are read."""
        cdef Py_buffer b
        cdef Py_ssize_t k
        cdef object rest
        get_span(data, 0, 0, PyBUF_SIMPLE, &b, "MessageReader.feed")
        # busy while copying: the allocations below may run a collector
        # callback, which must not feed this reader in the middle
        self._busy = True
        try:
            if b.len == 0:
                return 0
            self._eof = False
            if self._pending is None:
                if self._cap - self._end < b.len:
                    self._free()
                k = min(b.len, self._cap - self._end)
                memcpy(PyByteArray_AS_STRING(self._store) + self._end, b.buf, k)
                self._end += k
                if k < b.len:
                    rest = PyBytes_FromStringAndSize(<const char*>b.buf + k, b.len - k)
                    self._pending = [rest]
                    self._pending_pos = 0
                    self._pending_len = b.len - k
            else:
                rest = PyBytes_FromStringAndSize(<const char*>b.buf, b.len)
                self._pending.append(rest)
                self._pending_len += b.len
        finally:
            self._busy = False
            PyBuffer_Release(&b)
        return 0

    cdef object _next(self):
        """The next complete message, or None (more bytes needed, or the end)."""
        cdef StreamStep s
        cdef Message fresh = None
        cdef const uint8_t* p
        cdef int kind
        cdef object out
        self._check_idle("iterate over")
        while True:
            if self._pending is not None:
                self._refill()
            # the pointer is taken here, after anything that ran Python code
            p = <const uint8_t*>PyByteArray_AS_STRING(self._store) + self._start
            kind = _frame(p, self._end - self._start, self._cap, self._eof and self._pending is None,
                          self._verify, self._resync, self._stop_on_truncated, self._lazy_oversize,
                          self._max_payload, &s)
            if kind == _MSG:
                if self._into is None and fresh is None:
                    # may run a collector callback that feeds or reads this
                    # reader: frame again after it
                    fresh = Message.__new__(Message)
                    continue
                out = _deliver(p, &s, self._into, fresh, None, 0, True, "MessageReader")
                self._start += s.n
                self.messages += 1
                self._tidy()
                return out
            if kind == _JUNK or kind == _DAMAGED:
                if kind == _DAMAGED:
                    self.skipped_messages += 1
                self.skipped_bytes += s.n
                self._start += s.n
                self._tidy()
            elif kind == _IDENT:
                self.identification_frames += 1
                self._start += s.n
                self._tidy()
            elif kind == _NEED or kind == _STOP:
                return None
            else:
                _raise_step(kind, &s, self._base + self._start, self._end - self._start,
                            self._max_payload)

    cdef Py_ssize_t _read_fd(self, int fd) except -1:
        """One read(2) of `fd` into the free space, without the GIL; 0 at EOF."""
        cdef Py_ssize_t free, n
        cdef char* dst
        self._check_idle("read into")
        if self._pending is not None:
            self._refill()
        free = self._free()
        if free == 0:
            return self._full()
        dst = PyByteArray_AS_STRING(self._store) + self._end
        self._busy = True
        try:
            while True:
                with nogil:
                    n = c_read(fd, dst, <size_t>free)
                if n >= 0:
                    break
                if errno != EINTR:
                    raise OSError(errno, os.strerror(errno))
                PyErr_CheckSignals()            # a handler may raise (KeyboardInterrupt)
        finally:
            self._busy = False
        self._end += n
        self._eof = n == 0
        return n

    cdef int _full(self) except -1:
        raise ExportError(
            f"MessageReader: the buffer is full ({self._end - self._start} bytes waiting): "
            "iterate over the reader before reading more")

    cdef object _fill_with(self, object method, str what):
        """Call method(memoryview of the free space) (recv_into / readinto): the
        bytes read, or None when it returned None."""
        cdef Py_ssize_t n, free
        self._check_idle("read into")
        if self._pending is not None:
            self._refill()
        free = self._free()
        if free == 0:
            self._full()
        self._busy = True
        try:
            mv = memoryview(self._store)[self._end:]
            try:
                got = method(mv)
            finally:
                try:
                    mv.release()
                except BufferError:
                    pass            # re-exported by the callee; the bytearray outlives it
            n = _read_count(got, free, what)
        finally:
            self._busy = False
        if n < 0:
            return None
        self._end += n
        self._eof = n == 0
        return got

    # --- Python API ----------------------------------------------------------

    def feed(self, data):
        """Append the bytes of ``data`` (any bytes-like object, of any size) to
        the stream; they are copied (a chunk larger than the free space is kept
        as a copy and moved in as messages are read)."""
        self._check_idle("feed")
        self._push(data)

    def feed_eof(self):
        """Mark the end of the stream: iterating then raises TruncatedError on
        a cut last message (with resync: counts it as skipped).  More bytes fed
        later continue the stream."""
        self._check_idle("end")
        self._eof = True

    def recv_into(self, sock):
        """Read from ``sock`` (a socket, or anything with ``recv_into``)
        straight into the free space of the buffer; return the bytes read, 0
        at the end of the stream (which then counts as ``feed_eof()``)."""
        self._check_idle("read into")
        return self._fill_with(sock.recv_into, "recv_into()")

    def readinto(self, f):
        """Read from the binary file ``f`` with ``f.readinto`` straight into the
        free space; return the bytes read, 0 at the end of the file (which then
        counts as ``feed_eof()``), None when a non-blocking file has no data."""
        self._check_idle("read into")
        return self._fill_with(f.readinto, "readinto()")

    def reset(self):
        """Drop every byte buffered or fed and not read yet; ``offset`` moves
        past them (it stays a position in the stream).  Counts are kept."""
        self._check_idle("reset")
        self._base += self._end + self._pending_len
        self._start = self._end = 0
        self._pending = None
        self._pending_pos = self._pending_len = 0
        self._eof = False

    def __iter__(self):
        return self

    def __next__(self):
        out = self._next()
        if out is None:
            raise StopIteration
        return out

    @property
    def offset(self):
        """Stream offset of the next unread byte."""
        return self._base + self._start

    @property
    def buffered(self):
        """Bytes received and not read yet."""
        return self._end - self._start + self._pending_len

    @property
    def capacity(self):
        """Size of the buffer in bytes (32 + max_payload)."""
        return self._cap

    @property
    def max_payload(self):
        """The largest payload_size this reader accepts."""
        return self._max_payload

    @property
    def verify(self):
        return self._verify

    @property
    def resync(self):
        return self._resync

    @property
    def into(self):
        return self._into

    @property
    def eof(self):
        """True once the end of the stream was seen (and nothing fed since)."""
        return self._eof

    def __repr__(self):
        return (f"<MessageReader offset={self.offset} buffered={self.buffered} "
                f"messages={self.messages} capacity={self._cap}>")


# --- iter_messages ------------------------------------------------------------------

cdef enum:
    _SRC_BUFFER = 0     # in place over a bytes-like object
    _SRC_FD = 1         # read(2) on a file descriptor (a path opened here, or an io.FileIO)
    _SRC_READINTO = 2   # f.readinto(memoryview)
    _SRC_READ = 3       # f.read(n)


cdef bint _reads_into(object f):
    """Whether to read `f` with readinto: it has one, defined at least as far
    down the class hierarchy as its read() (a subclass that overrides read()
    alone is read through its read())."""
    cdef Py_ssize_t i, at_read = -1, at_into = -1
    for i, k in enumerate(type(f).__mro__):
        d = k.__dict__
        if at_into < 0 and "readinto" in d:
            at_into = i
        if at_read < 0 and "read" in d:
            at_read = i
    return at_into >= 0 and (at_read < 0 or at_into <= at_read)


@cython.auto_pickle(False)
cdef class _Scan:
    """The iterator iter_messages returns: messages in order, as a generator
    would (exhausted after the last message or after an error), with the
    resync counts readable while and after it runs.  ``close()`` (or leaving
    a ``with`` block) ends it and closes a file it opened from a path."""

    cdef int _mode
    cdef object _source
    cdef object _method
    cdef int _fd
    cdef bint _own_fd
    cdef bint _done
    cdef MessageReader _rd
    # in place over a buffer
    cdef Py_ssize_t _pos
    cdef bint _verify, _copy, _resync, _stop
    cdef object _into
    cdef unsigned long long _messages, _skipped_bytes, _skipped_messages, _ident

    def __cinit__(self):
        self._fd = -1

    def __dealloc__(self):
        if self._own_fd and self._fd >= 0:
            c_close(self._fd)
            self._fd = -1

    def __iter__(self):
        return self

    def __next__(self):
        cdef object out
        if self._done:
            raise StopIteration
        try:
            out = self._next_buffer() if self._mode == _SRC_BUFFER else self._next_stream()
        except BaseException:
            self._finish()
            raise
        if out is None:
            self._finish()
            raise StopIteration
        return out

    cdef object _next_buffer(self):
        cdef StreamStep s
        cdef Py_buffer b
        cdef Message fresh = None
        cdef const uint8_t* p
        cdef Py_ssize_t avail
        cdef int kind
        if self._into is None:
            fresh = Message.__new__(Message)        # first: it may run Python code
        get_span(self._source, 0, 0, PyBUF_SIMPLE, &b, "iter_messages")
        try:
            while True:
                avail = b.len - self._pos
                if avail <= 0:
                    return None
                p = <const uint8_t*>b.buf + self._pos
                kind = _frame(p, avail, avail, True, self._verify, self._resync, self._stop, False,
                              _NO_LIMIT, &s)
                if kind == _MSG:
                    out = _deliver(p, &s, self._into, fresh, self._source, self._pos, self._copy,
                                   "iter_messages")
                    self._pos += s.n
                    self._messages += 1
                    return out
                if kind == _JUNK or kind == _DAMAGED:
                    if kind == _DAMAGED:
                        self._skipped_messages += 1
                    self._skipped_bytes += s.n
                    self._pos += s.n
                elif kind == _IDENT:
                    self._ident += 1
                    self._pos += s.n
                elif kind == _NEED or kind == _STOP:
                    return None
                else:
                    _raise_step(kind, &s, self._pos, avail, _NO_LIMIT)
        finally:
            PyBuffer_Release(&b)

    cdef object _next_stream(self):
        cdef MessageReader rd = self._rd
        cdef object out
        while True:
            out = rd._next()
            if out is not None:
                return out
            if rd._eof:
                return None
            self._fill()

    cdef int _fill(self) except -1:
        cdef MessageReader rd = self._rd
        cdef Py_ssize_t free
        if self._mode == _SRC_FD:
            if self._source is not None and self._source.closed:
                raise ValueError("iter_messages: the file was closed during the scan")
            rd._read_fd(self._fd)
        elif self._mode == _SRC_READINTO:
            if rd._fill_with(self._method, "readinto()") is None:
                raise FieldTypeError(
                    "iter_messages needs a blocking binary file: readinto() returned None (no data "
                    "yet on a non-blocking file)")
        else:
            rd._check_idle("read into")
            if rd._pending is not None:
                rd._refill()
            free = rd._free()
            if free == 0:
                rd._full()
            chunk = self._method(free)
            if chunk is None:
                raise FieldTypeError(
                    "iter_messages needs a blocking binary file: read() returned None (no data yet "
                    "on a non-blocking file)")
            if not PyObject_CheckBuffer(chunk):
                raise FieldTypeError(
                    f"iter_messages needs a binary file: read() returned {type(chunk).__name__}"
                    + (" (open it with 'rb')" if isinstance(chunk, str) else ""))
            if len(memoryview(chunk)) == 0:
                rd._eof = True
            else:
                rd._push(chunk)
        return 0

    cdef void _finish(self) noexcept:
        self._done = True
        if self._own_fd and self._fd >= 0:
            c_close(self._fd)
            self._fd = -1

    def close(self):
        """End the scan (later next() raises StopIteration); close the file
        if the scan opened it from a path."""
        if self._rd is not None and self._rd._busy:
            self._rd._check_idle("close")
        self._finish()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def messages(self):
        """Messages yielded so far."""
        return self._messages if self._rd is None else self._rd.messages

    @property
    def skipped_bytes(self):
        """resync: bytes skipped (junk and damaged messages)."""
        return self._skipped_bytes if self._rd is None else self._rd.skipped_bytes

    @property
    def skipped_messages(self):
        """resync: headers with the magic that failed to decode."""
        return self._skipped_messages if self._rd is None else self._rd.skipped_messages

    @property
    def identification_frames(self):
        """resync: 32-byte identification frames skipped."""
        return self._ident if self._rd is None else self._rd.identification_frames

    @property
    def offset(self):
        """Offset in the capture of the next byte not read yet."""
        return self._pos if self._rd is None else self._rd.offset

    def __repr__(self):
        return f"<iter_messages offset={self.offset} messages={self.messages}>"


def _scan(source, bint verify, bint copy, bint stop_on_truncated, into, bint resync, max_payload):
    """iter_messages (orderbook._message) after its argument checks."""
    cdef _Scan it = _Scan.__new__(_Scan)
    cdef MessageReader rd
    cdef Py_buffer b
    it._into = _check_into(into)
    if isinstance(source, (str, os.PathLike)):
        if not copy:
            raise FieldTypeError("copy=False needs a bytes-like source, not a file: its buffer is reused")
        it._mode = _SRC_FD
        it._source = None
    elif PyObject_CheckBuffer(source):
        get_span(source, 0, 0, PyBUF_SIMPLE, &b, "iter_messages")    # refuses now, not at next()
        PyBuffer_Release(&b)
        it._mode = _SRC_BUFFER
        it._source = source
        it._verify = verify
        it._copy = copy
        it._resync = resync
        it._stop = stop_on_truncated
        return it
    else:
        if not hasattr(source, "read") and not hasattr(source, "readinto"):
            raise FieldTypeError(
                f"iter_messages needs a bytes-like object, a path or a binary file, got "
                f"{type(source).__name__}")
        if not copy:
            raise FieldTypeError("copy=False needs a bytes-like source, not a file: its buffer is reused")
        if isinstance(source, io.TextIOBase):
            raise FieldTypeError(
                f"iter_messages needs a binary file, got a text-mode {type(source).__name__} "
                "(open it with 'rb')")
        it._source = source
        if type(source) is io.FileIO:
            it._mode = _SRC_FD
            it._fd = source.fileno()
        elif _reads_into(source):
            it._mode = _SRC_READINTO
            it._method = source.readinto
        else:
            it._mode = _SRC_READ
            it._method = source.read
    rd = MessageReader.__new__(MessageReader)
    rd._init(verify, resync, max_payload, into, _SCAN_BUFFER)
    rd._stop_on_truncated = stop_on_truncated
    rd._lazy_oversize = True
    it._rd = rd
    if it._source is None:
        it._fd = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        it._own_fd = True
    return it
