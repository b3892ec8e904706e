"""Zero-copy views: any offset, read-only sources, lifetime, re-pointing, and
side exports shared with memoryview and numpy."""

import ctypes
import gc
import mmap
import weakref

import pytest

import orderbook
from orderbook import OrderBook, ReadOnlyError, ReleasedError

SIZE = orderbook.ORDER_BOOK_SIZE


def sample(**kw):
    return OrderBook([(105, 1, 1), (104, 2, 2)], [(106, 3, 3)], venue_id=7, sequence=99, **kw)


@pytest.mark.parametrize("offset", range(0, 9))
def test_view_at_any_offset_reads_and_writes_in_place(offset):
    src = sample()
    buf = bytearray(b"\xee" * offset + bytes(src) + b"\xee" * 3)
    view = OrderBook.view(buf, offset)
    assert view == src and not view.readonly and view.is_view
    view.add_bid(106, 9)
    view.venue_id = 300
    assert buf[offset:offset + SIZE] == bytes(view)
    assert OrderBook.from_bytes(buf, offset).best_bid == (106, 9, 0, 0)
    assert buf[:offset] == b"\xee" * offset and buf[-3:] == b"\xee" * 3


def test_writes_to_the_buffer_show_through_the_view():
    buf = bytearray(bytes(sample()))
    view = OrderBook.view(buf)
    buf[orderbook.layout()["OrderBookTLV"]["venue_id"]] = 42
    assert view.venue_id == 42


@pytest.mark.parametrize("make", [bytes, lambda b: memoryview(bytearray(b)).toreadonly()])
def test_read_only_sources_give_read_only_views(make):
    view = OrderBook.view(make(bytes(sample())))
    assert view.readonly
    for mutate in (lambda: view.add_bid(1, 1), lambda: view.clear(), lambda: view.set_asks([]),
                   lambda: setattr(view, "venue_id", 1), lambda: view.load_from(bytes(SIZE))):
        with pytest.raises(ReadOnlyError, match="this book views read-only memory"):
            mutate()
    with pytest.raises(TypeError, match="cannot modify read-only memory"):
        memoryview(view)[0:1] = b"x"
    for exporter, name in ((view, "OrderBook"), (view.bids, "Levels")):
        # pack_into asks its target for a PyBUF_WRITABLE export
        with pytest.raises(ReadOnlyError, match=f"pack_into needs a writable buffer, got read-only {name}"):
            OrderBook().pack_into(exporter)
    assert memoryview(view).readonly and memoryview(view.bids).readonly
    assert view == sample()


def test_bytearray_resize_refused_while_viewed_and_allowed_after_release():
    buf = bytearray(bytes(sample()))
    view = OrderBook.view(buf)
    with pytest.raises(BufferError):
        buf.extend(b"x")
    view.release()
    buf.extend(b"x")
    with pytest.raises(ReleasedError, match="this view was released"):
        view.best_bid
    with pytest.raises(ReleasedError):
        bytes(view)
    assert "released" in repr(view)


def test_context_manager_releases():
    buf = bytearray(bytes(sample()))
    with OrderBook.view(buf) as view:
        assert view.venue_id == 7
    buf.extend(b"x")


def test_collecting_the_view_releases_the_buffer():
    buf = bytearray(bytes(sample()))
    view = OrderBook.view(buf)
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None
    buf.extend(b"x")


def test_source_deleted_while_view_lives():
    view = OrderBook.view(bytearray(bytes(sample())), 0)
    gc.collect()
    assert view == sample()     # the view's Py_buffer keeps the bytearray alive
    mv = memoryview(bytearray(bytes(sample())))
    view2 = OrderBook.view(mv)
    del mv
    gc.collect()
    assert view2 == sample()


def test_caller_released_memoryview_keeps_view_valid():
    data = bytearray(bytes(sample()))
    mv = memoryview(data)
    view = OrderBook.view(mv)
    with pytest.raises(BufferError):
        mv.release()            # the view holds an export of the memoryview
    view.release()
    mv.release()


def test_mmap_close_refused_while_viewed(tmp_path):
    path = tmp_path / "book.bin"
    path.write_bytes(b"\0" * 5 + bytes(sample()))
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 0)
        view = OrderBook.view(mm, 5)
        assert view == sample()
        view.add_ask(107, 1)
        with pytest.raises(BufferError):
            mm.close()
        view.release()
        mm.flush()
        mm.close()
    assert OrderBook.from_bytes(path.read_bytes(), 5).asks[1] == (107, 1, 0, 0)


def test_shared_memory_view():
    shared_memory = pytest.importorskip("multiprocessing.shared_memory")
    shm = shared_memory.SharedMemory(create=True, size=SIZE + 37)
    try:
        sample().pack_into(shm.buf, 37)
        view = OrderBook.view(shm.buf, 37)
        other = OrderBook.view(shm.buf, 37)
        view.add_bid(200, 1)
        assert other.best_bid == (200, 1, 0, 0)
        view.release()
        other.release()
    finally:
        shm.close()
        shm.unlink()


def test_rebind_repoints_an_existing_view():
    a, b = bytes(sample()), bytes(OrderBook([(1, 1)]))
    view = OrderBook.view(a)
    view.rebind(b)
    assert view.best_bid == (1, 1, 0, 0)
    view.rebind(bytearray(a))
    assert not view.readonly and view == sample()
    owned = OrderBook()
    owned.rebind(a, 0)          # an owning book can become a view
    assert owned.is_view and owned == sample()


def test_rebind_and_release_refused_while_exported():
    view = OrderBook.view(bytes(sample()))
    mv = memoryview(view)
    side = memoryview(view.asks)
    with pytest.raises(BufferError, match="2 buffer export"):
        view.rebind(bytes(SIZE))
    with pytest.raises(BufferError, match="cannot release a view while 2 buffer export"):
        view.release()
    mv.release()
    side.release()
    view.release()


def test_memoryview_of_book_is_the_struct():
    book = sample()
    mv = memoryview(book)
    assert mv.nbytes == SIZE and not mv.readonly and mv.format == "B"
    mv[orderbook.layout()["OrderBookTLV"]["asset_type"]] = 5
    assert book.asset_type == 5
    mv.release()


def test_side_memoryview_shares_memory():
    book = sample()
    mv = memoryview(book.bids)
    assert mv.shape == (2,) and mv.format == orderbook.LEVEL_FORMAT
    raw = mv.cast("B")
    raw[0] = 0x70            # price of bids[0], low byte
    assert book.bids[0].price == 0x70
    raw.release()
    mv.release()


def test_numpy_views_share_memory_both_ways():
    np = pytest.importorskip("numpy")
    book = sample()
    for arr in (np.asarray(book.bids), book.bids.to_numpy()):
        assert arr.dtype == orderbook.LEVEL_DTYPE and arr.shape == (2,)
        arr["size"][1] = 77                   # write through numpy...
        assert book.bids[1].size == 77        # ...read through the book
        book.add_bid(106, 5)                  # write through the book (shifts the levels down)...
        assert arr["price"].tolist() == [106, 105]   # ...seen by the array
        book.set_bids([(105, 1, 1), (104, 2, 2)])
    arr = book.asks.to_numpy()
    book.set_asks([(300, 9)])
    assert arr["price"][0] == 300             # same memory, no copy


def test_numpy_side_view_outlives_the_book():
    np = pytest.importorskip("numpy")
    arr = sample().asks.to_numpy()
    gc.collect()
    assert arr.tolist() == [(106, 3, 3, 0)]
    arr2 = np.asarray(OrderBook.view(bytes(sample())).bids)
    gc.collect()
    assert not arr2.flags.writeable and arr2["price"].tolist() == [105, 104]


def test_empty_side_exports():
    np = pytest.importorskip("numpy")
    book = OrderBook()
    assert memoryview(book.bids).shape == (0,)
    assert book.bids.to_numpy().shape == (0,)
    assert np.asarray(book.asks).dtype == orderbook.LEVEL_DTYPE


def test_pickle_of_a_view_is_an_owning_copy():
    import pickle
    view = OrderBook.view(bytes(sample()))
    copy = pickle.loads(pickle.dumps(view))
    assert copy == view and not copy.is_view and not copy.readonly


def test_with_block_keeps_the_users_exception_and_releases_after_the_last_export():
    buf = bytearray(bytes(OrderBook([(5, 1)])))
    with pytest.raises(KeyError, match="mine"):
        with OrderBook.view(buf) as view:
            arr = memoryview(view.bids)
            raise KeyError("mine")
    assert view.is_view                       # still attached: an export is alive
    with pytest.raises(BufferError):
        buf.append(0)
    arr.release()                             # the last export goes: so does the view
    assert not view.is_view
    buf.append(0)                             # the bytearray is free again
    with pytest.raises(orderbook.ReleasedError):
        view.best_bid
    # without an exception, an alive export still refuses the release
    with pytest.raises(orderbook.ExportError):
        with OrderBook.view(bytes(6200)) as v2:
            keep = memoryview(v2)
    keep.release()


def test_signature_is_true():
    import inspect
    sig = inspect.signature(OrderBook)
    assert list(sig.parameters) == ["bids", "asks", "snapshot_timestamp_ns", "sequence",
                                    "precision_factor", "asset_id", "venue_id", "asset_type",
                                    "reserved", "capacity", "truncate"]
    assert all(p.kind is p.KEYWORD_ONLY for p in list(sig.parameters.values())[2:])
    OrderBook(**{k: v.default for k, v in sig.parameters.items()})
    with pytest.raises(TypeError):
        OrderBook((), (), 5)                 # header fields are keyword-only
    import pydoc
    text = pydoc.render_doc(OrderBook, renderer=pydoc.plaintext)
    # CPython 3.13's pydoc puts a long signature one parameter per line
    flat = "".join(text.replace("|", " ").split())
    assert "OrderBook(bids=(),asks=(),*,snapshot_timestamp_ns=0," in flat


def test_without_numpy_to_numpy_names_the_extra(tmp_path):
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "numpy" or name.startswith("numpy."):
                    raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
        sys.meta_path.insert(0, Block())
        import orderbook
        book = orderbook.OrderBook([(5, 1)])
        assert book.bids.tolist() == [(5, 1, 0, 0)]      # everything else works
        try:
            book.bids.to_numpy()
        except ModuleNotFoundError as e:
            assert "orderbook-tlv[numpy]" in str(e) and e.name == "numpy", e
        else:
            raise SystemExit("to_numpy() worked without numpy")
        assert orderbook.venues.from_binance            # an attribute, no import needed
        print("OK")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr
