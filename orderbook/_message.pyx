# Protocol V2 messages: a 32-byte header, TLV records, CRC-32 (SPEC section 1).
#
# Decoding walks every record with bounds checked against payload_size before
# any read; the OrderBook record is copied into (or viewed by) an OrderBook.
# encode_message_into and decode_message(into=...) allocate nothing.

from cpython.buffer cimport (
    PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsUnsignedLongLongMask
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, UINT8_MAX, UINT32_MAX, UINT64_MAX
from libc.string cimport memcpy, memmove
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

from orderbook.structs cimport (
    OB_HEADER_MAGIC, OB_PROTOCOL_VERSION, OB_TLV_EXTENDED, OB_TLV_ORDER_BOOK,
    ExtendedTLVHeader, MessageHeader as MessageHeaderC, OrderBookTLV,
)
from orderbook._book cimport OrderBook, _as_u64, _get_span, _offset, check_book

from orderbook.errors import (
    ChecksumError, FieldTypeError, MagicError, MissingRecordError, RecordError,
    TruncatedError, VersionError,
)

cdef extern from "src/ob_crc32.h" nogil:
    uint32_t ob_crc32(uint32_t crc, const unsigned char* buf, size_t len)
    const char* ob_crc32_impl_name()

TLV_ORDER_BOOK = OB_TLV_ORDER_BOOK
MAGIC = OB_HEADER_MAGIC
PROTOCOL_VERSION = OB_PROTOCOL_VERSION

cdef enum:
    HDR = sizeof(MessageHeaderC)
    EXT = sizeof(ExtendedTLVHeader)
    BOOK = sizeof(OrderBookTLV)
    # the checksum covers the header up to its own field, then the payload
    CRC_HEAD = HDR - sizeof(uint32_t)

# Returned by encode_message_into: one shared int object, so that the call
# creates no Python object (ints above 256 are not cached by CPython).
cdef object _MESSAGE_SIZE_OBJ = HDR + EXT + BOOK

cdef Py_ssize_t _CRC_NOGIL_MIN = 64 * 1024   # release the GIL for large inputs only


def crc32(data, value=0, /):
    """CRC-32 (IEEE 802.3), equal to ``zlib.crc32(data, value)`` for every input.

    Hardware carry-less multiplication where the CPU has it (see
    ``crc32_implementation()``), a table-driven fallback elsewhere."""
    # Lean on purpose (a 64-byte CRC costs less than the call): no try/finally,
    # nothing between acquiring and releasing the buffer can raise.
    cdef Py_buffer b
    cdef uint32_t crc = 0
    if value is not 0:
        crc = <uint32_t>PyLong_AsUnsignedLongLongMask(value)   # value & 0xFFFFFFFF, TypeError if no int
    cdef const unsigned char* p
    cdef Py_ssize_t n
    if PyBytes_CheckExact(data):       # immutable, and the caller holds it: no buffer needed
        p = <const unsigned char*>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
        if n < _CRC_NOGIL_MIN:
            return ob_crc32(crc, p, <size_t>n)
        with nogil:
            crc = ob_crc32(crc, p, <size_t>n)
        return crc
    PyObject_GetBuffer(data, &b, PyBUF_SIMPLE)
    if b.len >= _CRC_NOGIL_MIN:
        with nogil:
            crc = ob_crc32(crc, <const unsigned char*>b.buf, <size_t>b.len)
    else:
        crc = ob_crc32(crc, <const unsigned char*>b.buf, <size_t>b.len)
    PyBuffer_Release(&b)
    return crc


def crc32_implementation():
    """Name of the CRC-32 kernel selected for this CPU."""
    return ob_crc32_impl_name().decode()


cdef inline uint32_t _message_crc(const uint8_t* msg, uint32_t payload_size) noexcept nogil:
    cdef uint32_t crc = ob_crc32(0, msg, CRC_HEAD)
    return ob_crc32(crc, msg + HDR, payload_size)


# --- header ---------------------------------------------------------------------

cdef class MessageHeader:
    """The 32-byte Protocol V2 header, fields named as on the wire."""

    @property
    def magic(self):
        return self.h.magic

    @property
    def relay_domain(self):
        """0 MarketData, 1 Signal, 2 Execution, 3 System."""
        return self.h.relay_domain

    @property
    def version(self):
        return self.h.version

    @property
    def source(self):
        """Source service id."""
        return self.h.source

    @property
    def flags(self):
        return self.h.flags

    @property
    def sequence(self):
        """Per-source message sequence."""
        return self.h.sequence

    @property
    def timestamp(self):
        """Nanoseconds since the epoch."""
        return self.h.timestamp

    @property
    def payload_size(self):
        """Bytes of TLV records after the header."""
        return self.h.payload_size

    @property
    def checksum(self):
        """CRC-32 over header bytes [0, 28) and the payload."""
        return self.h.checksum

    def to_dict(self):
        """The fields as a dict (the shape of the golden JSON ``message`` object)."""
        return {name: getattr(self, name) for name in _HEADER_FIELDS}

    def __bytes__(self):
        return PyBytes_FromStringAndSize(<const char*>&self.h, HDR)

    def __eq__(self, other):
        if not isinstance(other, MessageHeader):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None

    def __repr__(self):
        return ("MessageHeader(" +
                ", ".join(f"{k}={v:#x}" if k in ("magic", "checksum") else f"{k}={v}"
                          for k, v in self.to_dict().items()) + ")")

    def __reduce__(self):
        return (_header_from_bytes, (bytes(self),))


_HEADER_FIELDS = ("magic", "relay_domain", "version", "source", "flags", "sequence",
                  "timestamp", "payload_size", "checksum")


def _header_from_bytes(data):
    cdef MessageHeader h = MessageHeader.__new__(MessageHeader)
    if len(data) != HDR:
        raise TruncatedError(f"a message header is {HDR} bytes, got {len(data)}", 0, HDR, len(data))
    memcpy(&h.h, <const char*>data, HDR)
    return h


cdef class Message:
    """A decoded message: ``header`` (MessageHeader) and ``book`` (OrderBook).

    ``Message()`` makes an empty one to pass as ``decode_message(..., into=)``,
    which refills it in place without allocating."""

    def __cinit__(self):
        # in __cinit__, so that even Message.__new__(Message) is never half made
        self.header = MessageHeader.__new__(MessageHeader)
        self.book = OrderBook.__new__(OrderBook)

    def __init__(self, OrderBook book=None):
        if book is not None:
            self.book = book

    @property
    def nbytes(self):
        """Bytes the message occupies: header plus payload_size."""
        return HDR + self.header.h.payload_size

    def __eq__(self, other):
        if not isinstance(other, Message):
            return NotImplemented
        return self.header == (<Message>other).header and self.book == (<Message>other).book

    __hash__ = None

    def __repr__(self):
        return f"<Message seq={self.header.h.sequence} source={self.header.h.source} {self.book!r}>"

    def __reduce__(self):
        return (_message_from_parts, (self.header, self.book))


def _message_from_parts(MessageHeader header, OrderBook book):
    cdef Message m = Message(book)
    m.header = header
    return m


# --- decoding -------------------------------------------------------------------

cdef Py_ssize_t _parse(const uint8_t* p, Py_ssize_t avail, Py_ssize_t at, bint verify,
                       MessageHeaderC* h) except -1:
    """Check the message at p (``avail`` bytes readable, reported at offset ``at``)
    and return the offset of the OrderBook value inside it."""
    cdef Py_ssize_t end, pos, rec, vlen, book_pos = -1
    cdef uint8_t t
    cdef ExtendedTLVHeader ext
    cdef uint32_t found
    if avail < HDR:
        raise TruncatedError(
            f"a message header needs {HDR} bytes at offset {at}, the buffer has {max(avail, 0)}",
            at, HDR, max(avail, 0))
    memcpy(h, p, HDR)
    if h.magic != OB_HEADER_MAGIC:
        raise MagicError(f"bad magic at offset {at}: expected {OB_HEADER_MAGIC:#010x}, found {h.magic:#010x}")
    if h.version != OB_PROTOCOL_VERSION:
        raise VersionError(
            f"unsupported protocol version at offset {at + 5}: expected {OB_PROTOCOL_VERSION}, found {h.version}")
    end = HDR + <Py_ssize_t>h.payload_size
    if end > avail:
        raise TruncatedError(
            f"payload_size {h.payload_size} at offset {at + 24} runs past the buffer: the message "
            f"needs {end} bytes from offset {at}, the buffer has {avail}", at, end, avail)
    if verify:
        found = _message_crc(p, h.payload_size)
        if found != h.checksum:
            raise ChecksumError(
                f"checksum mismatch in the message at offset {at}: header says {h.checksum:#010x}, "
                f"bytes give {found:#010x}", h.checksum, found)
    pos = HDR
    while pos < end:
        rec = pos
        t = p[pos]
        if t == OB_TLV_EXTENDED:
            if pos + EXT > end:
                raise RecordError(
                    f"extended TLV header at offset {at + pos} needs {EXT} bytes, "
                    f"{end - pos} remain in the payload")
            memcpy(&ext, p + pos, EXT)
            if ext.reserved != 0:
                raise RecordError(
                    f"extended TLV at offset {at + pos}: reserved byte is {ext.reserved}, expected 0")
            t = ext.tlv_type
            vlen = ext.length
            pos += EXT
        else:
            if pos + 2 > end:
                raise RecordError(
                    f"TLV header at offset {at + pos} needs 2 bytes, {end - pos} remain in the payload")
            if t == 0:
                raise RecordError(f"TLV at offset {at + pos} has type 0, expected 1..254")
            vlen = p[pos + 1]
            pos += 2
        if pos + vlen > end:
            raise RecordError(
                f"TLV type {t} at offset {at + rec} has length {vlen}, which runs past the payload "
                f"end at offset {at + end} ({end - pos} bytes remain)")
        if t == OB_TLV_ORDER_BOOK and book_pos < 0:
            if vlen != BOOK:
                raise RecordError(
                    f"OrderBook record at offset {at + pos} has length {vlen}, expected {BOOK}")
            book_pos = pos
        pos += vlen
    if book_pos < 0:
        raise MissingRecordError(
            f"the message at offset {at} holds no OrderBook record (TLV type {OB_TLV_ORDER_BOOK})")
    check_book(<const OrderBookTLV*>(p + book_pos), False)
    return book_pos


cdef object _deliver(object buffer, Py_ssize_t offset, Py_ssize_t book_pos, const uint8_t* p,
                     MessageHeaderC* h, object into, bint copy):
    cdef OrderBook book
    cdef Message msg
    if into is None:
        msg = Message.__new__(Message)
        memcpy(&msg.header.h, h, HDR)
        if copy:
            msg.book.load(<const char*>p + book_pos, BOOK, False)
        else:
            msg.book.attach(buffer, offset + book_pos, False)
        return msg
    if isinstance(into, Message):
        msg = <Message>into
        book = msg.book
        memcpy(&msg.header.h, h, HDR)
    elif isinstance(into, OrderBook):
        book = <OrderBook>into
    else:
        raise FieldTypeError(f"into= takes a Message or an OrderBook, got {type(into).__name__}")
    if copy:
        book.load(<const char*>p + book_pos, BOOK, False)
    else:
        book.attach(buffer, offset + book_pos, False)
    return into


def decode_message(buffer, offset=0, *, bint verify=True, into=None, bint copy=True):
    """Decode the message at ``offset`` of ``buffer``.

    Verifies the CRC-32 unless ``verify=False``, walks every TLV record
    (skipping unknown types) and returns a ``Message`` whose book is a copy, or
    with ``copy=False`` a zero-copy view into ``buffer``.  ``into=`` (a
    ``Message`` or ``OrderBook``) is filled in place and returned."""
    cdef Py_ssize_t off = _offset(offset, "decode_message")
    return _decode(buffer, off, off, verify, into, copy)


cdef object _decode(object buffer, Py_ssize_t offset, Py_ssize_t report_at, bint verify,
                    object into, bint copy):
    """decode_message, with error offsets reported relative to ``report_at``."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    cdef Py_ssize_t book_pos
    cdef const uint8_t* p
    if into is not None and not isinstance(into, (Message, OrderBook)):
        raise FieldTypeError(f"into= takes a Message or an OrderBook, got {type(into).__name__}")
    _get_span(buffer, offset, 0, PyBUF_SIMPLE, &b, "decode_message")
    try:
        p = <const uint8_t*>b.buf + offset
        book_pos = _parse(p, b.len - offset, report_at, verify, &h)
        return _deliver(buffer, offset, book_pos, p, &h, into, copy)
    finally:
        PyBuffer_Release(&b)


# --- encoding -------------------------------------------------------------------

cdef int _header_args(object sequence, object timestamp_ns, object source, object relay_domain,
                      object flags, MessageHeaderC* h) except -1:
    cdef uint64_t u
    cdef timespec ts
    h.magic = OB_HEADER_MAGIC
    h.version = OB_PROTOCOL_VERSION
    _as_u64(relay_domain, UINT8_MAX, None, 0, "relay_domain", &u)
    h.relay_domain = <uint8_t>u
    _as_u64(source, UINT8_MAX, None, 0, "source", &u)
    h.source = <uint8_t>u
    _as_u64(flags, UINT8_MAX, None, 0, "flags", &u)
    h.flags = <uint8_t>u
    _as_u64(sequence, UINT64_MAX, None, 0, "sequence", &u)
    h.sequence = u
    if timestamp_ns is None:
        clock_gettime(CLOCK_REALTIME, &ts)
        h.timestamp = <uint64_t>ts.tv_sec * 1000000000 + <uint64_t>ts.tv_nsec
    else:
        _as_u64(timestamp_ns, UINT64_MAX, None, 0, "timestamp_ns", &u)
        h.timestamp = u
    h.payload_size = EXT + BOOK
    return 0


cdef void _write(uint8_t* dst, MessageHeaderC* h, const OrderBookTLV* book) noexcept nogil:
    cdef ExtendedTLVHeader ext
    ext.marker = OB_TLV_EXTENDED
    ext.reserved = 0
    ext.tlv_type = OB_TLV_ORDER_BOOK
    ext.length = BOOK
    # the book first, with memmove: it may be a view into this very buffer
    memmove(dst + HDR + EXT, book, BOOK)
    memcpy(dst + HDR, &ext, EXT)
    h.checksum = 0
    memcpy(dst, h, HDR)
    h.checksum = _message_crc(dst, h.payload_size)
    memcpy(dst + CRC_HEAD, &h.checksum, sizeof(uint32_t))


# --- C API (declared in _message.pxd, wrapped by capi.pxd) -----------------------

cdef uint32_t crc32_update(uint32_t crc, const uint8_t* buf, size_t length) noexcept nogil:
    """ob_crc32 for other extensions: zlib.crc32 semantics, this CPU's kernel."""
    return ob_crc32(crc, buf, length)


cdef Py_ssize_t write_message(uint8_t* dst, size_t capacity, const OrderBookTLV* book,
                              uint64_t sequence, uint64_t timestamp_ns, uint8_t source,
                              uint8_t relay_domain, uint8_t flags) noexcept nogil:
    """encode_message_into for C callers: -1 (nothing written) when capacity is short."""
    cdef MessageHeaderC h
    if capacity < HDR + EXT + BOOK:
        return -1
    h.magic = OB_HEADER_MAGIC
    h.relay_domain = relay_domain
    h.version = OB_PROTOCOL_VERSION
    h.source = source
    h.flags = flags
    h.sequence = sequence
    h.timestamp = timestamp_ns
    h.payload_size = EXT + BOOK
    _write(dst, &h, book)
    return HDR + EXT + BOOK


def encode_message(OrderBook book not None, *, sequence=0, timestamp_ns=None, source=0,
                   relay_domain=0, flags=0):
    """The 6,237-byte message holding ``book`` as one extended OrderBook record.
    ``timestamp_ns=None`` stamps the current time."""
    cdef MessageHeaderC h
    cdef const OrderBookTLV* t = book.tlv()
    _header_args(sequence, timestamp_ns, source, relay_domain, flags, &h)
    out = PyBytes_FromStringAndSize(NULL, HDR + EXT + BOOK)
    _write(<uint8_t*>PyBytes_AS_STRING(out), &h, t)
    return out


def encode_message_into(buffer, offset, OrderBook book not None, *, sequence=0,
                        timestamp_ns=None, source=0, relay_domain=0, flags=0):
    """Write the message into a writable ``buffer`` at ``offset``; return the
    number of bytes written (6,237).  Allocates nothing."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    cdef const OrderBookTLV* t = book.tlv()
    _header_args(sequence, timestamp_ns, source, relay_domain, flags, &h)
    cdef Py_ssize_t off = _offset(offset, "encode_message_into")
    _get_span(buffer, off, HDR + EXT + BOOK, PyBUF_WRITABLE, &b, "encode_message_into")
    _write(<uint8_t*>b.buf + off, &h, t)
    PyBuffer_Release(&b)
    return _MESSAGE_SIZE_OBJ


# --- captures -------------------------------------------------------------------

_CHUNK = 1 << 20


def iter_messages(source, *, bint verify=True, bint copy=True, bint stop_on_truncated=False):
    """Yield the messages of a capture, back to back: a bytes-like object (or
    mmap), or a binary file read in chunks (never loaded whole).

    A truncated last message raises TruncatedError with its offset, unless
    ``stop_on_truncated=True``.  ``copy=False`` yields views (bytes-like
    sources only)."""
    if not PyObject_CheckBuffer(source):
        if not hasattr(source, "read"):
            raise FieldTypeError(
                f"iter_messages needs a bytes-like object or a binary file, got {type(source).__name__}")
        if not copy:
            raise FieldTypeError("copy=False needs a bytes-like source, not a file: its buffer is reused")
        return _iter_file(source, verify, stop_on_truncated)
    return _iter_buffer(source, verify, copy, stop_on_truncated)


def _iter_buffer(source, bint verify, bint copy, bint stop_on_truncated):
    cdef Py_ssize_t pos = 0, n, need
    with memoryview(source) as mv:
        n = mv.nbytes
        while pos < n:
            need = _message_length(source, pos, pos)
            if need < 0 or pos + need > n:
                if stop_on_truncated:
                    return
                _raise_truncated(pos, n - pos, need)
            yield _decode(source, pos, pos, verify, None, copy)
            pos += need


def _iter_file(f, bint verify, bint stop_on_truncated):
    # `buf` holds the unread tail of the file; `base` is its file offset.
    cdef Py_ssize_t base = 0, start = 0, n, need
    buf = bytearray()
    eof = False
    while True:
        n = len(buf) - start
        need = _message_length(buf, start, base + start)
        if need >= 0 and n >= need:
            yield _decode(buf, start, base + start, verify, None, True)
            start += need
            continue
        if eof:
            if n == 0 or stop_on_truncated:
                return
            _raise_truncated(base + start, n, need)
        del buf[:start]
        base += start
        start = 0
        # bounded reads: a header's payload_size (up to 4 GiB) is a claim, not a size
        # to allocate; a truncated capture ends in EOF and a TruncatedError
        chunk = f.read(_CHUNK)
        if not chunk:
            eof = True
        else:
            buf += chunk


cdef Py_ssize_t _message_length(object buf, Py_ssize_t pos, Py_ssize_t at) except -2:
    """32 + payload_size of the message at pos (reported as offset ``at``), or -1
    when fewer than 32 bytes remain."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    PyObject_GetBuffer(buf, &b, PyBUF_SIMPLE)
    try:
        if b.len - pos < HDR:
            return -1
        memcpy(&h, <const char*>b.buf + pos, HDR)
        if h.magic != OB_HEADER_MAGIC:
            raise MagicError(
                f"bad magic at offset {at}: expected {OB_HEADER_MAGIC:#010x}, found {h.magic:#010x}")
        return HDR + <Py_ssize_t>h.payload_size
    finally:
        PyBuffer_Release(&b)


cdef _raise_truncated(Py_ssize_t at, Py_ssize_t have, Py_ssize_t need):
    if need < 0:
        raise TruncatedError(
            f"truncated message at offset {at}: {have} bytes left, a header needs {HDR}", at, HDR, have)
    raise TruncatedError(
        f"truncated message at offset {at}: it needs {need} bytes, {have} remain", at, need, have)


# === CRC-32 kernels, for tests and benchmarks (orderbook/src/ob_crc32.h) ==========
# Kept as one block at the end of the file.  Every kernel this CPU can run,
# by the names ORDERBOOK_CRC32_KERNEL accepts.

cdef extern from "src/ob_crc32.h" nogil:
    enum: OB_CRC32_KERNEL_COUNT
    const char* ob_crc32_kernel_name(int kernel)
    int ob_crc32_kernel_by_name(const char* name)
    int ob_crc32_kernel_available(int kernel)
    uint32_t ob_crc32_with(int kernel, uint32_t crc, const unsigned char* buf, size_t len)


def _crc32_kernels():
    """Names of the CRC-32 kernels this CPU and build can run, best last."""
    return [ob_crc32_kernel_name(k).decode() for k in range(OB_CRC32_KERNEL_COUNT)
            if ob_crc32_kernel_available(k)]


def _crc32_with(str name, data, value=0):
    """``crc32(data, value)`` computed by the named kernel (ValueError when
    this CPU cannot run it)."""
    cdef int k = ob_crc32_kernel_by_name(name.encode())
    cdef Py_buffer b
    cdef uint32_t crc = <uint32_t>(value & 0xFFFFFFFF)
    if k < 0 or not ob_crc32_kernel_available(k):
        raise ValueError(f"CRC-32 kernel {name!r} is not available here: {_crc32_kernels()}")
    PyObject_GetBuffer(data, &b, PyBUF_SIMPLE)
    crc = ob_crc32_with(k, crc, <const unsigned char*>b.buf, <size_t>b.len)
    PyBuffer_Release(&b)
    return crc
