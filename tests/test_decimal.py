"""Decimal text to fixed point and back (orderbook._decimal): exact, no float.

The rules are written once more below in plain Python (``reference``, with
``re`` and ``decimal``) and used as the oracle of the property tests; bad
input is a table of value -> error class and exact message."""

from __future__ import annotations

import decimal
import re
from collections import deque
from decimal import Decimal
from typing import Any, List, Optional, Sequence, Tuple, Union

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import orderbook
from orderbook import (
    CapacityError, DecimalError, FieldRangeError, FieldTypeError, OrderBook, OrderBookError,
    ValidationError, format_fixed, to_decimal, to_fixed, to_snapshot,
)
from orderbook._decimal import ROUNDING_MODES, fill_side_from_strings, from_snapshot

PF = 100_000_000
I64_MIN, I64_MAX = -(2 ** 63), 2 ** 63 - 1
HINT = "pass rounding='half_even' or rounding='down' to round"
RANGE = "the i64 fixed point holds 0..92233720368.54775807"
SIGN = "has a sign; prices and sizes are unsigned unless allow_negative=True"


# --- the reference: the same rules in plain Python -----------------------------------

_GRAMMAR = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?\Z")


def reference(text: Union[str, bytes], scale: int, allow_negative: bool = False,
              rounding: Optional[str] = None) -> Union[int, str]:
    """The fixed-point value, or the kind of error: empty, sign, syntax,
    decimals, overflow."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if text == "":
        return "empty"
    if text[0] in "+-" and not allow_negative:
        return "sign"
    m = _GRAMMAR.match(text)
    if m is None or not text.isascii() or not (m.group(2) or m.group(3)):
        return "syntax"
    sign, ip, fp = m.groups()
    with decimal.localcontext() as ctx:
        ctx.prec = 1000
        units = Decimal(sign + (ip or "0") + "." + (fp or "0")).scaleb(scale)
        if units != units.to_integral_value():
            if rounding is None:
                return "decimals"
            units = units.quantize(Decimal(1), decimal.ROUND_HALF_EVEN if rounding == "half_even"
                                   else decimal.ROUND_DOWN)
        fixed = int(units)
    if not I64_MIN <= fixed <= I64_MAX:
        return "overflow"
    return fixed


def ours(text: Union[str, bytes], scale: int, allow_negative: bool = False,
         rounding: Optional[str] = None) -> Union[int, str]:
    try:
        return to_fixed(text, 10 ** scale, allow_negative=allow_negative, rounding=rounding)
    except FieldRangeError:
        return "overflow"
    except DecimalError as e:
        msg = str(e)
        for needle, kind in (("is empty", "empty"), ("has a sign", "sign"), ("decimals", "decimals")):
            if needle in msg:
                return kind
        return "syntax"


# --- good values ------------------------------------------------------------------------

@pytest.mark.parametrize("text, factor, expected", [
    ("27012.45000000", PF, 2_701_245_000_000),
    ("0.25100000", PF, 25_100_000),
    ("27012.45", PF, 2_701_245_000_000),
    ("0", PF, 0),
    ("0.0", PF, 0),
    ("000123.4500", PF, 12_345_000_000),
    (".5", PF, 50_000_000),
    ("5.", PF, 500_000_000),
    ("0.00000001", PF, 1),
    ("1.000000000000", PF, 100_000_000),         # trailing zeros past the precision are exact
    ("92233720368.54775807", PF, I64_MAX),        # the largest i64
    ("9223372036854775807", 1, I64_MAX),
    ("12345678901234567890"[:19], 1, 1_234_567_890_123_456_789),
    ("0.000000000000000001", 10 ** 18, 1),
    ("9.223372036854775807", 10 ** 18, I64_MAX),
    ("123", 1, 123),
    ("1.5", 10, 15),
    (b"27012.45", PF, 2_701_245_000_000),
    (bytearray(b"0.1"), PF, 10_000_000),
    ("12345678.12345678", PF, 1_234_567_812_345_678),    # 8-digit runs on both sides
    ("1234567812345678", 1, 1_234_567_812_345_678),
])
def test_good_text(text: Any, factor: int, expected: int) -> None:
    assert to_fixed(text, factor) == expected


def test_str_subclasses_and_latin1() -> None:
    class S(str):
        pass
    assert to_fixed(S("1.5")) == 150_000_000
    np = pytest.importorskip("numpy")
    assert to_fixed(np.str_("2.25")) == 225_000_000
    assert to_fixed(np.int64(3)) == 300_000_000


def test_negative_when_allowed() -> None:
    assert to_fixed("-1.5", allow_negative=True) == -150_000_000
    assert to_fixed("+1.5", allow_negative=True) == 150_000_000
    assert to_fixed("-0", allow_negative=True) == 0
    assert to_fixed("-92233720368.54775808", allow_negative=True) == I64_MIN
    assert to_fixed(-5, allow_negative=True) == -500_000_000
    assert to_fixed(Decimal("-0.5"), allow_negative=True) == -50_000_000


def test_ints_are_whole_units_times_any_factor() -> None:
    assert to_fixed(27012) == 2_701_200_000_000
    assert to_fixed(7, 3) == 21                   # any positive factor for ints
    assert to_fixed(0, 7) == 0
    assert to_fixed(I64_MAX, 1) == I64_MAX
    assert to_fixed(I64_MIN, 1, allow_negative=True) == I64_MIN
    assert to_fixed(92233720368) == 9_223_372_036_800_000_000


@pytest.mark.parametrize("value, expected", [
    (Decimal("27012.45"), 2_701_245_000_000),
    (Decimal("1E+5"), 10_000_000_000_000),
    (Decimal("1E-8"), 1),
    (Decimal("0E-1000000"), 0),                  # no million-character text is made
    (Decimal("0E+1000000"), 0),
    (Decimal("1.00000000000000000000"), 100_000_000),
    (Decimal("92233720368.54775807"), I64_MAX),
])
def test_good_decimal(value: Decimal, expected: int) -> None:
    assert to_fixed(value) == expected


def test_rounding() -> None:
    cases = [  # text, half_even, down
        ("1.000000005", 100_000_000, 100_000_000),      # tie: to even
        ("1.000000015", 100_000_002, 100_000_001),      # tie: to even (up)
        ("1.0000000051", 100_000_001, 100_000_000),     # above half
        ("1.000000004999", 100_000_000, 100_000_000),
        ("1.000000019", 100_000_002, 100_000_001),
        ("0.000000005", 0, 0),
        ("0.000000015", 2, 1),
        ("92233720368.547758074", I64_MAX, I64_MAX),
    ]
    for text, even, down in cases:
        assert to_fixed(text, rounding="half_even") == even, text
        assert to_fixed(text, rounding="down") == down, text
        assert to_fixed(text, rounding=decimal.ROUND_HALF_EVEN) == even
        assert to_fixed(text, rounding=decimal.ROUND_DOWN) == down
    assert to_fixed("-1.000000019", rounding="down", allow_negative=True) == -100_000_001
    assert to_fixed("-1.000000015", rounding="half_even", allow_negative=True) == -100_000_002
    assert to_fixed(Decimal("1E-20"), rounding="half_even") == 0
    assert to_fixed(Decimal("5E-9"), rounding="half_even") == 0
    assert to_fixed(Decimal("1.5E-8"), rounding="half_even") == 2
    assert ROUNDING_MODES == ("half_even", "down")


# --- bad values: class and exact message -----------------------------------------------

BAD: List[Tuple[Any, dict, type, str]] = [
    ("", {}, DecimalError, "'' is empty"),
    (b"", {}, DecimalError, "b'' is empty"),
    (".", {}, DecimalError, "'.' has no digits"),
    ("-", {"allow_negative": True}, DecimalError, "'-' has no digits"),
    ("-1", {}, DecimalError, f"'-1' {SIGN}"),
    ("+1", {}, DecimalError, f"'+1' {SIGN}"),
    ("-0", {}, DecimalError, f"'-0' {SIGN}"),
    ("--1", {"allow_negative": True}, DecimalError,
     "'--1' is not a decimal number: unexpected '-' at position 1"),
    ("1e5", {}, DecimalError, "'1e5' uses exponent notation ('e' at position 1); give plain decimal digits"),
    ("1.5E-3", {}, DecimalError,
     "'1.5E-3' uses exponent notation ('E' at position 3); give plain decimal digits"),
    ("e5", {}, DecimalError, "'e5' is not a decimal number: unexpected 'e' at position 0"),
    (" 1", {}, DecimalError, "' 1' is not a decimal number: unexpected ' ' at position 0"),
    ("1 ", {}, DecimalError, "'1 ' is not a decimal number: unexpected ' ' at position 1"),
    ("1\n", {}, DecimalError, "'1\\n' is not a decimal number: unexpected '\\n' at position 1"),
    ("1,5", {}, DecimalError, "'1,5' is not a decimal number: unexpected ',' at position 1"),
    ("1_000", {}, DecimalError, "'1_000' is not a decimal number: unexpected '_' at position 1"),
    ("1.2.3", {}, DecimalError, "'1.2.3' is not a decimal number: unexpected '.' at position 3"),
    ("abc", {}, DecimalError, "'abc' is not a decimal number: unexpected 'a' at position 0"),
    ("inf", {}, DecimalError, "'inf' is not a decimal number: unexpected 'i' at position 0"),
    ("NaN", {}, DecimalError, "'NaN' is not a decimal number: unexpected 'N' at position 0"),
    ("0x10", {}, DecimalError, "'0x10' is not a decimal number: unexpected 'x' at position 1"),
    ("12345678.1234567a", {}, DecimalError,
     "'12345678.1234567a' is not a decimal number: unexpected 'a' at position 16"),
    ("١٢", {}, DecimalError, "'١٢' is not a decimal number: unexpected '١' at position 0"),
    ("1é", {}, DecimalError, "'1é' is not a decimal number: unexpected 'é' at position 1"),
    ("12€", {}, DecimalError, "'12€' is not a decimal number: unexpected '€' at position 2"),
    (b"1\xff", {}, DecimalError, "b'1\\xff' is not a decimal number: unexpected 'ÿ' at position 1"),
    ("27012.4500000001", {}, DecimalError,
     f"'27012.4500000001' has 10 decimals, precision_factor 100000000 allows 8; {HINT}"),
    ("0.1234567890", {}, DecimalError,
     f"'0.1234567890' has 9 decimals (10 written), precision_factor 100000000 allows 8; {HINT}"),
    ("1.5", {"precision_factor": 1}, DecimalError,
     f"'1.5' has 1 decimals, precision_factor 1 allows 0; {HINT}"),
    ("92233720368.54775808", {}, FieldRangeError,
     f"'92233720368.54775808' is out of range at precision_factor 100000000: {RANGE}"),
    ("99999999999999999999999", {}, FieldRangeError,
     f"'99999999999999999999999' is out of range at precision_factor 100000000: {RANGE}"),
    ("-92233720368.54775809", {"allow_negative": True}, FieldRangeError,
     "'-92233720368.54775809' is out of range at precision_factor 100000000: the i64 fixed point "
     "holds -92233720368.54775808..92233720368.54775807"),
    ("1", {"precision_factor": 3}, DecimalError,
     "decimal text '1' needs a precision_factor that is a power of ten (1, 10, ..., 10**18), got 3"),
    (b"1", {"precision_factor": 10 ** 18 + 1}, DecimalError,
     "decimal text b'1' needs a precision_factor that is a power of ten (1, 10, ..., 10**18), "
     "got 1000000000000000001"),
    ("1", {"precision_factor": 0}, DecimalError, "precision_factor must be positive, got 0"),
    ("1", {"precision_factor": -10}, DecimalError, "precision_factor must be positive, got -10"),
    ("1", {"rounding": "up"}, DecimalError,
     "rounding must be None (exact), 'half_even' or 'down', got 'up'"),
    (-5, {}, DecimalError, "-5 is negative; prices and sizes are unsigned unless allow_negative=True"),
    (-(2 ** 70), {}, DecimalError,
     "-1180591620717411303424 is negative; prices and sizes are unsigned unless allow_negative=True"),
    (92233720369, {}, FieldRangeError, f"92233720369 is out of range at precision_factor 100000000: {RANGE}"),
    (2 ** 64, {"precision_factor": 1}, FieldRangeError,
     "18446744073709551616 is out of range at precision_factor 1: the i64 fixed point holds "
     "0..9223372036854775807"),
    (4, {"precision_factor": 3 * 10 ** 18}, FieldRangeError,
     "4 is out of range at precision_factor 3000000000000000000: the i64 fixed point holds "
     "0..9223372036854775807"),
    (0.1, {}, FieldTypeError,
     "float 0.1 is not accepted: floats are inexact; pass the venue's decimal text, an int or a decimal.Decimal"),
    (True, {}, FieldTypeError, "expected a decimal str, bytes, int or decimal.Decimal, got bool True"),
    (None, {}, FieldTypeError, "expected a decimal str, bytes, int or decimal.Decimal, got NoneType None"),
    ([1], {}, FieldTypeError, "expected a decimal str, bytes, int or decimal.Decimal, got list [1]"),
    (Decimal("NaN"), {}, DecimalError, "Decimal('NaN') is not a finite number"),
    (Decimal("-Infinity"), {}, DecimalError, "Decimal('-Infinity') is not a finite number"),
    (Decimal("-0"), {}, DecimalError, f"Decimal('-0') {SIGN}"),
    (Decimal("-1.5"), {}, DecimalError, f"Decimal('-1.5') {SIGN}"),
    (Decimal("1E-10"), {}, DecimalError,
     f"Decimal('1E-10') has 10 decimals, precision_factor 100000000 allows 8; {HINT}"),
    (Decimal("1.2300E-20"), {}, DecimalError,
     f"Decimal('1.2300E-20') has 22 decimals (24 written), precision_factor 100000000 allows 8; {HINT}"),
    (Decimal("1.234567891"), {}, DecimalError,
     f"Decimal('1.234567891') has 9 decimals, precision_factor 100000000 allows 8; {HINT}"),
    (Decimal("1E+100"), {}, FieldRangeError,
     f"Decimal('1E+100') is out of range at precision_factor 100000000: {RANGE}"),
    (Decimal("92233720368.54775808"), {}, FieldRangeError,
     f"Decimal('92233720368.54775808') is out of range at precision_factor 100000000: {RANGE}"),
    (Decimal("1.5"), {"precision_factor": 7}, DecimalError,
     "decimal text Decimal('1.5') needs a precision_factor that is a power of ten (1, 10, ..., 10**18), got 7"),
    ("9" * 100, {}, FieldRangeError,
     f"'{'9' * 59}...{'9' * 9}' (102 characters) is out of range at precision_factor 100000000: {RANGE}"),
]


@pytest.mark.parametrize("value, kwargs, cls, message", BAD, ids=[repr(b[0])[:30] for b in BAD])
def test_bad_value(value: Any, kwargs: dict, cls: type, message: str) -> None:
    kwargs = dict(kwargs)
    factor = kwargs.pop("precision_factor", PF)
    with pytest.raises(cls) as info:
        to_fixed(value, factor, **kwargs)
    assert str(info.value) == message
    assert type(info.value) is cls
    assert isinstance(info.value, OrderBookError)


def test_error_classes_subclass_builtins() -> None:
    assert issubclass(DecimalError, ValueError) and issubclass(DecimalError, OrderBookError)
    assert issubclass(FieldRangeError, OverflowError)
    with pytest.raises(ValueError):
        to_fixed("x")
    with pytest.raises(OverflowError):
        to_fixed("1" * 30)


# --- levels: side, index and field in every message -------------------------------------

LEVEL_BAD: List[Tuple[Any, type, str]] = [
    ([["1", "2"], ["27012.4500000001", "1"]], DecimalError,
     f"bids[1].price: '27012.4500000001' has 10 decimals, precision_factor 100000000 allows 8; {HINT}"),
    ([["1", ""]], DecimalError, "bids[0].size: '' is empty"),
    ([["1", "-2"]], DecimalError, f"bids[0].size: '-2' {SIGN}"),
    ([["1", "2e3"]], DecimalError,
     "bids[0].size: '2e3' uses exponent notation ('e' at position 1); give plain decimal digits"),
    ([["1", 2.0]], FieldTypeError,
     "bids[0].size: float 2.0 is not accepted: floats are inexact; pass the venue's decimal text, an int "
     "or a decimal.Decimal"),
    ([["1", "2", "x"]], DecimalError,
     "bids[0].order_count: 'x' is not a decimal number: unexpected 'x' at position 0"),
    ([["1", "2", "1.5"]], DecimalError, "bids[0].order_count: '1.5' is not a whole number"),
    ([["1", "2", "4294967296"]], FieldRangeError, "bids[0].order_count: '4294967296' is out of range 0..4294967295"),
    ([["1", "2", -1]], FieldRangeError, "bids[0].order_count must be in 0..4294967295, got -1"),
    ([["1", "2", 1.0]], FieldTypeError, "bids[0].order_count must be an integer, got float 1.0"),
    ([["1"]], FieldTypeError, "bids[0] must be [price, size] or [price, size, order_count], got 1 item"),
    ([["1", "2", 3, 4]], FieldTypeError,
     "bids[0] must be [price, size] or [price, size, order_count], got 4 items"),
    (["1.5"], FieldTypeError,
     "bids[0] must be [price, size] or [price, size, order_count], got str '1.5'"),
    ([None], FieldTypeError, "bids[0] must be [price, size] or [price, size, order_count], got NoneType None"),
    ("1.5", FieldTypeError, "bids must be a sequence of [price, size] levels, got str"),
    ({"1.5": "2"}, FieldTypeError, "bids must be a sequence of [price, size] levels, got dict"),
]


@pytest.mark.parametrize("levels, cls, message", LEVEL_BAD, ids=[repr(b[0])[:40] for b in LEVEL_BAD])
def test_bad_level_names_side_index_field(levels: Any, cls: type, message: str) -> None:
    book = OrderBook([(5, 5)], [(6, 6)], sequence=3)
    before = bytes(book)
    with pytest.raises(cls) as info:
        fill_side_from_strings(book, False, levels)
    assert str(info.value) == message
    assert bytes(book) == before                       # a failure leaves the book as it was
    with pytest.raises(cls) as info:
        fill_side_from_strings(book, True, levels)
    assert str(info.value) == message.replace("bids", "asks")
    assert bytes(book) == before


def test_level_shapes() -> None:
    book = OrderBook()
    fill_side_from_strings(book, False, [("3", "1"), ["2", b"1", 7], deque(["1", Decimal("0.5"), "9"])],
                           sort=False)
    assert book.bids.tolist() == [(300_000_000, 100_000_000, 0, 0), (200_000_000, 100_000_000, 7, 0),
                                  (100_000_000, 50_000_000, 9, 0)]
    fill_side_from_strings(book, True, (lv for lv in [["1", "2"]]))      # any iterable of levels
    assert book.asks.tolist() == [(100_000_000, 200_000_000, 0, 0)]
    # order_counts=False: anything after the size is ignored (Kraken's timestamps)
    fill_side_from_strings(book, True, [["1", "2", 1698244813.5, "x"]], order_counts=False)
    assert book.asks.tolist() == [(100_000_000, 200_000_000, 0, 0)]


def test_precision_factor_defaults_to_the_books() -> None:
    book = OrderBook(precision_factor=100)
    book.set_bids_from_strings([["1.25", "3"]])
    assert book.bids.tolist() == [(125, 300, 0, 0)]
    with pytest.raises(DecimalError, match="bids.0..price: '1.255' has 3 decimals, precision_factor 100 allows 2"):
        book.set_bids_from_strings([["1.255", "3"]])
    book.set_bids_from_strings([["1.255", "3"]], rounding="half_even")
    assert book.bids[0].price == 126
    fill_side_from_strings(book, False, [["1.255", "3"]], precision_factor=1000)
    assert book.bids[0].price == 1255


def test_sort_is_stable_and_best_first() -> None:
    bids = [["1", "1"], ["3", "1"], ["2", "1"], ["3", "2"], ["2", "2"]]
    asks = [["5", "1"], ["4", "1"], ["6", "1"], ["4", "2"]]
    book = from_snapshot(OrderBook, bids, asks, precision_factor=1)
    assert [(lv.price, lv.size) for lv in book.bids] == [(3, 1), (3, 2), (2, 1), (2, 2), (1, 1)]
    assert [(lv.price, lv.size) for lv in book.asks] == [(4, 1), (4, 2), (5, 1), (6, 1)]
    assert all(lv.reserved == 0 for lv in book.bids)
    book = from_snapshot(OrderBook, bids, asks, precision_factor=1, sort=False, validate=False)
    assert [lv.price for lv in book.bids] == [1, 3, 2, 3, 2]
    with pytest.raises(ValidationError, match=r"bids\[1\].price 3 is above bids\[0\].price 1"):
        from_snapshot(OrderBook, bids, asks, precision_factor=1, sort=False)


def _deep(n: int, asks: bool) -> List[List[str]]:
    return [[f"{(1000 + i) if asks else (999 - i)}.5", "1"] for i in range(n)]


def test_capacity_and_truncation() -> None:
    with pytest.raises(CapacityError) as info:
        from_snapshot(OrderBook, _deep(500, False), _deep(3, True))
    assert str(info.value) == "bids hold at most 128 levels, got 500; pass truncate=True to keep the best 128"
    assert (info.value.capacity, info.value.attempted) == (128, 500)
    book = from_snapshot(OrderBook, _deep(500, False), _deep(129, True), truncate=True)
    assert len(book.bids) == len(book.asks) == 128
    assert book.bids[0].price == 99_950_000_000 and book.bids[127].price == 87_250_000_000
    assert book.asks[127].price == 112_750_000_000
    # sorting happens before truncation: the best 128 are kept whatever the order
    shuffled = list(reversed(_deep(500, False)))
    again = from_snapshot(OrderBook, shuffled, _deep(129, True), truncate=True)
    assert again == book
    # without sorting, truncation needs the side best first
    with pytest.raises(ValidationError) as verr:
        from_snapshot(OrderBook, shuffled, [], truncate=True, sort=False)
    assert str(verr.value) == ("cannot truncate bids to the best 128: level 1 (price 501.5) is above "
                               "level 0 (price 500.5); give the side best first or pass sort=True")
    assert (verr.value.rule, verr.value.side, verr.value.index) == ("sorted", "bids", 1)
    exact = from_snapshot(OrderBook, _deep(128, False), [])
    assert len(exact.bids) == 128


def test_from_snapshot_header_and_class() -> None:
    class MyBook(OrderBook):
        pass
    book = from_snapshot(MyBook, [["1.5", "2", 3]], [["1.6", "1"]], sequence=9, venue_id=4,
                         snapshot_timestamp_ns=123, asset_id=77, asset_type=2)
    assert type(book) is MyBook
    assert (book.sequence, book.venue_id, book.snapshot_timestamp_ns, book.asset_id, book.asset_type) == (9, 4, 123, 77, 2)
    assert book.precision_factor == PF
    assert book.best_bid == (150_000_000, 200_000_000, 3, 0)
    with pytest.raises(ValidationError, match="crossed book"):
        from_snapshot(OrderBook, [["2", "1"]], [["1", "1"]])
    crossed = from_snapshot(OrderBook, [["2", "1"]], [["1", "1"]], validate=False)
    assert crossed.best_ask is not None
    with pytest.raises(ValidationError, match=r"bids\[0\].size must be > 0, got 0"):
        from_snapshot(OrderBook, [["2", "0"]], [])
    with pytest.raises(FieldTypeError, match="from_snapshot needs an OrderBook class"):
        from_snapshot(dict, [], [])
    with pytest.raises(TypeError):
        from_snapshot(OrderBook, [], [], no_such_field=1)


def test_orderbook_methods() -> None:
    book = OrderBook.from_snapshot([["27012.45", "0.251", 3]], [["27012.46", "1"]], sequence=5)
    assert type(book) is OrderBook and book.sequence == 5
    assert book.to_snapshot() == {"bids": [["27012.45000000", "0.25100000"]],
                                  "asks": [["27012.46000000", "1.00000000"]]}
    assert book.to_snapshot(strip_zeros=True, order_counts=True) == {
        "bids": [["27012.45", "0.251", 3]], "asks": [["27012.46", "1", 0]]}
    book.set_asks_from_strings([["27013", "2"], ["27012.5", "1"]])
    assert [lv.price for lv in book.asks] == [2_701_250_000_000, 2_701_300_000_000]
    book.set_bids_from_strings([])
    assert len(book.bids) == 0


def test_read_only_view_is_refused() -> None:
    data = bytes(OrderBook([(1, 1)], []))
    view = OrderBook.view(data)
    with pytest.raises(orderbook.ReadOnlyError):
        view.set_bids_from_strings([["1", "1"]])


def test_list_mutated_during_conversion() -> None:
    levels: List[Any] = []

    class Evil(Decimal):
        def is_finite(self) -> bool:       # runs in the middle of the conversion
            levels.clear()
            return True
    levels.extend([[Evil("1"), "1"], ["1", "1"], ["1", "1"]])
    with pytest.raises(RuntimeError, match="bids changed size during conversion"):
        fill_side_from_strings(OrderBook(), False, levels)


# --- fixed point back to text ------------------------------------------------------------

@pytest.mark.parametrize("value, factor, text, stripped", [
    (2_701_245_000_000, PF, "27012.45000000", "27012.45"),
    (25_100_000, PF, "0.25100000", "0.251"),
    (1, PF, "0.00000001", "0.00000001"),
    (0, PF, "0.00000000", "0"),
    (-5, PF, "-0.00000005", "-0.00000005"),
    (100_000_000, PF, "1.00000000", "1"),
    (I64_MAX, PF, "92233720368.54775807", "92233720368.54775807"),
    (I64_MIN, PF, "-92233720368.54775808", "-92233720368.54775808"),
    (I64_MIN, 1, "-9223372036854775808", "-9223372036854775808"),
    (I64_MAX, 10 ** 18, "9.223372036854775807", "9.223372036854775807"),
    (5, 10 ** 18, "0.000000000000000005", "0.000000000000000005"),
    (120, 10, "12.0", "12"),
])
def test_format_fixed(value: int, factor: int, text: str, stripped: str) -> None:
    assert format_fixed(value, factor) == text
    assert format_fixed(value, factor, strip_zeros=True) == stripped
    assert to_decimal(value, factor) == Decimal(text)
    assert to_fixed(text, factor, allow_negative=True) == value


def test_format_fixed_errors() -> None:
    with pytest.raises(DecimalError, match="power of ten"):
        format_fixed(5, 3)
    with pytest.raises(DecimalError, match="power of ten"):
        format_fixed(5, 0)
    with pytest.raises(FieldRangeError):
        format_fixed(2 ** 63)
    with pytest.raises(DecimalError, match="power of ten"):
        to_snapshot(OrderBook(precision_factor=3))


# --- properties --------------------------------------------------------------------------

def _text(ip: str, fp: Optional[str], sign: str = "") -> str:
    return sign + ip + ("" if fp is None else "." + fp)


digits = st.text("0123456789", max_size=24)


@settings(max_examples=3000, deadline=None)
@given(sign=st.sampled_from(["", "", "-", "+"]), ip=digits, fp=st.one_of(st.none(), digits),
       scale=st.sampled_from([0, 1, 2, 6, 8, 8, 9, 12, 18]), neg=st.booleans(),
       rounding=st.sampled_from([None, None, "half_even", "down"]))
@example(sign="", ip="9223372036854775807", fp=None, scale=0, neg=False, rounding=None)
@example(sign="", ip="92233720368", fp="547758075", scale=8, neg=False, rounding="half_even")
@example(sign="-", ip="92233720368", fp="54775808", scale=8, neg=True, rounding=None)
def test_matches_the_reference(sign: str, ip: str, fp: Optional[str], scale: int, neg: bool,
                               rounding: Optional[str]) -> None:
    text = _text(ip, fp, sign)
    assert ours(text, scale, neg, rounding) == reference(text, scale, neg, rounding)
    assert ours(text.encode(), scale, neg, rounding) == reference(text, scale, neg, rounding)


@settings(max_examples=3000, deadline=None)
@given(text=st.text(st.sampled_from("0123456789.-+eE x_\u0661é"), max_size=30),
       scale=st.sampled_from([0, 2, 8, 18]), neg=st.booleans())
def test_any_text_matches_the_reference(text: str, scale: int, neg: bool) -> None:
    assert ours(text, scale, neg) == reference(text, scale, neg)


@settings(max_examples=2000, deadline=None)
@given(value=st.integers(I64_MIN, I64_MAX), scale=st.integers(0, 18))
def test_format_then_parse_is_identity(value: int, scale: int) -> None:
    text = format_fixed(value, 10 ** scale)
    assert to_fixed(text, 10 ** scale, allow_negative=True) == value
    assert Decimal(text) == Decimal(value).scaleb(-scale)
    assert to_fixed(format_fixed(value, 10 ** scale, strip_zeros=True), 10 ** scale,
                    allow_negative=True) == value


@settings(max_examples=1000, deadline=None)
@given(d=st.decimals(allow_nan=False, allow_infinity=False, places=None), neg=st.booleans(),
       rounding=st.sampled_from([None, "half_even", "down"]))
def test_decimals_match_their_text(d: Decimal, neg: bool, rounding: Optional[str]) -> None:
    try:
        expected: Union[int, str] = to_fixed(format(d, "f"), allow_negative=neg, rounding=rounding)
    except FieldRangeError:
        expected = "overflow"
    except DecimalError as e:
        expected = "sign" if "sign" in str(e) else "decimals"
    try:
        got: Union[int, str] = to_fixed(d, allow_negative=neg, rounding=rounding)
    except FieldRangeError:
        got = "overflow"
    except DecimalError as e:
        got = "sign" if "sign" in str(e) else "decimals"
    assert got == expected


levels_st = st.lists(st.tuples(st.integers(1, 10 ** 15), st.integers(1, 10 ** 12)), max_size=128)


@settings(max_examples=300, deadline=None)
@given(bids=levels_st, asks=levels_st, strip=st.booleans())
def test_book_round_trip_through_a_message(bids: List[Tuple[int, int]], asks: List[Tuple[int, int]],
                                           strip: bool) -> None:
    """snapshot text -> book -> message -> decoded book -> the same text."""
    def text(side: Sequence[Tuple[int, int]]) -> List[List[str]]:
        return [[format_fixed(p, PF, strip_zeros=strip), format_fixed(s, PF, strip_zeros=strip)] for p, s in side]
    snap = {"bids": text(sorted(bids, reverse=True)), "asks": text(sorted(asks))}
    book = from_snapshot(OrderBook, snap["bids"], snap["asks"], validate=False)
    decoded = orderbook.decode_message(orderbook.encode_message(book, timestamp_ns=0)).book
    assert decoded == book
    assert to_snapshot(decoded, strip_zeros=strip) == snap


def test_the_hot_path_creates_no_objects() -> None:
    import sys
    book = OrderBook()
    levels = [["27012.45000000", "0.25100000"]] * 128
    fill_side_from_strings(book, False, levels)
    if not hasattr(sys, "getallocatedblocks"):
        pytest.skip("needs sys.getallocatedblocks")
    before = sys.getallocatedblocks()
    for _ in range(100):
        fill_side_from_strings(book, False, levels)
    assert sys.getallocatedblocks() - before < 10
