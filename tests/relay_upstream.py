"""A test relay that behaves as upstream's Torq relay
(``libs/messaging/relays/core/src/common/client.rs``):

* every connection gets a read task and a write task (no publisher /
  subscriber classification);
* the read task calls ``recv(65536)`` on the socket -- one call, one chunk,
  as tokio's ``read(&mut [0; 65536])``; a chunk of at least 32 bytes that
  starts with the magic and whose header says the relay's ``relay_domain``
  is broadcast unchanged to every connection, the sender included; any
  other chunk is dropped (``dropped_chunks``);
* each connection's write task takes chunks from its own bounded queue
  (upstream: one tokio broadcast channel of 10,000; a receiver that lags
  loses the oldest, ``Lagged``): a slow client loses chunks (``lagged``) and
  never stalls the others.

Runs in a background thread with its own event loop (``UpstreamRelay(path)
.start()`` ... ``.stop()``), or as a script::

    python tests/relay_upstream.py /tmp/torq_market_data.sock
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import sys
import threading
from collections import deque
from typing import Deque, Dict, Optional

MAGIC = 0xDEADBEEF
CHUNK = 65536
_HEAD = struct.Struct("<IB")


class _Client:
    def __init__(self, cid: int, sock: socket.socket, capacity: int) -> None:
        self.id = cid
        self.sock = sock
        self.queue: Deque[bytes] = deque()
        self.capacity = capacity
        self.ready = asyncio.Event()
        self.lagged = 0
        self.sent_chunks = 0
        self.closed = False

    def offer(self, chunk: bytes) -> None:
        if len(self.queue) >= self.capacity:
            self.queue.popleft()              # tokio broadcast: the lagging receiver loses the oldest
            self.lagged += 1
        self.queue.append(chunk)
        self.ready.set()


class UpstreamRelay:
    """Upstream's chunk-forwarding relay on a Unix stream socket at ``path``."""

    def __init__(self, path: str, *, relay_domain: int = 0, queue_capacity: int = 10_000) -> None:
        self.path = path
        self.relay_domain = relay_domain
        self.queue_capacity = queue_capacity
        self.clients: Dict[int, _Client] = {}
        self.forwarded_chunks = 0
        self.dropped_chunks = 0
        self.dropped_bytes = 0
        self.connections = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._next_id = 0
        self.lagged_by_client: Dict[int, int] = {}

    # --- the relay ---------------------------------------------------------------

    def _broadcast(self, chunk: bytes) -> None:
        for client in self.clients.values():
            client.offer(chunk)

    def _should_forward(self, chunk: bytes) -> bool:
        if len(chunk) < 32:
            return False                                   # "too small for header"
        magic, domain = _HEAD.unpack_from(chunk)
        return magic == MAGIC and domain == self.relay_domain

    async def _read_task(self, client: _Client) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                chunk = await loop.sock_recv(client.sock, CHUNK)
            except OSError:
                return
            if not chunk:
                return
            if self._should_forward(chunk):
                self.forwarded_chunks += 1
                self._broadcast(chunk)
            else:
                self.dropped_chunks += 1
                self.dropped_bytes += len(chunk)

    async def _write_task(self, client: _Client) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not client.queue:
                client.ready.clear()
                await client.ready.wait()
            chunk = client.queue.popleft()
            try:
                await loop.sock_sendall(client.sock, chunk)
            except OSError:
                return
            client.sent_chunks += 1

    async def _handle(self, sock: socket.socket) -> None:
        cid = self._next_id
        self._next_id += 1
        client = _Client(cid, sock, self.queue_capacity)
        self.clients[cid] = client          # subscribed before its first read, as upstream
        self.connections += 1
        tasks = [asyncio.ensure_future(self._read_task(client)),
                 asyncio.ensure_future(self._write_task(client))]
        try:
            # upstream: tokio::select! on both, then the connection is cleaned up
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.clients.pop(cid, None)
            self.lagged_by_client[cid] = client.lagged
            sock.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if os.path.exists(self.path):
            os.unlink(self.path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.path)
        server.listen(64)
        server.setblocking(False)
        handlers = set()

        async def accept_loop() -> None:
            while True:
                conn, _ = await loop.sock_accept(server)
                conn.setblocking(False)
                task = asyncio.ensure_future(self._handle(conn))
                handlers.add(task)
                task.add_done_callback(handlers.discard)

        acceptor = asyncio.ensure_future(accept_loop())
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            acceptor.cancel()
            for t in list(handlers):
                t.cancel()
            await asyncio.gather(acceptor, *handlers, return_exceptions=True)
            server.close()
            if os.path.exists(self.path):
                os.unlink(self.path)

    # --- thread control ----------------------------------------------------------

    def start(self) -> "UpstreamRelay":
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._serve())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="upstream-relay", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the relay did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)

    def client_count(self) -> int:
        return len(self.clients)

    def __enter__(self) -> "UpstreamRelay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv=None) -> int:
    import argparse
    import time

    parser = argparse.ArgumentParser(description="A relay that forwards chunks as upstream's does.")
    parser.add_argument("path")
    parser.add_argument("--relay-domain", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    args = parser.parse_args(argv)
    relay = UpstreamRelay(args.path, relay_domain=args.relay_domain).start()
    print(f"relay: listening on {args.path}", flush=True)
    try:
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        relay.stop()
    print(f"relay: {relay.connections} connections, {relay.forwarded_chunks} chunks forwarded, "
          f"{relay.dropped_chunks} dropped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
