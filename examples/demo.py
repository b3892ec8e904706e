"""A short tour of orderbook: build a book, publish it as a Protocol V2
message, read it back without copying, and check it against the Rust bytes
(both capacities, 128 and 50).

Run with ``make demo`` (or ``python examples/demo.py`` from any directory).
"""

from __future__ import annotations

import timeit
from pathlib import Path

import orderbook
from orderbook import (
    InstrumentId, OrderBook, SourceType, VenueId, decode_message, encode_message, encode_message_into,
)

# the Rust reference bytes, next to the repository (see tests/conftest.py)
GOLDEN = Path(__file__).resolve().parent.parent.parent / "shared" / "golden"
PF = 100_000_000            # 8 decimals


def main() -> None:
    # 1. Build: fixed-point levels, best first; header fields are range checked.
    bids = [(2_701_245_000_000 - i * 1_000_000, 25_100_000 + i, 3) for i in range(128)]
    asks = [(2_701_246_000_000 + i * 1_000_000, 10_000_000 + i, 1) for i in range(128)]
    book = OrderBook(bids, asks, sequence=7, precision_factor=PF,
                     snapshot_timestamp_ns=1_700_000_000_000_000_000)
    book.instrument = InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")    # venue_id 100, asset_type Coin
    book.validate()
    print("built   ", repr(book))
    print(f"         best bid {book.best_bid}, spread {book.spread_bps} bps")
    small = OrderBook(bids[:50], asks[:50], capacity=50)                # upstream's depth today
    print(f"         capacity {book.capacity}: {book.nbytes:,} bytes; capacity {small.capacity}: "
          f"{small.nbytes:,} bytes")

    # 2. The struct itself: 6,200 bytes, the exact Rust #[repr(C)] layout.
    with memoryview(book) as raw:
        print(f"struct   {raw.nbytes} bytes (memoryview over the object, no copy)")

    # 3. Publish: one 6,237-byte message, written into a reused buffer.
    out = bytearray(orderbook.MESSAGE_SIZE)
    n = encode_message_into(out, 0, book, sequence=1, timestamp_ns=1_700_000_000_000_000_000,
                            source=SourceType.BINANCE_COLLECTOR)
    print(f"message  {n} bytes, CRC-32 by {orderbook.crc32_implementation()}")

    # 4. Receive: decode into a reused Message (checksum verified), or view in place.
    msg = orderbook.Message()
    decode_message(out, into=msg)
    assert msg.book == book
    print(f"header   {msg.header!r}")
    view = OrderBook.view(out, 37)          # the book at offset 37: unaligned, zero-copy
    print(f"view     {view!r}")
    print(f"         bids[:3] = {view.bids[:3]}")
    try:
        import numpy  # noqa: F401  (optional)

        arr = view.bids.to_numpy()
        print(f"numpy    {arr.shape} {arr.dtype.names}, top price {arr['price'][0]} (shares memory)")
        del arr
    except ImportError:
        print("numpy    not installed: skipping the numpy view")
    view.release()

    # 5. Speed, on this machine (a quick timeit; `make bench` has the full suite).
    buf = bytearray(orderbook.MESSAGE_SIZE)
    encode_message_into(buf, 0, book, sequence=1, timestamp_ns=1)
    reuse = OrderBook()
    for label, stmt in [
        ("OrderBook(2x128 tuples)", lambda: OrderBook(bids, asks)),
        ("book.set_bids(128 tuples)", lambda: reuse.set_bids(bids)),
        ("OrderBook.from_bytes", lambda: OrderBook.from_bytes(buf, 37)),
        ("OrderBook.view", lambda: OrderBook.view(buf, 37)),
        ("bytes(book)", lambda: bytes(book)),
        ("encode_message_into", lambda: encode_message_into(out, 0, book, sequence=1, timestamp_ns=1)),
        ("decode_message(into=)", lambda: decode_message(buf, into=reuse)),
    ]:
        number = 20_000
        best = min(timeit.repeat(stmt, number=number, repeat=5)) / number
        print(f"  {label:<28} {best * 1e9:9.0f} ns")

    # 6. Byte-compatible with Rust: every golden case round-trips exactly, at both capacities.
    for folder, capacity in ((GOLDEN, 128), (GOLDEN / "depth50", 50)):
        if not (folder / "cases.json").exists():
            print(f"golden   {folder} not found: skipping the Rust reference check")
            continue
        import json

        names = json.loads((folder / "cases.json").read_text())
        for name in names:
            data = (folder / f"{name}.message.bin").read_bytes()
            m = decode_message(data)
            h = m.header
            again = encode_message(m.book, sequence=h.sequence, timestamp_ns=h.timestamp,
                                   source=h.source, relay_domain=h.relay_domain, flags=h.flags)
            assert again == data and m.book.capacity == capacity, name
        print(f"golden   {len(names)} Rust reference messages (capacity {capacity}) decode and "
              "re-encode byte for byte")


if __name__ == "__main__":
    main()
