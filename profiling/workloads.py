"""The workloads of the allocation report: ours (the hot path, which must allocate nothing),
reference calls that are expected to allocate, controls, and the same
operations on the Vec-style baseline (benchmarks/vec_baseline.py).

Each workload is a body of Python statements run once per iteration by
measure.py, plus a set-up that returns the names the body uses.  Bodies call
C methods bound in the set-up, with every argument created there too, so the
only thing that can allocate per iteration is the call being measured.
Shared by profiling/memray_report.py and tests/test_allocations.py.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # appended: an orderbook already importable (an installed wheel, the
    # sanitizer build) is the one measured, never shadowed by the checkout
    sys.path.append(str(ROOT))

import orderbook  # noqa: E402
from orderbook import OrderBook, OrderLevel  # noqa: E402

DEPTH = orderbook.MAX_ORDER_LEVELS
BOOK_AT = orderbook.HEADER_SIZE + 5          # a book inside a message starts at byte 37
BIG_SEQUENCE = 9_876_543_210                 # header values: well past the small-int cache
BIG_TIMESTAMP = 1_700_000_000_123_456_789

Namespace = Dict[str, Any]


@dataclass(frozen=True)
class Workload:
    name: str                      # the row label
    body: str                      # statements run once per iteration
    setup: Callable[[], Namespace]
    kind: str = "hot"              # hot: must be 0 | reference: allocates by design | control | baseline
    calls: int = 1                 # hot-path calls per iteration (per-call figures divide by it)
    op: Optional[str] = None       # pairs ours with the baseline in the side-by-side table
    needs: Tuple[str, ...] = ()    # importable modules the workload needs (e.g. numpy)
    note: str = ""

    def missing(self) -> Optional[str]:
        """The first needed module that cannot be imported, or None."""
        for mod in self.needs:
            if importlib.util.find_spec(mod) is None:
                return mod
        return None


# --- data --------------------------------------------------------------------

def bid_tuples(cap: int = DEPTH) -> List[Tuple[int, int, int]]:
    """A full side of bids, best (highest) first; prices and sizes past the small-int cache."""
    return [(6_500_000_000_000 - i * 1_000_000, 25_000_000 + i * 1_000, i % 7 + 1) for i in range(cap)]


def ask_tuples(cap: int = DEPTH) -> List[Tuple[int, int, int]]:
    return [(6_500_100_000_000 + i * 1_000_000, 30_000_000 + i * 1_000, i % 5 + 1) for i in range(cap)]


def full_book(cap: int = DEPTH) -> OrderBook:
    return OrderBook(bid_tuples(cap), ask_tuples(cap), snapshot_timestamp_ns=BIG_TIMESTAMP,
                     sequence=BIG_SEQUENCE, asset_id=0x1234_5678_9ABC, venue_id=7, asset_type=1,
                     capacity=cap)


def message_bytes(cap: int = DEPTH) -> bytes:
    return orderbook.encode_message(full_book(cap), sequence=BIG_SEQUENCE, timestamp_ns=BIG_TIMESTAMP)


def insert_prices(asks: bool, cap: int = DEPTH) -> Tuple[int, ...]:
    """A side's distinct prices in a scrambled order (37 is coprime with 128
    and 50), so the sorted insert searches and moves levels."""
    src = ask_tuples(cap) if asks else bid_tuples(cap)
    return tuple(src[(i * 37) % cap][0] for i in range(cap))


def _unrolled_inserts(method: str, cap: int = DEPTH) -> str:
    # every call written out: no per-iteration iterator, no Python-level call
    return "clear()\n" + "\n".join(f"{method}(P[{i}], s, c)" for i in range(cap))


# --- set-ups: each workload gets its own objects -------------------------------

Setup = Callable[[], Namespace]


def _book_ns(cap: int) -> Setup:
    return lambda: {"book": full_book(cap)}


def _set_bids_ndarray(cap: int) -> Setup:
    def setup() -> Namespace:
        import numpy as np
        return {"m": full_book(cap).set_bids, "a": np.array(bid_tuples(cap), dtype=np.int64)}
    return setup


def _set_asks_records(cap: int) -> Setup:
    def setup() -> Namespace:
        import numpy as np
        rec = np.array([t + (0,) for t in ask_tuples(cap)], dtype=orderbook.LEVEL_DTYPE)
        return {"m": full_book(cap).set_asks, "a": rec}
    return setup


def _set_bids_tuples(cap: int) -> Setup:
    return lambda: {"m": full_book(cap).set_bids, "a": bid_tuples(cap)}


def _set_bids_levels(cap: int) -> Setup:
    return lambda: {"m": full_book(cap).set_bids, "a": [OrderLevel(*t) for t in bid_tuples(cap)]}


def _inserts(asks: bool, cap: int) -> Setup:
    def setup() -> Namespace:
        book = full_book(cap)
        return {"clear": book.clear, "add": book.add_ask if asks else book.add_bid,
                "P": insert_prices(asks, cap), "s": 12_345_678_901, "c": 3}
    return setup


def _clear(cap: int) -> Setup:
    return lambda: {"m": full_book(cap).clear}


def _pack_into(cap: int) -> Setup:
    return lambda: {"m": full_book(cap).pack_into, "b": bytearray(orderbook.message_size(cap)),
                    "o": BOOK_AT}


def _load_from(source: Callable[[bytes], Any], cap: int) -> Setup:
    return lambda: {"m": OrderBook(capacity=cap).load_from, "b": source(message_bytes(cap)), "o": BOOK_AT}


def _rebind(source: Callable[[bytes], Any], cap: int) -> Setup:
    def setup() -> Namespace:
        b1 = source(message_bytes(cap))
        b2 = source(orderbook.encode_message(
            OrderBook(bid_tuples(cap)[:5], ask_tuples(cap)[:9], capacity=cap), sequence=1, timestamp_ns=2))
        view = OrderBook.view(b1, BOOK_AT, capacity=cap)
        return {"m": view.rebind, "b1": b1, "b2": b2, "o": BOOK_AT, "keep": view}
    return setup


def _encode_into(cap: int) -> Setup:
    return lambda: {"m": orderbook.encode_message_into, "b": bytearray(orderbook.message_size(cap)),
                    "book": full_book(cap), "seq": BIG_SEQUENCE, "ts": BIG_TIMESTAMP}


def _decode_into(target: str, cap: int) -> Setup:
    def setup() -> Namespace:
        into = orderbook.Message() if target == "message" else OrderBook(capacity=cap)
        return {"m": orderbook.decode_message, "b": message_bytes(cap), "into": into}
    return setup


def _decode_new(cap: int) -> Setup:
    return lambda: {"m": orderbook.decode_message, "b": message_bytes(cap)}


def _from_bytes(cap: int) -> Setup:
    return lambda: {"m": OrderBook.from_bytes, "b": message_bytes(cap), "o": BOOK_AT, "c": cap}


def _encode_new(cap: int) -> Setup:
    return lambda: {"m": orderbook.encode_message, "book": full_book(cap), "seq": BIG_SEQUENCE,
                    "ts": BIG_TIMESTAMP}


def _control() -> Namespace:
    return {"b": b"orderbook", "book": full_book(), "x": 1}


# --- ours ----------------------------------------------------------------------

def ours(cap: int) -> List[Workload]:
    """The hot path and the reference rows for books of `cap` slots per side;
    rows at capacity 50 are marked as such and are not paired with the baseline."""
    tag = "" if cap == DEPTH else f" [capacity {cap}]"
    op = (lambda text: text) if cap == DEPTH else (lambda text: None)   # noqa: E731
    size = orderbook.book_size(cap)
    return [
        Workload(f"set_bids(int64 ndarray {cap}x3){tag}", "m(a)", _set_bids_ndarray(cap),
                 op=op("fill a side from numpy (128x3 int64)"), needs=("numpy",)),
        Workload(f"set_asks(LEVEL_DTYPE ndarray {cap}){tag}", "m(a)", _set_asks_records(cap),
                 needs=("numpy",)),
        Workload(f"set_bids(list of {cap} tuples){tag}", "m(a)", _set_bids_tuples(cap),
                 op=op("fill a side from 128 tuples")),
        Workload(f"set_bids(list of {cap} OrderLevel){tag}", "m(a)", _set_bids_levels(cap)),
        Workload(f"clear + {cap} add_bid{tag}", _unrolled_inserts("add", cap), _inserts(False, cap),
                 calls=1 + cap, op=op("clear + 128 sorted inserts (bids)")),
        Workload(f"clear + {cap} add_ask{tag}", _unrolled_inserts("add", cap), _inserts(True, cap),
                 calls=1 + cap, op=op("clear + 128 sorted inserts (asks)")),
        Workload(f"clear(){tag}", "m()", _clear(cap), op=op("clear")),
        Workload(f"pack_into(bytearray, 37){tag}", "m(b, o)", _pack_into(cap),
                 op=op("pack_into(bytearray, 37)")),
        Workload(f"load_from(bytes, 37){tag}", "m(b, o)", _load_from(bytes, cap),
                 op=op("parse 6,200 bytes at 37")),
        Workload(f"load_from(bytearray, 37){tag}", "m(b, o)", _load_from(bytearray, cap)),
        Workload(f"view.rebind(bytes, 37){tag}", "m(b1, o)\nm(b2, o)", _rebind(bytes, cap), calls=2),
        Workload(f"view.rebind(bytearray, 37){tag}", "m(b1, o)\nm(b2, o)", _rebind(bytearray, cap),
                 calls=2),
        Workload(f"encode_message_into(buf, 0, book, sequence=, timestamp_ns=){tag}",
                 "m(b, 0, book, sequence=seq, timestamp_ns=ts)", _encode_into(cap)),
        Workload(f"decode_message(msg, 0, into=Message){tag}", "m(b, 0, into=into)",
                 _decode_into("message", cap)),
        Workload(f"decode_message(msg, 0, into=OrderBook){tag}", "m(b, 0, into=into)",
                 _decode_into("book", cap)),
        Workload(f"book.venue_id (7){tag}", "book.venue_id", _book_ns(cap), op=op("read venue_id")),
        Workload(f"book.asset_type (1){tag}", "book.asset_type", _book_ns(cap)),
        Workload(f"len(book.bids){tag}", "len(book.bids)", _book_ns(cap), op=op("len(bids)")),
        # reference rows: these make new objects by design; not part of the hot path
        Workload(f"bytes(book){tag}", "bytes(book)", _book_ns(cap), kind="reference",
                 op=op("6,200 bytes as bytes"),
                 note=f"negative control: a {size + 33:,}-byte bytes object per call"),
        Workload(f"book.sequence (9,876,543,210){tag}", "book.sequence", _book_ns(cap),
                 kind="reference", note="a u64 past the small-int cache is a new int"),
        Workload(f"OrderBook.from_bytes(bytes, 37){tag}", "m(b, o, capacity=c)", _from_bytes(cap),
                 kind="reference", note="a new book object"),
        Workload(f"decode_message(msg) (new Message){tag}", "m(b)", _decode_new(cap),
                 kind="reference", note="a new Message, header and book"),
        Workload(f"encode_message(book, ...) -> bytes{tag}", "m(book, sequence=seq, timestamp_ns=ts)",
                 _encode_new(cap), kind="reference",
                 note=f"a new {orderbook.message_size(cap):,}-byte bytes"),
    ]


OURS: List[Workload] = [
    Workload("loop overhead: len(b)", "len(b)", _control, kind="control",
             note="the loop scaffolding alone: must measure 0"),
] + ours(DEPTH) + ours(orderbook.CAPACITIES[1])

# Controls for the test that the harness can fail.
CONTROLS: List[Workload] = [
    Workload("control: bytes(book)", "bytes(book)", _control, kind="control"),
    Workload("control: [x]", "[x]", _control, kind="control"),
]


# --- the Vec-style baseline ----------------------------------------------------

def _baseline_module() -> Any:
    spec = importlib.util.spec_from_file_location("orderbook_vec_baseline",
                                                  ROOT / "benchmarks" / "vec_baseline.py")
    assert spec is not None and spec.loader is not None
    mod = sys.modules.get(spec.name)
    if mod is None:
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return mod


def _vec_book() -> Any:
    vb = _baseline_module().VecOrderBook
    return vb(bid_tuples(), ask_tuples(), timestamp_ns=BIG_TIMESTAMP, sequence=BIG_SEQUENCE,
              asset_id=0x1234_5678_9ABC, venue_id=7, asset_type=1)


def _vec_ns() -> Namespace:
    return {"vb": _vec_book()}


def _vec_construct_tuples() -> Namespace:
    return {"V": _baseline_module().VecOrderBook, "a": bid_tuples()}


def _vec_construct_ndarray() -> Namespace:
    import numpy as np
    return {"V": _baseline_module().VecOrderBook, "a": np.array(bid_tuples(), dtype=np.int64)}


def _vec_inserts(asks: bool) -> Callable[[], Namespace]:
    def setup() -> Namespace:
        vb = _vec_book()
        return {"clear": vb.clear, "add": vb.add_ask if asks else vb.add_bid,
                "P": insert_prices(asks), "s": 12_345_678_901, "c": 3}
    return setup


def _vec_pack_into() -> Namespace:
    return {"m": _vec_book().pack_into, "b": bytearray(orderbook.MESSAGE_SIZE), "o": BOOK_AT}


def _vec_from_bytes() -> Namespace:
    vb = _vec_book()
    data = bytearray(BOOK_AT) + bytearray(vb.to_bytes())
    return {"m": type(vb).from_bytes, "b": bytes(data), "o": BOOK_AT}


BASELINE: List[Workload] = [
    Workload("VecOrderBook(128 bid tuples)", "V(a)", _vec_construct_tuples, kind="baseline",
             op="fill a side from 128 tuples", note="no refill API: a new book per snapshot"),
    Workload("VecOrderBook(ndarray.tolist())", "V(a.tolist())", _vec_construct_ndarray,
             kind="baseline", op="fill a side from numpy (128x3 int64)", needs=("numpy",)),
    Workload("clear + 128 add_bid", _unrolled_inserts("add"), _vec_inserts(False), kind="baseline",
             calls=1 + DEPTH, op="clear + 128 sorted inserts (bids)"),
    Workload("clear + 128 add_ask", _unrolled_inserts("add"), _vec_inserts(True), kind="baseline",
             calls=1 + DEPTH, op="clear + 128 sorted inserts (asks)"),
    Workload("clear()", "vb.clear()", _vec_ns, kind="baseline", op="clear",
             note="after the first call both lists are empty"),
    Workload("pack_into(bytearray, 37)", "m(b, o)", _vec_pack_into, kind="baseline",
             op="pack_into(bytearray, 37)"),
    Workload("VecOrderBook.from_bytes(bytes, 37)", "m(b, o)", _vec_from_bytes, kind="baseline",
             op="parse 6,200 bytes at 37", note="no in-place load: a new book"),
    Workload("to_bytes()", "vb.to_bytes()", _vec_ns, kind="baseline", op="6,200 bytes as bytes"),
    Workload("vb.venue_id", "vb.venue_id", _vec_ns, kind="baseline", op="read venue_id"),
    Workload("len(vb.bids)", "len(vb.bids)", _vec_ns, kind="baseline", op="len(bids)"),
]


def by_name(name: str, table: Optional[List[Workload]] = None) -> Workload:
    for w in table if table is not None else OURS + CONTROLS + BASELINE:
        if w.name == name:
            return w
    raise KeyError(name)


# --- streams: MessageReader and iter_messages over a file (orderbook/_stream.pyx) ---
# Each iteration feeds (or re-reads) a prepared chunk of `K` messages and takes
# exactly K messages out of it with next(): once warm nothing is allocated, per
# message or per chunk.

def _stream_k(cap: int) -> int:
    return 8 if cap == DEPTH else 16            # K messages fit in the reader's 64 KiB buffer


def _reader_feed(target: str, cap: int) -> Setup:
    def setup() -> Namespace:
        into = orderbook.Message() if target == "message" else OrderBook(capacity=cap)
        r = orderbook.MessageReader(into=into)
        return {"feed": r.feed, "next": next, "r": r, "chunk": message_bytes(cap) * _stream_k(cap)}
    return setup


def _scan_fileio(cap: int) -> Setup:
    def setup() -> Namespace:
        import io
        import tempfile
        tmp = tempfile.NamedTemporaryFile(prefix="orderbook-memray-", suffix=".bin")
        tmp.write(message_bytes(cap) * _stream_k(cap))
        tmp.flush()
        f = io.FileIO(tmp.name, "r")
        scan = orderbook.iter_messages(f, into=orderbook.Message())
        return {"next": next, "s": scan, "seek": f.seek, "keep": (tmp, f)}
    return setup


def streams(cap: int) -> List[Workload]:
    tag = "" if cap == DEPTH else f" [capacity {cap}]"
    k = _stream_k(cap)
    take = "\n".join(["next(r)"] * k)
    return [
        Workload(f"MessageReader(into=Message): feed {k} messages + {k} next{tag}",
                 "feed(chunk)\n" + take, _reader_feed("message", cap), calls=k,
                 note="calls = messages; the feed is included"),
        Workload(f"MessageReader(into=OrderBook): feed {k} messages + {k} next{tag}",
                 "feed(chunk)\n" + take, _reader_feed("book", cap), calls=k),
        Workload(f"iter_messages(io.FileIO, into=Message): {k} next + seek(0){tag}",
                 "\n".join(["next(s)"] * k) + "\nseek(0)", _scan_fileio(cap), calls=k,
                 note="read(2) into the scan's one buffer (the path of a str/PathLike source too)"),
    ]


OURS += streams(DEPTH) + streams(orderbook.CAPACITIES[1])
