"""Re-entrancy: Python code that runs in the middle of a call on a view.

A call on a view may run user code: an argument's ``__index__`` or
``__iter__``, a generator, the garbage collector's callbacks and finalizers
(any allocation can trigger them), another thread.  That code may release the
view, re-point it at another buffer, and free or resize the buffer it viewed.
The design: every method converts its arguments before it takes a pointer into
the book, and methods that hold a pointer across Python code pin the book (while
pinned, ``release()`` / ``rebind()`` refuse with ExportError).

Every attack of the issue is reproduced here.  The ones that crashed or read
freed memory before the fix run in a fresh interpreter (``isolated``), so that a
regression fails one test instead of killing the run; under ``make sanitize``
those children inherit the ASan preload, so a use-after-free is reported even
when the bytes read happen to look right.

"Victim" objects: after a viewed bytearray is freed, a new bytearray of the same
size filled with ``V`` is allocated, which the allocator usually places in the
freed block; a stale pointer then writes into it (caught by counting the ``V``)
or reads ``V`` bytes back (caught by comparing the results).
"""

from __future__ import annotations

import copy
import gc
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import orderbook
from orderbook import (
    ExportError, FieldTypeError, LayoutError, LevelIndexError, MagicError, Message, OrderBook,
    OrderBookError, ReleasedError, TruncatedError, VenueError, VersionError, decode_message,
    encode_message, encode_message_into, iter_messages,
)

THIS = os.path.abspath(__file__)
# the directory holding the orderbook under test (the sanitizer build under `make sanitize`)
OB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(orderbook.__file__)))
CAPACITIES = (128, 50)
TLV = {c: orderbook.layout(c)["OrderBookTLV"] for c in CAPACITIES}
SIZE = {c: orderbook.book_size(c) for c in CAPACITIES}
BIDS_COUNT_AT = TLV[128]["bids"]             # 40, the same at both capacities
assert BIDS_COUNT_AT == TLV[50]["bids"] == 40
MAGIC = 0xDEADBEEF


# --- helpers --------------------------------------------------------------------------------

def book_of(capacity: int = 128, nb: int = -1, na: int = -1, base: int = 1000, seq: int = 5,
            cls: type = OrderBook) -> OrderBook:
    """A valid book with distinct levels (small by default: the gc tests visit
    every allocation of a call, so their cost grows with the level count)."""
    nb = (12 if capacity == 128 else 7) if nb < 0 else nb
    na = (9 if capacity == 128 else 5) if na < 0 else na
    return cls([(base - i, i + 1, i) for i in range(nb)],
               [(base + 1 + i, 2 * i + 1, 3 * i) for i in range(na)],
               capacity=capacity, sequence=seq, venue_id=7, asset_id=12)


def plant_victim(n: int) -> bytearray:
    victim = bytearray(n)
    victim[:] = b"V" * n
    return victim


def frame(raw: bytes, sequence: int = 0, timestamp: int = 0, extra: bytes = b"") -> bytes:
    """A message holding the book bytes `raw` as they are (after the records in
    `extra`), with a correct CRC-32."""
    payload = extra + struct.pack("<BBBH", 255, 0, orderbook.TLV_ORDER_BOOK, len(raw)) + raw
    head = struct.pack("<IBBBBQQII", MAGIC, 0, 1, 0, 0, sequence, timestamp, len(payload), 0)
    crc = zlib.crc32(payload, zlib.crc32(head[:28]))
    return head[:28] + struct.pack("<I", crc) + payload


def with_count(raw: bytes, capacity: int, side: str, count: int) -> bytes:
    out = bytearray(raw)
    struct.pack_into("<H", out, TLV[capacity][side], count)
    return bytes(out)


def outcome(call: Callable[[], Any]) -> Any:
    """The result of a call, or ("raised", class name) for a library error."""
    try:
        return call()
    except OrderBookError as e:
        return ("raised", type(e).__name__)


@contextmanager
def gc_callback(cb: Callable[[str, Dict[str, int]], None], threshold: int = 1) -> Iterator[None]:
    """`cb` installed as a collector callback with a tiny gen-0 threshold (a
    collection on about every allocation of a tracked object), both undone on exit."""
    old = gc.get_threshold()
    gc.callbacks.append(cb)
    gc.set_threshold(threshold)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(cb)


@contextmanager
def unraisable() -> Iterator[List[BaseException]]:
    """Collect what sys.unraisablehook gets (exceptions raised in gc callbacks)."""
    seen: List[BaseException] = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(u.exc_value)
    try:
        yield seen
    finally:
        sys.unraisablehook = old


# Isolated cases run in child interpreters importing this module (and the same
# orderbook): one child per test function runs all of its parametrizations in
# turn, and a case that kills the child (a crash, a sanitizer report) is
# recorded against that case alone, the rest continuing in a new child.
_RESULTS: Dict[Tuple[str, Tuple[Any, ...]], str] = {}

_CHILD = """
import importlib.util, json, sys, traceback
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("_reentrancy_child", sys.argv[2])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
with open(sys.argv[3], "a") as out:
    for i, (case, args) in enumerate(json.loads(sys.argv[4])):
        out.write(json.dumps(["start", i]) + "\\n")
        out.flush()
        try:
            getattr(mod, case)(*args)
            result = "OK"
        except BaseException:
            result = traceback.format_exc()
        out.write(json.dumps(["done", i, result]) + "\\n")
        out.flush()
"""


def _run_children(cases: List[Tuple[str, Tuple[Any, ...]]], tmp: str) -> None:
    todo = [c for c in cases if c not in _RESULTS]
    while todo:
        log = os.path.join(tmp, f"reentrancy-{os.getpid()}-{len(_RESULTS)}.jsonl")
        timeout = 120 + 40 * len(todo)
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, OB_ROOT, THIS, log,
                 json.dumps([[c, list(a)] for c, a in todo])],
                capture_output=True, text=True, timeout=timeout, env=dict(os.environ), cwd=OB_ROOT)
            why = f"exit {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-8000:]}"
        except subprocess.TimeoutExpired as e:
            why = f"timed out after {timeout} s\nstderr: {(e.stderr or b'')[-3000:]!r}"
        started = -1
        if os.path.exists(log):
            with open(log) as f:
                for line in f:
                    entry = json.loads(line)
                    if entry[0] == "start":
                        started = entry[1]
                    else:
                        _RESULTS[todo[entry[1]]] = entry[2]
            os.unlink(log)
        if started >= 0 and todo[started] not in _RESULTS:
            _RESULTS[todo[started]] = f"the child died in this case: {why}"
        elif started < 0:
            for c in todo:          # died before the first case: every case fails with it
                _RESULTS[c] = f"the child died before running: {why}"
        todo = [c for c in todo if c not in _RESULTS]


def isolated(case: str, *args: Any, batch: Any = None) -> None:
    """Run ``case(*args)`` (a function of this module) in a child interpreter;
    it must return normally.  `batch`: the (case, args) pairs of the calling
    test's other parametrizations, run in the same child."""
    import tempfile
    key = (case, tuple(args))
    _run_children([key] + [(c, tuple(a)) for c, a in (batch or ()) if (c, tuple(a)) != key],
                  tempfile.gettempdir())
    result = _RESULTS[key]
    assert result == "OK", f"{case}{tuple(args)!r}:\n{result}"


def batch(case: str, params: Any) -> List[Tuple[str, Tuple[Any, ...]]]:
    return [(case, tuple(p) if isinstance(p, (tuple, list)) else (p,)) for p in params]


@contextmanager
def drained_free_lists() -> Iterator[None]:
    """Empty CPython's free lists of tuples, lists and dicts for the duration, so
    that every such allocation goes through the collector (and may run its
    callbacks): a free list hides the allocations a call makes."""
    keep: List[Any] = []
    for n in range(1, 9):
        for _ in range(2100):
            keep.append(tuple(range(n)))
    for _ in range(200):
        keep.append({None: None})
    for _ in range(200):                  # lists last: nothing after this frees one
        keep.append([None])
    try:
        yield
    finally:
        del keep


# --- 1. an argument's __index__ releases the view and frees its buffer -------------------------

def _index_calls(capacity: int) -> Dict[str, Tuple[Callable[..., Any], bool]]:
    """name: (call(book, Evil, fresh buffer, out buffer), the call re-points the view)."""
    message = encode_message(book_of(capacity, base=3000), sequence=1, timestamp_ns=2)
    payload = bytes(book_of(capacity, base=4000))
    return {
        "set_bids": (lambda b, E, fresh, out: b.set_bids([(E(7), 1)]), False),
        "set_asks.order_count": (lambda b, E, fresh, out: b.set_asks([(7, 1, E(3))]), False),
        "set_bids(truncate)": (lambda b, E, fresh, out: b.set_bids([(9, 1), (E(8), 1)],
                                                                    truncate=True), False),
        "__init__ levels": (lambda b, E, fresh, out: b.__init__([(E(7), 1)], capacity=capacity),
                            False),
        "__init__ header": (lambda b, E, fresh, out: b.__init__(sequence=E(3), capacity=capacity),
                            False),
        "add_bid.order_count": (lambda b, E, fresh, out: b.add_bid(5, 1, E(2)), False),
        "add_ask.price": (lambda b, E, fresh, out: b.add_ask(E(5), 1), False),
        "sequence setter": (lambda b, E, fresh, out: setattr(b, "sequence", E(3)), False),
        "venue_id setter": (lambda b, E, fresh, out: setattr(b, "venue_id", E(3)), False),
        "bids[Evil()]": (lambda b, E, fresh, out: b.bids[E(0)], False),
        "asks[Evil()]": (lambda b, E, fresh, out: b.asks[E(-1)], False),
        "bids[Evil():Evil()]": (lambda b, E, fresh, out: b.bids[E(0):E(3)], False),
        "encode_message sequence": (lambda b, E, fresh, out: encode_message(b, sequence=E(1)),
                                    False),
        "encode_message timestamp": (lambda b, E, fresh, out: encode_message(b, timestamp_ns=E(1)),
                                     False),
        "encode_message_into offset": (lambda b, E, fresh, out: encode_message_into(out, E(0), b),
                                       False),
        "encode_message_into flags": (lambda b, E, fresh, out: encode_message_into(
            out, 0, b, flags=E(1)), False),
        "pack_into offset": (lambda b, E, fresh, out: b.pack_into(out, E(0)), False),
        "load_from offset": (lambda b, E, fresh, out: b.load_from(payload, E(0)), False),
        "decode_message(into=)": (lambda b, E, fresh, out: decode_message(message, E(0), into=b),
                                  False),
        "rebind offset": (lambda b, E, fresh, out: b.rebind(fresh, E(0)), True),
    }


INDEX_CALLS = list(_index_calls(128))


def case_index_attack(name: str, capacity: int) -> None:
    size = SIZE[capacity]
    original = bytes(book_of(capacity))
    fresh_bytes = bytes(book_of(capacity, base=2000))
    call, rebinds = _index_calls(capacity)[name]
    ba = bytearray(original)
    book = OrderBook.view(ba, capacity=capacity)
    fresh = bytearray(fresh_bytes)
    out = bytearray(size + 64)
    state: Dict[str, Any] = {}

    class Evil:
        def __init__(self, value: int) -> None:
            self.value = value

        def __index__(self) -> int:
            if "victim" not in state:
                book.release()           # allowed: no export and no pointer is alive
                del ba[:]
                state["victim"] = plant_victim(size)
            return self.value

    result = outcome(lambda: call(book, Evil, fresh, out))
    victim = state["victim"]
    assert victim.count(b"V") == size, f"{name}: {size - victim.count(b'V')} bytes of a victim overwritten"
    assert len(ba) == 0
    if rebinds:
        # the conversion ran first; the view then took the new buffer whole
        assert result is None, result
        assert book.is_view and bytes(book) == fresh_bytes
        with pytest.raises(BufferError):
            fresh.append(0)
        book.release()
    else:
        assert result == ("raised", "ReleasedError"), f"{name}: {result!r}"
        assert not book.is_view
        assert out == bytearray(size + 64), f"{name} wrote into its output after the release"
    fresh.append(0)
    gc.collect()
    assert victim.count(b"V") == size


@pytest.mark.parametrize("capacity", CAPACITIES)
@pytest.mark.parametrize("name", INDEX_CALLS)
def test_index_of_an_argument_releases_the_view(name, capacity):
    isolated("case_index_attack", name, capacity,
             batch=batch("case_index_attack", [(n, c) for n in INDEX_CALLS for c in CAPACITIES]))


def test_issue_reproducer_verbatim():
    isolated("case_issue_reproducer")


def case_issue_reproducer() -> None:
    ba = bytearray(6200)
    book = OrderBook.view(ba)
    victim: List[bytearray] = []

    class Evil:
        def __index__(self) -> int:
            book.release()
            del ba[:]                      # allowed: no export alive
            victim.append(plant_victim(6200))
            return 7

    with pytest.raises(ReleasedError, match="released"):
        book.set_bids([(Evil(), 1)])
    assert victim[0].count(b"V") == 6200       # was 3120: 3,080 bytes overwritten


def case_generator_attack(capacity: int, mode: str) -> None:
    size = SIZE[capacity]
    original = bytes(book_of(capacity))
    fresh_bytes = bytes(book_of(capacity, base=2000))
    ba = bytearray(original)
    fresh = bytearray(fresh_bytes)
    book = OrderBook.view(ba, capacity=capacity)
    victim: List[bytearray] = []

    def levels() -> Iterator[Tuple[int, int]]:
        yield (900, 1)
        if mode == "release":
            book.release()
            del ba[:]
            victim.append(plant_victim(size))
        else:
            book.rebind(fresh)
        yield (899, 2)

    if mode == "release":
        with pytest.raises(ReleasedError):
            book.set_bids(levels())
        assert victim[0].count(b"V") == size
        assert not book.is_view
    else:
        book.set_asks(levels())           # asks, so that the order does not matter here
        assert book.asks.tuples() == [(900, 1, 0, 0), (899, 2, 0, 0)]
        assert bytes(ba) == original, "the levels went to the buffer the view left"
        expect = OrderBook.from_bytes(fresh_bytes, capacity=capacity)
        expect.set_asks([(900, 1), (899, 2)])
        assert OrderBook.from_bytes(fresh, capacity=capacity) == expect
        book.release()
        ba.append(0)
        fresh.append(0)


@pytest.mark.parametrize("mode", ["release", "rebind"])
@pytest.mark.parametrize("capacity", CAPACITIES)
def test_generator_of_levels_moves_the_view(capacity, mode):
    isolated("case_generator_attack", capacity, mode,
             batch=batch("case_generator_attack", [(c, m) for c in CAPACITIES
                                                   for m in ("release", "rebind")]))


# --- 2. the garbage collector releases or re-points the view in the middle of a read ----------

GC_OPS: Dict[str, Callable[[OrderBook, OrderBook], Any]] = {
    "bids.tolist": lambda v, o: v.bids.tolist(),
    "asks.tolist": lambda v, o: v.asks.tolist(),
    "bids.tuples": lambda v, o: v.bids.tuples(),
    "bids[0:5]": lambda v, o: v.bids[0:5],
    "asks[::-2]": lambda v, o: v.asks[::-2],
    "to_snapshot": lambda v, o: v.to_snapshot(),
    "to_snapshot(order_counts)": lambda v, o: orderbook.to_snapshot(v, order_counts=True),
    "bids == other.bids": lambda v, o: v.bids == o.bids,
    "other.asks == asks": lambda v, o: o.asks == v.asks,
    "bids == list": lambda v, o: v.bids == [(1000, 1, 0, 0)],
    "repr(view)": lambda v, o: repr(v),
    "repr(bids)": lambda v, o: repr(v.bids),
    "view == other": lambda v, o: v == o,
    "copy.copy": lambda v, o: bytes(copy.copy(v)),
    "pickle": lambda v, o: bytes(pickle.loads(pickle.dumps(v))),
}
# the calls that hold a pointer across allocations, hence pin the book: some
# collection inside them must find it pinned
# CPython before 3.12 collects on an allocation, so inside a C call that
# allocates; 3.12+ collects only at the interpreter's safe points (between
# bytecodes, e.g. right after a call returns), never inside a C loop that runs
# no Python code.  There the collections these reproducers aim into a call
# land just after it: the call must still give the book it viewed.
COLLECTS_INSIDE_C = sys.version_info < (3, 12)

PINNING = {"bids.tolist", "asks.tolist", "bids.tuples", "bids[0:5]", "asks[::-2]", "to_snapshot",
           "to_snapshot(order_counts)", "bids == other.bids", "other.asks == asks",
           "bids == list", "repr(bids)"}


def case_gc_explore(op: str, mode: str) -> None:
    """Run `op` on a view once per collection it triggers, the k-th run
    releasing (or re-pointing) the view from its k-th collection on and freeing
    the buffer.  Each run must give the result of the book it viewed when the
    move was refused, or the result of the state after the move when the move
    happened before the call took its pointer: never anything else."""
    fn = GC_OPS[op]
    for capacity in CAPACITIES:
        size = SIZE[capacity]
        old_bytes = bytes(book_of(capacity))
        alt_bytes = bytes(book_of(capacity, nb=3, na=2, base=500, seq=77))
        other = OrderBook.from_bytes(old_bytes, capacity=capacity)
        expect_old = outcome(lambda: fn(OrderBook.view(bytearray(old_bytes), capacity=capacity), other))
        after = OrderBook.view(bytearray(alt_bytes if mode == "rebind" else old_bytes),
                               capacity=capacity)
        if mode == "release":
            after.release()
        expect_new = outcome(lambda: fn(after, other))
        assert expect_old != expect_new or op in ("bids == list", "view == other")

        # how many collections one call triggers
        count = [0]

        def counter(phase: str, info: Dict[str, int]) -> None:
            if phase == "start" and armed[0]:
                count[0] += 1

        armed = [False]
        with drained_free_lists(), gc_callback(counter):
            view = OrderBook.view(bytearray(old_bytes), capacity=capacity)
            gc.collect(0)
            armed[0] = True
            fn(view, other)
            armed[0] = False
        if op in PINNING and COLLECTS_INSIDE_C:
            assert count[0] > 0, f"{op}: no collection during the call"

        refused = 0
        for k, pad in [(k, pad) for k in range(count[0] + 2) for pad in (0, 1)]:
            ba = bytearray(old_bytes)
            alt = bytearray(alt_bytes)
            view = OrderBook.view(ba, capacity=capacity)
            log: List[str] = []
            victims: List[bytearray] = []
            seen = [0]

            def cb(phase: str, info: Dict[str, int]) -> None:
                if phase != "start" or not armed[0] or "moved" in log:
                    return
                seen[0] += 1
                if seen[0] <= k:
                    return
                try:
                    if mode == "release":
                        view.release()
                    else:
                        view.rebind(alt)
                except ExportError:
                    log.append("refused")
                    return
                log.append("moved")
                ba.clear()               # the viewed memory is freed...
                victims.append(plant_victim(size))      # ...and likely reused

            with drained_free_lists(), gc_callback(cb):
                # gen 0 is collected on every second allocation: `pad` shifts
                # which allocations of the call are collection points
                gc.collect(0)
                pads = []
                for _ in range(pad):
                    pads.append([None])
                armed[0] = True
                try:
                    got = outcome(lambda: fn(view, other))
                finally:
                    armed[0] = False
            where = f"{op} (capacity {capacity}, {mode} from collection {k}, pad {pad}: {log})"
            assert got in (expect_old, expect_new), f"{where}: got {got!r:.300}"
            refused += log.count("refused")
            if "moved" not in log:
                assert got == expect_old, where
                assert view.is_view and bytes(view) == old_bytes and len(ba) == size, where
                view.release()
            elif mode == "rebind":
                assert view.is_view and bytes(view) == alt_bytes, where
                view.release()
            else:
                assert not view.is_view, where
            for v in victims:
                assert v.count(b"V") == size, f"{where}: a freed buffer was written"
        if op in PINNING and COLLECTS_INSIDE_C:
            assert refused, f"{op} (capacity {capacity}): no collection found the book pinned"


@pytest.mark.parametrize("mode", ["release", "rebind"])
@pytest.mark.parametrize("op", list(GC_OPS))
def test_gc_callback_moves_the_view_at_every_collection(op, mode):
    isolated("case_gc_explore", op, mode,
             batch=batch("case_gc_explore", [(o, m) for o in GC_OPS for m in ("release", "rebind")]))


def case_gc_issue_snippet(op: str) -> None:
    """The issue's callback as written: exceptions it raises (ExportError for a
    refused release) go to sys.unraisablehook.  The bound method is taken
    before the collector is armed, so that the first collection falls inside
    the call."""
    ba = bytearray(bytes(book_of(128, nb=40, na=30)))
    view = OrderBook.view(ba)
    other = OrderBook.from_bytes(bytes(ba))
    calls = {
        "tolist": (view.bids.tolist, other.bids.tolist),
        "tuples": (view.asks.tuples, other.asks.tuples),
        "to_snapshot": (view.to_snapshot, other.to_snapshot),
    }
    call, expected = calls[op]
    expect = expected()
    # disarmed once the call returns: leaving the with block may collect too
    # (on 3.9 a first __exit__ allocates its frame), where a release must work
    armed = [True]
    cb = lambda ph, i: ph == "start" and armed[0] and view.is_view and (view.release(), ba.clear())  # noqa: E731
    with unraisable() as seen, gc_callback(cb):
        got = call()
        armed[0] = False
    assert got == expect
    if COLLECTS_INSIDE_C:
        assert view.is_view, "the release was not refused"
        assert seen and all(isinstance(e, ExportError) for e in seen), seen
        assert "while a call on it is running" in str(seen[0])
    else:                                   # nothing ran inside the call to refuse
        assert not seen, seen
    if view.is_view:
        view.release()
    ba.clear()


@pytest.mark.parametrize("op", ["tolist", "tuples", "to_snapshot"])
def test_gc_callback_of_the_issue_is_refused(op):
    isolated("case_gc_issue_snippet", op,
             batch=batch("case_gc_issue_snippet", ["tolist", "tuples", "to_snapshot"]))


def case_slice_count_read_before_indices() -> None:
    """Levels._slice reads the side's count, then calls slice.indices (which
    allocates a tuple: a collection may run there), and only then takes the
    side's pointer and pins the book.  A collector callback that re-points the
    view in between makes the read use the old count over the new book."""
    big = OrderBook([(1000 - i, i + 1, i) for i in range(100)])
    small = OrderBook([(7, 7, 7)])
    ba = bytearray(bytes(big))
    alt = bytearray(bytes(small))
    view = OrderBook.view(ba)
    side = view.bids
    log: List[str] = []
    armed = [False]

    def cb(phase: str, info: Dict[str, int]) -> None:
        if phase == "start" and armed[0]:
            armed[0] = False
            try:
                view.rebind(alt)
                log.append("moved")
            except ExportError:
                log.append("refused")

    keep = [(i, i, i) for i in range(3000)]      # empty the 3-tuple free list: indices() allocates
    with gc_callback(cb):
        armed[0] = True
        got = side.tolist()
        armed[0] = False
    del keep
    assert log or not COLLECTS_INSIDE_C, "no collection ran"
    if log == ["moved"] and COLLECTS_INSIDE_C:
        assert got == small.bids.tolist(), (
            f"after a move before the pointer was taken, tolist() gave {len(got)} levels: "
            f"{got[:3]}... (the old count over the new book)")
    else:
        assert got == big.bids.tolist()


def test_slice_count_is_read_under_the_pin():
    isolated("case_slice_count_read_before_indices")


def case_pointer_taken_before_the_pin(op: str, mode: str) -> None:
    """Levels._slice (tolist, slicing, ==, repr) and Levels.tuples take the
    side's pointer, then allocate the result list, and only then pin the book.
    With the list free list empty that allocation runs the collector: a
    callback releasing (tolist) or re-pointing (tuples, which re-reads the
    count) the view and freeing its buffer then leaves the loop reading freed
    memory: a heap use-after-free under ASan; here, the victim's bytes."""
    size = SIZE[128]
    original = bytes(book_of(128, nb=20, na=20))
    alt_bytes = bytes(book_of(128, nb=10, na=10, base=500))

    def read(book: OrderBook) -> Any:
        return book.bids.tolist() if op == "tolist" else book.bids.tuples()

    expect_old = read(OrderBook.from_bytes(original))
    expect_new = ("raised", "ReleasedError") if mode == "release" else \
        read(OrderBook.from_bytes(alt_bytes))
    outcomes = []
    # a gen-0 threshold of 1 collects on every second allocation: two paddings
    # put a collection on the result list's allocation, whatever the parity
    for pad in (0, 1, 2):
        ba = bytearray(original)
        alt = bytearray(alt_bytes)
        view = OrderBook.view(ba)
        side = view.bids
        call = side.tolist if op == "tolist" else side.tuples
        log: List[str] = []
        victims: List[bytearray] = []
        armed = [False]

        def cb(phase: str, info: Dict[str, int]) -> None:
            if phase == "start" and armed[0]:
                armed[0] = False
                try:
                    view.release() if mode == "release" else view.rebind(alt)
                except ExportError:
                    log.append("refused")
                    return
                log.append("moved")
                ba.clear()
                victims.append(plant_victim(size))

        with gc_callback(cb):
            spare = [(i, i, i) for i in range(50)]
            spare.clear()                   # 3-tuples for slice.indices() in the free list...
            keep = [[None] for _ in range(200)]     # ...and no list: the result list is allocated
            gc.collect(0)
            for _ in range(pad):
                keep.append([None])
            armed[0] = True
            got = outcome(call)
            armed[0] = False
        del keep, spare
        outcomes.append(log)
        if log == ["moved"] and not COLLECTS_INSIDE_C:
            assert got == expect_old        # moved at the safe point after the call
        elif log == ["moved"]:
            assert got == expect_new, (
                f"{op}() (pad {pad}) after its buffer was freed under it: {got!r:.300}")
        elif log:
            assert got == expect_old and view.is_view
        if view.is_view:
            view.release()
    assert any(outcomes) or not COLLECTS_INSIDE_C, "no collection ran"


@pytest.mark.parametrize("op, mode", [("tolist", "release"), ("tuples", "rebind")])
def test_result_list_is_allocated_under_the_pin(op, mode):
    isolated("case_pointer_taken_before_the_pin", op, mode,
             batch=batch("case_pointer_taken_before_the_pin", [("tolist", "release"),
                                                               ("tuples", "rebind")]))


# --- 3. another thread re-points the view ------------------------------------------------------

THREAD_OPS: Dict[str, Callable[[OrderBook], Any]] = {
    "bids.tolist": lambda v: v.bids.tolist(),
    "asks.tuples": lambda v: v.asks.tuples(),
    "bids[2:40]": lambda v: v.bids[2:40],
    "to_snapshot": lambda v: v.to_snapshot(),
}


def case_threads(op: str, seconds: float) -> None:
    fn = THREAD_OPS[op]
    a_bytes = bytes(book_of(128, nb=100, na=90, base=10_000))
    b_bytes = bytes(book_of(128, nb=5, na=4, base=300, seq=9))
    result_a = fn(OrderBook.from_bytes(a_bytes))
    result_b = fn(OrderBook.from_bytes(b_bytes))
    buf_a, buf_b = bytearray(a_bytes), bytearray(b_bytes)
    view = OrderBook.view(buf_a)
    stop = threading.Event()
    errors: List[BaseException] = []
    moves = {"moved": 0, "refused": 0}

    def mover() -> None:
        try:
            while not stop.is_set():
                for buf in (buf_b, buf_a):
                    try:
                        view.rebind(buf)
                        moves["moved"] += 1
                    except ExportError:
                        moves["refused"] += 1
        except BaseException as e:          # reported by the main thread
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=mover, daemon=True)
    calls = 0
    seen = {"a": 0, "b": 0}
    torn: List[Any] = []
    try:
        thread.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and calls < 200_000:
            got = fn(view)
            calls += 1
            if got == result_a:
                seen["a"] += 1
            elif got == result_b:
                seen["b"] += 1
            else:
                torn.append(got)
    finally:
        stop.set()
        thread.join(10)
        sys.setswitchinterval(old)
    assert not errors, errors
    assert not torn, f"{len(torn)} torn results in {calls} calls, e.g. {torn[0]!r:.400}"
    assert seen["a"] and seen["b"], (seen, moves, calls)
    view.release()
    buf_a.append(0)
    buf_b.append(0)


@pytest.mark.parametrize("op", list(THREAD_OPS))
def test_thread_rebinding_never_tears_a_read(op):
    isolated("case_threads", op, 0.75, batch=batch("case_threads", [(o, 0.75) for o in THREAD_OPS]))


# --- 4. a view cannot view its own memory ------------------------------------------------------

SELF_BUFFERS: Dict[str, Callable[[OrderBook], Any]] = {
    "view": lambda v: v,
    "memoryview(view)": lambda v: memoryview(v),
    "view.bids": lambda v: v.bids,
    "memoryview(view.asks)": lambda v: memoryview(v.asks),
}


def case_rebind_self(kind: str, capacity: int) -> None:
    ba = bytearray(bytes(book_of(capacity)))
    view = OrderBook.view(ba, capacity=capacity)
    src = SELF_BUFFERS[kind](view)
    with pytest.raises(ExportError) as info:
        view.rebind(src)
    if isinstance(src, memoryview):
        # alive during the call: refused as an export of the view
        assert "export" in str(info.value)
        src.release()
    else:
        assert "own memory" in str(info.value), str(info.value)
    del src
    assert view.is_view and bytes(view) == bytes(book_of(capacity))
    view.release()                     # the view holds no export of itself
    ba.append(0)


@pytest.mark.parametrize("capacity", CAPACITIES)
@pytest.mark.parametrize("kind", list(SELF_BUFFERS))
def test_rebind_to_its_own_memory_is_refused(kind, capacity):
    isolated("case_rebind_self", kind, capacity,
             batch=batch("case_rebind_self", [(k, c) for k in SELF_BUFFERS for c in CAPACITIES]))


# --- 5. counts rewritten above the capacity behind the book's back ------------------------------

def case_snapshot_count_overflow(capacity: int) -> None:
    for side in ("bids", "asks"):
        for count in (0xFFFF, capacity + 1, 200):
            owned = book_of(capacity)
            at = TLV[capacity][side]
            memoryview(owned)[at:at + 2] = struct.pack("<H", count)
            with pytest.raises(LayoutError, match=f"{side} count is {count}"):
                owned.to_snapshot()
            ba = bytearray(bytes(book_of(capacity)))
            view = OrderBook.view(ba, capacity=capacity)
            ba[at:at + 2] = struct.pack("<H", count)
            with pytest.raises(LayoutError, match=f"{side} count"):
                view.to_snapshot(order_counts=True)
            with pytest.raises(LayoutError):
                repr(view)
            view.release()


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_to_snapshot_refuses_a_count_above_the_capacity(capacity):
    isolated("case_snapshot_count_overflow", capacity,
             batch=batch("case_snapshot_count_overflow", CAPACITIES))


ENCODERS: Dict[str, Callable[[OrderBook], Any]] = {
    "encode_message": lambda b: encode_message(b),
    "encode_message_into": lambda b: encode_message_into(bytearray(7000), 0, b),
    "pack_into": lambda b: b.pack_into(bytearray(7000)),
    "bytes": lambda b: bytes(b),
    "pickle": lambda b: pickle.dumps(b),
}


def case_encode_count_200(name: str) -> None:
    for capacity in CAPACITIES:
        for side in ("bids", "asks"):
            book = book_of(capacity)
            at = TLV[capacity][side]
            with memoryview(book) as mv:
                mv[at:at + 2] = struct.pack("<H", 200)
            out = bytearray(7000)
            with pytest.raises(LayoutError, match=f"{side} count at byte offset {at} is 200"):
                ENCODERS[name](book)
            if name == "encode_message_into":
                with pytest.raises(LayoutError):
                    encode_message_into(out, 0, book)
                assert out == bytearray(7000), "a refused encode wrote part of a message"


@pytest.mark.parametrize("name", list(ENCODERS))
def test_encoding_a_count_above_the_capacity_is_refused(name):
    isolated("case_encode_count_200", name, batch=batch("case_encode_count_200", list(ENCODERS)))


# --- 6. smaller defects ---------------------------------------------------------------------------

def test_message_nbytes_does_not_wrap_at_32_bits():
    book = book_of(128)
    real = decode_message(encode_message(book, sequence=1, timestamp_ns=2))
    tampered = bytearray(bytes(real.header))
    struct.pack_into("<I", tampered, 24, 0xFFFFFFFF)          # payload_size
    data = pickle.dumps(real)
    assert data.count(bytes(real.header)) == 1
    msg = pickle.loads(data.replace(bytes(real.header), bytes(tampered)))
    assert msg.header.payload_size == 0xFFFFFFFF
    assert msg.nbytes == 32 + 0xFFFFFFFF == 4_294_967_327


def test_message_nbytes_with_a_large_foreign_record():
    raw = bytes(book_of(128))
    extra = struct.pack("<BBBH", 255, 0, 200, 60_000) + bytes(60_000)
    wire = frame(raw, sequence=3, extra=extra)
    msg = decode_message(wire)
    assert msg.book == OrderBook.from_bytes(raw)
    assert msg.header.payload_size == 60_005 + 5 + len(raw)
    assert msg.nbytes == 32 + msg.header.payload_size == len(wire)
    assert [m.nbytes for m in iter_messages(wire + wire)] == [len(wire)] * 2


def _bad_messages(capacity: int) -> Dict[str, Tuple[bytes, type]]:
    raw = bytes(book_of(capacity, base=7000))
    wire = bytearray(frame(raw, sequence=44))
    wire[-1] ^= 0x55
    return {
        "count 200": (frame(with_count(raw, capacity, "bids", 200), sequence=44), LayoutError),
        "asks count 0xffff": (frame(with_count(raw, capacity, "asks", 0xFFFF)), LayoutError),
        "checksum": (bytes(wire), orderbook.ChecksumError),
        "record length": (frame(raw[:-8], sequence=44), orderbook.RecordError),
        "truncated": (frame(raw)[:-1], TruncatedError),
    }


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_failed_decode_into_leaves_the_message_as_it_was(capacity):
    first = book_of(capacity)
    good = encode_message(first, sequence=11, timestamp_ns=22, source=3, flags=1)
    for name, (bad, error) in _bad_messages(capacity).items():
        for target in ("message", "message over a view", "book", "view"):
            buf = bytearray(good)
            if target == "message":
                into: Any = decode_message(good)
            elif target == "message over a view":
                into = decode_message(buf, copy=False)
            elif target == "book":
                into = decode_message(good).book
            else:
                into = OrderBook.view(bytearray(bytes(first)), capacity=capacity)
            header = bytes(into.header) if isinstance(into, Message) else None
            book = into.book if isinstance(into, Message) else into
            before = bytes(book)
            for copy_ in (True, False):
                with pytest.raises(error):
                    decode_message(bytearray(bad), into=into, copy=copy_)
                assert bytes(book) == before, f"{name} into {target} (copy={copy_}) changed the book"
                if header is not None:
                    assert bytes(into.header) == header, f"{name} into {target}: header changed"
                    assert into.book is book
            if book.is_view:
                book.release()


def test_failed_decode_of_another_capacity_into_a_view_leaves_it():
    first = book_of(128)
    ba = bytearray(bytes(first))
    view = OrderBook.view(ba)
    with pytest.raises(LayoutError, match="capacity-128"):
        decode_message(encode_message(book_of(50)), into=view)
    assert bytes(view) == bytes(first) and view.is_view
    view.release()


class _ReadsNone:
    def read(self, n: int = -1) -> None:
        return None


class _ReadsInt:
    def read(self, n: int = -1) -> int:
        return 5


@pytest.mark.parametrize("make", [
    lambda tmp: _ReadsNone(),
    lambda tmp: io.StringIO("text"),
    lambda tmp: open(_write(tmp / "capture.bin", encode_message(OrderBook())), "r"),
    lambda tmp: open(_write(tmp / "empty.bin", b""), "r"),
], ids=["read returns None", "StringIO", "text-mode file", "empty text-mode file"])
def test_iter_messages_refuses_files_that_do_not_read_bytes(make, tmp_path):
    source = make(tmp_path)
    try:
        with pytest.raises(FieldTypeError, match="read\\(\\) returned None|text-mode"):
            list(iter_messages(source))
    finally:
        if hasattr(source, "close"):
            source.close()


def test_iter_messages_refuses_a_file_whose_read_returns_a_non_buffer():
    with pytest.raises(FieldTypeError):
        list(iter_messages(_ReadsInt()))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


class _LyingBytes(bytes):
    def __len__(self) -> int:
        return 32


def test_header_from_a_bytes_subclass_that_lies_about_its_length():
    restore = orderbook._message._header_from_bytes
    good = bytes(decode_message(encode_message(OrderBook(), sequence=1)).header)
    for data in (_LyingBytes(b"\xef"), _LyingBytes(good[:4]), _LyingBytes(good + b"x" * 100)):
        with pytest.raises(OrderBookError):
            restore(data)
    for data in (good[:31], good + b"\0", b""):
        with pytest.raises(TruncatedError):
            restore(data)
    with pytest.raises(FieldTypeError):
        restore(bytearray(good))
    assert bytes(restore(good)) == good


def test_pickled_headers_with_bad_magic_or_version_are_refused():
    header = decode_message(encode_message(book_of(128), sequence=9, timestamp_ns=1)).header
    assert pickle.loads(pickle.dumps(header)) == header
    data = pickle.dumps(header)
    assert data.count(bytes(header)) == 1
    bad_magic = bytearray(bytes(header))
    bad_magic[0:4] = b"\xde\xad\xbe\xef"                 # the big-endian spelling
    bad_version = bytearray(bytes(header))
    bad_version[5] = 2
    for tampered, error, text in ((bad_magic, MagicError, "magic"),
                                  (bad_version, VersionError, "version")):
        with pytest.raises(error, match=text):
            orderbook._message._header_from_bytes(bytes(tampered))
        with pytest.raises(error, match=text):
            pickle.loads(data.replace(bytes(header), bytes(tampered)))
        msg = pickle.dumps(decode_message(encode_message(book_of(128), sequence=9, timestamp_ns=1)))
        assert msg.count(bytes(header)) == 1
        with pytest.raises(error, match=text):
            pickle.loads(msg.replace(bytes(header), bytes(tampered)))


def test_crc32_of_text_is_a_field_type_error():
    for bad in ("text", None, 12, [1, 2]):
        with pytest.raises(FieldTypeError):
            orderbook.crc32(bad)


@pytest.mark.parametrize("index", [2**70, -2**70, 2**63, -2**63 - 1, 2**62, 129, -200])
def test_huge_level_index_is_a_level_index_error(index):
    for book in (OrderBook(), book_of(128), book_of(50)):
        for side in (book.bids, book.asks):
            with pytest.raises(LevelIndexError, match="out of range") as info:
                side[index]
            assert isinstance(info.value, IndexError) and isinstance(info.value, OrderBookError)


def test_none_as_levels_is_a_field_type_error():
    for make in (lambda: OrderBook(bids=None), lambda: OrderBook(asks=None),
                 lambda: OrderBook().set_bids(None), lambda: OrderBook().set_asks(None),
                 lambda: OrderBook(None, capacity=50)):
        with pytest.raises(FieldTypeError, match="NoneType"):
            make()


BAD_TIMES = ["2023-02-30T00:00:00Z", "2023-01-01T25:61:61Z", "2023-01-01T00:00:00+99:99",
             "2023-01-01T00:00:00-24:00", "2023-13-01T00:00:00Z", "2023-01-01T00:60:00Z"]


@pytest.mark.parametrize("text", BAD_TIMES)
def test_rfc3339_parser_refuses_impossible_times(text):
    from orderbook.venues import parse_rfc3339_ns
    with pytest.raises(VenueError):
        parse_rfc3339_ns(text)


def test_rfc3339_parser_reads_valid_times():
    from orderbook.venues import parse_rfc3339_ns
    assert parse_rfc3339_ns("2023-10-25T14:40:13.123456Z") == 1698244813123456000
    assert parse_rfc3339_ns("2023-10-25T16:40:13.123456+02:00") == 1698244813123456000
    assert parse_rfc3339_ns("2024-02-29T00:00:00Z") == 1709164800 * 10**9


class _NotAnIndex:
    def __index__(self) -> Any:
        return "not an int"


@pytest.mark.parametrize("key", [slice("a", None), slice(None, 2.5), slice(_NotAnIndex(), 3),
                                 slice(0, 3, 0)], ids=["str start", "float stop",
                                                        "__index__ not int", "step 0"])
def test_slice_with_bad_bounds_is_a_library_error(key):
    # an int index that is no integer is a FieldTypeError; a slice bound must be too
    # (slice.indices() raises builtin TypeError / ValueError for these)
    with pytest.raises(OrderBookError):
        book_of(128).bids[key]
