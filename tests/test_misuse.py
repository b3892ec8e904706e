"""Misuse: what users do to views and their buffers that they should not, or
might not think about.  Each case must end in a clean exception or correct
behaviour, never in a crash or in reading freed or foreign memory.

Cases that crashed the interpreter before they were fixed (found while
writing these tests) run in a subprocess, so a regression fails one test
instead of killing the run.
"""

from __future__ import annotations

import copy
import gc
import mmap
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import threading
import weakref

import pytest

import orderbook
from orderbook import (
    LayoutError, Message, OrderBook, OrderBookError, ReadOnlyError, ReleasedError,
    TruncatedError, decode_message, encode_message, encode_message_into, iter_messages,
)

FUZZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz")
if FUZZ not in sys.path:
    sys.path.append(FUZZ)           # appended: never shadows the orderbook under test
from obfuzz.reference import frame_book  # noqa: E402

SIZE = orderbook.ORDER_BOOK_SIZE
LAYOUT = orderbook.layout()["OrderBookTLV"]
ASKS_AT = LAYOUT["asks"]


def sample(**kw) -> OrderBook:
    return OrderBook([(105, 1, 1), (104, 2, 2), (103, 3, 3)], [(106, 4, 4), (107, 5, 5)],
                     venue_id=7, sequence=99, asset_id=12, **kw)


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (same environment, so a sanitizer
    preload applies there too); it must print OK and exit 0."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


def assert_isolated_ok(code: str) -> None:
    proc = run_isolated(code)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), (
        f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-4000:]}")


# --- bytearray sources --------------------------------------------------------------------

RESIZES = [
    ("append", lambda b: b.append(0)),
    ("extend", lambda b: b.extend(b"xy")),
    ("iadd", lambda b: b.__iadd__(b"z")),
    ("imul", lambda b: b.__imul__(2)),
    ("pop", lambda b: b.pop()),
    ("clear", lambda b: b.clear()),
    ("del slice", lambda b: b.__delitem__(slice(0, 10))),
    ("grow slice", lambda b: b.__setitem__(slice(0, 1), b"abc")),
    ("insert", lambda b: b.insert(0, 1)),
]


@pytest.mark.parametrize("name, resize", RESIZES, ids=[r[0] for r in RESIZES])
def test_bytearray_resize_refused_while_viewed(name, resize):
    buf = bytearray(b"\0" * 3 + bytes(sample()) + b"\0" * 5)
    view = OrderBook.view(buf, 3)
    with pytest.raises(BufferError):
        resize(buf)
    assert view == sample()                         # still the same memory, intact
    buf[3 + LAYOUT["venue_id"]] = 9                 # same-size writes are fine...
    assert view.venue_id == 9                       # ...and seen through the view
    view.release()
    resize(buf)                                     # free to resize once released


def test_every_export_keeps_the_bytearray_locked():
    np = pytest.importorskip("numpy")
    buf = bytearray(bytes(sample()))
    view = OrderBook.view(buf)
    side = memoryview(view.bids)
    arr = view.asks.to_numpy()
    whole = np.asarray(view.bids)
    with pytest.raises(BufferError):
        view.release()                              # exports of the view are alive
    for export in (side, arr, whole):
        with pytest.raises(BufferError):
            buf.append(0)
        if isinstance(export, memoryview):
            export.release()
    del arr, whole, export
    gc.collect()
    view.release()
    buf.append(0)


def test_a_failed_view_holds_no_export():
    buf = bytearray(SIZE - 1)
    with pytest.raises(orderbook.TruncatedError):
        OrderBook.view(buf)
    bad = bytearray(SIZE)
    bad[ASKS_AT] = 200
    with pytest.raises(LayoutError):
        OrderBook.view(bad)
    with pytest.raises(LayoutError):
        decode_message(bytearray(orderbook_message_with_count(200)), copy=False)
    buf.append(0)
    bad.append(0)


def orderbook_message_with_count(count: int) -> bytes:
    raw = bytearray(bytes(sample()))
    struct.pack_into("<H", raw, ASKS_AT, count)
    return frame_book(bytes(raw))


# --- mmap sources -------------------------------------------------------------------------

def test_mmap_close_and_resize_refused_while_viewed(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(encode_message(sample(), timestamp_ns=1) * 2)
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 0)
        view = OrderBook.view(mm, orderbook.MESSAGE_SIZE + 37)
        msgs = list(iter_messages(memoryview(mm), copy=False))
        with pytest.raises(BufferError):
            mm.close()
        with pytest.raises((BufferError, SystemError, OSError)):
            mm.resize(10)
        view.add_bid(110, 1)
        assert msgs[1].book.best_bid == (110, 1, 0, 0)   # two views, one memory
        for m in msgs:
            m.book.release()
        with pytest.raises(BufferError):
            mm.close()                              # `view` still holds it
        view.release()
        mm.close()
    assert OrderBook.from_bytes(path.read_bytes(), orderbook.MESSAGE_SIZE + 37).best_bid == (110, 1, 0, 0)


def test_iter_messages_over_an_mmap_is_zero_copy(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(encode_message(sample(), timestamp_ns=1) * 3)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mm:
        msgs = list(iter_messages(mm, copy=False))
        assert len(msgs) == 3 and all(m.book.is_view for m in msgs)
        assert mm.tell() == 0
        for m in msgs:
            m.book.release()


def test_read_only_mmap_gives_read_only_views(tmp_path):
    path = tmp_path / "book.bin"
    path.write_bytes(bytes(sample()))
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        view = OrderBook.view(mm)
        assert view.readonly and view == sample()
        with pytest.raises(ReadOnlyError):
            view.add_ask(108, 1)
        del mm                                      # the view keeps the mapping alive
        gc.collect()
        assert view == sample()
        view.release()


# --- memoryviews the caller releases -------------------------------------------------------

def test_caller_cannot_release_a_memoryview_a_view_holds():
    data = bytearray(bytes(sample()))
    with pytest.raises(BufferError):
        with memoryview(data) as mv:
            view = OrderBook.view(mv)
            assert view == sample()
        # leaving the with-block tries mv.release(): refused, the view holds an export
    assert view == sample()
    view.release()
    mv.release()
    data.append(0)


def test_memoryview_released_before_parsing_is_refused_cleanly():
    mv = memoryview(bytes(sample()))
    mv.release()
    for parse in (OrderBook.from_bytes, OrderBook.view, decode_message, OrderBook().load_from):
        with pytest.raises(ValueError):             # "operation forbidden on released memoryview"
            parse(mv)


def test_slices_of_a_memoryview_keep_their_own_offset():
    big = bytearray(b"\xee" * 11 + bytes(sample()) + b"\xee" * 4)
    window = memoryview(big)[5:]
    view = OrderBook.view(window, 6)
    assert view == sample()
    view.sequence = 1
    assert big[11 + 8] == 1
    with pytest.raises(orderbook.TruncatedError):
        OrderBook.view(window, 7 + 4)               # past the slice, though not past `big`
    view.release()
    window.release()


# --- sources and books deleted while views live ----------------------------------------------

def test_sources_deleted_while_views_live():
    np = pytest.importorskip("numpy")
    arr = np.frombuffer(bytearray(bytes(sample())), dtype=np.uint8).copy()
    ref_arr = weakref.ref(arr)
    view = OrderBook.view(arr)
    del arr
    gc.collect()
    assert ref_arr() is not None and view == sample()   # the export keeps it alive
    view.release()
    gc.collect()
    assert ref_arr() is None                             # and only the export did


def test_book_deleted_while_side_views_live():
    np = pytest.importorskip("numpy")
    book = sample()
    ref_book = weakref.ref(book)
    bids, asks_mv, asks_np = book.bids, memoryview(book.asks), book.asks.to_numpy()
    del book
    gc.collect()
    assert ref_book() is not None
    assert bids.tolist() == sample().bids.tolist()
    assert asks_mv.tobytes() == memoryview(sample().asks).tobytes()
    assert asks_np["price"].tolist() == [106, 107]
    del bids
    asks_mv.release()
    del asks_mv
    gc.collect()
    assert ref_book() is not None                        # the numpy array still holds it
    del asks_np
    gc.collect()
    assert ref_book() is None


def test_views_of_views_chain_lifetimes():
    buf = bytearray(bytes(sample()))
    outer = OrderBook.view(buf)
    inner = OrderBook.view(outer)                   # a view over the struct export of a view
    assert inner == sample()
    inner.asset_id = 77
    assert outer.asset_id == 77 and buf[LAYOUT["asset_id"]] == 77
    with pytest.raises(BufferError):
        outer.release()
    del outer                                       # `inner` keeps it (and buf) alive
    gc.collect()
    assert inner.asset_id == 77
    with pytest.raises(BufferError):
        buf.append(0)
    inner.release()
    gc.collect()
    buf.append(0)


def test_message_views_outlive_the_capture_object():
    data = bytearray(encode_message(sample(), timestamp_ns=5) * 3)
    books = [m.book for m in iter_messages(data, copy=False)]
    del data
    gc.collect()
    assert all(b == sample() for b in books)


# --- read-only sources ---------------------------------------------------------------------

def read_only_sources():
    raw = bytes(sample())
    yield "bytes", raw
    yield "readonly memoryview", memoryview(bytearray(raw)).toreadonly()
    try:
        import numpy as np
    except ImportError:
        return
    arr = np.frombuffer(raw, dtype=np.uint8).copy()
    arr.flags.writeable = False
    yield "read-only numpy", arr


@pytest.mark.parametrize("kind, source", list(read_only_sources()), ids=lambda x: x if isinstance(x, str) else "")
def test_read_only_sources_refuse_every_write(kind, source):
    view = OrderBook.view(source)
    assert view.readonly and view == sample()
    writes = [
        lambda: view.add_bid(1, 1), lambda: view.add_ask(1, 1), lambda: view.clear(),
        lambda: view.set_bids([]), lambda: view.set_asks([(1, 1)]),
        lambda: setattr(view, "sequence", 1), lambda: setattr(view, "venue_id", 1),
        lambda: view.load_from(bytes(SIZE)), lambda: view.__init__(),
        lambda: decode_message(encode_message(sample()), into=view),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError):
            write()
    assert view == sample()
    if kind != "read-only numpy":           # see test_read_only_numpy_target_is_a_library_error
        with pytest.raises(ReadOnlyError):
            encode_message_into(source, 0, view)
    with pytest.raises(ReadOnlyError):
        OrderBook().pack_into(view)
    with pytest.raises(TypeError, match="read-only"):
        memoryview(view.bids).cast("B")[0] = 1
    assert memoryview(view).readonly and memoryview(view.asks).readonly
    np = pytest.importorskip("numpy")
    assert not np.asarray(view.bids).flags.writeable
    assert not view.asks.to_numpy().flags.writeable
    copy_ = OrderBook.from_bytes(source)
    copy_.add_bid(1, 1)                             # an owning copy is writable
    view.release()


def test_copy_false_decode_of_bytes_is_read_only():
    msg = decode_message(encode_message(sample()), copy=False)
    assert msg.book.readonly and msg.book.is_view
    with pytest.raises(ReadOnlyError):
        msg.book.clear()


# --- numpy views outliving the book --------------------------------------------------------

def test_numpy_views_of_sides_outlive_owning_and_viewing_books():
    np = pytest.importorskip("numpy")
    arr = sample().bids.to_numpy()
    also = np.asarray(sample().asks)
    gc.collect()
    assert arr["price"].tolist() == [105, 104, 103]
    assert also["size"].tolist() == [4, 5]
    arr["size"][0] = 50                             # still writable memory of the (hidden) book
    assert arr["size"][0] == 50

    buf = bytearray(bytes(sample()))
    side = OrderBook.view(buf).asks.to_numpy()      # the view object itself is dropped at once
    gc.collect()
    with pytest.raises(BufferError):
        buf.append(0)                               # locked through side -> Levels -> view
    buf[ASKS_AT + 8] = 0x55                         # writes to buf show in the array
    assert side["price"][0] & 0xFF == 0x55
    del side
    gc.collect()
    buf.append(0)


def test_numpy_array_of_a_side_has_the_count_it_was_made_with():
    np = pytest.importorskip("numpy")
    book = sample()
    arr = np.asarray(book.bids)
    book.clear()                                    # memory stays, the slots are zeroed
    assert arr.shape == (3,) and arr["price"].tolist() == [0, 0, 0]
    book.set_bids([(9, 9)] * orderbook.MAX_ORDER_LEVELS)
    assert arr.shape == (3,)                        # never grows past what it was given


# --- threads --------------------------------------------------------------------------------

def test_concurrent_readers_over_one_view_while_another_thread_encodes():
    src = bytearray(encode_message(sample(), timestamp_ns=3))
    view = decode_message(src, copy=False).book
    expected = (bytes(sample()), sample().bids.tolist(), sample().asks.tolist())
    errors: list = []
    stop = threading.Event()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def reader():
        try:
            while not stop.is_set():
                assert (bytes(view), view.bids.tolist(), view.asks.tolist()) == expected
                assert view.spread_bps == 95 and view.best_bid == (105, 1, 1, 0)
                view.validate()
                with memoryview(view.asks) as mv:
                    assert mv.shape == (2,)
                assert OrderBook.from_bytes(view) == view
        except BaseException as e:          # reported below
            errors.append(e)

    def encoder():
        out = bytearray(orderbook.MESSAGE_SIZE)
        try:
            for i in range(3000):
                encode_message_into(out, 0, view, sequence=i, timestamp_ns=i)
                assert decode_message(out).header.sequence == i
                assert encode_message(view, timestamp_ns=1) == encode_message(sample(), timestamp_ns=1)
        except BaseException as e:
            errors.append(e)
        finally:
            stop.set()

    try:
        threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=encoder)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(old)
        stop.set()
    assert not errors, errors[:3]
    view.release()
    src.append(0)


def test_gil_released_crc_keeps_its_buffer_locked():
    """crc32 drops the GIL for large inputs; the buffer it reads must stay
    put meanwhile (ASan would see a resize under it as a use after free)."""
    import zlib
    orig = os.urandom(8 << 20)
    big = bytearray(orig)
    started, done = threading.Event(), threading.Event()
    result: list = []

    def crc():
        started.set()
        result.append(orderbook.crc32(big))
        done.set()

    t = threading.Thread(target=crc)
    t.start()
    started.wait()
    refused = 0
    while not done.is_set():
        try:
            big.append(0)
        except BufferError:
            refused += 1
            continue
        while True:                     # restore the length, whenever allowed
            try:
                del big[-1]
                break
            except BufferError:
                refused += 1
    t.join()
    assert bytes(big) == orig
    assert result[0] in (zlib.crc32(orig), zlib.crc32(orig + b"\0"))


def test_readers_in_threads_over_views_of_one_shared_buffer():
    buf = bytearray(bytes(sample()) * 8)
    views = [OrderBook.view(buf, i * SIZE) for i in range(8)]
    errors: list = []

    def read(v):
        try:
            for _ in range(2000):
                assert v == views[0] and v.best_ask == (106, 4, 4, 0)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=read, args=(v,)) for v in views]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


# --- subclasses -------------------------------------------------------------------------------

class Tagged(OrderBook):
    """A user's subclass with a required constructor argument, state and methods."""

    def __init__(self, feed, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feed = feed

    def mid(self):
        return (self.best_bid.price + self.best_ask.price) / 2

    def __repr__(self):
        return f"Tagged({getattr(self, 'feed', '?')}) " + super().__repr__()


class Slotted(OrderBook):
    __slots__ = ("extra",)


def test_user_subclass_through_every_constructor():
    t = Tagged("x", sample().bids.tolist(), sample().asks.tolist(), venue_id=7, sequence=99,
               asset_id=12)
    assert t == sample() and t.mid() == 105.5 and "Tagged(x)" in repr(t)
    raw = bytes(t)
    for made in (Tagged.from_bytes(raw), Tagged.view(raw), Tagged.view(bytearray(raw))):
        assert type(made) is Tagged and made == t
        assert not hasattr(made, "feed")            # parsers do not call __init__
        made.feed = "set later"
    into = Tagged("y")
    assert decode_message(encode_message(t), into=into) is into and into == t
    assert type(Message(into).book) is Tagged


def test_user_subclass_pickles_and_copies_with_its_state():
    t = Tagged("feed-1", [(5, 5)], [(6, 6)])
    t.extra = {"k": [1, 2]}
    for clone in (pickle.loads(pickle.dumps(t)), copy.copy(t), copy.deepcopy(t)):
        assert type(clone) is Tagged and clone == t
        assert clone.feed == "feed-1" and clone.extra == {"k": [1, 2]}
    assert copy.deepcopy(t).extra is not t.extra
    assert copy.copy(t).extra is t.extra


def test_subclass_with_slots():
    s = Slotted([(5, 5)])
    s.extra = 1
    clone = pickle.loads(pickle.dumps(s))
    assert type(clone) is Slotted and clone == s


def test_subclass_that_overrides_init_without_super_is_an_empty_book():
    class Lazy(OrderBook):
        def __init__(self):
            pass

    lazy = Lazy()
    assert len(lazy.bids) == 0 and len(lazy.asks) == 0
    lazy.add_bid(1, 1)
    assert OrderBook.from_bytes(bytes(lazy)).best_bid == (1, 1, 0, 0)


# --- pickling views -----------------------------------------------------------------------------

@pytest.mark.parametrize("make", [bytes, bytearray, lambda b: memoryview(bytearray(b)),
                                  lambda b: memoryview(b)], ids=["bytes", "bytearray", "memoryview", "ro-memoryview"])
def test_pickle_of_a_view_is_an_independent_owning_copy(make):
    source = make(bytes(sample()))
    view = OrderBook.view(source)
    for clone in (pickle.loads(pickle.dumps(view)), copy.copy(view), copy.deepcopy(view)):
        assert clone == view and not clone.is_view and not clone.readonly
        clone.add_bid(200, 1)
        assert view == sample()                     # the source is untouched
    view.release()
    with pytest.raises(ReleasedError):
        pickle.dumps(view)


def test_pickle_of_a_message_holding_a_view():
    data = encode_message(sample(), timestamp_ns=8)
    msg = decode_message(data, copy=False)
    clone = pickle.loads(pickle.dumps(msg))
    assert clone == msg and not clone.book.is_view and clone.header.timestamp == 8


def test_pickle_of_a_side_is_a_plain_list():
    side = OrderBook.view(bytes(sample())).asks
    clone = pickle.loads(pickle.dumps(side))
    assert clone == [(106, 4, 4, 0), (107, 5, 5, 0)] and isinstance(clone, list)


# --- wrong types ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["text", None, 12, 3.5, [1, 2], object()], ids=repr)
def test_non_buffers_are_refused_with_a_type_error(bad):
    parsers = [OrderBook.from_bytes, OrderBook.view, decode_message, OrderBook().load_from]
    if not isinstance(bad, str):             # iter_messages takes a str as a path
        parsers.append(lambda x: list(iter_messages(x)))
    for parse in parsers:
        with pytest.raises(TypeError):
            parse(bad)


# --- regressions: each of these crashed or leaked a builtin error once -----------------------------

def test_bare_levels_object_does_not_crash():
    assert_isolated_ok("""
        from orderbook import Levels
        side = Levels.__new__(Levels)
        try:
            len(side)
        except (TypeError, ValueError):
            pass
        print("OK")
    """)


def test_bare_message_object_as_decode_target_does_not_crash():
    assert_isolated_ok("""
        from orderbook import Message, OrderBook, decode_message, encode_message
        bare = Message.__new__(Message)
        try:
            decode_message(encode_message(OrderBook()), into=bare)
        except (TypeError, ValueError):
            pass
        print("OK")
    """)


def test_level_list_mutated_during_fill_does_not_crash():
    assert_isolated_ok("""
        from orderbook import OrderBook
        levels = []
        class Shrinks:
            def __index__(self):
                levels.clear()
                return 1
        levels.extend([(Shrinks(), 1)] + [(1, 1)] * 50)
        try:
            OrderBook(levels)
        except (IndexError, ValueError, TypeError):
            pass
        row = [Shrinks(), 1, 1]
        class Shrinks2:
            def __index__(self):
                row.clear()
                return 1
        row[0] = Shrinks2()
        try:
            OrderBook([row])
        except (IndexError, ValueError, TypeError):
            pass
        print("OK")
    """)


def test_count_corrupted_under_a_live_view_is_not_trusted():
    # Another writer of the same memory (a bytearray, shared memory, the
    # book's own writable export) can set a count above 128 after OrderBook.view
    # checked it.  Reads must then fail cleanly (LayoutError) or stay within
    # 128 levels (len() once said 255 and indexing read past the buffer).
    assert_isolated_ok("""
        import orderbook
        from orderbook import OrderBook, OrderBookError
        at = orderbook.layout()["OrderBookTLV"]["asks"]
        buf = bytearray(bytes(OrderBook([(2, 1)], [(3, 1)])))
        view = OrderBook.view(buf)
        buf[at] = 0xFF                      # asks count 255, straight into the viewed memory
        for read in (lambda: len(view.asks), lambda: view.asks[200], lambda: view.asks.tolist(),
                     lambda: memoryview(view.asks), lambda: view == view, lambda: view.validate(),
                     lambda: bytes(view)):
            try:
                r = read()
            except OrderBookError:
                continue
            if isinstance(r, int):
                assert r <= orderbook.MAX_ORDER_LEVELS, r
            if isinstance(r, list):
                assert len(r) <= orderbook.MAX_ORDER_LEVELS, len(r)
            if isinstance(r, memoryview):
                assert r.shape[0] <= orderbook.MAX_ORDER_LEVELS, r.shape
        owned = OrderBook([(2, 1)], [(3, 1)])
        with memoryview(owned) as mv:
            mv[at] = 0xFF                   # the same through the book's own writable export
        try:
            assert len(owned.asks) <= orderbook.MAX_ORDER_LEVELS
            owned.asks[254]
        except OrderBookError:
            pass
        except IndexError:
            pass
        print("OK")
    """)


class _GreedyReadRefused:
    """A binary file that refuses single reads above 64 MiB, as a buffered
    file does under a memory limit (BufferedReader.read(n) allocates n
    bytes up front and raises MemoryError)."""

    def __init__(self, data: bytes) -> None:
        import io
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > 64 << 20:
            raise MemoryError(f"read({n}) refused")
        return self._f.read(n)


def test_huge_payload_size_in_a_file_capture_is_a_library_error():
    header = struct.pack("<IBBBBQQII", 0xDEADBEEF, 0, 1, 0, 0, 0, 0, 0xFFFFFFF0, 0)
    with pytest.raises(TruncatedError):
        list(iter_messages(_GreedyReadRefused(header)))


def test_file_captures_are_read_in_bounded_chunks():
    data = encode_message(sample(), timestamp_ns=1) * 40
    assert len(list(iter_messages(_GreedyReadRefused(data)))) == 40


def test_read_only_numpy_target_is_a_library_error():
    np = pytest.importorskip("numpy")
    arr = np.zeros(orderbook.MESSAGE_SIZE, np.uint8)
    arr.flags.writeable = False
    with pytest.raises(ReadOnlyError):
        encode_message_into(arr, 0, sample())


def test_non_contiguous_buffer_is_a_library_error():
    data = bytes(sample()) * 2
    with pytest.raises(OrderBookError):
        OrderBook.from_bytes(memoryview(data)[::2])


def test_release_while_exported_is_a_library_error():
    view = OrderBook.view(bytes(sample()))
    with memoryview(view):
        with pytest.raises(OrderBookError):
            view.release()


# --- offsets and sources outside what the C side can take ---------------------------------

@pytest.mark.parametrize("offset", [2**63, 2**64 + 5, -2**63 - 1])
def test_offsets_beyond_ssize_t_are_library_errors(offset):
    data = encode_message(sample(), timestamp_ns=1)
    for parse in (lambda: decode_message(data, offset), lambda: OrderBook.view(data, offset),
                  lambda: OrderBook.from_bytes(data, offset),
                  lambda: OrderBook().load_from(data, offset)):
        with pytest.raises(OrderBookError):
            parse()


@pytest.mark.parametrize("bad", [5, None, 3.5, object()], ids=repr)
def test_iter_messages_of_a_non_buffer_is_a_library_error(bad):
    with pytest.raises(orderbook.FieldTypeError):
        list(iter_messages(bad))


def test_iter_messages_of_a_str_opens_that_path(tmp_path):
    with pytest.raises(FileNotFoundError):     # an I/O error, as open() gives
        list(iter_messages(str(tmp_path / "no-such-capture")))
    path = tmp_path / "capture.bin"
    path.write_bytes(encode_message(sample(), timestamp_ns=1) * 2)
    assert [m.book for m in iter_messages(str(path))] == [sample(), sample()]
    assert len(list(iter_messages(path))) == 2
