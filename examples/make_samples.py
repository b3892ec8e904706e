"""Write the synthetic depth snapshots in examples/data/.

They are *synthetic*: made here from a fixed seed so that anyone can rebuild
them byte for byte (``python examples/make_samples.py``; a test checks it),
and shaped exactly like the public REST responses that ``orderbook.venues``
reads -- same keys, same level arrays, each venue's own way of writing
decimals.  They are not market data.

    binance_btcusdt_depth.json   GET /api/v3/depth?symbol=BTCUSDT&limit=100
    coinbase_btcusd_book.json    GET /products/BTC-USD/book?level=2 (first 100 levels)
    kraken_xbtusd_depth.json     GET /0/public/Depth?pair=XBTUSD&count=100
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any, Dict, List, Tuple

DATA = Path(__file__).resolve().parent / "data"
SEED = 7
DEPTH = 100
NOTE = ("synthetic sample written by examples/make_samples.py (seed {seed}); "
        "shaped like the venue's REST response, not market data")

# (price in cents, size in units of 1e-8 BTC, order count)
Level = Tuple[int, int, int]


def _side(rnd: random.Random, best_cents: int, step: int, depth: int) -> List[Level]:
    """`depth` levels from `best_cents` outward (step -1: bids, +1: asks)."""
    out: List[Level] = []
    price = best_cents
    for _ in range(depth):
        # sizes in lots of 1e-5 BTC, a few large ones
        lots = rnd.choice([1, 2, 5, 10, 25, 40, 100, 250, 800]) * rnd.randint(1, 60)
        if rnd.random() < 0.05:
            lots *= 40
        out.append((price, lots * 1000, rnd.randint(1, 25)))
        price += step * rnd.choice([1, 1, 1, 2, 3, 5, 10])
    return out


def _decimal(units: int, scale: int) -> str:
    """units / 10**scale as text with exactly `scale` decimals (integers only)."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(scale + 1, "0")
    return sign + digits[:-scale] + "." + digits[-scale:] if scale else sign + digits


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def book(seed: int = SEED, depth: int = DEPTH) -> Tuple[List[Level], List[Level]]:
    rnd = random.Random(seed)
    best_bid = 3_435_650 + rnd.randint(-500, 500)        # ~34,356.50 USD in cents
    bids = _side(rnd, best_bid, -1, depth)
    asks = _side(rnd, best_bid + rnd.choice([1, 1, 2, 5]), +1, depth)
    return bids, asks


def binance(bids: List[Level], asks: List[Level], seed: int) -> Dict[str, Any]:
    # prices and quantities always with 8 decimals
    def side(levels: List[Level]) -> List[List[str]]:
        return [[_decimal(p * 1_000_000, 8), _decimal(s, 8)] for p, s, _ in levels]
    return {"_comment": NOTE.format(seed=seed), "lastUpdateId": 41_829_912_345,
            "bids": side(bids), "asks": side(asks)}


def coinbase(bids: List[Level], asks: List[Level], seed: int) -> Dict[str, Any]:
    # prices with the quote increment (2 decimals), sizes as short as they go
    def side(levels: List[Level]) -> List[List[Any]]:
        return [[_decimal(p, 2), _strip(_decimal(s, 8)), n] for p, s, n in levels]
    return {"_comment": NOTE.format(seed=seed), "bids": side(bids), "asks": side(asks),
            "sequence": 67_023_946_723, "auction_mode": False, "auction": None,
            "time": "2023-10-25T14:40:13.123456Z"}


def kraken(bids: List[Level], asks: List[Level], seed: int) -> Dict[str, Any]:
    # [price with 5 decimals, volume with 3 decimals (rounded down), last-change time]
    rnd = random.Random(seed + 1)
    t0 = 1_698_244_813

    def side(levels: List[Level]) -> List[List[Any]]:
        return [[_decimal(p * 1000, 5), _decimal(max(s // 100_000, 1), 3), t0 - rnd.randint(0, 600)]
                for p, s, _ in levels]
    return {"_comment": NOTE.format(seed=seed), "error": [],
            "result": {"XXBTZUSD": {"asks": side(asks), "bids": side(bids)}}}


def samples(seed: int = SEED, depth: int = DEPTH) -> Dict[str, str]:
    """File name -> JSON text, one level a line so that diffs stay readable."""
    bids, asks = book(seed, depth)
    made = {
        "binance_btcusdt_depth.json": binance(bids, asks, seed),
        "coinbase_btcusd_book.json": coinbase(bids, asks, seed),
        "kraken_xbtusd_depth.json": kraken(bids, asks, seed),
    }
    return {name: _dump(obj) for name, obj in made.items()}


def _dump(obj: Any, depth: int = 0) -> str:
    """JSON with one level a line, so that diffs of the samples stay readable."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k)}: {_dump(v, depth + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" + ("\n" if depth == 0 else "")
    if isinstance(obj, list) and obj and isinstance(obj[0], list):
        return "[\n" + ",\n".join(inner + json.dumps(x) for x in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DATA, help="directory (default: examples/data)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in samples().items():
        (args.out / name).write_text(text)
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
