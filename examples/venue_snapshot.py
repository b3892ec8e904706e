"""A venue's REST depth snapshot to a Protocol V2 message and back, exactly.

Reads the synthetic samples in examples/data/ (found next to this script, so
it runs from any directory) or the JSON files given, converts each with
``orderbook.venues`` (upstream's venue id; the instrument from ``--symbol``,
from the response when it names one, or for the samples the symbol they were
made for; no float anywhere), encodes it with its venue's
collector as the header source, decodes it, and checks that the decimal text
came back unchanged::

    python examples/venue_snapshot.py
    python examples/venue_snapshot.py --capacity 50
    python examples/venue_snapshot.py --symbol BTCUSDT my_binance_depth.json
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, List, Optional, Sequence

import orderbook
from orderbook import OrderBookError, decode_message, encode_message
from orderbook.venues import default_source, detect_venue, from_venue

DATA = Path(__file__).resolve().parent / "data"
#: The symbols the shipped samples were requested with (examples/make_samples.py);
#: Binance's and Coinbase Exchange's responses do not name their product.
SAMPLE_SYMBOLS = {"binance_btcusdt_depth.json": "BTCUSDT", "coinbase_btcusd_book.json": "BTC-USD"}


def sent_levels(venue: str, obj: Any, side: str) -> List[List[Decimal]]:
    """[price, size] of one side as the venue sent them, as Decimals."""
    if venue == "kraken":
        (book,) = obj["result"].values()
        levels = book[side]
    elif venue == "coinbase" and "pricebook" in obj:
        levels = [[lv["price"], lv["size"]] for lv in obj["pricebook"][side]]
    else:
        levels = obj[side]
    return [[Decimal(lv[0]), Decimal(lv[1])] for lv in levels]


def convert(path: Path, *, capacity: int, symbol: Optional[str]) -> bool:
    obj = json.loads(path.read_text())
    venue = detect_venue(obj)
    book = from_venue(venue, obj, capacity=capacity, truncate=True, symbol=symbol)
    data = encode_message(book, source=default_source(book), timestamp_ns=book.snapshot_timestamp_ns or None)
    message = decode_message(data)
    back = message.book.to_snapshot()
    same = all(
        [[Decimal(p), Decimal(s)] for p, s in back[side]] == sent_levels(venue, obj, side)[:capacity]
        for side in ("bids", "asks"))
    print(f"{path.name}: {venue} -> {len(data):,}-byte message from {message.header.source_name}")
    print(f"  {message.book!r}")
    print(f"  instrument {book.instrument.describe()}, snapshot_timestamp_ns {book.snapshot_timestamp_ns}, "
          f"capacity {book.capacity}")
    print(f"  levels back as sent: {'yes' if same else 'NO'}")
    return same


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Venue depth snapshot -> message -> book, exactly.")
    parser.add_argument("files", nargs="*", type=Path, help="snapshot JSON (default: examples/data/*.json)")
    parser.add_argument("--capacity", type=int, choices=orderbook.CAPACITIES, default=128,
                        help="levels per side (default 128; deeper snapshots keep their best levels)")
    parser.add_argument("--symbol", help="instrument symbol, e.g. BTCUSDT (default: the response's, if any)")
    args = parser.parse_args(argv)
    paths = args.files or sorted(DATA.glob("*.json"))
    if not paths:
        print(f"venue_snapshot: no snapshot files in {DATA}", file=sys.stderr)
        return 1
    ok = True
    for path in paths:
        try:
            sample = SAMPLE_SYMBOLS.get(path.name) if path.resolve().parent == DATA else None
            symbol = args.symbol or sample
            ok = convert(path, capacity=args.capacity, symbol=symbol) and ok
        except (OSError, ValueError, OrderBookError) as e:    # unreadable, not JSON, not a snapshot
            print(f"venue_snapshot: {path}: {e}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
