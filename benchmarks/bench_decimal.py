"""Decimal text to fixed point (orderbook._decimal) against what a Python user
would write instead: ``decimal.Decimal`` and ``float``.

Groups (pytest-benchmark):

* ``decimal 2x128 levels``: a Binance-shaped depth snapshot -- 128 bids and
  128 asks of ``["27012.45000000", "0.25100000"]`` strings straight from
  ``json.loads`` -- into the two sides of a book.
* ``decimal from_snapshot 2x128``: the same into a new, validated book.
* ``decimal one value``: one price string.
* ``decimal to text 2x128``: the book's levels back to decimal strings.

Every case is checked before it is timed: ours and the Decimal path must
give the exact fixed-point levels; the float path's wrong levels are counted
(``extra_info["wrong_levels"]``).  ``test_acceptance`` checks the issue's
targets with its own repeated timing: 2x128 levels in under 20 µs, and
faster than merely building the Decimals.
"""

from __future__ import annotations

import json
import random
import timeit
from decimal import Decimal
from functools import partial
from typing import Any, Callable, Dict, List, Tuple

import pytest

from orderbook import OrderBook, format_fixed, to_fixed, to_snapshot
from orderbook._decimal import fill_side_from_strings, from_snapshot

PF = 100_000_000
DEPTH = 128
TARGET_S = 20e-6                    # the bound for 2x128 string levels

Side = List[List[str]]


def snapshot(seed: int = 11) -> Dict[str, Any]:
    """A Binance /api/v3/depth body: 8-decimal strings, best first."""
    rnd = random.Random(seed)
    best_bid = 2_701_245                                   # cents
    bids = [[f"{(best_bid - i) // 100}.{(best_bid - i) % 100:02d}000000",
             f"{rnd.randint(0, 40)}.{rnd.randint(0, 99_999):05d}000"] for i in range(DEPTH)]
    asks = [[f"{(best_bid + 1 + i) // 100}.{(best_bid + 1 + i) % 100:02d}000000",
             f"{rnd.randint(0, 40)}.{rnd.randint(1, 99_999):05d}000"] for i in range(DEPTH)]
    decoded = json.loads(json.dumps({"lastUpdateId": 1, "bids": bids, "asks": asks}))
    assert isinstance(decoded, dict)
    return decoded


SNAP = snapshot()
BIDS: Side = SNAP["bids"]
ASKS: Side = SNAP["asks"]
F_DEC = Decimal(PF)


def _exact(side: Side) -> List[Tuple[int, int]]:
    """The expected fixed point, by string surgery (no arithmetic on fractions)."""
    def fixed(text: str) -> int:
        whole, frac = text.split(".")
        return int(whole) * PF + int(frac.ljust(8, "0"))
    return [(fixed(p), fixed(s)) for p, s in side]


EXPECTED = (_exact(BIDS), _exact(ASKS))


def _levels(book: OrderBook) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int]]]:
    return ([(lv.price, lv.size) for lv in book.bids], [(lv.price, lv.size) for lv in book.asks])


# --- the implementations ---------------------------------------------------------------

def ours_fill(book: OrderBook) -> OrderBook:
    fill_side_from_strings(book, False, BIDS)
    fill_side_from_strings(book, True, ASKS)
    return book


def decimal_fill(book: OrderBook) -> OrderBook:
    book.set_bids([(int(Decimal(p) * F_DEC), int(Decimal(s) * F_DEC)) for p, s in BIDS])
    book.set_asks([(int(Decimal(p) * F_DEC), int(Decimal(s) * F_DEC)) for p, s in ASKS])
    return book


def float_fill(book: OrderBook) -> OrderBook:
    # what "just use float" does: fast, and silently wrong on some levels
    book.set_bids([(int(float(p) * 1e8), int(float(s) * 1e8)) for p, s in BIDS])
    book.set_asks([(int(float(p) * 1e8), int(float(s) * 1e8)) for p, s in ASKS])
    return book


def decimals_only() -> List[Decimal]:
    return [Decimal(x) for side in (BIDS, ASKS) for level in side for x in level]


FILL: Dict[str, Callable[[OrderBook], OrderBook]] = {
    "ours": ours_fill, "decimal": decimal_fill, "float": float_fill,
}


def _wrong_levels(book: OrderBook) -> int:
    got = _levels(book)
    return sum(g != e for side in (0, 1) for g, e in zip(got[side], EXPECTED[side]))


# --- benchmarks ----------------------------------------------------------------------------

@pytest.mark.parametrize("impl", list(FILL))
def test_levels_2x128(benchmark: Any, impl: str) -> None:
    book = OrderBook()
    fn = partial(FILL[impl], book)
    fn()
    wrong = _wrong_levels(book)
    if impl != "float":
        assert wrong == 0, f"{impl} converted {wrong} levels wrongly"
    benchmark.group = "decimal 2x128 levels"
    benchmark.extra_info.update(impl=impl, wrong_levels=wrong, call=FILL[impl].__name__)
    benchmark(fn)


def test_levels_2x128_decimals_only(benchmark: Any) -> None:
    """Only building the 512 Decimals, no book: the bar the issue sets."""
    assert len(decimals_only()) == 4 * DEPTH
    benchmark.group = "decimal 2x128 levels"
    benchmark.extra_info.update(impl="Decimal() only", call="[Decimal(x) for each of 512 strings]")
    benchmark(decimals_only)


@pytest.mark.parametrize("impl", ["ours", "decimal"])
def test_from_snapshot_2x128(benchmark: Any, impl: str) -> None:
    def via_decimal() -> OrderBook:
        book = OrderBook([(int(Decimal(p) * F_DEC), int(Decimal(s) * F_DEC)) for p, s in BIDS],
                         [(int(Decimal(p) * F_DEC), int(Decimal(s) * F_DEC)) for p, s in ASKS],
                         sequence=SNAP["lastUpdateId"])
        book.validate()
        return book
    fn: Callable[[], OrderBook] = (
        partial(from_snapshot, OrderBook, BIDS, ASKS, sequence=SNAP["lastUpdateId"]) if impl == "ours"
        else via_decimal)
    assert _levels(fn()) == EXPECTED
    benchmark.group = "decimal from_snapshot 2x128"
    benchmark.extra_info.update(impl=impl)
    benchmark(fn)


ONE = BIDS[0][0]
ONE_VALUE: Dict[str, Callable[[], Any]] = {
    "ours": partial(to_fixed, ONE),
    "decimal": lambda: int(Decimal(ONE) * F_DEC),
    "Decimal() only": partial(Decimal, ONE),
    "float": lambda: int(float(ONE) * 1e8),
}


@pytest.mark.parametrize("impl", list(ONE_VALUE))
def test_one_value(benchmark: Any, impl: str) -> None:
    if impl in ("ours", "decimal"):
        assert ONE_VALUE[impl]() == EXPECTED[0][0][0]
    benchmark.group = "decimal one value"
    benchmark.extra_info.update(impl=impl)
    benchmark(ONE_VALUE[impl])


BOOK = from_snapshot(OrderBook, BIDS, ASKS)


def _text_python() -> Dict[str, List[List[str]]]:
    def fmt(v: int) -> str:
        whole, frac = divmod(v, PF)
        return f"{whole}.{frac:08d}"
    return {"bids": [[fmt(lv.price), fmt(lv.size)] for lv in BOOK.bids],
            "asks": [[fmt(lv.price), fmt(lv.size)] for lv in BOOK.asks]}


@pytest.mark.parametrize("impl", ["ours", "python"])
def test_to_text_2x128(benchmark: Any, impl: str) -> None:
    fn: Callable[[], Dict[str, List[List[str]]]] = (partial(to_snapshot, BOOK) if impl == "ours"
                                                    else _text_python)
    assert fn() == {"bids": BIDS, "asks": ASKS}
    assert format_fixed(BOOK.bids[0].price) == BIDS[0][0]
    benchmark.group = "decimal to text 2x128"
    benchmark.extra_info.update(impl=impl)
    benchmark(fn)


# --- the acceptance numbers ---------------------------------------------------------

def _best(fn: Callable[[], Any], number: int = 200, repeat: int = 15) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def test_acceptance() -> None:
    book = OrderBook()
    ours = _best(partial(ours_fill, book))
    only_decimals = _best(decimals_only, number=50)
    print(f"\n2x128 string levels: ours {ours * 1e6:.2f} µs, Decimal() of the 512 strings alone "
          f"{only_decimals * 1e6:.2f} µs ({only_decimals / ours:.1f}x)")
    assert ours < TARGET_S, f"2x128 levels took {ours * 1e6:.1f} µs, the target is {TARGET_S * 1e6:.0f} µs"
    assert ours < only_decimals
