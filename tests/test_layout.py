"""The C structs against the layout rustc produced (golden/layout.json)."""

import ctypes

import pytest

import orderbook
from orderbook import layout


def test_every_size_and_offset_matches_rust(layout_json):
    ours = layout()
    assert set(ours) == set(layout_json)
    for struct_name, fields in layout_json.items():
        assert set(ours[struct_name]) == set(fields), struct_name
        for field, value in fields.items():
            assert ours[struct_name][field] == value, f"{struct_name}.{field}"


def test_constants_follow_the_structs(layout_json):
    assert orderbook.MAX_ORDER_LEVELS == 128
    assert orderbook.ORDER_LEVEL_SIZE == layout_json["OrderLevel"]["size"] == 24
    assert orderbook.ORDER_BOOK_SIZE == layout_json["OrderBookTLV"]["size"] == 6200
    assert orderbook.HEADER_SIZE == layout_json["MessageHeader"]["size"] == 32
    assert orderbook.MESSAGE_SIZE == 32 + 5 + 6200 == 6237
    assert orderbook.TLV_ORDER_BOOK == 3
    fixed = layout_json["FixedVec"]
    assert fixed["size"] == fixed["elements"] + orderbook.MAX_ORDER_LEVELS * orderbook.ORDER_LEVEL_SIZE


def test_owned_storage_is_aligned_like_the_rust_struct(layout_json):
    align = layout_json["OrderBookTLV"]["align"]
    for _ in range(20):
        book = orderbook.OrderBook()
        with memoryview(book) as mv:
            address = ctypes.addressof(ctypes.c_char.from_buffer(mv))
            assert address % align == 0
            del address


def test_level_dtype_matches_the_struct(layout_json):
    np = pytest.importorskip("numpy")
    dt = orderbook.LEVEL_DTYPE
    lv = layout_json["OrderLevel"]
    assert dt.itemsize == lv["size"]
    assert dt.names == ("price", "size", "order_count", "reserved")
    assert dt.fields["price"][1] == lv["price"]
    assert dt.fields["size"][1] == lv["size_field"]
    assert dt.fields["order_count"][1] == lv["order_count"]
    assert dt.fields["reserved"][1] == lv["reserved"]
    assert dt.fields["price"][0] == np.dtype("<i8")
    assert dt.fields["order_count"][0] == np.dtype("<u4")


def test_side_buffer_format_is_pep3118_struct():
    book = orderbook.OrderBook([(3, 1), (2, 1)])
    with memoryview(book.bids) as mv:
        assert mv.format == orderbook.LEVEL_FORMAT == "T{<q:price:<q:size:<I:order_count:<I:reserved:}"
        assert mv.shape == (2,)
        assert mv.strides == (24,)
        assert mv.itemsize == 24
        assert mv.nbytes == 48
