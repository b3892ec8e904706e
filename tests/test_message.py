"""Protocol V2 framing: TLV walking, every error class from crafted input,
CRC-32 against zlib, captures."""

import io
import mmap
import random
import struct
import zlib

import pytest

import orderbook
from orderbook import (
    ChecksumError, MagicError, Message, MissingRecordError, OrderBook, ProtocolError,
    RecordError, TruncatedError, VersionError, decode_message, encode_message,
    encode_message_into, iter_messages,
)

HDR = orderbook.HEADER_SIZE
BOOK = orderbook.ORDER_BOOK_SIZE


def sample(seq=1):
    return OrderBook([(105, 1, 1), (104, 2)], [(106, 3)], sequence=seq, venue_id=4)


def frame(payload: bytes, *, magic=0xDEADBEEF, version=1, sequence=9, timestamp=123,
          source=2, relay_domain=0, flags=0, payload_size=None, checksum=None) -> bytes:
    """A message around `payload`, with a correct CRC unless one is given."""
    size = len(payload) if payload_size is None else payload_size
    head = struct.pack("<IBBBBQQI", magic, relay_domain, version, source, flags, sequence,
                       timestamp, size)
    crc = zlib.crc32(payload[:size], zlib.crc32(head)) if checksum is None else checksum
    return head + struct.pack("<I", crc) + payload


def std(t, value=b""):
    return bytes([t, len(value)]) + value


def ext(t, value=b"", reserved=0):
    return bytes([255, reserved, t]) + struct.pack("<H", len(value)) + value


def book_record(book=None):
    return ext(3, bytes(book or sample()))


# --- encode -----------------------------------------------------------------------

def test_encoded_layout_and_header():
    data = encode_message(sample(), sequence=77, timestamp_ns=5, source=3, relay_domain=1, flags=2)
    assert len(data) == orderbook.MESSAGE_SIZE
    assert data == frame(book_record(), sequence=77, timestamp=5, source=3, relay_domain=1, flags=2)
    h = decode_message(data).header
    assert (h.magic, h.version, h.sequence, h.timestamp, h.source, h.relay_domain, h.flags,
            h.payload_size) == (0xDEADBEEF, 1, 77, 5, 3, 1, 2, 5 + BOOK)
    assert h.checksum == zlib.crc32(data[:28] + data[32:])
    assert bytes(h) == data[:32]


def test_default_timestamp_is_now():
    import time
    before = time.time_ns()
    ts = decode_message(encode_message(sample())).header.timestamp
    assert before <= ts <= time.time_ns()


@pytest.mark.parametrize("kw, message", [
    ({"source": 256}, "source must be in 0..255, got 256"),
    ({"relay_domain": -1}, "relay_domain must be in 0..255, got -1"),
    ({"flags": 1.0}, "flags must be an integer, got float 1.0"),
    ({"sequence": 2**64}, "sequence must be in 0..18446744073709551615, got 18446744073709551616"),
    ({"timestamp_ns": -5}, "timestamp_ns must be in 0..18446744073709551615, got -5"),
])
def test_header_range_checks(kw, message):
    with pytest.raises(orderbook.OrderBookError) as info:
        encode_message(sample(), **kw)
    assert str(info.value) == message


def test_encode_into_checks_the_target():
    with pytest.raises(TruncatedError, match="encode_message_into needs 6237 bytes at offset 4, the buffer has 6236"):
        encode_message_into(bytearray(6240), 4, sample())
    with pytest.raises(orderbook.ReadOnlyError, match="needs a writable buffer, got read-only bytes"):
        encode_message_into(bytes(7000), 0, sample())


def test_encode_in_place_over_the_book_it_views():
    # a view at offset 37 of its own message buffer, re-encoded in place
    buf = bytearray(encode_message(sample(), sequence=1, timestamp_ns=1))
    view = OrderBook.view(buf, 37)
    view.add_bid(107, 1)
    encode_message_into(buf, 0, view, sequence=2, timestamp_ns=2)
    view.release()
    assert bytes(buf) == encode_message(OrderBook.from_bytes(buf, 37), sequence=2, timestamp_ns=2)
    assert decode_message(buf).book.best_bid == (107, 1, 0, 0)


# --- decode: TLV walking -------------------------------------------------------------

def test_unknown_records_before_and_after_are_skipped():
    payload = (std(1, b"abc") + ext(9, b"x" * 300) + std(254) + book_record()
               + std(7, b"\x00" * 255) + ext(200, b""))
    data = frame(payload)
    msg = decode_message(data)
    assert msg.book == sample() and msg.header.payload_size == len(payload)
    assert msg.nbytes == len(data)
    view = decode_message(data, copy=False).book
    assert view.is_view and view == sample()


def test_first_order_book_record_wins():
    other = OrderBook([(1, 1)])
    assert decode_message(frame(book_record() + ext(3, bytes(other)))).book == sample()


def test_decode_at_offset_and_trailing_bytes():
    data = b"junk" + encode_message(sample()) + b"trailing"
    assert decode_message(data, 4).book == sample()


def test_decode_into_message_and_book():
    data = encode_message(sample(3), sequence=5)
    msg = Message()
    assert decode_message(data, into=msg) is msg
    assert msg.book == sample(3) and msg.header.sequence == 5
    book = OrderBook()
    assert decode_message(data, into=book) is book and book == sample(3)
    with pytest.raises(orderbook.FieldTypeError, match="into= takes a Message or an OrderBook, got dict"):
        decode_message(data, into={})
    # copy=False into an existing book re-points it at the buffer
    view = OrderBook.view(bytes(BOOK))
    decode_message(data, into=view, copy=False)
    assert view.is_view and view == sample(3)


def test_message_equality_and_pickle():
    import pickle
    a = decode_message(encode_message(sample(), timestamp_ns=1))
    b = pickle.loads(pickle.dumps(a))
    assert a == b and a.header == b.header and "seq=0" in repr(a)


# --- decode: errors from crafted input ----------------------------------------------

ERRORS = [
    ("short header", lambda: encode_message(sample())[:31], TruncatedError,
     "a message header needs 32 bytes at offset 0, the buffer has 31"),
    ("bad magic", lambda: frame(book_record(), magic=0xDEADBEEE), MagicError,
     "bad magic at offset 0: expected 0xdeadbeef, found 0xdeadbeee"),
    ("version", lambda: frame(book_record(), version=2), VersionError,
     "unsupported protocol version at offset 5: expected 1, found 2"),
    ("payload past buffer", lambda: frame(book_record())[:-1], TruncatedError,
     "payload_size 6205 at offset 24 runs past the buffer: the message needs 6237 bytes from offset 0, the buffer has 6236"),
    ("checksum", lambda: frame(book_record(), checksum=0x1234), ChecksumError,
     "checksum mismatch in the message at offset 0: header says 0x00001234, bytes give 0x"),
    ("record past payload", lambda: frame(std(5, b"abc")[:-1]), RecordError,
     "TLV type 5 at offset 32 has length 3, which runs past the payload end at offset 36 (2 bytes remain)"),
    ("extended past payload", lambda: frame(ext(9, b"abcd")[:-2]), RecordError,
     "TLV type 9 at offset 32 has length 4, which runs past the payload end at offset 39 (2 bytes remain)"),
    ("cut standard header", lambda: frame(book_record() + b"\x05"), RecordError,
     "TLV header at offset 6237 needs 2 bytes, 1 remain in the payload"),
    ("cut extended header", lambda: frame(book_record() + b"\xff\x00\x03"), RecordError,
     "extended TLV header at offset 6237 needs 5 bytes, 3 remain in the payload"),
    ("extended reserved", lambda: frame(ext(9, b"", reserved=1) + book_record()), RecordError,
     "extended TLV at offset 32: reserved byte is 1, expected 0"),
    ("type 0", lambda: frame(std(0) + book_record()), RecordError,
     "TLV at offset 32 has type 0, expected 1..254"),
    ("book wrong length", lambda: frame(ext(3, bytes(BOOK - 1))), RecordError,
     "OrderBook record at offset 37 has length 6199, expected 6200 (capacity 128) or 2456 (capacity 50)"),
    ("book as standard record", lambda: frame(std(3, b"x" * 10)), RecordError,
     "OrderBook record at offset 34 has length 10, expected 6200 (capacity 128) or 2456 (capacity 50)"),
    ("no book", lambda: frame(std(1, b"a") + ext(4, b"b")), MissingRecordError,
     "the message at offset 0 holds no OrderBook record (TLV type 3)"),
    ("empty payload", lambda: frame(b""), MissingRecordError,
     "the message at offset 0 holds no OrderBook record (TLV type 3)"),
    ("book count 129", lambda: frame(ext(3, b"\0" * 40 + b"\x81\x00" + bytes(BOOK - 42))),
     orderbook.LayoutError, "decode_message: bids count at byte offset 77 is 129, expected at most 128"),
    ("book count 51 at capacity 50", lambda: frame(ext(3, b"\0" * 1248 + b"\x33\x00" + bytes(2456 - 1250))),
     orderbook.LayoutError, "decode_message: asks count at byte offset 1285 is 51, expected at most 50"),
    ("capacity 50 payload past buffer",
     lambda: encode_message(OrderBook(capacity=50), timestamp_ns=1)[:-1], TruncatedError,
     "payload_size 2461 at offset 24 runs past the buffer: the message needs 2493 bytes from offset 0, the buffer has 2492"),
]


@pytest.mark.parametrize("name, make, error, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_each_error_from_crafted_input(name, make, error, message):
    with pytest.raises(error) as info:
        decode_message(make())
    assert str(info.value).startswith(message)
    assert isinstance(info.value, orderbook.OrderBookError)


def test_checksum_error_carries_both_values_and_verify_false_skips_it():
    data = bytearray(encode_message(sample()))
    data[100] ^= 1
    with pytest.raises(ChecksumError) as info:
        decode_message(data)
    stored = struct.unpack_from("<I", data, 28)[0]
    assert info.value.expected == stored
    assert info.value.found == zlib.crc32(bytes(data[:28] + data[32:]))
    assert decode_message(data, verify=False).book != sample()   # trusted transport: no check


def test_error_offsets_are_absolute():
    data = b"\0" * 10 + frame(book_record(), version=9)
    with pytest.raises(VersionError, match="at offset 15"):
        decode_message(data, 10)


# --- crc32 ---------------------------------------------------------------------------

def test_crc32_matches_zlib_for_every_length_offset_and_start():
    rng = random.Random(1234)
    blob = rng.randbytes(10_000 + 16)
    mv = memoryview(blob)
    for length in range(0, 10_001):
        off = length % 16
        start = rng.getrandbits(32) if length % 3 else 0
        assert orderbook.crc32(mv[off:off + length], start) == zlib.crc32(mv[off:off + length], start)


def test_crc32_offsets_and_chaining():
    rng = random.Random(99)
    data = rng.randbytes(7000)
    for off in range(16):
        for length in (0, 1, 15, 16, 63, 64, 65, 255, 256, 257, 6200, 6984 - off):
            chunk = data[off:off + length]
            assert orderbook.crc32(chunk) == zlib.crc32(chunk)
            split = length // 3
            assert orderbook.crc32(chunk[split:], orderbook.crc32(chunk[:split])) == zlib.crc32(chunk)
    assert orderbook.crc32(b"123456789") == 0xCBF43926
    assert orderbook.crc32(b"", 0xFFFFFFFF) == zlib.crc32(b"", 0xFFFFFFFF)
    assert orderbook.crc32(b"abc", -1) == zlib.crc32(b"abc", -1)
    big = rng.randbytes(1 << 20)
    assert orderbook.crc32(big) == zlib.crc32(big)                # the GIL-released path
    assert orderbook.crc32(bytearray(b"x"), 2**40 + 5) == zlib.crc32(b"x", 2**40 + 5)
    assert orderbook.crc32_implementation() in orderbook._message._crc32_kernels()


# --- captures --------------------------------------------------------------------------

def capture(n=5):
    return b"".join(encode_message(sample(i), sequence=i, timestamp_ns=i) for i in range(n))


def test_iter_messages_over_bytes_mmap_and_files(tmp_path):
    data = capture()
    path = tmp_path / "cap.bin"
    path.write_bytes(data)
    expected = [sample(i) for i in range(5)]
    assert [m.book for m in iter_messages(data)] == expected
    assert [m.book for m in iter_messages(bytearray(data), copy=False)] == expected
    with open(path, "rb") as f:
        assert [m.header.sequence for m in iter_messages(f)] == list(range(5))
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            assert [m.book for m in iter_messages(mm)] == expected
    assert list(iter_messages(b"")) == []


def test_iter_messages_reads_files_in_chunks():
    class Counting(io.BytesIO):
        reads = 0

        def read(self, n=-1):
            assert n is not None and n > 0, "must never read the whole file"
            Counting.reads += 1
            return super().read(min(n, 10_000))

    msgs = list(iter_messages(Counting(capture(20))))
    assert len(msgs) == 20 and Counting.reads > 10


@pytest.mark.parametrize("cut", [1, 31, 32, 100, 6236])
def test_truncated_last_message(cut, tmp_path):
    data = capture(3)
    data = data[:2 * orderbook.MESSAGE_SIZE + cut]
    at = 2 * orderbook.MESSAGE_SIZE
    for source in (data, io.BytesIO(data)):
        with pytest.raises(TruncatedError) as info:
            list(iter_messages(source))
        assert info.value.offset == at
        assert str(info.value).startswith(f"truncated message at offset {at}: ")
    assert len(list(iter_messages(data, stop_on_truncated=True))) == 2
    assert len(list(iter_messages(io.BytesIO(data), stop_on_truncated=True))) == 2


def test_iter_messages_reports_file_offsets_of_bad_messages():
    data = bytearray(capture(3))
    data[orderbook.MESSAGE_SIZE * 2 + 500] ^= 0xFF
    with pytest.raises(ChecksumError, match=f"at offset {orderbook.MESSAGE_SIZE * 2}"):
        list(iter_messages(io.BytesIO(bytes(data))))
    data[orderbook.MESSAGE_SIZE] = 0
    with pytest.raises(MagicError, match=f"bad magic at offset {orderbook.MESSAGE_SIZE}:"):
        list(iter_messages(io.BytesIO(bytes(data))))
    with pytest.raises(ProtocolError):
        list(iter_messages(bytes(data)))
    with pytest.raises(orderbook.FieldTypeError, match="copy=False needs a bytes-like source"):
        iter_messages(io.BytesIO(), copy=False)
