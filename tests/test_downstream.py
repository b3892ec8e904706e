"""The C API as another extension uses it: tests/downstream/ is a small Cython
project that cimports orderbook's public .pxd files, is built here against the
package under test (in a temporary copy, with this interpreter), reads and
writes books of both capacities (128 and 50 levels per side) in C with the
GIL released, through one code path (an OrderBookHeadC* with its BookLayout),
and is checked from Python against the library's own Python API: the same
bytes, rule codes, spreads, insertion places and messages.

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
import time
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


CAPS = (128, 50)
caps = pytest.mark.parametrize("cap", CAPS)


def sample(cap: int = 128) -> OrderBook:
    return OrderBook([(101 * PF, 2 * PF, 3), (100 * PF, 5 * PF, 1)], [(102 * PF, PF, 2), (104 * PF, 7, 0)],
                     sequence=7, venue_id=3, asset_id=42, snapshot_timestamp_ns=1_700_000_000_000_000_000,
                     capacity=cap)


def full(cap: int) -> OrderBook:
    return OrderBook([(1000 - i, i + 1) for i in range(cap)], [(2000 + i, 2 * i + 1) for i in range(cap)],
                     capacity=cap)


def asks_offset(cap: int) -> int:
    return int(orderbook.layout(cap)["OrderBookTLV"]["asks"])      # type: ignore[index]


def bids_offset(cap: int) -> int:
    return int(orderbook.layout(cap)["OrderBookTLV"]["bids"])      # type: ignore[index]


def t(level: Any) -> Tuple[int, ...]:
    return tuple(level)


def python_mid(bid: int, ask: int) -> int:
    s = bid + ask
    return abs(s) // 2 * (1 if s >= 0 else -1)


def code(ds: ModuleType, name: str) -> int:
    """The C code of a rule (ds.RULES) or error (ds.ERRORS) name."""
    return next(k for table in (ds.RULES, ds.ERRORS) for k, v in table.items() if v == name)


def python_spread(bid: int, ask: int, cap: int = 128) -> Any:
    spread = OrderBook([(bid, 1)], [(ask, 1)], capacity=cap).spread_bps
    if spread is not None and not I64_MIN <= spread <= I64_MAX:
        return "overflow"                               # reported as -1 by ob_spread_bps
    return spread


# --- constants and layouts ------------------------------------------------------------

def test_constants_match_python(ds: ModuleType) -> None:
    c = ds.constants()
    assert (c["MAX_ORDER_LEVELS"], c["UPSTREAM_LEVELS"]) == orderbook.CAPACITIES == (128, 50)
    assert c["MAX_ORDER_LEVELS"] == orderbook.MAX_ORDER_LEVELS
    assert c["ORDER_LEVEL_SIZE"] == orderbook.ORDER_LEVEL_SIZE == c["sizeof"]["OrderLevelC"] == 24
    assert c["HEADER_SIZE"] == orderbook.HEADER_SIZE == c["sizeof"]["MessageHeaderC"] == 32
    assert c["BOOK_OFFSET"] == 37 == c["HEADER_SIZE"] + c["sizeof"]["ExtendedTLVHeaderC"]
    assert c["TLV_ORDER_BOOK"] == orderbook.TLV_ORDER_BOOK and c["TLV_EXTENDED"] == 255
    assert (c["HEADER_MAGIC"], c["PROTOCOL_VERSION"], c["BIDS_ASKS"]) == (0xDEADBEEF, 1, (0, 1))
    assert c["sizeof"]["OrderBookHeadC"] == 40
    for cap, side, book in ((128, "LevelsC", "OrderBookTLVC"), (50, "Levels50C", "OrderBookTLV50C")):
        lay = orderbook.layout(cap)
        assert c["layouts"][cap] == (cap, lay["FixedVec"]["size"], orderbook.book_size(cap),  # type: ignore[index]
                                     asks_offset(cap), orderbook.message_size(cap)), cap
        assert c["sizeof"][side] == lay["FixedVec"]["size"]                                  # type: ignore[index]
        assert c["sizeof"][book] == lay["OrderBookTLV"]["size"] == orderbook.book_size(cap)  # type: ignore[index]
        assert bids_offset(cap) == c["sizeof"]["OrderBookHeadC"]
    assert c["layouts"][128][2] == orderbook.ORDER_BOOK_SIZE and c["layouts"][128][4] == orderbook.MESSAGE_SIZE
    assert c["refused"] == []
    assert {k: v for k, v in c["of_size"].items() if v is not None} == {6200: 128, 2456: 50}


@caps
def test_each_book_carries_its_layout(ds: ModuleType, cap: int) -> None:
    book = sample(cap)
    assert ds.book_layout(book) == ds.constants()["layouts"][cap]
    assert ds.book_layout(book)[0] == book.capacity == cap
    assert ds.message_size(book) == orderbook.message_size(cap) == len(encode_message(book, timestamp_ns=0))
    # ob_side, ob_cside and OrderBook.side() agree with the Python layout
    assert ds.side_offsets(book) == ((bids_offset(cap), asks_offset(cap)),) * 3
    assert ds.head(book) == (book.snapshot_timestamp_ns, book.sequence, book.precision_factor,
                             book.asset_id, book.venue_id, book.asset_type, book.reserved, bytes(4))


# --- reading ------------------------------------------------------------------------

@caps
def test_top_of_book_matches_python(ds: ModuleType, cap: int) -> None:
    book = sample(cap)
    bid, ask, mid, bps = ds.top(book)
    assert bid == t(book.best_bid) and ask == t(book.best_ask)
    assert mid == python_mid(book.bids[0].price, book.asks[0].price)
    assert bps == book.spread_bps == 98
    assert ds.top(OrderBook(capacity=cap)) == (None, None, None, None)
    assert ds.top(OrderBook([(5, 1)], capacity=cap)) == ((5, 1, 0, 0), None, None, None)


@caps
def test_levels_and_sums(ds: ModuleType, cap: int) -> None:
    for book in (sample(cap), full(cap)):
        for asks, side in ((False, book.bids), (True, book.asks)):
            assert ds.levels(book, asks) == [t(lv) for lv in side]
            assert ds.raw_levels(book, asks) == (len(side), [t(lv) for lv in side])
            assert ds.total_size(book, asks) == sum(lv.size for lv in side)
            assert ds.level_at(book, asks, len(side) - 1) == t(side[-1])
            for bad in (len(side), -1, cap, orderbook.MAX_ORDER_LEVELS, 1 << 40):
                assert ds.level_at(book, asks, bad) is None


def test_golden_books_read_in_c(ds: ModuleType, all_cases: List[Any]) -> None:
    assert {case.capacity for case in all_cases} == set(CAPS)
    for case in all_cases:
        book = OrderBook.from_bytes(case.payload, capacity=case.capacity)
        view = OrderBook.view(case.message, 37, capacity=case.capacity)      # unaligned, read-only
        for b in (book, view):
            assert ds.book_layout(b)[0] == case.capacity, case
            assert ds.levels(b, False) == [tuple(x) for x in case.values["bids"]], case
            assert ds.levels(b, True) == [tuple(x) for x in case.values["asks"]], case
            bid, ask, _, bps = ds.top(b)
            assert bid == (t(b.best_bid) if b.best_bid else None)
            assert ask == (t(b.best_ask) if b.best_ask else None)
            assert bps == b.spread_bps, case
            assert ds.head(b)[:7] == tuple(case.header_fields.values()), case
            assert ds.quote(b) == ((b.best_bid.price, b.best_ask.price, bps)         # type: ignore[union-attr]
                                   if bps not in (None, "overflow") else None), case
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
            expected = (python_spread(bid, ask), python_mid(bid, ask))
            assert ds.spread_of(bid, ask) == expected, (bid, ask)
            assert ds.spread_of(bid, ask, 50) == expected, (bid, ask)       # stack OrderBookTLV50C


@caps
def test_spread_at_both_capacities_is_the_python_one(ds: ModuleType, cap: int) -> None:
    for bid, ask in ((1, 1), (1, 2), (2, 1), (-5, 3), (10**18, I64_MAX), (I64_MIN, I64_MAX), (7, 7 * 10**14)):
        assert ds.spread_of(bid, ask, cap) == (python_spread(bid, ask, cap), python_mid(bid, ask))
        assert ds.top(OrderBook([(bid, 1)], [(ask, 1)], capacity=cap))[3] == python_spread(bid, ask, cap)
    with pytest.raises(ValueError, match="no book has 64 slots"):
        ds.spread_of(1, 2, 64)


@caps
def test_reads_with_the_gil_released_run_in_parallel_threads(ds: ModuleType, cap: int) -> None:
    book = full(cap)
    expected = (sum(range(1, cap + 1)), sum(2 * i + 1 for i in range(cap)))
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


# --- pointers held across Python code: pin() / unpin() and buffer exports -----------

@caps
def test_a_pin_keeps_a_view_in_place_across_python_code(ds: ModuleType, cap: int) -> None:
    buf = bytearray(bytes(full(cap)))
    other = bytearray(bytes(sample(cap)))
    view = OrderBook.view(buf, capacity=cap)
    expected = sum(range(1, cap + 1))
    refused: List[str] = []

    def meddle(book: OrderBook) -> None:
        # Python code, on this thread and on another, while the C code holds its pointer
        for action in (book.release, lambda: book.rebind(other)):
            with pytest.raises(orderbook.ExportError):
                action()
            refused.append("here")

        def elsewhere() -> None:
            try:
                book.release()
            except orderbook.ExportError:
                refused.append("thread")

        th = threading.Thread(target=elsewhere)
        th.start()
        th.join()

    assert ds.total_size_pinned(view, False, meddle) == (expected, expected)
    assert refused == ["here", "here", "thread"]
    assert ds.total_bid_size(view) == expected                          # the docs' pinned example
    # unpinned again, also after the callback raises
    with pytest.raises(ZeroDivisionError):
        ds.total_size_pinned(view, False, lambda book: 1 // 0)
    view.rebind(other)
    assert ds.total_size_pinned(view, False) == (7 * PF, 7 * PF)
    view.release()
    with pytest.raises(ReleasedError):
        ds.total_size_pinned(view, False)                               # tlv() before pin()
    with pytest.raises(ReleasedError):
        ds.total_bid_size(view)


@caps
def test_a_buffer_export_keeps_a_view_in_place_too(ds: ModuleType, cap: int) -> None:
    view = OrderBook.view(bytearray(bytes(full(cap))), capacity=cap)
    seen: List[type] = []

    def meddle(book: OrderBook) -> None:
        try:
            book.release()
        except BufferError as e:                                       # ExportError is one
            seen.append(type(e))

    assert ds.total_size_exported(view, True, meddle) == sum(2 * i + 1 for i in range(cap))
    assert seen == [orderbook.ExportError]
    view.release()


@caps
def test_pinned_readers_against_a_thread_releasing_the_view(ds: ModuleType, cap: int) -> None:
    """Readers pin the view for each nogil pass; the main thread keeps trying
    to release it.  Every pass that started sees the whole book: release()
    succeeds only between passes, after which tlv() raises ReleasedError."""
    view = OrderBook.view(bytearray(bytes(full(cap))), capacity=cap)
    expected = sum(range(1, cap + 1))
    results: List[Tuple[int, int]] = []
    ends: List[type] = []
    started = threading.Barrier(3)
    stop = threading.Event()

    def reader() -> None:
        started.wait()
        try:
            while not stop.is_set():
                results.append(ds.total_size_pinned(view, False, lambda book: None))
                time.sleep(0.0002)          # unpinned gaps, in which release() may succeed
        except ReleasedError as e:
            ends.append(type(e))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for th in readers:
        th.start()
    started.wait()
    deadline = time.monotonic() + 10
    while len(results) < 50 and time.monotonic() < deadline:
        time.sleep(0.001)                   # the readers are under way
    released = False
    while not released and time.monotonic() < deadline:
        try:
            view.release()                  # frees the bytearray: nobody else holds it
            released = True
        except orderbook.ExportError:
            pass
    if not released:                        # the readers never left a gap: stop them
        stop.set()
        for th in readers:
            th.join()
        view.release()
    for th in readers:
        th.join()
    assert released, "release() never found the readers unpinned"
    assert results and set(results) == {(expected, expected)}
    assert ends == [ReleasedError] * 2          # the readers' next tlv() after the release


# --- writing ------------------------------------------------------------------------

@caps
def test_writes_in_c_are_seen_from_python(ds: ModuleType, cap: int) -> None:
    book = sample(cap)
    placed = ds.write_book(book, [(10, 1), (30, 1), (20, 1), (30, 2)], [(40, 1), (50, 2)], 77)
    assert placed == [0, 0, 1, 1, True, True]
    assert book.bids.tolist() == [(30, 1, 1, 0), (30, 2, 1, 0), (20, 1, 1, 0), (10, 1, 1, 0)]
    assert book.asks.tolist() == [(40, 1, 2, 0), (50, 2, 2, 0)]
    assert book.sequence == 77 and book.venue_id == 3 and book.capacity == cap    # header fields kept
    book.validate()
    # deterministic bytes: the same as a book built from Python
    same = OrderBook(book.bids, book.asks, sequence=77, venue_id=3, asset_id=42,
                     snapshot_timestamp_ns=book.snapshot_timestamp_ns, capacity=cap)
    assert bytes(book) == bytes(same)
    ds.clear(book)
    assert bytes(book) == bytes(OrderBook(sequence=77, venue_id=3, asset_id=42, capacity=cap,
                                          snapshot_timestamp_ns=book.snapshot_timestamp_ns))


@caps
def test_sorted_insert_matches_add_bid_and_add_ask(ds: ModuleType, cap: int) -> None:
    import random

    rng = random.Random(cap)
    c_book, py_book = OrderBook(capacity=cap), OrderBook(capacity=cap)
    for _ in range(cap):
        asks = rng.random() < 0.5
        price, size, count = rng.randint(1, 20), rng.randint(1, 9), rng.randint(0, 3)
        at = ds.insert(c_book, asks, price, size, count)
        (py_book.add_ask if asks else py_book.add_bid)(price, size, count)
        side = c_book.asks if asks else c_book.bids
        assert side[at] == (price, size, count, 0)
        assert bytes(c_book) == bytes(py_book)


@caps
def test_insert_places_as_python_on_an_unsorted_side(ds: ModuleType, cap: int) -> None:
    """The C helper and add_bid / add_ask share one core: the same placement
    even on a side out of order."""
    import random

    rng = random.Random(3 * cap)
    for _ in range(40):
        levels = [(rng.randint(1, 9), rng.randint(1, 9), 0) for _ in range(rng.randint(0, 8))]
        c_book = OrderBook(levels, levels, capacity=cap)                 # not sorted, on purpose
        py_book = OrderBook(levels, levels, capacity=cap)
        for asks in (False, True):
            price = rng.randint(0, 10)
            at = ds.insert(c_book, asks, price, 5, 1)
            (py_book.add_ask if asks else py_book.add_bid)(price, 5, 1)
            assert bytes(c_book) == bytes(py_book), (levels, asks, price)
            assert (c_book.asks if asks else c_book.bids)[at] == (price, 5, 1, 0)


@caps
def test_full_sides_refuse_more(ds: ModuleType, cap: int) -> None:
    levels = [(1000 - i, 1) for i in range(cap)]
    book = OrderBook(levels, levels[::-1], capacity=cap)
    before = bytes(book)
    assert ds.insert(book, False, 5, 1, 0) == -1
    assert ds.insert(book, True, 5, 1, 0) == -1
    assert ds.push(book, True, 5, 1, 0) is False
    with pytest.raises(orderbook.CapacityError):
        book.add_bid(5, 1)                                              # the Python API agrees
    assert bytes(book) == before
    assert ds.write_book(book, levels, levels + [(1, 1)], 1)[-1] is False   # push past the capacity
    assert len(book.asks) == cap
    book.load_from(before)
    for n in (cap + 1, orderbook.MAX_ORDER_LEVELS + 1, -2):
        assert ds.set_side(book, False, [(1, 1, 0)] * 3, n) is False
    assert ds.set_side(book, False, [(1, 1, 0)] * (cap + 1)) is False
    assert bytes(book) == before


@caps
def test_set_and_clear_sides_keep_unused_slots_zero(ds: ModuleType, cap: int) -> None:
    book = sample(cap)
    assert ds.set_side(book, True, [(7, 8, 9), (6, 5, 4)]) is True
    assert book.asks.tolist() == [(7, 8, 9, 0), (6, 5, 4, 0)]
    expected = sample(cap)
    expected.set_asks([(7, 8, 9), (6, 5, 4)])
    assert bytes(book) == bytes(expected)
    ds.clear_side(book, False)
    expected.set_bids([])
    assert bytes(book) == bytes(expected)
    assert ds.set_side(book, True, []) is True and len(book.asks) == 0
    levels = [(100 - i, i + 1, 0) for i in range(cap)]
    assert ds.set_side(book, False, levels) is True and len(book.bids) == cap
    # from the book's own levels (overlapping memmove), the tail slots zeroed
    assert ds.shift_side(book, False, 3) is True
    assert bytes(book) == bytes(OrderBook(levels[3:], [], sequence=7, venue_id=3, asset_id=42,
                                          snapshot_timestamp_ns=book.snapshot_timestamp_ns, capacity=cap))


@caps
def test_writes_go_through_views_into_a_message(ds: ModuleType, cap: int) -> None:
    buf = bytearray(encode_message(sample(cap), sequence=1, timestamp_ns=2))
    view = OrderBook.view(buf, 37, capacity=cap)          # unaligned pointer in C
    ds.write_book(view, [(9, 9)], [(11, 1)], 5)
    decoded = decode_message(buf, verify=False).book
    assert decoded.capacity == cap and decoded.bids.tolist() == [(9, 9, 1, 0)]
    view.release()


@caps
def test_c_accessors_raise_python_errors(ds: ModuleType, cap: int) -> None:
    ro = OrderBook.view(bytes(sample(cap)), capacity=cap)
    assert ds.top(ro)[0] is not None                    # reading is fine
    with pytest.raises(ReadOnlyError):
        ds.write_book(ro, [], [], 1)                    # OrderBook.mut() refuses
    with pytest.raises(ReadOnlyError):
        ds.insert(ro, False, 1, 1, 0)
    released = OrderBook.view(bytearray(bytes(sample(cap))), capacity=cap)
    released.release()
    with pytest.raises(ReleasedError):
        ds.top(released)                                # OrderBook.tlv() refuses
    with pytest.raises(ReleasedError):
        ds.quote(released)
    with pytest.raises(TypeError):
        ds.top(None)


@caps
def test_stack_books_are_python_books(ds: ModuleType, cap: int) -> None:
    """A book built on the stack (OrderBookTLV50C / OrderBookTLVC with
    ob_layout) and its message are the Python API's bytes."""
    import random

    rng = random.Random(cap + 1)
    for _ in range(20):
        bids = [(rng.randint(1, 50), rng.randint(1, 9), rng.randint(0, 3)) for _ in range(rng.randint(0, cap))]
        asks = [(rng.randint(1, 50), rng.randint(1, 9), rng.randint(0, 3)) for _ in range(rng.randint(0, cap))]
        fields = dict(snapshot_timestamp_ns=rng.getrandbits(64), sequence=rng.getrandbits(64),
                      precision_factor=rng.randint(1, 10**9), asset_id=rng.getrandbits(64),
                      venue_id=rng.getrandbits(16), asset_type=rng.getrandbits(8), reserved=rng.getrandbits(8))
        py = OrderBook(capacity=cap, **fields)                            # type: ignore[arg-type]
        steps = []
        for asks_side, level in [(False, lv) for lv in bids] + [(True, lv) for lv in asks]:
            side = py.asks if asks_side else py.bids
            before = side.tolist()
            (py.add_ask if asks_side else py.add_bid)(*level)
            steps.append((before, side.tolist(), (*level, 0)))
        data, message, at = ds.stack_book(cap, bids, asks, *fields.values(), 11, 12)
        assert len(data) == orderbook.book_size(cap)
        # the head padding keeps the stack's garbage (0xA5), the rest is exact ...
        assert data[36:40] == b"\xa5" * 4
        assert data[:36] + bytes(4) + data[40:] == bytes(py)
        # ... and ob_encode_message writes books as the library does: padding zero
        assert message == encode_message(py, sequence=11, timestamp_ns=12)
        # every insertion index is where add_bid / add_ask put the level
        assert len(at) == len(steps)
        for i, (before, after, level) in zip(at, steps):
            assert after[:i] == before[:i] and after[i] == level and after[i + 1:] == before[i:]


def test_docs_stack_message(ds: ModuleType) -> None:
    import time

    msg = decode_message(ds.stack_message(101, 103))
    assert msg.book.capacity == 50 and msg.nbytes == orderbook.message_size(50)
    assert msg.book.bids.tolist() == [(101, 1, 0, 0)] and msg.book.asks.tolist() == [(103, 1, 0, 0)]
    assert msg.book.precision_factor == PF and abs(msg.header.timestamp - time.time_ns()) < 5 * 10**9


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
    ([(10, 1), (11, 1)], [(12, 1), (11, 1)]),            # both unsorted: bids first
    ([(10, -1)], [(12, 1), (11, 1)]),                    # order before positivity
    ([(10, 1)], [(0, 1), (-1, 1)]),                      # asks order before ask positivity
    ([(10, 1), (9, 0)], [(-1, 1)]),                      # bid size before ask price
    ([(0, 1)], [(-5, 1)]),                               # positivity before crossed
    ([(10, 1), (10, 1)], [(10, 2), (10, 3)]),            # equal prices: fine
]


def _check_validate(ds: ModuleType, book: OrderBook) -> None:
    rule_code, asks_side, index = ds.validate(book)
    assert ds.validate_null(book) == rule_code
    try:
        book.validate()
    except ValidationError as e:
        assert ds.RULES[rule_code] == e.rule, (book.bids.tolist(), book.asks.tolist())
        if e.side is not None:
            assert (("asks" if asks_side else "bids"), index) == (e.side, e.index)
        else:
            assert (e.rule, asks_side, index) == ("crossed", True, 0)
    else:
        assert rule_code == 0 and ds.RULES[rule_code] is None


@caps
@pytest.mark.parametrize("bids,asks", VALIDATION_CASES)
def test_validate_matches_python(ds: ModuleType, cap: int, bids: List[Tuple[int, int]],
                                 asks: List[Tuple[int, int]]) -> None:
    _check_validate(ds, OrderBook(bids, asks, capacity=cap))


@caps
def test_validate_random_books_match_python(ds: ModuleType, cap: int) -> None:
    import random

    rng = random.Random(10 + cap)
    for _ in range(400):
        n_bids, n_asks = rng.randint(0, min(cap, 6)), rng.randint(0, min(cap, 6))
        bids = sorted((rng.randint(1, 20) for _ in range(n_bids)), reverse=True)
        asks = sorted(rng.randint(15, 40) for _ in range(n_asks))
        book_bids = [[p, rng.randint(1, 5)] for p in bids]
        book_asks = [[p, rng.randint(1, 5)] for p in asks]
        for _ in range(rng.randint(0, 2)):                              # a few breakages
            side = rng.choice([s for s in (book_bids, book_asks) if s] or [None])
            if side is None:
                break
            level = rng.choice(side)
            level[rng.randint(0, 1)] = rng.choice([0, -1, rng.randint(1, 45)])
        _check_validate(ds, OrderBook([tuple(x) for x in book_bids], [tuple(x) for x in book_asks],
                                      capacity=cap))


@caps
def test_validate_reports_a_corrupt_count(ds: ModuleType, cap: int) -> None:
    at = asks_offset(cap)
    data = bytearray(bytes(sample(cap)))
    data[at:at + 2] = struct.pack("<H", cap + 1)
    with pytest.raises(LayoutError):
        OrderBook.view(data, capacity=cap)
    # a pointer the library never checked, e.g. memory written behind its back
    book = OrderBook.view(bytearray(bytes(sample(cap))), capacity=cap)
    with memoryview(book) as mv:
        for count in (cap + 1, 129, 0xFFFF):
            mv[at:at + 2] = struct.pack("<H", count)
            assert ds.validate(book) == (code(ds, "count"), True, -1)
            with pytest.raises(LayoutError):
                book.validate()                                         # the Python API: LayoutError
            assert ds.raw_levels(book, True)[0] == count
            assert len(ds.levels(book, True)) == cap                    # clamped, never past the side
            assert ds.level_at(book, True, cap) is None
            assert ds.insert(book, True, 1, 1, 0) == -1 and ds.push(book, True, 1, 1, 0) is False
            assert ds.raw_levels(book, True)[0] == count                # nothing written
        mv[at:at + 2] = struct.pack("<H", 2)
    book.release()


# --- messages -----------------------------------------------------------------------

def test_encode_matches_encode_message_into(ds: ModuleType, all_cases: List[Any]) -> None:
    for case in all_cases:
        book = OrderBook.from_bytes(case.payload, capacity=case.capacity)
        kw = case.message_kwargs
        size = orderbook.message_size(case.capacity)
        for offset in (0, 1, 37):
            out = bytearray(offset + size)
            n = ds.encode_into(out, offset, book, kw["sequence"], kw["timestamp_ns"], kw["source"],
                               kw["relay_domain"], kw["flags"])
            assert n == size == len(case.message)
            assert bytes(out[offset:]) == case.message, case
    for cap in CAPS:
        size = orderbook.message_size(cap)
        py = bytearray(size)
        assert encode_message_into(py, 0, sample(cap), sequence=3, timestamp_ns=4, source=5,
                                   relay_domain=1, flags=2) == size
        c = bytearray(size)
        assert ds.encode_into(c, 0, sample(cap), 3, 4, 5, 1, 2) == size and c == py


@caps
def test_encode_refuses_a_short_buffer_and_writes_nothing(ds: ModuleType, cap: int) -> None:
    size = orderbook.message_size(cap)
    out = bytearray(b"\x5a" * (size + 9))
    assert ds.encode_into(out, 10, sample(cap), 1, 2) == -1
    assert out == bytearray(b"\x5a" * (size + 9))
    assert ds.encode_into(out, 9, sample(cap), 1, 2) == size


@caps
def test_encode_in_place_from_a_view_of_the_same_buffer(ds: ModuleType, cap: int) -> None:
    buf = bytearray(encode_message(sample(cap), sequence=1, timestamp_ns=2))
    view = OrderBook.view(buf, 37, capacity=cap)
    assert ds.encode_into(buf, 0, view, 8, 9) == orderbook.message_size(cap)
    view.release()
    assert bytes(buf) == encode_message(sample(cap), sequence=8, timestamp_ns=9)


@caps
def test_encode_refuses_a_corrupt_count_as_encode_message_into_does(ds: ModuleType, cap: int) -> None:
    at = asks_offset(cap)
    book = OrderBook.view(bytearray(bytes(sample(cap))), capacity=cap)
    size = orderbook.message_size(cap)
    try:
        with memoryview(book) as mv:
            mv[at:at + 2] = struct.pack("<H", cap + 1)
            py = bytearray(b"\x5a" * size)
            with pytest.raises(LayoutError):
                encode_message_into(py, 0, book, sequence=1, timestamp_ns=2)
            out = bytearray(b"\x5a" * size)
            n = ds.encode_into(out, 0, book, 1, 2)
            mv[at:at + 2] = struct.pack("<H", 2)
        assert ds.decode(out)[0] != code(ds, "LayoutError")          # today: it is (-7)
        assert n < 0 and out == py                                     # refused, nothing written
    finally:
        book.release()


def test_now_ns_is_the_wall_clock(ds: ModuleType) -> None:
    import time

    assert abs(ds.now_ns() - time.time_ns()) < 5_000_000_000


def test_decode_matches_decode_message(ds: ModuleType, all_cases: List[Any]) -> None:
    for case in all_cases:
        n, header, book_offset, cap, book = ds.decode(case.message)
        assert n == len(case.message) == orderbook.message_size(case.capacity)
        assert (book_offset, cap) == (37, case.capacity)
        msg = decode_message(case.message)
        h = msg.header
        assert header == (h.magic, h.relay_domain, h.version, h.source, h.flags, h.sequence,
                          h.timestamp, h.payload_size, h.checksum)
        assert book == msg.book and bytes(book) == case.payload and book.capacity == case.capacity
        assert ds.header_of(msg) == (h.sequence, h.timestamp, h.source, msg.book.sequence, case.capacity)
        assert ds.decode_null(case.message) == n


def _frame(payload: bytes, *, magic: int = 0xDEADBEEF, version: int = 1, size: Optional[int] = None) -> bytes:
    size = len(payload) if size is None else size
    head = struct.pack("<IBBBBQQI", magic, 0, version, 0, 0, 1, 2, size)
    return head + struct.pack("<I", zlib.crc32(payload[:size], zlib.crc32(head))) + payload


def _ext(tlv_type: int, value: bytes, reserved: int = 0) -> bytes:
    return bytes([255, reserved, tlv_type]) + struct.pack("<H", len(value)) + value


def _bad_inputs(cap: int) -> List[Tuple[str, bytes, Optional[int]]]:
    """(name, message, offset of the book when it decodes)."""
    good = encode_message(sample(cap), sequence=1, timestamp_ns=2)
    book = bytes(sample(cap))
    other = bytes(sample(178 - cap))                    # the other capacity
    corrupt = bytearray(good)
    corrupt[100] ^= 0xFF

    def counted(offset: int, count: int) -> bytes:
        data = bytearray(book)
        data[offset:offset + 2] = struct.pack("<H", count)
        return bytes(data)

    return [
        ("short header", good[:31], None),
        ("short payload", good[:-1], None),
        ("magic", _frame(_ext(3, book), magic=0xDEADBEEE), None),
        ("version", _frame(_ext(3, book), version=2), None),
        ("checksum", bytes(corrupt), None),
        ("record past payload", _frame(bytes([1, 9, 0])), None),
        ("truncated extended header", _frame(bytes([255, 0, 3])), None),
        ("extended reserved", _frame(_ext(3, book, reserved=1)), None),
        ("type 0", _frame(bytes([0, 0])), None),
        ("book record length", _frame(_ext(3, book[:100])), None),
        ("book one byte short", _frame(_ext(3, book[:-1])), None),
        ("book one byte long", _frame(_ext(3, book + b"\0")), None),
        ("book as a standard record", _frame(bytes([3, 2, 0, 0])), None),
        ("no book", _frame(bytes([1, 1, 7]) + _ext(9, b"xyz")), None),
        ("bid count above the capacity", _frame(_ext(3, counted(bids_offset(cap), cap + 1))), None),
        ("ask count above the capacity", _frame(_ext(3, counted(asks_offset(cap), cap + 1))), None),
        ("count above 128", _frame(_ext(3, counted(bids_offset(cap), 200))), None),
        ("count at the capacity", _frame(_ext(3, counted(bids_offset(cap), cap))), 37),
        ("unknown records skipped", _frame(bytes([1, 1, 7]) + _ext(3, book) + bytes([2, 0])), 40),
        ("the first book record counts", _frame(_ext(3, book) + _ext(3, other)), 37),
        ("the first book is of the other capacity", _frame(_ext(3, other) + _ext(3, book)), 37),
    ]


@caps
@pytest.mark.parametrize("name", [name for name, _, _ in _bad_inputs(128)])
def test_decode_errors_match_python(ds: ModuleType, cap: int, name: str) -> None:
    data, book_offset = next((d, o) for n, d, o in _bad_inputs(cap) if n == name)
    n, header, offset, got_cap, book = ds.decode(data)
    assert ds.decode_null(data) == n
    try:
        msg = decode_message(data)
    except orderbook.OrderBookError as e:
        assert n < 0 and ds.ERRORS[n] == type(e).__name__ and book_offset is None, name
    else:
        assert n == len(data) and book == msg.book and offset == book_offset, name
        assert got_cap == msg.book.capacity == book.capacity, name
        assert book.capacity == (178 - cap if "other capacity" in name else cap), name


@caps
def test_decode_without_verify_ignores_the_checksum(ds: ModuleType, cap: int) -> None:
    data = bytearray(encode_message(sample(cap), timestamp_ns=1))
    data[28] ^= 1
    assert ds.ERRORS[ds.decode(data)[0]] == "ChecksumError"
    assert ds.decode(data, False)[0] == orderbook.message_size(cap)
    assert ds.decode_null(data, False) == orderbook.message_size(cap)


def _mixed_capture(seed: int = 5, count: int = 24) -> Tuple[bytes, List[OrderBook]]:
    import random

    rng = random.Random(seed)
    books, parts = [], []
    for i in range(count):
        cap = rng.choice(CAPS)
        n_bids, n_asks = rng.randint(0, cap), rng.randint(0, cap)
        book = OrderBook([(10_000 - k, rng.randint(1, 99)) for k in range(n_bids)],
                         [(10_001 + k, rng.randint(1, 99)) for k in range(n_asks)],
                         sequence=1000 + i, capacity=cap)
        books.append(book)
        parts.append(encode_message(book, sequence=i, timestamp_ns=i))
    return b"".join(parts), books


def test_a_capture_of_mixed_capacities_walked_in_c(ds: ModuleType) -> None:
    capture, books = _mixed_capture()
    assert {b.capacity for b in books} == set(CAPS)
    walked = ds.walk(capture)
    expected, pos = [], 0
    for i, msg in enumerate(orderbook.iter_messages(capture)):
        b = msg.book
        assert b == books[i]
        expected.append((pos, msg.nbytes, b.capacity, i, b.sequence, len(b.bids), len(b.asks),
                         b.bids[0].price if len(b.bids) else None))
        pos += msg.nbytes
    assert walked == expected and pos == len(capture)
    assert ds.best_bids(capture) == [row[-1] for row in expected]
    totals = ds.capture_totals(capture)
    assert totals == (sum(b.capacity == 128 for b in books), sum(b.capacity == 50 for b in books),
                      sum(lv.size for b in books for lv in b.bids),
                      sum(lv.size for b in books for lv in b.asks), len(capture), 0)
    # a damaged message stops the walk at its offset, with its code
    bad = bytearray(capture)
    third = expected[2][0]
    bad[third + 40] ^= 1
    assert ds.walk(bad) == expected[:2] + [(third, code(ds, "ChecksumError"))]
    assert ds.capture_totals(bytes(bad))[4:] == (third, code(ds, "ChecksumError"))
    assert ds.walk(bad, False) == expected                              # a timestamp byte: unchecked
    assert ds.walk(capture[:-1])[-1] == (expected[-1][0], code(ds, "TruncatedError"))


def test_crc32_is_zlib(ds: ModuleType) -> None:
    for data in (b"", b"a", bytes(range(256)) * 300, encode_message(sample(), timestamp_ns=0),
                 encode_message(sample(50), timestamp_ns=0)):
        assert ds.crc(data) == zlib.crc32(data) == orderbook.crc32(data)
        assert ds.crc(data, 12345) == zlib.crc32(data, 12345)


# --- the examples of docs/cython.md ---------------------------------------------------

def test_docs_examples(ds: ModuleType) -> None:
    for cap in CAPS:
        book = sample(cap)
        assert ds.quote(book) == (101 * PF, 102 * PF, 98)
        assert ds.quote(OrderBook([(1, 1)], capacity=cap)) is None
        assert ds.total_bid_size(book) == 7 * PF
    messages = encode_message(sample(), timestamp_ns=1) + encode_message(OrderBook(capacity=50), timestamp_ns=2) \
        + encode_message(sample(50), timestamp_ns=3)
    assert ds.best_bids(messages) == [101 * PF, None, 101 * PF]
    at = orderbook.message_size(128) + 2 * orderbook.message_size(50)
    with pytest.raises(ValueError, match=f"bad message at offset {at}: error -1"):
        ds.best_bids(messages + b"\0" * 5)
