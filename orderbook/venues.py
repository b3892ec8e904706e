"""Adapters from venues' public REST depth snapshots to :class:`OrderBook`.

Each adapter takes the *decoded* JSON object (``json.loads`` of the response
body, or of a recorded file) and returns a validated book whose sides are
sorted best first.  Prices and sizes stay decimal text until the exact C
conversion of :func:`orderbook._decimal.from_snapshot` turns them into fixed
point: no float is involved anywhere.

Identifiers are upstream's (:mod:`orderbook.ids`):

* ``venue_id`` is the venue's ``VenueId``: Binance 100, Kraken 101, Coinbase 102.
* ``symbol=`` (e.g. ``"BTCUSDT"``) sets ``asset_id`` and ``asset_type`` from
  ``InstrumentId.coin(venue_id, symbol)``.  Without it, the instrument comes
  from the response when the response names it -- Kraken's result key
  (``"XXBTZUSD"``) and Coinbase Advanced Trade's ``pricebook.product_id``
  (``"BTC-USD"``) -- and is left 0 (unknown) otherwise: Binance's and Coinbase
  Exchange's depth responses do not say which product they are.
* The message ``source`` is a *header* field, set when the book is encoded,
  not a book field.  Every adapter carries its collector as attributes
  (``from_binance.source is SourceType.BINANCE_COLLECTOR``, ``.venue_id``),
  ``SOURCES`` maps venue names to them, and :func:`default_source` gives the
  source for a venue name, a venue id or a book::

      book = from_binance(depth, symbol="BTCUSDT")
      data = encode_message(book, source=default_source(book))   # BinanceCollector (1)

The shapes read, exactly:

Binance spot ``GET /api/v3/depth?symbol=BTCUSDT&limit=100`` (and USDⓈ-M
futures ``GET /fapi/v1/depth``, which add ``"E"`` and ``"T"``)::

    {"lastUpdateId": 1027024,
     "E": 1589436922972, "T": 1589436922959,          # futures only, ms
     "bids": [["4.00000000", "431.00000000"], ...],   # [price, quantity]
     "asks": [["4.00000200", "12.00000000"], ...]}

    sequence              <- lastUpdateId (required)
    snapshot_timestamp_ns <- T (transaction time), else E (event time), in ms; else 0

Coinbase Exchange ``GET /products/BTC-USD/book?level=2``::

    {"sequence": 3, "time": "2023-10-25T14:40:13.123456Z",   # time: newer responses
     "bids": [["295.96", "4.39088265", 2], ...],     # [price, size, num-orders]
     "asks": [["295.97", "25.23542881", 12], ...],
     "auction_mode": false, "auction": null}

    sequence <- sequence (required); order_count <- num-orders;
    snapshot_timestamp_ns <- time

Coinbase Advanced Trade ``GET /api/v3/brokerage/product_book?product_id=BTC-USD``
(also ``.../market/product_book``)::

    {"pricebook": {"product_id": "BTC-USD",
                   "bids": [{"price": "34356.56", "size": "0.0163"}, ...],
                   "asks": [{"price": "34356.57", "size": "1.2"}, ...],
                   "time": "2023-10-25T14:40:13.123456Z"},
     "last": "...", "mid_market": "...", "spread_bps": "...", "spread_absolute": "..."}

    snapshot_timestamp_ns <- pricebook.time; symbol <- product_id; no sequence

Kraken ``GET /0/public/Depth?pair=XBTUSD&count=100``::

    {"error": [],
     "result": {"XXBTZUSD": {"asks": [["34356.60000", "0.250", 1698244813], ...],
                             "bids": [["34356.50000", "1.000", 1698244810], ...]}}}

    [price, volume, timestamp]: the timestamp (last change of that level, in
    seconds) is not an order count and is ignored; Kraken gives no snapshot
    sequence or time.  symbol <- the result key.  A non-empty "error" list
    raises VenueError.

Another venue's response is refused with a VenueError that names the keys
found (``from_binance`` of a Coinbase book says so, it does not read it as a
Binance book of sequence 0).

Every adapter takes, as keywords only: ``symbol``, ``capacity`` (128, the
default, or 50; ``truncate=True`` keeps the best ``capacity`` levels of a
deeper book, else CapacityError), ``cls`` (an OrderBook subclass), the
options of ``from_snapshot`` (``precision_factor`` -- default 100_000_000, 8
decimals -- ``rounding``, ``truncate``, ``sort``, ``validate``,
``allow_negative``, ``order_counts``) and the book's header fields
(``venue_id``, ``asset_id``, ``asset_type``, ``reserved``,
``snapshot_timestamp_ns``, ``sequence``; a value given here wins over the one
read from the snapshot or derived from ``symbol``).  Any other keyword raises
``FieldTypeError`` (a TypeError) naming the adapter that was called.
"""

from __future__ import annotations

import calendar
import difflib
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

from orderbook._book import OrderBook
from orderbook._decimal import from_snapshot
from orderbook.errors import FieldTypeError, VenueError
from orderbook.ids import InstrumentId, SourceType, VenueId

__all__ = ["from_binance", "from_coinbase", "from_kraken", "from_venue", "detect_venue",
           "parse_rfc3339_ns", "default_source", "ADAPTERS", "VENUE_IDS", "SOURCES"]

#: venue name -> upstream VenueId written into the books
VENUE_IDS: Dict[str, VenueId] = {
    "binance": VenueId.BINANCE,
    "coinbase": VenueId.COINBASE,
    "kraken": VenueId.KRAKEN,
}

#: venue name -> upstream SourceType of its collector (a message header's ``source``)
SOURCES: Dict[str, SourceType] = {
    "binance": SourceType.BINANCE_COLLECTOR,
    "coinbase": SourceType.COINBASE_COLLECTOR,
    "kraken": SourceType.KRAKEN_COLLECTOR,
}

_SOURCE_BY_VENUE_ID: Dict[int, SourceType] = {int(VENUE_IDS[v]): SOURCES[v] for v in VENUE_IDS}

#: keywords every adapter passes on to from_snapshot / the OrderBook constructor
_PASSED_ON = frozenset({
    "precision_factor", "rounding", "truncate", "sort", "validate", "allow_negative",
    "order_counts", "snapshot_timestamp_ns", "sequence", "asset_id", "venue_id",
    "asset_type", "reserved",
})
#: renamed book fields: keyword -> its new name, for the error message
_RENAMED = {"timestamp_ns": "snapshot_timestamp_ns"}


# --- shared helpers --------------------------------------------------------------

def _check_kwargs(function: str, kwargs: Mapping[str, Any], extra: Sequence[str] = ()) -> None:
    """Refuse an unknown keyword as Python would, naming the function called."""
    allowed = _PASSED_ON.union(extra)
    for key in kwargs:
        if key in allowed:
            continue
        message = f"{function}() got an unexpected keyword argument {key!r}"
        if key in _RENAMED:
            message += f" (the book field is now {_RENAMED[key]!r})"
        else:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        raise FieldTypeError(message)


def _keys(obj: Mapping[str, Any]) -> str:
    names = sorted(str(k) for k in obj)
    shown = ", ".join(repr(k) for k in names[:10])
    return f"[{shown}{', ...' if len(names) > 10 else ''}]"


def _mapping(obj: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise VenueError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _shape_of(obj: Mapping[str, Any]) -> Optional[str]:
    """The venue whose distinctive keys ``obj`` has, or None."""
    if "lastUpdateId" in obj:
        return "binance"
    if "result" in obj and "error" in obj:
        return "kraken"
    if "pricebook" in obj or ("bids" in obj and "sequence" in obj):
        return "coinbase"
    return None


def _not_foreign(obj: Mapping[str, Any], venue: str, what: str) -> None:
    other = _shape_of(obj)
    if other is not None and other != venue:
        raise VenueError(
            f"{what}: this is a {other.capitalize()} response, not a {venue.capitalize()} one "
            f"(keys found: {_keys(obj)}); use from_{other}() or from_venue(None, ...)")


def _require(obj: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in obj:
        raise VenueError(f"{what}: no {key!r} in the snapshot (keys found: {_keys(obj)})")
    return obj[key]


def _side(obj: Mapping[str, Any], key: str, what: str) -> Sequence[Any]:
    side = _require(obj, key, what)
    if not isinstance(side, (list, tuple)):
        raise VenueError(f"{what}: {key!r} must be a list of levels, got {type(side).__name__}")
    return side


def _uint(value: Any, key: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise VenueError(f"{what}: {key!r} must be an integer, got {type(value).__name__} {value!r}")
    if value < 0:
        raise VenueError(f"{what}: {key!r} must not be negative, got {value}")
    return value


def _int_field(obj: Mapping[str, Any], key: str, what: str) -> Optional[int]:
    value = obj.get(key)
    return None if value is None else _uint(value, key, what)


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:\d{2})\Z",
    re.ASCII)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_rfc3339_ns(text: str) -> int:
    """``"2023-10-25T14:40:13.123456Z"`` as integer nanoseconds since the
    epoch, exactly (digits past nanoseconds are cut).

    Digits are ASCII, and every field is range checked as RFC 3339 section
    5.6/5.7 says: year 0001-9999, month 01-12, the day within its month (leap
    years counted), hour 00-23, minute 00-59, second 00-60 (60: a leap second,
    counted as the next minute's 00, as POSIX time does), offset hours 00-23
    and minutes 00-59.  Anything else raises VenueError."""
    m = _RFC3339.match(text) if isinstance(text, str) else None
    if m is None:
        raise VenueError(f"time {text!r} is not an RFC 3339 timestamp like 2023-10-25T14:40:13.123456Z")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)

    def bad(field: str, value: str, rule: str) -> VenueError:
        return VenueError(f"time {text!r}: {field} {value} is out of range ({rule})")

    if year < 1:
        raise bad("year", m.group(1), "0001-9999")
    if not 1 <= month <= 12:
        raise bad("month", m.group(2), "01-12")
    days = _MONTH_DAYS[month - 1] + (month == 2 and calendar.isleap(year))
    if not 1 <= day <= days:
        raise bad("day", m.group(3), f"{year:04d}-{month:02d} has days 01-{days:02d}")
    if hour > 23:
        raise bad("hour", m.group(4), "00-23")
    if minute > 59:
        raise bad("minute", m.group(5), "00-59")
    if second > 60:
        raise bad("second", m.group(6), "00-60")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if zone not in ("Z", "z"):
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23:
            raise bad("offset hour", zone[1:3], "00-23")
        if zm > 59:
            raise bad("offset minute", zone[4:6], "00-59")
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (zh * 3600 + zm * 60)
    return seconds * 1_000_000_000 + int(frac.ljust(9, "0"))


def _time_ns(value: Any, what: str) -> Optional[int]:
    """An RFC 3339 ``time`` as snapshot_timestamp_ns (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise VenueError(f"{what}: 'time' must be RFC 3339 text, got {type(value).__name__} {value!r}")
    ns = parse_rfc3339_ns(value)
    if ns < 0:
        raise VenueError(f"{what}: time {value!r} is before 1970-01-01T00:00:00Z")
    return ns


def _build(venue: str, cls: Type[OrderBook], bids: Sequence[Any], asks: Sequence[Any],
           found: Dict[str, int], kwargs: Dict[str, Any], *, symbol: Optional[str],
           capacity: int, order_counts: bool = True) -> OrderBook:
    """from_snapshot with the snapshot's header values, the caller's winning."""
    header: Dict[str, Any] = {"venue_id": VENUE_IDS[venue]}
    header.update(found)
    header.update(kwargs)
    if symbol is not None:
        instrument = InstrumentId.coin(header["venue_id"], symbol)
        header.setdefault("asset_id", instrument.asset_id)
        header.setdefault("asset_type", instrument.asset_type)
    header.setdefault("order_counts", order_counts)
    header["capacity"] = capacity
    return from_snapshot(cls, bids, asks, **header)


# --- Binance -----------------------------------------------------------------------

def from_binance(obj: Any, *, symbol: Optional[str] = None, capacity: int = 128,
                 cls: Type[OrderBook] = OrderBook, **kwargs: Any) -> OrderBook:
    """A book from a Binance ``/api/v3/depth`` (or ``/fapi/v1/depth``) response:
    venue_id Binance (100); ``symbol="BTCUSDT"`` sets the instrument (the
    response does not name it)."""
    _check_kwargs("from_binance", kwargs)
    what = "binance depth"
    snap = _mapping(obj, what)
    if "code" in snap and "msg" in snap and "bids" not in snap:
        raise VenueError(f"{what}: the response reports an error: code {snap['code']}: {snap['msg']}")
    _not_foreign(snap, "binance", what)
    found: Dict[str, int] = {"sequence": _uint(_require(snap, "lastUpdateId", what), "lastUpdateId", what)}
    ms = _int_field(snap, "T", what)
    if ms is None:
        ms = _int_field(snap, "E", what)
    if ms is not None:
        found["snapshot_timestamp_ns"] = ms * 1_000_000
    return _build("binance", cls, _side(snap, "bids", what), _side(snap, "asks", what),
                  found, kwargs, symbol=symbol, capacity=capacity)


# --- Coinbase ----------------------------------------------------------------------

def _dict_levels(side: Sequence[Any], name: str, what: str) -> List[Tuple[Any, Any]]:
    out = []
    for i, level in enumerate(side):
        if not isinstance(level, Mapping) or "price" not in level or "size" not in level:
            raise VenueError(f"{what}: {name}[{i}] must be an object with 'price' and 'size', got {level!r}")
        out.append((level["price"], level["size"]))
    return out


def from_coinbase(obj: Any, *, symbol: Optional[str] = None, capacity: int = 128,
                  cls: Type[OrderBook] = OrderBook, **kwargs: Any) -> OrderBook:
    """A book from a Coinbase Exchange ``/products/{id}/book?level=2`` response
    (levels ``[price, size, num-orders]``) or an Advanced Trade
    ``product_book`` response (``{"pricebook": {...}}``): venue_id Coinbase
    (102).  The instrument is ``symbol`` (``"BTC-USD"``), else Advanced
    Trade's ``product_id``; an Exchange response does not name it."""
    _check_kwargs("from_coinbase", kwargs)
    what = "coinbase book"
    snap = _mapping(obj, what)
    if "message" in snap and "bids" not in snap and "pricebook" not in snap:
        raise VenueError(f"{what}: the response reports an error: {snap['message']}")
    _not_foreign(snap, "coinbase", what)
    found: Dict[str, int] = {}
    if "pricebook" in snap:
        book = _mapping(snap["pricebook"], what + " pricebook")
        bids = _dict_levels(_side(book, "bids", what), "bids", what)
        asks = _dict_levels(_side(book, "asks", what), "asks", what)
        ns = _time_ns(book.get("time"), what)
        if ns is not None:
            found["snapshot_timestamp_ns"] = ns
        product = book.get("product_id")
        if symbol is None and isinstance(product, str) and product:
            symbol = product
        return _build("coinbase", cls, bids, asks, found, kwargs,
                      symbol=symbol, capacity=capacity)
    found["sequence"] = _uint(_require(snap, "sequence", what), "sequence", what)
    ns = _time_ns(snap.get("time"), what)
    if ns is not None:
        found["snapshot_timestamp_ns"] = ns
    return _build("coinbase", cls, _side(snap, "bids", what), _side(snap, "asks", what),
                  found, kwargs, symbol=symbol, capacity=capacity)


# --- Kraken ------------------------------------------------------------------------

def from_kraken(obj: Any, pair: Optional[str] = None, *, symbol: Optional[str] = None,
                capacity: int = 128, cls: Type[OrderBook] = OrderBook, **kwargs: Any) -> OrderBook:
    """A book from a Kraken ``/0/public/Depth`` response: venue_id Kraken
    (101).  ``pair`` picks the result key (``"XXBTZUSD"``); it may be left out
    when there is one.  The instrument is ``symbol``, else that pair name."""
    _check_kwargs("from_kraken", kwargs)
    what = "kraken depth"
    snap = _mapping(obj, what)
    _not_foreign(snap, "kraken", what)
    errors = snap.get("error") or []
    if errors:
        if isinstance(errors, (list, tuple)):
            errors = ", ".join(map(str, errors))
        raise VenueError(f"{what}: the response reports errors: {errors}")
    result = _mapping(_require(snap, "result", what), what + " result")
    if pair is None:
        if len(result) != 1:
            raise VenueError(f"{what}: the result holds {len(result)} pairs "
                             f"({', '.join(sorted(result)) or 'none'}); pass pair=")
        pair = next(iter(result))
    elif pair not in result:
        raise VenueError(f"{what}: no pair {pair!r} in the result (pairs: {', '.join(sorted(result))})")
    book = _mapping(result[pair], f"{what} result[{pair!r}]")
    # [price, volume, timestamp]: the third item is not an order count
    return _build("kraken", cls, _side(book, "bids", what), _side(book, "asks", what), {},
                  kwargs, symbol=pair if symbol is None else symbol, capacity=capacity,
                  order_counts=False)


# --- by name --------------------------------------------------------------------------

#: venue name -> adapter
ADAPTERS: Dict[str, Callable[..., OrderBook]] = {
    "binance": from_binance,
    "coinbase": from_coinbase,
    "kraken": from_kraken,
}

for _name, _adapter in ADAPTERS.items():
    # each adapter names its venue and its collector: from_binance.source
    _adapter.venue_id = VENUE_IDS[_name]        # type: ignore[attr-defined]
    _adapter.source = SOURCES[_name]            # type: ignore[attr-defined]
del _name, _adapter


def default_source(venue: Union[str, int, OrderBook]) -> SourceType:
    """The header ``source`` for a message of ``venue``'s books: its
    collector's upstream SourceType (BinanceCollector 1, CoinbaseCollector 2,
    KrakenCollector 3).

    ``venue`` is a name (``"binance"``; unknown names raise VenueError), a
    venue id (``VenueId.BINANCE`` / ``100``) or a book (its ``venue_id``).  A
    venue id without a collector here gives ``SourceType.UNKNOWN`` (0)."""
    if isinstance(venue, str):
        try:
            return SOURCES[venue.lower()]
        except KeyError:
            raise VenueError(f"unknown venue {venue!r}; known: {', '.join(SOURCES)}") from None
    if isinstance(venue, OrderBook):
        venue = venue.venue_id
    if isinstance(venue, bool) or not isinstance(venue, int):
        raise FieldTypeError(
            f"default_source() takes a venue name, a venue id or an OrderBook, got {type(venue).__name__}")
    return _SOURCE_BY_VENUE_ID.get(int(venue), SourceType.UNKNOWN)


def detect_venue(obj: Any) -> str:
    """The venue whose depth shape ``obj`` has: ``"binance"`` (lastUpdateId),
    ``"kraken"`` (error + result) or ``"coinbase"`` (pricebook, or bids with
    a sequence).  Raises VenueError when it is none of them."""
    if isinstance(obj, Mapping):
        venue = _shape_of(obj)
        if venue is not None:
            return venue
    keys = _keys(obj) if isinstance(obj, Mapping) else type(obj).__name__
    raise VenueError(f"not a depth snapshot of a known venue (binance, coinbase, kraken): {keys}")


def from_venue(venue: Optional[str], obj: Any, **kwargs: Any) -> OrderBook:
    """``ADAPTERS[venue](obj, **kwargs)``; ``venue=None`` detects it."""
    _check_kwargs("from_venue", kwargs, ("symbol", "capacity", "cls", "pair"))
    name = detect_venue(obj) if venue is None else venue
    if "pair" in kwargs and name != "kraken":
        raise FieldTypeError(f"from_venue() got an unexpected keyword argument 'pair' "
                             f"(only kraken takes pair=, the venue is {name!r})")
    try:
        adapter = ADAPTERS[name]
    except KeyError:
        raise VenueError(f"unknown venue {venue!r}; known: {', '.join(ADAPTERS)}") from None
    return adapter(obj, **kwargs)


# --- ccxt ----------------------------------------------------------------------------

#: ccxt exchange id -> upstream VenueId, for the venues upstream numbers.
#: Futures/derivatives arms of an exchange that upstream does not number
#: separately map to the exchange (binanceusdm -> Binance); Bybit's and
#: Deribit's are upstream's own ids.
CCXT_VENUE_IDS: Dict[str, VenueId] = {
    "binance": VenueId.BINANCE, "binanceus": VenueId.BINANCE,
    "binanceusdm": VenueId.BINANCE, "binancecoinm": VenueId.BINANCE,
    "kraken": VenueId.KRAKEN, "krakenfutures": VenueId.KRAKEN,
    "coinbase": VenueId.COINBASE, "coinbasepro": VenueId.COINBASE,
    "coinbaseexchange": VenueId.COINBASE, "coinbaseadvanced": VenueId.COINBASE,
    "coinbaseinternational": VenueId.COINBASE,
    "huobi": VenueId.HUOBI, "htx": VenueId.HUOBI, "huobipro": VenueId.HUOBI,
    "okx": VenueId.OKEX, "okex": VenueId.OKEX, "okex5": VenueId.OKEX,
    "ftx": VenueId.FTX,
    "bybit": VenueId.BYBIT,
    "kucoin": VenueId.KUCOIN, "kucoinfutures": VenueId.KUCOIN,
    "gemini": VenueId.GEMINI,
    "deribit": VenueId.DERIBIT,
}


def _ccxt_number(value: Any, where: str) -> Any:
    """A ccxt price or amount as exact decimal text: a float through its
    shortest ``repr`` (``0.1`` -> ``'0.1'``, ``0.1 + 0.2`` ->
    ``'0.30000000000000004'``; an exponent form such as ``'1e-05'`` is
    written out positionally by ``decimal``, digit for digit), never through
    float arithmetic.  str, int and Decimal go to from_snapshot as they are."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            import decimal

            text = format(decimal.Decimal(text), "f")   # exact: Decimal(str) keeps the digits
        return text
    if isinstance(value, bool):
        raise VenueError(f"{where} must be a number, got {value!r}")
    return value


def _ccxt_side(side: Any, name: str, what: str) -> List[Tuple[Any, Any]]:
    if not isinstance(side, (list, tuple)):
        raise VenueError(f"{what}: {name!r} must be a list of [price, amount] levels, "
                         f"got {type(side).__name__}")
    out = []
    for i, level in enumerate(side):
        if not isinstance(level, (list, tuple)) or len(level) < 2:
            raise VenueError(f"{what}: {name}[{i}] must be [price, amount], got {level!r}")
        out.append((_ccxt_number(level[0], f"{what}: {name}[{i}] price"),
                    _ccxt_number(level[1], f"{what}: {name}[{i}] amount")))
    return out


def from_ccxt(obj: Any, *, exchange: Any = None, symbol: Optional[str] = None,
              capacity: int = 128, cls: Type[OrderBook] = OrderBook, **kwargs: Any) -> OrderBook:
    """A book from ccxt's ``exchange.fetch_order_book(symbol)`` (or
    ``watch_order_book``) result::

        {"symbol": "BTC/USDT", "bids": [[27012.45, 0.5], ...], "asks": [[27012.46, 1.25], ...],
         "timestamp": 1700000000123, "datetime": "...", "nonce": 40023123}

    * prices and amounts are floats in ccxt; each goes through its shortest
      ``repr`` (``repr(0.1) == '0.1'``) to decimal text and then through the
      exact conversion of ``from_snapshot``: no float arithmetic, so a book
      holds exactly the digits ccxt printed.  More decimals than the
      precision raise DecimalError unless ``rounding=`` is given.  (Strings,
      ints and Decimals, as some ccxt modes return, are taken as they are.)
      Items after ``[price, amount]`` are ignored: ccxt exchanges put
      different things there.
    * ``nonce`` -> ``sequence`` (0 when None); ``timestamp`` (ms) ->
      ``snapshot_timestamp_ns`` (0 when None).
    * ``exchange`` is a ccxt exchange id (``"binance"``) or exchange object
      (its ``.id``): the venue is upstream's id for it (``CCXT_VENUE_IDS``:
      binance 100, kraken 101, coinbase/coinbasepro/coinbaseexchange 102,
      huobi/htx 103, okx 104, ftx 105, bybit 106, kucoin 107, gemini 108,
      deribit 700); an exchange upstream does not number raises VenueError
      unless ``venue_id=`` is given.  Without ``exchange`` the venue is
      ``venue_id=`` or Generic (0).
    * the instrument is ``InstrumentId.coin(venue, symbol)`` of ``symbol=``,
      else of the result's ``symbol`` (ccxt's unified ``"BTC/USDT"``: pass
      ``symbol="BTCUSDT"`` to get the asset_id upstream's Binance collector
      uses).

    Other keywords as every adapter (``precision_factor``, ``rounding``,
    ``truncate``, ``validate``, header fields...)."""
    _check_kwargs("from_ccxt", kwargs)
    what = "ccxt order book"
    snap = _mapping(obj, what)
    bids = _ccxt_side(_require(snap, "bids", what), "bids", what)
    asks = _ccxt_side(_require(snap, "asks", what), "asks", what)
    header: Dict[str, Any] = {}
    if exchange is not None:
        ex_id = exchange if isinstance(exchange, str) else getattr(exchange, "id", None)
        if not isinstance(ex_id, str):
            raise FieldTypeError(f"from_ccxt(): exchange= takes a ccxt exchange id or exchange object, "
                                 f"got {type(exchange).__name__}")
        venue = CCXT_VENUE_IDS.get(ex_id.lower())
        if venue is None and "venue_id" not in kwargs:
            raise VenueError(f"{what}: upstream has no VenueId for ccxt exchange {ex_id!r} "
                             f"(known: {', '.join(sorted(CCXT_VENUE_IDS))}); pass venue_id=")
        if venue is not None:
            header["venue_id"] = venue
    nonce = snap.get("nonce")
    if nonce is not None:
        header["sequence"] = _uint(nonce, "nonce", what)
    ms = snap.get("timestamp")
    if ms is not None:
        if isinstance(ms, float) and ms.is_integer():
            ms = int(ms)
        header["snapshot_timestamp_ns"] = _uint(ms, "timestamp", what) * 1_000_000
    header.update(kwargs)
    if symbol is None:
        found = snap.get("symbol")
        symbol = found if isinstance(found, str) and found else None
    if symbol is not None:
        instrument = InstrumentId.coin(header.get("venue_id", VenueId.GENERIC), symbol)
        header.setdefault("asset_id", instrument.asset_id)
        header.setdefault("asset_type", instrument.asset_type)
    header.setdefault("order_counts", False)
    header["capacity"] = capacity
    return from_snapshot(cls, bids, asks, **header)


__all__ += ["from_ccxt", "CCXT_VENUE_IDS"]
