"""iter_messages over captures: paths, files, into=, resync counts, bounded buffering."""

from __future__ import annotations

import io
import os
import resource
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest

import orderbook
from orderbook import (
    ChecksumError, FieldTypeError, MagicError, Message, OrderBook, OrderBookError, TruncatedError,
    encode_message, iter_messages,
)

from conftest import GOLDEN_DIRS, Case, golden_cases

HUGE = struct.pack("<IBBBBQQII", 0xDEADBEEF, 0, 1, 0, 0, 0, 0, 0xFFFFFFF0, 0)
IDENT = struct.pack("<IBBBBQQII", 0xDEADBEEF, 0, 1, 0, 0, 0, 0, 0, 0)


def book(i: int, cap: int = 128) -> OrderBook:
    n = min(cap, 2 + i % 30)
    return OrderBook([(50_000 - j, j + 1) for j in range(n)], [(50_001 + j, j + 1) for j in range(n)],
                     sequence=i, capacity=cap)


def mixed(n: int) -> List[bytes]:
    return [encode_message(book(i, 50 if i % 2 else 128), sequence=i, timestamp_ns=i)
            for i in range(n)]


def seqs(it) -> List[int]:
    return [m.header.sequence for m in it]


@pytest.fixture
def capture_path(tmp_path: Path) -> Path:
    p = tmp_path / "capture.bin"
    p.write_bytes(b"".join(mixed(100)))
    return p


def test_path_sources_str_and_pathlike(capture_path):
    assert seqs(iter_messages(capture_path)) == list(range(100))
    assert seqs(iter_messages(str(capture_path))) == list(range(100))
    with pytest.raises(FileNotFoundError):
        iter_messages(capture_path.parent / "missing.bin")
    with pytest.raises(FieldTypeError, match="copy=False"):
        iter_messages(capture_path, copy=False)


def test_a_path_is_closed_when_the_scan_ends(capture_path):
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        assert sum(1 for _ in iter_messages(capture_path)) == 100
        it = iter_messages(capture_path)
        next(it)
        it.close()
        assert list(it) == []
        with iter_messages(capture_path) as it:
            next(it)
    assert len(os.listdir("/proc/self/fd")) == before


def test_golden_capture_of_both_capacities_through_every_source(tmp_path):
    cases = golden_cases()
    if not cases:
        pytest.skip(f"golden reference bytes not found at {GOLDEN_DIRS[128]}")
    ordered = [Case(c, n) for c, n in sorted(cases, key=lambda p: (p[1], p[0]))]
    data = b"".join(c.message for c in ordered)
    path = tmp_path / "golden.bin"
    path.write_bytes(data)
    want = [(c.capacity, c.message[32 + 5:]) for c in ordered]
    into = Message()
    for make in (lambda: iter_messages(path), lambda: iter_messages(path, into=into),
                 lambda: iter_messages(open(path, "rb")), lambda: iter_messages(io.FileIO(path)),
                 lambda: iter_messages(data, into=into), lambda: iter_messages(io.BytesIO(data))):
        got = [(m.book.capacity, bytes(m.book)) for m in make()]
        assert [g[0] for g in got] == [w[0] for w in want]
        for (cap, raw), (_, gbytes) in zip(want, got):
            assert gbytes == bytes(OrderBook.from_bytes(raw, capacity=cap))


def test_into_refills_one_object(capture_path):
    into = Message()
    n = 0
    for m in iter_messages(capture_path, into=into):
        assert m is into
        n += 1
    assert n == 100 and into.header.sequence == 99
    b = OrderBook()
    assert all(x is b for x in iter_messages(capture_path.read_bytes(), into=b))
    with pytest.raises(FieldTypeError):
        iter_messages(capture_path, into=5)


def test_the_iterator_reports_counts_and_offsets(capture_path):
    it = iter_messages(capture_path)
    next(it)
    assert it.messages == 1 and it.offset == len(mixed(1)[0])
    list(it)
    assert it.messages == 100 and it.offset == capture_path.stat().st_size
    assert (it.skipped_bytes, it.skipped_messages, it.identification_frames) == (0, 0, 0)


def _junky() -> tuple:
    msgs = mixed(10)
    damaged = bytearray(msgs[4])
    damaged[300] ^= 4
    junk = b"junk\x00\xef\xbe" * 50
    data = (IDENT + msgs[0] + junk + msgs[1] + msgs[2][:700] + msgs[3] + bytes(damaged) + msgs[5]
            + IDENT + msgs[6] + msgs[7] + junk + msgs[8] + msgs[9])
    return data, [0, 1, 3, 5, 6, 7, 8, 9], 2 * len(junk) + 700 + len(damaged)


@pytest.mark.parametrize("kind", ["bytes", "path", "file", "bytesio", "trickle"])
def test_resync_counts_are_exact_on_every_source(kind, tmp_path):
    data, want, skipped = _junky()
    path = tmp_path / "junky.bin"
    path.write_bytes(data)

    class Trickle:
        def __init__(self) -> None:
            self.f = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self.f.read(min(n, 97))

    source = {"bytes": lambda: data, "path": lambda: path, "file": lambda: open(path, "rb"),
              "bytesio": lambda: io.BytesIO(data), "trickle": Trickle}[kind]()
    it = iter_messages(source, resync=True)
    assert seqs(it) == want
    assert it.skipped_messages == 2          # the cut message and the damaged one
    assert it.skipped_bytes == skipped
    assert it.identification_frames == 2
    with pytest.raises(ChecksumError):
        list(iter_messages(source if kind == "bytes" else data))


def test_errors_carry_file_offsets(capture_path):
    data = bytearray(capture_path.read_bytes())
    at = sum(len(m) for m in mixed(7))
    data[at + 40] ^= 0xFF
    capture_path.write_bytes(bytes(data))
    it = iter_messages(capture_path)
    with pytest.raises(ChecksumError, match=f"at offset {at}:"):
        list(it)
    assert list(it) == []                   # exhausted after the error, as a generator
    data[at] = 0
    capture_path.write_bytes(bytes(data))
    with pytest.raises(MagicError, match=f"bad magic at offset {at}:"):
        list(iter_messages(capture_path))


def test_truncated_last_message_in_a_path(capture_path):
    data = capture_path.read_bytes()
    capture_path.write_bytes(data[:-100])
    with pytest.raises(TruncatedError) as info:
        list(iter_messages(capture_path))
    last = len(mixed(100)[-1])
    assert info.value.offset == len(data) - last
    assert info.value.needed == last and info.value.available == last - 100
    assert len(list(iter_messages(capture_path, stop_on_truncated=True))) == 99


def test_files_without_readinto_are_read_with_read():
    data = b"".join(mixed(30))

    class ReadOnly:
        def __init__(self) -> None:
            self.f = io.BytesIO(data)
            self.sizes: List[int] = []

        def read(self, n: int = -1) -> bytes:
            assert 0 < n <= 256 * 1024
            self.sizes.append(n)
            return self.f.read(min(n, 1000))

    src = ReadOnly()
    assert seqs(iter_messages(src)) == list(range(30))
    assert len(src.sizes) > 30


def test_a_subclass_overriding_read_is_read_through_it():
    data = b"".join(mixed(5))

    class Counting(io.BytesIO):
        reads = 0

        def read(self, n=-1):
            Counting.reads += 1
            return super().read(min(n, 3000))

    assert len(list(iter_messages(Counting(data)))) == 5 and Counting.reads > 5


# --- the 4 GiB header --------------------------------------------------------------------

def test_a_header_claiming_4_gib_is_refused_without_buffering_it(tmp_path):
    m = encode_message(book(3), sequence=3, timestamp_ns=1)
    path = tmp_path / "huge.bin"
    path.write_bytes(m + HUGE + m * 800)        # ~5 MB after the bad header
    for source in (lambda: path, lambda: open(path, "rb"), lambda: io.BytesIO(path.read_bytes())):
        it = iter_messages(source())
        assert next(it).header.sequence == 3
        with pytest.raises(TruncatedError) as info:
            next(it)
        assert info.value.offset == len(m) and info.value.needed == 32 + 0xFFFFFFF0
    it = iter_messages(path, resync=True)
    assert len(list(it)) == 801
    assert it.skipped_messages == 1 and it.skipped_bytes == 32
    # a header alone in a short file: a plain truncation, as in a bytes capture
    path.write_bytes(HUGE + b"\x00" * 100)
    with pytest.raises(TruncatedError) as info:
        list(iter_messages(path))
    assert info.value.available == 132
    with pytest.raises(TruncatedError) as info2:
        list(iter_messages(path.read_bytes()))
    assert (info.value.offset, info.value.needed, info.value.available) == (
        info2.value.offset, info2.value.needed, info2.value.available)
    assert list(iter_messages(path, stop_on_truncated=True)) == []


def test_rss_stays_flat_on_a_4_gib_header(tmp_path):
    """In a child, so that the peak RSS is this scan's alone."""
    m = encode_message(book(3), sequence=3, timestamp_ns=1)
    path = tmp_path / "huge.bin"
    with open(path, "wb") as f:
        f.write(HUGE)
        for _ in range(3):
            f.write(m * 160)                    # ~3 MB of messages after the header
    code = textwrap.dedent(f"""
        import resource, orderbook
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for resync in (False, True):
            try:
                n = sum(1 for _ in orderbook.iter_messages({str(path)!r}, resync=resync))
            except orderbook.TruncatedError:
                n = -1
            print(n)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    # in the directory of the orderbook under test (the scratch build under make sanitize)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(orderbook.__file__).resolve().parent.parent)).stdout.split()
    assert out[:2] == ["-1", "480"]
    assert int(out[2]) < 4 * 1024, f"peak RSS grew by {out[2]} KiB"


# --- existing sources keep working ---------------------------------------------------------

def test_bytes_like_sources_are_zero_copy_with_copy_false():
    data = bytearray(b"".join(mixed(4)))
    got = list(iter_messages(data, copy=False))
    assert all(m.book.is_view for m in got)
    data[32 + 5 + 40 + 8] ^= 1                   # the first bid's price, in place
    assert got[0].book.best_bid[0] != book(0).best_bid[0]
    for m in got:
        m.book.release()


def test_text_files_are_refused(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"".join(mixed(1)))
    with open(p, "r") as f, pytest.raises(FieldTypeError, match="text-mode"):
        iter_messages(f)


def test_all_errors_are_the_librarys():
    for bad in (b"\x00" * 40, HUGE, IDENT + b"x" * 10):
        with pytest.raises(OrderBookError):
            list(iter_messages(bad))
        with pytest.raises(OrderBookError):
            list(iter_messages(io.BytesIO(bad)))
