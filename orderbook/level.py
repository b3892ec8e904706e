"""The Python-side value of one price level, and its numpy dtype."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["OrderLevel", "level_dtype"]


class OrderLevel(NamedTuple):
    """One price level, as stored on the wire: fixed-point ``price`` and
    ``size`` (value × precision_factor), the venue's ``order_count`` (0 when
    not reported) and a ``reserved`` word preserved as read."""

    price: int
    size: int
    order_count: int = 0
    reserved: int = 0


_DTYPE: Any = None


def level_dtype() -> Any:
    """The numpy structured dtype of one ``OrderLevel`` slot (needs numpy).

    Built from the struct's own PEP 3118 export, so its itemsize and field
    offsets are whatever the C struct has (tests compare them with the Rust
    layout)."""
    global _DTYPE
    if _DTYPE is None:
        try:
            import numpy as np  # noqa: F401  (numpy builds the dtype from the export)
        except ImportError as e:
            raise ModuleNotFoundError(
                "LEVEL_DTYPE and to_numpy() need numpy, an optional dependency: install it "
                "with the numpy extra, pip install 'orderbook-tlv[numpy]' (or pip install numpy)",
                name="numpy") from e

        from orderbook._book import OrderBook

        # A 0-length side exports the struct format without any data.
        _DTYPE = np.asarray(OrderBook().bids).dtype
    return _DTYPE
