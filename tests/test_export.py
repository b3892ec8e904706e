"""Parquet export (orderbook.export, python -m orderbook export): read back with
pyarrow.dataset and DuckDB; mean spread per venue checked against the library.

Spread, defined once for both sides of the check: for each book with both
sides non-empty, ``(best ask price - best bid price) / precision_factor`` (price
units), and upstream's integer ``spread_bps``; the figure is the arithmetic
mean of each per venue_id.
"""

from __future__ import annotations

import random
import os
import subprocess
import sys
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the Parquet export needs numpy")
pa = pytest.importorskip("pyarrow", reason="the Parquet export needs pyarrow (the arrow extra)")
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import orderbook
from orderbook import Capture, OrderBook, encode_message
from orderbook.__main__ import main
from orderbook.export import export_parquet
from orderbook.prices import spread

ROOT = Path(__file__).resolve().parent.parent
DAY = 86_400 * 10**9
T0 = 1_700_000_000 * 10**9          # 2023-11-14T22:13:20Z


def _book(i, rng):
    cap = 128 if i % 5 else 50
    nb, na = rng.randint(0 if i % 7 == 0 else 1, cap), rng.randint(1, cap)
    bid = rng.randint(10**9, 2 * 10**9)
    gap = rng.randint(1, 10**7)            # up to 100 bps
    return OrderBook([(bid - 3 * j, rng.randint(1, 10**9), j) for j in range(nb)],
                     [(bid + gap + 3 * j, rng.randint(1, 10**9)) for j in range(na)],
                     sequence=i, venue_id=(100, 101, 102)[i % 3], precision_factor=10**8,
                     snapshot_timestamp_ns=T0 + (i % 4) * DAY // 2 + i, capacity=cap)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    rng = random.Random(7)
    books = [_book(i, rng) for i in range(300)]
    path = tmp_path_factory.mktemp("cap") / "capture.bin"
    path.write_bytes(b"".join(encode_message(b, sequence=i, timestamp_ns=i) for i, b in enumerate(books)))
    return path, books


def _library_means(books):
    spreads, bps = defaultdict(list), defaultdict(list)
    for b in books:
        s = spread(b)
        if s is None:
            continue
        spreads[b.venue_id].append(Fraction(s))
        bps[b.venue_id].append(b.spread_bps)
    return ({v: sum(x) / len(x) for v, x in spreads.items()},
            {v: Fraction(sum(x), len(x)) for v, x in bps.items()})


def test_single_file_round_trip(capture, tmp_path):
    path, books = capture
    out = tmp_path / "books.parquet"
    stats = export_parquet(path, out, batch_size=64, progress=False)
    assert stats["rows"] == len(books) and stats["files"] == 1
    assert stats["parquet_bytes"] == out.stat().st_size
    table = pq.read_table(out)
    with Capture(path) as cap:
        assert table.equals(cap.to_arrow())
    assert table.column("sequence").to_pylist() == list(range(len(books)))


def test_partitioned_dataset_and_duckdb(capture, tmp_path):
    path, books = capture
    out = tmp_path / "dataset"
    stats = export_parquet(path, out, partition_by=["venue_id", "date"], batch_size=50, progress=False)
    dirs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert all(d.startswith("venue_id=10") and "/date=2023-11-1" in d for d in dirs)
    assert stats["files"] == len(dirs) >= 6
    part = ds.partitioning(pa.schema([("venue_id", pa.uint16()), ("date", pa.date32())]), flavor="hive")
    table = ds.dataset(out, format="parquet", partitioning=part).to_table().sort_by("sequence")
    assert table.num_rows == len(books)
    assert table.column("venue_id").to_pylist() == [b.venue_id for b in books]
    import datetime as dt
    assert table.column("date").to_pylist() == [
        dt.datetime.fromtimestamp(b.snapshot_timestamp_ns // 10**9, dt.timezone.utc).date() for b in books]
    assert [[(d["price"], d["size"]) for d in r] for r in table.column("bids").to_pylist()] == \
        [[(lv.price, lv.size) for lv in b.bids] for b in books]

    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed")
    glob = str(out / "**" / "*.parquet")
    rows = duckdb.sql(f"""
        SELECT venue_id,
               avg((asks[1].price - bids[1].price) / precision_factor::DOUBLE) AS mean_spread,
               -- upstream's spread_bps: both divisions integer (positive operands here)
               avg(((asks[1].price - bids[1].price)::HUGEINT * 10000)
                   // ((bids[1].price::HUGEINT + asks[1].price) // 2)) AS mean_spread_bps,
               count(*) AS n
        FROM read_parquet('{glob}', hive_partitioning = true)
        WHERE len(bids) > 0 AND len(asks) > 0
        GROUP BY venue_id ORDER BY venue_id""").fetchall()
    spreads, bps = _library_means(books)
    assert len({v for x in bps.values() for v in [x]}) > 1 and max(bps.values()) > 10
    assert [int(r[0]) for r in rows] == sorted(spreads)
    for venue, mean_spread, mean_bps, n in rows:
        assert n == sum(1 for b in books if b.venue_id == int(venue) and len(b.bids) and len(b.asks))
        assert mean_spread == pytest.approx(float(spreads[int(venue)]), rel=1e-12)
        assert mean_bps == pytest.approx(float(bps[int(venue)]), rel=1e-12)


def test_levels_and_scale(capture, tmp_path):
    path, books = capture
    out = tmp_path / "top5.parquet"
    export_parquet(path, out, levels=5, scale="decimal128", progress=False)
    t = pq.read_table(out)
    rows = t.column("asks").to_pylist()
    assert [len(r) for r in rows] == [min(5, len(b.asks)) for b in books]
    assert rows[1][0]["price"] == orderbook.to_decimal(books[1].asks[0].price, 10**8)


def test_cli(capture, tmp_path):
    path, books = capture
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "orderbook", "export", str(path), str(out),
                           "--partition-by", "venue_id,date", "--levels", "3"],
                          capture_output=True, text=True, timeout=120,
                          # where the orderbook under test lives (the scratch build under make sanitize)
                          cwd=os.path.dirname(os.path.dirname(orderbook.__file__)))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {len(books)} books" in proc.stdout
    assert proc.stderr == ""                      # piped: no progress bar
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(books)
    assert max(len(r) for r in table.column("bids").to_pylist()) == 3


def test_cli_errors(capture, tmp_path):
    path, _ = capture
    bad = tmp_path / "bad.bin"
    data = bytearray(path.read_bytes())
    data[1000] ^= 1
    bad.write_bytes(bytes(data))
    assert main(["export", str(bad), str(tmp_path / "x.parquet")]) == 1
    assert main(["export", str(bad), str(tmp_path / "x.parquet"), "--on-error", "skip"]) == 0
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 299
    assert main(["export", str(tmp_path / "missing.bin"), str(tmp_path / "y.parquet")]) == 2
    assert main(["export", str(path), str(tmp_path / "z"), "--partition-by", "nope"]) == 2
    assert main(["export", str(path), str(tmp_path / "z.parquet"), "--levels", "-1"]) == 2


def test_progress_bar_when_asked(capture, tmp_path, capsys):
    pytest.importorskip("tqdm", reason="tqdm is not installed")
    path, _ = capture
    export_parquet(path, tmp_path / "p.parquet", progress=True, batch_size=100)
    assert "export" in capsys.readouterr().err
