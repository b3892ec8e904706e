"""The exception hierarchy: every error raised on bad input derives from
:class:`OrderBookError` and from the closest builtin, so existing
``except ValueError`` / ``except OverflowError`` handlers keep working."""

from __future__ import annotations

from typing import Any, Optional, Tuple

__all__ = [
    "OrderBookError",
    "CapacityError",
    "ValidationError",
    "FieldRangeError",
    "FieldTypeError",
    "DecimalError",
    "VenueError",
    "IdentifierError",
    "LayoutError",
    "ReadOnlyError",
    "ExportError",
    "ReleasedError",
    "OffsetError",
    "LevelIndexError",
    "ProtocolError",
    "TruncatedError",
    "ChecksumError",
    "MagicError",
    "VersionError",
    "RecordError",
    "MissingRecordError",
]


class OrderBookError(Exception):
    """Base of every error the library raises on bad input or misuse."""


class CapacityError(OrderBookError, ValueError):
    """A side would hold more than ``capacity`` levels."""

    def __init__(self, message: str, capacity: int, attempted: int) -> None:
        super().__init__(message)
        self.capacity = capacity
        self.attempted = attempted

    def __reduce__(self) -> Tuple[Any, ...]:  # keep the extra fields through pickling
        return (type(self), (self.args[0], self.capacity, self.attempted))


class ValidationError(OrderBookError, ValueError):
    """A book breaks one of the rules checked by ``OrderBook.validate()``.

    ``rule`` names the rule, ``side`` is ``"bids"``, ``"asks"`` or ``None``
    (crossed book), ``index`` the level where it broke.
    """

    def __init__(
        self, message: str, rule: str, side: Optional[str] = None, index: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.side = side
        self.index = index

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.args[0], self.rule, self.side, self.index))

    @property
    def upstream(self) -> Optional[str]:
        """The message upstream's ``OrderBookTLV::validate()`` returns for the
        same book, or None for a rule upstream does not check."""
        if self.rule == "bids_descending":
            return "Bids not in descending price order"
        if self.rule == "asks_ascending":
            return "Asks not in ascending price order"
        if self.rule in ("positive_price", "positive_size"):
            return f"Invalid {'ask' if self.side == 'asks' else 'bid'} price or size"
        if self.rule == "crossed":
            return "Best ask price below best bid price"
        return None


class FieldRangeError(OrderBookError, OverflowError):
    """An integer does not fit the wire field it is assigned to."""


class FieldTypeError(OrderBookError, TypeError):
    """A value of the wrong type was given for a field or a level."""


class DecimalError(OrderBookError, ValueError):
    """Decimal text (or a Decimal, or an int) that does not convert exactly to
    the book's fixed point: empty, a sign where none is allowed, an exponent,
    junk characters, more decimals than precision_factor allows (without
    ``rounding=``), or a precision_factor that is not a power of ten.  Values
    outside i64 raise FieldRangeError instead."""


class VenueError(OrderBookError, ValueError):
    """A venue response (orderbook.venues) that is not the documented depth
    snapshot shape, or that reports an error of its own."""


class IdentifierError(OrderBookError, ValueError):
    """Text that does not make an upstream identifier (orderbook.ids): a
    token address that is not 40 hex digits, a symbol that is not UTF-8."""


class LayoutError(OrderBookError, ValueError):
    """Book bytes that no writer could have produced: a side count above the
    capacity, or (strict mode) nonzero padding or unused slots; or a view asked
    to hold a book of another capacity."""


class ReadOnlyError(OrderBookError, BufferError):
    """Mutation of a book that views read-only memory."""


class ExportError(OrderBookError, BufferError, ValueError):
    """A buffer that cannot be taken as one contiguous block (or a released
    memoryview), or a view that cannot move or be released while memoryviews /
    arrays of it are alive.  A BufferError, and a ValueError as CPython raises
    for released memoryviews."""


class ReleasedError(OrderBookError, ValueError):
    """Use of a view after ``release()``."""


class OffsetError(OrderBookError, IndexError):
    """A negative offset into a buffer."""


class LevelIndexError(OrderBookError, IndexError):
    """An index past the levels in use on a side."""


class ProtocolError(OrderBookError, ValueError):
    """A message or buffer that does not follow the wire format."""


class TruncatedError(ProtocolError):
    """The buffer ends before the bytes the format requires.

    ``offset`` is where the missing part starts, ``needed`` how many bytes
    were required from there and ``available`` how many there were.
    """

    def __init__(self, message: str, offset: int = 0, needed: int = 0, available: int = 0) -> None:
        super().__init__(message)
        self.offset = offset
        self.needed = needed
        self.available = available

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.args[0], self.offset, self.needed, self.available))


class ChecksumError(ProtocolError):
    """The CRC-32 in the header does not match the bytes."""

    def __init__(self, message: str, expected: int = 0, found: int = 0) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.args[0], self.expected, self.found))


class MagicError(ProtocolError):
    """The header does not start with 0xDEADBEEF."""


class VersionError(ProtocolError):
    """The header carries a protocol version this library does not read."""


class RecordError(ProtocolError):
    """A malformed TLV record: past payload_size, bad reserved byte, or an
    OrderBook record of the wrong length."""


class MissingRecordError(ProtocolError):
    """The message holds no OrderBook record."""
