"""Exact numpy structured dtypes of the wire structs (needs numpy).

Every dtype here has the itemsize and the field offsets of the wire layout,
unaligned fields included, so ``numpy.frombuffer`` over captured bytes is a
zero-copy array of books or messages::

    msgs = np.frombuffer(capture_bytes, dtype=message_dtype(128))
    msgs["book"]["bids"]["elements"]["price"]      # (n, 128) int64 view

The offsets are not typed in by hand: they come from ``orderbook.layout(capacity)``
(itself read from the C structs, and tested against rustc's ``layout.json``).
Every integer is explicitly little-endian (``<i8``, ``<u4``, ...).

Field names are upstream's at every level:

- ``level_dtype()``: ``price``, ``size``, ``order_count``, ``reserved`` (24 bytes);
- ``levels_dtype(N)`` (``FixedVec<OrderLevel, N>``): ``count``, ``_padding``
  (6 bytes), ``elements`` (N levels);
- ``book_dtype(N)`` (``OrderBookTLV``): ``snapshot_timestamp_ns``, ``sequence``,
  ``precision_factor``, ``asset_id``, ``venue_id``, ``asset_type``, ``reserved``,
  ``_padding`` (rustc's 4 bytes before the sides), ``bids``, ``asks``;
- ``header_dtype()`` (``MessageHeader``, 32 bytes): ``magic``, ``relay_domain``,
  ``version``, ``source``, ``flags``, ``sequence``, ``timestamp``,
  ``payload_size``, ``checksum``;
- ``tlv_dtype()``: the 5-byte extended TLV header before the book: ``marker``
  (255), ``reserved`` (0), ``type`` (3 for OrderBook), ``length`` (the book's
  size).  Upstream's struct has no Rust name for these bytes (its builder
  writes them); the names follow the C API's ``ExtendedTLVHeaderC``, with
  ``type`` for ``tlv_type``;
- ``message_dtype(N)``: ``header`` (at 0), ``tlv`` (at 32), ``book`` (at 37,
  not 8-aligned): a message that holds exactly one OrderBook record, as
  ``encode_message`` writes it.

The dtypes are built once per capacity and cached (the same object is returned).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Tuple

from orderbook._layout import HEADER_SIZE, book_size, layout, message_size

__all__ = ["level_dtype", "levels_dtype", "book_dtype", "header_dtype", "tlv_dtype", "message_dtype",
           "BOOK_FIELDS", "HEADER_FIELDS"]

#: the book's scalar fields, in wire order (upstream's names)
BOOK_FIELDS = ("snapshot_timestamp_ns", "sequence", "precision_factor", "asset_id", "venue_id",
               "asset_type", "reserved")
#: the message header's fields, in wire order
HEADER_FIELDS = ("magic", "relay_domain", "version", "source", "flags", "sequence", "timestamp",
                 "payload_size", "checksum")

# The wire types of the fields (the offsets come from layout()).
_BOOK_TYPES = {"snapshot_timestamp_ns": "<u8", "sequence": "<u8", "precision_factor": "<i8",
               "asset_id": "<u8", "venue_id": "<u2", "asset_type": "u1", "reserved": "u1"}
_HEADER_TYPES = {"magic": "<u4", "relay_domain": "u1", "version": "u1", "source": "u1", "flags": "u1",
                 "sequence": "<u8", "timestamp": "<u8", "payload_size": "<u4", "checksum": "<u4"}
# The extended TLV header: 255, 0, type, u16 length (structs.pxd ExtendedTLVHeaderC).
_TLV_FIELDS: List[Tuple[str, str, int]] = [("marker", "u1", 0), ("reserved", "u1", 1),
                                           ("type", "u1", 2), ("length", "<u2", 3)]


def _np() -> Any:
    try:
        import numpy
    except ImportError as e:  # pragma: no cover - exercised only without numpy
        raise ImportError("orderbook.dtypes needs numpy: pip install 'orderbook[numpy]'") from e
    return numpy


def _make(fields: List[Tuple[str, Any, int]], itemsize: int) -> Any:
    np = _np()
    return np.dtype({"names": [f[0] for f in fields], "formats": [f[1] for f in fields],
                     "offsets": [f[2] for f in fields], "itemsize": itemsize})


def _capacity(capacity: Any) -> int:
    # layout() refuses anything but 128 / 50 with the library's CapacityError
    return int(layout(capacity)["MAX_ORDER_LEVELS"])


@lru_cache(maxsize=None)
def level_dtype() -> Any:
    """One ``OrderLevel`` (24 bytes): equal to ``orderbook.LEVEL_DTYPE``."""
    lv = layout()["OrderLevel"]
    return _make([("price", "<i8", lv["price"]), ("size", "<i8", lv["size_field"]),
                  ("order_count", "<u4", lv["order_count"]), ("reserved", "<u4", lv["reserved"])],
                 lv["size"])


def levels_dtype(capacity: int = 128) -> Any:
    """One side, ``FixedVec<OrderLevel, capacity>`` (8 + 24 * capacity bytes)."""
    return _levels_dtype(_capacity(capacity))


@lru_cache(maxsize=None)
def _levels_dtype(capacity: int) -> Any:
    fv = layout(capacity)["FixedVec"]
    return _make([("count", "<u2", fv["count"]),
                  ("_padding", ("u1", fv["elements"] - fv["_padding"]), fv["_padding"]),
                  ("elements", (level_dtype(), (capacity,)), fv["elements"])], fv["size"])


def book_dtype(capacity: int = 128) -> Any:
    """``OrderBookTLV`` at ``capacity`` (6,200 bytes at 128, 2,456 at 50)."""
    return _book_dtype(_capacity(capacity))


@lru_cache(maxsize=None)
def _book_dtype(capacity: int) -> Any:
    ob = layout(capacity)["OrderBookTLV"]
    fields: List[Tuple[str, Any, int]] = [(name, _BOOK_TYPES[name], ob[name]) for name in BOOK_FIELDS]
    pad_at = ob["reserved"] + 1                     # reserved is a u8
    if ob["bids"] > pad_at:
        fields.append(("_padding", ("u1", ob["bids"] - pad_at), pad_at))
    side = _levels_dtype(capacity)
    fields += [("bids", side, ob["bids"]), ("asks", side, ob["asks"])]
    dt = _make(fields, ob["size"])
    assert dt.itemsize == book_size(capacity)
    return dt


@lru_cache(maxsize=None)
def header_dtype() -> Any:
    """``MessageHeader`` (32 bytes)."""
    mh = layout()["MessageHeader"]
    return _make([(name, _HEADER_TYPES[name], mh[name]) for name in HEADER_FIELDS], mh["size"])


@lru_cache(maxsize=None)
def tlv_dtype() -> Any:
    """The extended TLV header (5 bytes): ``marker``, ``reserved``, ``type``, ``length``."""
    size = message_size() - HEADER_SIZE - book_size()
    return _make(list(_TLV_FIELDS), size)


def message_dtype(capacity: int = 128) -> Any:
    """A message holding one OrderBook record: ``header`` at 0, ``tlv`` at 32,
    ``book`` at 37 (6,237 bytes at capacity 128, 2,493 at 50)."""
    return _message_dtype(_capacity(capacity))


@lru_cache(maxsize=None)
def _message_dtype(capacity: int) -> Any:
    hdr, tlv, book = header_dtype(), tlv_dtype(), _book_dtype(capacity)
    dt = _make([("header", hdr, 0), ("tlv", tlv, hdr.itemsize),
                ("book", book, hdr.itemsize + tlv.itemsize)], message_size(capacity))
    assert dt.itemsize == hdr.itemsize + tlv.itemsize + book.itemsize
    return dt


def offsets(dtype: Any, prefix: str = "") -> Dict[str, int]:
    """Every field's byte offset in ``dtype``, nested names joined by dots
    (for tests and docs): ``offsets(message_dtype())["book.bids.count"] == 77``."""
    out: Dict[str, int] = {}
    if dtype.names is None:
        return out
    for name in dtype.names:
        sub, off = dtype.fields[name][:2]
        key = prefix + name
        out[key] = off
        base = sub.base if sub.shape else sub
        for k, v in offsets(base, key + ".").items():
            out[k] = off + v
    return out
