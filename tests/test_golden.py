"""Every golden case made by rustc from the upstream definitions, at both
capacities, decoded and encoded byte for byte through the public API only;
upstream's insertion, validation and spread; and what upstream's own tests
assert for these types."""

import io
import json

import pytest

import orderbook
from conftest import BOOK_FIELDS, GOLDEN_DIRS, Case
from orderbook import (
    CapacityError, OrderBook, OrderLevel, ValidationError, decode_message, encode_message,
    iter_messages,
)


def assert_book_equals_json(book, values, capacity):
    assert book.capacity == capacity
    for field in BOOK_FIELDS:
        assert getattr(book, field) == values[field], field
    for side in ("bids", "asks"):
        levels = getattr(book, side)
        assert len(levels) == len(values[side])
        assert [list(lv) for lv in levels] == values[side]
        assert all(isinstance(lv, OrderLevel) for lv in levels)


def build(case):
    return OrderBook(case.values["bids"], case.values["asks"], capacity=case.capacity,
                     **case.header_fields)


# --- books -------------------------------------------------------------------------------

def test_payload_decodes_to_json_values(case):
    assert len(case.payload) == orderbook.book_size(case.capacity)
    assert_book_equals_json(OrderBook.from_bytes(case.payload, capacity=case.capacity), case.values,
                            case.capacity)
    assert_book_equals_json(OrderBook.view(case.payload, capacity=case.capacity), case.values,
                            case.capacity)
    book = OrderBook(capacity=case.capacity)
    book.load_from(case.payload)
    assert_book_equals_json(book, case.values, case.capacity)


def test_json_values_encode_to_payload(case):
    book = build(case)
    assert bytes(book) == case.payload
    assert memoryview(book).tobytes() == case.payload
    out = bytearray(len(case.payload) + 3)
    book.pack_into(out, 3)
    assert bytes(out[3:]) == case.payload


def test_sorted_insertion_builds_the_payload(case):
    # best first, each level goes after the ones of equal price: the given order
    book = OrderBook(capacity=case.capacity, **case.header_fields)
    for lv in case.values["bids"]:
        book.add_bid(lv[0], lv[1], lv[2])
    for lv in case.values["asks"]:
        book.add_ask(lv[0], lv[1], lv[2])
    assert bytes(book) == case.payload


def test_payload_round_trips_strictly(case):
    # writers zero every padding byte and unused slot: strict parsing accepts rustc's bytes
    book = OrderBook.from_bytes(case.payload, capacity=case.capacity, strict=True)
    assert bytes(book) == case.payload


def test_wrong_capacity_is_refused(case):
    other = 50 if case.capacity == 128 else 128
    if case.capacity == 50:
        with pytest.raises(orderbook.TruncatedError, match="needs 6200 bytes"):
            OrderBook.from_bytes(case.payload, capacity=other)


# --- messages ----------------------------------------------------------------------------

def test_message_decodes_to_json_values(case):
    msg = decode_message(case.message)
    expected_header = dict(case.values["message"], magic=0xDEADBEEF)
    assert msg.header.to_dict() == expected_header
    assert msg.nbytes == len(case.message) == orderbook.message_size(case.capacity)
    assert_book_equals_json(msg.book, case.values, case.capacity)


def test_json_values_encode_to_message(case):
    assert encode_message(build(case), **case.message_kwargs) == case.message
    size = orderbook.message_size(case.capacity)
    out = bytearray(size + 11)
    n = orderbook.encode_message_into(out, 11, build(case), **case.message_kwargs)
    assert n == size
    assert bytes(out[11:]) == case.message


def test_view_at_offset_37_of_message_reads_every_field(case):
    # the book inside a message starts at 37: not 8-aligned
    view = OrderBook.view(case.message, 37, capacity=case.capacity)
    assert view.readonly and view.is_view
    assert_book_equals_json(view, case.values, case.capacity)
    assert bytes(view) == case.payload
    assert view == OrderBook.from_bytes(case.payload, capacity=case.capacity)
    view.release()


def test_decode_into_reused_objects(case):
    msg = orderbook.Message()
    assert decode_message(case.message, into=msg) is msg
    assert_book_equals_json(msg.book, case.values, case.capacity)
    book = OrderBook()
    assert decode_message(case.message, into=book) is book
    assert_book_equals_json(book, case.values, case.capacity)
    view_msg = decode_message(case.message, copy=False)
    assert view_msg.book.is_view
    assert_book_equals_json(view_msg.book, case.values, case.capacity)


def test_every_single_bit_flip_is_rejected(case):
    data = bytearray(case.message)
    for i in range(len(data)):
        for bit in range(8):
            data[i] ^= 1 << bit
            with pytest.raises(orderbook.OrderBookError):
                decode_message(data)
            data[i] ^= 1 << bit
    decode_message(data)  # restored: decodes again


def test_capture_of_every_case_of_both_capacities(all_cases, tmp_path):
    # interleaved, so that consecutive messages change capacity
    ordered = sorted(all_cases, key=lambda c: (c.name, c.capacity))
    capture = b"".join(c.message for c in ordered)
    path = tmp_path / "capture.bin"
    path.write_bytes(capture)
    for source in (capture, bytearray(capture), memoryview(capture), io.BytesIO(capture)):
        got = list(iter_messages(source))
        assert len(got) == len(ordered)
        for msg, c in zip(got, ordered):
            assert_book_equals_json(msg.book, c.values, c.capacity)
            assert msg.header.to_dict() == dict(c.values["message"], magic=0xDEADBEEF)
    with open(path, "rb") as f:
        assert [m.book.capacity for m in iter_messages(f)] == [c.capacity for c in ordered]
    # one Message reused across capacities
    msg = orderbook.Message()
    pos = 0
    for c in ordered:
        decode_message(capture, pos, into=msg)
        assert_book_equals_json(msg.book, c.values, c.capacity)
        pos += msg.nbytes


# --- upstream semantics -----------------------------------------------------------------

def test_validate_agrees_with_upstream(case):
    book = build(case)
    if case.values["validate"] == "ok":
        book.validate()
    else:
        with pytest.raises(ValidationError) as info:
            book.validate()
        assert info.value.upstream == case.values["validate"]


def test_spread_bps_agrees_with_upstream(case):
    assert build(case).spread_bps == case.values["spread_bps"]


@pytest.mark.parametrize("capacity", sorted(GOLDEN_DIRS))
def test_inserted_ops_replay_exactly(capacity, golden_dir):
    c = Case(capacity, "inserted")
    book = OrderBook(capacity=capacity, **c.header_fields)
    refused = 0
    for side, price, size, count, result in c.values["ops"]:
        add = book.add_bid if side == "bid" else book.add_ask
        before = bytes(book)
        if result == "ok":
            add(price, size, count)
        else:
            _, cap, attempted = result.split()
            with pytest.raises(CapacityError) as info:
                add(price, size, count)
            assert (info.value.capacity, info.value.attempted) == (int(cap), int(attempted))
            assert str(info.value) == (
                f"add_{side}: {side}s hold at most {cap} levels, got {attempted}")
            assert bytes(book) == before          # a refused call changes nothing
            refused += 1
    assert refused > 0
    assert bytes(book) == c.payload
    assert encode_message(book, **c.message_kwargs) == c.message


@pytest.mark.parametrize("capacity", sorted(GOLDEN_DIRS))
def test_dirty_padding_is_ignored_unless_strict(capacity, golden_dir):
    folder = GOLDEN_DIRS[capacity]
    top = Case(capacity, "top10")
    dirty = (folder / "top10.dirty_padding.payload.bin").read_bytes()
    dirty_msg = (folder / "top10.dirty_padding.message.bin").read_bytes()
    assert dirty[36:40] == b"\xa5" * 4 and dirty != top.payload
    for book in (OrderBook.from_bytes(dirty, capacity=capacity),
                 OrderBook.view(dirty, capacity=capacity),
                 decode_message(dirty_msg).book,
                 decode_message(dirty_msg, copy=False).book,
                 next(iter(iter_messages(dirty_msg))).book):
        assert_book_equals_json(book, top.values, capacity)
    # written back by the library, the padding is zero: copies, views and messages
    loaded = OrderBook(capacity=capacity)
    loaded.load_from(dirty)
    view = OrderBook.view(dirty, capacity=capacity)
    assert memoryview(view).tobytes() == dirty            # the view shows its buffer as it is
    for book in (loaded, OrderBook.from_bytes(dirty, capacity=capacity), view,
                 decode_message(dirty_msg).book, decode_message(dirty_msg, copy=False).book):
        assert bytes(book) == top.payload
        out = bytearray(len(dirty))
        book.pack_into(out)
        assert out == top.payload
        assert encode_message(book, **top.message_kwargs) == top.message
    for strict_call in (lambda: OrderBook.from_bytes(dirty, capacity=capacity, strict=True),
                        lambda: OrderBook.view(dirty, capacity=capacity, strict=True),
                        lambda: OrderBook(capacity=capacity).load_from(dirty, strict=True)):
        with pytest.raises(orderbook.LayoutError, match="padding byte at offset 36 is 0xa5, expected 0"):
            strict_call()


# --- ported from upstream's own tests ---------------------------------------------------

@pytest.mark.parametrize("capacity", [128, 50])
def test_header_is_32_bytes_and_starts_with_the_magic(capacity):
    msg = encode_message(OrderBook([(2, 1)], [(3, 1)], capacity=capacity), sequence=1, timestamp_ns=5)
    assert orderbook.HEADER_SIZE == 32
    assert msg[:4] == bytes.fromhex("EFBEADDE")
    assert len(msg) == 32 + 5 + orderbook.book_size(capacity)
    assert msg[32:37] == bytes([255, 0, 3]) + orderbook.book_size(capacity).to_bytes(2, "little")


@pytest.mark.parametrize("capacity", [128, 50])
def test_flipped_checksum_byte_is_a_checksum_error(capacity):
    msg = bytearray(encode_message(OrderBook([(2, 1)], capacity=capacity), timestamp_ns=1))
    msg[28] ^= 0xFF
    with pytest.raises(orderbook.ChecksumError):
        decode_message(msg)


@pytest.mark.parametrize("capacity", [128, 50])
def test_one_past_capacity_add_bid_is_refused(capacity):
    book = OrderBook(capacity=capacity)
    for i in range(capacity):
        book.add_bid(1000 - i, 1)
    before = bytes(book)
    with pytest.raises(CapacityError) as info:
        book.add_bid(1, 1)
    assert (info.value.capacity, info.value.attempted) == (capacity, capacity + 1)
    assert str(info.value) == f"add_bid: bids hold at most {capacity} levels, got {capacity + 1}"
    assert bytes(book) == before


def test_equal_prices_keep_arrival_order():
    book = OrderBook(capacity=50)
    for size in (1, 2, 3):
        book.add_bid(100, size)
        book.add_ask(200, size)
    book.add_bid(101, 9)
    book.add_ask(199, 9)
    assert [lv.size for lv in book.bids] == [9, 1, 2, 3]
    assert [lv.size for lv in book.asks] == [9, 1, 2, 3]


def test_insertion_matches_upstreams_linear_search_on_sides_in_order():
    # upstream: before the first strictly worse price, found by linear search;
    # on a side in order a binary search finds the same slot
    import random

    def upstream(levels, asks, price):
        i = next((i for i, p in enumerate(levels) if (p > price if asks else p < price)), len(levels))
        return levels[:i] + [price] + levels[i:]

    rng = random.Random(11)
    for _ in range(300):
        asks = rng.random() < 0.5
        prices = sorted((rng.randint(1, 20) for _ in range(rng.randint(0, 30))), reverse=not asks)
        book = OrderBook(asks=[(p, 1) for p in prices]) if asks else OrderBook([(p, 1) for p in prices])
        price = rng.randint(0, 21)
        (book.add_ask if asks else book.add_bid)(price, 1)
        assert [lv.price for lv in (book.asks if asks else book.bids)] == upstream(prices, asks, price)


def test_insertion_into_a_side_out_of_order_keeps_every_level():
    book = OrderBook([(5, 1), (9, 1), (3, 1)])
    book.add_bid(7, 2)
    assert sorted(lv.price for lv in book.bids) == [3, 5, 7, 9] and len(book.bids) == 4
    with pytest.raises(ValidationError):
        book.validate()
