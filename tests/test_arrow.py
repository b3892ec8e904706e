"""orderbook.arrow: books as pyarrow Tables, built in bulk (skipped without pyarrow)."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest

np = pytest.importorskip("numpy", reason="the Arrow path needs numpy")
pa = pytest.importorskip("pyarrow", reason="the Arrow extra (pyarrow) is not installed")

import orderbook
from orderbook import Capture, DecimalError, OrderBook, encode_message, to_arrow
from orderbook.dtypes import BOOK_FIELDS, book_dtype, message_dtype


def _book(i, capacity=128, rng=None, factor=10**8):
    rng = rng or random.Random(i)
    nb, na = rng.randint(0, capacity), rng.randint(0, capacity)
    return OrderBook([(5 * 10**9 - j * 7, 1 + j, j % 5) for j in range(nb)],
                     [(5 * 10**9 + 3 + j * 7, 2 + j) for j in range(na)],
                     sequence=i, venue_id=100 + i % 3, precision_factor=factor, asset_id=i * 11,
                     snapshot_timestamp_ns=1_700_000_000 * 10**9 + i, capacity=capacity)


def _levels(side):
    return [(lv.price, lv.size, lv.order_count) for lv in side]


def _rows(table, side):
    return [[(d["price"], d["size"], d["order_count"]) for d in row] for row in table.column(side).to_pylist()]


def _check(table, books):
    assert table.num_rows == len(books)
    for name in BOOK_FIELDS:
        assert table.column(name).to_pylist() == [getattr(b, name) for b in books], name
    assert table.column("capacity").to_pylist() == [b.capacity for b in books]
    assert _rows(table, "bids") == [_levels(b.bids) for b in books]
    assert _rows(table, "asks") == [_levels(b.asks) for b in books]


def test_schema():
    t = to_arrow([_book(1)])
    assert t.schema.field("bids").type == pa.list_(orderbook.arrow.level_type())
    assert t.schema.field("price" if False else "precision_factor").type == pa.int64()
    assert t.schema.field("snapshot_timestamp_ns").type == pa.uint64()
    assert t.schema.field("venue_id").type == pa.uint16()
    lvl = t.schema.field("asks").type.value_type
    assert [f.name for f in lvl] == ["price", "size", "order_count"]
    assert [f.type for f in lvl] == [pa.int64(), pa.int64(), pa.uint32()]


def test_capture_mixed_capacities_in_order():
    books = [_book(i, 128 if i % 4 else 50) for i in range(40)]
    blob = b"".join(encode_message(b, sequence=100 + i, source=2, timestamp_ns=i) for i, b in enumerate(books))
    cap = Capture(blob)
    t = cap.to_arrow()
    _check(t, books)
    assert t.column("offset").to_pylist() == cap.offsets.tolist()
    assert t.column("header_sequence").to_pylist() == [100 + i for i in range(40)]
    assert t.column("header_timestamp").to_pylist() == list(range(40))
    assert set(t.column("header_source").to_pylist()) == {2}
    assert "header_sequence" not in cap.to_arrow(header=False).column_names
    # the same from a list of books and from the arrays
    _check(to_arrow(books), books)
    uniform = Capture(b"".join(encode_message(b) for b in books if b.capacity == 128))
    _check(to_arrow(uniform.books()), [b for b in books if b.capacity == 128])


def test_message_dtype_array():
    books = [_book(i, 50) for i in range(5)]
    blob = b"".join(encode_message(b, sequence=i) for i, b in enumerate(books))
    t = to_arrow(np.frombuffer(blob, dtype=message_dtype(50)))
    _check(t, books)
    assert t.column("header_sequence").to_pylist() == list(range(5))


def test_levels_keeps_the_top_k():
    books = [_book(i) for i in range(10)]
    t = to_arrow(books, levels=3)
    assert _rows(t, "bids") == [_levels(b.bids)[:3] for b in books]
    assert _rows(t, "asks") == [_levels(b.asks)[:3] for b in books]
    assert _rows(to_arrow(books, levels=0), "bids") == [[] for _ in books]


def test_empty_inputs():
    assert to_arrow([]).num_rows == 0
    assert Capture(b"").to_arrow().num_rows == 0
    assert to_arrow(np.zeros(0, book_dtype(50))).num_rows == 0


def _extreme_array():
    arr = np.zeros(3, dtype=book_dtype(128))
    arr["precision_factor"] = 10**8
    arr["bids"]["count"] = [3, 1, 0]
    extremes = [2**63 - 1, -2**63, -1]
    arr["bids"]["elements"]["price"][0, :3] = extremes
    arr["bids"]["elements"]["size"][0, :3] = [1, 10**8, 123456789012345678]
    arr["bids"]["elements"]["price"][1, 0] = 27012_45000000
    arr["bids"]["elements"]["size"][1, 0] = 1
    return arr, extremes


def test_decimal128_is_exact():
    arr, extremes = _extreme_array()
    t = to_arrow(arr, scale="decimal128")
    lvl = t.schema.field("bids").type.value_type
    assert lvl.field("price").type == pa.decimal128(19, 8)
    rows = t.column("bids").to_pylist()
    assert [d["price"] for d in rows[0]] == [Decimal(v).scaleb(-8) for v in extremes]
    assert rows[0][0]["price"] == Decimal("92233720368.54775807")
    assert rows[0][1]["price"] == Decimal("-92233720368.54775808")
    assert rows[0][2]["price"] == Decimal("-1E-8")
    assert [d["size"] for d in rows[0]] == [Decimal("1E-8"), Decimal(1), Decimal("1234567890.12345678")]
    assert rows[1][0]["price"] == Decimal("27012.45000000")
    assert rows[2] == []
    # against the library's exact conversion
    assert rows[1][0]["price"] == orderbook.to_decimal(27012_45000000, 10**8)


def test_decimal128_other_factors_and_refusals():
    b = _book(3, factor=100)
    t = to_arrow([b], scale="decimal128")
    assert t.schema.field("bids").type.value_type.field("price").type == pa.decimal128(19, 2)
    assert [d["price"] for d in t.column("bids").to_pylist()[0]] == \
        [Decimal(lv.price).scaleb(-2) for lv in b.bids]
    assert to_arrow([_book(1, factor=1)], scale="decimal128").schema.field("bids").type \
        .value_type.field("price").type == pa.decimal128(19, 0)
    with pytest.raises(DecimalError, match="power of ten"):
        to_arrow([_book(1, factor=250)], scale="decimal128")
    with pytest.raises(DecimalError, match="one precision_factor"):
        to_arrow([_book(1, factor=100), _book(2, factor=1000)], scale="decimal128")
    with pytest.raises(orderbook.FieldTypeError):
        to_arrow([_book(1)], scale="float32")


def test_float64_is_the_rounded_quotient():
    books = [_book(1, factor=100), _book(2, factor=10**8), _book(3, factor=7)]
    t = to_arrow(books, scale="float64")
    for row, b in zip(t.column("bids").to_pylist(), books):
        got = [d["price"] for d in row]
        assert got == [float(lv.price) / float(b.precision_factor) for lv in b.bids]
        # within two roundings of the exact quotient
        for g, lv in zip(got, b.bids):
            assert abs(Fraction(g) - Fraction(lv.price, b.precision_factor)) <= abs(Fraction(g)) * 2**-51


def test_bad_inputs():
    with pytest.raises(orderbook.FieldTypeError):
        to_arrow(np.zeros(2, dtype=np.int64))
    with pytest.raises(orderbook.FieldTypeError):
        to_arrow([_book(1), "book"])
    arr = np.zeros(1, dtype=book_dtype(50))
    arr["asks"]["count"] = 51
    with pytest.raises(orderbook.LayoutError, match="asks count"):
        to_arrow(arr)


def test_to_pandas():
    pytest.importorskip("pandas", reason="pandas is not installed")
    books = [_book(i) for i in range(3)]
    df = Capture(b"".join(encode_message(b) for b in books)).to_pandas()
    assert list(df["sequence"]) == [0, 1, 2]
