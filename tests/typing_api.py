"""Every public name of orderbook, used the way a typed application would.

Two jobs: ``mypy --strict`` checks it against the stubs (``assert_type`` pins
the types the stubs promise, not just "no error"), and ``python
tests/typing_api.py`` runs it, so each call is also checked to work as typed.
tests/test_typing.py does both.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import mmap
import pickle
import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Literal, Optional, Tuple, Type, TypeVar, Union

import orderbook
from orderbook import (
    Capture, MessageReader, book_dtype, header_dtype, message_dtype, to_arrow,
    CAPACITIES,
    HEADER_SIZE,
    LEVEL_FORMAT,
    MAX_ORDER_LEVELS,
    MESSAGE_SIZE,
    ORDER_BOOK_SIZE,
    ORDER_LEVEL_SIZE,
    TLV_ORDER_BOOK,
    AssetType,
    CapacityError,
    ChecksumError,
    DecimalError,
    FieldRangeError,
    FieldTypeError,
    IdentifierError,
    InstrumentId,
    LayoutError,
    LevelIndexError,
    Levels,
    MagicError,
    Message,
    MessageHeader,
    MissingRecordError,
    OffsetError,
    OrderBook,
    OrderBookError,
    OrderLevel,
    ProtocolError,
    ReadOnlyError,
    RecordError,
    RelayDomain,
    ReleasedError,
    ExportError,
    SourceType,
    TruncatedError,
    ValidationError,
    VenueError,
    VenueId,
    VersionError,
    book_size,
    crc32,
    crc32_implementation,
    decode_message,
    encode_message,
    encode_message_into,
    format_fixed,
    get_include,
    iter_messages,
    layout,
    message_size,
    to_decimal,
    to_fixed,
    to_snapshot,
)
from orderbook.ids import describe_instrument, relay_domain_name, source_name, venue_name
from orderbook.level import level_dtype
from orderbook.venues import default_source, from_binance, from_venue

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:
    def assert_type(value, _type):  # typing.assert_type is 3.11+; a no-op at run time
        return value

PF = 100_000_000


def make_book() -> OrderBook:
    book = OrderBook(
        [(101 * PF, 2 * PF, 3), OrderLevel(100 * PF, 5 * PF)],
        [[102 * PF, PF], (103 * PF, 4 * PF, 1, 0)],
        snapshot_timestamp_ns=1_700_000_000_000_000_000, sequence=7, precision_factor=PF,
        asset_id=42, venue_id=VenueId.BINANCE, asset_type=AssetType.COIN, reserved=0,
        capacity=128, truncate=False,
    )
    return assert_type(book, OrderBook)


def constants() -> None:
    sizes: Dict[str, int] = {
        "MAX_ORDER_LEVELS": MAX_ORDER_LEVELS, "ORDER_LEVEL_SIZE": ORDER_LEVEL_SIZE,
        "ORDER_BOOK_SIZE": ORDER_BOOK_SIZE, "HEADER_SIZE": HEADER_SIZE,
        "MESSAGE_SIZE": MESSAGE_SIZE, "TLV_ORDER_BOOK": TLV_ORDER_BOOK,
    }
    assert sizes == {"MAX_ORDER_LEVELS": 128, "ORDER_LEVEL_SIZE": 24, "ORDER_BOOK_SIZE": 6200,
                     "HEADER_SIZE": 32, "MESSAGE_SIZE": 6237, "TLV_ORDER_BOOK": 3}
    assert_type(LEVEL_FORMAT, str).startswith("T{")
    assert assert_type(CAPACITIES, Tuple[int, int]) == (128, 50)
    assert [assert_type(book_size(n), int) for n in CAPACITIES] == [ORDER_BOOK_SIZE, 2456]
    assert [assert_type(message_size(n), int) for n in CAPACITIES] == [MESSAGE_SIZE, 2493]
    for capacity, asks in ((128, 3120), (50, 1248)):
        table = assert_type(layout(capacity), Dict[str, Any])
        assert table["MAX_ORDER_LEVELS"] == capacity
        book_fields = table["OrderBookTLV"]
        assert isinstance(book_fields, dict)             # the one int entry is MAX_ORDER_LEVELS
        assert (book_fields["snapshot_timestamp_ns"], book_fields["bids"], book_fields["asks"]) == (0, 40, asks)
        assert book_fields["size"] == book_size(capacity)
    assert layout() == layout(MAX_ORDER_LEVELS)
    assert assert_type(orderbook.__version__, str)
    assert assert_type(get_include(), str).endswith("orderbook")


def build_and_read() -> None:
    book = make_book()
    bid: Optional[OrderLevel] = book.best_bid
    assert bid is not None and assert_type(bid.price, int) == 101 * PF
    ask = assert_type(book.best_ask, Optional[OrderLevel])
    assert ask is not None and (ask.price, ask.size, ask.order_count, ask.reserved) == (102 * PF, PF, 0, 0)
    assert assert_type(book.spread_bps, Optional[int]) == 98
    book.validate()

    book.set_bids([(99 * PF, PF)], truncate=False)
    book.set_asks(book.asks)                         # another side is a valid source
    book.add_bid(100 * PF, PF)
    book.add_ask(104 * PF, PF, order_count=2)
    assert [lv.price for lv in book.bids] == [100 * PF, 99 * PF]
    book.clear()
    assert book.best_bid is None and book.spread_bps is None

    book.snapshot_timestamp_ns = 1
    book.sequence = 2
    book.precision_factor = 10_000
    book.asset_id = 3
    book.venue_id = 4
    book.asset_type = 5
    book.reserved = 6
    fields: List[int] = [book.snapshot_timestamp_ns, book.sequence, book.precision_factor, book.asset_id,
                         book.venue_id, book.asset_type, book.reserved]
    assert fields == [1, 2, 10_000, 3, 4, 5, 6]
    assert assert_type(book.readonly, bool) is False and assert_type(book.is_view, bool) is False
    assert assert_type(book.capacity, int) == MAX_ORDER_LEVELS
    assert assert_type(book.nbytes, int) == ORDER_BOOK_SIZE

    book.instrument = InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    instrument = assert_type(book.instrument, InstrumentId)
    assert (book.venue_id, book.asset_type) == (100, 51) and instrument.symbol == "BTCUSDT"
    assert "Binance Coin BTCUSDT" in repr(book)

    ins = OrderBook()
    for price in (100, 102, 100, 101):
        ins.add_bid(price, price)
    assert ins.bids.tuples() == [(102, 102, 0, 0), (101, 101, 0, 0), (100, 100, 0, 0), (100, 100, 0, 0)]


def capacities() -> None:
    small = OrderBook([(101 * PF, PF)], [(102 * PF, PF)], capacity=50, sequence=3)
    assert (small.capacity, small.nbytes) == (50, 2456)
    raw = bytes(small)
    assert OrderBook.from_bytes(raw, capacity=50) == small
    with OrderBook.view(raw, 0, capacity=50) as view:
        assert view.capacity == 50 and view.sequence == 3
    data = encode_message(small, timestamp_ns=0)
    assert len(data) == message_size(50)
    target = OrderBook()                             # capacity 128: takes the message's
    assert decode_message(data, into=target).capacity == 50
    wrong = raises(LayoutError, lambda: decode_message(data, into=OrderBook.view(bytearray(ORDER_BOOK_SIZE))))
    assert "capacity-50" in str(wrong)
    snap = OrderBook.from_snapshot([["1.01", "1"]], [["1.02", "1"]], capacity=50, snapshot_timestamp_ns=9)
    assert (snap.capacity, snap.snapshot_timestamp_ns) == (50, 9)
    over = raises(CapacityError, lambda: OrderBook([(PF, PF)] * 51, capacity=50))
    assert (over.capacity, over.attempted) == (50, 51)
    assert len(OrderBook([(1000 - i, 1) for i in range(60)], capacity=50, truncate=True).bids) == 50
    raises(CapacityError, lambda: book_size(64))


def identifiers() -> None:
    # IntEnums with upstream's numbers.  (mypy's strict equality refuses
    # `VenueId.BINANCE == 100`, two literals: compare as ints.)
    venue: VenueId = VenueId.BINANCE
    assert int(venue) == 100 and assert_type(venue.upstream_name, str) == "Binance"
    assert [int(AssetType.COIN), int(SourceType.BINANCE_COLLECTOR), int(RelayDomain.MARKET_DATA)] == [51, 1, 0]
    assert SourceType.BINANCE_COLLECTOR.upstream_name == "BinanceCollector"
    assert RelayDomain.SYSTEM.upstream_name == "System" and len(RelayDomain) == 4
    btc = assert_type(InstrumentId.coin(VenueId.BINANCE, "BTCUSDT"), InstrumentId)
    assert btc == (int.from_bytes(b"BTCUSDT\0", "big"), 100, 51, 0)
    asset_id: int = btc.asset_id
    assert asset_id == btc[0] and btc.venue == VenueId.BINANCE and btc.asset_type == AssetType.COIN
    assert btc.reserved == 0 and assert_type(btc.symbol, Optional[str]) == "BTCUSDT"
    assert (btc.venue_name, btc.asset_type_name) == ("Binance", "Coin")
    assert assert_type(btc.describe(), str) == str(btc) == "Binance Coin BTCUSDT"
    assert InstrumentId.stock(VenueId.NASDAQ, "AAPL").asset_type == AssetType.STOCK
    assert InstrumentId.bond(VenueId.NYSE, "US10Y").asset_type == AssetType.BOND
    usdc = InstrumentId.ethereum_token("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
    assert usdc.asset_id == 0xa0b86991c6218b36 and usdc.venue == VenueId.ETHEREUM
    for make, chain in ((InstrumentId.polygon_token, VenueId.POLYGON),
                        (InstrumentId.bsc_token, VenueId.BINANCE_SMART_CHAIN),
                        (InstrumentId.arbitrum_token, VenueId.ARBITRUM)):
        assert make("0x" + "ab" * 20).venue == chain
    bad = raises(IdentifierError, lambda: InstrumentId.ethereum_token("0x12"))
    assert isinstance(bad, ValueError)
    assert InstrumentId(5, 999, 77, 0).venue == 999
    raises(FieldRangeError, lambda: InstrumentId(1, 1 << 16, 1))
    assert (venue_name(101), source_name(3), relay_domain_name(1)) == ("Kraken", "KrakenCollector", "Signal")
    assert describe_instrument(btc.asset_id, 100, 51) == "Binance Coin BTCUSDT"


def sides() -> None:
    book = make_book()
    bids = assert_type(book.bids, Levels)
    assert assert_type(bids.name, Literal["bids", "asks"]) == "bids" and bids.book is book
    assert assert_type(len(bids), int) == 2
    assert assert_type(bids[0], OrderLevel) == OrderLevel(101 * PF, 2 * PF, 3, 0)
    assert assert_type(bids[-1], OrderLevel).price == 100 * PF
    assert assert_type(bids[:1], List[OrderLevel]) == [bids[0]]
    assert assert_type(bids.tolist(), List[OrderLevel]) == list(bids)
    it = assert_type(iter(bids), Iterator[OrderLevel])
    assert next(it).order_count == 3
    assert bids == [(101 * PF, 2 * PF, 3, 0), (100 * PF, 5 * PF, 0, 0)]
    with memoryview(bids) as mv:
        assert mv.shape == (2,) and mv.itemsize == ORDER_LEVEL_SIZE
    try:
        import numpy as np
    except ImportError:
        return
    arr = bids.to_numpy()
    assert arr.dtype == level_dtype() == orderbook.LEVEL_DTYPE
    assert int(arr["price"][0]) == 101 * PF
    del arr
    book.set_asks(np.array([[102 * PF, PF], [103 * PF, PF]], dtype=np.int64))
    assert len(book.asks) == 2


def bytes_and_views() -> None:
    book = make_book()
    raw = assert_type(bytes(book), bytes)
    assert raw == book.to_bytes() and len(raw) == ORDER_BOOK_SIZE
    with memoryview(book) as mv:
        assert mv.nbytes == ORDER_BOOK_SIZE

    buf = bytearray(ORDER_BOOK_SIZE + 3)
    book.pack_into(buf, 3)
    copied: OrderBook = OrderBook.from_bytes(buf, 3, strict=True)
    assert copied == book
    other = OrderBook()
    other.load_from(raw, 0, strict=False)
    assert other == book

    view = OrderBook.view(buf, 3)                    # any offset, aligned or not
    assert view.is_view and view == book
    view.sequence = 99                               # writes through to buf
    assert OrderBook.from_bytes(buf, 3).sequence == 99
    view.rebind(raw)                                 # bytes: read-only
    assert view.readonly
    view.release()
    with OrderBook.view(bytearray(raw)) as scoped:
        assert assert_type(scoped, OrderBook).sequence == 7

    class Tagged(OrderBook):
        tag = "subclass"

    tagged = Tagged.from_bytes(raw)
    assert assert_type(tagged, Tagged).tag == "subclass"

    assert pickle.loads(pickle.dumps(book)) == book
    assert assert_type(copy.copy(book), OrderBook) == copy.deepcopy(book)
    assert repr(book).startswith("<OrderBook")


def messages() -> None:
    book = make_book()
    data = assert_type(encode_message(book, sequence=1, timestamp_ns=5, source=2, relay_domain=0,
                                      flags=0), bytes)
    assert len(data) == MESSAGE_SIZE
    assert len(encode_message(book)) == MESSAGE_SIZE   # timestamp_ns=None: now
    out = bytearray(MESSAGE_SIZE + 1)
    n = assert_type(encode_message_into(out, 1, book, sequence=1, timestamp_ns=5, source=2), int)
    assert n == MESSAGE_SIZE and bytes(out[1:]) == data

    msg = assert_type(decode_message(data), Message)
    header = assert_type(msg.header, MessageHeader)
    values: Dict[str, int] = header.to_dict()
    assert values["sequence"] == header.sequence == 1 and header.timestamp == 5
    assert (header.magic, header.version, header.source, header.relay_domain, header.flags) == (
        0xDEADBEEF, 1, 2, 0, 0)
    assert header.payload_size + HEADER_SIZE == msg.nbytes == MESSAGE_SIZE
    assert header.checksum == zlib.crc32(data[:28] + data[32:])
    assert assert_type(header.source_name, str) == "CoinbaseCollector"
    assert assert_type(header.relay_domain_name, str) == "MarketData"
    named = decode_message(encode_message(book, timestamp_ns=0, source=SourceType.KRAKEN_COLLECTOR,
                                          relay_domain=RelayDomain.SIGNAL)).header
    assert (named.source, named.relay_domain, named.source_name) == (3, 1, "KrakenCollector")
    assert len(bytes(header)) == HEADER_SIZE
    assert assert_type(msg.book, OrderBook) == book

    reuse = Message()
    assert assert_type(decode_message(out, 1, verify=True, into=reuse), Message) is reuse
    target = OrderBook()
    assert assert_type(decode_message(data, into=target), OrderBook) is target
    zero_copy = decode_message(data, copy=False)
    assert zero_copy.book.is_view
    zero_copy.book.release()
    assert Message(book).book is book
    assert pickle.loads(pickle.dumps(msg)) == msg

    capture = data + data
    assert [m.header.sequence for m in iter_messages(capture)] == [1, 1]
    assert len(list(iter_messages(io.BytesIO(capture), verify=True))) == 2
    assert len(list(iter_messages(memoryview(capture), copy=False, stop_on_truncated=True))) == 2
    with mmap.mmap(-1, len(capture)) as mapped:
        mapped.write(capture)
        with memoryview(mapped) as mv:
            assert len(list(iter_messages(mv))) == 2

    assert assert_type(crc32(data), int) == zlib.crc32(data)
    assert crc32(b"b", crc32(b"a")) == zlib.crc32(b"ab")
    assert assert_type(crc32_implementation(), str)


_E = TypeVar("_E", bound=BaseException)


def raises(exc: Type[_E], call: Callable[[], object]) -> _E:
    try:
        call()
    except exc as e:
        return e
    raise AssertionError(f"{exc.__name__} not raised")


def errors() -> None:
    expected: List[Type[OrderBookError]] = [
        CapacityError, ValidationError, FieldRangeError, FieldTypeError, LayoutError,
        OffsetError, ReadOnlyError, ReleasedError, ProtocolError, TruncatedError,
        ChecksumError, MagicError, VersionError, RecordError, MissingRecordError,
        DecimalError, VenueError, IdentifierError, LevelIndexError, ExportError,
    ]
    assert all(issubclass(cls, OrderBookError) for cls in expected)

    cap = raises(CapacityError, lambda: OrderBook([(PF, PF)] * (MAX_ORDER_LEVELS + 1)))
    assert (cap.capacity, cap.attempted) == (MAX_ORDER_LEVELS, MAX_ORDER_LEVELS + 1)
    bad = raises(ValidationError, OrderBook([(PF, 0)]).validate)
    side: Optional[str] = bad.side
    index: Optional[int] = bad.index
    assert (bad.rule, side, index) == ("positive_size", "bids", 0)

    def set_venue() -> None:
        OrderBook().venue_id = 1 << 16

    assert isinstance(raises(FieldRangeError, set_venue), OverflowError)
    not_ints = [("1", 1)]                            # rejected by the stubs and at run time
    wrong = raises(FieldTypeError, lambda: OrderBook(not_ints))  # type: ignore[arg-type]
    assert isinstance(wrong, TypeError)
    assert isinstance(raises(OffsetError, lambda: OrderBook.from_bytes(b"", -1)), IndexError)
    layout_error = raises(LayoutError, lambda: OrderBook.from_bytes(b"\xff" * ORDER_BOOK_SIZE))
    assert isinstance(layout_error, ValueError)
    released = OrderBook.view(bytearray(ORDER_BOOK_SIZE))
    released.release()
    raises(ReleasedError, lambda: released.sequence)
    ro = raises(ReadOnlyError, lambda: OrderBook.view(bytes(ORDER_BOOK_SIZE)).add_bid(1, 1))
    assert isinstance(ro, BufferError)
    strided = memoryview(bytes(2 * ORDER_BOOK_SIZE))[::2]
    assert isinstance(raises(ExportError, lambda: OrderBook.from_bytes(strided)), BufferError)
    pinned = OrderBook.view(bytearray(ORDER_BOOK_SIZE))
    with memoryview(pinned):
        raises(ExportError, pinned.release)         # pinned while an export is alive
        raises(ExportError, lambda: pinned.rebind(bytes(ORDER_BOOK_SIZE)))
    raises(ExportError, lambda: pinned.rebind(pinned))   # its own memory
    pinned.release()
    past_end = raises(LevelIndexError, lambda: make_book().bids[5])
    assert isinstance(past_end, IndexError)
    full = OrderBook([(1000 - i, 1) for i in range(MAX_ORDER_LEVELS)])
    assert str(raises(CapacityError, lambda: full.add_bid(1, 1))) == "add_bid: bids hold at most 128 levels, got 129"
    assert bad.upstream == "Invalid bid price or size"

    data = bytearray(encode_message(make_book(), timestamp_ns=0))
    short = raises(TruncatedError, lambda: decode_message(data[:100]))
    assert (short.offset, short.needed, short.available) == (0, MESSAGE_SIZE, 100)
    assert isinstance(short, ProtocolError)
    data[-1] ^= 1
    crc = raises(ChecksumError, lambda: decode_message(data))
    assert crc.expected != crc.found
    data[-1] ^= 1
    raises(MagicError, lambda: decode_message(b"\0" * HEADER_SIZE))
    data[5] = 9
    raises(VersionError, lambda: decode_message(data))
    data[5] = 1
    no_book = bytearray(data[:HEADER_SIZE] + bytes([1, 0]))
    no_book[24:28] = (2).to_bytes(4, "little")
    raises(MissingRecordError, lambda: decode_message(no_book, verify=False))
    no_book[HEADER_SIZE + 1] = 5                     # a record running past payload_size
    raises(RecordError, lambda: decode_message(no_book, verify=False))


def decimals() -> None:
    book = OrderBook.from_snapshot([["27012.45", "0.251", 3]], [["27012.46", b"1"]], sequence=5,
                                   rounding=None, truncate=False)
    assert assert_type(book, OrderBook).best_bid == (2_701_245_000_000, 25_100_000, 3, 0)
    book.set_bids_from_strings([["27012.40", Decimal("2")]], rounding="half_even")
    book.set_asks_from_strings([("27012.5", 1)], sort=True)
    snap = assert_type(book.to_snapshot(strip_zeros=True), Dict[str, List[List[Any]]])
    assert snap == {"bids": [["27012.4", "2"]], "asks": [["27012.5", "1"]]}
    assert to_snapshot(book) == book.to_snapshot()
    assert assert_type(to_fixed("0.25100000"), int) == 25_100_000
    assert assert_type(format_fixed(25_100_000, PF, strip_zeros=True), str) == "0.251"
    assert assert_type(to_decimal(25_100_000), Decimal) == Decimal("0.251")
    assert isinstance(raises(DecimalError, lambda: to_fixed("1e5")), ValueError)
    assert isinstance(raises(VenueError, lambda: from_binance([])), ValueError)
    depth = {"lastUpdateId": 9, "bids": [["1.5", "1"]], "asks": [["2", "1"]]}
    assert assert_type(from_binance(depth), OrderBook).sequence == 9
    venue_book = from_binance(depth, symbol="BTCUSDT", capacity=50)
    assert venue_book.capacity == 50 and venue_book.instrument == InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    assert assert_type(default_source(venue_book), SourceType) is SourceType.BINANCE_COLLECTOR
    assert from_venue(None, depth).venue_id == VenueId.BINANCE


def streams_and_captures() -> None:
    wire = b"".join(encode_message(OrderBook([(5 + i, 1)], capacity=50), sequence=i, timestamp_ns=1)
                    for i in range(3))
    reader = MessageReader(into=Message(), resync=True)
    reader.feed(wire[:100])
    assert list(reader) == []
    reader.feed(wire[100:])
    assert [m.header.sequence for m in reader] == [0, 1, 2]
    assert assert_type(reader.skipped_bytes, int) == 0
    capture = Capture(wire)
    assert assert_type(len(capture), int) == 3
    books = capture.books()
    assert books.dtype == book_dtype(50) and books["sequence"].tolist() == [0, 0, 0]
    assert message_dtype(50).itemsize == orderbook.message_size(50)
    assert header_dtype().itemsize == orderbook.HEADER_SIZE
    if importlib.util.find_spec("pyarrow") is not None:       # the arrow extra
        assert to_arrow(capture).num_rows == 3
    capture.close()


def main() -> None:
    for step in (constants, build_and_read, capacities, identifiers, sides, bytes_and_views, messages,
                 errors, decimals, streams_and_captures):
        step()
    print("typing_api: every public call ran as typed")


if __name__ == "__main__":
    main()
