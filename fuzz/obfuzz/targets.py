"""Fuzz targets: each takes the raw input bytes, runs a public parser on them
and holds the outcome to the pure-Python reference (``obfuzz.reference``).

A target returns normally when the library did what the reference says: the
same book and header on success, an exception of the expected class (with the
expected offsets / sizes / checksums where the class carries them) on failure.
Anything else escapes: an exception outside ``orderbook.OrderBookError``
(the library leaked a builtin error), or :class:`Mismatch` (an
``AssertionError``: a wrong result).  The fuzz driver treats both as crashes.

Input formats
  * ``decode_message``, ``iter_messages``: the bytes are a message / a capture.
  * ``from_bytes``, ``view``: ``flags u8 | offset u16 LE | buffer``; the flags
    pick strict mode, how the offset is used, the buffer kind (``view``) and
    whether the heavier API checks run.  ``seed_input()`` builds one.
"""

from __future__ import annotations

import copy
import io
import os
import pickle
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

import orderbook
from orderbook import (
    CapacityError, Message, OrderBook, OrderBookError, ReleasedError, ValidationError,
    decode_message, encode_message, iter_messages,
)

from obfuzz import reference as ref
from obfuzz.reference import RefError

__all__ = ["TARGETS", "Mismatch", "seed_input", "book_state", "check_validate"]

FLAG_STRICT = 0x01
FLAG_RAW_OFFSET = 0x02       # use the u16 offset as is (may run past the buffer)
FLAG_HEAVY = 0x04            # pickle, copy, numpy, message round trip
FLAG_SUBCLASS = 0x08
FLAG_CAP50 = 0x40            # book targets: a capacity-50 book
FLAG_NEGATIVE = 0x80         # a negative offset
KIND_SHIFT = 4               # view: 2 bits of buffer kind


class Mismatch(AssertionError):
    """The library and the reference disagree."""


class UserBook(OrderBook):
    """A user's subclass, with instance attributes."""


def seed_input(buf: bytes, offset: int = 0, flags: int = 0) -> bytes:
    """An input for the ``from_bytes`` / ``view`` targets."""
    return bytes([flags & 0xFF]) + struct.pack("<H", offset & 0xFFFF) + bytes(buf)


def _split(data: bytes) -> Tuple[int, int, bool, bytes]:
    head = data[:3].ljust(3, b"\0")
    flags = head[0]
    offset = int.from_bytes(head[1:3], "little")
    buf = data[3:]
    if flags & FLAG_NEGATIVE:
        offset = -1 - offset
    elif not flags & FLAG_RAW_OFFSET:
        offset %= len(buf) + 1
    return flags, offset, bool(flags & FLAG_STRICT), buf


# --- comparing ---------------------------------------------------------------------

def book_state(book: OrderBook) -> Dict[str, Any]:
    """A book as the reference's dict: header fields and both sides as tuples."""
    state: Dict[str, Any] = {name: getattr(book, name) for name in ref.BOOK_FIELDS}
    state["capacity"] = book.capacity
    state["bids"] = [tuple(lv) for lv in book.bids]
    state["asks"] = [tuple(lv) for lv in book.asks]
    return state


def _diff(got: Dict[str, Any], expected: Dict[str, Any]) -> str:
    keys = [k for k in expected if got.get(k) != expected[k]]
    return ", ".join(f"{k}: library {got.get(k)!r:.120} != reference {expected[k]!r:.120}" for k in keys)


def _same_book(book: OrderBook, expected: Dict[str, Any], what: str) -> None:
    got = book_state(book)
    if got != expected:
        raise Mismatch(f"{what}: {_diff(got, expected)}")


def _expect_error(exc: BaseException, err: RefError, what: str) -> None:
    cls = getattr(orderbook, err.kind)
    if not isinstance(exc, cls):
        raise Mismatch(f"{what}: library raised {type(exc).__name__}({exc}); "
                       f"reference expects {err.kind} {err.attrs}") from exc
    for attr, value in err.attrs.items():
        if hasattr(exc, attr) and getattr(exc, attr) != value:
            raise Mismatch(f"{what}: {err.kind}.{attr} is {getattr(exc, attr)!r}, "
                           f"reference says {value!r} ({exc})") from exc


def agree(lib: Callable[[], Any], oracle: Callable[[], Any], what: str) -> Tuple[Any, Any]:
    """Run both; return (library result, reference result), or (None, None)
    when both rejected the input in the same way.  Errors outside the
    library's hierarchy propagate."""
    try:
        expected, err = oracle(), None
    except RefError as e:
        expected, err = None, e
    try:
        got = lib()
    except OrderBookError as e:
        if err is None:
            raise Mismatch(f"{what}: library raised {type(e).__name__}({e}); reference accepts") from e
        _expect_error(e, err, what)
        return None, None
    if err is not None:
        raise Mismatch(f"{what}: library accepted; reference expects {err.kind} {err.attrs}")
    return got, expected


def check_validate(book: OrderBook, expected: Dict[str, Any]) -> None:
    """validate() raises iff the reference finds a broken rule, and names a
    rule broken at the first level that breaks one (or the crossing)."""
    violations = ref.validate(expected)
    try:
        book.validate()
    except ValidationError as e:
        if not violations:
            raise Mismatch(f"validate() raised {e} on a book the reference finds valid") from e
        first = violations[0]
        allowed = {v for v in violations if v[1:] == first[1:]} if first[0] != "crossed" else {first}
        if (e.rule, e.side, e.index) not in allowed:
            raise Mismatch(f"validate() reports {(e.rule, e.side, e.index)} ({e}); "
                           f"the first broken rule is one of {sorted(allowed, key=str)}") from e
        return
    if violations:
        raise Mismatch(f"validate() passed; the reference finds {violations[:3]}")


def check_book_api(book: OrderBook, expected: Dict[str, Any], heavy: bool) -> None:
    """Read the book through every accessor and compare with the reference."""
    _same_book(book, expected, "book fields")
    for name in ref.SIDES:
        levels = expected[name]
        side = getattr(book, name)
        n = len(side)
        if n != len(levels) or n > book.capacity:
            raise Mismatch(f"len({name}) is {n}, expected {len(levels)}")
        if n:
            if side[0] != levels[0] or side[-1] != levels[-1] or side[n // 2] != levels[n // 2]:
                raise Mismatch(f"{name} indexing disagrees with iteration")
            if side[1:3] != levels[1:3]:
                raise Mismatch(f"{name}[1:3] slicing")
        try:
            side[n]
        except IndexError:
            pass
        else:
            raise Mismatch(f"{name}[{n}] did not raise IndexError")
        with memoryview(side) as mv:
            if mv.shape != (n,) or mv.itemsize != ref.LEVEL_SIZE or mv.format != orderbook.LEVEL_FORMAT:
                raise Mismatch(f"{name} export: shape {mv.shape} itemsize {mv.itemsize} format {mv.format}")
            raw = mv.tobytes()
        if raw != b"".join(ref.LEVEL.pack(*lv) for lv in levels):
            raise Mismatch(f"{name} export bytes differ from the levels")
    best = (expected["bids"][0] if expected["bids"] else None,
            expected["asks"][0] if expected["asks"] else None)
    if (book.best_bid, book.best_ask) != best:
        raise Mismatch(f"best levels {(book.best_bid, book.best_ask)} != {best}")
    if book.spread_bps != ref.spread_bps(expected):
        raise Mismatch(f"spread_bps {book.spread_bps} != reference {ref.spread_bps(expected)}")
    check_validate(book, expected)
    text = repr(book)
    if f"bids={len(expected['bids'])} asks={len(expected['asks'])}" not in text:
        raise Mismatch(f"repr {text!r}")
    canon = bytes(book)
    size = ref.book_size(book.capacity)
    if len(canon) != size or not _canonical(canon) or ref.parse_book_bytes(canon) != expected:
        raise Mismatch("bytes(book) is not the canonical bytes of the same book")
    with memoryview(book) as mv:
        raw = mv.tobytes()
    # an owning book holds canonical bytes; a view shows its buffer as it is
    if len(raw) != size or (raw != canon if not book.is_view else ref.parse_book_bytes(raw) != expected):
        raise Mismatch("memoryview(book) differs from bytes(book)")
    if heavy:
        for clone in (pickle.loads(pickle.dumps(book)), copy.copy(book), copy.deepcopy(book)):
            if type(clone) is not type(book) or clone.is_view or clone != book:
                raise Mismatch(f"pickle/copy of a {'view' if book.is_view else 'book'} "
                               f"is not an equal owning {type(book).__name__}")
            _same_book(clone, expected, "pickled/copied book")
        wire = encode_message(book, sequence=7, timestamp_ns=11, source=3, flags=1)
        back = decode_message(wire)
        _same_book(back.book, expected, "encode/decode round trip")
        if wire != ref.encode_message(expected, sequence=7, timestamp=11, source=3, flags=1):
            raise Mismatch("encode_message of a canonical book differs from the reference bytes")
        try:
            import numpy  # noqa: F401
        except ImportError:
            return
        for name in ref.SIDES:
            arr = getattr(book, name).to_numpy()
            if arr.tolist() != expected[name]:
                raise Mismatch(f"{name}.to_numpy() {arr.tolist()[:2]} != {expected[name][:2]}")


def _canonical(raw: bytes) -> bool:
    try:
        ref.parse_book_bytes(raw, strict=True)
    except RefError:
        return False
    return True


def check_message(msg: Message, expected: Dict[str, Any], data: bytes, offset: int,
                  heavy: bool = False) -> None:
    header = msg.header.to_dict()
    if header != expected["header"]:
        raise Mismatch(f"header: {_diff(header, expected['header'])}")
    if bytes(msg.header) != bytes(data[offset:offset + ref.HEADER_SIZE]):
        raise Mismatch("bytes(header) differs from the input")
    if msg.nbytes != ref.HEADER_SIZE + expected["header"]["payload_size"]:
        raise Mismatch(f"nbytes {msg.nbytes}")
    check_book_api(msg.book, expected["book"], heavy)


# --- targets ------------------------------------------------------------------------

def target_decode_message(data: bytes) -> None:
    """decode_message with and without the checksum, copied and viewed, into
    existing objects, and at an unaligned offset of a larger buffer."""
    msg, exp = agree(lambda: decode_message(data), lambda: ref.decode_message(data),
                     "decode_message(verify=True)")
    if msg is not None:
        check_message(msg, exp, data, 0, heavy=len(data) % 4 == 1)
    msg, exp = agree(lambda: decode_message(data, verify=False),
                     lambda: ref.decode_message(data, verify=False), "decode_message(verify=False)")
    if msg is not None:
        check_message(msg, exp, data, 0)
        view = decode_message(data, verify=False, copy=False)
        if not (view.book.is_view and view.book.readonly):
            raise Mismatch("copy=False over bytes must give a read-only view")
        check_message(view, exp, data, 0)
        view.book.release()
        into = Message()
        if decode_message(data, verify=False, into=into) is not into:
            raise Mismatch("into=Message did not return the same object")
        check_message(into, exp, data, 0)
        book = OrderBook([(1, 1)], sequence=5)
        if decode_message(data, verify=False, into=book) is not book:
            raise Mismatch("into=OrderBook did not return the same object")
        _same_book(book, exp["book"], "decode into an OrderBook")
        scratch = bytearray(data)
        decode_message(scratch, verify=False, copy=False, into=book)
        if not book.is_view or book.readonly:
            raise Mismatch("copy=False into a book over a bytearray must give a writable view")
        _same_book(book, exp["book"], "decode view into an OrderBook")
        book.release()
        scratch.append(0)          # released: the bytearray may resize again
    k = 1 + len(data) % 7
    padded = b"\xa5" * k + data
    agree(lambda: decode_message(padded, k, verify=False),
          lambda: ref.decode_message(padded, k, verify=False), f"decode_message at offset {k}")
    end = len(data) + (len(data) % 3)
    agree(lambda: decode_message(data, end), lambda: ref.decode_message(data, end),
          f"decode_message at offset {end}")


class _TrickleReader:
    """A binary file whose reads return at most ``step`` bytes."""

    def __init__(self, data: bytes, step: int) -> None:
        self._f = io.BytesIO(data)
        self._step = step

    def read(self, n: int = -1) -> bytes:
        return self._f.read(self._step if n < 0 else min(n, self._step))


def _collect(it: Any) -> Tuple[List[Any], Optional[BaseException]]:
    out: List[Any] = []
    try:
        for item in it:
            out.append(item)
    except (OrderBookError, RefError) as e:
        return out, e
    return out, None


def target_iter_messages(data: bytes) -> None:
    """iter_messages over bytes (copied and viewed), a bytearray, a file read
    whole and a file read a few bytes at a time; all must agree with the
    reference and with each other."""
    step = 256 + 61 * data[-1] if data else 256     # short reads: a message spans several
    for verify in (True, False):
        for stop in (False, True):
            expected, err = _collect(ref.iter_messages(data, verify, stop))
            sources: List[Tuple[str, Callable[[], Any]]] = [
                ("bytes", lambda: iter_messages(data, verify=verify, stop_on_truncated=stop)),
                ("view", lambda: iter_messages(data, verify=verify, copy=False,
                                               stop_on_truncated=stop)),
                ("file", lambda: iter_messages(io.BytesIO(data), verify=verify,
                                               stop_on_truncated=stop)),
                (f"file/{step}", lambda: iter_messages(_TrickleReader(data, step), verify=verify,
                                                       stop_on_truncated=stop)),
            ]
            if verify and not stop:
                ba = bytearray(data)
                sources.append(("bytearray", lambda: iter_messages(ba)))
            for name, make in sources:
                what = f"iter_messages({name}, verify={verify}, stop_on_truncated={stop})"
                got, lib_err = _collect(make())
                if len(got) != len(expected):
                    raise Mismatch(f"{what}: {len(got)} messages (then {lib_err!r}), "
                                   f"reference {len(expected)} (then {err!r})")
                for i, (msg, exp) in enumerate(zip(got, expected)):
                    header = msg.header.to_dict()
                    if header != exp["header"]:
                        raise Mismatch(f"{what}: message {i} header {_diff(header, exp['header'])}")
                    _same_book(msg.book, exp["book"], f"{what}: message {i}")
                    if name == "view":
                        msg.book.release()
                if err is None and lib_err is not None:
                    raise Mismatch(f"{what}: library raised {lib_err!r} after {len(got)} messages; "
                                   "the reference accepts")
                if err is not None:
                    if lib_err is None:
                        raise Mismatch(f"{what}: library stopped cleanly; reference expects {err!r}")
                    assert isinstance(err, RefError)
                    _expect_error(lib_err, err, what)


def target_from_bytes(data: bytes) -> None:
    """OrderBook.from_bytes and load_from at an offset picked by the input."""
    flags, offset, strict, buf = _split(data)
    heavy = bool(flags & FLAG_HEAVY)
    cap = 50 if flags & FLAG_CAP50 else 128
    size = ref.book_size(cap)
    cls = UserBook if flags & FLAG_SUBCLASS else OrderBook
    what = (f"{cls.__name__}.from_bytes(len {len(buf)}, offset {offset}, strict={strict}, "
            f"capacity={cap})")
    book, exp = agree(lambda: cls.from_bytes(buf, offset, strict=strict, capacity=cap),
                      lambda: ref.parse_book(buf, offset, strict, cap), what)
    if book is not None:
        if type(book) is not cls or book.is_view or book.readonly:
            raise Mismatch(f"{what}: got a {type(book).__name__} view={book.is_view}")
        check_book_api(book, exp, heavy)
        if strict and bytes(book) != bytes(buf[offset:offset + size]):
            raise Mismatch(f"{what}: canonical bytes not reproduced")
    target = OrderBook([(5, 5, 5)], [(6, 6, 6)], sequence=1, capacity=cap)
    before = bytes(target)
    done, exp = agree(lambda: target.load_from(buf, offset, strict=strict),
                      lambda: ref.parse_book(buf, offset, strict, cap), f"load_from {what}")
    if exp is None:
        if bytes(target) != before:
            raise Mismatch(f"load_from {what}: a failed load changed the book")
    else:
        _same_book(target, exp, f"load_from {what}")


def _make_source(kind: int, buf: bytes) -> Tuple[Any, bool, Optional[bytearray]]:
    """(buffer object, read-only?, the underlying bytearray if any)."""
    if kind == 0:
        return buf, True, None
    ba = bytearray(buf)
    if kind == 1:
        return ba, False, ba
    if kind == 2:
        return memoryview(ba), False, ba
    return memoryview(ba).toreadonly(), True, ba


def target_view(data: bytes) -> None:
    """OrderBook.view over bytes / bytearray / memoryviews at any offset:
    reads, writes through writable views, export locking, rebind, release."""
    flags, offset, strict, buf = _split(data)
    kind = (flags >> KIND_SHIFT) & 3
    heavy = bool(flags & FLAG_HEAVY)
    src, readonly, ba = _make_source(kind, buf)
    cap = 50 if flags & FLAG_CAP50 else 128
    size = ref.book_size(cap)
    cls = UserBook if flags & FLAG_SUBCLASS else OrderBook
    what = (f"{cls.__name__}.view(kind {kind}, len {len(buf)}, offset {offset}, strict={strict}, "
            f"capacity={cap})")
    view, exp = agree(lambda: cls.view(src, offset, strict=strict, capacity=cap),
                      lambda: ref.parse_book(buf, offset, strict, cap), what)
    if view is None:
        if ba is not None:
            if isinstance(src, memoryview):
                src.release()
            ba.append(0)            # a failed view holds no export
        return
    if type(view) is not cls or not view.is_view or view.readonly != readonly:
        raise Mismatch(f"{what}: is_view={view.is_view} readonly={view.readonly}")
    check_book_api(view, exp, heavy)
    if memoryview(view).tobytes() != bytes(buf[offset:offset + size]):
        raise Mismatch(f"{what}: memoryview(view) is not the viewed bytes")
    if ba is not None:
        try:
            ba.append(0)
        except BufferError:
            pass
        else:
            raise Mismatch(f"{what}: the viewed bytearray could be resized")
    if not readonly:
        assert ba is not None
        view.sequence = (exp["sequence"] + 1) % 2**64
        if ba[offset + 8:offset + 16] != struct.pack("<Q", view.sequence):
            raise Mismatch(f"{what}: a write through the view did not reach the buffer")
        level = (exp["bids"][0][0] if exp["bids"] else 1, 1, 2, 0)
        try:
            view.add_bid(*level[:3])
        except CapacityError:
            if len(exp["bids"]) < cap:
                raise Mismatch(f"{what}: add_bid refused at {len(exp['bids'])} levels") from None
        else:
            prices = [lv[0] for lv in exp["bids"]]
            if prices == sorted(prices, reverse=True):      # upstream's placement on a side in order
                ref.insert_level(exp["bids"], False, level)
                exp["sequence"] = view.sequence
                _same_book(view, exp, f"{what}: add_bid")
            else:
                exp["bids"] = book_state(view)["bids"]
                exp["sequence"] = view.sequence
                if len(exp["bids"]) != len(prices) + 1 or level not in exp["bids"]:
                    raise Mismatch(f"{what}: add_bid on a side out of order lost the level")
            if ref.parse_book(ba, offset, capacity=cap) != book_state(view):
                raise Mismatch(f"{what}: the buffer does not hold the inserted level")
        view.clear()
        if ref.parse_book(ba, offset, strict=False, capacity=cap)["bids"] or len(view.asks):
            raise Mismatch(f"{what}: clear() left levels")
    mv = memoryview(view)
    try:
        view.release()
    except BufferError:
        pass
    else:
        raise Mismatch(f"{what}: released while exported")
    mv.release()
    view.rebind(bytes(buf), offset)
    if not view.readonly:
        raise Mismatch(f"{what}: rebind over bytes is not read-only")
    view.release()
    try:
        view.best_bid
    except ReleasedError:
        pass
    else:
        raise Mismatch(f"{what}: a released view still reads")
    if ba is not None:
        if isinstance(src, memoryview):
            src.release()
        ba.append(0)                # nothing holds the bytearray any more


TARGETS: Dict[str, Callable[[bytes], None]] = {
    "decode_message": target_decode_message,
    "iter_messages": target_iter_messages,
    "from_bytes": target_from_bytes,
    "view": target_view,
}

# Input format of each target: "message" (raw messages) or "book" (seed_input).
FORMATS: Dict[str, str] = {
    "decode_message": "message",
    "iter_messages": "message",
    "from_bytes": "book",
    "view": "book",
}

if os.environ.get("OB_FUZZ_SELFTEST") == "1":
    def target_selftest(data: bytes) -> None:
        """Leaks a builtin error on every input: the driver must fail the run
        (tests/test_fuzz_smoke.py checks that it does)."""
        orderbook.OrderBook.from_bytes(bytes(ref.BOOK_SIZE))
        raise KeyError("selftest: an error outside the orderbook hierarchy")

    TARGETS["selftest"] = target_selftest
    FORMATS["selftest"] = "message"
