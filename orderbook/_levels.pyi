"""Type stubs for orderbook._levels (the side views of a book)."""

from typing import Any, ClassVar, Iterator, List, Literal, Optional, SupportsIndex, Tuple, overload

import numpy

from orderbook._book import OrderBook
from orderbook.level import OrderLevel

LEVEL_FORMAT: str

class Levels:
    """One side of a book: a sequence of OrderLevel values sharing the book's
    memory, and a buffer exporter (PEP 3118 struct format, shape (count,))."""

    # Obtained from OrderBook.bids / OrderBook.asks only (the constructor raises).
    @property
    def book(self) -> OrderBook:
        """The book this side belongs to (kept alive by the view)."""
    @property
    def name(self) -> Literal["bids", "asks"]:
        """"bids" or "asks"."""
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, key: SupportsIndex, /) -> OrderLevel: ...
    @overload
    def __getitem__(self, key: slice, /) -> List[OrderLevel]: ...
    def __iter__(self) -> Iterator[OrderLevel]: ...
    def tolist(self) -> List[OrderLevel]:
        """The levels as a list of OrderLevel values (a copy)."""
    def tuples(self) -> List[Tuple[int, int, int, int]]:
        """The levels as plain (price, size, order_count, reserved) tuples: the
        fastest way to visit every level from Python."""
    def prices(self, scale: Optional[SupportsIndex] = None) -> "numpy.ndarray[Tuple[int], numpy.dtype[numpy.float64]]":
        """The prices as float64, divided by ``scale`` (default the book's precision_factor)."""
    def sizes(self, scale: Optional[SupportsIndex] = None) -> "numpy.ndarray[Tuple[int], numpy.dtype[numpy.float64]]":
        """The sizes as float64 (see ``prices``)."""
    def cumulative_depth(self, n: Optional[SupportsIndex] = None, exact: bool = True) -> "numpy.ndarray[Tuple[int], Any]":
        """Cumulative size over the best ``n`` levels."""
    def to_numpy(self) -> numpy.ndarray[Tuple[int], numpy.dtype[numpy.void]]:
        """A numpy array of LEVEL_DTYPE sharing this side's memory."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reduce__(self) -> Tuple[Any, ...]: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...
