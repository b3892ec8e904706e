"""asyncio streams of Protocol V2 messages.

* :func:`read_messages` -- ``async for msg in read_messages(stream_reader)``
  over an ``asyncio.StreamReader`` (``asyncio.open_unix_connection``,
  ``open_connection``, a subprocess pipe...): chunks of up to 64 KiB are fed
  to an :class:`orderbook.MessageReader`, which yields every complete message.
* :func:`write_message` -- encode into a buffer reused per writer, write,
  ``await writer.drain()``.
* :func:`identify` -- the 32-byte identification frame upstream's publishers
  send first (:func:`orderbook.relay.identification_frame`).
* :class:`MessageProtocol` -- an ``asyncio.Protocol`` for
  ``loop.create_unix_connection`` / ``create_connection`` users: each
  ``data_received`` chunk is fed to a MessageReader and ``callback(msg)`` is
  called once per message.

Cancellation.  The iterator returned by :func:`read_messages` owns its
MessageReader; the only await inside is ``stream_reader.read()``, which
either returns a chunk (then fed, whole, before anything else can run) or is
cancelled before taking anything from the StreamReader.  So cancelling a task
in the middle of a message loses nothing: the bytes of the half-read message
stay in the MessageReader, and iterating *the same iterator object* again
(from another task, later) continues with that message.  A *new*
``read_messages(stream_reader)`` starts with an empty MessageReader, so it
would begin in the middle of a message: pass the old iterator's ``reader``
(``read_messages(stream_reader, reader=old.reader)``) to keep the state,
or keep using the old iterator.

``into=`` fills one reused ``Message`` for every message: copy what you keep
before the next iteration.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, Optional, Union

from orderbook import Message, OrderBook, encode_message_into, message_size
from orderbook.errors import FieldTypeError
from orderbook.relay import identification_frame

__all__ = ["read_messages", "MessageStream", "write_message", "identify", "MessageProtocol",
           "CHUNK_SIZE"]

#: bytes asked of the StreamReader per read (upstream's relay reads 64 KiB too)
CHUNK_SIZE = 65536

_END = object()


def _new_reader(into: Any, verify: bool, resync: bool, max_payload: Optional[int]) -> Any:
    from orderbook import MessageReader

    return MessageReader(verify=verify, resync=resync, max_payload=max_payload, into=into)


class MessageStream:
    """The async iterator of :func:`read_messages` (``reader`` is its
    MessageReader: counters ``messages``, ``skipped_bytes``, ...).

    At end of stream it stops; a message cut by the end of stream raises
    TruncatedError (with ``resync=True`` the cut tail is skipped instead)."""

    def __init__(self, stream_reader: asyncio.StreamReader, reader: Any,
                 chunk_size: int = CHUNK_SIZE) -> None:
        self.stream_reader = stream_reader
        self.reader = reader
        self.chunk_size = chunk_size
        self._iter = iter(reader)
        self._done = False

    def __aiter__(self) -> "MessageStream":
        return self

    async def __anext__(self) -> Any:
        while True:
            msg = next(self._iter, _END)
            if msg is not _END:
                return msg
            if self._done:
                raise StopAsyncIteration
            # the only await: cancelled here, nothing was taken from stream_reader
            data = await self.stream_reader.read(self.chunk_size)
            if data:
                self.reader.feed(data)
            else:
                self._done = True
                self.reader.feed_eof()           # a cut tail: TruncatedError, or skipped (resync)
            self._iter = iter(self.reader)


def read_messages(stream_reader: asyncio.StreamReader, *, into: Union[Message, OrderBook, None] = None,
                  verify: bool = True, resync: bool = False, max_payload: Optional[int] = None,
                  reader: Any = None, chunk_size: int = CHUNK_SIZE) -> MessageStream:
    """``async for msg in read_messages(stream_reader): ...``: every message
    of the stream, CRC-32 verified unless ``verify=False``; ``resync=True``
    skips junk to the next magic (for upstream's relay, see orderbook.relay);
    ``into=`` reuses one Message.  ``reader=`` continues with an existing
    MessageReader (its options win) -- see the module docstring on
    cancellation."""
    if reader is None:
        reader = _new_reader(into, verify, resync, max_payload)
    return MessageStream(stream_reader, reader, chunk_size)


class _WriteBuffer:
    __slots__ = ("buf", "slices")

    def __init__(self) -> None:
        self.buf = bytearray(message_size(128))
        view = memoryview(self.buf)
        self.slices = {n: view[:n] for n in (message_size(128), message_size(50))}


_buffers: "weakref.WeakKeyDictionary[Any, _WriteBuffer]" = weakref.WeakKeyDictionary()


async def write_message(writer: asyncio.StreamWriter, book: OrderBook, *, drain: bool = True,
                        **header: Any) -> int:
    """Encode ``book`` (header keywords as ``encode_message``: sequence,
    timestamp_ns, source, relay_domain, flags) into the writer's buffer,
    write it and ``await writer.drain()``; return the bytes written.

    The buffer is reused only while the transport has taken every byte of
    the previous message: when ``write`` left some in the transport's buffer
    (the peer reads slower than we write), the transport may still refer to
    ours, so the next message gets a new one."""
    wb = _buffers.get(writer)
    if wb is None:
        wb = _buffers[writer] = _WriteBuffer()
    n = encode_message_into(wb.buf, 0, book, **header)
    writer.write(wb.slices[n])
    transport = writer.transport
    if transport is None or transport.get_write_buffer_size() > 0:
        _buffers[writer] = _WriteBuffer()          # the old one may still be queued
    if drain:
        await writer.drain()
    return n


async def identify(writer: asyncio.StreamWriter, source: int, *, relay_domain: int = 0) -> None:
    """Send the 32-byte identification frame (magic, payload_size 0,
    checksum 0) a publisher sends first to upstream's relay."""
    writer.write(identification_frame(source, relay_domain))
    await writer.drain()


class MessageProtocol(asyncio.Protocol):
    """``callback(msg)`` for each message of a stream connection.

    ``loop.create_unix_connection(lambda: MessageProtocol(on_book), path)``.
    Each ``data_received`` chunk is fed to a MessageReader (options as
    :func:`read_messages`) and every message it completes is passed to
    ``callback`` (the reused ``into`` Message when given).  An error of the
    stream (a bad message with ``resync=False``, or the callback's own)
    goes to ``on_error(exc)`` when given, else closes the transport with
    that exception in ``closed``.  ``closed`` is a future set when the
    connection is lost: its result None at a clean end, its exception the
    error (a TruncatedError for a message cut by the end of stream)."""

    def __init__(self, callback: Callable[[Any], Any], *,
                 into: Union[Message, OrderBook, None] = None, verify: bool = True,
                 resync: bool = False, max_payload: Optional[int] = None,
                 on_error: Optional[Callable[[BaseException], Any]] = None) -> None:
        if not callable(callback):
            raise FieldTypeError(f"MessageProtocol needs a callable, got {type(callback).__name__}")
        self.callback = callback
        self.on_error = on_error
        self.reader = _new_reader(into, verify, resync, max_payload)
        self.transport: Optional[asyncio.Transport] = None
        self.closed: "asyncio.Future[None]" = asyncio.get_event_loop().create_future()
        self._error: Optional[BaseException] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def _drain(self) -> None:
        try:
            for msg in self.reader:
                self.callback(msg)
        except Exception as e:        # noqa: BLE001 - handed to on_error / closed
            if self.on_error is not None:
                self.on_error(e)
            elif self._error is None:
                self._error = e
                if self.transport is not None:
                    self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._error is not None:
            return
        self.reader.feed(data)
        self._drain()

    def eof_received(self) -> Optional[bool]:
        if self._error is None:
            try:
                self.reader.feed_eof()
            except Exception as e:    # noqa: BLE001
                self._error = e
            else:
                self._drain()
        return None                   # close the transport

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self.closed.done():
            return
        error = self._error or exc
        if error is not None:
            self.closed.set_exception(error)
        else:
            self.closed.set_result(None)
