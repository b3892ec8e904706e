"""Price helpers on the public API: exact mid and spread, float arrays of a
side's prices and sizes, cumulative depth.

Exact results (``exact=True``, the default) are a ``decimal.Decimal`` when the
book's ``precision_factor`` is a power of ten (1, 10, ..., 10**18: the usual
case, and what ``orderbook.to_decimal`` returns), else a
``fractions.Fraction``; either way no digit is lost.  ``exact=False`` gives a
float, the correctly rounded quotient (Python's int / int), except for the
numpy arrays, which are rounded twice (int64 to float64, then the division).

``spread_bps`` stays upstream's integer: ``book.spread_bps``.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from itertools import accumulate
from typing import Any, Optional, Union

from orderbook.errors import DecimalError, FieldRangeError

__all__ = ["mid", "spread", "prices", "sizes", "cumulative_depth", "exact_value"]

Exact = Union[Decimal, Fraction]
_I64_MAX = 2**63 - 1


def _decimals(factor: int) -> Optional[int]:
    text = str(factor)
    if factor > 0 and text[0] == "1" and not set(text[1:]) - {"0"}:
        return len(text) - 1
    return None


def _factor(book: Any) -> int:
    f = int(book.precision_factor)
    if f <= 0:
        raise DecimalError(f"precision_factor must be > 0 to scale prices, got {f}")
    return f


def exact_value(numerator: int, factor: int) -> Exact:
    """``numerator / factor`` exactly: a Decimal when ``factor`` is a power of
    ten, else a Fraction (any int numerator, also beyond int64)."""
    if factor <= 0:
        raise DecimalError(f"precision_factor must be > 0, got {factor}")
    d = _decimals(factor)
    if d is None:
        return Fraction(numerator, factor)
    return Decimal(f"{numerator}E-{d}")          # from text: exact whatever the context


def _half(numerator: int, factor: int) -> Exact:
    """``numerator / (2 * factor)`` exactly."""
    if numerator % 2 == 0:
        return exact_value(numerator // 2, factor)
    d = _decimals(factor)
    if d is None:
        return Fraction(numerator, 2 * factor)
    return Decimal(f"{numerator * 5}E-{d + 1}")


def mid(book: Any, exact: bool = True) -> Union[Exact, float, None]:
    """``(best bid + best ask) / 2`` in price units; None when a side is empty."""
    bid, ask = book.best_bid, book.best_ask
    if bid is None or ask is None:
        return None
    f = _factor(book)
    total = bid.price + ask.price
    return _half(total, f) if exact else total / (2 * f)


def spread(book: Any, exact: bool = True) -> Union[Exact, float, None]:
    """``best ask - best bid`` in price units (negative for a crossed book);
    None when a side is empty."""
    bid, ask = book.best_bid, book.best_ask
    if bid is None or ask is None:
        return None
    f = _factor(book)
    diff = ask.price - bid.price
    return exact_value(diff, f) if exact else diff / f


def _scale(side: Any, scale: Optional[int]) -> int:
    f = int(side.book.precision_factor if scale is None else scale)
    if f <= 0:
        raise DecimalError(f"scale must be > 0, got {f}")
    return f


def prices(side: Any, scale: Optional[int] = None) -> Any:
    """The side's prices as a float64 numpy array, each divided by ``scale``
    (default: the book's precision_factor; ``scale=1`` for the fixed-point
    integers as floats)."""
    return side.to_numpy()["price"] / float(_scale(side, scale))


def sizes(side: Any, scale: Optional[int] = None) -> Any:
    """The side's sizes as a float64 numpy array (see ``prices``)."""
    return side.to_numpy()["size"] / float(_scale(side, scale))


def cumulative_depth(side: Any, n: Optional[int] = None, exact: bool = True) -> Any:
    """Cumulative size over the best ``n`` levels (all when None), best first.

    ``exact``: an int64 numpy array of fixed-point sums (FieldRangeError when a
    sum leaves int64); else float64 in size units, each exact sum divided by
    precision_factor and correctly rounded."""
    import numpy as np

    size = side.to_numpy()["size"]
    if n is not None:
        if n < 0:
            raise FieldRangeError(f"cumulative_depth: n must be >= 0, got {n}")
        size = size[:n]
    sums = list(accumulate(size.tolist()))          # at most 128 levels: exact Python ints
    if not exact:
        f = _factor(side.book)
        return np.array([t / f for t in sums], dtype=np.float64)   # each correctly rounded
    for i, t in enumerate(sums):
        if not -_I64_MAX - 1 <= t <= _I64_MAX:
            raise FieldRangeError(f"cumulative_depth: the sum of the best {i + 1} sizes, {t}, "
                                  "leaves int64 (use exact=False)")
    return np.array(sums, dtype=np.int64)
