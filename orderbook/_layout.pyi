"""Type stubs for orderbook._layout (sizes and offsets at each capacity)."""

from typing import Any, Dict, SupportsIndex, Tuple

MAX_ORDER_LEVELS: int
CAPACITIES: Tuple[int, int]
ORDER_LEVEL_SIZE: int
ORDER_BOOK_SIZE: int
HEADER_SIZE: int
MESSAGE_SIZE: int

def book_size(capacity: SupportsIndex = 128) -> int:
    """Bytes of an OrderBookTLV of ``capacity`` slots per side (6,200 or 2,456)."""
def message_size(capacity: SupportsIndex = 128) -> int:
    """Bytes of a message holding one book of ``capacity`` (6,237 or 2,493)."""
def layout(capacity: SupportsIndex = 128) -> Dict[str, Any]:
    """Sizes and field offsets of the C structs, keyed like golden/layout.json."""
