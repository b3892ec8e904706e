"""Research-path throughput: Capture open+verify, to_arrow, Parquet export, each
against the obvious Python loop (iter_messages + building lists).

    python benchmarks/bench_research.py [--mb 150] [--threads 2]

Writes a capture of about --mb megabytes (capacity-128 books, 1..128 levels
per side, uniform) to a temporary directory, then prints a table.  Targets:
open+verify >= 80% of the single-thread CRC-32 throughput of orderbook.crc32
over the same bytes; to_arrow >= 20x the Python loop.  The Python loops run
on a prefix of the capture (--loop-mb) and are reported as rates.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orderbook
from orderbook import Capture, OrderBook, encode_message, iter_messages


def make_capture(path: Path, mb: float, seed: int = 1) -> int:
    rng = random.Random(seed)
    distinct: List[OrderBook] = []
    for i in range(512):
        nb, na = rng.randint(1, 128), rng.randint(1, 128)
        bid = rng.randint(10**12, 2 * 10**12)
        distinct.append(OrderBook(
            [(bid - 1000 * j, rng.randint(1, 10**10), rng.randint(0, 50)) for j in range(nb)],
            [(bid + rng.randint(1, 10**6) + 1000 * j, rng.randint(1, 10**10), rng.randint(0, 50))
             for j in range(na)],
            venue_id=(100, 101, 102)[i % 3], precision_factor=10**8, asset_id=i % 7,
            snapshot_timestamp_ns=1_700_000_000 * 10**9 + i * 10**9))
    n = int(mb * 1e6) // orderbook.MESSAGE_SIZE
    buf = bytearray(n * orderbook.MESSAGE_SIZE)
    for i in range(n):
        book = distinct[i % len(distinct)]
        book.sequence = i
        orderbook.encode_message_into(buf, i * orderbook.MESSAGE_SIZE, book, sequence=i,
                                      timestamp_ns=book.snapshot_timestamp_ns + i, source=1)
    path.write_bytes(buf)
    return n


def best(fn: Callable[[], Any], repeat: int) -> Tuple[float, Any]:
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def python_table(data: bytes) -> Any:
    """The obvious loop: iter_messages, lists per column, list-of-dicts sides."""
    import pyarrow as pa

    cols: dict = {k: [] for k in ("snapshot_timestamp_ns", "sequence", "precision_factor", "asset_id",
                                  "venue_id", "asset_type", "reserved", "bids", "asks",
                                  "header_sequence", "header_timestamp")}
    for msg in iter_messages(data):
        b, h = msg.book, msg.header
        cols["snapshot_timestamp_ns"].append(b.snapshot_timestamp_ns)
        cols["sequence"].append(b.sequence)
        cols["precision_factor"].append(b.precision_factor)
        cols["asset_id"].append(b.asset_id)
        cols["venue_id"].append(b.venue_id)
        cols["asset_type"].append(b.asset_type)
        cols["reserved"].append(b.reserved)
        cols["bids"].append([{"price": p, "size": s, "order_count": c} for p, s, c, _ in b.bids.tuples()])
        cols["asks"].append([{"price": p, "size": s, "order_count": c} for p, s, c, _ in b.asks.tuples()])
        cols["header_sequence"].append(h.sequence)
        cols["header_timestamp"].append(h.timestamp)
    return pa.table(cols)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=150)
    ap.add_argument("--loop-mb", type=float, default=12)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()
    rows: List[Tuple[str, str, str, str]] = []

    with tempfile.TemporaryDirectory(prefix="bench_research_") as tmp:
        path = Path(tmp) / "capture.bin"
        t0 = time.perf_counter()
        n = make_capture(path, args.mb)
        size = path.stat().st_size
        print(f"capture: {n:,} messages, {size / 1e6:.1f} MB (written in {time.perf_counter() - t0:.1f} s); "
              f"CRC kernel {orderbook.crc32_implementation()}", file=sys.stderr)
        data = path.read_bytes()
        loop_n = max(1, int(args.loop_mb * 1e6) // orderbook.MESSAGE_SIZE)
        loop_data = data[:loop_n * orderbook.MESSAGE_SIZE]

        gb = size / 1e9
        import mmap
        t_bytes, _ = best(lambda: orderbook.crc32(data), 5)
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
            t_map, _ = best(lambda: orderbook.crc32(mm), 5)
        # the floor: the faster of the two (the same bytes in memory, or mapped)
        t_crc = min(t_bytes, t_map)
        rows.append(("crc32 over the bytes (1 thread)", f"{t_bytes * 1e3:.1f} ms", f"{gb / t_bytes:.2f} GB/s",
                     f"{t_crc / t_bytes:.2f}x"))
        rows.append(("crc32 over the mmap (1 thread)", f"{t_map * 1e3:.1f} ms", f"{gb / t_map:.2f} GB/s",
                     f"{t_crc / t_map:.2f}x"))

        def open_verify(threads: int) -> Callable[[], int]:
            def run() -> int:
                with Capture(path, threads=threads) as c:
                    return len(c)
            return run
        t_open1, m = best(open_verify(1), 5)
        assert m == n
        rows.append(("Capture(path) open+verify, threads=1", f"{t_open1 * 1e3:.1f} ms", f"{gb / t_open1:.2f} GB/s",
                     f"{t_crc / t_open1:.2f}x of crc32 (target >= 0.80x)"))
        if args.threads > 1:
            t_openk, _ = best(open_verify(args.threads), 5)
            rows.append((f"Capture(path) open+verify, threads={args.threads}", f"{t_openk * 1e3:.1f} ms",
                         f"{gb / t_openk:.2f} GB/s", f"{t_crc / t_openk:.2f}x of crc32"))
        t_buf, _ = best(lambda: len(Capture(data, threads=1)), 5)
        rows.append(("Capture(bytes) open+verify, threads=1", f"{t_buf * 1e3:.1f} ms", f"{gb / t_buf:.2f} GB/s",
                     f"{t_crc / t_buf:.2f}x of crc32"))
        lgb = len(loop_data) / 1e9
        t_iter, _ = best(lambda: sum(1 for _ in iter_messages(loop_data)), 3)
        rows.append((f"  loop: iter_messages (first {loop_n:,})", f"{t_iter * 1e3:.1f} ms", f"{lgb / t_iter:.2f} GB/s",
                     f"Capture is {(lgb / t_iter) and (gb / t_open1) / (lgb / t_iter):.1f}x"))

        try:
            import pyarrow.parquet as pq
        except ImportError:
            rows.append(("to_arrow / Parquet", "-", "-", "skipped: pyarrow not installed"))
        else:
            cap = Capture(path)
            t_arrow, table = best(cap.to_arrow, 3)
            t_loop, loop_table = best(lambda: python_table(loop_data), 1)
            # same content (the loop's types are inferred: int64 order_count, nullable fields)
            assert loop_table.column("bids").slice(0, 200).to_pylist() == \
                table.column("bids").slice(0, 200).to_pylist()
            rate, loop_rate = n / t_arrow, loop_n / t_loop
            rows.append(("Capture.to_arrow()", f"{t_arrow * 1e3:.1f} ms",
                         f"{rate:,.0f} books/s, {gb / t_arrow:.2f} GB/s",
                         f"{rate / loop_rate:.1f}x the loop (target >= 20x)"))
            rows.append(("  loop: iter_messages + lists + pa.table", f"{t_loop * 1e3:.1f} ms",
                         f"{loop_rate:,.0f} books/s, {lgb / t_loop:.3f} GB/s", "1.00x"))
            from orderbook.export import export_parquet

            out = Path(tmp) / "books.parquet"
            t_exp, stats = best(lambda: export_parquet(cap, out, progress=False), 1)
            out_part = Path(tmp) / "dataset"
            t_part, stats_part = best(lambda: export_parquet(cap, out_part, partition_by=["venue_id", "date"],
                                                             progress=False), 1)
            loop_out = Path(tmp) / "loop.parquet"

            def loop_export() -> None:
                pq.write_table(python_table(loop_data), loop_out, compression="zstd")
            t_lexp, _ = best(loop_export, 1)
            mbs, lmbs = size / 1e6 / t_exp, len(loop_data) / 1e6 / t_lexp
            rows.append(("export_parquet (one file, zstd)", f"{t_exp * 1e3:.0f} ms", f"{mbs:,.0f} MB/s of capture",
                         f"{mbs / lmbs:.1f}x the loop"))
            rows.append(("export_parquet (venue_id,date dataset)", f"{t_part * 1e3:.0f} ms",
                         f"{size / 1e6 / t_part:,.0f} MB/s of capture", f"{stats_part['files']} files"))
            rows.append(("  loop: python table + pq.write_table", f"{t_lexp * 1e3:.0f} ms", f"{lmbs:,.0f} MB/s", "1.00x"))
            cap.close()
            print(f"Parquet size: {stats['parquet_bytes'] / 1e6:.1f} MB for a {size / 1e6:.1f} MB capture "
                  f"({stats['parquet_bytes'] / size:.1%}); partitioned {stats_part['parquet_bytes'] / 1e6:.1f} MB "
                  f"in {stats_part['files']} files", file=sys.stderr)

    widths = [max(len(r[i]) for r in rows + [("what", "time", "throughput", "ratio")]) for i in range(4)]
    head = ("what", "time", "throughput", "ratio")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
