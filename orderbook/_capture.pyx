# A capture (Protocol V2 messages back to back) opened for research: mmap'd,
# walked once in C, every CRC verified, indexed, and read as numpy arrays.
#
# Opening is two passes over the bytes, both without the GIL:
# 1. the walk: parse_message (the library's own rules, verify=False) at each
#    message, recording its offset, size, capacity and book offset; this reads
#    only headers and TLV headers, so it costs little next to the CRC;
# 2. the CRC-32 of every indexed message, with the library's kernel, split
#    over `threads` Python threads that each run one nogil C loop over a
#    contiguous range of messages.
# The first bad message (in capture order, over both passes) decides what
# happens: its exception is the one decode_message raises for it, with the
# same text and absolute offsets.

cimport cython
from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer,
)
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

from orderbook._core cimport OB_EMAGIC, OB_ETRUNCATED, ob_fault, ob_message_crc
from orderbook._message cimport crc32_update, parse_message
from orderbook.structs cimport OB_HEADER_MAGIC, BookLayout, MessageHeaderC

import mmap as _mmap
import os as _os
import threading as _threading

from orderbook._message import decode_message as _decode_message
from orderbook.errors import (
    CapacityError, ExportError, FieldTypeError, LayoutError, OrderBookError, ReleasedError,
)

cdef enum:
    HDR = sizeof(MessageHeaderC)
    CHECKSUM_AT = 28

_ON_ERROR = ("raise", "stop", "skip")
_PARALLEL_MIN = 32 << 20          # threads=None: one thread below 32 MiB
_HEADER_FIELDS = ("magic", "relay_domain", "version", "source", "flags", "sequence", "timestamp",
                  "payload_size", "checksum")

cdef object _np = None


cdef object _numpy():
    global _np
    if _np is None:
        try:
            import numpy
        except ImportError as e:
            raise ImportError("Capture's array methods need numpy: pip install 'orderbook[numpy]'") from e
        _np = numpy
    return _np


cdef struct Entry:
    int64_t offset           # of the message in the buffer
    uint32_t size            # 32 + payload_size
    uint32_t book            # offset of the book inside the message
    uint16_t capacity


@cython.auto_pickle(False)
cdef class Capture:
    """The messages of a capture file or buffer, verified and indexed.

    ``Capture(path_or_buffer, *, verify=True, threads=None, on_error="raise")``:
    a path is opened read-only by mmap (closed by ``close()`` or ``with``); any
    other object is taken through the buffer protocol (bytes, bytearray,
    memoryview, mmap, shared memory) and held until ``close()``.

    Every message is checked as ``decode_message`` checks it (magic, version,
    payload_size, every TLV record, the OrderBook record's length giving the
    capacity, side counts) and, with ``verify``, its CRC-32; foreign records
    are skipped, so messages carrying other records and mixed capacities are
    fine.  ``threads`` CRC threads (None: one below 32 MiB, else up to 4 by
    ``os.cpu_count()``).

    ``on_error``: ``"raise"`` (default) raises the first bad message's error
    (its offset in the text); ``"stop"`` keeps the messages before it and
    stores the error in ``.error``; ``"skip"`` leaves out every message whose
    framing holds (magic and payload_size sound) but whose content does not
    (checksum, version, records, counts), listing them in ``.skipped`` as
    ``(offset, exception)``, and stops as ``"stop"`` where the framing breaks
    (bad magic, truncated message).
    """

    cdef Entry* _e
    cdef Py_ssize_t _n
    cdef Py_ssize_t _alloc
    cdef Py_buffer _buf
    cdef bint _held
    cdef const uint8_t* _base
    cdef readonly object obj          # the buffer object (the mmap for a path)
    cdef object _mm                   # the mmap we opened, or None
    cdef readonly bint verified
    cdef readonly object error
    cdef readonly list skipped
    cdef readonly int threads
    cdef readonly object path
    cdef object __weakref__

    def __cinit__(self):
        self._e = NULL
        self._n = 0
        self._alloc = 0
        self._held = False
        self._base = NULL
        self.skipped = []
        self.threads = 1

    def __dealloc__(self):
        if self._held:
            PyBuffer_Release(&self._buf)
            self._held = False
        free(self._e)

    def __init__(self, source, *, bint verify=True, threads=None, on_error="raise"):
        if on_error not in _ON_ERROR:
            raise FieldTypeError(f"Capture: on_error must be one of {_ON_ERROR}, got {on_error!r}")
        if self._held:
            raise FieldTypeError("Capture: already open")
        if isinstance(source, (str, bytes, _os.PathLike)) and not isinstance(source, bytes):
            self.path = _os.fspath(source)
            self._open_path(self.path)
        else:
            self._hold(source)
        self.verified = verify
        cdef int nthreads = self._nthreads(threads) if verify else 1
        # one thread: the CRCs in the walk itself (one pass over the bytes);
        # more: the walk first, then the CRCs in parallel
        self._scan(on_error == "skip", verify and nthreads == 1)
        if verify and nthreads > 1:
            self._verify(nthreads, on_error == "skip")
        if self.error is not None and on_error == "raise":
            err = self.error
            self.close()
            raise err

    cdef int _open_path(self, str path) except -1:
        with open(path, "rb") as f:
            size = _os.fstat(f.fileno()).st_size
            if size == 0:
                self._hold(b"")
                return 0
            flags = _mmap.MAP_SHARED | getattr(_mmap, "MAP_POPULATE", 0)
            self._mm = _mmap.mmap(f.fileno(), 0, flags=flags, prot=_mmap.PROT_READ)
        self._hold(self._mm)
        return 0

    cdef int _hold(self, object source) except -1:
        try:
            PyObject_GetBuffer(source, &self._buf, PyBUF_SIMPLE)
        except (BufferError, ValueError) as e:
            raise ExportError(
                f"Capture needs one contiguous buffer; {type(source).__name__} refused: {e}") from e
        except TypeError as e:
            raise FieldTypeError(
                f"Capture needs a path or a bytes-like object, got {type(source).__name__}") from e
        self._held = True
        self._base = <const uint8_t*>self._buf.buf
        self.obj = source
        return 0

    cdef int _nthreads(self, object threads) except -1:
        cdef int t
        if threads is None:
            t = 1 if self._buf.len < _PARALLEL_MIN else max(1, min(4, _os.cpu_count() or 1))
        else:
            t = threads
            if t < 1:
                raise FieldTypeError(f"Capture: threads must be >= 1 or None, got {threads}")
        return t

    # --- the index ------------------------------------------------------------------

    cdef int _grow(self) noexcept nogil:
        cdef Py_ssize_t m = self._alloc * 2 if self._alloc else 1024
        cdef Entry* e = <Entry*>realloc(self._e, m * sizeof(Entry))
        if e == NULL:
            return -1
        self._e = e
        self._alloc = m
        return 0

    cdef int _scan(self, bint skip, bint crc) except -1:
        """Pass 1: walk and index (with the CRCs when `crc`).  Faults with a
        sound frame are skipped (skip) or stop the walk; the error is made from
        decode_message afterwards."""
        cdef Py_ssize_t pos = 0, n = self._buf.len, r, bad = -1
        cdef MessageHeaderC h
        cdef BookLayout L
        cdef ob_fault f
        cdef int nomem = 0
        skipped_at = []
        with nogil:
            while pos < n:
                r = parse_message(self._base + pos, n - pos, crc, &h, &L, &f)
                if r < 0:
                    if skip and f.code != OB_ETRUNCATED and f.code != OB_EMAGIC \
                            and HDR + <Py_ssize_t>h.payload_size <= n - pos:
                        # the frame holds (header read, payload within the buffer): skip it
                        with gil:
                            skipped_at.append(pos)
                        pos += HDR + <Py_ssize_t>h.payload_size
                        continue
                    bad = pos
                    break
                if self._n == self._alloc and self._grow() < 0:
                    nomem = 1
                    break
                self._e[self._n].offset = pos
                self._e[self._n].size = <uint32_t>(HDR + h.payload_size)
                self._e[self._n].book = <uint32_t>r
                self._e[self._n].capacity = <uint16_t>L.capacity
                self._n += 1
                pos += HDR + <Py_ssize_t>h.payload_size
        if nomem:
            raise MemoryError("Capture: no memory for the index")
        self.skipped = [(at, self._error_at(at)) for at in skipped_at]
        if bad >= 0:
            self.error = self._error_at(bad)
        return 0

    cdef object _error_at(self, Py_ssize_t at):
        """The library's exception for the message at ``at``, as decode_message raises it."""
        try:
            _decode_message(self.obj, at, verify=self.verified)
        except OrderBookError as e:
            return e
        return SystemError(f"orderbook: Capture found a fault at offset {at} that decode_message did not")

    # --- pass 2: CRCs ---------------------------------------------------------------

    cdef Py_ssize_t _crc_range(self, Py_ssize_t lo, Py_ssize_t hi, uint8_t* bad, bint all_) noexcept nogil:
        """CRC-32 of messages [lo, hi); marks bad ones; returns the first bad
        index or -1 (stops there unless all_)."""
        cdef Py_ssize_t i, first = -1
        cdef const uint8_t* p
        cdef uint32_t want
        for i in range(lo, hi):
            p = self._base + self._e[i].offset
            memcpy(&want, p + CHECKSUM_AT, 4)
            if ob_message_crc(p, self._e[i].size - HDR, crc32_update) != want:
                bad[i] = 1
                if first < 0:
                    first = i
                if not all_:
                    break
        return first

    def _crc_chunk(self, Py_ssize_t lo, Py_ssize_t hi, bytearray flags, bint all_, list out, int slot):
        cdef uint8_t* bad = <uint8_t*>(<char*>flags)
        cdef Py_ssize_t r
        with nogil:
            r = self._crc_range(lo, hi, bad, all_)
        out[slot] = r

    cdef int _verify(self, int threads, bint skip) except -1:
        cdef Py_ssize_t n = self._n, i, j, k, first = -1, lo, hi
        if n == 0:
            return 0
        threads = <int>min(threads, n)
        self.threads = threads
        flags = bytearray(n)
        results = [-1] * threads
        if threads == 1:
            self._crc_chunk(0, n, flags, skip, results, 0)
        else:
            # contiguous ranges of about equal bytes
            total = self._e[n - 1].offset + self._e[n - 1].size - self._e[0].offset
            bounds = [0]
            j = 0
            for k in range(1, threads):
                target = self._e[0].offset + total * k // threads
                while j < n and self._e[j].offset < target:
                    j += 1
                bounds.append(j)
            bounds.append(n)
            workers = [_threading.Thread(target=self._crc_chunk,
                                         args=(bounds[k], bounds[k + 1], flags, skip, results, k))
                       for k in range(threads) if bounds[k] < bounds[k + 1]]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        for r in results:
            if r >= 0 and (first < 0 or r < first):
                first = r
        if first < 0:
            return 0
        if not skip:
            # the first bad CRC comes before whatever stopped the walk
            self.error = self._error_at(self._e[first].offset)
            self._n = first
            return 0
        # skip: drop every message with a bad CRC, keep the order of .skipped
        bad_at = []
        j = 0
        for i in range(n):
            if flags[i]:
                bad_at.append(self._e[i].offset)
            else:
                self._e[j] = self._e[i]
                j += 1
        self._n = j
        self.skipped = sorted(self.skipped + [(at, self._error_at(at)) for at in bad_at],
                              key=lambda t: t[0])
        return 0

    # --- lifetime -------------------------------------------------------------------

    def close(self):
        """Release the buffer (and close the mmap of a path).  Arrays from
        ``books()``/``headers()`` that view the mmap keep it mapped until they
        are gone; the capture itself is unusable after close()."""
        if self._held:
            PyBuffer_Release(&self._buf)
            self._held = False
            self._base = NULL
        self._n = 0
        mm, self._mm = self._mm, None
        self.obj = None
        if mm is not None:
            try:
                mm.close()
            except BufferError:
                pass          # numpy views still export it: unmapped when they go

    @property
    def closed(self):
        return not self._held

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    cdef int _check(self) except -1:
        if not self._held:
            raise ReleasedError("Capture: the capture is closed")
        return 0

    # --- sequence -------------------------------------------------------------------

    def __len__(self):
        return self._n

    @property
    def nbytes(self):
        """Bytes of the buffer (the whole file for a path)."""
        return self._buf.len if self._held else 0

    def __repr__(self):
        where = f" {self.path!r}" if self.path is not None else ""
        state = "closed" if not self._held else f"{self._n} messages, {self._buf.len:,} bytes"
        return f"<Capture{where} {state}>"

    cdef Py_ssize_t _index(self, object i) except -1:
        cdef Py_ssize_t k = i
        if k < 0:
            k += self._n
        if k < 0 or k >= self._n:
            raise IndexError(f"Capture index {i} out of range: {self._n} messages")
        return k

    def __getitem__(self, key):
        """``capture[i]``: the i-th message as a ``Message`` (a copy: its book
        owns its bytes).  ``capture[a:b:c]``: a new Capture over those messages,
        sharing the buffer (no bytes copied; closing one leaves the other open)."""
        self._check()
        if isinstance(key, slice):
            return self._subset(range(*key.indices(self._n)))
        cdef Py_ssize_t k = self._index(key)
        return _decode_message(self.obj, self._e[k].offset, verify=False)

    def __iter__(self):
        cdef Py_ssize_t k
        self._check()
        for k in range(self._n):
            self._check()
            yield _decode_message(self.obj, self._e[k].offset, verify=False)

    def book(self, i):
        """The book of message ``i`` as an owning ``OrderBook`` (a copy)."""
        self._check()
        cdef Py_ssize_t k = self._index(i)
        from orderbook._book import OrderBook
        return OrderBook.from_bytes(self.obj, self._e[k].offset + self._e[k].book,
                                    capacity=self._e[k].capacity)

    cdef Capture _subset(self, object indices):
        cdef Capture c = Capture.__new__(Capture)
        cdef Py_ssize_t m = len(indices), j = 0, k
        c._hold(self.obj)
        c.path, c.verified, c.threads = self.path, self.verified, self.threads
        if m:
            c._e = <Entry*>malloc(m * sizeof(Entry))
            if c._e == NULL:
                raise MemoryError()
            c._alloc = m
            for k in indices:
                c._e[j] = self._e[k]
                j += 1
            c._n = m
        return c

    def select(self, *, capacity=None):
        """A new Capture over the messages of one ``capacity`` (shared buffer)."""
        self._check()
        cdef Py_ssize_t k
        cap = self._capacity_arg(capacity, False)
        return self._subset([k for k in range(self._n) if self._e[k].capacity == cap])

    # --- columns --------------------------------------------------------------------

    @property
    def offsets(self):
        """Offset of each message in the buffer (int64 array)."""
        return self._fill_index(0)

    @property
    def book_offsets(self):
        """Offset of each message's book in the buffer (int64 array)."""
        return self._fill_index(1)

    @property
    def sizes(self):
        """Bytes of each message, 32 + payload_size (uint32 array)."""
        return self._fill_index(2)

    @property
    def capacities(self):
        """Capacity of each message's book, 128 or 50 (uint16 array)."""
        return self._fill_index(3)

    cdef object _fill_index(self, int which):
        # written through the new array's buffer (a typed memoryview would pull
        # Cython's whole memoryview support into this module)
        np = _numpy()
        cdef Py_ssize_t k, n = self._n
        cdef Py_buffer b
        cdef int64_t* i64
        cdef uint32_t* u32
        cdef uint16_t* u16
        self._check()
        a = np.empty(n, np.int64 if which <= 1 else np.uint32 if which == 2 else np.uint16)
        PyObject_GetBuffer(a, &b, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)
        try:
            if which <= 1:
                i64 = <int64_t*>b.buf
                for k in range(n):
                    i64[k] = self._e[k].offset + (self._e[k].book if which == 1 else 0)
            elif which == 2:
                u32 = <uint32_t*>b.buf
                for k in range(n):
                    u32[k] = self._e[k].size
            else:
                u16 = <uint16_t*>b.buf
                for k in range(n):
                    u16[k] = self._e[k].capacity
        finally:
            PyBuffer_Release(&b)
        a.flags.writeable = False
        return a

    cdef int _capacity_arg(self, object capacity, bint uniform_default) except -1:
        cdef Py_ssize_t k
        cdef int c
        if capacity is not None:
            try:
                c = capacity
            except (TypeError, OverflowError):
                raise FieldTypeError(f"capacity must be 128 or 50, got {capacity!r}") from None
            if c != 128 and c != 50:
                raise CapacityError(f"capacity must be one of (128, 50), got {capacity}", c, c)
            return c
        if not uniform_default:
            raise FieldTypeError("Capture.select needs capacity=")
        if self._n == 0:
            return 128
        c = self._e[0].capacity
        for k in range(1, self._n):
            if self._e[k].capacity != c:
                counts = {}
                for j in range(self._n):
                    counts[self._e[j].capacity] = counts.get(self._e[j].capacity, 0) + 1
                raise LayoutError(
                    "Capture holds books of mixed capacities ("
                    + ", ".join(f"{v} at capacity {cap}" for cap, v in sorted(counts.items()))
                    + "): pass capacity=128 or capacity=50")
        return c

    cdef object _gather(self, int cap, bint book, Py_ssize_t itemsize, object dtype, bint copy):
        """One record per selected message (all when cap is 0): the book
        (book) or the header, as a strided view when the selected messages are
        equally spaced with the record at the same place, else one copy."""
        np = _numpy()
        cdef Py_ssize_t n = self._n, k, m = 0, first = -1, stride = 0, prev = -1, rel = -1, at
        cdef bint strided = True
        cdef Py_buffer ob
        cdef char* dst
        self._check()
        for k in range(n):
            if cap and self._e[k].capacity != cap:
                continue
            at = self._e[k].offset + (self._e[k].book if book else 0)
            if m == 0:
                first = at
            elif m == 1:
                stride = at - prev
            elif at - prev != stride:
                strided = False
            prev = at
            m += 1
        if m == 0:
            return np.empty(0, dtype)
        if strided and not copy and (m == 1 or stride >= itemsize):
            # over np.frombuffer's array, whose base memoryview holds a buffer
            # export for as long as the view lives (np.ndarray(buffer=obj)
            # alone keeps only a reference): close() cannot unmap memory an
            # array still reads
            a = np.ndarray(shape=(m,), dtype=dtype, buffer=np.frombuffer(self.obj, np.uint8), offset=first,
                           strides=(stride if m > 1 else itemsize,))
            a.flags.writeable = False
            return a
        a = np.empty(m, dtype)
        PyObject_GetBuffer(a, &ob, PyBUF_SIMPLE)
        dst = <char*>ob.buf
        with nogil:
            for k in range(n):
                if cap and self._e[k].capacity != cap:
                    continue
                memcpy(dst, self._base + self._e[k].offset + (self._e[k].book if book else 0), itemsize)
                dst += itemsize
        PyBuffer_Release(&ob)
        return a

    def books(self, capacity=None, *, bint copy=False):
        """The books as a numpy array of ``book_dtype(capacity)``.

        A zero-copy, read-only strided view of the buffer when the books lie
        equally spaced (every message the same size with the book at the same
        offset: what a recorder writes), else one copy (writable).
        ``copy=True`` always copies.  ``capacity`` selects the messages of that
        capacity; None takes the capture's only capacity (LayoutError when it
        mixes 128 and 50; 128 for an empty capture)."""
        from orderbook.dtypes import book_dtype
        cdef int cap = self._capacity_arg(capacity, True)
        dt = book_dtype(cap)
        return self._gather(cap, True, dt.itemsize, dt, copy)

    def headers(self, capacity=None, *, bint copy=False):
        """The message headers as a numpy array of ``header_dtype()``: every
        message, or with ``capacity`` those whose book has that capacity (rows
        then line up with ``books(capacity)``).  A view or a copy as ``books()``."""
        from orderbook.dtypes import header_dtype
        cdef int cap = 0 if capacity is None else self._capacity_arg(capacity, True)
        dt = header_dtype()
        return self._gather(cap, False, HDR, dt, copy)

    def header(self, str name, capacity=None):
        """One header field of every message as a numpy array (``"sequence"``,
        ``"timestamp"``, ``"source"``, ...: the names of ``MessageHeader``)."""
        if name not in _HEADER_FIELDS:
            raise FieldTypeError(f"Capture.header: no header field {name!r}; fields: {_HEADER_FIELDS}")
        return self.headers(capacity)[name]

    def to_arrow(self, **kwargs):
        """A ``pyarrow.Table`` with one row per message: see ``orderbook.arrow.to_arrow``."""
        from orderbook.arrow import to_arrow
        return to_arrow(self, **kwargs)

    def to_pandas(self, **kwargs):
        """``to_arrow(**kwargs).to_pandas()`` (needs pyarrow and pandas)."""
        return self.to_arrow(**kwargs).to_pandas()
