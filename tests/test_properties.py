"""Property tests (hypothesis) against the pure-Python reference in
fuzz/obfuzz/reference.py.

* Any book built from random levels (depths 0..128, full i64 / u32 / u64
  ranges) round-trips, field by field, through bytes, from_bytes, view,
  load_from, pack_into at any offset, pickle and a full message.
* add_bid / add_ask in random order equal a sorted bulk build.
* validate(), best_bid / best_ask and spread_bps agree with the reference.
* strict parsing rejects exactly the nonzero padding and unused-slot bytes,
  naming the first one; the default accepts them, as the Rust side does.

Deterministic (derandomized, no example database) so CI runs the same
examples every time; OB_HYPOTHESIS_EXAMPLES scales the example count.
"""

from __future__ import annotations

import os
import pickle
import random
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orderbook
from orderbook import (
    CapacityError, LayoutError, Message, OrderBook, ValidationError, decode_message,
    encode_message, encode_message_into,
)

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
if str(FUZZ) not in sys.path:
    sys.path.append(str(FUZZ))      # appended: never shadows the orderbook under test
from obfuzz import reference as ref  # noqa: E402

EXAMPLES = int(os.environ.get("OB_HYPOTHESIS_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
CAP = orderbook.MAX_ORDER_LEVELS

I64 = st.integers(-2**63, 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)
U32 = st.integers(0, 2**32 - 1)
U16 = st.integers(0, 2**16 - 1)
U8 = st.integers(0, 2**8 - 1)


def _edge(strategy, lo: int, hi: int):
    """Mostly `strategy`, often the range's ends, 0 and 1."""
    return st.one_of(strategy, st.sampled_from([lo, lo + 1, 0, 1, hi - 1, hi]))


I64E = _edge(I64, -2**63, 2**63 - 1)
U32E = _edge(U32, 0, 2**32 - 1)
U64E = _edge(U64, 0, 2**64 - 1)


@st.composite
def sides(draw, depth=st.integers(0, CAP)):
    """A side of exactly `depth` levels with full-range fields.  The first few
    levels come from hypothesis (shrinkable); the rest from a drawn seed, so
    a full 128-level side does not exhaust hypothesis' buffer."""
    n = draw(depth)
    head = draw(st.lists(st.tuples(I64E, I64E, U32E, U32E), min_size=min(n, 8), max_size=min(n, 8)))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    tail = [(rng.randint(-2**63, 2**63 - 1), rng.randint(-2**63, 2**63 - 1),
             rng.randint(0, 2**32 - 1), rng.choice((0, rng.randint(0, 2**32 - 1))))
            for _ in range(n - len(head))]
    return head + tail


HEADER = st.fixed_dictionaries({
    "snapshot_timestamp_ns": U64E, "sequence": U64E, "precision_factor": I64E, "asset_id": U64E,
    "venue_id": U16, "asset_type": U8, "reserved": U8,
})
MESSAGE = st.fixed_dictionaries({
    "sequence": U64E, "timestamp_ns": U64E, "source": U8, "relay_domain": U8, "flags": U8,
})


def expected_book(fields: Dict[str, int], bids: List[tuple], asks: List[tuple]) -> Dict[str, Any]:
    return dict(fields, bids=[tuple(lv) + (0,) * (4 - len(lv)) for lv in bids],
                asks=[tuple(lv) + (0,) * (4 - len(lv)) for lv in asks])


def assert_fields(book: OrderBook, expected: Dict[str, Any], what: str) -> None:
    """Field by field, so a failure names the field."""
    for name in ref.BOOK_FIELDS:
        assert getattr(book, name) == expected[name], f"{what}: {name}"
    assert book.capacity == expected.get("capacity", CAP), f"{what}: capacity"
    for side in ref.SIDES:
        levels = getattr(book, side)
        assert len(levels) == len(expected[side]), f"{what}: len({side})"
        for i, (got, exp) in enumerate(zip(levels, expected[side])):
            assert tuple(got) == exp, f"{what}: {side}[{i}]"
            assert (got.price, got.size, got.order_count, got.reserved) == exp, f"{what}: {side}[{i}]"


# --- round trips ---------------------------------------------------------------------

@SETTINGS
@given(fields=HEADER, bids=sides(), asks=sides(), msg=MESSAGE, offset=st.integers(0, 64))
def test_any_book_round_trips_everywhere(fields, bids, asks, msg, offset):
    round_trip(CAP, fields, bids, asks, msg, offset)


@SETTINGS
@given(fields=HEADER, bids=sides(st.integers(0, 50)), asks=sides(st.integers(0, 50)), msg=MESSAGE,
       offset=st.integers(0, 64))
def test_any_capacity_50_book_round_trips_everywhere(fields, bids, asks, msg, offset):
    round_trip(50, fields, bids, asks, msg, offset)


def round_trip(cap, fields, bids, asks, msg, offset):
    book = OrderBook(bids, asks, capacity=cap, **fields)
    exp = expected_book(dict(fields, capacity=cap), bids, asks)
    assert_fields(book, exp, "constructed")
    raw = bytes(book)
    assert raw == ref.book_bytes(exp)
    assert memoryview(book).tobytes() == raw and book.to_bytes() == raw

    assert_fields(OrderBook.from_bytes(raw, capacity=cap), exp, "from_bytes")
    assert_fields(OrderBook.from_bytes(raw, capacity=cap, strict=True), exp, "from_bytes strict")
    with OrderBook.view(raw, capacity=cap) as view:
        assert view.readonly
        assert_fields(view, exp, "view")
    dirty = OrderBook([(1, 2, 3, 4)] * cap, [(5, 6, 7, 8)] * cap, sequence=99, venue_id=1, capacity=cap)
    dirty.load_from(raw)
    assert_fields(dirty, exp, "load_from over a full book")
    assert bytes(dirty) == raw

    buf = bytearray(b"\xcc" * (offset + ref.book_size(cap) + 3))
    book.pack_into(buf, offset)
    assert buf[:offset] == b"\xcc" * offset and buf[-3:] == b"\xcc" * 3
    view = OrderBook.view(buf, offset, strict=True, capacity=cap)     # unaligned for most offsets
    assert_fields(view, exp, f"view at offset {offset}")
    assert_fields(OrderBook.from_bytes(buf, offset, capacity=cap), exp, f"from_bytes at offset {offset}")
    view.release()

    for proto in (2, pickle.HIGHEST_PROTOCOL):
        clone = pickle.loads(pickle.dumps(book, protocol=proto))
        assert_fields(clone, exp, f"pickle protocol {proto}")
        assert clone == book and bytes(clone) == raw

    wire = encode_message(book, **msg)
    assert len(wire) == orderbook.message_size(cap)
    expect_wire = ref.encode_message(exp, sequence=msg["sequence"], timestamp=msg["timestamp_ns"],
                                     source=msg["source"], relay_domain=msg["relay_domain"],
                                     flags=msg["flags"])
    assert wire == expect_wire
    out = bytearray(offset + len(wire))
    assert encode_message_into(out, offset, book, **msg) == len(wire)
    assert bytes(out[offset:]) == wire
    for decoded in (decode_message(wire), decode_message(out, offset),
                    decode_message(wire, copy=False), decode_message(wire, into=Message())):
        header = decoded.header
        assert (header.sequence, header.timestamp, header.source, header.relay_domain,
                header.flags) == (msg["sequence"], msg["timestamp_ns"], msg["source"],
                                  msg["relay_domain"], msg["flags"])
        assert header.payload_size == 5 + ref.book_size(cap) and header.magic == ref.MAGIC
        assert_fields(decoded.book, exp, "message")
    into = OrderBook()            # an owning book takes the message's capacity
    assert decode_message(wire, into=into) is into and into.capacity == cap
    assert_fields(into, exp, "decode into a book")


@SETTINGS
@given(bids=sides(st.integers(CAP - 2, CAP)), asks=sides(st.just(CAP)))
def test_full_depth_sides_round_trip(bids, asks):
    book = OrderBook(bids, asks)
    exp = expected_book(ref.empty_book(), bids, asks)
    assert_fields(OrderBook.from_bytes(encode_message(book, timestamp_ns=0), 37), exp, "full depth")
    np = pytest.importorskip("numpy")
    arr = book.bids.to_numpy()
    assert arr.tolist() == exp["bids"]
    again = OrderBook(np.asarray(book.bids), np.asarray(book.asks))
    assert again == book and bytes(again) == bytes(book)


# --- sorted insertion ---------------------------------------------------------------------

PRICE = st.one_of(st.integers(-3, 3), st.integers(-10**6, 10**6), I64E)
LEVEL3 = st.tuples(PRICE, I64E, U32E)


@st.composite
def arrivals(draw, depth=st.integers(0, CAP)):
    """`depth` levels (price, size, order_count) in arrival order, with many
    equal prices: a shrinkable head, then a tail from a drawn seed."""
    n = draw(depth)
    head = draw(st.lists(LEVEL3, min_size=min(n, 6), max_size=min(n, 6)))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    span = rng.choice((3, 50, 2**63))
    tail = [(rng.randint(-span, span - 1), rng.randint(-2**63, 2**63 - 1), rng.randint(0, 2**32 - 1))
            for _ in range(n - len(head))]
    return head + tail


@SETTINGS
@given(bids=arrivals(), asks=arrivals(), data=st.data())
def test_add_in_random_order_equals_a_sorted_bulk_build(bids, asks, data):
    ops = [("bid", lv) for lv in bids] + [("ask", lv) for lv in asks]
    order = data.draw(st.permutations(ops))
    book = OrderBook()
    for side, lv in order:
        (book.add_bid if side == "bid" else book.add_ask)(*lv)
    # equal prices keep arrival order: a stable sort of the arrival sequence
    arrived_bids = [lv for side, lv in order if side == "bid"]
    arrived_asks = [lv for side, lv in order if side == "ask"]
    bulk = OrderBook(sorted(arrived_bids, key=lambda lv: -lv[0]),
                     sorted(arrived_asks, key=lambda lv: lv[0]))
    assert book == bulk
    assert bytes(book) == bytes(bulk)
    exp = expected_book(ref.empty_book(), [], [])
    for lv in arrived_bids:
        ref.insert_level(exp["bids"], False, tuple(lv) + (0,))
    for lv in arrived_asks:
        ref.insert_level(exp["asks"], True, tuple(lv) + (0,))
    assert_fields(book, exp, "reference insertion")


@SETTINGS
@given(levels=arrivals(st.just(CAP)), extra=LEVEL3, asks=st.booleans())
def test_add_to_a_full_side_is_refused_and_changes_nothing(levels, extra, asks):
    book = OrderBook()
    add = book.add_ask if asks else book.add_bid
    for lv in levels:
        add(*lv)
    before = bytes(book)
    with pytest.raises(CapacityError) as info:
        add(*extra)
    assert (info.value.capacity, info.value.attempted) == (CAP, CAP + 1)
    assert bytes(book) == before


# --- validation and derived values --------------------------------------------------

SMALL_LEVEL = st.tuples(st.integers(-2, 12), st.integers(-2, 4), U32)


@st.composite
def rule_books(draw):
    """Books that are often valid and often break exactly one rule."""
    def side(descending):
        levels = draw(st.lists(SMALL_LEVEL, max_size=12))
        if draw(st.booleans()):
            levels.sort(key=lambda lv: -lv[0] if descending else lv[0])
        return levels
    bids, asks = side(True), side(False)
    if draw(st.booleans()) and bids and asks:     # shift asks above the bids
        lift = max(lv[0] for lv in bids) - min(lv[0] for lv in asks) + draw(st.integers(-1, 2))
        asks = [(p + lift, s, c) for p, s, c in asks]
    return bids, asks


@SETTINGS
@given(book=rule_books())
def test_validate_agrees_with_the_reference_rules(book):
    bids, asks = book
    b = OrderBook(bids, asks)
    exp = expected_book(ref.empty_book(), bids, asks)
    violations = ref.validate(exp)
    if not violations:
        b.validate()
        return
    with pytest.raises(ValidationError) as info:
        b.validate()
    e = info.value
    first = violations[0]
    # the first level that breaks a rule (any rule broken there), or the crossing
    allowed = {v for v in violations if v[1:] == first[1:]} if first[0] != "crossed" else {first}
    assert (e.rule, e.side, e.index) in allowed, (str(e), violations)
    if e.side is not None:
        assert f"{e.side}[{e.index}]" in str(e)


@SETTINGS
@given(bid=st.one_of(st.integers(-5, 20), I64E), ask=st.one_of(st.integers(-5, 20), I64E),
       has_bid=st.booleans(), has_ask=st.booleans())
def test_best_levels_and_spread_agree_with_the_reference(bid, ask, has_bid, has_ask):
    bids = [(bid, 1, 1)] if has_bid else []
    asks = [(ask, 2, 2)] if has_ask else []
    b = OrderBook(bids, asks)
    exp = expected_book(ref.empty_book(), bids, asks)
    assert b.best_bid == (exp["bids"][0] if bids else None)
    assert b.best_ask == (exp["asks"][0] if asks else None)
    assert b.spread_bps == ref.spread_bps(exp)


# --- strict mode ------------------------------------------------------------------------

def _canonical(bids_count: int, asks_count: int) -> bytes:
    rng = random.Random(bids_count * 1000 + asks_count)
    def lv():
        return (rng.randint(1, 2**62), rng.randint(1, 2**62), rng.randint(1, 2**32 - 1), 0)
    return bytes(OrderBook([lv() for _ in range(bids_count)], [lv() for _ in range(asks_count)],
                           snapshot_timestamp_ns=2**64 - 1, sequence=5, asset_id=2**64 - 1, venue_id=65535,
                           asset_type=255, reserved=255))


COUNT_BYTES = {ref.BIDS_AT, ref.BIDS_AT + 1, ref.ASKS_AT, ref.ASKS_AT + 1}


@pytest.mark.parametrize("counts", [(0, 0), (3, 128), (128, 0), (1, 127), (128, 128)])
def test_strict_rejects_exactly_the_padding_and_unused_slots(counts):
    """Every one of the 6,200 bytes set nonzero in turn: strict parsing fails
    exactly on padding / unused-slot / tail bytes, naming that byte; the
    default accepts them and reads the same book."""
    canon = _canonical(*counts)
    clean = OrderBook.from_bytes(canon, strict=True)
    padding = set(ref.padding_offsets(*counts))
    for off in range(ref.BOOK_SIZE):
        if off in COUNT_BYTES:
            continue                        # changes the book itself (see the next test)
        data = bytearray(canon)
        data[off] ^= 0xA5
        if off in padding:
            for parse in (OrderBook.from_bytes, OrderBook.view):
                with pytest.raises(LayoutError) as info:
                    parse(data, strict=True)
                assert f"offset {off} is {data[off]:#04x}, expected 0" in str(info.value)
            lenient = OrderBook.from_bytes(data)
            assert lenient == clean
            with OrderBook.view(data) as view:
                assert view == clean
            assert decode_message(ref.frame_book(data)).book == clean
        else:
            strict = OrderBook.from_bytes(data, strict=True)
            assert strict != clean          # a field or a level in use changed
            if off % 97 == 0:
                exp = ref.parse_book_bytes(bytes(data), strict=True)
                assert_fields(strict, exp, f"byte {off} changed")


def test_strict_and_lenient_agree_on_counts():
    canon = bytearray(_canonical(3, 3))
    for count in (0, 1, 3, 4, 127, 128, 129, 255, 256, 65535):
        for at in (ref.BIDS_AT, ref.ASKS_AT):
            data = bytearray(canon)
            data[at:at + 2] = count.to_bytes(2, "little")
            for strict in (False, True):
                try:
                    expected = ref.parse_book_bytes(bytes(data), strict=strict)
                except ref.RefError as e:
                    assert e.kind == "LayoutError"
                    with pytest.raises(LayoutError):
                        OrderBook.from_bytes(data, strict=strict)
                    with pytest.raises(LayoutError):
                        OrderBook.view(data, strict=strict)
                    continue
                got = OrderBook.from_bytes(data, strict=strict)
                assert [tuple(x) for x in got.bids] == expected["bids"]
                assert [tuple(x) for x in got.asks] == expected["asks"]


@SETTINGS
@given(counts=st.tuples(st.integers(0, CAP), st.integers(0, CAP)), data=st.data())
def test_strict_names_the_first_dirty_byte(counts, data):
    canon = _canonical(*counts)
    padding = ref.padding_offsets(*counts)
    dirty = data.draw(st.lists(st.sampled_from(padding), min_size=1, max_size=6, unique=True))
    buf = bytearray(canon)
    for off in dirty:
        buf[off] = data.draw(st.integers(1, 255))
    first = min(dirty)
    with pytest.raises(LayoutError) as info:
        OrderBook.view(buf, strict=True)
    assert f"offset {first} is {buf[first]:#04x}" in str(info.value)
    assert OrderBook.from_bytes(buf) == OrderBook.from_bytes(canon)
