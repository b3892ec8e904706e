"""Receive Protocol V2 order book messages from a local socket and show them.

No buffer and no book is allocated per message: ``sock.recv_into`` fills one
preallocated buffer and ``decode_message(buffer, into=msg)`` verifies the
CRC-32 and copies the book into the same reused ``Message`` (of either
capacity, 128 or 50: the record length says which).  Every ``--interval``
seconds it prints the venue (upstream's name), the best bid and ask (exact
decimal text), the spread and the messages per second; at the end, the
totals, with the messages lost: the gaps in the header sequence.

An empty datagram (sent by examples/publisher.py when it is done) ends the
stream, as does ``--idle-timeout`` seconds without one.  Examples::

    python examples/subscriber.py --unix /tmp/ob.sock
    python examples/subscriber.py --udp 127.0.0.1:9999 --interval 1
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, Optional, Sequence

from orderbook import (
    AssetType, Message, OrderBook, OrderBookError, OrderLevel, decode_message, format_fixed,
)
from orderbook.ids import venue_name

MAX_DATAGRAM = 65_536


@dataclass
class Stats:
    received: int = 0
    errors: int = 0
    lost: int = 0                    # sequence numbers not received, first to last
    reordered: int = 0               # arrived after a later sequence number (UDP)
    seconds: float = 0.0
    last_error: str = ""
    by_venue: Dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


def bind_socket(unix: Optional[str], udp: Optional[str]) -> socket.socket:
    if udp is not None:
        host, _, port = udp.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((host or "127.0.0.1", int(port)))
        return sock
    path = unix or "/tmp/orderbook.sock"
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    return sock


def decimal_text(value: int, precision_factor: int, strip_zeros: bool = False) -> str:
    """Exact decimal text; the raw integer when the factor is not a power of ten."""
    try:
        return format_fixed(value, precision_factor, strip_zeros=strip_zeros)
    except OrderBookError:
        return str(value)


def instrument_text(book: OrderBook) -> str:
    """``Binance BTCUSDT``: the venue by upstream's name (its number when it
    has none), then the symbol when asset_id packs one."""
    symbol = book.instrument.symbol if book.asset_type != AssetType.TOKEN else None
    return venue_name(book.venue_id) + (f" {symbol}" if symbol else "")


def describe(book: OrderBook) -> str:
    """Venue, best bid and ask as exact decimals, and the spread."""
    pf = book.precision_factor
    bid, ask = book.best_bid, book.best_ask

    def level(side: str, lv: Optional[OrderLevel]) -> str:
        if lv is None:
            return f"{side} -"
        return f"{side} {decimal_text(lv.price, pf)} x {decimal_text(lv.size, pf, True)}"

    cap = "" if book.capacity == 128 else f" (capacity {book.capacity})"
    text = f"venue {instrument_text(book)}{cap}  {level('bid', bid)}  {level('ask', ask)}"
    if bid is not None and ask is not None:
        text += f"  spread {decimal_text(ask.price - bid.price, pf, True)} ({book.spread_bps} bps)"
    return text


def serve(sock: socket.socket, *, interval: float, idle_timeout: float, quiet: bool = False) -> Stats:
    """Receive until the end marker or `idle_timeout`; print a line per `interval`."""
    buf = bytearray(MAX_DATAGRAM)
    msg = Message()
    stats = Stats()
    sock.settimeout(idle_timeout)
    first_seq = last_seq = -1
    start: Optional[float] = None
    next_print = 0.0
    window_start, window_count = 0.0, 0
    while True:
        try:
            n = sock.recv_into(buf)
        except socket.timeout:
            break
        if n == 0:
            break                                  # end of stream
        if start is None:
            start = window_start = time.perf_counter()
            next_print = start + interval
        try:
            decode_message(buf, 0, into=msg)       # CRC-32 checked, book copied into msg.book
        except OrderBookError as e:
            stats.errors += 1
            stats.last_error = str(e)
            continue
        if msg.nbytes != n:
            stats.errors += 1
            stats.last_error = f"datagram of {n} bytes holds a message of {msg.nbytes}"
            continue
        stats.received += 1
        seq = msg.header.sequence
        if last_seq < 0:
            first_seq = last_seq = seq
        elif seq > last_seq:
            last_seq = seq
        else:
            stats.reordered += 1
        # what the span first..last should hold and did not arrive (late ones count in)
        stats.lost = max(0, last_seq - first_seq + 1 - stats.received)
        now = time.perf_counter()
        if now >= next_print:
            rate = (stats.received - window_count) / (now - window_start)
            if not quiet:
                print(f"[{now - start:5.1f} s] {rate:>10,.0f} msg/s  seq {seq}  {describe(msg.book)}",
                      flush=True)
            window_start, window_count = now, stats.received
            next_print = now + interval
        venue = msg.book.venue_id
        stats.by_venue[venue] = stats.by_venue.get(venue, 0) + 1
    if start is not None:
        stats.seconds = time.perf_counter() - start
    if stats.received and not quiet:
        print(f"last message: seq {msg.header.sequence}  {describe(msg.book)}", flush=True)
    return stats


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Receive order book messages from a local datagram socket and print them.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--unix", metavar="PATH", help="Unix datagram socket to bind (default /tmp/orderbook.sock)")
    where.add_argument("--udp", metavar="HOST:PORT", help="UDP address to bind (port 0: any free port)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between status lines")
    parser.add_argument("--idle-timeout", type=float, default=10.0, help="stop after this long without data")
    parser.add_argument("--quiet", action="store_true", help="only the totals")
    parser.add_argument("--json-summary", action="store_true", help="end with one JSON line of totals")
    args = parser.parse_args(argv)

    sock = bind_socket(args.unix, args.udp)
    address = sock.getsockname()
    where_text = f"udp {address[0]}:{address[1]}" if args.udp else f"unix {address}"
    print(f"subscriber: listening on {where_text}", flush=True)
    try:
        stats = serve(sock, interval=args.interval, idle_timeout=args.idle_timeout, quiet=args.quiet)
    except KeyboardInterrupt:
        return 130
    finally:
        sock.close()
        if not args.udp and isinstance(address, str) and os.path.exists(address):
            os.unlink(address)
    print(f"subscriber: received {stats.received:,} messages in {stats.seconds:.2f} s "
          f"({stats.rate:,.0f} msg/s); {stats.errors} errors, {stats.lost} lost"
          + (f", {stats.reordered} out of order" if stats.reordered else "")
          + (f"; last error: {stats.last_error}" if stats.last_error else ""), flush=True)
    if args.json_summary:
        summary = asdict(stats)
        summary["rate"] = round(stats.rate, 1)
        print(json.dumps(summary), flush=True)
    return 0 if stats.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
