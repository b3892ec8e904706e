"""Books as Apache Arrow tables, built in bulk from the numpy views (needs
pyarrow: ``pip install 'orderbook[arrow]'``; imported on first use).

``to_arrow(books)`` takes a ``Capture``, a numpy array of ``book_dtype(N)``
(or of ``message_dtype(N)``), or an iterable of ``OrderBook`` objects, and
returns a ``pyarrow.Table`` with one row per book, in order:

=========================  ==============================================
column                     type
=========================  ==============================================
``snapshot_timestamp_ns``  uint64  (the book's fields, upstream's names)
``sequence``               uint64
``precision_factor``       int64
``asset_id``               uint64
``venue_id``               uint16
``asset_type``             uint8
``reserved``               uint8
``capacity``               uint16  (128 or 50)
``bids``, ``asks``         list<struct<price, size, order_count: uint32>>,
                           best first, only the ``count`` levels in use
                           (the best ``levels`` with ``levels=K``)
=========================  ==============================================

From a ``Capture`` (or a ``message_dtype`` array) with ``header=True`` (the
default) the message header follows: ``offset`` (int64, the message's offset
in the capture; Capture only), ``header_relay_domain``, ``header_source``,
``header_flags`` (uint8), ``header_sequence``, ``header_timestamp`` (uint64).

``scale`` chooses the type of ``price`` and ``size`` in the level structs:

- ``None`` (default): int64 fixed point, exactly as on the wire;
- ``"decimal128"``: ``decimal128(19, s)`` with ``s = log10(precision_factor)``,
  **exact** (the wire integer is the decimal's unscaled value: no division
  is done).  Every book must share one precision_factor that is a power of
  ten, else DecimalError;
- ``"float64"``: ``price / precision_factor`` in numpy float64 (each book its
  own factor).  **Rounded**: the int64 is rounded to float64, then the
  quotient is rounded, so a value can be an ulp or two from the exact one.

No Python code runs per book or per level (except ``bytes(book)`` when the
input is a list of OrderBook objects): the header columns are the numpy
field arrays, and each side is a ``ListArray`` whose offsets are the
cumulative counts and whose values are the level arrays selected by a
boolean mask over the ``(n, N)`` element arrays.
"""

from __future__ import annotations

from typing import Dict, Any, Iterable, List, Optional, Tuple

from orderbook.dtypes import BOOK_FIELDS, book_dtype, message_dtype
from orderbook.errors import DecimalError, FieldTypeError, LayoutError

__all__ = ["to_arrow", "to_pandas", "level_type", "SCALES"]

SCALES = (None, "float64", "decimal128")
_CAPACITIES = (128, 50)
_HEADER_COLUMNS = (("relay_domain", "uint8"), ("source", "uint8"), ("flags", "uint8"),
                   ("sequence", "uint64"), ("timestamp", "uint64"))


def _pa() -> Any:
    try:
        import pyarrow  # type: ignore[import-untyped,unused-ignore]
    except ImportError as e:
        raise ImportError("orderbook.arrow needs pyarrow: pip install 'orderbook[arrow]'") from e
    return pyarrow


def _decimal_scale(factors: Any) -> int:
    """s with every factor == 10**s, else DecimalError."""
    import numpy as np

    if len(factors) == 0:
        return 0
    f = int(factors[0])
    if not (factors == f).all():
        found = sorted({int(x) for x in np.unique(factors)[:5]})
        raise DecimalError(
            f"scale='decimal128' needs one precision_factor for every book, found {found}"
            + (" ..." if len(np.unique(factors)) > 5 else "") + "; use scale='float64' or None")
    text = str(f)
    if f <= 0 or text[0] != "1" or set(text[1:]) - {"0"}:
        raise DecimalError(
            f"scale='decimal128' needs a precision_factor that is a power of ten, got {f}")
    return len(text) - 1


def level_type(scale: Optional[str] = None, decimals: int = 8) -> Any:
    """The Arrow struct of one level for ``scale`` (``decimals``: the
    decimal128 scale)."""
    pa = _pa()
    if scale is None:
        value = pa.int64()
    elif scale == "float64":
        value = pa.float64()
    elif scale == "decimal128":
        value = pa.decimal128(19, decimals)
    else:
        raise FieldTypeError(f"scale must be one of {SCALES}, got {scale!r}")
    return pa.struct([pa.field("price", value, nullable=False), pa.field("size", value, nullable=False),
                      pa.field("order_count", pa.uint32(), nullable=False)])


def _decimal_array(values: Any, decimals: int) -> Any:
    """int64 unscaled values as decimal128(19, decimals), exactly: each value
    is written as its 16-byte two's complement (low word, sign word)."""
    import numpy as np

    pa = _pa()
    words = np.empty((len(values), 2), dtype="<i8")
    words[:, 0] = values
    words[:, 1] = values >> 63
    return pa.Array.from_buffers(pa.decimal128(19, decimals), len(values),
                                 [None, pa.py_buffer(words)])


def _side(side: Any, capacity: int, levels: Optional[int], scale: Optional[str], factors: Any,
          decimals: int, name: str) -> Any:
    import numpy as np

    pa = _pa()
    n = len(side)
    counts = side["count"].astype(np.int64)
    if n and counts.max() > capacity:
        bad = int(np.argmax(counts > capacity))
        raise LayoutError(f"to_arrow: {name} count of book {bad} is {int(counts[bad])}, "
                          f"expected at most {capacity}")
    k = capacity if levels is None else min(levels, capacity)
    counts = np.minimum(counts, k)
    elements = side["elements"][:, :k]
    mask = np.arange(k) < counts[:, None]
    price = elements["price"][mask]
    size = elements["size"][mask]
    order_count = elements["order_count"][mask]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    if scale == "float64":
        f = np.repeat(factors, counts).astype(np.float64)
        p, s = pa.array(price / f), pa.array(size / f)
    elif scale == "decimal128":
        p, s = _decimal_array(price, decimals), _decimal_array(size, decimals)
    else:
        p, s = pa.array(price), pa.array(size)
    values = pa.StructArray.from_arrays([p, s, pa.array(order_count)],
                                        fields=list(level_type(scale, decimals)))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _table(arr: Any, capacity: int, headers: Any, offsets: Any, levels: Optional[int],
           scale: Optional[str]) -> Any:
    import numpy as np

    pa = _pa()
    if scale not in SCALES:
        raise FieldTypeError(f"scale must be one of {SCALES}, got {scale!r}")
    if levels is not None and levels < 0:
        raise FieldTypeError(f"levels must be >= 0 or None, got {levels}")
    factors = np.ascontiguousarray(arr["precision_factor"])
    decimals = _decimal_scale(factors) if scale == "decimal128" else 0
    cols = {name: pa.array(np.ascontiguousarray(arr[name])) for name in BOOK_FIELDS}
    cols["capacity"] = pa.array(np.full(len(arr), capacity, dtype=np.uint16))
    cols["bids"] = _side(arr["bids"], capacity, levels, scale, factors, decimals, "bids")
    cols["asks"] = _side(arr["asks"], capacity, levels, scale, factors, decimals, "asks")
    if offsets is not None:
        cols["offset"] = pa.array(np.ascontiguousarray(offsets, dtype=np.int64))
    if headers is not None:
        for name, _ in _HEADER_COLUMNS:
            cols["header_" + name] = pa.array(np.ascontiguousarray(headers[name]))
    return pa.table(cols)


def _merge(parts: List[Tuple[Any, Any]], n: int) -> Any:
    """Tables of the capacity groups, rows put back in the input's order."""
    import numpy as np

    pa = _pa()
    if len(parts) == 1:
        return parts[0][1]
    table = pa.concat_tables([t for _, t in parts])
    order = np.concatenate([idx for idx, _ in parts])
    return table.take(pa.array(np.argsort(order, kind="stable")))


def _capacity_of(dtype: Any) -> Tuple[int, bool]:
    for c in _CAPACITIES:
        if dtype == book_dtype(c):
            return c, False
        if dtype == message_dtype(c):
            return c, True
    raise FieldTypeError(
        f"to_arrow: a numpy array must be of book_dtype(128/50) or message_dtype(128/50), got {dtype}")


def to_arrow(books: Any, *, levels: Optional[int] = None, scale: Optional[str] = None,
             header: bool = True) -> Any:
    """A ``pyarrow.Table`` of ``books`` (a Capture, a ``book_dtype`` /
    ``message_dtype`` array, or an iterable of OrderBook); see the module
    docstring for the columns."""
    import numpy as np

    from orderbook._capture import Capture

    if isinstance(books, Capture):
        n = len(books)
        caps = books.capacities
        present = [c for c in _CAPACITIES if (caps == c).any()] or [128]
        offsets = books.offsets
        parts = []
        for c in present:
            idx = np.nonzero(caps == c)[0]
            parts.append((idx, _table(books.books(c), c, books.headers(c) if header else None,
                                      offsets[idx] if header else None, levels, scale)))
        return _merge(parts, n)
    if isinstance(books, np.ndarray):
        c, is_message = _capacity_of(books.dtype)
        books = books.reshape(-1)
        if is_message:
            return _table(books["book"], c, books["header"] if header else None, None, levels, scale)
        return _table(books, c, None, None, levels, scale)
    return _from_books(books, levels, scale)


def _from_books(books: Iterable[Any], levels: Optional[int], scale: Optional[str]) -> Any:
    import numpy as np

    from orderbook._book import OrderBook

    groups: Dict[int, Any] = {c: ([], []) for c in _CAPACITIES}
    n = 0
    for i, book in enumerate(books):
        if not isinstance(book, OrderBook):
            raise FieldTypeError(f"to_arrow: item {i} is a {type(book).__name__}, expected an OrderBook")
        idx, chunks = groups[book.capacity]
        idx.append(i)
        chunks.append(bytes(book))
        n += 1
    parts = []
    for c in _CAPACITIES:
        idx, chunks = groups[c]
        if idx or (n == 0 and c == 128):
            arr = np.frombuffer(b"".join(chunks), dtype=book_dtype(c))
            parts.append((np.asarray(idx, dtype=np.int64), _table(arr, c, None, None, levels, scale)))
    return _merge(parts, n)


def to_pandas(books: Any, **kwargs: Any) -> Any:
    """``to_arrow(books, **kwargs).to_pandas()`` (needs pandas too)."""
    return to_arrow(books, **kwargs).to_pandas()
