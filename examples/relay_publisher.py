"""Publish order book messages to an upstream-style relay over a Unix *stream* socket.

Upstream's (Torq) relays are Unix stream sockets: a publisher connects,
sends a 32-byte identification frame (magic, payload_size 0, checksum 0),
then messages back to back, each framed only by its header's payload_size.
This script does that with ``orderbook.relay.RelayPublisher``: the books are
the venue samples of examples/data (as examples/publisher.py), sent
round-robin with header sequence 0, 1, 2, ...

``--random-chunks`` cuts the byte stream at random boundaries instead of
writing one message per ``sendall`` (a plain stream reassembles them; an
upstream relay, which forwards only chunks that start with the magic, then
loses many: see docs/transport.md).  Examples::

    python tests/relay_upstream.py /tmp/torq.sock &        # the test relay
    python examples/relay_subscriber.py --unix /tmp/torq.sock &
    python examples/relay_publisher.py --unix /tmp/torq.sock --count 10000

    python examples/relay_subscriber.py --listen /tmp/plain.sock &   # no relay
    python examples/relay_publisher.py --unix /tmp/plain.sock --random-chunks
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import orderbook  # noqa: E402
from orderbook.relay import RelayPublisher  # noqa: E402
from orderbook.venues import default_source  # noqa: E402
from publisher import DATA, load_books  # noqa: E402  (examples/publisher.py)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Publish order books to a relay over a Unix stream socket.")
    parser.add_argument("--unix", metavar="PATH", default="/tmp/torq_market_data.sock",
                        help="the relay's (or a subscriber's) socket")
    parser.add_argument("--count", type=int, default=None, help="messages to send (default: --seconds)")
    parser.add_argument("--seconds", type=float, default=None, help="send for this long (default 2)")
    parser.add_argument("--rate", type=float, default=0, help="messages per second (0: as fast as possible)")
    parser.add_argument("--capacity", type=int, choices=orderbook.CAPACITIES, default=128)
    parser.add_argument("--source", type=int, default=None,
                        help="header source (default: the first book's venue collector)")
    parser.add_argument("--start-sequence", type=int, default=0)
    parser.add_argument("--no-identify", action="store_true", help="do not send the identification frame")
    parser.add_argument("--random-chunks", action="store_true",
                        help="write the stream cut at random boundaries (1..--max-chunk bytes)")
    parser.add_argument("--max-chunk", type=int, default=9000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-summary", action="store_true", help="end with one JSON line of totals")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.count is None and args.seconds is None:
        args.seconds = 2.0

    books = [b for _, b in load_books(args.files or sorted(DATA.glob("*.json")), True, args.capacity)]
    source = args.source if args.source is not None else int(default_source(books[0]))
    try:
        pub = RelayPublisher(args.unix, source=source, identify=not args.no_identify)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        print(f"relay_publisher: nobody listens at {args.unix} ({e.strerror})", file=sys.stderr)
        return 1
    rng = random.Random(args.seed)
    pending = bytearray()
    limit = args.count if args.count is not None else sys.maxsize
    start = time.perf_counter()
    deadline = start + args.seconds if args.seconds is not None else float("inf")
    seq = args.start_sequence
    sent = 0
    try:
        while sent < limit and time.perf_counter() < deadline:
            book = books[sent % len(books)]
            if args.random_chunks:
                pending += pub.encode(book, sequence=seq)
                while len(pending) >= args.max_chunk:
                    k = rng.randint(1, args.max_chunk)
                    pub.send_bytes(pending[:k])
                    del pending[:k]
            else:
                pub.send(book, sequence=seq)
            seq += 1
            sent += 1
            if args.rate > 0:
                delay = start + sent / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        while pending:
            k = rng.randint(1, args.max_chunk)
            pub.send_bytes(pending[:k])
            del pending[:k]
    except (BrokenPipeError, ConnectionResetError) as e:
        print(f"relay_publisher: the peer went away ({e})", file=sys.stderr)
    finally:
        pub.close()
    elapsed = time.perf_counter() - start
    print(f"relay_publisher: sent {sent:,} messages (sequences {args.start_sequence}..{seq - 1}) "
          f"in {elapsed:.2f} s ({sent / elapsed if elapsed else 0:,.0f} msg/s)", flush=True)
    if args.json_summary:
        print(json.dumps({"sent": sent, "first": args.start_sequence, "last": seq - 1,
                          "source": source, "seconds": round(elapsed, 6)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
