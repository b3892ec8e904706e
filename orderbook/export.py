"""Parquet export of a capture, for the query engines (DuckDB, Polars, Spark...).

    python -m orderbook export CAPTURE OUT [--partition-by venue_id,date] [--levels K]
                                           [--scale float64|decimal128] [--no-verify]
                                           [--on-error raise|stop|skip] [--compression zstd]

``export_parquet(capture, out)`` opens the capture (``orderbook.Capture``:
every CRC verified), converts it in batches with ``orderbook.arrow.to_arrow``
(columns described there) and writes

- without ``partition_by``: one Parquet file ``out``;
- with ``partition_by`` (column names, e.g. ``["venue_id", "date"]``): a
  Hive-style dataset under the directory ``out``
  (``out/venue_id=100/date=2023-11-14/part-0.parquet``), written by
  ``pyarrow.dataset.write_dataset``.  ``date`` is an extra date32 column, the
  UTC calendar day of ``snapshot_timestamp_ns``; it is added whenever it is a
  partition key.  Partition keys live in the paths, not in the files: read the
  dataset back with Hive partitioning (``pyarrow.dataset.dataset(out,
  partitioning="hive")``, DuckDB ``read_parquet('out/**/*.parquet',
  hive_partitioning = true)``).

A progress bar (tqdm, when installed) is drawn on standard error when it is a
terminal, and never when it is piped or redirected.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, TextIO

__all__ = ["export_parquet", "add_export_parser", "cmd_export", "DATE_COLUMN"]

DATE_COLUMN = "date"
_NS_PER_DAY = 86_400 * 1_000_000_000
_BATCH = 4096


def _with_date(table: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    ts = table.column("snapshot_timestamp_ns").to_numpy()
    days = (ts // np.uint64(_NS_PER_DAY)).astype(np.int32)
    return table.append_column(DATE_COLUMN, pa.array(days, pa.date32()))


def _progress(total: int, enabled: Optional[bool]) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc="export", file=sys.stderr, leave=False)


def export_parquet(capture: Any, out: Any, *, partition_by: Optional[Sequence[str]] = None,
                   levels: Optional[int] = None, scale: Optional[str] = None,
                   compression: str = "zstd", batch_size: int = _BATCH,
                   progress: Optional[bool] = None, verify: bool = True, threads: Optional[int] = None,
                   on_error: str = "raise") -> Dict[str, Any]:
    """Write ``capture`` (a path or an open ``Capture``) as Parquet at ``out``.
    ``progress``: None draws a bar when standard error is a terminal.
    Returns ``{"rows", "messages_bytes", "parquet_bytes", "files", "capture"}``."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from orderbook._capture import Capture
    from orderbook.arrow import to_arrow

    own = not isinstance(capture, Capture)
    cap = Capture(capture, verify=verify, threads=threads, on_error=on_error) if own else capture
    keys = list(partition_by or ())
    bar = None
    try:
        n = len(cap)
        sizes = cap.sizes
        total = int(sizes.sum()) if n else 0
        bar = _progress(total, progress)

        def batches() -> Iterator[Any]:
            for lo in range(0, max(n, 1), batch_size):
                table = to_arrow(cap[lo:lo + batch_size], levels=levels, scale=scale)
                if DATE_COLUMN in keys:
                    table = _with_date(table)
                if bar is not None:
                    bar.update(int(sizes[lo:lo + batch_size].sum()))
                yield table

        first = None
        files = []
        out = Path(out)
        if not keys:
            writer = None
            for table in batches():
                if writer is None:
                    first = table
                    writer = pq.ParquetWriter(str(out), table.schema, compression=compression)
                writer.write_table(table)
            if writer is not None:
                writer.close()
            files = [out]
        else:
            gen = batches()
            first = next(gen)
            missing = [k for k in keys if k not in first.column_names]
            if missing:
                raise ValueError(f"export: no column {missing} to partition by; columns: "
                                 f"{first.column_names}")

            def chain() -> Iterator[Any]:
                yield from first.to_batches()
                for t in gen:
                    yield from t.to_batches()

            schema = first.schema
            reader = pa.RecordBatchReader.from_batches(schema, chain())
            part = ds.partitioning(pa.schema([schema.field(k) for k in keys]), flavor="hive")
            fmt = ds.ParquetFileFormat()
            ds.write_dataset(reader, str(out), format=fmt, partitioning=part,
                             file_options=fmt.make_write_options(compression=compression),
                             basename_template="part-{i}.parquet",
                             existing_data_behavior="overwrite_or_ignore")
            files = sorted(out.rglob("*.parquet"))
        return {"rows": n, "messages_bytes": total, "capture_bytes": cap.nbytes,
                "parquet_bytes": sum(os.path.getsize(f) for f in files), "files": len(files),
                "capture": cap if not own else None}
    finally:
        if bar is not None:
            bar.close()
        if own:
            cap.close()


# --- command line (python -m orderbook export) -----------------------------------------

def add_export_parser(sub: Any) -> None:
    """The ``export`` subcommand's arguments, for ``orderbook.__main__``."""
    exp = sub.add_parser("export", help="a capture to Parquet (one file, or a Hive-partitioned dataset)",
                         description="Convert a capture of Protocol V2 order book messages to Parquet "
                                     "for query engines (every CRC verified).")
    exp.add_argument("capture", help="capture file")
    exp.add_argument("out", help="Parquet file to write, or the dataset directory with --partition-by")
    exp.add_argument("--partition-by", metavar="COLS",
                     help="comma-separated partition columns, e.g. venue_id,date (date: the UTC day of "
                          "snapshot_timestamp_ns); writes a Hive-style dataset directory")
    exp.add_argument("--levels", type=int, metavar="K", help="keep only the best K levels per side")
    exp.add_argument("--scale", choices=("float64", "decimal128"),
                     help="prices and sizes divided by precision_factor (default: the wire integers)")
    exp.add_argument("--compression", default="zstd", help="Parquet compression (default zstd)")
    exp.add_argument("--no-verify", dest="verify", action="store_false", help="do not check CRC-32s")
    exp.add_argument("--on-error", choices=("raise", "stop", "skip"), default="raise",
                     help="a bad message: fail (default), stop before it, or skip it")
    exp.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="draw a progress bar even when standard error is not a terminal")
    exp.add_argument("--no-progress", dest="progress", action="store_false")


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """Exit status 0 when written, 1 when the capture is corrupt, 2 on usage
    errors, unreadable files and a missing pyarrow."""
    from orderbook.errors import OrderBookError

    if args.levels is not None and args.levels < 0:
        print("orderbook export: --levels must be >= 0", file=sys.stderr)
        return 2
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        print("orderbook export needs pyarrow: pip install 'orderbook-tlv[arrow]'", file=sys.stderr)
        return 2
    keys = [k.strip() for k in args.partition_by.split(",") if k.strip()] if args.partition_by else None
    try:
        stats = export_parquet(args.capture, args.out, partition_by=keys, levels=args.levels,
                               scale=args.scale, compression=args.compression, verify=args.verify,
                               on_error=args.on_error, progress=args.progress)
    except OSError as e:
        print(f"orderbook export: {e.filename or args.capture}: {e.strerror or e}", file=sys.stderr)
        return 2
    except OrderBookError as e:
        print(f"orderbook export: {args.capture}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"orderbook export: {e}", file=sys.stderr)
        return 2
    print(f"wrote {stats['rows']:,} books from {args.capture} ({stats['capture_bytes']:,} bytes) to "
          f"{args.out}: {stats['parquet_bytes']:,} bytes in {stats['files']} file(s)", file=out)
    return 0
