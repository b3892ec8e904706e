"""Allocation report of the hot path: ``make memray``.

Runs every workload of profiling/workloads.py under memray (Python allocators
and native stacks), counts allocation events per call, and writes under
profiling/:

  report.md                 the tables (ours, the Vec-style baseline, side by side)
                            and the stacks of any hot-path allocation
  flamegraph.html           memray flame graph of the whole hot-path workload
  baseline_flamegraph.html  the same for the baseline workload
  stats.txt                 ``memray stats`` of both captures

The capture files go to profiling/out/ (git-ignored).  Exits 1 when any
hot-path row (or the loop-overhead control) shows an allocation, or when the
negative controls show none (a harness that cannot see allocations proves
nothing); 2 when memray is missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

try:
    import memray  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("memray is not installed: pip install 'orderbook[profile]' (Linux and macOS only)")

from importlib.metadata import version as _dist_version  # noqa: E402

import measure  # noqa: E402
import workloads as W  # noqa: E402
from measure import Count  # noqa: E402

MEMRAY_VERSION = _dist_version("memray")

# Flame graphs show every allocation freed within this many later allocations:
# all the per-call heap traffic (the default, peak-memory view, shows only
# what is alive at the high-water mark, which for a steady loop says little).
TEMPORARY_THRESHOLD = 10_000

Row = Tuple[W.Workload, Optional[Count], str]      # workload, its count, or why it was skipped


def _run_group(group: Sequence[W.Workload], iterations: int, path: Path) -> List[Row]:
    """All workloads of a group in one capture, counted per body."""
    missing = {w.name: w.missing() for w in group}
    items = [(w.name, w.body, w.setup(), iterations, w.calls) for w in group if not missing[w.name]]
    counts = measure.measure_many(items, str(path), max_sites=6, site_depth=16) if items else []
    by_name = {c.name: c for c in counts}
    return [(w, None, f"skipped: {missing[w.name]} is not installed") if missing[w.name]
            else (w, by_name[w.name], "") for w in group]


def _memray(*args: str) -> str:
    env = dict(os.environ, NO_COLOR="1", TERM="dumb", COLUMNS="110")
    proc = subprocess.run([sys.executable, "-m", "memray", *args], capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memray {args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


# --- formatting ---------------------------------------------------------------

def _per(value: float) -> str:
    """Per-call figures: 0.00 only when exactly zero; small nonzero values stay visible."""
    if value == 0:
        return "0.00"
    if value < 0.01:
        return f"{value:.2g}"
    return f"{value:,.2f}"


def _table(rows: List[Row], baseline: bool = False) -> Tuple[List[str], List[List[str]]]:
    head = ["call", "iterations", "calls", "allocations", "bytes", "allocations per call",
            "bytes per call"]
    if baseline:
        head.append("of which profiler artefacts")
    else:
        head.append("kind")
    body = []
    for w, c, why in rows:
        if c is None:
            body.append([w.name, "-", "-", "-", "-", why, "-", "-"])
            continue
        line = [w.name, f"{c.iterations:,}", f"{c.calls:,}", f"{c.allocations:,}", f"{c.bytes:,}",
                _per(c.per_call), _per(c.bytes_per_call)]
        if baseline:
            line.append(f"{c.profiler_allocations:,}")
        else:
            line.append(w.kind)
        body.append(line)
    return head, body


def _text_table(head: List[str], body: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    def fmt(r: List[str]) -> str:
        return "  ".join(x.ljust(widths[0]) if i == 0 else x.rjust(widths[i]) for i, x in enumerate(r))
    return "\n".join([fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body])


def _md_table(head: List[str], body: List[List[str]]) -> str:
    align = ["---"] + ["---:"] * (len(head) - 1)
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(x.replace("|", "\\|") for x in r) + " |" for r in body]
    return "\n".join(lines)


def _side_by_side(ours: List[Row], base: List[Row]) -> Tuple[List[str], List[List[str]]]:
    head = ["operation", "ours: call", "ours alloc/call", "ours bytes/call", "baseline: call",
            "baseline alloc/call", "baseline bytes/call", "of which profiler artefacts/call"]
    ops: Dict[str, List[Optional[Row]]] = {}
    for side, rows in ((0, ours), (1, base)):
        for r in rows:
            if r[0].op:
                ops.setdefault(r[0].op, [None, None])[side] = r
    body = []
    for op, pair in ops.items():
        line = [op]
        for entry in pair:
            if entry is None:
                line += ["(none)", "-", "-"]
            elif entry[1] is None:
                line += [entry[0].name, entry[2], "-"]
            else:
                line += [entry[0].name, _per(entry[1].per_call), _per(entry[1].bytes_per_call)]
        base_count = pair[1][1] if pair[1] is not None else None
        line.append(_per(base_count.profiler_allocations / base_count.calls) if base_count else "-")
        body.append(line)
    return head, body


def _sites(rows: List[Row]) -> str:
    out = []
    for w, c, _ in rows:
        if c is None or not c.allocations:
            continue
        out.append(f"### {w.name}: {_per(c.per_call)} allocations per call\n")
        for s in c.sites:
            out.append(f"{s.count:,} x {s.allocator} of {s.size} bytes "
                       f"({s.count / c.calls:.2f} per call):\n")
            out.append("```\n" + "\n".join(s.stack) + "\n```\n")
    return "\n".join(out)


# --- main ---------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=10_000,
                    help="loop iterations per workload of ours (default 10,000)")
    ap.add_argument("--baseline-iterations", type=int, default=500,
                    help="loop iterations per baseline workload (default 500: it makes "
                         "up to ~10,000 allocations per iteration)")
    ap.add_argument("--output-dir", type=Path, default=HERE,
                    help="where report.md, stats.txt and the flame graphs go (default profiling/)")
    ap.add_argument("--no-html", action="store_true", help="skip the flame graphs and stats")
    args = ap.parse_args(argv)

    outdir: Path = args.output_dir
    capdir = outdir / "out"
    capdir.mkdir(parents=True, exist_ok=True)
    started = time.time()

    hot = [w for w in W.OURS if w.kind in ("hot", "control")]
    ref = [w for w in W.OURS if w.kind == "reference"]
    captures = {"hot": capdir / "hot_path.bin", "reference": capdir / "reference.bin",
                "controls": capdir / "controls.bin", "baseline": capdir / "baseline.bin"}
    print(f"memray {MEMRAY_VERSION}: {len(hot)} hot-path rows x {args.iterations:,} iterations, "
          f"{len(W.BASELINE)} baseline rows x {args.baseline_iterations:,}", flush=True)
    hot_rows = _run_group(hot, args.iterations, captures["hot"])
    ref_rows = _run_group(ref, args.iterations, captures["reference"])
    ctl_rows = _run_group(W.CONTROLS, args.iterations, captures["controls"])
    base_rows = _run_group(W.BASELINE, args.baseline_iterations, captures["baseline"])
    ours_rows = hot_rows + ref_rows

    failures = [f"{w.name}: {c.allocations:,} allocations in {c.calls:,} calls ({_per(c.per_call)} per call)"
                for w, c, _ in hot_rows if c is not None and c.allocations]
    blind = [f"{w.name}: no allocation seen" for w, c, _ in ctl_rows if c is not None and not c.allocations]
    outside = {k: next(c.outside for _, c, _ in rows if c is not None)
               for k, rows in (("hot", hot_rows), ("baseline", base_rows))
               if any(c is not None for _, c, _ in rows)}

    # --- terminal ---------------------------------------------------------
    oh, ob = _table(ours_rows)
    bh, bb = _table(base_rows, baseline=True)
    sh, sb = _side_by_side(ours_rows, base_rows)
    print("\nours (hot: must be 0; reference: allocates by design)\n")
    print(_text_table(oh, ob))
    print("\nVec-style baseline (benchmarks/vec_baseline.py)\n")
    print(_text_table(bh, bb))
    print("\nside by side\n")
    print(_text_table(sh, sb))
    print("\nnegative controls: " + "; ".join(
        f"{w.name} -> {_per(c.per_call)} per call" for w, c, _ in ctl_rows if c is not None))

    # --- files ------------------------------------------------------------
    stats_text = ""
    if not args.no_html:
        for src, dst in ((captures["hot"], outdir / "flamegraph.html"),
                         (captures["baseline"], outdir / "baseline_flamegraph.html")):
            _memray("flamegraph", "-f", "-o", str(dst),
                    "--temporary-allocation-threshold", str(TEMPORARY_THRESHOLD), str(src))
        parts = []
        for label, key in (("hot path (ours)", "hot"), ("Vec-style baseline", "baseline")):
            parts.append(f"===== memray stats: {label}, profiling/out/{captures[key].name} =====\n")
            parts.append(_memray("stats", "-n", "10", str(captures[key])))
        stats_text = "\n".join(parts)
        (outdir / "stats.txt").write_text(stats_text)

    md = _report_md(args, ours_rows, base_rows, ctl_rows, failures, blind, outside)
    (outdir / "report.md").write_text(md)

    print(f"\nwrote {outdir / 'report.md'}" + ("" if args.no_html else
          f", {outdir / 'flamegraph.html'}, {outdir / 'baseline_flamegraph.html'}, {outdir / 'stats.txt'}")
          + f" ({time.time() - started:.0f} s)")
    if blind:
        print("\nFAIL: the harness did not see the negative controls allocate:\n  " + "\n  ".join(blind))
    if failures:
        print("\nFAIL: hot-path calls that allocate (stacks in profiling/report.md):\n  "
              + "\n  ".join(failures))
        for w, c, _ in hot_rows:
            if c is not None and c.allocations and c.sites:
                s = c.sites[0]
                print(f"\n  {w.name}: top site {s.allocator} {s.size} B x {s.count:,}")
                print("    " + "\n    ".join(s.stack[:8]))
    if blind or failures:
        return 1
    print("\nOK: every hot-path call made 0 allocations")
    return 0


def _report_md(args: argparse.Namespace, ours: List[Row], base: List[Row], controls: List[Row],
               failures: List[str], blind: List[str], outside: Dict[str, int]) -> str:
    try:
        import numpy
        np_version = numpy.__version__
    except ImportError:
        np_version = "not installed (its rows are skipped)"
    oh, ob = _table(ours)
    bh, bb = _table(base, baseline=True)
    sh, sb = _side_by_side(ours, base)
    versions = (f"Python {platform.python_version()} ({platform.machine()}, {platform.system()}), "
                f"memray {MEMRAY_VERSION}, numpy {np_version}")
    verdict = ("**Every hot-path call made 0 allocations.**" if not failures else
               "**Hot-path calls that allocate:**\n\n" + "\n".join(f"- {f}" for f in failures))
    if blind:
        verdict += "\n\n**The negative controls showed no allocation: the harness is broken.**"
    ctl = "; ".join(f"`{w.body}` → {_per(c.per_call)} per call ({_per(c.bytes_per_call)} bytes)"
                    for w, c, _ in controls if c is not None)
    sites = _sites([r for r in ours if r[0].kind in ("hot", "control")])
    return f"""# Allocation report: the hot path under memray

Generated by `make memray` (`profiling/memray_report.py`); do not edit by hand.
{versions}. Ours: {args.iterations:,} iterations per row; baseline: {args.baseline_iterations:,}.

{verdict}

## How it is measured

Each row is a loop body from `profiling/workloads.py`, compiled into
`for _ in itertools.repeat(None, n): <body>` and run inside
`memray.Tracker(path, native_traces=True, trace_python_allocators=True)` after a
warm-up of {measure.WARMUP} iterations outside the tracker. Bodies call the C methods
bound beforehand (`m = book.pack_into` … `m(b, o)`), with every argument (buffers,
arrays, big ints) created in the set-up: under memray's profile hook a Python-level
call gets a frame object (144+ bytes) and `book.clear()` a bound method (72 bytes),
and `range()` makes an int per step.

**allocations** counts every allocation event (all records except `FREE`,
`PYMALLOC_FREE` and `MUNMAP`: malloc, calloc, realloc, mmap, and the pymalloc
equivalents) whose Python stack runs through the loop body. Nothing is subtracted: the
"loop overhead" row is the scaffolding itself and must read 0. The only events of a
capture outside any body are memray's own teardown (`Tracker.__exit__` makes two
72-byte bound methods for its creation lock): {outside.get('hot', '-')} in the hot-path
capture, {outside.get('baseline', '-')} in the baseline one. **calls** is iterations ×
hot-path calls per iteration (the insert rows make `clear()` plus 128 `add_*` calls per
iteration); per-call figures divide by it.
`make memray` fails when any hot or control row is not exactly 0.

Negative controls, proving the harness sees both allocators: {ctl}.

## Ours

`hot` rows are the hot path (the calls that must allocate nothing) and must be 0. `reference` rows create a
new object by design and are shown for scale.

{_md_table(oh, ob)}

## The Vec-style baseline

`benchmarks/vec_baseline.py`: the pre-FixedVec design (levels in Python lists of
tuples, `struct` encoding with a length prefix per side), driven the same way. It is
pure Python, so under memray's profile hook CPython makes a frame object for each
Python-level call and a bound method for each unbound C-method call: the last column
counts those (profiling artefacts, included in the totals; without a profiler CPython
3.11+ keeps frames on its own stack). Everything else is real heap traffic: a tuple
and up to three ints per level, lists, `struct` results, bytes.

{_md_table(bh, bb)}

## Side by side

{_md_table(sh, sb)}

The baseline has no way to refill a book in place or to parse into an existing one,
so its rows for those operations construct a new `VecOrderBook`, as its users had to.
The last column is the part of the baseline's count that only exists under a profiler
(see above): its `clear()`, for one, allocates nothing in production either.

## Flame graphs and stats

`flamegraph.html` (the hot-path capture) and `baseline_flamegraph.html` are memray
flame graphs of every allocation freed within {TEMPORARY_THRESHOLD:,} later allocations
(`--temporary-allocation-threshold {TEMPORARY_THRESHOLD}`), i.e. all the per-call heap
traffic; an empty hot-path graph (memray's teardown aside) is the goal. `stats.txt`
holds `memray stats` of both captures. The captures themselves are in
`profiling/out/` (not committed).

## Where hot-path allocations come from

{sites or "None: no hot-path or control row allocated."}
"""


if __name__ == "__main__":
    sys.exit(main())
