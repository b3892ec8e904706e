"""Order book messages over ZeroMQ PUB/SUB (pyzmq), one message per ZMQ
frame, decoded zero-copy: ``sock.recv(copy=False)`` gives a ``zmq.Frame``
whose ``.buffer`` is a memoryview of libzmq's own message memory, and
``decode_message(frame.buffer, copy=False)`` is a view over that memory."""

from __future__ import annotations

import time

import pytest

zmq = pytest.importorskip("zmq", reason="pyzmq is not installed (pip install 'orderbook[zmq]')")

from orderbook import Message, OrderBook, decode_message, encode_message, encode_message_into  # noqa: E402
from orderbook import message_size  # noqa: E402


def make_book(i, capacity=128):
    return OrderBook(bids=[(1_000_000 - j, 10 + i) for j in range(5)],
                     asks=[(1_000_001 + j, 20 + i) for j in range(5)],
                     sequence=i, venue_id=100, capacity=capacity)


def _address(kind, tmp_path):
    if kind == "ipc":
        return f"ipc://{tmp_path}/books.ipc"
    return "tcp://127.0.0.1:*"


def _pair(ctx, kind, tmp_path, topic=b""):
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 100_000)
    pub.bind(_address(kind, tmp_path))
    endpoint = pub.getsockopt_string(zmq.LAST_ENDPOINT)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 100_000)
    sub.setsockopt(zmq.RCVTIMEO, 5000)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(endpoint)
    # slow joiner: publish probes until the subscription has reached the publisher
    probe = encode_message(make_book(0), sequence=2**64 - 1)
    deadline = time.monotonic() + 5
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    while time.monotonic() < deadline:
        pub.send(probe)
        if poller.poll(20):
            while poller.poll(50):
                sub.recv()
            break
    else:  # pragma: no cover
        raise RuntimeError("the SUB socket never joined")
    return pub, sub


@pytest.fixture
def ctx():
    c = zmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_pub_sub_zero_copy(ctx, kind, tmp_path):
    pub, sub = _pair(ctx, kind, tmp_path)
    books = [make_book(i, 128 if i % 3 else 50) for i in range(200)]
    buf = bytearray(message_size(128))
    view = memoryview(buf)
    for i, b in enumerate(books):
        n = encode_message_into(buf, 0, b, sequence=i, source=1)
        pub.send(view[:n])                      # pyzmq copies small sends; the buffer is reused
    for i, b in enumerate(books):
        frame = sub.recv(copy=False)
        assert isinstance(frame, zmq.Frame)
        mv = frame.buffer
        msg = decode_message(mv, copy=False)
        assert msg.header.sequence == i and msg.book == b
        # a view over the frame's memory: the book's bytes are at offset 37 of it
        book_mv = memoryview(msg.book)
        frame_addr = _address_of(mv)
        assert _address_of(book_mv) == frame_addr + 37
        assert book_mv.nbytes == len(frame) - 37
        assert book_mv.readonly == mv.readonly   # as writable as the frame's buffer
        del msg, book_mv
    pub.close()
    sub.close()


def test_view_memory_is_the_frames_memory(ctx, tmp_path):
    # a Frame built over our bytearray shares it; a view decoded from it sees changes in place
    data = bytearray(encode_message(make_book(5), sequence=5))
    frame = zmq.Frame(data, copy=False)
    msg = decode_message(frame.buffer, copy=False, verify=False)
    assert msg.book.bids[0].price == 1_000_000
    data[37 + 40 + 8: 37 + 40 + 16] = (123).to_bytes(8, "little")    # first bid's price
    assert msg.book.bids[0].price == 123
    assert _address_of(memoryview(msg.book)) == _address_of(memoryview(data)) + 37


def test_decode_into_reused_message(ctx, tmp_path):
    # the other consumer path: copy each frame's book into one reused Message
    pub, sub = _pair(ctx, "tcp", tmp_path, topic=b"")
    into = Message()
    for i in range(50):
        pub.send(encode_message(make_book(i), sequence=i))
    for i in range(50):
        frame = sub.recv(copy=False)
        assert decode_message(frame.buffer, into=into) is into
        assert into.header.sequence == i and into.book == make_book(i)
    pub.close()
    sub.close()


def _address_of(obj):
    """The address of a buffer's first byte (read-only buffers too), through
    PyObject_GetBuffer: ctypes' from_buffer refuses read-only ones."""
    import ctypes

    view = (ctypes.c_char * 256)()          # room for a Py_buffer; its first field is void* buf
    api = ctypes.pythonapi
    api.PyObject_GetBuffer.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_int]
    api.PyObject_GetBuffer.restype = ctypes.c_int
    api.PyBuffer_Release.argtypes = [ctypes.c_void_p]
    if api.PyObject_GetBuffer(obj, ctypes.addressof(view), 0) != 0:   # PyBUF_SIMPLE
        raise RuntimeError("no buffer")
    try:
        return ctypes.c_void_p.from_address(ctypes.addressof(view)).value
    finally:
        api.PyBuffer_Release(ctypes.addressof(view))
