"""Subscribe to order book messages from an upstream-style relay over a Unix *stream* socket.

``--unix PATH`` connects to a relay; ``--listen PATH`` instead binds PATH
and reads the one publisher that connects (a plain stream, no relay).
Either way the bytes go through ``orderbook.relay.RelaySubscriber``:
``MessageReader(resync=True)`` reads straight from the socket into its
buffer (``recv_into``), decodes each message into one reused ``Message``
(CRC-32 verified) and skips what the relay cut; the header sequence numbers
tell what was lost.  At the end (``--count`` messages, or ``--idle-timeout``
seconds without data, or the end of the stream) it prints received, lost,
duplicates, skipped bytes and identification frames.  Examples::

    python examples/relay_subscriber.py --unix /tmp/torq_market_data.sock
    python examples/relay_subscriber.py --listen /tmp/plain.sock --json-summary
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from typing import Any, Dict, Optional, Sequence, Union

from orderbook import Message, crc32
from orderbook.relay import RelaySubscriber


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Read order books from a relay over a Unix stream socket.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--unix", metavar="PATH", help="connect to this relay socket")
    where.add_argument("--listen", metavar="PATH", help="bind this path, read the publisher that connects")
    parser.add_argument("--count", type=int, default=None, help="stop after this many messages")
    parser.add_argument("--idle-timeout", type=float, default=5.0, help="stop after this long without data")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between status lines")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--list", action="store_true",
                        help="with --json-summary: every (source, sequence, CRC-32 of the book) received")
    parser.add_argument("--json-summary", action="store_true", help="end with one JSON line of totals")
    args = parser.parse_args(argv)

    listener = None
    if args.listen:
        if os.path.exists(args.listen):
            os.unlink(args.listen)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(args.listen)
        listener.listen(1)
        print(f"relay_subscriber: listening on {args.listen}", flush=True)
        listener.settimeout(args.idle_timeout * 4)
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            print("relay_subscriber: nobody connected", file=sys.stderr)
            return 1
        target: Union[socket.socket, str] = conn
    else:
        target = args.unix or "/tmp/torq_market_data.sock"
    try:
        sub = RelaySubscriber(target, into=Message(), timeout=args.idle_timeout)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        print(f"relay_subscriber: no relay at {target} ({e.strerror})", file=sys.stderr)
        return 1
    print("relay_subscriber: connected", flush=True)
    listed = []
    start = None
    next_print = 0.0
    try:
        for msg in sub:
            now = time.perf_counter()
            if start is None:
                start, next_print = now, now + args.interval
            if args.list:
                listed.append((msg.header.source, msg.header.sequence, crc32(msg.book)))
            if not args.quiet and now >= next_print:
                print(f"[{now - start:5.1f} s] received {sub.received:,}  lost {sub.lost:,}  "
                      f"seq {msg.header.sequence}  best bid {msg.book.best_bid}", flush=True)
                next_print = now + args.interval
            if args.count is not None and sub.received >= args.count:
                break
    except KeyboardInterrupt:
        return 130
    finally:
        sub.close()
        if listener is not None:
            listener.close()
            if os.path.exists(args.listen):
                os.unlink(args.listen)
    seconds = (time.perf_counter() - start) if start is not None else 0.0
    stats = sub.stats()
    print(f"relay_subscriber: received {stats['received']:,} messages in {seconds:.2f} s; "
          f"lost {stats['lost']:,}, duplicates {stats['duplicates']}, skipped {stats['skipped_bytes']:,} "
          f"bytes ({stats['skipped_messages']} damaged messages), "
          f"{stats['identification_frames']} identification frames", flush=True)
    if args.json_summary:
        out: Dict[str, Any] = dict(stats, seconds=round(seconds, 6))
        if args.list:
            out["messages"] = listed
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
