"""Publish recorded depth snapshots as Protocol V2 messages over a local socket.

Each snapshot file is a venue's REST depth response (JSON; the synthetic
samples in examples/data/ next to this script by default), converted once,
exactly and without float, by ``orderbook.venues``: upstream's venue ids
(Binance 100, Coinbase 102, Kraken 101), 128 levels per side, or 50 with
``--capacity 50`` (deeper snapshots need ``--truncate``).  The books are then
sent round-robin, one datagram per message, with a new sequence number and
timestamp each time; each message's header ``source`` is its venue's
collector (``orderbook.venues.default_source``: BinanceCollector 1, ...).

Two ways to put a message on the wire, both without a copy in Python:

* ``--mode buffer`` (default): ``encode_message_into`` writes header, TLV and
  book into one preallocated bytearray; ``sock.send(memoryview)`` sends it.
* ``--mode sendmsg``: only the 37 bytes of header and TLV header are built;
  ``sock.sendmsg([head, memoryview(book)])`` gathers them with the book's own
  bytes (6,200, or 2,456 at capacity 50), straight from the OrderBook object.

The receiving side is examples/subscriber.py; an empty datagram ends the
stream.  Examples::

    python examples/publisher.py --unix /tmp/ob.sock --seconds 2
    python examples/publisher.py --unix /tmp/ob.sock --capacity 50 --truncate
    python examples/publisher.py --udp 127.0.0.1:9999 --count 1000 --rate 500 FILE.json
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import orderbook
from orderbook import OrderBook, OrderBookError, crc32, encode_message_into
from orderbook.venues import default_source, detect_venue, from_venue

DATA = Path(__file__).resolve().parent / "data"      # found from any working directory
#: The symbols the shipped samples were requested with (examples/make_samples.py):
#: Binance's and Coinbase Exchange's responses do not name their product.
SAMPLE_SYMBOLS = {"binance_btcusdt_depth.json": "BTCUSDT", "coinbase_btcusd_book.json": "BTC-USD"}
END_OF_STREAM = b""              # an empty datagram: no more messages

# Header fields after the magic (relay_domain .. checksum) and the extended
# TLV header, for the sendmsg mode; checksum is written after the CRC.
_HEAD = struct.Struct("<IBBBBQQII")
_EXT = struct.Struct("<BBBH")
_CRC = struct.Struct("<I")
_MAGIC = 0xDEADBEEF
_VERSION = 1


def load_books(paths: Sequence[Path], truncate: bool, capacity: int = 128) -> List[Tuple[str, OrderBook]]:
    """(venue, book) for each snapshot file; the venue is detected from the JSON
    shape, the book gets upstream's venue id and instrument (orderbook.venues;
    for the shipped samples, the symbol they were made for)."""
    books = []
    for path in paths:
        obj = json.loads(path.read_text())
        venue = detect_venue(obj)
        symbol = SAMPLE_SYMBOLS.get(path.name) if path.resolve().parent == DATA else None
        book = from_venue(venue, obj, truncate=truncate, capacity=capacity, symbol=symbol)
        books.append((venue, book))
    return books


def open_socket(unix: Optional[str], udp: Optional[str]) -> socket.socket:
    """A datagram socket connected to the subscriber."""
    if udp is not None:
        host, _, port = udp.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host or "127.0.0.1", int(port)))
        return sock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    # macOS caps a Unix datagram at the send buffer size (2 KiB by default)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.connect(unix or "/tmp/orderbook.sock")
    return sock


class SendmsgFramer:
    """Header and TLV header in 37 reused bytes; the book is sent from its
    own memory (any capacity: the record length is the book's size).
    Produces exactly the bytes of ``encode_message``."""

    def __init__(self) -> None:
        self.head = bytearray(orderbook.HEADER_SIZE + _EXT.size)
        self.head_view = memoryview(self.head)
        self.crc_part = self.head_view[:orderbook.HEADER_SIZE - _CRC.size]   # bytes [0, 28)
        self.ext_part = self.head_view[orderbook.HEADER_SIZE:]               # the 5 TLV bytes

    def frame(self, book_view: memoryview, sequence: int, timestamp_ns: int, source: int = 0) -> None:
        size = book_view.nbytes
        _EXT.pack_into(self.head, orderbook.HEADER_SIZE, 255, 0, orderbook.TLV_ORDER_BOOK, size)
        _HEAD.pack_into(self.head, 0, _MAGIC, 0, _VERSION, source, 0, sequence, timestamp_ns,
                        _EXT.size + size, 0)
        crc = crc32(book_view, crc32(self.ext_part, crc32(self.crc_part)))
        _CRC.pack_into(self.head, orderbook.HEADER_SIZE - _CRC.size, crc)


def publish(sock: socket.socket, books: Sequence[OrderBook], *, count: Optional[int],
            seconds: Optional[float], rate: float, mode: str) -> Tuple[int, float]:
    """Send until `count` messages or `seconds` elapse; return (sent, elapsed).
    Each message's source is its book's venue collector (default_source)."""
    buf = bytearray(max(orderbook.message_size(b.capacity) for b in books))
    view = memoryview(buf)
    # one reused slice per message size: no memoryview is made per message
    wire: Dict[int, memoryview] = {c: view[:orderbook.message_size(c)] for c in orderbook.CAPACITIES
                                   if orderbook.message_size(c) <= len(buf)}
    framer = SendmsgFramer()
    book_views = [memoryview(b) for b in books]
    sources = [int(default_source(b)) for b in books]
    capacities = [b.capacity for b in books]
    n_books = len(books)
    limit = count if count is not None else sys.maxsize
    start = time.perf_counter()
    deadline = start + seconds if seconds is not None else float("inf")
    sent = 0
    try:
        while sent < limit:
            i = sent % n_books
            if mode == "sendmsg":
                framer.frame(book_views[i], sent, time.time_ns(), sources[i])
                sock.sendmsg([framer.head_view, book_views[i]])
            else:
                encode_message_into(buf, 0, books[i], sequence=sent, source=sources[i])
                sock.send(wire[capacities[i]])
            sent += 1
            if rate > 0:
                delay = start + sent / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            if sent & 255 == 0 and time.perf_counter() >= deadline:
                break
    finally:
        for v in book_views:
            v.release()
        for v in wire.values():
            v.release()
        view.release()
    return sent, time.perf_counter() - start


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Send order book snapshots as Protocol V2 messages over a local datagram socket.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--unix", metavar="PATH", help="Unix datagram socket (default /tmp/orderbook.sock)")
    where.add_argument("--udp", metavar="HOST:PORT", help="UDP address, e.g. 127.0.0.1:9999")
    parser.add_argument("--count", type=int, help="messages to send (default: until --seconds)")
    parser.add_argument("--seconds", type=float, help="send for this long (default 2 without --count)")
    parser.add_argument("--rate", type=float, default=0, help="messages per second (default: as fast as possible)")
    parser.add_argument("--mode", choices=("buffer", "sendmsg"), default="buffer",
                        help="encode into one buffer, or gather header + book with sendmsg")
    parser.add_argument("--capacity", type=int, choices=orderbook.CAPACITIES, default=128,
                        help="levels per side of the books (default 128)")
    parser.add_argument("--truncate", action="store_true",
                        help="keep the best CAPACITY levels of deeper snapshots")
    parser.add_argument("--json-summary", action="store_true", help="end with one JSON line of totals")
    parser.add_argument("files", nargs="*", type=Path, help="snapshot JSON files (default: examples/data/*.json)")
    args = parser.parse_args(argv)
    if args.count is None and args.seconds is None:
        args.seconds = 2.0

    paths = args.files or sorted(DATA.glob("*.json"))
    try:
        loaded = load_books(paths, args.truncate, args.capacity)
    except (OSError, ValueError, OrderBookError) as e:      # OrderBookError: bad snapshot
        print(f"publisher: {e}", file=sys.stderr)
        return 1
    if not loaded:
        print("publisher: no snapshot files", file=sys.stderr)
        return 1
    for (venue, book), path in zip(loaded, paths):
        print(f"publisher: {path.name}: {venue} (venue_id {book.venue_id}, source "
              f"{default_source(book).upstream_name}) {book!r}", flush=True)

    try:
        sock = open_socket(args.unix, args.udp)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        print(f"publisher: nobody is listening at {args.udp or args.unix or '/tmp/orderbook.sock'} ({e.strerror}); "
              "start examples/subscriber.py first", file=sys.stderr)
        return 1
    try:
        sent, elapsed = publish(sock, [b for _, b in loaded], count=args.count, seconds=args.seconds,
                                rate=args.rate, mode=args.mode)
        sock.send(END_OF_STREAM)
        if args.udp:
            # UDP may drop a datagram: say it twice more, unless the subscriber
            # has already gone (its port then answers "refused")
            try:
                for _ in range(2):
                    time.sleep(0.01)
                    sock.send(END_OF_STREAM)
            except ConnectionRefusedError:
                pass
    except ConnectionRefusedError:
        print("publisher: nobody is listening (start examples/subscriber.py first)", file=sys.stderr)
        return 1
    finally:
        sock.close()
    rate = sent / elapsed if elapsed > 0 else 0.0
    print(f"publisher: sent {sent:,} messages of {orderbook.message_size(args.capacity):,} bytes in "
          f"{elapsed:.2f} s ({rate:,.0f} msg/s, mode {args.mode})", flush=True)
    if args.json_summary:
        print(json.dumps({"sent": sent, "seconds": round(elapsed, 6), "mode": args.mode,
                          "capacity": args.capacity}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
