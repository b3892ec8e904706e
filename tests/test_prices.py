"""orderbook.prices: exact mid / spread, float arrays, cumulative depth."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from orderbook import DecimalError, FieldRangeError, OrderBook
from orderbook.prices import cumulative_depth, exact_value, mid, prices, sizes, spread


def test_mid_and_spread_exact_decimal():
    b = OrderBook([(10000, 5), (9999, 1)], [(10003, 2)], precision_factor=100)
    assert mid(b) == Decimal("100.015") and isinstance(mid(b), Decimal)
    assert spread(b) == Decimal("0.03")
    assert str(spread(b)) == "0.03"
    b.set_asks([(10002, 2)])
    assert mid(b) == Decimal("100.01") and str(mid(b)) == "100.01"
    assert mid(b, exact=False) == 100.01 and spread(b, exact=False) == 0.02


def test_exact_beyond_float_and_context():
    top = 2**63 - 1
    b = OrderBook([(top - 1, 1)], [(top, 1)], precision_factor=10**8)
    # 28 significant digits of the default context would round these: built from text
    assert mid(b) * 2 * 10**8 == 2 * top - 1
    assert str(mid(b)) == "92233720368.547758065"
    assert spread(b) == Decimal("1E-8")
    assert mid(b, exact=False) == (2 * top - 1) / (2 * 10**8)


def test_fraction_when_the_factor_is_not_a_power_of_ten():
    b = OrderBook([(7, 1)], [(10, 1)], precision_factor=3)
    assert mid(b) == Fraction(17, 6) and isinstance(mid(b), Fraction)
    assert spread(b) == Fraction(1)
    assert exact_value(5, 4) == Fraction(5, 4)
    assert exact_value(-5, 10) == Decimal("-0.5")


def test_empty_sides_and_crossed():
    assert mid(OrderBook([(1, 1)], [])) is None
    assert spread(OrderBook([], [(1, 1)])) is None
    crossed = OrderBook([(105, 1)], [(100, 1)], precision_factor=10)
    assert spread(crossed) == Decimal("-0.5")
    with pytest.raises(DecimalError):
        mid(OrderBook([(1, 1)], [(2, 1)], precision_factor=0))


def test_arrays():
    np = pytest.importorskip("numpy")
    b = OrderBook([(10000, 150, 2), (9990, 250)], [(10010, 5)], precision_factor=100)
    p = prices(b.bids)
    assert p.dtype == np.float64 and p.tolist() == [100.0, 99.9]
    assert sizes(b.bids).tolist() == [1.5, 2.5]
    assert prices(b.asks, scale=1).tolist() == [10010.0]
    assert cumulative_depth(b.bids).tolist() == [150, 400]
    assert cumulative_depth(b.bids).dtype == np.int64
    assert cumulative_depth(b.bids, 1).tolist() == [150]
    assert cumulative_depth(b.bids, exact=False).tolist() == [1.5, 4.0]
    assert cumulative_depth(OrderBook().bids).tolist() == []
    big = OrderBook([(3, 2**62), (2, 2**62)], [])
    with pytest.raises(FieldRangeError, match="leaves int64"):
        cumulative_depth(big.bids)
    assert cumulative_depth(big.bids, exact=False)[1] == 2**63 / 10**8
