"""MessageReader: incremental decoding of message streams (orderbook/_stream.pyx)."""

from __future__ import annotations

import gc
import random
import socket
import struct
import threading
import tracemalloc
from typing import Iterable, List

import pytest

import orderbook
from orderbook import (
    ChecksumError, ExportError, FieldTypeError, MagicError, Message, MessageReader, OrderBook,
    OrderBookError, ProtocolError, TruncatedError, encode_message,
)

from conftest import GOLDEN_DIRS, golden_cases, Case


def book(i: int, cap: int = 128) -> OrderBook:
    n = min(cap, 3 + i % 40)
    return OrderBook([(10_000 - j - i, j + 1) for j in range(n)],
                     [(10_001 + j + i, j + 2) for j in range(n)],
                     sequence=i, asset_id=1000 + i, capacity=cap)


def mixed(n: int = 12) -> List[bytes]:
    """Messages alternating capacity 128 and 50."""
    return [encode_message(book(i, 128 if i % 2 else 50), sequence=i, timestamp_ns=i)
            for i in range(n)]


def golden_messages() -> List[bytes]:
    cases = golden_cases()
    if not cases:
        pytest.skip(f"golden reference bytes not found at {GOLDEN_DIRS[128]}")
    return [Case(c, n).message for c, n in sorted(cases, key=lambda p: (p[1], p[0]))]


IDENT = struct.pack("<IBBBBQQII", 0xDEADBEEF, 0, 1, 0, 0, 0, 0, 0, 0)


def seqs(msgs: Iterable[Message]) -> List[int]:
    return [m.header.sequence for m in msgs]


def feed_in_pieces(r: MessageReader, data: bytes, sizes: Iterable[int]) -> List[bytes]:
    out, pos = [], 0
    for k in sizes:
        if pos >= len(data):
            break
        r.feed(data[pos:pos + k])
        pos += k
        out += [encode_message(m.book, sequence=m.header.sequence, timestamp_ns=m.header.timestamp)
                for m in r]
    if pos < len(data):
        r.feed(data[pos:])
        out += [encode_message(m.book, sequence=m.header.sequence, timestamp_ns=m.header.timestamp)
                for m in r]
    return out


# --- chunking ---------------------------------------------------------------------------

def test_golden_capture_fed_at_every_chunk_size():
    msgs = golden_messages()
    capture = b"".join(msgs)
    want = [(m[8:16], m[32 + 5:]) for m in msgs]
    for size in list(range(1, 80)) + [97, 511, 2493, 2494, 6236, 6237, 6238, 65_536, len(capture)]:
        r = MessageReader()
        got = []
        for pos in range(0, len(capture), size):
            r.feed(capture[pos:pos + size])
            got += [(bytes(m.header)[8:16], m.book) for m in r]
        assert len(got) == len(msgs), size
        for (seq, raw), (gseq, gbook) in zip(want, got):
            assert seq == gseq
            assert gbook == OrderBook.from_bytes(raw, capacity=gbook.capacity)
        assert r.buffered == 0 and r.offset == len(capture) and r.messages == len(msgs)


def test_random_chunk_boundaries_and_both_capacities():
    msgs = mixed(30)
    capture = b"".join(msgs)
    rnd = random.Random(7)
    for _ in range(20):
        sizes = [rnd.choice([1, 2, 3, 31, 32, 33, 100, 2493, 4000, 6237, 20_000]) for _ in range(400)]
        r = MessageReader()
        assert feed_in_pieces(r, capture, sizes) == msgs


def test_a_chunk_larger_than_the_buffer_is_consumed_in_a_loop():
    msgs = mixed(200)                    # ~870 KB, the buffer is 64 KiB
    capture = b"".join(msgs)
    r = MessageReader()
    r.feed(capture)
    assert r.buffered == len(capture)
    assert r.capacity == 65_536
    got = list(r)
    assert seqs(got) == list(range(200))
    assert [m.book.capacity for m in got] == [128 if i % 2 else 50 for i in range(200)]
    # several big chunks queued before iterating keep their order
    r.feed(capture)
    r.feed(capture)
    assert seqs(r) == list(range(200)) * 2
    assert r.offset == 3 * len(capture)


def test_partial_message_waits_and_offsets_track_the_stream():
    m = encode_message(book(1), sequence=5, timestamp_ns=1)
    r = MessageReader()
    r.feed(m[:100])
    assert list(r) == [] and r.buffered == 100 and r.offset == 0
    r.feed(m[100:])
    (msg,) = list(r)
    assert msg.header.sequence == 5 and r.offset == len(m) and r.buffered == 0


def test_into_message_and_book_are_refilled():
    msgs = mixed(6)
    into = Message()
    r = MessageReader(into=into)
    r.feed(b"".join(msgs))
    got = []
    for m in r:
        assert m is into
        got.append((m.header.sequence, m.book.capacity, bytes(m.book)))
    assert [g[0] for g in got] == list(range(6))
    assert [g[1] for g in got] == [50, 128, 50, 128, 50, 128]
    b = OrderBook(capacity=50)
    r = MessageReader(into=b)
    r.feed(b"".join(msgs))
    assert all(x is b for x in r)
    assert b.capacity == 128 and b == book(5, 128)
    with pytest.raises(FieldTypeError):
        MessageReader(into=bytearray(10))


def test_without_into_each_message_is_a_new_copy():
    data = bytearray(b"".join(mixed(3)))
    r = MessageReader()
    r.feed(data)
    data[:] = bytes(len(data))            # the reader copied
    got = list(r)
    assert len({id(m) for m in got}) == 3 and not any(m.book.is_view for m in got)
    assert [m.book for m in got] == [book(i, 128 if i % 2 else 50) for i in range(3)]


# --- errors -----------------------------------------------------------------------------

def test_errors_carry_the_stream_offset_and_the_bytes_stay():
    msgs = mixed(4)
    bad = bytearray(msgs[2])
    bad[500] ^= 0xFF
    r = MessageReader()
    at = len(msgs[0]) + len(msgs[1])
    r.feed(msgs[0] + msgs[1])
    assert len(list(r)) == 2
    r.feed(bytes(bad) + msgs[3])
    for _ in range(2):                    # raises again: the offending bytes stay
        with pytest.raises(ChecksumError, match=f"at offset {at}:"):
            next(r)
    assert r.offset == at and r.buffered == len(bad) + len(msgs[3])
    r.reset()
    assert r.buffered == 0 and r.offset == at + len(bad) + len(msgs[3])
    r.feed(msgs[0])
    assert seqs(r) == [0]


def test_bad_magic_and_truncation_at_eof():
    m = encode_message(book(1), timestamp_ns=1)
    r = MessageReader()
    r.feed(m + b"\x00" * 40)
    assert next(r).header.sequence == 0
    with pytest.raises(MagicError, match=f"bad magic at offset {len(m)}:"):
        next(r)
    r = MessageReader()
    r.feed(m + m[:1000])
    assert len(list(r)) == 1
    r.feed_eof()
    with pytest.raises(TruncatedError) as info:
        next(r)
    assert info.value.offset == len(m) and info.value.needed == len(m)
    assert info.value.available == 1000
    assert str(info.value).startswith(f"truncated message at offset {len(m)}: ")
    r.feed(m[1000:])                       # the stream goes on after all
    assert len(list(r)) == 1 and not r.eof


def test_oversized_header_is_refused_at_once_without_allocating():
    header = struct.pack("<IBBBBQQII", 0xDEADBEEF, 0, 1, 0, 0, 0, 0, 0xFFFFFFF0, 0)
    r = MessageReader()
    m = encode_message(book(1), timestamp_ns=1)
    r.feed(m)
    assert len(list(r)) == 1
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        r.feed(header + bytes(1000))
        with pytest.raises(TruncatedError, match="max_payload=65504") as info:
            next(r)
        grown = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown       # the exception, no 4 GiB (nor 1 MB) buffer
    assert info.value.offset == len(m) and info.value.needed == 32 + 0xFFFFFFF0
    assert isinstance(info.value, ProtocolError)


def test_max_payload_bounds_the_buffer():
    r = MessageReader(max_payload=5 + 2456)
    assert r.capacity == 32 + 5 + 2456 and r.max_payload == 2461
    small = encode_message(book(1, 50), timestamp_ns=1)
    big = encode_message(book(1, 128), timestamp_ns=1)
    r.feed(small * 3)
    assert len(list(r)) == 3
    r.feed(big)
    with pytest.raises(TruncatedError, match="max_payload=2461"):
        next(r)
    with pytest.raises(orderbook.FieldRangeError):
        MessageReader(max_payload=2**32)
    with pytest.raises(FieldTypeError):
        MessageReader(max_payload="big")


def test_the_buffer_is_allocated_once():
    r = MessageReader()
    data = b"".join(mixed(20))
    r.feed(data)
    list(r)
    tracemalloc.start()
    try:
        snap0 = tracemalloc.take_snapshot()
        for _ in range(50):
            r.feed(data[:30_000])
            r.feed(data[30_000:60_000])
            for _m in r:
                pass
            r.feed(data[60_000:])
            for _m in r:
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del snap0
    # no copy of a chunk and no second buffer: far below one more 64 KiB
    assert peak < 200 * 1024 * 20, peak


# --- resync -----------------------------------------------------------------------------

def test_resync_skips_junk_identification_frames_and_cut_messages_with_exact_counts():
    msgs = mixed(8)
    junk1 = b"\x01\x02\x03 not a message \xef\xbe\xad"     # ends in a magic prefix
    junk2 = bytes(range(200)) * 3
    cut = msgs[2][:1500]                                   # a header, then the next message
    damaged = bytearray(msgs[5])
    damaged[100] ^= 1
    stream = (IDENT + junk1 + msgs[0] + msgs[1] + cut + msgs[3] + junk2 + IDENT + msgs[4]
              + bytes(damaged) + msgs[6] + msgs[7][:10] + msgs[7])
    for sizes in ([len(stream)], [1], [7, 13, 4000], [6237]):
        r = MessageReader(resync=True)
        got = []
        pos = 0
        while pos < len(stream):
            for k in sizes:
                r.feed(stream[pos:pos + k])
                pos += k
                got += seqs(r)
        r.feed_eof()
        got += seqs(r)
        assert got == [0, 1, 3, 4, 6, 7], sizes
        assert r.identification_frames == 2
        assert r.skipped_messages == 3                    # cut, damaged, msgs[7][:10]
        assert r.skipped_bytes == len(junk1) + len(cut) + len(junk2) + len(damaged) + 10
        assert r.messages == 6 and r.buffered == 0


def test_resync_counts_a_cut_last_message_at_the_end_of_the_stream():
    msgs = mixed(3)
    r = MessageReader(resync=True)
    r.feed(msgs[0] + msgs[1] + msgs[2][:500])
    assert seqs(r) == [0, 1]
    assert r.buffered == 500 and r.skipped_messages == 0
    r.feed_eof()
    assert seqs(r) == []
    assert r.skipped_messages == 1 and r.skipped_bytes == 500


def test_resync_skips_an_oversized_header():
    header = struct.pack("<IBBBBQQII", 0xDEADBEEF, 0, 1, 0, 0, 0, 0, 0xFFFFFFF0, 0)
    m = encode_message(book(1), sequence=9, timestamp_ns=1)
    r = MessageReader(resync=True)
    r.feed(header + m)
    assert seqs(r) == [9]
    assert r.skipped_messages == 1 and r.skipped_bytes == 32


def test_identification_frames_are_errors_without_resync():
    r = MessageReader()
    r.feed(IDENT)
    with pytest.raises(ChecksumError):
        next(r)
    r = MessageReader(verify=False)
    r.feed(IDENT)
    with pytest.raises(orderbook.MissingRecordError):
        next(r)


# --- recv_into / readinto -----------------------------------------------------------------

def test_recv_into_over_a_socketpair_with_random_write_sizes():
    msgs = [encode_message(book(i, 128 if i % 3 else 50), sequence=i, timestamp_ns=i)
            for i in range(300)]
    data = IDENT + b"".join(msgs)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def writer() -> None:
        rnd = random.Random(3)
        pos = 0
        while pos < len(data):
            k = rnd.choice([1, 5, 32, 700, 2493, 6237, 9000, 70_000])
            a.sendall(data[pos:pos + k])
            pos += k
        a.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=writer)
    t.start()
    into = Message()
    r = MessageReader(into=into, resync=True)
    got = []
    try:
        while r.recv_into(b):
            got += [(m.header.sequence, m.book.capacity) for m in r]
        got += [(m.header.sequence, m.book.capacity) for m in r]
    finally:
        t.join()
        a.close()
        b.close()
    assert got == [(i, 128 if i % 3 else 50) for i in range(300)]
    assert r.eof and r.identification_frames == 1 and r.skipped_bytes == 0
    assert r.offset == len(data)


def test_readinto_over_a_real_file(tmp_path):
    msgs = mixed(50)
    path = tmp_path / "capture.bin"
    path.write_bytes(b"".join(msgs))
    r = MessageReader()
    got = []
    with open(path, "rb") as f:
        while r.readinto(f):
            got += seqs(r)
    assert got == list(range(50)) and r.eof
    with open(path, "rb", buffering=0) as f:
        r = MessageReader(into=Message())
        n = 0
        while r.readinto(f):
            n += sum(1 for _ in r)
        assert n == 50


def test_reading_into_a_full_buffer_is_refused():
    m = encode_message(book(1), timestamp_ns=1)
    r = MessageReader(max_payload=len(m) - 32)
    r.feed(m)
    a, b = socket.socketpair()
    try:
        with pytest.raises(ExportError, match="buffer is full"):
            r.recv_into(b)
    finally:
        a.close()
        b.close()
    assert len(list(r)) == 1


class _Hostile:
    """recv_into that calls back into the reader while it fills it."""

    def __init__(self, reader: MessageReader, data: bytes) -> None:
        self.reader = reader
        self.data = data
        self.errors: List[BaseException] = []

    def recv_into(self, mv: memoryview) -> int:
        for call in (lambda: self.reader.feed(b"x"), lambda: next(self.reader), self.reader.reset,
                     lambda: self.reader.recv_into(self)):
            try:
                call()
            except ExportError as e:
                self.errors.append(e)
        self.kept = mv
        n = min(len(mv), len(self.data))
        mv[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


def test_recv_into_refuses_reentrant_calls_and_its_view_is_released():
    msgs = mixed(3)
    r = MessageReader()
    h = _Hostile(r, b"".join(msgs))
    while r.recv_into(h):
        pass
    assert len(h.errors) == 4 * 2 and all("while a recv_into" in str(e) for e in h.errors)
    with pytest.raises(ValueError):
        h.kept[0]                         # the view handed out was released
    assert seqs(r) == [0, 1, 2]


def test_recv_into_returning_nonsense_is_a_library_error():
    class Liar:
        def recv_into(self, mv):
            return len(mv) + 1

    with pytest.raises(FieldTypeError):
        MessageReader().recv_into(Liar())


def test_feed_refuses_non_buffers():
    r = MessageReader()
    for bad in ("text", 5, None):
        with pytest.raises(FieldTypeError):
            r.feed(bad)


def test_a_collector_callback_feeding_the_reader_mid_iteration_is_safe():
    msgs = mixed(40)
    r = MessageReader()
    extra = b"".join(mixed(5))

    def cb(phase, info):
        if phase == "start":
            try:
                r.feed(extra)
            except ExportError:
                pass

    r.feed(b"".join(msgs))
    gc.callbacks.append(cb)
    old = gc.get_threshold()
    gc.set_threshold(1)
    try:
        got = seqs(r)
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(cb)
    # every message whole and in order; the callback's bytes come after
    assert got[:40] == list(range(40))
    assert set(got[40:]) <= set(range(5))


def test_errors_are_the_librarys():
    assert issubclass(TruncatedError, OrderBookError)
    r = MessageReader()
    r.feed(b"\x00" * 64)
    with pytest.raises(OrderBookError):
        next(r)


def test_repr_and_attributes():
    r = MessageReader(verify=False, resync=True)
    assert "MessageReader" in repr(r)
    assert (r.verify, r.resync, r.into, r.eof, r.messages) == (False, True, None, False, 0)
    assert r.max_payload == 65_504 and r.capacity == 65_536
