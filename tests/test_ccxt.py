"""orderbook.venues.from_ccxt on hand-written dicts shaped as ccxt's
``fetch_order_book()`` results (ccxt itself is not needed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderbook import (
    AssetType, DecimalError, InstrumentId, OrderBook, ValidationError, VenueError, VenueId,
    encode_message, decode_message, to_snapshot,
)
from orderbook.errors import FieldTypeError
from orderbook.venues import CCXT_VENUE_IDS, from_ccxt


def ccxt_book(**over):
    d = {
        "symbol": "BTC/USDT",
        "bids": [[27012.45, 0.5], [27012.4, 1.25], [27000.0, 3.0]],
        "asks": [[27012.46, 0.1], [27013.0, 2.0]],
        "timestamp": 1_700_000_000_123,
        "datetime": "2023-11-14T22:13:20.123Z",
        "nonce": 40_023_123,
    }
    d.update(over)
    return d


def test_fields():
    book = from_ccxt(ccxt_book(), exchange="binance")
    assert book.venue_id == VenueId.BINANCE == 100
    assert book.sequence == 40_023_123
    assert book.snapshot_timestamp_ns == 1_700_000_000_123_000_000
    inst = InstrumentId.coin(VenueId.BINANCE, "BTC/USDT")
    assert (book.asset_id, book.asset_type) == (inst.asset_id, AssetType.COIN)
    assert [tuple(lv)[:2] for lv in book.bids] == [(2_701_245_000_000, 50_000_000),
                                                   (2_701_240_000_000, 125_000_000),
                                                   (2_700_000_000_000, 300_000_000)]
    assert [tuple(lv)[:2] for lv in book.asks] == [(2_701_246_000_000, 10_000_000),
                                                   (2_701_300_000_000, 200_000_000)]
    assert book.capacity == 128
    # round trip through a message
    assert decode_message(encode_message(book)).book == book


@pytest.mark.parametrize("ex, venue", [
    ("binance", 100), ("kraken", 101), ("coinbase", 102), ("coinbasepro", 102),
    ("coinbaseexchange", 102), ("huobi", 103), ("htx", 103), ("okx", 104), ("bybit", 106),
    ("kucoin", 107), ("gemini", 108), ("deribit", 700), ("Binance", 100),
])
def test_exchange_ids(ex, venue):
    assert from_ccxt(ccxt_book(), exchange=ex).venue_id == venue


def test_exchange_object_and_unknown():
    class FakeExchange:
        id = "kraken"

    assert from_ccxt(ccxt_book(), exchange=FakeExchange()).venue_id == VenueId.KRAKEN
    with pytest.raises(VenueError, match="bitstamp"):
        from_ccxt(ccxt_book(), exchange="bitstamp")
    # an unknown exchange with an explicit venue is fine
    assert from_ccxt(ccxt_book(), exchange="bitstamp", venue_id=65000).venue_id == 65000
    # no exchange: Generic, unless venue_id=
    assert from_ccxt(ccxt_book()).venue_id == 0
    assert from_ccxt(ccxt_book(), venue_id=VenueId.GEMINI).venue_id == 108
    with pytest.raises(FieldTypeError):
        from_ccxt(ccxt_book(), exchange=42)
    assert set(CCXT_VENUE_IDS.values()) <= set(VenueId)


def test_float_goes_through_its_repr_exactly():
    x = 0.1 + 0.2
    assert repr(x) == "0.30000000000000004"
    d = ccxt_book(bids=[[x, 0.1]], asks=[[0.4, 1e-05]])
    book = from_ccxt(d, precision_factor=10**17)
    assert book.bids[0].price == 30_000_000_000_000_004          # '0.30000000000000004' exactly
    assert book.bids[0].size == 10_000_000_000_000_000           # '0.1', not 0.1000000000000000055...
    assert book.asks[0].size == 1_000_000_000_000                # '1e-05' -> '0.00001'
    assert to_snapshot(book, strip_zeros=True)["bids"] == [["0.30000000000000004", "0.1"]]
    # float arithmetic would have lost a unit: int(0.29 * 100) == 28
    assert int(0.29 * 100) == 28
    assert from_ccxt(ccxt_book(bids=[[0.29, 1.0]], asks=[[0.3, 1.0]]), precision_factor=100).bids[0].price == 29


def test_more_decimals_than_the_precision():
    d = ccxt_book(bids=[[0.1 + 0.2, 1.0]], asks=[[0.4, 1.0]])
    with pytest.raises(DecimalError, match="0.30000000000000004"):
        from_ccxt(d)                                              # 8 decimals by default
    down = from_ccxt(d, rounding="down")
    assert down.bids[0].price == 30_000_000
    even = from_ccxt(ccxt_book(bids=[[0.123456785, 1.0]], asks=[[0.2, 1.0]]), rounding="half_even")
    assert even.bids[0].price == 12_345_678


def test_strings_ints_decimals_accepted():
    d = ccxt_book(bids=[["27012.45", 1], [Decimal("27012.40"), "0.5"]], asks=[[27013, "2"]])
    book = from_ccxt(d)
    assert book.bids[0].price == 2_701_245_000_000 and book.bids[0].size == 100_000_000
    assert book.asks[0].price == 2_701_300_000_000


def test_third_item_ignored_and_sorting():
    d = ccxt_book(bids=[[1.0, 1.0, 7], [2.0, 1.0, 9]], asks=[[3.0, 1.0, 1698244813]])
    book = from_ccxt(d)
    assert [lv.price for lv in book.bids] == [200_000_000, 100_000_000]
    assert book.bids[0].order_count == 0


def test_none_fields_and_symbol_override():
    book = from_ccxt(ccxt_book(nonce=None, timestamp=None, symbol=None), exchange="binance",
                     symbol="BTCUSDT")
    assert book.sequence == 0 and book.snapshot_timestamp_ns == 0
    assert book.asset_id == InstrumentId.coin(VenueId.BINANCE, "BTCUSDT").asset_id
    assert from_ccxt(ccxt_book(symbol=None)).asset_id == 0
    # explicit header keywords win
    assert from_ccxt(ccxt_book(), sequence=5).sequence == 5


def test_bad_input():
    with pytest.raises(VenueError, match="bids"):
        from_ccxt({"asks": []})
    with pytest.raises(VenueError):
        from_ccxt(ccxt_book(bids=[[1.0]]))
    with pytest.raises(VenueError):
        from_ccxt(ccxt_book(bids=[[True, 1.0]]))
    with pytest.raises(DecimalError):
        from_ccxt(ccxt_book(bids=[[float("nan"), 1.0]]))
    with pytest.raises(DecimalError):
        from_ccxt(ccxt_book(bids=[[float("inf"), 1.0]]))
    with pytest.raises(VenueError, match="nonce"):
        from_ccxt(ccxt_book(nonce=-1))
    with pytest.raises(ValidationError):
        from_ccxt(ccxt_book(bids=[[5.0, 1.0]], asks=[[4.0, 1.0]]))     # crossed
    with pytest.raises(FieldTypeError, match="from_ccxt"):
        from_ccxt(ccxt_book(), exchnage="binance")
    with pytest.raises(VenueError):
        from_ccxt([1, 2])


def test_capacity_and_truncate():
    bids = [[100.0 - i * 0.01, 1.0] for i in range(60)]
    d = ccxt_book(bids=bids, asks=[[101.0, 1.0]])
    assert len(from_ccxt(d).bids) == 60
    from orderbook import CapacityError
    with pytest.raises(CapacityError):
        from_ccxt(d, capacity=50)
    book = from_ccxt(d, capacity=50, truncate=True)
    assert book.capacity == 50 and len(book.bids) == 50
    assert isinstance(book, OrderBook)
