"""Re-entrancy fuzz target: the input is a script of API calls on one shared
view whose arguments run more API calls while the library converts them.

The input bytes are decoded (eagerly, before anything runs, so that the bytes
consumed do not depend on when the collector fires) into:

  * a world: a capacity (128 or 50), whether CPython's free lists are
    emptied first (so that small allocations reach the collector), the viewed bytearray (a book at a small
    offset), a second buffer holding another book, an owning book, a message
    buffer and a ``Message``;
  * a collector callback: a gen-0 threshold (1..8, or off) and a few actions it
    runs at the start of collections (release, rebind, clear, set_bids,
    resizing or freeing the viewed bytearray, ...);
  * at most MAX_CALLS calls: set_bids/set_asks, add_bid/add_ask, clear,
    tolist/tuples/indexing/slicing/iteration, to_snapshot, bytes/pack_into,
    encode_message(_into), decode_message(into=...), rebind, release, the
    header setters, validate, repr, ==, load_from, __init__ ...  Their
    arguments are plain values or hostile objects: an ``__index__`` or an
    ``__iter__`` / generator that first runs actions or whole nested calls
    (MAX_DEPTH levels deep) on the same view.

Allowed outcomes: any ``orderbook.OrderBookError``; ``BufferError`` from a
bytearray resize that an export refuses (caught where the resize is done);
:class:`Bail`, raised on purpose by a hostile argument.  Anything else is a
finding (it escapes), as are:

  * the view not viewing exactly the memory the script last attached it to
    (checked after every top-level call whose nested code did not move it);
  * a read (tolist, tuples, slices, to_snapshot, bytes, repr) giving neither
    the result of the book before the call nor the one after it, when nested
    code moved but did not write the view (a torn or stale read);
  * a viewed bytearray that could be resized;
  * an export or a pin left behind: at the end, once everything the script
    holds is released, the view must release and the buffers must resize;
  * exceptions of the wrong kind inside collector callbacks (they would
    otherwise only reach sys.unraisablehook).

A crash or a sanitizer report is a finding of the driver's.
"""

from __future__ import annotations

import gc
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import orderbook
from orderbook import (
    Message, OrderBook, OrderBookError, decode_message, encode_message, encode_message_into,
    to_snapshot,
)

__all__ = ["target_reentrancy", "Bail", "Finding", "describe", "MAX_CALLS", "MAX_DEPTH"]

MAX_CALLS = 30           # calls run per input, nested ones included
MAX_DEPTH = 2            # hostile arguments nest calls this deep
MAX_GC_ACTIONS = 12      # actions the collector callback runs per input

INTS = (0, 1, 2, 3, 5, 7, 37, 40, 100, 127, 128, 129, 255, 6200, 2**31, 2**32 - 1, 2**63 - 1,
        2**63, 2**64 - 1, 2**64, -1, -2, -129, -2**63, -2**63 - 1)


class Bail(Exception):
    """Raised on purpose by a hostile argument: the library must let it through."""


class Finding(AssertionError):
    """The library broke a rule of the target (see the module docstring)."""


# --- input ------------------------------------------------------------------------------

class Input:
    """Bytes consumed front to back; zeros once they run out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            self.pos += 1
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def below(self, n: int) -> int:
        return self.byte() % n

    def chance(self, in256: int) -> bool:
        return self.byte() < in256

    @property
    def exhausted(self) -> bool:
        return self.pos >= len(self.data)


# --- the world --------------------------------------------------------------------------

UNKNOWN = object()       # the view's target after nested code moved it during a call


class Either(tuple):
    """Targets of which the view must show one: two moves overlapped, and
    which came last is not known (see _record_move)."""


def _record_move(w: "World", mark: int, target: Any) -> None:
    """Record a move that began when ``w.moves`` was ``mark``.

    When another move ran in between (inside the call, or on CPython 3.12+,
    where the collector runs at the safe point right after a call returns,
    between the move and this record), either may have been the last."""
    if w.moves != mark and target is not UNKNOWN and w.target is not UNKNOWN:
        theirs = tuple(w.target) if isinstance(w.target, Either) else (w.target,)
        w.target = Either((target,) + theirs)
    elif w.moves != mark:
        w.target = UNKNOWN
    else:
        w.target = target
    w.moves += 1


def _known(target: Any) -> bool:
    """A single buffer and offset the view is attached to."""
    return target is not UNKNOWN and target is not None and not isinstance(target, Either)


class World:
    def __init__(self, inp: Input) -> None:
        head = inp.byte()
        self.capacity = 128 if head & 1 == 0 else 50
        self.drain = bool(head & 2)    # empty the free lists: every allocation may collect
        self.size = orderbook.book_size(self.capacity)
        self.off = inp.below(4)
        first = self.book(inp.below(6), inp.below(6), 1000)
        second = self.book(inp.below(6), inp.below(6), 5000)
        self.ba = bytearray(self.off) + bytearray(bytes(first)) + bytearray(inp.below(3))
        self.other = bytearray(bytes(second))
        self.owned = self.book(inp.below(4), inp.below(4), 3000)
        self.msgbuf = bytearray(orderbook.message_size(self.capacity) + 8)
        self.wire = encode_message(self.book(2, 2, 7000), sequence=3, timestamp_ns=4)
        self.msg = Message()
        self.view = OrderBook.view(self.ba, self.off, capacity=self.capacity)
        self.target: Any = (self.ba, self.off)
        self.exports: List[memoryview] = []
        self.extra_views: List[OrderBook] = []
        self.victims: List[bytearray] = []
        self.moves = 0            # successful releases / rebinds, by anyone
        self.own = 0              # ... by the running call itself
        self.writes = 0
        self.armed = [False]      # the collector callback acts only inside calls
        self.budget = MAX_CALLS
        self.findings: List[str] = []

    def book(self, nb: int, na: int, base: int) -> OrderBook:
        return OrderBook([(base - i, i + 1, i) for i in range(nb)],
                         [(base + 1 + i, i + 2, i) for i in range(na)],
                         capacity=self.capacity, sequence=base)

    def snapshot(self) -> Optional[bytes]:
        """The bytes the view shows (None when released)."""
        if not self.view.is_view:
            return None
        with memoryview(self.view) as mv:
            return mv.tobytes()


def allowed(e: BaseException) -> bool:
    return isinstance(e, (OrderBookError, Bail))


# --- actions: what hostile code does to the shared view ------------------------------------

def _release(w: World) -> None:
    mark = w.moves
    w.view.release()
    _record_move(w, mark, None)


def _rebind(w: World, buf: Any, off: int) -> None:
    # the target is made before the move: an allocation between the move and its
    # record could run the collector callback, whose own move would be overwritten
    target = (buf, off)
    mark = w.moves
    w.view.rebind(buf, off)
    _record_move(w, mark, target)


def _resize(w: World, buf: bytearray, free: bool) -> None:
    """Grow and shrink back, or (free) drop the storage and refill it: the
    memory moves, so a stale pointer into it would read the victim."""
    held = (w.view.is_view and _known(w.target) and w.target[0] is buf) or (buf is w.ba and any(v.is_view for v in w.extra_views))
    try:
        if free:
            saved = bytes(buf)
            buf.clear()
            w.victims.append(bytearray(b"V" * len(saved)))
            buf.extend(saved)
        else:
            buf.append(0x56)
            del buf[-1]
    except BufferError:
        return
    if held:
        w.findings.append(f"a viewed bytearray was resized (free={free})")


def _write(w: World) -> None:
    w.view.clear()
    w.writes += 1


def _set_bids(w: World) -> None:
    w.view.set_bids([(900, 1), (899, 2)])
    w.writes += 1


def _set_count(w: World, value: int) -> None:
    # straight into the viewed memory: the count is not trusted afterwards
    if not _known(w.target):
        return
    buf, off = w.target
    at = off + orderbook.layout(w.capacity)["OrderBookTLV"]["bids"]
    if len(buf) >= at + 2:
        buf[at] = value & 0xFF
        buf[at + 1] = value >> 8
        w.writes += 1


def _export(w: World) -> None:
    if len(w.exports) < 3:
        w.exports.append(memoryview(w.view) if len(w.exports) % 2 == 0 else memoryview(w.view.bids))


def _unexport(w: World) -> None:
    while w.exports:
        w.exports.pop().release()


def _second_view(w: World) -> None:
    if len(w.extra_views) < 2:
        w.extra_views.append(OrderBook.view(w.ba, w.off, capacity=w.capacity))


ACTIONS: List[Tuple[str, Callable[[World], Any]]] = [
    ("release", _release),
    ("rebind ba", lambda w: _rebind(w, w.ba, w.off)),
    ("rebind other", lambda w: _rebind(w, w.other, 0)),
    ("rebind self", lambda w: w.view.rebind(w.view)),
    ("rebind memoryview(self)", lambda w: w.view.rebind(memoryview(w.view))),
    ("rebind bids", lambda w: w.view.rebind(w.view.bids)),
    ("clear", _write),
    ("set_bids", _set_bids),
    ("resize ba", lambda w: _resize(w, w.ba, False)),
    ("free ba", lambda w: _resize(w, w.ba, True)),
    ("free other", lambda w: _resize(w, w.other, True)),
    ("count 0xffff", lambda w: _set_count(w, 0xFFFF)),
    ("count 1", lambda w: _set_count(w, 1)),
    ("export", _export),
    ("unexport", _unexport),
    ("second view", _second_view),
    ("collect", lambda w: gc.collect(0)),
    ("sequence", lambda w: setattr(w.view, "sequence", 99)),
    ("bail", None),                     # raise Bail (not from the gc callback)
]


class Action:
    """One action, or a nested call."""

    def __init__(self, inp: Input, depth: int) -> None:
        self.call: Optional[Call] = None
        code = inp.byte()
        if depth < MAX_DEPTH and code >= 0xE0:
            self.call = Call(inp, depth + 1)
            self.name = f"call {self.call.name}"
        else:
            self.name, self.fn = ACTIONS[code % len(ACTIONS)]

    def run(self, w: World, in_gc: bool = False) -> None:
        if w.budget <= 0:
            return
        w.budget -= 1
        if self.call is not None:
            self.call.run(w, top=False)
            return
        if self.fn is None:
            if not in_gc:
                raise Bail(self.name)
            return
        try:
            self.fn(w)
        except OrderBookError:
            pass
        except BaseException as e:
            w.findings.append(f"action {self.name}: {type(e).__name__}: {e}")
            raise


def _actions(inp: Input, depth: int) -> List[Action]:
    return [Action(inp, depth) for _ in range(1 + inp.below(2))]


# --- hostile arguments -------------------------------------------------------------------

class EvilInt:
    """An integer whose __index__ first runs actions on the shared view."""

    def __init__(self, w: World, value: int, actions: List[Action], bad: bool) -> None:
        self.w = w
        self.value = value
        self.actions = actions
        self.bad = bad

    def __index__(self) -> Any:
        for a in self.actions:
            a.run(self.w)
        return "not an int" if self.bad else self.value

    def __repr__(self) -> str:
        return f"EvilInt({self.value})"


class EvilIterable:
    def __init__(self, w: World, items: List[Any], actions: List[Action], at: int) -> None:
        self.w = w
        self.items = items
        self.actions = actions
        self.at = at

    def __iter__(self) -> Iterator[Any]:
        for i, item in enumerate(self.items):
            if i == self.at:
                for a in self.actions:
                    a.run(self.w)
            yield item
        if self.at >= len(self.items):
            for a in self.actions:
                a.run(self.w)


class IntArg:
    def __init__(self, inp: Input, depth: int, small: bool = False) -> None:
        kind = inp.below(8)
        self.value = inp.below(6) if small else INTS[inp.below(len(INTS))]
        self.actions: List[Action] = []
        self.bad = False
        self.hostile = depth < MAX_DEPTH and kind >= 5
        if self.hostile:
            self.actions = _actions(inp, depth)
            self.bad = kind == 7 and inp.chance(40)

    def make(self, w: World) -> Any:
        if self.hostile:
            return EvilInt(w, self.value, self.actions, self.bad)
        return self.value


class LevelsArg:
    def __init__(self, inp: Input, depth: int) -> None:
        self.kind = inp.below(6)
        n = inp.below(4)
        self.levels = [(IntArg(inp, depth), IntArg(inp, depth)) for _ in range(n)]
        self.counts = inp.chance(64)
        self.actions = _actions(inp, depth) if depth < MAX_DEPTH and self.kind >= 3 else []
        self.at = inp.below(n + 1)

    def make(self, w: World) -> Any:
        items: List[Any] = []
        for i, (p, s) in enumerate(self.levels):
            level = (p.make(w), s.make(w))
            items.append(level + (i,) if self.counts else level)
        if self.kind == 0:
            return items
        if self.kind == 1:
            return tuple(items)
        if self.kind == 2:           # one of the book's own sides (a buffer of itself)
            return w.view.bids if w.view.is_view else w.owned.asks
        if self.kind == 3:
            return EvilIterable(w, items, self.actions, self.at)
        if self.kind == 4:
            return iter(EvilIterable(w, items, self.actions, self.at))       # a generator
        return [list(x) for x in items] + ([EvilIterable(w, [], self.actions, 0)]
                                           if self.actions else [])


# --- calls -------------------------------------------------------------------------------

def _side(w: World, asks: bool) -> Any:
    return w.view.asks if asks else w.view.bids


READS = {"tolist", "tuples", "slice", "to_snapshot", "bytes", "repr levels"}


class Call:
    """One API call on the shared view, its arguments decoded from the input."""

    def __init__(self, inp: Input, depth: int) -> None:
        self.depth = depth
        self.op = inp.below(len(CALLS))
        self.name = CALLS[self.op][0]
        self.asks = inp.chance(128)
        self.flag = inp.chance(128)
        self.a = IntArg(inp, depth)
        self.b = IntArg(inp, depth, small=True)
        self.c = IntArg(inp, depth, small=True)
        self.levels = LevelsArg(inp, depth) if self.name in LEVEL_CALLS else None

    def run(self, w: World, top: bool = True) -> Any:
        if not top:
            if w.budget <= 0:
                return None
            w.budget -= 1
        fn = CALLS[self.op][1]
        moves, writes = w.moves, w.writes
        quiet = self.name in READS and not (self.b.hostile or self.c.hostile)
        before = _read_outcome(w, self) if top and quiet else None
        saved, w.own = w.own, 0
        if top:
            w.armed[0] = True
        try:
            got = fn(w, self)
        except BaseException as e:
            if not allowed(e):
                w.findings.append(f"{self.name}: {type(e).__name__}: {e}")
                raise
            if isinstance(e, Bail) and not top:
                raise
            got = ("raised", type(e).__name__)
        finally:
            if top:
                w.armed[0] = False
            mine, w.own = w.own, saved
        if mine and w.moves - moves > mine:
            w.target = UNKNOWN        # moved by the call and by code it ran: not tracked
        if not top:
            return got
        check_target(w, self.name)
        if before is not None and w.writes == writes and w.moves - moves <= 1:
            after = _read_outcome(w, self)
            if got != before and got != after:
                raise Finding(f"{self.name}: got {got!r:.300}; the book before the call gives "
                              f"{before!r:.200}, after it {after!r:.200} "
                              f"(moves during the call: {w.moves - moves})")
        return got


def _raised(r: Any) -> bool:
    return isinstance(r, tuple) and len(r) == 2 and r[0] == "raised"


def _read_outcome(w: World, call: Call) -> Any:
    """What a read call gives on a quiet copy of the book as it is now."""
    raw = w.snapshot()
    buf = bytearray(w.size)
    probe = OrderBook.view(buf, capacity=w.capacity)
    if raw is None:
        probe.release()
    else:
        buf[:] = raw              # as the view's memory may be: rewritten after it was opened
    try:
        return _read(probe, call)
    except OrderBookError as e:
        return ("raised", type(e).__name__)


def _read(book: OrderBook, c: Call) -> Any:
    side = book.asks if c.asks else book.bids
    if c.name == "tolist":
        return side.tolist()
    if c.name == "tuples":
        return side.tuples()
    if c.name == "slice":
        return side[c.b.value:c.c.value + 3]
    if c.name == "to_snapshot":
        return to_snapshot(book, order_counts=c.flag)
    if c.name == "bytes":
        return bytes(book)
    return repr(side)


def check_target(w: World, what: str) -> None:
    """The view views exactly the memory the script last attached it to."""
    if w.target is UNKNOWN:
        return
    if isinstance(w.target, Either):
        shown = w.snapshot()
        for t in w.target:
            if (shown is None) if t is None else (shown is not None and shown == bytes(t[0][t[1]:t[1] + w.size])):
                w.target = t
                break
        else:
            raise Finding(f"after {what}: the view shows none of the memory two overlapping "
                          f"moves left it on ({len(w.target)} candidates)")
    if w.target is None:
        if w.view.is_view:
            raise Finding(f"after {what}: the view is attached; the script released it")
        return
    if not w.view.is_view:
        raise Finding(f"after {what}: the view is released; the script attached it")
    buf, off = w.target
    raw = w.snapshot()
    if raw != bytes(buf[off:off + w.size]):
        raise Finding(f"after {what}: the view does not show the memory it was attached to")


def _c_set(w: World, c: Call) -> Any:
    (w.view.set_asks if c.asks else w.view.set_bids)(c.levels.make(w), truncate=c.flag)
    w.writes += 1


def _c_add(w: World, c: Call) -> Any:
    (w.view.add_ask if c.asks else w.view.add_bid)(c.a.make(w), c.b.make(w) or 1, c.c.make(w))
    w.writes += 1


def _c_init(w: World, c: Call) -> Any:
    w.view.__init__(c.levels.make(w), sequence=c.a.make(w), capacity=w.capacity)
    w.writes += 1


def _c_slice(w: World, c: Call) -> Any:
    # no non-int __index__ here: CPython's slice.indices() raises its own TypeError
    # for it, which Levels lets through (tests/test_reentrancy.py reports that)
    c.b.bad = c.c.bad = False
    return _side(w, c.asks)[c.b.make(w):c.c.make(w) + 3 if not c.c.hostile else c.c.make(w)]


def _c_rebind(w: World, c: Call) -> Any:
    buf = w.other if c.flag else w.ba
    off = 0 if buf is w.other else w.off
    target = (buf, off) if not c.b.hostile else UNKNOWN      # made before the move
    mark = w.moves
    w.view.rebind(buf, c.b.make(w) if c.b.hostile else off)
    _record_move(w, mark, target)
    w.own += 1
    return True


def _c_release(w: World, c: Call) -> Any:
    mark = w.moves
    w.view.release()
    _record_move(w, mark, None)
    w.own += 1
    return True


def _c_decode(w: World, c: Call) -> Any:
    src = bytearray(w.wire)
    if c.asks:
        into: Any = w.msg
    else:
        into = w.view
    target = (src, 37) if not c.b.hostile else UNKNOWN       # made before the move
    mark = w.moves
    got = decode_message(src, c.b.make(w) if c.b.hostile else 0, into=into, copy=c.flag)
    if into is w.view:
        if c.flag:
            w.writes += 1
        else:
            _record_move(w, mark, target)
            w.own += 1
            return True
    return got is into


def _c_load(w: World, c: Call) -> Any:
    w.view.load_from(bytes(w.owned), c.b.make(w) if c.b.hostile else 0)
    w.writes += 1


def _c_header(w: World, c: Call) -> Any:
    setattr(w.view, ("sequence", "venue_id", "asset_type", "snapshot_timestamp_ns")[c.b.value % 4],
            c.a.make(w))
    w.writes += 1


CALLS: List[Tuple[str, Callable[[World, Call], Any]]] = [
    ("set", _c_set),
    ("add", _c_add),
    ("clear", lambda w, c: (w.view.clear(), setattr(w, "writes", w.writes + 1))),
    ("tolist", lambda w, c: _side(w, c.asks).tolist()),
    ("tuples", lambda w, c: _side(w, c.asks).tuples()),
    ("slice", _c_slice),
    ("index", lambda w, c: _side(w, c.asks)[c.a.make(w)]),
    ("iterate", lambda w, c: list(_side(w, c.asks))),
    ("len", lambda w, c: len(_side(w, c.asks))),
    ("to_snapshot", lambda w, c: to_snapshot(w.view, order_counts=c.flag)),
    ("bytes", lambda w, c: bytes(w.view)),
    ("pack_into", lambda w, c: w.view.pack_into(w.msgbuf, c.b.make(w))),
    ("encode_message", lambda w, c: encode_message(w.view, sequence=c.a.make(w),
                                                   timestamp_ns=c.b.make(w))),
    ("encode_message_into", lambda w, c: encode_message_into(w.msgbuf, c.b.make(w), w.view,
                                                             sequence=c.a.make(w))),
    ("decode_message", _c_decode),
    ("rebind", _c_rebind),
    ("release", _c_release),
    ("header", _c_header),
    ("validate", lambda w, c: w.view.validate()),
    ("repr", lambda w, c: repr(w.view)),
    ("repr levels", lambda w, c: repr(_side(w, c.asks))),
    ("==", lambda w, c: (w.view == w.owned, _side(w, c.asks) == w.owned.bids)),
    ("best", lambda w, c: (w.view.best_bid, w.view.best_ask, w.view.spread_bps)),
    ("load_from", _c_load),
    ("__init__", _c_init),
    ("memoryview", lambda w, c: memoryview(_side(w, c.asks)).release()),
]
LEVEL_CALLS = {"set", "__init__"}
MOVES = {"rebind", "release", "decode_message"}


# --- the target ---------------------------------------------------------------------------

def _gc_callback(w: World, actions: List[Action]) -> Callable[..., None]:
    state = {"i": 0}

    def cb(phase: str, info: Dict[str, int]) -> None:
        if phase != "start" or not w.armed[0] or not actions or state["i"] >= MAX_GC_ACTIONS:
            return
        a = actions[state["i"] % len(actions)]
        state["i"] += 1
        try:
            a.run(w, in_gc=True)
        except BaseException as e:          # only reachable through sys.unraisablehook
            if not allowed(e):
                w.findings.append(f"gc callback action {a.name}: {type(e).__name__}: {e}")

    return cb


def _drain_free_lists() -> List[Any]:
    """Hold enough small tuples, dicts and lists that CPython's free lists for
    them are empty: their allocations then go through the collector (which
    may run the callback), as they do in a process that has used them up."""
    keep: List[Any] = []
    for n in (3, 4):                   # slice.indices() results, tuples() levels
        for _ in range(2100):
            keep.append(tuple(range(n)))
    for _ in range(100):
        keep.append({0: 0})
    for _ in range(100):
        keep.append([0])
    return keep


def decode(data: bytes) -> Tuple[World, int, List[Action], List[Call]]:
    inp = Input(data)
    w = World(inp)
    threshold = inp.below(9)
    gc_actions = [Action(inp, MAX_DEPTH) for _ in range(inp.below(4))]
    calls: List[Call] = []
    while not inp.exhausted and len(calls) < MAX_CALLS:
        calls.append(Call(inp, 0))
    return w, threshold, gc_actions, calls


def describe(data: bytes) -> Tuple[str, ...]:
    """The names of an input's top-level calls (for corpus signatures)."""
    return tuple(c.name for c in decode(data)[3])


def target_reentrancy(data: bytes) -> None:
    w, threshold, gc_actions, calls = decode(data)
    cb = _gc_callback(w, gc_actions)
    old_threshold = gc.get_threshold()
    old_hook = sys.unraisablehook
    unraisable: List[str] = []

    def hook(u: Any) -> None:
        if not allowed(u.exc_value):
            unraisable.append(f"{type(u.exc_value).__name__}: {u.exc_value} ({u.err_msg})")

    keep = _drain_free_lists() if w.drain else None
    gc.collect(0)
    sys.unraisablehook = hook
    gc.callbacks.append(cb)
    if threshold:
        gc.set_threshold(threshold)
    try:
        for call in calls:
            if w.budget <= 0:
                break
            w.budget -= 1
            call.run(w)
            if w.findings:
                raise Finding("; ".join(w.findings))
    finally:
        w.armed[0] = False
        gc.callbacks.remove(cb)
        gc.set_threshold(*old_threshold)
        sys.unraisablehook = old_hook
    del keep
    if unraisable:
        raise Finding("unraisable: " + "; ".join(unraisable[:3]))
    for v in w.victims:
        if v.count(b"V") != len(v):
            raise Finding("a freed buffer was written after it was released")
    # nothing held: every export and pin is gone, so everything releases and resizes
    _unexport(w)
    try:
        w.view.release()
        for v in w.extra_views:
            v.release()
    except OrderBookError as e:
        raise Finding(f"the view cannot be released at the end (an export or a pin leaked): {e}")
    for buf in (w.ba, w.other):
        try:
            buf.append(0)
        except BufferError:
            raise Finding("a bytearray stays locked after every view of it was released") from None
