"""Adapters from venues' public REST depth snapshots to :class:`OrderBook`.

Each adapter takes the *decoded* JSON object (``json.loads`` of the response
body, or of a recorded file) and returns a validated book whose sides are
sorted best first.  Prices and sizes stay decimal text until the exact C
conversion of :func:`orderbook._decimal.from_snapshot` turns them into fixed
point: no float is involved anywhere.

The shapes read, exactly:

Binance spot ``GET /api/v3/depth?symbol=BTCUSDT&limit=100`` (and USDⓈ-M
futures ``GET /fapi/v1/depth``, which add ``"E"`` and ``"T"``)::

    {"lastUpdateId": 1027024,
     "E": 1589436922972, "T": 1589436922959,          # futures only, ms
     "bids": [["4.00000000", "431.00000000"], ...],   # [price, quantity]
     "asks": [["4.00000200", "12.00000000"], ...]}

    sequence     <- lastUpdateId
    timestamp_ns <- T (transaction time), else E (event time), in ms; else 0

Coinbase Exchange ``GET /products/BTC-USD/book?level=2``::

    {"sequence": 3, "time": "2023-10-25T14:40:13.123456Z",   # time: newer responses
     "bids": [["295.96", "4.39088265", 2], ...],     # [price, size, num-orders]
     "asks": [["295.97", "25.23542881", 12], ...],
     "auction_mode": false, "auction": null}

    sequence <- sequence; order_count <- num-orders; timestamp_ns <- time

Coinbase Advanced Trade ``GET /api/v3/brokerage/product_book?product_id=BTC-USD``
(also ``.../market/product_book``)::

    {"pricebook": {"product_id": "BTC-USD",
                   "bids": [{"price": "34356.56", "size": "0.0163"}, ...],
                   "asks": [{"price": "34356.57", "size": "1.2"}, ...],
                   "time": "2023-10-25T14:40:13.123456Z"},
     "last": "...", "mid_market": "...", "spread_bps": "...", "spread_absolute": "..."}

    timestamp_ns <- pricebook.time; no sequence

Kraken ``GET /0/public/Depth?pair=XBTUSD&count=100``::

    {"error": [],
     "result": {"XXBTZUSD": {"asks": [["34356.60000", "0.250", 1698244813], ...],
                             "bids": [["34356.50000", "1.000", 1698244810], ...]}}}

    [price, volume, timestamp]: the timestamp (last change of that level, in
    seconds) is not an order count and is ignored; Kraken gives no snapshot
    sequence or time.  A non-empty "error" list raises VenueError.

Every adapter takes the keyword arguments of ``from_snapshot``:
``precision_factor`` (default 100_000_000, 8 decimals), ``rounding``,
``truncate`` (deeper books raise CapacityError unless ``truncate=True`` keeps
the best 128), ``validate``, ``cls`` (an OrderBook subclass) and the header
fields (``venue_id``, ``asset_id``, ``asset_type``, ``timestamp_ns``,
``sequence``; a value given here wins over the one read from the snapshot).
"""

from __future__ import annotations

import calendar
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Type

from orderbook._book import OrderBook
from orderbook._decimal import from_snapshot
from orderbook.errors import VenueError

__all__ = ["from_binance", "from_coinbase", "from_kraken", "from_venue", "detect_venue",
           "parse_rfc3339_ns", "ADAPTERS"]

# --- shared helpers --------------------------------------------------------------

def _mapping(obj: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise VenueError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _side(obj: Mapping[str, Any], key: str, what: str) -> Sequence[Any]:
    try:
        side = obj[key]
    except KeyError:
        raise VenueError(f"{what}: no {key!r} in the snapshot (keys: {sorted(obj)[:10]})") from None
    if not isinstance(side, (list, tuple)):
        raise VenueError(f"{what}: {key!r} must be a list of levels, got {type(side).__name__}")
    return side


def _int_field(obj: Mapping[str, Any], key: str, what: str) -> Optional[int]:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise VenueError(f"{what}: {key!r} must be an integer, got {type(value).__name__} {value!r}")
    return value


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:\d{2})\Z")


def parse_rfc3339_ns(text: str) -> int:
    """``"2023-10-25T14:40:13.123456Z"`` as integer nanoseconds since the
    epoch, exactly (digits past nanoseconds are cut)."""
    m = _RFC3339.match(text) if isinstance(text, str) else None
    if m is None:
        raise VenueError(f"time {text!r} is not an RFC 3339 timestamp like 2023-10-25T14:40:13.123456Z")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError) as e:
        raise VenueError(f"time {text!r}: {e}") from None
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int(frac.ljust(9, "0"))


def _build(cls: Type[OrderBook], bids: Sequence[Any], asks: Sequence[Any], found: Dict[str, int],
           kwargs: Dict[str, Any], *, order_counts: bool = True) -> OrderBook:
    """from_snapshot with the snapshot's header values, the caller's winning."""
    header: Dict[str, Any] = dict(found)
    header.update(kwargs)
    header.setdefault("order_counts", order_counts)
    return from_snapshot(cls, bids, asks, **header)


# --- Binance -----------------------------------------------------------------------

def from_binance(obj: Any, *, cls: Type[OrderBook] = OrderBook, **kwargs: Any) -> OrderBook:
    """A book from a Binance ``/api/v3/depth`` (or ``/fapi/v1/depth``) response."""
    what = "binance depth"
    snap = _mapping(obj, what)
    found: Dict[str, int] = {}
    seq = _int_field(snap, "lastUpdateId", what)
    if seq is not None:
        found["sequence"] = seq
    ms = _int_field(snap, "T", what)
    if ms is None:
        ms = _int_field(snap, "E", what)
    if ms is not None:
        found["timestamp_ns"] = ms * 1_000_000
    return _build(cls, _side(snap, "bids", what), _side(snap, "asks", what), found, kwargs)


# --- Coinbase ----------------------------------------------------------------------

def _dict_levels(side: Sequence[Any], name: str, what: str) -> List[Tuple[Any, Any]]:
    out = []
    for i, level in enumerate(side):
        if not isinstance(level, Mapping) or "price" not in level or "size" not in level:
            raise VenueError(f"{what}: {name}[{i}] must be an object with 'price' and 'size', got {level!r}")
        out.append((level["price"], level["size"]))
    return out


def from_coinbase(obj: Any, *, cls: Type[OrderBook] = OrderBook, **kwargs: Any) -> OrderBook:
    """A book from a Coinbase Exchange ``/products/{id}/book?level=2`` response
    (levels ``[price, size, num-orders]``) or an Advanced Trade
    ``product_book`` response (``{"pricebook": {...}}``)."""
    what = "coinbase book"
    snap = _mapping(obj, what)
    found: Dict[str, int] = {}
    if "pricebook" in snap:
        book = _mapping(snap["pricebook"], what + " pricebook")
        bids = _dict_levels(_side(book, "bids", what), "bids", what)
        asks = _dict_levels(_side(book, "asks", what), "asks", what)
        if isinstance(book.get("time"), str):
            found["timestamp_ns"] = parse_rfc3339_ns(book["time"])
        return _build(cls, bids, asks, found, kwargs)
    seq = _int_field(snap, "sequence", what)
    if seq is not None:
        found["sequence"] = seq
    if isinstance(snap.get("time"), str):
        found["timestamp_ns"] = parse_rfc3339_ns(snap["time"])
    return _build(cls, _side(snap, "bids", what), _side(snap, "asks", what), found, kwargs)


# --- Kraken ------------------------------------------------------------------------

def from_kraken(obj: Any, pair: Optional[str] = None, *, cls: Type[OrderBook] = OrderBook,
                **kwargs: Any) -> OrderBook:
    """A book from a Kraken ``/0/public/Depth`` response.  ``pair`` picks the
    result key (``"XXBTZUSD"``); it may be left out when there is one."""
    what = "kraken depth"
    snap = _mapping(obj, what)
    errors = snap.get("error") or []
    if errors:
        raise VenueError(f"{what}: the response reports errors: {', '.join(map(str, errors))}")
    result = _mapping(snap.get("result"), what + " result")
    if pair is None:
        if len(result) != 1:
            raise VenueError(f"{what}: the result holds {len(result)} pairs "
                             f"({', '.join(sorted(result)) or 'none'}); pass pair=")
        pair = next(iter(result))
    elif pair not in result:
        raise VenueError(f"{what}: no pair {pair!r} in the result (pairs: {', '.join(sorted(result))})")
    book = _mapping(result[pair], f"{what} result[{pair!r}]")
    # [price, volume, timestamp]: the third item is not an order count
    return _build(cls, _side(book, "bids", what), _side(book, "asks", what), {}, kwargs,
                  order_counts=False)


# --- by name --------------------------------------------------------------------------

#: venue name -> adapter
ADAPTERS: Dict[str, Callable[..., OrderBook]] = {
    "binance": from_binance,
    "coinbase": from_coinbase,
    "kraken": from_kraken,
}


def detect_venue(obj: Any) -> str:
    """The venue whose depth shape ``obj`` has: ``"binance"`` (lastUpdateId),
    ``"kraken"`` (error + result) or ``"coinbase"`` (pricebook, or bids with
    a sequence).  Raises VenueError when it is none of them."""
    if isinstance(obj, Mapping):
        if "lastUpdateId" in obj:
            return "binance"
        if "result" in obj and "error" in obj:
            return "kraken"
        if "pricebook" in obj or ("bids" in obj and "sequence" in obj):
            return "coinbase"
    keys = sorted(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
    raise VenueError(f"not a depth snapshot of a known venue (binance, coinbase, kraken): {keys}")


def from_venue(venue: Optional[str], obj: Any, **kwargs: Any) -> OrderBook:
    """``ADAPTERS[venue](obj, **kwargs)``; ``venue=None`` detects it."""
    name = detect_venue(obj) if venue is None else venue
    try:
        adapter = ADAPTERS[name]
    except KeyError:
        raise VenueError(f"unknown venue {venue!r}; known: {', '.join(ADAPTERS)}") from None
    return adapter(obj, **kwargs)
