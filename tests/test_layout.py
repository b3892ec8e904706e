"""The C structs against the layout rustc produced from the upstream types, at
both capacities.  The layout.json files are copied into tests/data, so these
run without ../shared; a test checks the copies are the golden ones."""

import ctypes
import json

import pytest

import orderbook
from conftest import GOLDEN_DIRS, LAYOUTS
from orderbook import layout


def rust_layout(capacity):
    return json.loads(LAYOUTS[capacity].read_text())


@pytest.mark.parametrize("capacity", [128, 50])
def test_every_size_and_offset_matches_rust(capacity):
    ours = layout(capacity)
    theirs = rust_layout(capacity)
    assert set(ours) == set(theirs)
    for struct_name, fields in theirs.items():
        if struct_name == "MAX_ORDER_LEVELS":
            assert ours[struct_name] == fields == capacity
            continue
        assert set(ours[struct_name]) == set(fields), struct_name
        for field, value in fields.items():
            assert ours[struct_name][field] == value, f"{struct_name}.{field}"
    assert ours == theirs


@pytest.mark.parametrize("capacity", [128, 50])
def test_copies_are_the_golden_files(capacity):
    golden = GOLDEN_DIRS[capacity] / "layout.json"
    if not golden.exists():
        pytest.skip(f"golden reference bytes not found at {golden} (the ../shared checkout is absent)")
    assert json.loads(golden.read_text()) == rust_layout(capacity)


def test_upstream_field_order():
    # define_tlv! groups by width: u64 fields, then u16, then u8, then the sides
    book = layout(128)["OrderBookTLV"]
    order = sorted((v, k) for k, v in book.items() if k not in ("size", "align"))
    assert [k for _, k in order] == ["snapshot_timestamp_ns", "sequence", "precision_factor",
                                     "asset_id", "venue_id", "asset_type", "reserved", "bids", "asks"]
    # upstream's comment says bids at 36; rustc pads to the FixedVec's 8-byte alignment
    assert book["bids"] == 40


def test_constants_follow_the_structs():
    lay = {c: rust_layout(c) for c in (128, 50)}
    assert orderbook.CAPACITIES == (128, 50)
    assert orderbook.MAX_ORDER_LEVELS == 128
    assert orderbook.ORDER_LEVEL_SIZE == lay[128]["OrderLevel"]["size"] == 24
    assert orderbook.ORDER_BOOK_SIZE == lay[128]["OrderBookTLV"]["size"] == 6200
    assert orderbook.HEADER_SIZE == lay[128]["MessageHeader"]["size"] == 32
    assert orderbook.MESSAGE_SIZE == 32 + 5 + 6200 == 6237
    assert orderbook.TLV_ORDER_BOOK == 3
    for c in (128, 50):
        fixed = lay[c]["FixedVec"]
        assert fixed["size"] == fixed["elements"] + c * orderbook.ORDER_LEVEL_SIZE
        assert orderbook.book_size(c) == lay[c]["OrderBookTLV"]["size"]
        assert orderbook.message_size(c) == 32 + 5 + orderbook.book_size(c)
        assert orderbook.OrderBook(capacity=c).nbytes == orderbook.book_size(c)
    assert (orderbook.book_size(50), orderbook.message_size(50)) == (2456, 2493)
    assert orderbook.book_size() == 6200


@pytest.mark.parametrize("bad", [0, 49, 64, 129, -1, 2**70])
def test_other_capacities_are_refused(bad):
    with pytest.raises(orderbook.CapacityError, match=r"capacity must be one of \(128, 50\), got"):
        orderbook.OrderBook(capacity=bad)
    with pytest.raises(orderbook.CapacityError):
        orderbook.book_size(bad)


def test_capacity_must_be_an_integer():
    with pytest.raises(orderbook.FieldTypeError, match="capacity must be one of"):
        orderbook.OrderBook(capacity="50")
    assert orderbook.OrderBook(capacity=50.0.__int__()).capacity == 50


@pytest.mark.parametrize("capacity", [128, 50])
def test_owned_storage_is_aligned_like_the_rust_struct(capacity):
    align = rust_layout(capacity)["OrderBookTLV"]["align"]
    for _ in range(20):
        book = orderbook.OrderBook(capacity=capacity)
        with memoryview(book) as mv:
            assert mv.nbytes == orderbook.book_size(capacity)
            address = ctypes.addressof(ctypes.c_char.from_buffer(mv))
            assert address % align == 0
            del address


def test_level_dtype_matches_the_struct():
    np = pytest.importorskip("numpy")
    dt = orderbook.LEVEL_DTYPE
    for c in (128, 50):
        lv = rust_layout(c)["OrderLevel"]
        assert dt.itemsize == lv["size"]
        assert dt.names == ("price", "size", "order_count", "reserved")
        assert dt.fields["price"][1] == lv["price"]
        assert dt.fields["size"][1] == lv["size_field"]
        assert dt.fields["order_count"][1] == lv["order_count"]
        assert dt.fields["reserved"][1] == lv["reserved"]
    assert dt.fields["price"][0] == np.dtype("<i8")
    assert dt.fields["order_count"][0] == np.dtype("<u4")


def test_side_buffer_format_is_pep3118_struct():
    book = orderbook.OrderBook([(3, 1), (2, 1)], capacity=50)
    with memoryview(book.bids) as mv:
        assert mv.format == orderbook.LEVEL_FORMAT == "T{<q:price:<q:size:<I:order_count:<I:reserved:}"
        assert mv.shape == (2,)
        assert mv.strides == (24,)
        assert mv.itemsize == 24
        assert mv.nbytes == 48


@pytest.mark.parametrize("capacity", [128, 50])
def test_fields_land_at_their_offsets(capacity):
    lay = rust_layout(capacity)["OrderBookTLV"]
    book = orderbook.OrderBook([(7, 8, 9)], [(10, 11, 12)], snapshot_timestamp_ns=1, sequence=2,
                               precision_factor=3, asset_id=4, venue_id=5, asset_type=6,
                               reserved=7, capacity=capacity)
    raw = bytes(book)
    le = lambda at, n: int.from_bytes(raw[at:at + n], "little")  # noqa: E731
    assert [le(lay[f], n) for f, n in (("snapshot_timestamp_ns", 8), ("sequence", 8),
                                        ("precision_factor", 8), ("asset_id", 8), ("venue_id", 2),
                                        ("asset_type", 1), ("reserved", 1))] == [1, 2, 3, 4, 5, 6, 7]
    assert raw[36:40] == b"\0" * 4
    for side, values in (("bids", (1, 7, 8, 9, 0)), ("asks", (1, 10, 11, 12, 0))):
        at = lay[side]
        assert le(at, 2) == values[0]
        assert raw[at + 2:at + 8] == b"\0" * 6
        assert (le(at + 8, 8), le(at + 16, 8), le(at + 24, 4), le(at + 28, 4)) == values[1:]
