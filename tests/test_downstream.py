"""The C API as another extension uses it: tests/downstream/ is a small Cython
project that cimports orderbook's public .pxd files, is built here against the
package under test (in a temporary copy, with this interpreter), reads and
writes books in C with the GIL released, and is checked from Python against
the library's own Python API.

Skipped only when no C compiler is available (or Cython, which `make test`
always installs)."""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import struct
import subprocess
import sys
import sysconfig
import threading
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, List, Optional, Tuple

import pytest

import orderbook
from orderbook import (
    LayoutError, OrderBook, ReadOnlyError, ReleasedError, ValidationError, decode_message,
    encode_message, encode_message_into,
)

SOURCE = Path(__file__).resolve().parent / "downstream"
PACKAGE_PARENT = Path(orderbook.__file__).resolve().parent.parent
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
PF = 100_000_000


def _c_compiler() -> Optional[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(shlex.split(cc)[0])


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Build tests/downstream in a temporary copy and import it."""
    if _c_compiler() is None:
        pytest.skip("no C compiler: the downstream extension cannot be built")
    pytest.importorskip("Cython", reason="Cython is needed to build the downstream extension")
    work = tmp_path_factory.mktemp("downstream")
    for name in ("setup.py", "ob_downstream.pyx"):
        shutil.copy(SOURCE / name, work / name)
    env = dict(os.environ)
    # the subprocess builds against the very package this test imports
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"downstream build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    sys.path.insert(0, str(work))
    try:
        module = importlib.import_module("ob_downstream")
    finally:
        sys.path.remove(str(work))
    yield module
    sys.modules.pop("ob_downstream", None)


def sample() -> OrderBook:
    return OrderBook([(101 * PF, 2 * PF, 3), (100 * PF, 5 * PF, 1)], [(102 * PF, PF, 2), (104 * PF, 7, 0)],
                     sequence=7, venue_id=3, asset_id=42, timestamp_ns=1_700_000_000_000_000_000)


def t(level: Any) -> Tuple[int, ...]:
    return tuple(level)


def python_mid(bid: int, ask: int) -> int:
    s = bid + ask
    return abs(s) // 2 * (1 if s >= 0 else -1)


# --- reading ------------------------------------------------------------------------

def test_constants_match_python(ds: ModuleType) -> None:
    assert ds.constants() == {
        "MAX_ORDER_LEVELS": orderbook.MAX_ORDER_LEVELS, "ORDER_LEVEL_SIZE": orderbook.ORDER_LEVEL_SIZE,
        "ORDER_BOOK_SIZE": orderbook.ORDER_BOOK_SIZE, "HEADER_SIZE": orderbook.HEADER_SIZE,
        "MESSAGE_SIZE": orderbook.MESSAGE_SIZE, "BOOK_OFFSET": 37,
        "TLV_ORDER_BOOK": orderbook.TLV_ORDER_BOOK,
    }


def test_top_of_book_matches_python(ds: ModuleType) -> None:
    book = sample()
    bid, ask, mid, bps = ds.top(book)
    assert bid == t(book.best_bid) and ask == t(book.best_ask)
    assert mid == python_mid(book.bids[0].price, book.asks[0].price)
    assert bps == book.spread_bps == 98
    assert ds.top(OrderBook()) == (None, None, None, None)
    assert ds.top(OrderBook([(5, 1)])) == ((5, 1, 0, 0), None, None, None)


def test_levels_and_sums(ds: ModuleType) -> None:
    book = sample()
    for asks, side in ((False, book.bids), (True, book.asks)):
        assert ds.levels(book, asks) == [t(lv) for lv in side]
        assert ds.total_size(book, asks) == sum(lv.size for lv in side)
        assert ds.level_at(book, asks, len(side) - 1) == t(side[-1])
        for bad in (len(side), -1, orderbook.MAX_ORDER_LEVELS, 1 << 40):
            assert ds.level_at(book, asks, bad) is None


def test_golden_books_read_in_c(ds: ModuleType, all_cases: List[Any]) -> None:
    for case in all_cases:
        book = OrderBook.from_bytes(case.payload)
        view = OrderBook.view(case.message, 37)          # unaligned, read-only
        for b in (book, view):
            assert ds.levels(b, False) == [tuple(x) for x in case.values["bids"]], case.name
            assert ds.levels(b, True) == [tuple(x) for x in case.values["asks"]], case.name
            bid, ask, _, bps = ds.top(b)
            assert bid == (t(b.best_bid) if b.best_bid else None)
            assert ask == (t(b.best_ask) if b.best_ask else None)
            assert bps == b.spread_bps, case.name
        view.release()


SPREAD_EDGES = [I64_MIN, I64_MIN + 1, -(1 << 62), -3, -1, 0, 1, 2, 3, 1 << 62, I64_MAX - 1, I64_MAX,
                (2**64 - 1) // 10000, (2**64 - 1) // 10000 + 1, 10**15, 10**18, 27_012_450 * PF]


def test_spread_and_mid_exact_for_every_int64(ds: ModuleType) -> None:
    import random

    rng = random.Random(8)
    values = SPREAD_EDGES + [rng.randint(I64_MIN, I64_MAX) for _ in range(60)] \
        + [rng.randint(1, 10**13) for _ in range(60)]
    for bid in values:
        for ask in values:
            expected = OrderBook([(bid, 1)], [(ask, 1)]).spread_bps
            if expected is not None and not I64_MIN <= expected <= I64_MAX:
                expected = "overflow"               # reported as -1 by ob_spread_bps
            assert ds.spread_of(bid, ask) == (expected, python_mid(bid, ask)), (bid, ask)


def test_reads_with_the_gil_released_run_in_parallel_threads(ds: ModuleType) -> None:
    book = OrderBook([(1000 - i, i + 1) for i in range(128)], [(2000 + i, 2 * i + 1) for i in range(128)])
    expected = (sum(range(1, 129)), sum(2 * i + 1 for i in range(128)))
    results: List[Tuple[int, int]] = []

    def work() -> None:
        for _ in range(200):
            results.append((ds.total_size(book, False), ds.total_size(book, True)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [expected] * 800


# --- writing ------------------------------------------------------------------------

def test_writes_in_c_are_seen_from_python(ds: ModuleType) -> None:
    book = sample()
    placed = ds.write_book(book, [(10, 1), (30, 1), (20, 1), (30, 2)], [(40, 1), (50, 2)], 77)
    assert placed == [0, 0, 1, 1, True, True]
    assert book.bids.tolist() == [(30, 1, 1, 0), (30, 2, 1, 0), (20, 1, 1, 0), (10, 1, 1, 0)]
    assert book.asks.tolist() == [(40, 1, 2, 0), (50, 2, 2, 0)]
    assert book.sequence == 77 and book.venue_id == 3      # header fields kept
    book.validate()
    # deterministic bytes: the same as a book built from Python
    same = OrderBook(book.bids, book.asks, sequence=77, venue_id=3, asset_id=42,
                     timestamp_ns=book.timestamp_ns)
    assert bytes(book) == bytes(same)


def test_sorted_insert_matches_add_bid_and_add_ask(ds: ModuleType) -> None:
    import random

    rng = random.Random(1)
    c_book, py_book = OrderBook(), OrderBook()
    for _ in range(orderbook.MAX_ORDER_LEVELS):
        asks = rng.random() < 0.5
        price, size, count = rng.randint(1, 20), rng.randint(1, 9), rng.randint(0, 3)
        at = ds.insert(c_book, asks, price, size, count)
        (py_book.add_ask if asks else py_book.add_bid)(price, size, count)
        side = c_book.asks if asks else c_book.bids
        assert side[at] == (price, size, count, 0)
    assert bytes(c_book) == bytes(py_book)


def test_full_sides_refuse_more(ds: ModuleType) -> None:
    levels = [(1000 - i, 1) for i in range(orderbook.MAX_ORDER_LEVELS)]
    book = OrderBook(levels, levels[::-1])
    before = bytes(book)
    assert ds.insert(book, False, 5, 1, 0) == -1
    assert ds.insert(book, True, 5, 1, 0) == -1
    assert ds.write_book(book, levels, levels + [(1, 1)], 1)[-1] is False   # push past 128
    assert len(book.asks) == orderbook.MAX_ORDER_LEVELS
    book.load_from(before)
    assert ds.set_side(book, False, [(1, 1, 0)] * 3, orderbook.MAX_ORDER_LEVELS + 1) is False
    assert ds.set_side(book, False, [(1, 1, 0)], -2) is False
    assert bytes(book) == before


def test_set_and_clear_sides_keep_unused_slots_zero(ds: ModuleType) -> None:
    book = sample()
    assert ds.set_side(book, True, [(7, 8, 9), (6, 5, 4)]) is True
    assert book.asks.tolist() == [(7, 8, 9, 0), (6, 5, 4, 0)]
    expected = sample()
    expected.set_asks([(7, 8, 9), (6, 5, 4)])
    assert bytes(book) == bytes(expected)
    ds.clear_side(book, False)
    expected.set_bids([])
    assert bytes(book) == bytes(expected)
    assert ds.set_side(book, True, []) is True and len(book.asks) == 0


def test_writes_go_through_views_into_a_message(ds: ModuleType) -> None:
    buf = bytearray(encode_message(sample(), sequence=1, timestamp_ns=2))
    view = OrderBook.view(buf, 37)                      # unaligned pointer in C
    ds.write_book(view, [(9, 9)], [(11, 1)], 5)
    assert decode_message(buf, verify=False).book.bids.tolist() == [(9, 9, 1, 0)]
    view.release()


def test_c_accessors_raise_python_errors(ds: ModuleType) -> None:
    ro = OrderBook.view(bytes(sample()))
    assert ds.top(ro)[0] is not None                    # reading is fine
    with pytest.raises(ReadOnlyError):
        ds.write_book(ro, [], [], 1)                    # OrderBook.mut() refuses
    released = OrderBook.view(bytearray(bytes(sample())))
    released.release()
    with pytest.raises(ReleasedError):
        ds.top(released)                                # OrderBook.tlv() refuses
    with pytest.raises(TypeError):
        ds.top(None)


# --- validation ---------------------------------------------------------------------

VALIDATION_CASES = [
    ([(10, 1), (9, 1)], [(11, 1), (12, 1)]),
    ([(10, 1), (0, 1)], []),
    ([(10, 1)], [(11, 0)]),
    ([(10, 1), (11, 1)], []),
    ([], [(12, 1), (11, 1)]),
    ([(10, 1)], [(9, 1)]),
    ([(10, 1)], [(10, 1)]),
    ([(-1, 1)], [(1, -1)]),
]


@pytest.mark.parametrize("bids,asks", VALIDATION_CASES)
def test_validate_matches_python(ds: ModuleType, bids: List[Tuple[int, int]],
                                 asks: List[Tuple[int, int]]) -> None:
    book = OrderBook(bids, asks)
    rule_code, asks_side, index = ds.validate(book)
    try:
        book.validate()
    except ValidationError as e:
        assert ds.RULES[rule_code] == e.rule
        if e.side is not None:
            assert (("asks" if asks_side else "bids"), index) == (e.side, e.index)
        else:
            assert (asks_side, index) == (True, 0)
    else:
        assert rule_code == 0 and ds.RULES[rule_code] is None


def test_validate_reports_a_corrupt_count(ds: ModuleType) -> None:
    data = bytearray(bytes(sample()))
    data[3104:3106] = struct.pack("<H", 129)             # asks count
    with pytest.raises(LayoutError):
        OrderBook.view(data)
    # a pointer the library never checked, e.g. memory written behind its back
    book = OrderBook.view(bytearray(bytes(sample())))
    with memoryview(book) as mv:
        mv[3104:3106] = struct.pack("<H", 129)
        assert ds.RULES[ds.validate(book)[0]] == "count"
        assert len(ds.levels(book, True)) == orderbook.MAX_ORDER_LEVELS    # clamped, never past the struct
        assert ds.level_at(book, True, orderbook.MAX_ORDER_LEVELS) is None


# --- messages -----------------------------------------------------------------------

def test_encode_matches_encode_message_into(ds: ModuleType, all_cases: List[Any]) -> None:
    for case in all_cases:
        book = OrderBook.from_bytes(case.payload)
        kw = case.message_kwargs
        for offset in (0, 1, 37):
            out = bytearray(offset + orderbook.MESSAGE_SIZE)
            n = ds.encode_into(out, offset, book, kw["sequence"], kw["timestamp_ns"], kw["source"],
                               kw["relay_domain"], kw["flags"])
            assert n == orderbook.MESSAGE_SIZE
            assert bytes(out[offset:]) == case.message, case.name
    py = bytearray(orderbook.MESSAGE_SIZE)
    encode_message_into(py, 0, sample(), sequence=3, timestamp_ns=4, source=5, relay_domain=1, flags=2)
    c = bytearray(orderbook.MESSAGE_SIZE)
    assert ds.encode_into(c, 0, sample(), 3, 4, 5, 1, 2) == orderbook.MESSAGE_SIZE and c == py


def test_encode_refuses_a_short_buffer_and_writes_nothing(ds: ModuleType) -> None:
    out = bytearray(b"\x5a" * (orderbook.MESSAGE_SIZE + 9))
    assert ds.encode_into(out, 10, sample(), 1, 2) == -1
    assert out == bytearray(b"\x5a" * (orderbook.MESSAGE_SIZE + 9))


def test_encode_in_place_from_a_view_of_the_same_buffer(ds: ModuleType) -> None:
    buf = bytearray(encode_message(sample(), sequence=1, timestamp_ns=2))
    view = OrderBook.view(buf, 37)
    assert ds.encode_into(buf, 0, view, 8, 9) == orderbook.MESSAGE_SIZE
    view.release()
    assert bytes(buf) == encode_message(sample(), sequence=8, timestamp_ns=9)


def test_now_ns_is_the_wall_clock(ds: ModuleType) -> None:
    import time

    assert abs(ds.now_ns() - time.time_ns()) < 5_000_000_000


def test_decode_matches_decode_message(ds: ModuleType, all_cases: List[Any]) -> None:
    for case in all_cases:
        n, header, book_offset, book = ds.decode(case.message)
        assert n == len(case.message) == orderbook.MESSAGE_SIZE
        assert book_offset == 37
        msg = decode_message(case.message)
        h = msg.header
        assert header == (h.magic, h.relay_domain, h.version, h.source, h.flags, h.sequence,
                          h.timestamp, h.payload_size, h.checksum)
        assert book == msg.book and bytes(book) == case.payload
        assert ds.header_of(msg) == (h.sequence, h.timestamp, h.source, msg.book.sequence)


def _frame(payload: bytes, *, magic: int = 0xDEADBEEF, version: int = 1, size: Optional[int] = None) -> bytes:
    size = len(payload) if size is None else size
    head = struct.pack("<IBBBBQQI", magic, 0, version, 0, 0, 1, 2, size)
    return head + struct.pack("<I", zlib.crc32(payload[:size], zlib.crc32(head))) + payload


def _ext(tlv_type: int, value: bytes, reserved: int = 0) -> bytes:
    return bytes([255, reserved, tlv_type]) + struct.pack("<H", len(value)) + value


def _bad_inputs() -> List[Tuple[str, bytes]]:
    good = encode_message(sample(), sequence=1, timestamp_ns=2)
    book = bytes(sample())
    corrupt = bytearray(good)
    corrupt[100] ^= 0xFF
    big_count = bytearray(book)
    big_count[24:26] = struct.pack("<H", 200)
    return [
        ("short header", good[:31]),
        ("short payload", good[:-1]),
        ("magic", _frame(_ext(3, book), magic=0xDEADBEEE)),
        ("version", _frame(_ext(3, book), version=2)),
        ("checksum", bytes(corrupt)),
        ("record past payload", _frame(bytes([1, 9, 0]))),
        ("truncated extended header", _frame(bytes([255, 0, 3]))),
        ("extended reserved", _frame(_ext(3, book, reserved=1))),
        ("type 0", _frame(bytes([0, 0]))),
        ("book record length", _frame(_ext(3, book[:100]))),
        ("book as a standard record", _frame(bytes([3, 2, 0, 0]))),
        ("no book", _frame(bytes([1, 1, 7]) + _ext(9, b"xyz"))),
        ("count above 128", _frame(_ext(3, bytes(big_count)))),
        ("unknown records skipped", _frame(bytes([1, 1, 7]) + _ext(3, book) + bytes([2, 0]))),
    ]


@pytest.mark.parametrize("name,data", _bad_inputs())
def test_decode_errors_match_python(ds: ModuleType, name: str, data: bytes) -> None:
    n, header, offset, book = ds.decode(data)
    try:
        msg = decode_message(data)
    except orderbook.OrderBookError as e:
        assert n < 0 and ds.ERRORS[n] == type(e).__name__, name
    else:
        assert n == len(data) and book == msg.book and offset == 37 + 3, name


def test_decode_without_verify_ignores_the_checksum(ds: ModuleType) -> None:
    data = bytearray(encode_message(sample(), timestamp_ns=1))
    data[28] ^= 1
    assert ds.ERRORS[ds.decode(data)[0]] == "ChecksumError"
    assert ds.decode(data, False)[0] == orderbook.MESSAGE_SIZE


def test_crc32_is_zlib(ds: ModuleType) -> None:
    for data in (b"", b"a", bytes(range(256)) * 300, encode_message(sample(), timestamp_ns=0)):
        assert ds.crc(data) == zlib.crc32(data) == orderbook.crc32(data)
        assert ds.crc(data, 12345) == zlib.crc32(data, 12345)


# --- the examples of docs/cython.md ---------------------------------------------------

def test_docs_examples(ds: ModuleType) -> None:
    book = sample()
    assert ds.quote(book) == (101 * PF, 102 * PF, 98)
    assert ds.quote(OrderBook([(1, 1)])) is None
    messages = encode_message(book, timestamp_ns=1) + encode_message(OrderBook(), timestamp_ns=2)
    assert ds.best_bids(messages) == [101 * PF, None]
    with pytest.raises(ValueError, match="bad message at offset 12474: error -1"):
        ds.best_bids(messages + b"\0" * 5)
