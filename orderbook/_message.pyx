# Protocol V2 messages: a 32-byte header, TLV records, CRC-32.
#
# Decoding walks every record with bounds checked against payload_size before
# any read (the rules are _core's, shared with the Cython API); the first
# OrderBook record's length gives the book's capacity, and the record is
# copied into (or viewed by) an OrderBook.  encode_message_into and
# decode_message(into=...) allocate nothing.

cimport cython
from cpython.buffer cimport (
    PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsUnsignedLongLongMask, PyLong_Check
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, UINT8_MAX, UINT32_MAX, UINT64_MAX
from libc.string cimport memcpy, memmove
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

from orderbook._book cimport OrderBook, raise_fault
from orderbook._convert cimport as_offset, as_u64, get_span
from orderbook._core cimport (
    OB_D_BOOK_LENGTH, OB_D_EXT_RESERVED, OB_D_EXT_SHORT, OB_D_HEADER, OB_D_PAST_END, OB_D_STD_SHORT,
    OB_D_TYPE0, OB_ECHECKSUM, OB_ELAYOUT, OB_EMAGIC, OB_EMISSING, OB_ERECORD, OB_ETRUNCATED,
    OB_EVERSION, ob_check_book, ob_fault, ob_fill_header, ob_parse_message, ob_write_message,
)
from orderbook.structs cimport (
    OB_HEADER_MAGIC, OB_MAX_LEVELS, OB_PROTOCOL_VERSION, OB_TLV_ORDER_BOOK, OB_UPSTREAM_LEVELS,
    BookLayout, ExtendedTLVHeaderC, MessageHeaderC, OrderBookHeadC, OrderBookTLV50C, OrderBookTLVC,
    ob_layout,
)

import io

from orderbook.ids import relay_domain_name, source_name

from orderbook.errors import (
    ChecksumError, FieldTypeError, MagicError, MissingRecordError, RecordError,
    TruncatedError, VersionError,
)

cdef extern from "src/ob_crc32.h" nogil:
    uint32_t ob_crc32(uint32_t crc, const uint8_t* buf, size_t len) noexcept
    const char* ob_crc32_impl_name()

TLV_ORDER_BOOK = OB_TLV_ORDER_BOOK
MAGIC = OB_HEADER_MAGIC
PROTOCOL_VERSION = OB_PROTOCOL_VERSION

cdef enum:
    HDR = sizeof(MessageHeaderC)
    EXT = sizeof(ExtendedTLVHeaderC)

cdef BookLayout _DEFAULT
ob_layout(OB_MAX_LEVELS, &_DEFAULT)

# What encode_message_into returns, one shared int object per capacity, so
# that the call creates no Python object (ints above 256 are not cached).
cdef object _SIZE_128 = HDR + EXT + sizeof(OrderBookTLVC)
cdef object _SIZE_50 = HDR + EXT + sizeof(OrderBookTLV50C)

cdef Py_ssize_t _CRC_NOGIL_MIN = 64 * 1024   # release the GIL for large inputs only


# A builtin function, not a CyFunction: its call costs about 15 ns less, which
# is a quarter of a 64-byte CRC.  The signature line is written for inspect.
@cython.binding(False)
@cython.embedsignature(False)
def crc32(data, value=0, /):
    """crc32(data, value=0, /)
--

    CRC-32 (IEEE 802.3), equal to ``zlib.crc32(data, value)`` for every input.

    Hardware carry-less multiplication where the CPU has it (see
    ``crc32_implementation()``), a table-driven fallback elsewhere."""
    # Lean on purpose (a 64-byte CRC costs less than the call): no try/finally,
    # nothing between acquiring and releasing the buffer can raise.
    cdef Py_buffer b
    cdef uint32_t crc = 0
    if value is not 0:
        if not PyLong_Check(value):
            raise FieldTypeError(f"crc32: value must be an integer, got {type(value).__name__}")
        crc = <uint32_t>PyLong_AsUnsignedLongLongMask(value)   # value & 0xFFFFFFFF
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
    if not PyObject_CheckBuffer(data):
        raise FieldTypeError(
            f"crc32 needs a bytes-like object (buffer protocol), got {type(data).__name__}")
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


# --- header ---------------------------------------------------------------------



cdef class MessageHeader:
    """The 32-byte Protocol V2 header, fields named as on the wire."""

    @property
    def magic(self):
        return self.h.magic

    @property
    def relay_domain(self):
        """upstream's RelayDomain: 0 MarketData, 1 Signal, 2 Execution, 3 System."""
        return self.h.relay_domain

    @property
    def version(self):
        return self.h.version

    @property
    def source(self):
        """upstream's SourceType: the service that sent the message."""
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

    @property
    def relay_domain_name(self):
        """upstream's name of relay_domain ("MarketData"), or the number as text."""
        return relay_domain_name(self.h.relay_domain)

    @property
    def source_name(self):
        """upstream's name of source ("BinanceCollector"), or the number as text."""
        return source_name(self.h.source)

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
        d = self.to_dict()
        d["relay_domain"] = f"{self.h.relay_domain} ({self.relay_domain_name})"
        d["source"] = f"{self.h.source} ({self.source_name})"
        return ("MessageHeader(" +
                ", ".join(f"{k}={v:#x}" if k in ("magic", "checksum") else f"{k}={v}"
                          for k, v in d.items()) + ")")

    def __reduce__(self):
        return (_header_from_bytes, (bytes(self),))


_HEADER_FIELDS = ("magic", "relay_domain", "version", "source", "flags", "sequence",
                  "timestamp", "payload_size", "checksum")


def _header_from_bytes(data):
    """Unpickling: a header from its 32 bytes, with the magic and version checked."""
    cdef MessageHeader h = MessageHeader.__new__(MessageHeader)
    cdef Py_ssize_t n
    if not PyBytes_CheckExact(data):
        raise FieldTypeError(f"a message header is restored from bytes, got {type(data).__name__}")
    n = PyBytes_GET_SIZE(data)
    if n != HDR:
        raise TruncatedError(f"a message header is {HDR} bytes, got {n}", 0, HDR, n)
    memcpy(&h.h, PyBytes_AS_STRING(data), HDR)
    if data == bytes(HDR):
        return h                      # an empty Message() that was never filled
    if h.h.magic != OB_HEADER_MAGIC:
        raise MagicError(f"bad magic in a pickled header: expected {OB_HEADER_MAGIC:#010x}, found {h.h.magic:#010x}")
    if h.h.version != OB_PROTOCOL_VERSION:
        raise VersionError(
            f"unsupported protocol version in a pickled header: expected {OB_PROTOCOL_VERSION}, "
            f"found {h.h.version}")
    return h


cdef class Message:
    """A decoded message: ``header`` (MessageHeader) and ``book`` (OrderBook).

    ``Message()`` makes an empty one to pass as ``decode_message(..., into=)``,
    which refills it in place without allocating; its book takes the capacity
    of each message decoded into it."""

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
        return <Py_ssize_t>HDR + <Py_ssize_t>self.header.h.payload_size

    def __eq__(self, other):
        if not isinstance(other, Message):
            return NotImplemented
        return self.header == (<Message>other).header and self.book == (<Message>other).book

    __hash__ = None

    def __repr__(self):
        return (f"<Message seq={self.header.h.sequence} source={self.header.source_name} "
                f"{self.book!r}>")

    def __reduce__(self):
        return (_message_from_parts, (self.header, self.book))


def _message_from_parts(MessageHeader header, OrderBook book):
    cdef Message m = Message(book)
    m.header = header
    return m


# --- decoding -------------------------------------------------------------------

cdef int raise_message_fault(const ob_fault* f, Py_ssize_t at) except -1:
    """The exception for a message fault of _core; `at` is the message's offset
    in the caller's buffer (or stream), offsets in the text are absolute."""
    cdef Py_ssize_t pos = at + f.offset
    if f.code == OB_ETRUNCATED:
        if f.detail == OB_D_HEADER:
            raise TruncatedError(
                f"a message header needs {HDR} bytes at offset {at}, the buffer has {f.available}",
                at, HDR, f.available)
        raise TruncatedError(
            f"payload_size {f.found} at offset {pos} runs past the buffer: the message "
            f"needs {f.needed} bytes from offset {at}, the buffer has {f.available}",
            at, f.needed, f.available)
    if f.code == OB_EMAGIC:
        raise MagicError(
            f"bad magic at offset {at}: expected {OB_HEADER_MAGIC:#010x}, found {<uint32_t>f.found:#010x}")
    if f.code == OB_EVERSION:
        raise VersionError(
            f"unsupported protocol version at offset {pos}: expected {OB_PROTOCOL_VERSION}, found {f.found}")
    if f.code == OB_ECHECKSUM:
        raise ChecksumError(
            f"checksum mismatch in the message at offset {at}: header says {<uint32_t>f.other:#010x}, "
            f"bytes give {<uint32_t>f.found:#010x}", f.other, f.found)
    if f.code == OB_ERECORD:
        if f.detail == OB_D_EXT_SHORT:
            raise RecordError(
                f"extended TLV header at offset {pos} needs {f.needed} bytes, "
                f"{f.available} remain in the payload")
        if f.detail == OB_D_EXT_RESERVED:
            raise RecordError(f"extended TLV at offset {pos}: reserved byte is {f.found}, expected 0")
        if f.detail == OB_D_STD_SHORT:
            raise RecordError(
                f"TLV header at offset {pos} needs 2 bytes, {f.available} remain in the payload")
        if f.detail == OB_D_TYPE0:
            raise RecordError(f"TLV at offset {pos} has type 0, expected 1..254")
        if f.detail == OB_D_PAST_END:
            raise RecordError(
                f"TLV type {f.found} at offset {pos} has length {f.needed}, which runs past the "
                f"payload end at offset {at + f.other} ({f.available} bytes remain)")
        if f.detail == OB_D_BOOK_LENGTH:
            raise RecordError(
                f"OrderBook record at offset {pos} has length {f.found}, expected "
                f"{sizeof(OrderBookTLVC)} (capacity {OB_MAX_LEVELS}) or {sizeof(OrderBookTLV50C)} "
                f"(capacity {OB_UPSTREAM_LEVELS})")
    if f.code == OB_EMISSING:
        raise MissingRecordError(
            f"the message at offset {at} holds no OrderBook record (TLV type {OB_TLV_ORDER_BOOK})")
    if f.code == OB_ELAYOUT:
        return raise_fault(f, at, "decode_message")
    raise SystemError(f"orderbook: unknown message fault {f.code}/{f.detail}")


cdef Py_ssize_t _parse(const uint8_t* p, Py_ssize_t avail, Py_ssize_t at, bint verify,
                       MessageHeaderC* h, BookLayout* L) except -1:
    """Check the message at p (``avail`` bytes readable, reported at offset
    ``at``); the offset of its book inside it."""
    cdef ob_fault f
    cdef Py_ssize_t pos = ob_parse_message(p, avail, verify, ob_crc32, h, L, &f)
    if pos < 0:
        raise_message_fault(&f, at)
    return pos


cdef object deliver(object buffer, Py_ssize_t offset, Py_ssize_t book_pos, const uint8_t* p,
                    const MessageHeaderC* h, const BookLayout* L, object into, Message fresh,
                    bint copy, str what):
    """The checked message at p (its book at p + book_pos) into `into`, or into
    `fresh` (a new Message when None) when `into` is None.  The book first, the
    header after it: a failure leaves `into` as it was."""
    cdef OrderBook book
    cdef Message msg
    if into is None:
        msg = Message.__new__(Message) if fresh is None else fresh
        book = msg.book
    elif isinstance(into, Message):
        msg = <Message>into
        book = msg.book
    else:
        msg = None
        book = <OrderBook>into
    if copy:
        book.load(<const char*>p + book_pos, L, False, what)
    else:
        book.attach(buffer, offset + book_pos, L, False, what)
    if msg is not None:
        memcpy(&msg.header.h, h, HDR)
    return msg if into is None else into


def decode_message(buffer, offset=0, *, bint verify=True, into=None, bint copy=True):
    """Decode the message at ``offset`` of ``buffer``.

    Verifies the CRC-32 unless ``verify=False``, walks every TLV record
    (skipping unknown types; the OrderBook record's length, 6,200 or 2,456,
    gives the capacity) and returns a ``Message`` whose book is a copy, or
    with ``copy=False`` a zero-copy view into ``buffer``.  ``into=`` (a
    ``Message`` or ``OrderBook``) is filled in place and returned; an owning
    book takes the message's capacity, a view must already have it."""
    cdef Py_ssize_t off = as_offset(offset, "decode_message")
    return _decode(buffer, off, off, verify, into, copy)


cdef object _decode(object buffer, Py_ssize_t offset, Py_ssize_t report_at, bint verify,
                    object into, bint copy):
    """decode_message, with error offsets reported relative to ``report_at``."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    cdef BookLayout L
    cdef Py_ssize_t book_pos
    cdef const uint8_t* p
    if into is not None and not isinstance(into, (Message, OrderBook)):
        raise FieldTypeError(f"into= takes a Message or an OrderBook, got {type(into).__name__}")
    get_span(buffer, offset, 0, PyBUF_SIMPLE, &b, "decode_message")
    try:
        p = <const uint8_t*>b.buf + offset
        book_pos = _parse(p, b.len - offset, report_at, verify, &h, &L)
        return deliver(buffer, offset, book_pos, p, &h, &L, into, None, copy, "decode_message")
    finally:
        PyBuffer_Release(&b)


# --- encoding -------------------------------------------------------------------

cdef int _header_args(object sequence, object timestamp_ns, object source, object relay_domain,
                      object flags, const BookLayout* L, MessageHeaderC* h) except -1:
    cdef uint64_t seq, ts, src, dom, fl
    cdef timespec now
    as_u64(relay_domain, UINT8_MAX, None, 0, "relay_domain", &dom)
    as_u64(source, UINT8_MAX, None, 0, "source", &src)
    as_u64(flags, UINT8_MAX, None, 0, "flags", &fl)
    as_u64(sequence, UINT64_MAX, None, 0, "sequence", &seq)
    if timestamp_ns is None:
        clock_gettime(CLOCK_REALTIME, &now)
        ts = <uint64_t>now.tv_sec * 1000000000 + <uint64_t>now.tv_nsec
    else:
        as_u64(timestamp_ns, UINT64_MAX, None, 0, "timestamp_ns", &ts)
    ob_fill_header(h, L, seq, ts, <uint8_t>src, <uint8_t>dom, <uint8_t>fl)
    return 0


# --- C API (declared in _message.pxd, wrapped by capi.pxd) -----------------------

cdef uint32_t crc32_update(uint32_t crc, const uint8_t* buf, size_t length) noexcept nogil:
    """ob_crc32 for other extensions: zlib.crc32 semantics, this CPU's kernel."""
    return ob_crc32(crc, buf, length)


cdef Py_ssize_t write_message(uint8_t* dst, size_t capacity, const OrderBookHeadC* book,
                              const BookLayout* L, uint64_t sequence, uint64_t timestamp_ns,
                              uint8_t source, uint8_t relay_domain, uint8_t flags) noexcept nogil:
    """encode_message_into for C callers: -1 (nothing written) when capacity is
    short or a side's count is above the book's capacity (a message no reader
    would accept)."""
    cdef MessageHeaderC h
    cdef ob_fault f
    if capacity < <size_t>(HDR + EXT + L.book_size) or ob_check_book(book, L, False, &f) != 0:
        return -1
    ob_fill_header(&h, L, sequence, timestamp_ns, source, relay_domain, flags)
    return ob_write_message(dst, &h, book, L, ob_crc32)


cdef Py_ssize_t parse_message(const uint8_t* src, Py_ssize_t length, bint verify, MessageHeaderC* h,
                              BookLayout* L, ob_fault* f) noexcept nogil:
    """decode_message's checks for C callers, with this module's CRC kernel."""
    return ob_parse_message(src, length, verify, ob_crc32, h, L, f)


def encode_message(OrderBook book not None, *, sequence=0, timestamp_ns=None, source=0,
                   relay_domain=0, flags=0):
    """The message holding ``book`` as one extended OrderBook record: 6,237
    bytes at capacity 128, 2,493 at 50.  ``timestamp_ns=None`` stamps the
    current time."""
    cdef MessageHeaderC h
    cdef const BookLayout* L = book.layout()
    _header_args(sequence, timestamp_ns, source, relay_domain, flags, L, &h)
    book.checked("encode_message")             # raises before allocating
    out = PyBytes_FromStringAndSize(NULL, HDR + EXT + L.book_size)
    # the book's pointer is taken after everything that may run Python code
    ob_write_message(<uint8_t*>PyBytes_AS_STRING(out), &h, book.tlv(), L, ob_crc32)
    return out


def encode_message_into(buffer, offset, OrderBook book not None, *, sequence=0,
                        timestamp_ns=None, source=0, relay_domain=0, flags=0):
    """Write the message into a writable ``buffer`` at ``offset``; return the
    number of bytes written (6,237 or 2,493).  Allocates nothing."""
    cdef Py_buffer b
    cdef MessageHeaderC h
    cdef const BookLayout* L = book.layout()
    _header_args(sequence, timestamp_ns, source, relay_domain, flags, L, &h)
    cdef Py_ssize_t off = as_offset(offset, "encode_message_into")
    get_span(buffer, off, HDR + EXT + L.book_size, PyBUF_WRITABLE, &b, "encode_message_into")
    try:
        ob_write_message(<uint8_t*>b.buf + off, &h, book.checked("encode_message_into"), L, ob_crc32)
    finally:
        PyBuffer_Release(&b)
    return _SIZE_128 if L.capacity == OB_MAX_LEVELS else _SIZE_50


# --- captures -------------------------------------------------------------------
# The scanning itself lives in orderbook/_stream.pyx (MessageReader and the
# iterator below); this is the public entry and the fault-to-exception bridge.

cdef object _stream_mod = None


def iter_messages(source, *, bint verify=True, bint copy=True, bint stop_on_truncated=False,
                  into=None, bint resync=False, max_payload=None):
    """Iterate over the messages of a capture, back to back: a bytes-like
    object (or mmap) decoded in place, a path (``str`` or ``os.PathLike``,
    opened here and closed at the end), or a binary file.

    A file is read into one buffer allocated once (``readinto``, or ``read``
    for files without it; a path or an ``io.FileIO`` with ``read(2)``
    directly), never loaded whole; a header claiming more than
    ``max_payload`` (default 65,504) raises TruncatedError instead of being
    buffered.  A truncated last message raises TruncatedError with its
    offset, unless ``stop_on_truncated=True``.  ``copy=False`` yields views
    (bytes-like sources only).  ``into=`` (a Message or OrderBook) is refilled
    and yielded for every message: no allocation per message.  ``resync=True``
    skips bytes that begin no valid message to the next magic and counts them
    on the returned iterator (``skipped_bytes``, ``skipped_messages``,
    ``identification_frames``), which also has ``messages``, ``offset`` and
    ``close()``."""
    global _stream_mod
    if _stream_mod is None:
        import orderbook._stream
        _stream_mod = orderbook._stream
    return _stream_mod._scan(source, verify, copy, stop_on_truncated, into, resync, max_payload)


def _raise_fault(dict fault, Py_ssize_t at):
    """For orderbook._stream: raise the exception of a message fault (an
    ob_fault as a dict) of the message at stream offset ``at``."""
    cdef ob_fault f = fault
    return raise_message_fault(&f, at)


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
