"""Every golden case from the independent Rust program, decoded and encoded
byte for byte through the public API only."""

import pytest

import orderbook
from orderbook import OrderBook, OrderLevel, decode_message, encode_message

BOOK_FIELDS = ("timestamp_ns", "sequence", "precision_factor", "asset_id", "venue_id",
               "asset_type", "reserved")


def assert_book_equals_json(book, values):
    for field in BOOK_FIELDS:
        assert getattr(book, field) == values[field], field
    for side in ("bids", "asks"):
        levels = getattr(book, side)
        assert len(levels) == len(values[side])
        assert [list(lv) for lv in levels] == values[side]
        assert all(isinstance(lv, OrderLevel) for lv in levels)


def build(values):
    return OrderBook(values["bids"], values["asks"], **{f: values[f] for f in BOOK_FIELDS})


def test_payload_decodes_to_json_values(case):
    assert_book_equals_json(OrderBook.from_bytes(case.payload), case.values)
    assert_book_equals_json(OrderBook.view(case.payload), case.values)
    book = OrderBook()
    book.load_from(case.payload)
    assert_book_equals_json(book, case.values)


def test_json_values_encode_to_payload(case):
    book = build(case.values)
    assert bytes(book) == case.payload
    assert memoryview(book).tobytes() == case.payload
    out = bytearray(len(case.payload) + 3)
    book.pack_into(out, 3)
    assert bytes(out[3:]) == case.payload
    # and built level by level through sorted insertion
    book2 = OrderBook(**{f: case.values[f] for f in BOOK_FIELDS})
    for lv in reversed(case.values["bids"]):
        book2.add_bid(lv[0], lv[1], lv[2])
    for lv in reversed(case.values["asks"]):
        book2.add_ask(lv[0], lv[1], lv[2])
    assert bytes(book2) == case.payload


def test_payload_round_trips_strictly(case):
    # writers zero every padding byte and unused slot: strict parsing accepts the Rust bytes
    assert bytes(OrderBook.from_bytes(case.payload, strict=True)) == case.payload


def test_message_decodes_to_json_values(case):
    msg = decode_message(case.message)
    expected_header = dict(case.values["message"], magic=0xDEADBEEF)
    assert msg.header.to_dict() == expected_header
    assert msg.nbytes == len(case.message) == orderbook.MESSAGE_SIZE
    assert_book_equals_json(msg.book, case.values)


def test_json_values_encode_to_message(case):
    assert encode_message(build(case.values), **case.message_kwargs) == case.message
    out = bytearray(orderbook.MESSAGE_SIZE + 11)
    n = orderbook.encode_message_into(out, 11, build(case.values), **case.message_kwargs)
    assert n == orderbook.MESSAGE_SIZE
    assert bytes(out[11:]) == case.message


def test_view_at_offset_37_of_message_reads_every_field(case):
    # the book inside a message starts at 37: not 8-aligned
    view = OrderBook.view(case.message, 37)
    assert view.readonly and view.is_view
    assert_book_equals_json(view, case.values)
    assert bytes(view) == case.payload
    assert view == OrderBook.from_bytes(case.payload)
    view.release()


def test_decode_into_reused_objects(case):
    msg = orderbook.Message()
    assert decode_message(case.message, into=msg) is msg
    assert_book_equals_json(msg.book, case.values)
    book = OrderBook()
    assert decode_message(case.message, into=book) is book
    assert_book_equals_json(book, case.values)
    view_msg = decode_message(case.message, copy=False)
    assert view_msg.book.is_view
    assert_book_equals_json(view_msg.book, case.values)


def test_every_single_bit_flip_is_rejected(case):
    data = bytearray(case.message)
    for i in range(len(data)):
        for bit in range(8):
            data[i] ^= 1 << bit
            with pytest.raises(orderbook.OrderBookError):
                decode_message(data)
            data[i] ^= 1 << bit
    decode_message(data)  # restored: decodes again
