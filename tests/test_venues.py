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
    AssetType, CapacityError, DecimalError, FieldTypeError, InstrumentId, OrderBook, SourceType,
    ValidationError, VenueId, decode_message, encode_message, to_snapshot,
)
from orderbook.errors import VenueError
from orderbook.venues import (
    ADAPTERS, SOURCES, VENUE_IDS, default_source, detect_venue, from_binance, from_coinbase, from_kraken,
    from_venue, parse_rfc3339_ns,
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
    assert book.snapshot_timestamp_ns == 0
    assert book.venue_id == VenueId.BINANCE == 100
    assert (book.asset_id, book.asset_type) == (0, 0)              # the response names no symbol
    assert book.capacity == 128
    assert len(book.bids) == len(book.asks) == 100
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid.price == 3_435_481_000_000 and book.best_ask.price == 3_435_482_000_000
    assert all(lv.order_count == 0 for lv in book.bids)


def test_binance_futures_times_and_overrides() -> None:
    obj = {"lastUpdateId": 5, "E": 1589436922972, "T": 1589436922959,
           "bids": [["4.00000000", "431.00000000"]], "asks": [["4.00000200", "12.00000000"]]}
    book = from_binance(obj)
    assert (book.sequence, book.snapshot_timestamp_ns) == (5, 1_589_436_922_959_000_000)
    assert from_binance({**obj, "T": None}).snapshot_timestamp_ns == 1_589_436_922_972_000_000
    # the caller's header values win over the snapshot's
    book = from_binance(obj, sequence=99, snapshot_timestamp_ns=7, venue_id=2, asset_id=42)
    assert (book.sequence, book.snapshot_timestamp_ns, book.venue_id, book.asset_id) == (99, 7, 2, 42)
    assert from_binance(obj, precision_factor=10 ** 6).best_ask == (4_000_002, 12_000_000, 0, 0)


def test_coinbase_exchange_sample() -> None:
    obj = load("coinbase_btcusd_book.json")
    book = from_coinbase(obj)
    assert book.sequence == 67_023_946_723
    assert book.snapshot_timestamp_ns == 1_698_244_813_123_456_000
    assert book.venue_id == VenueId.COINBASE == 102 and book.asset_id == 0
    assert [lv.order_count for lv in book.bids[:3]] == [lv[2] for lv in obj["bids"][:3]]


def test_coinbase_advanced_trade_shape() -> None:
    obj = {"pricebook": {"product_id": "BTC-USD",
                         "bids": [{"price": "34356.56", "size": "0.0163"}, {"price": "34356.5", "size": "1"}],
                         "asks": [{"price": "34356.57", "size": "1.2"}],
                         "time": "2023-10-25T14:40:13.123456789Z"},
           "last": "34356.57", "mid_market": "34356.565", "spread_bps": "0.003", "spread_absolute": "0.01"}
    book = from_coinbase(obj)
    assert book.snapshot_timestamp_ns == 1_698_244_813_123_456_789
    assert book.instrument == InstrumentId.coin(VenueId.COINBASE, "BTC-USD")     # from product_id
    assert from_coinbase(obj, symbol="ETH-USD").instrument.symbol == "ETH-USD"  # the caller's wins
    assert book.bids.tolist() == [(3_435_656_000_000, 1_630_000, 0, 0), (3_435_650_000_000, 100_000_000, 0, 0)]
    assert detect_venue(obj) == "coinbase"
    with pytest.raises(VenueError, match=r"bids\[0\] must be an object with 'price' and 'size'"):
        from_coinbase({"pricebook": {"bids": [["1", "2"]], "asks": []}})


def test_kraken_sample_and_pairs() -> None:
    obj = load("kraken_xbtusd_depth.json")
    book = from_kraken(obj)
    assert from_kraken(obj, "XXBTZUSD") == book
    assert book.sequence == 0 and all(lv.order_count == 0 for lv in book.asks)   # timestamps ignored
    assert book.venue_id == VenueId.KRAKEN == 101
    # no symbol given: the pair name of the response
    assert book.instrument == InstrumentId.coin(VenueId.KRAKEN, "XXBTZUSD")
    assert book.instrument.describe() == "Kraken Coin XXBTZUSD"
    assert from_kraken(obj, symbol="XBTUSD").instrument.symbol == "XBTUSD"
    two = {"error": [], "result": {"A": obj["result"]["XXBTZUSD"], "B": obj["result"]["XXBTZUSD"]}}
    with pytest.raises(VenueError) as info:
        from_kraken(two)
    assert str(info.value) == "kraken depth: the result holds 2 pairs (A, B); pass pair="
    assert from_kraken(two, pair="B", symbol="XXBTZUSD") == book
    assert from_kraken(two, pair="B").instrument.symbol == "B"
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
    ({"lastUpdateId": 1, "asks": []},
     "binance depth: no 'bids' in the snapshot (keys found: ['asks', 'lastUpdateId'])"),
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
        assert from_venue(None, obj).venue_id == VENUE_IDS[venue]
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


@pytest.mark.parametrize("text, message", [
    # these three were accepted (timegm rolls 30 February over to 2 March, ...)
    ("2023-02-30T00:00:00Z", "day 30 is out of range (2023-02 has days 01-28)"),
    ("2023-10-25T25:61:61Z", "hour 25 is out of range (00-23)"),
    ("2023-10-25T14:40:13+99:99", "offset hour 99 is out of range (00-23)"),
    ("2023-10-25T14:40:13-05:60", "offset minute 60 is out of range (00-59)"),
    ("2023-10-25T23:60:00Z", "minute 60 is out of range (00-59)"),
    ("2023-10-25T23:59:61Z", "second 61 is out of range (00-60)"),
    ("2023-00-25T00:00:00Z", "month 00 is out of range (01-12)"),
    ("2023-04-31T00:00:00Z", "day 31 is out of range (2023-04 has days 01-30)"),
    ("2023-02-29T00:00:00Z", "day 29 is out of range (2023-02 has days 01-28)"),
    ("2023-10-00T00:00:00Z", "day 00 is out of range"),
    ("0000-01-01T00:00:00Z", "year 0000 is out of range (0001-9999)"),
    ("\u0662023-10-25T14:40:13Z", "not an RFC 3339 timestamp"),       # a non-ASCII digit
])
def test_rfc3339_out_of_range_fields(text: str, message: str) -> None:
    with pytest.raises(VenueError) as info:
        parse_rfc3339_ns(text)
    assert message in str(info.value) and repr(text) in str(info.value)


def test_rfc3339_calendar_edges() -> None:
    assert parse_rfc3339_ns("2024-02-29T00:00:00Z") == 1_709_164_800_000_000_000       # leap year
    assert parse_rfc3339_ns("2000-02-29T00:00:00Z") == 951_782_400_000_000_000
    with pytest.raises(VenueError, match="day 29"):
        parse_rfc3339_ns("1900-02-29T00:00:00Z")                                      # not a leap year
    assert parse_rfc3339_ns("2016-12-31T23:59:60Z") == parse_rfc3339_ns("2017-01-01T00:00:00Z")
    assert parse_rfc3339_ns("2023-10-25T14:40:13-23:59") == parse_rfc3339_ns("2023-10-26T14:39:13Z")


def test_coinbase_time_out_of_range_is_refused() -> None:
    obj = {**load("coinbase_btcusd_book.json"), "time": "2023-02-30T14:40:13.123456Z"}
    with pytest.raises(VenueError, match="day 30 is out of range"):
        from_coinbase(obj)
    with pytest.raises(VenueError, match="before 1970"):
        from_coinbase({**obj, "time": "1969-12-31T23:59:59Z"})
    with pytest.raises(VenueError, match="'time' must be RFC 3339 text, got int"):
        from_coinbase({**obj, "time": 1698244813})


def test_samples_rebuild_byte_for_byte() -> None:
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "examples" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.samples().items():
        assert (DATA / name).read_text() == text, f"examples/data/{name} differs from make_samples.py"


# --- upstream identifiers, symbols, sources, capacities --------------------------------

def test_upstream_venue_ids_and_symbols() -> None:
    assert {name: int(v) for name, v in VENUE_IDS.items()} == {"binance": 100, "coinbase": 102, "kraken": 101}
    book = from_binance(load("binance_btcusdt_depth.json"), symbol="BTCUSDT")
    assert book.instrument == InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    assert (book.asset_id, book.venue_id, book.asset_type) == (0x4254435553445400, 100, AssetType.COIN)
    assert "Binance Coin BTCUSDT" in repr(book)
    book = from_coinbase(load("coinbase_btcusd_book.json"), symbol="BTC-USD")
    assert book.instrument.describe() == "Coinbase Coin BTC-USD"
    # explicit header values win over the symbol's, and the symbol follows venue_id
    book = from_binance(load("binance_btcusdt_depth.json"), symbol="BTCUSDT", asset_type=AssetType.STOCK)
    assert book.asset_type == AssetType.STOCK and book.asset_id == 0x4254435553445400
    book = from_binance(load("binance_btcusdt_depth.json"), symbol="BTCUSDT", venue_id=VenueId.TEST_VENUE)
    assert book.instrument == InstrumentId.coin(VenueId.TEST_VENUE, "BTCUSDT")
    with pytest.raises(FieldTypeError, match="symbol must be a str"):
        from_binance(load("binance_btcusdt_depth.json"), symbol=42)   # type: ignore[arg-type]
    # by name, symbol= is passed on
    assert from_venue(None, load("binance_btcusdt_depth.json"), symbol="BTCUSDT").instrument.symbol == "BTCUSDT"


def test_default_sources_are_the_collectors() -> None:
    assert {name: int(s) for name, s in SOURCES.items()} == {"binance": 1, "coinbase": 2, "kraken": 3}
    assert default_source("binance") is SourceType.BINANCE_COLLECTOR
    assert default_source("Coinbase") is SourceType.COINBASE_COLLECTOR
    assert default_source(VenueId.KRAKEN) is SourceType.KRAKEN_COLLECTOR
    assert default_source(100) is SourceType.BINANCE_COLLECTOR
    assert default_source(VenueId.NYSE) is SourceType.UNKNOWN
    for name, adapter in ADAPTERS.items():
        assert adapter.source is SOURCES[name]                    # type: ignore[attr-defined]
        assert adapter.venue_id is VENUE_IDS[name]                # type: ignore[attr-defined]
    for path in SAMPLES:
        obj = json.loads(path.read_text())
        book = from_venue(None, obj)
        message = decode_message(encode_message(book, source=default_source(book)))
        assert message.header.source == SOURCES[detect_venue(obj)]
        assert message.header.source_name.endswith("Collector")
    with pytest.raises(VenueError, match="unknown venue 'ftx'"):
        default_source("ftx")
    with pytest.raises(FieldTypeError):
        default_source(1.5)                                       # type: ignore[arg-type]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_capacity_50(path: Path) -> None:
    obj = json.loads(path.read_text())
    with pytest.raises(CapacityError, match="hold at most 50 levels, got 100; pass truncate=True"):
        from_venue(None, obj, capacity=50)
    book = from_venue(None, obj, capacity=50, truncate=True)
    assert (book.capacity, book.nbytes, len(book.bids), len(book.asks)) == (50, 2456, 50, 50)
    assert book.bids[:50] == from_venue(None, obj).bids[:50]
    data = encode_message(book, timestamp_ns=0)
    assert len(data) == orderbook.message_size(50)
    assert decode_message(data).book == book
    with pytest.raises(CapacityError, match="capacity must be one of"):
        from_venue(None, obj, capacity=64)


# --- defects: each of these was accepted before ------------------------------------------

def test_binance_refuses_a_missing_last_update_id() -> None:
    """It was read as sequence 0."""
    with pytest.raises(VenueError) as info:
        from_binance({"bids": [["1", "1"]], "asks": [["2", "1"]], "E": 5})
    assert str(info.value) == "binance depth: no 'lastUpdateId' in the snapshot (keys found: ['E', 'asks', 'bids'])"
    with pytest.raises(VenueError, match="'lastUpdateId' must be an integer, got NoneType None"):
        from_binance({"lastUpdateId": None, "bids": [], "asks": []})
    with pytest.raises(VenueError, match="'lastUpdateId' must not be negative, got -1"):
        from_binance({"lastUpdateId": -1, "bids": [], "asks": []})


@pytest.mark.parametrize("adapter, sample, other", [
    (from_binance, "coinbase_btcusd_book.json", "Coinbase"),
    (from_binance, "kraken_xbtusd_depth.json", "Kraken"),
    (from_coinbase, "binance_btcusdt_depth.json", "Binance"),
    (from_coinbase, "kraken_xbtusd_depth.json", "Kraken"),
    (from_kraken, "binance_btcusdt_depth.json", "Binance"),
    (from_kraken, "coinbase_btcusd_book.json", "Coinbase"),
])
def test_another_venues_json_is_refused(adapter: Any, sample: str, other: str) -> None:
    """from_binance read Coinbase's book as a Binance book of sequence 0."""
    obj = load(sample)
    with pytest.raises(VenueError) as info:
        adapter(obj)
    text = str(info.value)
    assert f"this is a {other} response" in text
    assert f"(keys found: {sorted(obj)!r})".replace('"', "'") in text
    assert f"use from_{other.lower()}()" in text


def test_shapes_without_the_required_keys_name_the_keys_found() -> None:
    with pytest.raises(VenueError) as info:
        from_coinbase({"bids": [], "asks": [], "time": "2023-10-25T14:40:13Z"})
    assert str(info.value) == "coinbase book: no 'sequence' in the snapshot (keys found: ['asks', 'bids', 'time'])"
    with pytest.raises(VenueError) as info:
        from_kraken({"bids": [], "asks": []})
    assert str(info.value) == "kraken depth: no 'result' in the snapshot (keys found: ['asks', 'bids'])"
    # the venues' own error responses
    with pytest.raises(VenueError, match="binance depth: the response reports an error: code -1121: Invalid symbol."):
        from_binance({"code": -1121, "msg": "Invalid symbol."})
    with pytest.raises(VenueError, match="coinbase book: the response reports an error: NotFound"):
        from_coinbase({"message": "NotFound"})


@pytest.mark.parametrize("call, function, key", [
    (lambda d: from_binance(d, sequnce=1), "from_binance", "sequnce"),
    (lambda d: from_coinbase(d, venue=1), "from_coinbase", "venue"),
    (lambda d: from_kraken(d, precision=10), "from_kraken", "precision"),
    (lambda d: from_venue(None, d, truncat=True), "from_venue", "truncat"),
])
def test_misspelt_keywords_name_the_function_called(call: Any, function: str, key: str) -> None:
    """They were reported as errors of __init__ (the OrderBook constructor)."""
    obj = load({"from_binance": "binance_btcusdt_depth.json", "from_coinbase": "coinbase_btcusd_book.json",
                "from_kraken": "kraken_xbtusd_depth.json"}.get(function, "binance_btcusdt_depth.json"))
    with pytest.raises(TypeError) as info:
        call(obj)
    assert isinstance(info.value, FieldTypeError)
    assert str(info.value).startswith(f"{function}() got an unexpected keyword argument {key!r}")
    assert "__init__" not in str(info.value)


def test_keyword_hints() -> None:
    obj = load("binance_btcusdt_depth.json")
    with pytest.raises(FieldTypeError) as info:
        from_binance(obj, sequnce=1)
    assert str(info.value) == "from_binance() got an unexpected keyword argument 'sequnce'; did you mean 'sequence'?"
    with pytest.raises(FieldTypeError) as info:
        from_binance(obj, timestamp_ns=1)                 # the old name of the book field
    assert str(info.value) == ("from_binance() got an unexpected keyword argument 'timestamp_ns' "
                               "(the book field is now 'snapshot_timestamp_ns')")
    with pytest.raises(FieldTypeError, match=r"from_venue\(\) got an unexpected keyword argument 'pair'"):
        from_venue("binance", obj, pair="XXBTZUSD")
    with pytest.raises(TypeError, match=r"from_binance\(\) takes 1 positional argument"):
        from_binance(obj, 1)                              # type: ignore[misc]
    # an OrderBook subclass through cls=
    class Mine(OrderBook):
        pass
    assert type(from_binance(obj, cls=Mine)) is Mine
