"""Venue adapters (orderbook.venues) on the shipped samples and on the exact
response shapes, and the acceptance round trip: snapshot -> book -> message
-> decode -> the same decimal strings, on every sample."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List

import pytest

import orderbook
from orderbook import (
    CapacityError, DecimalError, ValidationError, decode_message, encode_message, to_snapshot,
)
from orderbook.errors import VenueError
from orderbook.venues import (
    ADAPTERS, detect_venue, from_binance, from_coinbase, from_kraken, from_venue, parse_rfc3339_ns,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
SAMPLES = sorted(DATA.glob("*.json"))
PF = 100_000_000


def load(name: str) -> Dict[str, Any]:
    value = json.loads((DATA / name).read_text())
    assert isinstance(value, dict)
    return value


def venue_levels(venue: str, obj: Dict[str, Any]) -> Dict[str, List[List[Any]]]:
    """The [price, size] text pairs of a response, as the venue sent them."""
    if venue == "kraken":
        (book,) = obj["result"].values()
    elif venue == "coinbase" and "pricebook" in obj:
        book = {k: [[lv["price"], lv["size"]] for lv in obj["pricebook"][k]] for k in ("bids", "asks")}
    else:
        book = obj
    return {side: [[lv[0], lv[1]] for lv in book[side]] for side in ("bids", "asks")}


def normalized(text: str) -> str:
    """The decimal at the precision of 8 decimals, as format_fixed writes it."""
    return format(Decimal(text).quantize(Decimal("1E-8")), "f")


def test_samples_are_shipped_and_labelled_synthetic() -> None:
    names = {p.name for p in SAMPLES}
    assert {"binance_btcusdt_depth.json", "coinbase_btcusd_book.json", "kraken_xbtusd_depth.json"} <= names
    for path in SAMPLES:
        assert "synthetic" in json.loads(path.read_text())["_comment"]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_round_trip_on_every_sample(path: Path) -> None:
    obj = json.loads(path.read_text())
    venue = detect_venue(obj)
    book = from_venue(venue, obj, venue_id=3)
    book.validate()
    data = encode_message(book, sequence=1, timestamp_ns=0)
    assert len(data) == orderbook.MESSAGE_SIZE
    decoded = decode_message(data).book
    assert decoded == book
    sent = venue_levels(venue, obj)
    got = to_snapshot(decoded)
    for side in ("bids", "asks"):
        assert len(got[side]) == len(sent[side])
        # the same decimals, written with the precision's 8 decimals ...
        assert got[side] == [[normalized(p), normalized(s)] for p, s in sent[side]]
        # ... and equal as numbers to the venue's own text
        assert [[Decimal(p), Decimal(s)] for p, s in got[side]] == \
               [[Decimal(p), Decimal(s)] for p, s in sent[side]]
    if venue == "binance":          # Binance writes 8 decimals: byte-identical strings
        assert got == sent


def test_binance_sample() -> None:
    obj = load("binance_btcusdt_depth.json")
    book = from_binance(obj)
    assert book.sequence == obj["lastUpdateId"] == 41_829_912_345
    assert book.timestamp_ns == 0
    assert len(book.bids) == len(book.asks) == 100
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid.price == 3_435_481_000_000 and book.best_ask.price == 3_435_482_000_000
    assert all(lv.order_count == 0 for lv in book.bids)


def test_binance_futures_times_and_overrides() -> None:
    obj = {"lastUpdateId": 5, "E": 1589436922972, "T": 1589436922959,
           "bids": [["4.00000000", "431.00000000"]], "asks": [["4.00000200", "12.00000000"]]}
    book = from_binance(obj)
    assert (book.sequence, book.timestamp_ns) == (5, 1_589_436_922_959_000_000)
    assert from_binance({**obj, "T": None}).timestamp_ns == 1_589_436_922_972_000_000
    # the caller's header values win over the snapshot's
    book = from_binance(obj, sequence=99, timestamp_ns=7, venue_id=2, asset_id=42)
    assert (book.sequence, book.timestamp_ns, book.venue_id, book.asset_id) == (99, 7, 2, 42)
    assert from_binance(obj, precision_factor=10 ** 6).best_ask == (4_000_002, 12_000_000, 0, 0)


def test_coinbase_exchange_sample() -> None:
    obj = load("coinbase_btcusd_book.json")
    book = from_coinbase(obj)
    assert book.sequence == 67_023_946_723
    assert book.timestamp_ns == 1_698_244_813_123_456_000
    assert [lv.order_count for lv in book.bids[:3]] == [lv[2] for lv in obj["bids"][:3]]


def test_coinbase_advanced_trade_shape() -> None:
    obj = {"pricebook": {"product_id": "BTC-USD",
                         "bids": [{"price": "34356.56", "size": "0.0163"}, {"price": "34356.5", "size": "1"}],
                         "asks": [{"price": "34356.57", "size": "1.2"}],
                         "time": "2023-10-25T14:40:13.123456789Z"},
           "last": "34356.57", "mid_market": "34356.565", "spread_bps": "0.003", "spread_absolute": "0.01"}
    book = from_coinbase(obj)
    assert book.timestamp_ns == 1_698_244_813_123_456_789
    assert book.bids.tolist() == [(3_435_656_000_000, 1_630_000, 0, 0), (3_435_650_000_000, 100_000_000, 0, 0)]
    assert detect_venue(obj) == "coinbase"
    with pytest.raises(VenueError, match=r"bids\[0\] must be an object with 'price' and 'size'"):
        from_coinbase({"pricebook": {"bids": [["1", "2"]], "asks": []}})


def test_kraken_sample_and_pairs() -> None:
    obj = load("kraken_xbtusd_depth.json")
    book = from_kraken(obj)
    assert from_kraken(obj, "XXBTZUSD") == book
    assert book.sequence == 0 and all(lv.order_count == 0 for lv in book.asks)   # timestamps ignored
    two = {"error": [], "result": {"A": obj["result"]["XXBTZUSD"], "B": obj["result"]["XXBTZUSD"]}}
    with pytest.raises(VenueError) as info:
        from_kraken(two)
    assert str(info.value) == "kraken depth: the result holds 2 pairs (A, B); pass pair="
    assert from_kraken(two, pair="B") == book
    with pytest.raises(VenueError, match="no pair 'C' in the result"):
        from_kraken(two, pair="C")
    with pytest.raises(VenueError) as info:
        from_kraken({"error": ["EQuery:Unknown asset pair"], "result": {}})
    assert str(info.value) == "kraken depth: the response reports errors: EQuery:Unknown asset pair"


def test_sides_are_sorted_and_validated() -> None:
    obj = {"lastUpdateId": 1, "bids": [["99", "1"], ["100", "1"]], "asks": [["102", "1"], ["101", "1"]]}
    book = from_binance(obj)
    assert [lv.price for lv in book.bids] == [10_000_000_000, 9_900_000_000]
    assert [lv.price for lv in book.asks] == [10_100_000_000, 10_200_000_000]
    with pytest.raises(ValidationError, match="crossed book"):
        from_binance({"lastUpdateId": 1, "bids": [["101", "1"]], "asks": [["100", "1"]]})
    with pytest.raises(ValidationError, match=r"asks\[0\].size must be > 0"):
        from_binance({"lastUpdateId": 1, "bids": [], "asks": [["100", "0"]]})


def test_deep_books_are_truncated_only_when_asked() -> None:
    deep = {"lastUpdateId": 1,
            "bids": [[f"{30000 - i}.00000000", "1.00000000"] for i in range(500)],
            "asks": [[f"{30001 + i}.00000000", "1.00000000"] for i in range(500)]}
    with pytest.raises(CapacityError, match="bids hold at most 128 levels, got 500; pass truncate=True"):
        from_binance(deep)
    book = from_binance(deep, truncate=True)
    assert len(book.bids) == len(book.asks) == 128
    assert book.bids[127].price == (30000 - 127) * PF and book.asks[127].price == (30001 + 127) * PF


def test_bad_values_name_the_level() -> None:
    obj = {"lastUpdateId": 1, "bids": [["1.5", "2"], ["1.4", "2.000000001"]], "asks": []}
    with pytest.raises(DecimalError) as info:
        from_binance(obj)
    assert str(info.value) == ("bids[1].size: '2.000000001' has 9 decimals, precision_factor 100000000 "
                               "allows 8; pass rounding='half_even' or rounding='down' to round")
    assert from_binance(obj, rounding="down").bids[1].size == 200_000_000


@pytest.mark.parametrize("obj, message", [
    ([], "binance depth: expected a JSON object, got list"),
    ({"lastUpdateId": 1, "asks": []}, "binance depth: no 'bids' in the snapshot (keys: ['asks', 'lastUpdateId'])"),
    ({"lastUpdateId": 1, "bids": {}, "asks": []}, "binance depth: 'bids' must be a list of levels, got dict"),
    ({"lastUpdateId": "1", "bids": [], "asks": []}, "binance depth: 'lastUpdateId' must be an integer, got str '1'"),
])
def test_wrong_shapes(obj: Any, message: str) -> None:
    with pytest.raises(VenueError) as info:
        from_binance(obj)
    assert str(info.value) == message
    assert isinstance(info.value, (ValueError, orderbook.OrderBookError))


def test_detect_and_dispatch() -> None:
    for path in SAMPLES:
        obj = json.loads(path.read_text())
        venue = detect_venue(obj)
        assert path.name.startswith(venue)
        assert from_venue(None, obj) == ADAPTERS[venue](obj)
    with pytest.raises(VenueError, match="not a depth snapshot of a known venue"):
        detect_venue({"bids": []})
    with pytest.raises(VenueError, match="unknown venue 'ftx'"):
        from_venue("ftx", {})


@pytest.mark.parametrize("text, ns", [
    ("2023-10-25T14:40:13.123456Z", 1_698_244_813_123_456_000),
    ("2023-10-25T14:40:13Z", 1_698_244_813_000_000_000),
    ("2023-10-25T14:40:13.123456789123Z", 1_698_244_813_123_456_789),
    ("2023-10-25T16:40:13.5+02:00", 1_698_244_813_500_000_000),
    ("1970-01-01T00:00:00.000000001Z", 1),
])
def test_rfc3339(text: str, ns: int) -> None:
    assert parse_rfc3339_ns(text) == ns


def test_rfc3339_bad() -> None:
    with pytest.raises(VenueError, match="not an RFC 3339 timestamp"):
        parse_rfc3339_ns("yesterday")
    with pytest.raises(VenueError, match="2023-13-45"):
        parse_rfc3339_ns("2023-13-45T00:00:00Z")


def test_samples_rebuild_byte_for_byte() -> None:
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "examples" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.samples().items():
        assert (DATA / name).read_text() == text, f"examples/data/{name} differs from make_samples.py"
