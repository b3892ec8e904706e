"""orderbook.Capture: open, verify and index captures; numpy views of books and headers."""

from __future__ import annotations

import struct

import pytest

import orderbook
from orderbook import (
    Capture, ChecksumError, LayoutError, MagicError, OrderBook, RecordError, ReleasedError,
    TruncatedError, VersionError, decode_message, encode_message,
)


def _book(i, capacity=128):
    return OrderBook([(10_000 + i, 5 + i, 1), (9_999, 7)], [(10_002 + i % 3, 1)], sequence=i,
                     venue_id=100 + i % 3, snapshot_timestamp_ns=1_700_000_000_000_000_000 + i,
                     precision_factor=100, capacity=capacity)


def _capture(n, capacity=128):
    return b"".join(encode_message(_book(i, capacity), sequence=1000 + i, timestamp_ns=i, source=4)
                    for i in range(n))


def _with_foreign_records(book, sequence=0):
    """A message with a standard record (type 7) before and an extended one
    (type 9) after the OrderBook record; its CRC computed by hand."""
    raw = bytes(book)
    payload = (bytes([7, 3]) + b"abc" + struct.pack("<BBBH", 255, 0, 3, len(raw)) + raw
               + struct.pack("<BBBH", 255, 0, 9, 4) + b"wxyz")
    head = struct.pack("<IBBBBQQI", 0xDEADBEEF, 0, 1, 0, 0, sequence, 0, len(payload))
    crc = orderbook.crc32(payload, orderbook.crc32(head))
    return head + struct.pack("<I", crc) + payload


def test_len_index_iteration_and_values():
    blob = _capture(20)
    with Capture(blob) as cap:
        assert len(cap) == 20 and cap.nbytes == len(blob) and cap.verified
        for i, msg in enumerate(cap):
            assert msg == decode_message(blob, i * orderbook.MESSAGE_SIZE)
        assert cap[-1].header.sequence == 1019
        assert cap.book(3) == _book(3)
        with pytest.raises(IndexError):
            cap[20]
        with pytest.raises(IndexError):
            cap[-21]
    assert cap.closed
    with pytest.raises(ReleasedError):
        cap[0]


def test_golden_messages(all_cases):
    blob = b"".join(c.message for c in all_cases)
    cap = Capture(blob)
    assert len(cap) == len(all_cases)
    for i, c in enumerate(all_cases):
        msg = cap[i]
        assert msg.book.capacity == c.capacity
        assert [list(lv) for lv in msg.book.bids] == c.values["bids"]
        assert msg.header.checksum == c.values["message"]["checksum"]


def test_golden_dirty_padding_reads(golden_dir):
    data = (golden_dir / "top10.dirty_padding.message.bin").read_bytes()
    cap = Capture(data)
    assert cap.book(0) == OrderBook.from_bytes((golden_dir / "top10.payload.bin").read_bytes())


def test_slices_are_captures_sharing_the_buffer():
    blob = _capture(10)
    cap = Capture(blob)
    sub = cap[2:8:2]
    assert isinstance(sub, Capture) and len(sub) == 3
    assert [m.header.sequence for m in sub] == [1002, 1004, 1006]
    assert sub.obj is cap.obj
    cap.close()
    assert [m.header.sequence for m in sub] == [1002, 1004, 1006]     # still open
    assert len(cap[0:0]) == 0 if not cap.closed else True


def test_path_is_mmapped_and_closed(tmp_path):
    path = tmp_path / "cap.bin"
    path.write_bytes(_capture(5))
    with Capture(path) as cap:
        import mmap
        assert isinstance(cap.obj, mmap.mmap) and cap.path == str(path)
        assert len(cap) == 5
    assert cap.closed and cap.obj is None
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with Capture(str(empty)) as cap:
        assert len(cap) == 0


def test_index_arrays_and_mixed_capacities():
    np = pytest.importorskip("numpy")
    a, b = _capture(3), _capture(2, capacity=50)
    blob = a + b + a
    cap = Capture(blob)
    assert cap.capacities.tolist() == [128] * 3 + [50] * 2 + [128] * 3
    sizes = [6237] * 3 + [2493] * 2 + [6237] * 3
    assert cap.sizes.tolist() == sizes
    assert cap.offsets.tolist() == np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    assert (cap.book_offsets - cap.offsets).tolist() == [37] * 8
    with pytest.raises(LayoutError, match="mixed capacities"):
        cap.books()
    b50 = cap.books(50)
    assert b50.dtype == orderbook.book_dtype(50) and len(b50) == 2
    assert np.shares_memory(b50, np.frombuffer(blob, np.uint8))       # equally spaced: a view
    b128 = cap.books(capacity=128)
    assert len(b128) == 6 and b128.flags.owndata                       # not equally spaced: a copy
    assert b128["sequence"].tolist() == [0, 1, 2, 0, 1, 2]
    assert cap.headers(capacity=128)["sequence"].tolist() == [1000, 1001, 1002, 1000, 1001, 1002]
    assert len(cap.select(capacity=50)) == 2
    assert cap.select(capacity=50).books()["sequence"].tolist() == [0, 1]


def test_books_is_a_strided_zero_copy_view():
    np = pytest.importorskip("numpy")
    blob = bytearray(_capture(50))
    cap = Capture(blob)
    books = cap.books()
    assert books.dtype == orderbook.book_dtype(128) and books.shape == (50,)
    assert not books.flags.writeable and not books.flags.owndata
    assert books.strides == (orderbook.MESSAGE_SIZE,)
    assert np.shares_memory(books, np.frombuffer(blob, np.uint8))
    prices = books["bids"]["elements"]["price"]
    assert prices.shape == (50, 128) and prices[:, 0].tolist() == [10_000 + i for i in range(50)]
    assert books["bids"]["count"].tolist() == [2] * 50
    assert books["venue_id"].tolist() == [100 + i % 3 for i in range(50)]
    copy = cap.books(copy=True)
    assert copy.flags.owndata and copy.tobytes() == books.tobytes()
    assert cap.header("sequence").tolist() == list(range(1000, 1050))
    assert cap.header("timestamp").tolist() == list(range(50))
    assert set(cap.header("source").tolist()) == {4}
    assert set(cap.headers()["magic"].tolist()) == {0xDEADBEEF}
    with pytest.raises(orderbook.FieldTypeError):
        cap.header("nope")
    empty = Capture(b"")
    assert empty.books().shape == (0,) and empty.headers().shape == (0,)


def test_views_outlive_close_of_an_mmap(tmp_path):
    pytest.importorskip("numpy")
    path = tmp_path / "cap.bin"
    path.write_bytes(_capture(4))
    cap = Capture(path)
    books = cap.books()
    cap.close()                      # the view keeps the mapping alive
    assert books["sequence"].tolist() == [0, 1, 2, 3]


def test_foreign_records():
    pytest.importorskip("numpy")
    blob = b"".join(_with_foreign_records(_book(i), sequence=i) for i in range(4))
    cap = Capture(blob)
    assert len(cap) == 4
    assert (cap.book_offsets - cap.offsets).tolist() == [32 + 5 + 5] * 4
    assert cap.books()["sequence"].tolist() == [0, 1, 2, 3]
    assert cap.book(2) == _book(2)


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_checksum_errors_raise_stop_skip(threads):
    blob = bytearray(_capture(12))
    size = orderbook.MESSAGE_SIZE
    blob[5 * size + 1000] ^= 0x01
    blob[9 * size + 200] ^= 0x80
    data = bytes(blob)
    with pytest.raises(ChecksumError, match=f"offset {5 * size}"):
        Capture(data, threads=threads)
    stop = Capture(data, threads=threads, on_error="stop")
    assert len(stop) == 5 and isinstance(stop.error, ChecksumError)
    assert str(stop.error) == str(pytest.raises(ChecksumError, decode_message, data, 5 * size).value)
    skip = Capture(data, threads=threads, on_error="skip")
    assert len(skip) == 10 and skip.error is None
    assert [at for at, _ in skip.skipped] == [5 * size, 9 * size]
    assert all(isinstance(e, ChecksumError) for _, e in skip.skipped)
    assert [m.header.sequence for m in skip] == [1000 + i for i in range(12) if i not in (5, 9)]
    assert len(Capture(data, verify=False, threads=threads)) == 12
    assert len(Capture(_capture(12), threads=threads)) == 12


def test_first_error_in_capture_order_wins():
    # a bad CRC at message 2 and a bad record at message 6: the CRC error is first
    blob = bytearray(_capture(8))
    size = orderbook.MESSAGE_SIZE
    blob[2 * size + 500] ^= 1
    blob[6 * size + 33] = 1            # extended marker -> standard type 1 ... a broken record
    with pytest.raises(ChecksumError, match=f"offset {2 * size}"):
        Capture(bytes(blob), threads=2)
    with pytest.raises(ProtocolErrorTypes):
        Capture(bytes(blob), verify=False)


ProtocolErrorTypes = (RecordError, ChecksumError, orderbook.ProtocolError, LayoutError)


def test_framing_errors():
    blob = _capture(3)
    with pytest.raises(TruncatedError, match=f"offset {2 * orderbook.MESSAGE_SIZE}"):
        Capture(blob[:-10])
    stop = Capture(blob[:-10], on_error="stop")
    assert len(stop) == 2 and isinstance(stop.error, TruncatedError)
    junk = blob + b"\x00" * 40
    with pytest.raises(MagicError, match=f"offset {len(blob)}"):
        Capture(junk)
    skip = Capture(junk, on_error="skip")
    assert len(skip) == 3 and isinstance(skip.error, MagicError)
    v = bytearray(blob)
    v[orderbook.MESSAGE_SIZE + 5] = 2
    with pytest.raises(VersionError):
        Capture(bytes(v))
    skip = Capture(bytes(v), on_error="skip")
    assert len(skip) == 2 and isinstance(skip.skipped[0][1], VersionError)


def test_bad_arguments():
    with pytest.raises(orderbook.FieldTypeError):
        Capture(12)
    with pytest.raises(orderbook.FieldTypeError):
        Capture(b"", on_error="ignore")
    with pytest.raises(orderbook.FieldTypeError):
        Capture(b"", threads=0)
    with pytest.raises(orderbook.CapacityError):
        Capture(_capture(1)).books(64)
    with pytest.raises(orderbook.ExportError):
        Capture(memoryview(_capture(2))[::2])


def test_large_capture_parallel_equals_serial():
    np = pytest.importorskip("numpy")
    blob = _capture(64) * 40
    a, b = Capture(blob, threads=1), Capture(blob, threads=4)
    assert b.threads == 4
    assert len(a) == len(b) == 2560
    assert (a.offsets == b.offsets).all()
    assert np.array_equal(a.books(), b.books())


def test_docs_research_examples_run():
    """docs/research.md's python blocks run in order (the Arrow one only with pyarrow)."""
    import importlib.util
    import re
    from pathlib import Path

    pytest.importorskip("numpy", reason="docs/research.md shows the numpy arrays")
    text = (Path(__file__).resolve().parent.parent / "docs" / "research.md").read_text()
    namespace = {"__name__": "docs.research"}
    blocks = re.findall(r"^(<!-- needs pyarrow -->\n)?```python\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) >= 4
    for i, (needs, block) in enumerate(blocks):
        if needs and importlib.util.find_spec("pyarrow") is None:
            continue
        exec(compile(block, f"docs/research.md (python block {i + 1})", "exec"), namespace)
