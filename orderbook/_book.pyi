"""Type stubs for orderbook._book (the OrderBook class)."""

import sys
from typing import (
    Any, ClassVar, Dict, Iterable, Iterator, List, Literal, Optional, Sequence, SupportsIndex, Tuple,
    Union, overload,
)

from decimal import Decimal
from fractions import Fraction

import numpy
import numpy.typing as npt
from typing_extensions import Self, TypeAlias

from orderbook._levels import Levels
from orderbook.ids import InstrumentId
from orderbook.level import OrderLevel

if sys.version_info >= (3, 12):
    from collections.abc import Buffer as _Buffer
else:
    # The same Protocol (__buffer__), from the stubs every type checker bundles;
    # never imported at run time.
    from typing_extensions import Buffer as _Buffer

# Anything exporting the buffer protocol: bytes, bytearray, memoryview, mmap,
# array.array, shared memory, a book or a side.  numpy declares ndarray's
# __buffer__ for Python >= 3.12 only, hence the explicit ndarray.
_ReadableBuffer: TypeAlias = Union[_Buffer, npt.NDArray[Any]]
# Same, for parameters that must be writable (checked at run time: ReadOnlyError).
_WritableBuffer: TypeAlias = Union[_Buffer, npt.NDArray[Any]]
# (price, size[, order_count[, reserved]]) as a tuple (OrderLevel is one) or a list.
_LevelLike: TypeAlias = Union[Tuple[SupportsIndex, ...], List[SupportsIndex]]
# A side's levels: an iterable of _LevelLike, another side (Levels), or a numpy
# array, (n, 2..4) int64 or LEVEL_DTYPE records (ndarray iterates as Any).
_LevelsLike: TypeAlias = Union[Iterable[_LevelLike], Levels, npt.NDArray[Any]]
# 128 (the default) or 50 slots per side
_Capacity: TypeAlias = SupportsIndex

class OrderBook:
    """An order book snapshot: the bytes of the Rust ``OrderBookTLV`` (6,200 at
    capacity 128, 2,456 at capacity 50)."""

    def __init__(
        self,
        bids: _LevelsLike = (),
        asks: _LevelsLike = (),
        *,
        snapshot_timestamp_ns: SupportsIndex = 0,
        sequence: SupportsIndex = 0,
        precision_factor: SupportsIndex = 100_000_000,
        asset_id: SupportsIndex = 0,
        venue_id: SupportsIndex = 0,
        asset_type: SupportsIndex = 0,
        reserved: SupportsIndex = 0,
        capacity: _Capacity = 128,
        truncate: bool = False,
    ) -> None: ...

    # -- construction and parsing
    @classmethod
    def from_bytes(cls, data: _ReadableBuffer, offset: SupportsIndex = 0, *, capacity: _Capacity = 128,
                   strict: bool = False) -> Self:
        """A new owning book copied from the book's bytes at ``offset``."""
    @classmethod
    def view(cls, buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, capacity: _Capacity = 128,
             strict: bool = False) -> Self:
        """A book whose storage is the book's bytes at ``offset`` of ``buffer`` (no copy)."""
    def rebind(self, buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, strict: bool = False) -> None:
        """Re-point this book at another buffer of the same capacity; no allocation."""
    def release(self) -> None:
        """Drop the viewed buffer now (a no-op for an owning book)."""
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> Literal[False]: ...
    def load_from(self, buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, strict: bool = False) -> None:
        """Copy the book's bytes at ``offset`` of ``buffer`` into this book (its own capacity)."""
    def pack_into(self, buffer: _WritableBuffer, offset: SupportsIndex = 0) -> None:
        """Write the book's bytes into a writable ``buffer`` at ``offset``."""
    def __bytes__(self) -> bytes: ...
    def to_bytes(self) -> bytes:
        """The book's wire bytes (same as ``bytes(book)``), padding and unused slots zero."""
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...

    # -- levels
    @property
    def capacity(self) -> int:
        """Slots per side: 128 or 50."""
    @property
    def nbytes(self) -> int:
        """Bytes of the struct: 6,200 at capacity 128, 2,456 at 50."""
    @property
    def bids(self) -> Levels:
        """Zero-copy view of the bid side (best, highest price first)."""
    @property
    def asks(self) -> Levels:
        """Zero-copy view of the ask side (best, lowest price first)."""
    def set_bids(self, levels: _LevelsLike, *, truncate: bool = False) -> None:
        """Replace the bids from (price, size[, count]) items or an array."""
    def set_asks(self, levels: _LevelsLike, *, truncate: bool = False) -> None:
        """Replace the asks from (price, size[, count]) items or an array."""
    # -- decimal text (orderbook._decimal): exact, no float ----------------------
    @classmethod
    def from_snapshot(
        cls,
        bids: Iterable[Sequence[Any]],
        asks: Iterable[Sequence[Any]],
        *,
        precision_factor: SupportsIndex = 100_000_000,
        rounding: Optional[str] = None,
        truncate: bool = False,
        sort: bool = True,
        validate: bool = True,
        allow_negative: bool = False,
        order_counts: bool = True,
        capacity: _Capacity = 128,
        snapshot_timestamp_ns: SupportsIndex = ...,
        sequence: SupportsIndex = ...,
        asset_id: SupportsIndex = ...,
        venue_id: SupportsIndex = ...,
        asset_type: SupportsIndex = ...,
        reserved: SupportsIndex = ...,
    ) -> Self:
        """A book from a venue's decimal levels (``[price, size[, order_count]]``
        as str, bytes, int or Decimal), converted exactly."""
    def set_bids_from_strings(self, levels: Iterable[Sequence[Any]], *, rounding: Optional[str] = None,
                              truncate: bool = False, sort: bool = True, allow_negative: bool = False,
                              order_counts: bool = True) -> None:
        """Replace the bids from decimal levels at this book's precision_factor."""
    def set_asks_from_strings(self, levels: Iterable[Sequence[Any]], *, rounding: Optional[str] = None,
                              truncate: bool = False, sort: bool = True, allow_negative: bool = False,
                              order_counts: bool = True) -> None:
        """Replace the asks from decimal levels at this book's precision_factor."""
    def to_snapshot(self, *, strip_zeros: bool = False,
                    order_counts: bool = False) -> Dict[str, List[List[Any]]]:
        """The levels as exact decimal text: ``{"bids": [[price, size], ...], "asks": [...]}``."""
    def add_bid(self, price: SupportsIndex, size: SupportsIndex, order_count: SupportsIndex = 0) -> None:
        """Insert a bid as upstream's add_bid: before the first lower price."""
    def add_ask(self, price: SupportsIndex, size: SupportsIndex, order_count: SupportsIndex = 0) -> None:
        """Insert an ask as upstream's add_ask: before the first higher price."""
    def clear(self) -> None:
        """Empty both sides (every slot zeroed); header fields are kept."""
    @property
    def best_bid(self) -> Optional[OrderLevel]:
        """The best bid as an OrderLevel, or None when there are no bids."""
    @property
    def best_ask(self) -> Optional[OrderLevel]:
        """The best ask as an OrderLevel, or None when there are no asks."""
    @property
    def spread_bps(self) -> Optional[int]:
        """upstream's ``(ask - bid) * 10000 / ((bid + ask) / 2)`` truncating toward
        zero (exact where upstream would overflow); None when a side is empty or
        the mid is not positive."""
    def mid(self, exact: bool = True) -> Union[Decimal, Fraction, float, None]:
        """``(best bid + best ask) / 2`` in price units, exact unless ``exact=False``."""
    def spread(self, exact: bool = True) -> Union[Decimal, Fraction, float, None]:
        """``best ask - best bid`` in price units, exact unless ``exact=False``."""
    def validate(self) -> None:
        """Raise ValidationError naming the first broken rule and level, in upstream's order."""

    # -- header fields (range checked on assignment: FieldRangeError)
    @property
    def snapshot_timestamp_ns(self) -> int:
        """u64, when the venue took the snapshot (ns since the epoch)."""
    @snapshot_timestamp_ns.setter
    def snapshot_timestamp_ns(self, value: SupportsIndex) -> None: ...
    @property
    def sequence(self) -> int:
        """u64, the book's sequence number."""
    @sequence.setter
    def sequence(self, value: SupportsIndex) -> None: ...
    @property
    def precision_factor(self) -> int:
        """i64, the fixed-point scale (100_000_000 for 8 decimals)."""
    @precision_factor.setter
    def precision_factor(self, value: SupportsIndex) -> None: ...
    @property
    def asset_id(self) -> int:
        """u64, the instrument's asset_id."""
    @asset_id.setter
    def asset_id(self, value: SupportsIndex) -> None: ...
    @property
    def venue_id(self) -> int:
        """u16, upstream's VenueId."""
    @venue_id.setter
    def venue_id(self, value: SupportsIndex) -> None: ...
    @property
    def asset_type(self) -> int:
        """u8, upstream's AssetType."""
    @asset_type.setter
    def asset_type(self, value: SupportsIndex) -> None: ...
    @property
    def reserved(self) -> int:
        """u8 reserved byte, preserved as read."""
    @reserved.setter
    def reserved(self, value: SupportsIndex) -> None: ...
    @property
    def instrument(self) -> InstrumentId:
        """(asset_id, venue_id, asset_type, reserved) as an InstrumentId; settable."""
    @instrument.setter
    def instrument(self, value: InstrumentId) -> None: ...
    @property
    def readonly(self) -> bool:
        """True when this book views read-only memory."""
    @property
    def is_view(self) -> bool:
        """True when the storage is a caller's buffer rather than the object."""

    # -- Python protocols
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reduce__(self) -> Tuple[Any, ...]: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Optional[Dict[int, Any]], /) -> Self: ...
