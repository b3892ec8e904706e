"""orderbook.dtypes: exact numpy dtypes of the wire structs, checked against both
golden layout.json copies and the golden messages."""

from __future__ import annotations

import json

import pytest

np = pytest.importorskip("numpy", reason="orderbook.dtypes needs numpy")

import orderbook
from orderbook import CapacityError
from orderbook.dtypes import (
    BOOK_FIELDS, HEADER_FIELDS, book_dtype, header_dtype, level_dtype, levels_dtype, message_dtype,
    offsets, tlv_dtype,
)

from conftest import LAYOUTS

CAPS = (128, 50)


def _golden_layout(capacity):
    return json.loads(LAYOUTS[capacity].read_text())


@pytest.mark.parametrize("capacity", CAPS)
def test_sizes_and_offsets_match_rustc(capacity):
    g = _golden_layout(capacity)
    lv, fv, ob, mh = g["OrderLevel"], g["FixedVec"], g["OrderBookTLV"], g["MessageHeader"]
    assert level_dtype().itemsize == lv["size"]
    lo = offsets(level_dtype())
    assert lo == {"price": lv["price"], "size": lv["size_field"], "order_count": lv["order_count"],
                  "reserved": lv["reserved"]}
    side = levels_dtype(capacity)
    assert side.itemsize == fv["size"]
    so = offsets(side)
    assert (so["count"], so["_padding"], so["elements"]) == (fv["count"], fv["_padding"], fv["elements"])
    assert side["elements"].shape == (g["MAX_ORDER_LEVELS"],)
    bd = book_dtype(capacity)
    assert bd.itemsize == ob["size"] == orderbook.book_size(capacity)
    bo = offsets(bd)
    for name in BOOK_FIELDS + ("bids", "asks"):
        assert bo[name] == ob[name], name
    assert bo["asks.elements"] == ob["asks"] + fv["elements"]
    assert bo["_padding"] == ob["reserved"] + 1 and bd["_padding"].shape == (ob["bids"] - ob["reserved"] - 1,)
    hd = header_dtype()
    assert hd.itemsize == mh["size"]
    ho = offsets(hd)
    for name in HEADER_FIELDS:
        assert ho[name] == mh[name], name
    md = message_dtype(capacity)
    assert md.itemsize == orderbook.message_size(capacity) == mh["size"] + 5 + ob["size"]
    mo = offsets(md)
    assert (mo["header"], mo["tlv"], mo["book"]) == (0, 32, 37)
    assert mo["tlv.marker"] == 32 and mo["tlv.type"] == 34 and mo["tlv.length"] == 35
    assert mo["book.bids.elements"] == 37 + ob["bids"] + fv["elements"]


def test_level_dtype_is_library_level_dtype():
    assert level_dtype() == orderbook.LEVEL_DTYPE


def test_types_are_explicit_little_endian():
    bd = book_dtype()
    assert bd["precision_factor"].str == "<i8"
    assert bd["snapshot_timestamp_ns"].str == "<u8"
    assert bd["venue_id"].str == "<u2"
    assert bd["bids"]["count"].str == "<u2"
    assert bd["bids"]["elements"].base["price"].str == "<i8"
    assert bd["bids"]["elements"].base["order_count"].str == "<u4"
    assert header_dtype()["magic"].str == "<u4"
    assert tlv_dtype()["length"].str == "<u2" and tlv_dtype().itemsize == 5


def test_cached_and_capacity_checked():
    assert book_dtype(128) is book_dtype() is book_dtype(128)
    assert message_dtype(50) is message_dtype(50)
    assert book_dtype(50) is not book_dtype(128)
    with pytest.raises(CapacityError):
        book_dtype(64)
    with pytest.raises(CapacityError):
        message_dtype(0)


def _check_book(rec, values):
    for name in BOOK_FIELDS:
        assert int(rec[name]) == values[name], name
    for side in ("bids", "asks"):
        n = int(rec[side]["count"])
        assert n == len(values[side])
        el = rec[side]["elements"]
        got = [[int(el["price"][i]), int(el["size"][i]), int(el["order_count"][i]), int(el["reserved"][i])]
               for i in range(n)]
        assert got == values[side]
        # unused slots are zero in the library's and rustc's bytes alike
        assert not el[n:].tobytes().strip(b"\0")


def test_golden_payloads(case):
    arr = np.frombuffer(case.payload, dtype=book_dtype(case.capacity))
    assert arr.shape == (1,)
    _check_book(arr[0], case.values)


def test_golden_messages(case):
    arr = np.frombuffer(case.message, dtype=message_dtype(case.capacity))
    assert arr.shape == (1,)
    m = arr[0]
    for name, value in case.values["message"].items():
        assert int(m["header"][name]) == value, name
    assert int(m["header"]["magic"]) == 0xDEADBEEF
    assert (int(m["tlv"]["marker"]), int(m["tlv"]["reserved"]), int(m["tlv"]["type"])) == (255, 0, 3)
    assert int(m["tlv"]["length"]) == orderbook.book_size(case.capacity)
    _check_book(m["book"], case.values)


def test_capture_is_zero_copy(all_cases):
    for capacity in CAPS:
        cases = [c for c in all_cases if c.capacity == capacity]
        blob = bytearray(b"".join(c.message for c in cases))
        arr = np.frombuffer(blob, dtype=message_dtype(capacity))
        assert len(arr) == len(cases)
        prices = arr["book"]["bids"]["elements"]["price"]
        assert prices.shape == (len(cases), capacity) and prices.dtype == np.dtype("<i8")
        assert np.shares_memory(prices, np.frombuffer(blob, np.uint8))
        for i, c in enumerate(cases):
            bids = c.values["bids"]
            assert prices[i, :len(bids)].tolist() == [lv[0] for lv in bids]
        # writing through the view changes the bytes (then the CRC no longer matches)
        prices[0, 0] = 12345
        assert orderbook.OrderBook.from_bytes(blob, 37, capacity=capacity).bids[0].price == 12345 \
            if cases[0].values["bids"] else True


def test_library_books_through_dtype():
    book = orderbook.OrderBook([(101, 5, 2), (100, 7)], [(103, 1)], sequence=9, venue_id=100,
                               precision_factor=100, capacity=50)
    arr = np.frombuffer(bytes(book), dtype=book_dtype(50))
    assert arr["sequence"][0] == 9 and arr["venue_id"][0] == 100
    assert arr["bids"]["count"][0] == 2
    assert arr["bids"]["elements"]["price"][0, :2].tolist() == [101, 100]
    msg = orderbook.encode_message(book, sequence=4, timestamp_ns=77)
    m = np.frombuffer(msg, dtype=message_dtype(50))
    assert m["header"]["sequence"][0] == 4 and m["header"]["timestamp"][0] == 77
    assert m["book"]["asks"]["elements"]["size"][0, 0] == 1
