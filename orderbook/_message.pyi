"""Type stubs for orderbook._message (Protocol V2 messages and CRC-32)."""

from typing import (
    Any, ClassVar, Dict, Iterator, Literal, Optional, SupportsIndex, Tuple, TypeVar, Union, overload,
)

import os

from _typeshed import SupportsRead

from orderbook._stream import _Scan

from orderbook._book import OrderBook, _ReadableBuffer, _WritableBuffer

_M = TypeVar("_M", bound="Message")
_B = TypeVar("_B", bound=OrderBook)
_Into = TypeVar("_Into", "Message", OrderBook)    # what into= is refilled and yielded as

TLV_ORDER_BOOK: int
MAGIC: int
PROTOCOL_VERSION: int

def crc32(data: _ReadableBuffer, value: int = 0, /) -> int:
    """CRC-32 (IEEE 802.3), equal to ``zlib.crc32(data, value)`` for every input."""

def crc32_implementation() -> str:
    """Name of the CRC-32 kernel selected for this CPU."""

class MessageHeader:
    """The 32-byte Protocol V2 header, fields named as on the wire."""

    @property
    def magic(self) -> int: ...
    @property
    def relay_domain(self) -> int:
        """0 MarketData, 1 Signal, 2 Execution, 3 System."""
    @property
    def version(self) -> int: ...
    @property
    def source(self) -> int:
        """Source service id."""
    @property
    def flags(self) -> int: ...
    @property
    def sequence(self) -> int:
        """Per-source message sequence."""
    @property
    def timestamp(self) -> int:
        """Nanoseconds since the epoch."""
    @property
    def payload_size(self) -> int:
        """Bytes of TLV records after the header."""
    @property
    def relay_domain_name(self) -> str:
        """upstream's name of relay_domain, or the number as text."""
    @property
    def source_name(self) -> str:
        """upstream's name of source, or the number as text."""
    @property
    def checksum(self) -> int:
        """CRC-32 over header bytes [0, 28) and the payload."""
    def to_dict(self) -> Dict[str, int]:
        """The fields as a dict (the shape of the golden JSON ``message`` object)."""
    def __bytes__(self) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reduce__(self) -> Tuple[Any, ...]: ...

class Message:
    """A decoded message: ``header`` (MessageHeader) and ``book`` (OrderBook)."""

    def __init__(self, book: Optional[OrderBook] = None) -> None: ...
    @property
    def header(self) -> MessageHeader: ...
    @property
    def book(self) -> OrderBook: ...
    @property
    def nbytes(self) -> int:
        """Bytes the message occupies: header plus payload_size."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __reduce__(self) -> Tuple[Any, ...]: ...

@overload
def decode_message(
    buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, verify: bool = True, into: None = None,
    copy: bool = True,
) -> Message: ...
@overload
def decode_message(
    buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, verify: bool = True, into: _M,
    copy: bool = True,
) -> _M: ...
@overload
def decode_message(
    buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, verify: bool = True, into: _B,
    copy: bool = True,
) -> _B: ...
@overload
def decode_message(
    buffer: _ReadableBuffer, offset: SupportsIndex = 0, *, verify: bool = True,
    into: Union[Message, OrderBook, None], copy: bool = True,
) -> Union[Message, OrderBook]: ...

def encode_message(
    book: OrderBook, *, sequence: SupportsIndex = 0, timestamp_ns: Optional[SupportsIndex] = None,
    source: SupportsIndex = 0, relay_domain: SupportsIndex = 0, flags: SupportsIndex = 0,
) -> bytes:
    """The 6,237-byte message holding ``book`` as one extended OrderBook record."""

def encode_message_into(
    buffer: _WritableBuffer, offset: SupportsIndex, book: OrderBook, *, sequence: SupportsIndex = 0,
    timestamp_ns: Optional[SupportsIndex] = None, source: SupportsIndex = 0,
    relay_domain: SupportsIndex = 0, flags: SupportsIndex = 0,
) -> int:
    """Write the message into a writable ``buffer`` at ``offset``; return the
    number of bytes written (6,237).  Allocates nothing."""

@overload
def iter_messages(
    source: Union[_ReadableBuffer, str, "os.PathLike[str]", SupportsRead[bytes]], *, verify: bool = True,
    copy: bool = True, stop_on_truncated: bool = False, into: None = None, resync: bool = False,
    max_payload: Optional[SupportsIndex] = None,
) -> "_Scan[Message]": ...
@overload
def iter_messages(
    source: Union[_ReadableBuffer, str, "os.PathLike[str]", SupportsRead[bytes]], *, verify: bool = True,
    copy: bool = True, stop_on_truncated: bool = False, into: _Into, resync: bool = False,
    max_payload: Optional[SupportsIndex] = None,
) -> "_Scan[_Into]": ...

# --- CRC-32 kernels, for tests and benchmarks ---------------------------------------

def _crc32_kernels() -> list[str]:
    """Names of the CRC-32 kernels this CPU and build can run, best last."""

def _crc32_with(name: str, data: _ReadableBuffer, value: int = 0) -> int:
    """``crc32(data, value)`` computed by the named kernel (ValueError when unavailable)."""
