"""orderbook.aio: asyncio streams of messages over Unix stream sockets."""

from __future__ import annotations

import asyncio
import os
import random
import socket

import pytest

from orderbook import (
    Message, OrderBook, TruncatedError, ChecksumError, encode_message, message_size,
)
from orderbook.aio import MessageProtocol, identify, read_messages, write_message
from orderbook.relay import identification_frame


def make_book(i, capacity=128):
    return OrderBook(bids=[(500_000 - j - i % 11, 1 + j) for j in range(8)],
                     asks=[(500_001 + j + i % 13, 2 + j) for j in range(8)],
                     sequence=i, venue_id=101, capacity=capacity)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def stream_bytes(n, capacity_of=lambda i: 128):
    return b"".join(encode_message(make_book(i, capacity_of(i)), sequence=i, timestamp_ns=i, source=3)
                    for i in range(n))


async def unix_pair(tmp_path, name="s.sock"):
    """(client reader, client writer, server reader, server writer) over a Unix stream socket."""
    path = str(tmp_path / name)
    accepted = asyncio.get_running_loop().create_future()

    async def on_client(r, w):
        accepted.set_result((r, w))

    server = await asyncio.start_unix_server(on_client, path)
    cr, cw = await asyncio.open_unix_connection(path)
    sr, sw = await accepted
    return server, cr, cw, sr, sw


def test_write_and_read_messages(tmp_path):
    async def main():
        server, cr, cw, sr, sw = await unix_pair(tmp_path)
        books = [make_book(i, 50 if i % 4 == 0 else 128) for i in range(300)]

        async def produce():
            await identify(cw, source=3)
            for i, b in enumerate(books):
                n = await write_message(cw, b, sequence=i, timestamp_ns=i, source=3)
                assert n == message_size(b.capacity)
            cw.close()
            await cw.wait_closed()

        into = Message()
        seen = []

        async def consume():
            stream = read_messages(sr, into=into, resync=True)
            async for msg in stream:
                assert msg is into
                assert msg.book == books[msg.header.sequence]
                seen.append(msg.header.sequence)
            return stream

        _, stream = await asyncio.gather(produce(), consume())
        assert seen == list(range(300))
        assert stream.reader.identification_frames == 1
        assert stream.reader.skipped_bytes == 0
        server.close()

    run(main())


def test_identification_frame_bytes():
    f = identification_frame(source=2, relay_domain=0)
    assert len(f) == 32
    assert f[:4] == bytes.fromhex("efbeadde")
    assert f[4:8] == bytes([0, 1, 2, 0])
    assert f[8:] == bytes(24)
    # without resync, a reader refuses nothing but yields no book for it either: the
    # identification frame is a message with no OrderBook record
    # (readers of upstream's relay use resync=True, where it is counted)


def test_random_chunks_and_eof(tmp_path):
    data = stream_bytes(120, lambda i: 50 if i % 3 else 128)

    async def main():
        server, cr, cw, sr, sw = await unix_pair(tmp_path)
        rng = random.Random(7)

        async def produce():
            pos = 0
            while pos < len(data):
                k = rng.randint(1, 9000)
                cw.write(data[pos:pos + k])
                pos += k
                await cw.drain()
                if rng.random() < 0.3:
                    await asyncio.sleep(0)
            cw.close()

        got = []

        async def consume():
            async for msg in read_messages(sr):
                got.append((msg.header.sequence, bytes(msg.book)))

        await asyncio.gather(produce(), consume())
        assert [s for s, _ in got] == list(range(120))
        for s, b in got:
            assert b == bytes(make_book(s, 50 if s % 3 else 128))
        server.close()

    run(main())


def test_truncated_tail_raises(tmp_path):
    data = stream_bytes(3)

    async def main():
        r = asyncio.StreamReader()
        r.feed_data(data[:-100])
        r.feed_eof()
        got = []
        with pytest.raises(TruncatedError):
            async for msg in read_messages(r):
                got.append(msg.header.sequence)
        assert got == [0, 1]
        # with resync the cut tail is skipped
        r = asyncio.StreamReader()
        r.feed_data(data[:-100])
        r.feed_eof()
        stream = read_messages(r, resync=True)
        assert [m.header.sequence async for m in stream] == [0, 1]
        assert stream.reader.skipped_bytes == len(data[:-100]) - 2 * message_size(128)

    run(main())


def test_checksum_error_and_resync():
    data = bytearray(stream_bytes(4))
    data[message_size(128) + 500] ^= 0xFF        # damage message 1

    async def main():
        r = asyncio.StreamReader()
        r.feed_data(bytes(data))
        r.feed_eof()
        got = []
        with pytest.raises(ChecksumError):
            async for msg in read_messages(r):
                got.append(msg.header.sequence)
        assert got == [0]
        r = asyncio.StreamReader()
        r.feed_data(bytes(data))
        r.feed_eof()
        stream = read_messages(r, resync=True)
        assert [m.header.sequence async for m in stream] == [0, 2, 3]
        assert stream.reader.skipped_messages == 1

    run(main())


def test_cancel_mid_message_then_resume_same_iterator():
    data = stream_bytes(3)
    half = message_size(128) + 3000               # message 0 whole, message 1 half

    async def main():
        r = asyncio.StreamReader()
        r.feed_data(data[:half])
        stream = read_messages(r)
        first = await stream.__anext__()
        assert first.header.sequence == 0
        # the next message is half there: the task blocks in read(); cancel it
        task = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.05)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the half message's bytes stayed in the stream's MessageReader
        assert stream.reader.buffered == half - message_size(128)
        # the rest arrives; the same iterator continues with message 1, intact
        r.feed_data(data[half:])
        r.feed_eof()
        rest = [m.header.sequence async for m in stream]
        assert rest == [1, 2]
        # a new iterator built on the old reader shares its state (here: nothing left)
        again = read_messages(r, reader=stream.reader)
        assert [m async for m in again] == []

    run(main())


def test_cancel_while_waiting_with_timeout():
    # asyncio.wait_for around each __anext__: timeouts mid-message lose nothing
    data = stream_bytes(5)

    async def main():
        r = asyncio.StreamReader()
        stream = read_messages(r)
        got = []

        async def trickle():
            for i in range(0, len(data), 997):
                r.feed_data(data[i:i + 997])
                await asyncio.sleep(0.002)
            r.feed_eof()

        feeder = asyncio.ensure_future(trickle())
        timeouts = 0
        while True:
            try:
                msg = await asyncio.wait_for(stream.__anext__(), 0.001)
            except asyncio.TimeoutError:
                timeouts += 1
                continue
            except StopAsyncIteration:
                break
            got.append(msg.header.sequence)
        await feeder
        assert got == [0, 1, 2, 3, 4]
        assert timeouts > 0

    run(main())


def test_a_new_iterator_without_the_reader_starts_mid_message():
    # documented semantics: a fresh read_messages() has an empty MessageReader
    data = stream_bytes(2)
    half = 3000

    async def main():
        r = asyncio.StreamReader()
        r.feed_data(data[:half])
        stream = read_messages(r)
        task = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        r.feed_data(data[half:])
        r.feed_eof()
        fresh = read_messages(r, resync=True)
        got = [m.header.sequence async for m in fresh]
        assert got == [1]                         # message 0's head was in the old reader
        assert fresh.reader.skipped_bytes == message_size(128) - half

    run(main())


def test_message_protocol(tmp_path):
    data = stream_bytes(50, lambda i: 50 if i % 2 else 128)

    async def main():
        loop = asyncio.get_running_loop()
        path = str(tmp_path / "p.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.setblocking(False)
        got = []
        into = Message()

        def on_message(msg):
            assert msg is into
            got.append(msg.header.sequence)

        connect = loop.create_unix_connection(lambda: MessageProtocol(on_message, into=into), path)
        (transport, protocol), (conn, _) = await asyncio.gather(connect, loop.sock_accept(srv))
        rng = random.Random(3)
        pos = 0
        conn.setblocking(False)
        while pos < len(data):
            k = rng.randint(1, 5000)
            await loop.sock_sendall(conn, data[pos:pos + k])
            pos += k
        conn.shutdown(socket.SHUT_WR)
        await asyncio.wait_for(protocol.closed, 5)
        assert got == list(range(50))
        conn.close()
        srv.close()

        # a cut tail: closed carries the TruncatedError
        got.clear()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        os.unlink(path)
        srv.bind(path)
        srv.listen(1)
        srv.setblocking(False)
        connect = loop.create_unix_connection(lambda: MessageProtocol(on_message, into=into), path)
        (transport, protocol), (conn, _) = await asyncio.gather(connect, loop.sock_accept(srv))
        conn.setblocking(False)
        await loop.sock_sendall(conn, data[:message_size(128) + 10])
        conn.shutdown(socket.SHUT_WR)
        with pytest.raises(TruncatedError):
            await asyncio.wait_for(protocol.closed, 5)
        assert got == [0]
        conn.close()
        srv.close()

    run(main())


def test_write_message_buffer_not_reused_while_queued(tmp_path):
    # a reader that does not read: the transport keeps bytes queued; the next
    # message must not overwrite them
    async def main():
        server, cr, cw, sr, sw = await unix_pair(tmp_path)
        books = [make_book(i) for i in range(200)]
        for i, b in enumerate(books):
            await write_message(cw, b, sequence=i, timestamp_ns=i, drain=False)
        cw.close()
        seen = [(m.header.sequence, m.book == books[m.header.sequence]) async for m in read_messages(sr)]
        assert seen == [(i, True) for i in range(200)]
        server.close()

    run(main())
