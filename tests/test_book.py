"""The OrderBook class: construction, capacity, sorted insert, validation,
range checks, bad bytes, deterministic output and the Python protocols."""

import copy
import pickle
import re
import struct

import pytest

import orderbook
from orderbook import (
    CapacityError, FieldRangeError, FieldTypeError, LayoutError, OrderBook, OrderBookError,
    OrderLevel, TruncatedError, ValidationError,
)

CAP = orderbook.MAX_ORDER_LEVELS
BIDS_AT = orderbook.layout()["OrderBookTLV"]["bids"]
ASKS_AT = orderbook.layout()["OrderBookTLV"]["asks"]


def bids(n, top=1_000_000):
    return [(top - i, 10 + i, i % 7) for i in range(n)]


def asks(n, bottom=1_000_001):
    return [(bottom + i, 20 + i, i % 5) for i in range(n)]


# --- construction -------------------------------------------------------------

def test_defaults():
    book = OrderBook()
    assert (book.snapshot_timestamp_ns, book.sequence, book.precision_factor) == (0, 0, 100_000_000)
    assert (book.asset_id, book.venue_id, book.asset_type, book.reserved) == (0, 0, 0, 0)
    assert len(book.bids) == len(book.asks) == 0
    assert book.best_bid is None and book.best_ask is None and book.spread_bps is None
    assert bytes(book) == bytes(16) + (100_000_000).to_bytes(8, "little") + bytes(6200 - 24)


def test_levels_from_tuples_lists_orderlevels_and_generators():
    expected = [OrderLevel(100, 5, 0, 0), OrderLevel(99, 6, 2, 0), OrderLevel(98, 7, 3, 9)]
    for given in (
        [(100, 5), (99, 6, 2), (98, 7, 3, 9)],
        [[100, 5], [99, 6, 2], [98, 7, 3, 9]],
        [OrderLevel(100, 5), OrderLevel(99, 6, 2), OrderLevel(98, 7, 3, 9)],
        (x for x in [(100, 5), (99, 6, 2), (98, 7, 3, 9)]),
    ):
        assert OrderBook(given).bids.tolist() == expected


def test_levels_from_numpy_arrays():
    np = pytest.importorskip("numpy")
    arr = np.array([[100, 5, 1], [99, 6, 2]], dtype=np.int64)
    book = OrderBook(arr, arr[:, :2] + 10)
    assert book.bids.tolist() == [(100, 5, 1, 0), (99, 6, 2, 0)]
    assert book.asks.tolist() == [(110, 15, 0, 0), (109, 16, 0, 0)]
    rec = np.zeros(2, dtype=orderbook.LEVEL_DTYPE)
    rec["price"] = [7, 8]
    rec["size"] = [1, 2]
    rec["order_count"] = [3, 4]
    book.set_asks(rec)
    assert book.asks.tolist() == [(7, 1, 3, 0), (8, 2, 4, 0)]
    # strided (non-contiguous) input works too
    book.set_bids(np.arange(24, dtype=np.int64).reshape(4, 6)[::2, ::2])
    assert book.bids.tolist() == [(0, 2, 4, 0), (12, 14, 16, 0)]
    # another book's side is a valid source (copied)
    other = OrderBook(asks=book.bids)
    assert other.asks.tolist() == book.bids.tolist()


def test_numpy_arrays_outside_the_fast_path_still_read_right():
    np = pytest.importorskip("numpy")
    # an equal dtype that is not the LEVEL_DTYPE object goes through the buffer protocol
    rec = np.zeros(2, dtype=np.dtype(orderbook.LEVEL_DTYPE.descr))
    rec["price"] = [9, 8]
    rec["size"] = 1
    assert OrderBook(rec).bids.tolist() == [(9, 1, 0, 0), (8, 1, 0, 0)]
    # a read-only, offset, unaligned int64 array
    raw = bytearray(8 * 4 + 1)
    arr = np.frombuffer(bytes(raw), dtype=np.int64, count=4, offset=1).reshape(2, 2)
    assert OrderBook(arr).bids.tolist() == [(0, 0, 0, 0), (0, 0, 0, 0)]
    with pytest.raises(FieldTypeError, match="got a buffer of format '>q'"):
        OrderBook(np.zeros((2, 2), dtype=">i8"))


@pytest.mark.parametrize("bad, message", [
    ("np.zeros((2, 5), np.int64)", "expected an (n, 2..4) int64 array or LEVEL_DTYPE records"),
    ("np.zeros((2, 2), np.float64)", "got a buffer of format 'd'"),
    ("np.zeros((2, 2), np.int32)", "itemsize 4"),
    ("np.array([[1, 2, -1]], np.int64)", "bids[0].order_count must be in 0..4294967295, got -1"),
])
def test_bad_numpy_arrays(bad, message):
    np = pytest.importorskip("numpy")
    with pytest.raises(OrderBookError, match=re.escape(message)):
        OrderBook(eval(bad, {"np": np}))


def test_header_fields_in_constructor():
    book = OrderBook(snapshot_timestamp_ns=2**64 - 1, sequence=5, precision_factor=-3, asset_id=2**63,
                     venue_id=65535, asset_type=255, reserved=7)
    assert (book.snapshot_timestamp_ns, book.sequence, book.precision_factor, book.asset_id,
            book.venue_id, book.asset_type, book.reserved) == (2**64 - 1, 5, -3, 2**63, 65535, 255, 7)


# --- capacity -------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 127, 128])
def test_capacity_accepts_up_to_128(n):
    book = OrderBook(bids(n), asks(n))
    assert len(book.bids) == len(book.asks) == n


@pytest.mark.parametrize("n", [0, 1, 49, 50])
def test_capacity_50_accepts_up_to_50(n):
    book = OrderBook(bids(n), asks(n), capacity=50)
    assert len(book.bids) == len(book.asks) == n and book.capacity == 50
    assert bytes(book) == bytes(OrderBook.from_bytes(bytes(book), capacity=50))


def test_capacity_50_refuses_51_naming_its_capacity():
    with pytest.raises(CapacityError) as info:
        OrderBook(asks=asks(51), capacity=50)
    assert (info.value.capacity, info.value.attempted) == (50, 51)
    assert str(info.value) == ("asks hold at most 50 levels, got 51; "
                               "pass truncate=True to keep the best 50")
    book = OrderBook(bids(60), capacity=50, truncate=True)
    assert book.bids.tolist() == [OrderLevel(*lv) for lv in bids(50)]
    with pytest.raises(CapacityError, match="add_bid: bids hold at most 50 levels, got 51"):
        book.add_bid(1, 1)


def test_capacity_refuses_129_naming_capacity_and_attempt():
    with pytest.raises(CapacityError) as info:
        OrderBook(bids(129))
    assert info.value.capacity == 128 and info.value.attempted == 129
    assert str(info.value) == ("bids hold at most 128 levels, got 129; "
                               "pass truncate=True to keep the best 128")
    assert isinstance(info.value, ValueError)
    book = OrderBook()
    with pytest.raises(CapacityError, match="asks hold at most 128 levels, got 300"):
        book.set_asks(asks(300))


def test_truncate_keeps_the_best_128_in_order():
    book = OrderBook(bids(200), asks(129), truncate=True)
    assert book.bids.tolist() == [OrderLevel(*lv) for lv in bids(128)]
    assert book.asks.tolist() == [OrderLevel(*lv) for lv in asks(128)]
    book.set_bids(bids(500), truncate=True)
    assert len(book.bids) == 128 and book.bids[0].price == 1_000_000


def test_truncate_refuses_an_unsorted_side():
    levels = bids(130)
    levels[129], levels[5] = levels[5], levels[129]   # a better level past the cut
    with pytest.raises(ValidationError) as info:
        OrderBook(levels, truncate=True)
    assert info.value.side == "bids" and info.value.rule == "sorted"
    assert "cannot truncate bids to the best 128" in str(info.value)


def test_add_beyond_capacity():
    book = OrderBook(bids(128))
    with pytest.raises(CapacityError) as info:
        book.add_bid(1, 1)
    assert (info.value.capacity, info.value.attempted) == (128, 129)
    assert len(book.bids) == 128


# --- sorted insert -------------------------------------------------------------

def test_add_bid_keeps_descending_and_equal_prices_in_arrival_order():
    book = OrderBook()
    for price, size in [(100, 1), (102, 2), (100, 3), (101, 4), (102, 5), (99, 6)]:
        book.add_bid(price, size)
    assert [(lv.price, lv.size) for lv in book.bids] == [
        (102, 2), (102, 5), (101, 4), (100, 1), (100, 3), (99, 6)]


def test_add_ask_keeps_ascending_and_equal_prices_in_arrival_order():
    book = OrderBook()
    for price, size in [(100, 1), (98, 2), (100, 3), (99, 4), (98, 5), (101, 6)]:
        book.add_ask(price, size, 7)
    assert [(lv.price, lv.size) for lv in book.asks] == [
        (98, 2), (98, 5), (99, 4), (100, 1), (100, 3), (101, 6)]
    assert all(lv.order_count == 7 for lv in book.asks)


def test_insert_into_a_full_side_leaves_it_unchanged():
    book = OrderBook(asks=asks(128))
    before = bytes(book)
    with pytest.raises(CapacityError):
        book.add_ask(1, 1)
    assert bytes(book) == before


# --- reads ------------------------------------------------------------------------

def test_best_levels_and_spread():
    book = OrderBook([(10_000, 5, 2)], [(10_010, 7)])
    assert book.best_bid == OrderLevel(10_000, 5, 2, 0)
    assert book.best_ask == (10_010, 7, 0, 0)
    # (10010 - 10000) * 10000 / ((10000 + 10010) / 2) = 100000 / 10005 -> 9
    assert book.spread_bps == 9


@pytest.mark.parametrize("bid, ask, expected", [
    (100, 101, 100),                      # 10000 / 100 (mid truncates 100.5 -> 100)
    (100, 99, -101),                      # crossed: truncates toward zero, not floor
    (-5, 3, None),                        # mid -1: not positive
    (0, 1, None),                         # mid 0
    (2**63 - 2, 2**63 - 1, 0),            # no overflow at the i64 edge
    (1, 2**63 - 1, 19999),
])
def test_spread_bps_matches_rust_integer_arithmetic(bid, ask, expected):
    assert OrderBook([(bid, 1)], [(ask, 1)]).spread_bps == expected


def test_levels_sequence_protocol():
    book = OrderBook(bids(5))
    side = book.bids
    assert len(side) == 5 and side.name == "bids"
    assert side[0] == OrderLevel(1_000_000, 10, 0, 0)
    assert side[-1] == side[4] == OrderLevel(999_996, 14, 4, 0)
    assert side[1:3] == [side[1], side[2]]
    assert side[::-2] == [side[4], side[2], side[0]]
    assert list(side) == side.tolist() == side[:]
    assert side.tuples() == [tuple(lv) for lv in side]
    assert all(type(t) is tuple for t in side.tuples())
    extreme = OrderBook([(2**63 - 1, -2**63, 2**32 - 1, 2**32 - 1)]).bids
    assert extreme.tuples() == [(2**63 - 1, -2**63, 2**32 - 1, 2**32 - 1)] == extreme.tolist()
    assert side == bids(5)
    with pytest.raises(IndexError, match="bids index 5 out of range for 5 levels"):
        side[5]
    with pytest.raises(IndexError):
        side[-6]


# --- validate -------------------------------------------------------------------

@pytest.mark.parametrize("b, a, rule, side, index, message", [
    ([(10, 1), (0, 1)], [], "positive_price", "bids", 1, "bids[1].price must be > 0, got 0"),
    ([], [(10, 1), (11, -2)], "positive_size", "asks", 1, "asks[1].size must be > 0, got -2"),
    ([(10, 1), (9, 1), (11, 1)], [], "bids_descending", "bids", 2,
     "bids[2].price 11 is above bids[1].price 9"),
    ([], [(10, 1), (12, 1), (11, 1)], "asks_ascending", "asks", 2,
     "asks[2].price 11 is below asks[1].price 12"),
    ([(10, 1)], [(9, 1)], "crossed", None, 0, "crossed book: best ask 9 is below best bid 10"),
])
def test_validate_names_rule_and_level(b, a, rule, side, index, message):
    with pytest.raises(ValidationError) as info:
        OrderBook(b, a).validate()
    assert (info.value.rule, info.value.side, info.value.index) == (rule, side, index)
    assert str(info.value) == message


def test_validate_accepts_good_books_and_equal_prices():
    OrderBook([(10, 1), (10, 2), (9, 1)], [(10, 1), (11, 1), (11, 3)]).validate()
    OrderBook().validate()


# --- range and type checks on assignment --------------------------------------------

FIELDS = [("snapshot_timestamp_ns", 0, 2**64 - 1), ("sequence", 0, 2**64 - 1),
          ("precision_factor", -2**63, 2**63 - 1), ("asset_id", 0, 2**64 - 1),
          ("venue_id", 0, 65535), ("asset_type", 0, 255), ("reserved", 0, 255)]


@pytest.mark.parametrize("field, lo, hi", FIELDS)
def test_field_range_checks(field, lo, hi):
    book = OrderBook()
    for ok in (lo, hi):
        setattr(book, field, ok)
        assert getattr(book, field) == ok
    before = bytes(book)
    for bad in (lo - 1, hi + 1, 2**64, -1 if lo == 0 else -2**64):
        with pytest.raises(FieldRangeError) as info:
            setattr(book, field, bad)
        assert str(info.value) == f"{field} must be in {lo}..{hi}, got {bad}"
        assert isinstance(info.value, OverflowError)
    for bad in ("1", 1.0, None, True):
        with pytest.raises(FieldTypeError, match=f"{field} must be an integer, got"):
            setattr(book, field, bad)
    assert bytes(book) == before


def test_numpy_integers_are_accepted():
    np = pytest.importorskip("numpy")
    book = OrderBook(venue_id=np.uint16(7))
    book.add_bid(np.int64(5), np.int32(2))
    assert book.venue_id == 7 and book.best_bid == (5, 2, 0, 0)


@pytest.mark.parametrize("level, error, message", [
    ((2**63, 1), FieldRangeError, "bids[0].price must be in -9223372036854775808..9223372036854775807, got 9223372036854775808"),
    ((1, -2**63 - 1), FieldRangeError, "bids[0].size must be in"),
    ((1, 1, 2**32), FieldRangeError, "bids[0].order_count must be in 0..4294967295, got 4294967296"),
    ((1, 1, -1), FieldRangeError, "bids[0].order_count must be in 0..4294967295, got -1"),
    ((1, 1, 0, 2**32), FieldRangeError, "bids[0].reserved must be in 0..4294967295"),
    ((1,), FieldTypeError, "bids[0] must have 2 to 4 items"),
    ((1, 2, 3, 4, 5), FieldTypeError, "bids[0] must have 2 to 4 items (price, size[, order_count[, reserved]]), got 5"),
    ((1.5, 2), FieldTypeError, "bids[0].price must be an integer, got float 1.5"),
    (5, FieldTypeError, "bids[0] must be (price, size[, order_count[, reserved]]), got int 5"),
])
def test_bad_levels(level, error, message):
    book = OrderBook([(7, 7)])
    before = bytes(book)
    with pytest.raises(error, match=re.escape(message)):
        book.set_bids([level])
    assert bytes(book) == before   # a failed fill leaves the side as it was


def test_bad_level_containers():
    with pytest.raises(FieldTypeError, match="bids must be a sequence of levels or an array, got str"):
        OrderBook("100,1")
    with pytest.raises(TypeError):
        OrderBook(5)


# --- bad bytes ------------------------------------------------------------------

def test_buffer_too_short():
    for n in (0, 1, 6199):
        with pytest.raises(TruncatedError) as info:
            OrderBook.from_bytes(bytes(n))
        assert str(info.value) == f"from_bytes needs 6200 bytes at offset 0, the buffer has {n} (length {n})"
        assert (info.value.offset, info.value.needed, info.value.available) == (0, 6200, n)
    with pytest.raises(TruncatedError, match="OrderBook.view needs 6200 bytes at offset 5, the buffer has 6198"):
        OrderBook.view(bytes(6203), 5)
    with pytest.raises(TruncatedError, match="OrderBook.view needs 2456 bytes at offset 5, the buffer has 2451"):
        OrderBook.view(bytes(2456), 5, capacity=50)
    with pytest.raises(TruncatedError, match="load_from needs 2456 bytes at offset 0, the buffer has 2455"):
        OrderBook(capacity=50).load_from(bytes(2455))
    with pytest.raises(TruncatedError, match="at offset 7000, the buffer has 0"):
        OrderBook().load_from(bytes(6200), 7000)
    with pytest.raises(orderbook.OffsetError, match="offset must be >= 0, got -1"):
        OrderBook.from_bytes(bytes(6200), -1)


@pytest.mark.parametrize("side_at, name", [(BIDS_AT, "bids"), (ASKS_AT, "asks")])
def test_every_side_count_above_128_is_refused(side_at, name):
    data = bytearray(6200)
    book = OrderBook()
    for count in range(129, 65536):
        struct.pack_into("<H", data, side_at, count)
        with pytest.raises(LayoutError) as info:
            book.load_from(data)
        if count in (129, 65535):
            assert str(info.value) == (f"load_from: {name} count at byte offset {side_at} is {count}, "
                                       "expected at most 128")
    for parse in (OrderBook.from_bytes, OrderBook.view):
        with pytest.raises(LayoutError):
            parse(data)
    assert bytes(book) == bytes(OrderBook())   # never partially loaded


def test_strict_mode_rejects_nonzero_padding_and_unused_slots():
    good = bytes(OrderBook(bids(3)))
    OrderBook.from_bytes(good, strict=True)
    cases = {
        36: "padding byte at offset 36 is 0x01, expected 0 (strict)",
        39: "padding byte at offset 39 is 0x01, expected 0 (strict)",
        BIDS_AT + 2: f"bids padding byte at offset {BIDS_AT + 2} is 0x01, expected 0 (strict)",
        BIDS_AT + 8 + 3 * 24: f"bids slot 3 is unused (count 3) but byte offset {BIDS_AT + 8 + 72} is 0x01, expected 0 (strict)",
        ASKS_AT + 3079: f"asks slot 127 is unused (count 0) but byte offset {ASKS_AT + 3079} is 0x01, expected 0 (strict)",
        6199: "asks slot 127 is unused (count 0) but byte offset 6199 is 0x01, expected 0 (strict)",
    }
    for offset, message in cases.items():
        data = bytearray(good)
        data[offset] = 1
        assert bytes(OrderBook.from_bytes(data)) == good   # lenient by default; written back clean
        for parse, what in ((OrderBook.from_bytes, "from_bytes"), (OrderBook.view, "OrderBook.view")):
            with pytest.raises(LayoutError) as info:
                parse(data, strict=True)
            assert str(info.value) == f"{what}: {message}"


def test_strict_mode_at_capacity_50():
    good = bytes(OrderBook(bids(3), capacity=50))
    asks_at = orderbook.layout(50)["OrderBookTLV"]["asks"]
    for offset, message in {
        37: "padding byte at offset 37 is 0x01, expected 0 (strict)",
        asks_at - 1: f"bids slot 49 is unused (count 3) but byte offset {asks_at - 1} is 0x01, expected 0 (strict)",
        2455: "asks slot 49 is unused (count 0) but byte offset 2455 is 0x01, expected 0 (strict)",
    }.items():
        data = bytearray(good)
        data[offset] = 1
        OrderBook.from_bytes(data, capacity=50)
        with pytest.raises(LayoutError) as info:
            OrderBook.from_bytes(data, capacity=50, strict=True)
        assert str(info.value) == f"from_bytes: {message}"
    data = bytearray(good)
    struct.pack_into("<H", data, asks_at, 51)
    with pytest.raises(LayoutError, match=f"asks count at byte offset {asks_at} is 51, expected at most 50"):
        OrderBook.from_bytes(data, capacity=50)


# --- deterministic bytes -------------------------------------------------------------

def test_shrinking_and_clearing_zero_the_unused_slots():
    book = OrderBook(bids(128), asks(128), venue_id=3)
    book.set_bids(bids(2))
    assert bytes(book) == bytes(OrderBook(bids(2), asks(128), venue_id=3))
    book.clear()
    assert bytes(book) == bytes(OrderBook(venue_id=3))
    # a lenient load of junk padding, then a refill: the side is rewritten clean
    junk = bytearray(bytes(OrderBook(bids(3))))
    junk[BIDS_AT + 8 + 100 * 24] = 0xFF
    junk[BIDS_AT + 3] = 0xFF
    book = OrderBook.from_bytes(junk)
    book.set_bids(book.bids.tolist())
    assert bytes(book) == bytes(OrderBook(bids(3)))


def test_equal_books_give_equal_bytes():
    a = OrderBook(bids(10), asks(10), sequence=3)
    b = OrderBook(sequence=3)
    for lv in reversed(bids(10)):
        b.add_bid(*lv)
    for lv in asks(10):
        b.add_ask(*lv)
    assert a == b and bytes(a) == bytes(b)


# --- protocols ----------------------------------------------------------------------

def test_equality_is_on_content():
    a = OrderBook(bids(3), asks(2), venue_id=1)
    assert a == OrderBook(bids(3), asks(2), venue_id=1)
    assert a != OrderBook(bids(3), asks(2), venue_id=2)
    assert a != OrderBook(bids(2), asks(2), venue_id=1)
    assert a != "not a book"
    # padding junk does not make content unequal
    junk = bytearray(bytes(a))
    junk[BIDS_AT + 4] = 9
    assert OrderBook.from_bytes(junk) == a
    with pytest.raises(TypeError):
        hash(a)


def test_pickle_copy_deepcopy():
    a = OrderBook(bids(128), asks(5), snapshot_timestamp_ns=2**64 - 1, venue_id=9)
    for b in (pickle.loads(pickle.dumps(a, protocol=p)) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)):
        assert b == a and bytes(b) == bytes(a) and type(b) is OrderBook
    for b in (copy.copy(a), copy.deepcopy(a)):
        assert b == a and b is not a
        b.add_ask(1, 1)
        assert b != a


class Tagged(OrderBook):
    """A user's subclass."""


def test_subclass_round_trips_with_its_attributes():
    t = Tagged(bids(2))
    t.tag = {"feed": "x"}
    for u in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t), Tagged.from_bytes(bytes(t))):
        assert type(u) is Tagged and u == t
    assert pickle.loads(pickle.dumps(t)).tag == {"feed": "x"}
    assert copy.deepcopy(t).tag is not t.tag


def test_repr():
    btc = orderbook.InstrumentId.coin(orderbook.VenueId.BINANCE, "BTCUSDT")
    book = OrderBook([(2701245000000, 25100000)], [(2701246000000, 100000000, 3)],
                     venue_id=btc.venue, asset_id=btc.asset_id, asset_type=btc.asset_type, sequence=7)
    assert repr(book) == ("<OrderBook Binance Coin BTCUSDT seq=7 bids=1 asks=1 "
                          "best_bid=27012.45000000 x 0.25100000 best_ask=27012.46000000 x 1.00000000>")
    assert repr(OrderBook(precision_factor=3, venue_id=137, asset_id=42, asset_type=2)) == (
        "<OrderBook venue 137 Bond 0x000000000000002a seq=0 bids=0 asks=0 best_bid=None best_ask=None>")
    assert repr(OrderBook(capacity=50)).startswith("<OrderBook capacity=50 Generic ")
    assert repr(OrderBook([(-150, 1)], precision_factor=100)).endswith("best_bid=-1.50 x 0.01 best_ask=None>")
    assert repr(OrderBook([(7, 1)], precision_factor=3)).endswith("best_bid=7 x 1 best_ask=None>")


def test_errors_derive_from_the_library_base_and_builtins():
    assert issubclass(CapacityError, (OrderBookError, ValueError))
    assert issubclass(FieldRangeError, OverflowError)
    assert issubclass(orderbook.ChecksumError, orderbook.ProtocolError)
    assert issubclass(orderbook.TruncatedError, orderbook.ProtocolError)
    assert issubclass(orderbook.ReadOnlyError, BufferError)
    for err in (CapacityError("m", 128, 129), TruncatedError("m", 1, 2, 3),
                ValidationError("m", "crossed", None, 0), orderbook.ChecksumError("m", 1, 2)):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err) and again.args == err.args and vars(again) == vars(err)


@pytest.mark.parametrize("capacity", [128, 50])
def test_a_new_book_is_filled_in_place_and_a_bad_level_leaves_it_empty(capacity):
    """The constructor writes a new book's storage once (no zeroing first, no
    copy): every byte must still be defined, and a failed fill must not leave
    a half-written book behind."""
    full = [(1000 - i, i + 1, i) for i in range(capacity)]
    book = OrderBook(full[:3], full[:capacity // 2], sequence=5, capacity=capacity)
    again = OrderBook.from_bytes(bytes(book), capacity=capacity, strict=True)  # padding and unused slots zero
    assert again == book and bytes(again) == bytes(book)
    fresh = OrderBook.__new__(OrderBook)
    with pytest.raises(orderbook.FieldTypeError):
        fresh.__init__(full[:5], [(1, 2), ("x", 1)], sequence=9, capacity=capacity)
    assert bytes(fresh) == bytes(orderbook.book_size(capacity))   # all zero, as OrderBook.__new__ gives
    fresh.__init__(full, full[:1], capacity=capacity)        # and it can be filled after
    assert len(fresh.bids) == capacity and fresh.asks.tolist()[0][0] == 1000


def test_reused_storage_shows_nothing_of_the_book_before():
    """Freed book storage is kept for the next book: whatever path the next
    one takes (new, empty, __new__, from_bytes at either capacity), none of
    the old bytes may show."""
    full = [(10_000 - i, 77, 5) for i in range(128)]
    ref_empty = bytes(OrderBook())
    for _ in range(3):
        junk = [OrderBook(full, full, sequence=2**63, asset_id=2**64 - 1) for _ in range(20)]
        del junk
        assert bytes(OrderBook()) == ref_empty
        assert not any(bytes(OrderBook.__new__(OrderBook)))
        small = OrderBook.from_bytes(bytes(OrderBook([(5, 1)], [(6, 1)], capacity=50)), capacity=50)
        assert bytes(small) == bytes(OrderBook([(5, 1)], [(6, 1)], capacity=50))
        half = OrderBook(full[:3], (), capacity=50)
        assert OrderBook.from_bytes(bytes(half), capacity=50, strict=True) == half
        assert half.asks.tolist() == [] and len(bytes(half)) == orderbook.book_size(50)
