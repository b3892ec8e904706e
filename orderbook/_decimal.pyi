"""Decimal text <-> fixed point, exact and without floats (orderbook._decimal)."""

from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Sequence, SupportsIndex, Tuple, TypeVar, Union

from orderbook._book import OrderBook

_B = TypeVar("_B", bound=OrderBook)

#: A price or size as a venue sends it, or as a caller has it.
_DecimalLike = Union[str, bytes, bytearray, SupportsIndex, Decimal]
#: ``[price, size]`` or ``[price, size, order_count]`` (list, tuple or sequence).
_DecimalLevel = Union[Sequence[Any], Tuple[_DecimalLike, _DecimalLike], Tuple[_DecimalLike, _DecimalLike, int]]
#: None: exact (extra decimals raise); or a rounding mode.
_Rounding = Optional[str]

__all__ = ["to_fixed", "format_fixed", "to_decimal", "fill_side_from_strings", "from_snapshot",
           "to_snapshot", "ROUNDING_MODES"]

ROUNDING_MODES: Tuple[str, ...]

def to_fixed(value: _DecimalLike, precision_factor: int = ..., *, rounding: _Rounding = ...,
             allow_negative: bool = ...) -> int: ...
def format_fixed(value: int, precision_factor: int = ..., *, strip_zeros: bool = ...) -> str: ...
def to_decimal(value: int, precision_factor: int = ...) -> Decimal: ...
def fill_side_from_strings(book: OrderBook, asks: bool, levels: Iterable[_DecimalLevel], *,
                           precision_factor: Optional[int] = ..., rounding: _Rounding = ...,
                           truncate: bool = ..., sort: bool = ..., allow_negative: bool = ...,
                           order_counts: bool = ...) -> None: ...
def from_snapshot(cls: type[_B], bids: Iterable[_DecimalLevel], asks: Iterable[_DecimalLevel], *,
                  precision_factor: int = ..., rounding: _Rounding = ..., truncate: bool = ...,
                  sort: bool = ..., validate: bool = ..., allow_negative: bool = ...,
                  order_counts: bool = ..., capacity: Optional[int] = ..., snapshot_timestamp_ns: int = ..., sequence: int = ...,
                  asset_id: int = ..., venue_id: int = ..., asset_type: int = ...,
                  reserved: int = ...) -> _B: ...
def to_snapshot(book: OrderBook, *, strip_zeros: bool = ...,
                order_counts: bool = ...) -> Dict[str, List[List[Any]]]: ...
