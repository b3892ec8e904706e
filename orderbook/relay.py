"""Publish to and subscribe from an upstream (Torq) Unix-socket relay.

What upstream's relay does (``libs/messaging/relays/core/src/common/client.rs``):
every connection, publisher or not, gets a read task and a write task.  The
read task reads the socket in chunks of up to 64 KiB (one ``read`` each); a
chunk of at least 32 bytes that *starts* with the magic 0xDEADBEEF and whose
header's ``relay_domain`` is the relay's is broadcast, as it is, to every
connection -- the sender included; any other chunk is dropped.  The write
task writes each broadcast chunk to its client; a client that falls more than
the channel's 10,000 chunks behind loses the oldest (tokio's ``Lagged``).
Upstream's publishers (``services/adapters/src/output/relay_output.rs``)
first send a 32-byte identification header (payload_size 0, checksum 0).

So the relay forwards *chunks*, not messages: when a read ends in the middle
of a message, the next chunk does not start with the magic and is dropped,
and the subscriber receives the head of that message followed by the next
chunk.  A subscriber must therefore read with
``MessageReader(resync=True)``: a message whose bytes were cut fails its
CRC-32 (or its header makes no sense) and the reader skips to the next magic,
counting ``skipped_bytes`` / ``skipped_messages``; the identification frames
are counted in ``identification_frames`` and not yielded.
:class:`RelaySubscriber` adds the sequence bookkeeping: ``lost`` (gaps in
each source's header sequence) and ``duplicates`` (a sequence already seen,
not yielded again).

A plain stream socket between two processes (no relay) loses nothing: the
same subscriber then reports 0 lost, 0 skipped.

Pure Python; the decoding is :class:`orderbook.MessageReader`'s.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Set, Any, Dict, Iterator, Optional, Union

from orderbook import Message, OrderBook, encode_message_into, message_size
from orderbook.errors import FieldTypeError

__all__ = ["identification_frame", "RelayPublisher", "RelaySubscriber", "MAGIC",
           "IDENTIFICATION_SIZE", "RELAY_CHUNK"]

MAGIC = 0xDEADBEEF
IDENTIFICATION_SIZE = 32
#: upstream's relay read size: each read of up to this many bytes is one chunk
RELAY_CHUNK = 65536

_HEADER = struct.Struct("<IBBBBQQII")


def identification_frame(source: int = 0, relay_domain: int = 0) -> bytes:
    """The 32-byte header a publisher sends first: magic, ``relay_domain``,
    version 1, ``source``, flags 0, sequence 0, timestamp 0, payload_size 0,
    checksum 0 (upstream writes 0, not the CRC: readers recognise the frame by
    payload_size 0 and checksum 0, and do not yield it).

    Upstream's ``relay_output.rs`` hard-codes relay_domain 1 and source 2
    (its comment says PolygonCollector, which is 4; 2 is CoinbaseCollector);
    upstream's MarketData relay, which forwards only domain 0, drops that
    frame.  This one says what the caller gives."""
    if not 0 <= int(source) <= 255 or not 0 <= int(relay_domain) <= 255:
        raise FieldTypeError(f"source and relay_domain are u8, got {source!r}, {relay_domain!r}")
    return _HEADER.pack(MAGIC, int(relay_domain), 1, int(source), 0, 0, 0, 0, 0)


def _connect(path: str, timeout: Optional[float]) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


class RelayPublisher:
    """A Unix stream socket client that publishes messages to ``path``.

    Sends :func:`identification_frame` first unless ``identify=False``, then
    one encoded message per :meth:`send` (``sendall`` of one reused buffer:
    a message leaves in one write, which gives upstream's relay its best
    chance to read it as one chunk).  Upstream's relay echoes everything back
    to the sender too: with ``discard_echo=True`` (the default) a daemon
    thread reads and discards it (``echoed_bytes``) so that the relay's write
    side to this connection never backs up.

    ``sock=`` takes an already connected stream socket instead of a path (a
    plain stream, no relay)."""

    def __init__(self, path: Optional[str] = None, *, source: int, identify: bool = True,
                 relay_domain: int = 0, flags: int = 0, discard_echo: bool = True,
                 sock: Optional[socket.socket] = None, timeout: Optional[float] = None) -> None:
        if (path is None) == (sock is None):
            raise FieldTypeError("RelayPublisher needs a socket path or sock=, not both")
        self.source = int(source)
        self.relay_domain = int(relay_domain)
        self.flags = int(flags)
        self.sock = sock if sock is not None else _connect(path, timeout)   # type: ignore[arg-type]
        self.sequence = 0                    # the next message's header sequence
        self.sent = 0
        self.echoed_bytes = 0
        self._buf = bytearray(message_size(128))
        self._view = memoryview(self._buf)
        self._slices = {n: self._view[:n] for n in (message_size(128), message_size(50))}
        self._echo: Optional[threading.Thread] = None
        if identify:
            self.sock.sendall(identification_frame(self.source, self.relay_domain))
        if discard_echo:
            self._echo = threading.Thread(target=self._discard, name="relay-echo", daemon=True)
            self._echo.start()

    def _discard(self) -> None:
        buf = bytearray(RELAY_CHUNK)
        try:
            while True:
                n = self.sock.recv_into(buf)
                if n == 0:
                    return
                self.echoed_bytes += n
        except OSError:
            return

    def encode(self, book: OrderBook, *, sequence: Optional[int] = None,
               timestamp_ns: Optional[int] = None) -> memoryview:
        """The next message's bytes in the publisher's buffer (valid until the
        next call); ``sequence`` None takes the publisher's counter."""
        if sequence is None:
            sequence = self.sequence
        n = encode_message_into(self._buf, 0, book, sequence=sequence, timestamp_ns=timestamp_ns,
                                source=self.source, relay_domain=self.relay_domain, flags=self.flags)
        self.sequence = sequence + 1
        return self._slices[n]

    def send(self, book: OrderBook, *, sequence: Optional[int] = None,
             timestamp_ns: Optional[int] = None) -> int:
        """Encode and send one message; returns its header sequence."""
        data = self.encode(book, sequence=sequence, timestamp_ns=timestamp_ns)
        self.sock.sendall(data)
        self.sent += 1
        return self.sequence - 1

    def send_bytes(self, data: Any) -> None:
        """Send bytes as they are (already encoded messages, a capture...)."""
        self.sock.sendall(data)

    def close(self) -> None:
        """Shut the sending side (the peer sees end of stream), then close."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if self._echo is not None:
            self._echo.join(0.5)
        self.sock.close()

    def __enter__(self) -> "RelayPublisher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RelaySubscriber:
    """Read the messages of a relay (or any stream socket) with
    ``MessageReader(resync=True)``, counting what was lost on the way.

    ``target`` is a socket path (connected here) or a connected stream
    socket.  Iterating yields each intact message (CRC-32 verified unless
    ``verify=False``; the reused ``into`` Message when given) until the
    stream ends; ``timeout`` (seconds without data) ends it too.

    Counters: ``received`` (yielded), ``lost`` (per source: sequence numbers
    between the first and the last yielded that never arrived intact),
    ``duplicates`` (a sequence already yielded for that source: dropped),
    ``reordered`` (a sequence below the source's highest, not seen before:
    yielded, and no longer counted lost), and the reader's ``skipped_bytes``,
    ``skipped_messages``, ``identification_frames``."""

    def __init__(self, target: Union[str, socket.socket], *, into: Optional[Message] = None,
                 verify: bool = True, resync: bool = True, max_payload: Optional[int] = None,
                 timeout: Optional[float] = None) -> None:
        from orderbook import MessageReader

        if isinstance(target, socket.socket):
            self.sock = target
            self.sock.settimeout(timeout)
        else:
            self.sock = _connect(target, None)
            self.sock.settimeout(timeout)
        self.reader = MessageReader(verify=verify, resync=resync, max_payload=max_payload, into=into)
        self.received = 0
        self.lost = 0
        self.duplicates = 0
        self.reordered = 0
        self.timed_out = False
        self._highest: Dict[int, int] = {}
        self._missing: Dict[int, Set[int]] = {}

    @property
    def skipped_bytes(self) -> int:
        return self.reader.skipped_bytes

    @property
    def skipped_messages(self) -> int:
        return self.reader.skipped_messages

    @property
    def identification_frames(self) -> int:
        return self.reader.identification_frames

    def _accept(self, msg: Any) -> bool:
        """Sequence bookkeeping; False for a duplicate (not to be yielded)."""
        header = msg.header
        src, seq = header.source, header.sequence
        high = self._highest.get(src)
        if high is None:
            self._highest[src] = seq
            return True
        if seq > high:
            if seq > high + 1:
                gap = seq - high - 1
                self.lost += gap
                if gap <= 100_000:                    # remember them for late arrivals
                    self._missing.setdefault(src, set()).update(range(high + 1, seq))
            self._highest[src] = seq
            return True
        missing = self._missing.get(src)
        if missing is not None and seq in missing:
            missing.discard(seq)
            self.lost -= 1
            self.reordered += 1
            return True
        self.duplicates += 1
        return False

    def __iter__(self) -> Iterator[Any]:
        reader = self.reader
        while True:
            for msg in reader:
                if self._accept(msg):
                    self.received += 1
                    yield msg
            try:
                n = reader.recv_into(self.sock)
            except socket.timeout:
                self.timed_out = True
                return
            if n == 0:
                for msg in reader:                   # whatever the end of stream completed
                    if self._accept(msg):
                        self.received += 1
                        yield msg
                return

    def stats(self) -> Dict[str, int]:
        return {"received": self.received, "lost": self.lost, "duplicates": self.duplicates,
                "reordered": self.reordered, "skipped_bytes": self.skipped_bytes,
                "skipped_messages": self.skipped_messages,
                "identification_frames": self.identification_frames}

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RelaySubscriber":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
