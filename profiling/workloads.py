"""The workloads of the allocation report: ours (SPEC section 4's hot path),
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
    sys.path.insert(0, str(ROOT))

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

def bid_tuples() -> List[Tuple[int, int, int]]:
    """128 bids, best (highest) first; prices and sizes past the small-int cache."""
    return [(6_500_000_000_000 - i * 1_000_000, 25_000_000 + i * 1_000, i % 7 + 1) for i in range(DEPTH)]


def ask_tuples() -> List[Tuple[int, int, int]]:
    return [(6_500_100_000_000 + i * 1_000_000, 30_000_000 + i * 1_000, i % 5 + 1) for i in range(DEPTH)]


def full_book() -> OrderBook:
    return OrderBook(bid_tuples(), ask_tuples(), timestamp_ns=BIG_TIMESTAMP, sequence=BIG_SEQUENCE,
                     asset_id=0x1234_5678_9ABC, venue_id=7, asset_type=1)


def message_bytes() -> bytes:
    return orderbook.encode_message(full_book(), sequence=BIG_SEQUENCE, timestamp_ns=BIG_TIMESTAMP)


def insert_prices(asks: bool) -> Tuple[int, ...]:
    """128 distinct prices in a scrambled order (37 is coprime with 128), so the
    sorted insert searches and moves levels."""
    src = ask_tuples() if asks else bid_tuples()
    return tuple(src[(i * 37) % DEPTH][0] for i in range(DEPTH))


def _unrolled_inserts(method: str) -> str:
    # 128 calls written out: no per-iteration iterator, no Python-level call
    return "clear()\n" + "\n".join(f"{method}(P[{i}], s, c)" for i in range(DEPTH))


# --- set-ups: each workload gets its own objects -------------------------------

def _book_ns(**extra: Any) -> Namespace:
    book = full_book()
    ns: Namespace = {"book": book}
    ns.update(extra)
    return ns


def _set_bids_ndarray() -> Namespace:
    import numpy as np
    book = full_book()
    return {"m": book.set_bids, "a": np.array(bid_tuples(), dtype=np.int64)}


def _set_asks_records() -> Namespace:
    import numpy as np
    book = full_book()
    rec = np.array([t + (0,) for t in ask_tuples()], dtype=orderbook.LEVEL_DTYPE)
    return {"m": book.set_asks, "a": rec}


def _set_bids_tuples() -> Namespace:
    book = full_book()
    return {"m": book.set_bids, "a": bid_tuples()}


def _set_bids_levels() -> Namespace:
    book = full_book()
    return {"m": book.set_bids, "a": [OrderLevel(*t) for t in bid_tuples()]}


def _inserts(asks: bool) -> Callable[[], Namespace]:
    def setup() -> Namespace:
        book = full_book()
        return {"clear": book.clear, "add": book.add_ask if asks else book.add_bid,
                "P": insert_prices(asks), "s": 12_345_678_901, "c": 3}
    return setup


def _clear() -> Namespace:
    return {"m": full_book().clear}


def _pack_into() -> Namespace:
    return {"m": full_book().pack_into, "b": bytearray(orderbook.MESSAGE_SIZE), "o": BOOK_AT}


def _load_from(source: Callable[[bytes], Any]) -> Callable[[], Namespace]:
    def setup() -> Namespace:
        return {"m": OrderBook().load_from, "b": source(message_bytes()), "o": BOOK_AT}
    return setup


def _rebind(source: Callable[[bytes], Any]) -> Callable[[], Namespace]:
    def setup() -> Namespace:
        b1 = source(message_bytes())
        b2 = source(orderbook.encode_message(OrderBook(bid_tuples()[:5], ask_tuples()[:9]),
                                             sequence=1, timestamp_ns=2))
        view = OrderBook.view(b1, BOOK_AT)
        return {"m": view.rebind, "b1": b1, "b2": b2, "o": BOOK_AT, "keep": view}
    return setup


def _encode_into() -> Namespace:
    return {"m": orderbook.encode_message_into, "b": bytearray(orderbook.MESSAGE_SIZE),
            "book": full_book(), "seq": BIG_SEQUENCE, "ts": BIG_TIMESTAMP}


def _decode_into(target: str) -> Callable[[], Namespace]:
    def setup() -> Namespace:
        into = orderbook.Message() if target == "message" else OrderBook()
        return {"m": orderbook.decode_message, "b": message_bytes(), "into": into}
    return setup


def _decode_new() -> Namespace:
    return {"m": orderbook.decode_message, "b": message_bytes()}


def _from_bytes() -> Namespace:
    return {"m": OrderBook.from_bytes, "b": message_bytes(), "o": BOOK_AT}


def _encode_new() -> Namespace:
    return {"m": orderbook.encode_message, "book": full_book(), "seq": BIG_SEQUENCE,
            "ts": BIG_TIMESTAMP}


def _control() -> Namespace:
    return {"b": b"orderbook", "book": full_book(), "x": 1}


# --- ours ----------------------------------------------------------------------

OURS: List[Workload] = [
    Workload("loop overhead: len(b)", "len(b)", _control, kind="control",
             note="the loop scaffolding alone: must measure 0"),
    Workload("set_bids(int64 ndarray 128x3)", "m(a)", _set_bids_ndarray,
             op="fill a side from numpy (128x3 int64)", needs=("numpy",)),
    Workload("set_asks(LEVEL_DTYPE ndarray 128)", "m(a)", _set_asks_records, needs=("numpy",)),
    Workload("set_bids(list of 128 tuples)", "m(a)", _set_bids_tuples,
             op="fill a side from 128 tuples"),
    Workload("set_bids(list of 128 OrderLevel)", "m(a)", _set_bids_levels),
    Workload("clear + 128 add_bid", _unrolled_inserts("add"), _inserts(False), calls=1 + DEPTH,
             op="clear + 128 sorted inserts (bids)"),
    Workload("clear + 128 add_ask", _unrolled_inserts("add"), _inserts(True), calls=1 + DEPTH,
             op="clear + 128 sorted inserts (asks)"),
    Workload("clear()", "m()", _clear, op="clear"),
    Workload("pack_into(bytearray, 37)", "m(b, o)", _pack_into, op="pack_into(bytearray, 37)"),
    Workload("load_from(bytes, 37)", "m(b, o)", _load_from(bytes), op="parse 6,200 bytes at 37"),
    Workload("load_from(bytearray, 37)", "m(b, o)", _load_from(bytearray)),
    Workload("view.rebind(bytes, 37)", "m(b1, o)\nm(b2, o)", _rebind(bytes), calls=2),
    Workload("view.rebind(bytearray, 37)", "m(b1, o)\nm(b2, o)", _rebind(bytearray), calls=2),
    Workload("encode_message_into(buf, 0, book, sequence=, timestamp_ns=)",
             "m(b, 0, book, sequence=seq, timestamp_ns=ts)", _encode_into),
    Workload("decode_message(msg, 0, into=Message)", "m(b, 0, into=into)", _decode_into("message")),
    Workload("decode_message(msg, 0, into=OrderBook)", "m(b, 0, into=into)", _decode_into("book")),
    Workload("book.venue_id (7)", "book.venue_id", _book_ns, op="read venue_id"),
    Workload("book.asset_type (1)", "book.asset_type", _book_ns),
    Workload("len(book.bids)", "len(book.bids)", _book_ns, op="len(bids)"),
    # reference rows: these make new objects by design; not part of the hot path
    Workload("bytes(book)", "bytes(book)", _book_ns, kind="reference", op="6,200 bytes as bytes",
             note="negative control: a 6,233-byte bytes object per call"),
    Workload("book.sequence (9,876,543,210)", "book.sequence", _book_ns, kind="reference",
             note="a u64 past the small-int cache is a new int"),
    Workload("OrderBook.from_bytes(bytes, 37)", "m(b, o)", _from_bytes, kind="reference",
             note="a new book object"),
    Workload("decode_message(msg) (new Message)", "m(b)", _decode_new, kind="reference",
             note="a new Message, header and book"),
    Workload("encode_message(book, ...) -> bytes", "m(book, sequence=seq, timestamp_ns=ts)",
             _encode_new, kind="reference", note="a new 6,237-byte bytes"),
]

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
