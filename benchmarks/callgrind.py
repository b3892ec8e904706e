#!/usr/bin/env python3
"""Per-call instruction counts of the main calls, from valgrind's callgrind.

Wall time on a shared machine drifts with its load; instruction counts do not,
so they are what to compare between kernels, builds and commits.  Each call
runs N times in a fresh interpreter under ``valgrind --tool=callgrind`` with
collection switched on only around the loop (callgrind's client requests,
from a tiny C helper built here); an empty loop's count is subtracted, so the
figure is the call alone.

    python benchmarks/callgrind.py                     # this checkout's build
    python benchmarks/callgrind.py --path OTHER_TREE   # another build, same calls
    python benchmarks/callgrind.py --json out.json --only decode

Needs valgrind (with its headers, as Debian's package has them) and a C compiler.

A call is a statement run against names made by a set-up; both are plain
Python source, so an older build of the library (``--path``) runs the same
text as long as it has the API the statement uses (``--compat`` maps the book
field's name of builds before snapshot_timestamp_ns).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent

SETUP = r"""
import orderbook
from orderbook import OrderBook
CAP = {cap}
bids = [(6_500_000_000_000 - i * 1_000_000, 25_000_000 + i * 1_000, i % 7 + 1) for i in range(CAP)]
asks = [(6_500_100_000_000 + i * 1_000_000, 30_000_000 + i * 1_000, i % 5 + 1) for i in range(CAP)]
kw = {{"{tsfield}": 1_700_000_000_123_456_789}}
if CAP != 128:
    kw["capacity"] = CAP
book = OrderBook(bids, asks, sequence=9_876_543_210, venue_id=7, **kw)
msg = orderbook.encode_message(book, sequence=5, timestamp_ns=6)
buf = bytearray(len(msg))
target = OrderBook(**({{"capacity": CAP}} if CAP != 128 else {{}}))
into = orderbook.Message()
view = OrderBook.view(bytes(msg), 37, **({{"capacity": CAP}} if CAP != 128 else {{}}))
m1, m2 = bytes(msg), bytearray(msg)
P = tuple(p for p, _, _ in bids)
"""
# only for the calls that use it: importing numpy under valgrind is slow
NUMPY_SETUP = """
import numpy as np
nd = np.array(bids, dtype=np.int64)
nda = np.array(asks, dtype=np.int64)
hdr = dict(snapshot_timestamp_ns=1_700_000_000_000_000_000, sequence=42, precision_factor=100_000_000,
           asset_id=0x1234_5678_9ABC, venue_id=100, asset_type=1, reserved=0)
"""

# name -> statement (run once per iteration)
CALLS: Dict[str, str] = {
    "OrderBook.from_bytes(msg, 37)": "OrderBook.from_bytes(m1, 37{capkw})",
    "OrderBook.view(msg, 37)": "OrderBook.view(m1, 37{capkw})",
    "view.rebind(msg, 37)": "view.rebind(m1, 37)",
    "book.load_from(msg, 37)": "target.load_from(m1, 37)",
    "book.pack_into(buf, 37)": "book.pack_into(buf, 37)",
    "bytes(book)": "book.to_bytes()",
    "encode_message_into(buf, 0, book)": "orderbook.encode_message_into(buf, 0, book, sequence=5, timestamp_ns=6)",
    "encode_message(book)": "orderbook.encode_message(book, sequence=5, timestamp_ns=6)",
    "decode_message(msg, into=Message)": "orderbook.decode_message(m1, 0, into=into)",
    "decode_message(msg)": "orderbook.decode_message(m1)",
    "OrderBook(bid tuples, ask tuples)": "OrderBook(bids, asks{capkw})",
    "book.set_bids(tuples)": "book.set_bids(bids)",
    "book.set_bids(int64 ndarray)": "book.set_bids(nd)",
    "OrderBook(nd, nd, **header)": "OrderBook(nd, nda, **hdr{capkw})",
    "refill: set_bids(nd); set_asks(nd)": "target.set_bids(nd)\ntarget.set_asks(nda)",
    "clear + add_bid x N": "target.clear()\nfor p in P:\n    target.add_bid(p, 5, 1)",
    "book.bids.tolist()": "book.bids.tolist()",
    "book.venue_id": "book.venue_id",
    "book.spread_bps": "book.spread_bps",
    "crc32(msg)": "orderbook.crc32(m1)",
}

HELPER_C = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void cg_stop(void) { CALLGRIND_TOGGLE_COLLECT; }
"""

PROGRAM = """
import ctypes, sys
sys.path.insert(0, {path!r})
{setup}
_cg = ctypes.CDLL({helper!r})
def _loop(_n):
    for _ in range(_n):
{body}
_loop(3)                      # warm: first-use allocations and caches
_cg.cg_start()
_loop({n})
_cg.cg_stop()
"""

_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


def build_helper(tmp: str) -> str:
    src, lib = os.path.join(tmp, "cg.c"), os.path.join(tmp, "libcg.so")
    Path(src).write_text(HELPER_C)
    subprocess.run([os.environ.get("CC", "cc"), "-O1", "-shared", "-fPIC", src, "-o", lib], check=True)
    return lib


def _run(path: Path, setup: str, stmt: str, n: int, valgrind: str, helper: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        body = "\n".join("        " + line for line in stmt.splitlines())
        if re.search(r"\bnda?\b", stmt):
            setup += NUMPY_SETUP
        prog = PROGRAM.format(path=str(path), setup=setup, body=body, n=n, helper=helper)
        # a fixed hash seed: otherwise dict layouts, and so counts, differ per run
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run([valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                               "--collect-atstart=no", "--dump-line=no", sys.executable, "-c", prog],
                              capture_output=True, text=True, cwd=tmp, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{stmt!r} failed under valgrind:\n{proc.stderr[-2000:]}")
        m = _TOTAL.search(Path(out).read_text())
        if not m:
            raise RuntimeError(f"no total in the callgrind output of {stmt!r}")
        return int(m.group(1))


def measure(path: Path, cap: int, names: List[str], n: int, tsfield: str,
            valgrind: str, helper: str) -> Dict[str, Optional[float]]:
    setup = SETUP.format(cap=cap, tsfield=tsfield)
    capkw = "" if cap == 128 else f", capacity={cap}"
    out: Dict[str, Optional[float]] = {}
    empty = _run(path, setup, "pass", n, valgrind, helper)
    for name in names:
        stmt = CALLS[name].format(capkw=capkw)
        try:
            total = _run(path, setup, stmt, n, valgrind, helper)
        except RuntimeError as e:
            print(f"  {name}: skipped ({str(e).splitlines()[0]})", file=sys.stderr)
            out[name] = None
            continue
        out[name] = (total - empty) / n
        print(f"  {name:<40} {out[name]:>12,.0f} instructions/call", flush=True)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", type=Path, default=ROOT, help="tree whose built orderbook to measure")
    ap.add_argument("--capacity", type=int, action="append", help="128 and/or 50 (default both)")
    ap.add_argument("--only", help="measure the calls whose name contains this text")
    ap.add_argument("-n", type=int, default=200, help="calls measured per figure")
    ap.add_argument("--compat", action="store_true",
                    help="the tree predates snapshot_timestamp_ns and capacities (capacity 128 only)")
    ap.add_argument("--json", type=Path, help="write the counts here")
    args = ap.parse_args(argv)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    caps = args.capacity or ([128] if args.compat else [128, 50])
    names = [n for n in CALLS if not args.only or args.only in n]
    result: Dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        helper = build_helper(tmp)
        # valgrind emulates the CPU it runs on: the kernel picked there is
        # not always the one picked natively (it lacks some vector extensions)
        probe = subprocess.run(
            [valgrind, "-q", sys.executable, "-c",
             f"import sys; sys.path.insert(0, {str(args.path)!r}); import orderbook; "
             "print(orderbook.crc32_implementation())"],
            capture_output=True, text=True, cwd=tmp)
        kernel = probe.stdout.strip() or "unknown"
        native = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(args.path)!r}); "
             "import orderbook; print(orderbook.crc32_implementation())"],
            capture_output=True, text=True, cwd=tmp).stdout.strip()
        print(f"CRC-32 kernel under valgrind: {kernel} (natively: {native})", flush=True)
        result["crc32_kernel"] = {"valgrind": kernel, "native": native}
        for cap in caps:
            print(f"capacity {cap} ({args.path}):", flush=True)
            result[str(cap)] = measure(args.path, cap, names, args.n,
                                       "timestamp_ns" if args.compat else "snapshot_timestamp_ns",
                                       valgrind, helper)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
