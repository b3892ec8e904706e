"""From a pytest-benchmark JSON file to the table, the targets and the
Vec-baseline gate.

Every number is the time of one call in nanoseconds.  A row is one
operation at one (capacity, depth) point: the book's capacity (128, the
default, or 50, upstream's) and the levels per side.  The statistic is the
fastest round by default: each round averages at least 20 µs of
back-to-back calls, so its minimum is the least-disturbed average, the
usual choice on a shared machine; ``--stat median`` is available.
Ratios are peer / ours: above 1 means ours is faster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from catalogue import BY_ID, IMPLS, OPERATIONS, OVERHEAD_OPS

Key = Tuple[str, int, int]                  # (op id, capacity, depth)

#: The default capacity, and every capacity a row may have (table order).
DEFAULT_CAPACITY = 128
CAPACITIES = (128, 50)
#: (capacity, depth) of the full book at each capacity: the single-depth rows.
FULL_POINTS = ((128, 128), (50, 50))


@dataclass
class Results:
    """ns per call by (op, capacity, depth) and impl, plus each cell's call description."""

    ns: Dict[Key, Dict[str, float]]
    calls: Dict[str, Dict[str, str]]        # op -> impl -> description
    machine: Dict[str, object]
    stat: str
    passes: int = 1
    spread: Dict[Tuple[str, int, int, str], float] = None  # type: ignore[assignment]

    def get(self, op: str, depth: int, impl: str,
            capacity: int = DEFAULT_CAPACITY) -> Optional[float]:
        return self.ns.get((op, capacity, depth), {}).get(impl)

    def depths(self, op: str, capacity: int = DEFAULT_CAPACITY) -> List[int]:
        return sorted(d for (o, c, d) in self.ns if o == op and c == capacity)

    def points(self, op: str) -> List[Tuple[int, int]]:
        """Every (capacity, depth) measured for ``op``: the default capacity
        first, then the others, each by depth."""
        order = {c: i for i, c in enumerate(CAPACITIES)}
        return sorted(((c, d) for (o, c, d) in self.ns if o == op),
                      key=lambda cd: (order.get(cd[0], len(order)), cd[1]))


def load(path: str, stat: str = "min") -> Results:
    with open(path) as f:
        data = json.load(f)
    ns: Dict[Key, Dict[str, float]] = {}
    calls: Dict[str, Dict[str, str]] = {}
    spread: Dict[Tuple[str, int, str], float] = {}
    for b in data["benchmarks"]:
        info = b.get("extra_info") or {}
        if "op" not in info:
            continue
        # runs made before capacity 50 existed have no capacity: all 128
        key = (info["op"], int(info.get("capacity", DEFAULT_CAPACITY)), int(info["depth"]))
        ns.setdefault(key, {})[info["impl"]] = b["stats"][stat] * 1e9
        calls.setdefault(info["op"], {})[info["impl"]] = info.get("call", "")
        mins = info.get("pass_mins") or []
        if len(mins) > 1:
            spread[(*key, info["impl"])] = max(mins) / min(mins)
    return Results(ns, calls, data.get("orderbook_machine", {}), stat,
                   int(data.get("passes", 1)), spread)


# --- formatting -------------------------------------------------------------------

def fmt_ns(ns: float) -> str:
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns / 1e6:.3g} ms"


def fmt_ratio(r: float) -> str:
    return f"{r:.3g}×" if r < 100 else f"{r:.0f}×"


def table_rows(res: Results) -> List[List[str]]:
    """One row per (operation, capacity, depth): ours, then each peer with peer/ours."""
    rows = []
    for op in OPERATIONS:
        for capacity, depth in res.points(op.id):
            cells = res.ns[(op.id, capacity, depth)]
            ours = cells.get("ours")
            row = [op.title, str(capacity), str(depth)]
            for impl, _ in IMPLS:
                t = cells.get(impl)
                if t is None:
                    row.append("—")
                elif impl == "ours" or ours is None:
                    row.append(fmt_ns(t))
                else:
                    row.append(f"{fmt_ns(t)} ({fmt_ratio(t / ours)})")
            rows.append(row)
    return rows


def markdown_table(res: Results) -> str:
    head = ["operation", "capacity", "N"] + [title for _, title in IMPLS]
    lines = ["| " + " | ".join(head) + " |",
             "|---|--:|--:|" + "|".join("--:" for _ in IMPLS) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(res)]
    return "\n".join(lines)


def legend(res: Results) -> str:
    """What each row measures, and the exact call in every column."""
    names = dict(IMPLS)
    out = []
    for op in OPERATIONS:
        if op.id not in res.calls:
            continue
        out.append(f"- **{op.title}**: {op.means}.")
        for impl, _ in IMPLS:
            call = res.calls[op.id].get(impl)
            if call:
                out.append(f"  - {names[impl]}: `{call}`")
    return "\n".join(out)


def passes_note(res: Results) -> str:
    return f", best of {res.passes} passes" if res.passes > 1 else ""


def noise_line(res: Results) -> str:
    """How much the passes disagreed: a hint of how far to trust close ratios."""
    if not res.spread:
        return ""
    values = sorted(res.spread.values())
    (op, capacity, depth, impl), worst = max(res.spread.items(), key=lambda kv: kv[1])
    return (f"Pass-to-pass spread of the fastest round: median {values[len(values) // 2]:.2f}×, "
            f"worst {worst:.2f}× ({op_title(op)} capacity {capacity} N={depth}, {impl}).")


def overhead_line(res: Results) -> str:
    parts = [f"{what}: {fmt_ns(t)}" for op, what in OVERHEAD_OPS.items()
             for t in [res.get(op, 128, "ref")] if t is not None]
    return "Timing overhead included in every cell: " + "; ".join(parts) + "." if parts else ""


# --- targets ---------------------------------------------------------------------------

@dataclass
class Outcome:
    name: str
    passed: Optional[bool]       # None: not measured
    detail: str


def _at(capacity: int) -> str:
    return f" (capacity {capacity})"


def _ratio_target(res: Results, name: str, op: str, peer: str, at_least: float,
                  depth: int = 128, capacity: int = DEFAULT_CAPACITY) -> Outcome:
    ours, other = res.get(op, depth, "ours", capacity), res.get(op, depth, peer, capacity)
    if ours is None or other is None:
        return Outcome(name, None, "not measured")
    r = other / ours
    return Outcome(name, r >= at_least,
                   f"{fmt_ratio(r)} (ours {fmt_ns(ours)}, {peer} {fmt_ns(other)}; need ≥ {at_least:g}×)")


def _per_capacity(make: Callable[[int, int], Callable[[Results], Outcome]]
                  ) -> List[Callable[[Results], Outcome]]:
    """The same target at every capacity, each with its full book (128 at
    128, 50 at 50): one outcome line per capacity."""
    return [make(c, d) for c, d in FULL_POINTS]


def _ratio(title: str, op: str, peer: str, at_least: float) -> List[Callable[[Results], Outcome]]:
    """``title`` may hold ``{n}``: the depth (levels per side) of that capacity's row."""
    return _per_capacity(lambda c, d: lambda r: _ratio_target(
        r, title.format(n=d) + _at(c), op, peer, at_least, d, c))


def _view_flat(res: Results) -> Outcome:
    name = "view() flat across depths 1..128 (slowest / fastest ≤ 1.25)" + _at(DEFAULT_CAPACITY)
    t: Dict[int, float] = {}
    for d in res.depths("parse.view"):
        v = res.get("parse.view", d, "ours")
        if v is not None:
            t[d] = v
    if len(t) < 2:
        return Outcome(name, None, "not measured")
    spread = max(t.values()) / min(t.values())
    return Outcome(name, spread <= 1.25, f"{spread:.2f} ({', '.join(f'N={d}: {fmt_ns(v)}' for d, v in t.items())})")


def _numpy_under_1us(capacity: int, depth: int) -> Callable[[Results], Outcome]:
    def target(res: Results) -> Outcome:
        name = f"construct from numpy (2×{depth}) under 1 µs" + _at(capacity)
        new = res.get("construct.numpy", depth, "ours", capacity)
        reuse = res.get("construct.numpy_reuse", depth, "ours", capacity)
        if new is None:
            return Outcome(name, None, "not measured")
        extra = f"; refill of an existing book {fmt_ns(reuse)}" if reuse is not None else ""
        return Outcome(name, new < 1_000, f"new book {fmt_ns(new)}{extra}")
    return target


def _pack_into_vs_copy(capacity: int, depth: int) -> Callable[[Results], Outcome]:
    def target(res: Results) -> Outcome:
        size = 40 + 2 * (8 + 24 * capacity)
        name = f"pack_into within 1.5× of a bare {size:,}-byte bytearray slice copy" + _at(capacity)
        ours = res.get("serialize.pack_into", depth, "ours", capacity)
        copy = res.get("serialize.pack_into", depth, "ref", capacity)
        if ours is None or copy is None:
            return Outcome(name, None, "not measured")
        r = ours / copy
        return Outcome(name, r <= 1.5, f"ours / copy = {r:.2f} (ours {fmt_ns(ours)}, copy {fmt_ns(copy)})")
    return target


#: the CRC-32 rows: (op, capacity, size label)
CRC_ROWS = (("crc32.64", 128, "64 B"), ("crc32", 128, "6,200 B"), ("crc32", 50, "2,456 B"),
            ("crc32.1mib", 128, "1 MiB"))


def _crc_peers(res: Results) -> Outcome:
    name = "crc32 at least as fast as isal and zlib-ng (64 B, 6,200 B, 2,456 B, 1 MiB)"
    parts, ok = [], True
    for op, capacity, size in CRC_ROWS:
        depth = capacity                    # a full book's row; 64 B and 1 MiB sit at 128
        ours = res.get(op, depth, "ours", capacity)
        for peer in ("isal", "zlib-ng"):
            other = res.get(op, depth, peer, capacity)
            if ours is None or other is None:
                continue
            ok &= other >= ours
            parts.append(f"{size} {peer} {fmt_ratio(other / ours)}")
    if not parts:
        return Outcome(name, None, "not measured (pip install isal zlib-ng)")
    return Outcome(name, ok, "peer / ours: " + ", ".join(parts))


def _codec_floor(op: str, what: str, capacity: int, depth: int) -> Callable[[Results], Outcome]:
    """``what`` within 1.25× of its floor: a plain copy of the book plus the
    fastest peer's CRC-32 of it (both measured in the same run), less one
    call overhead (two calls measured, one made)."""
    def target(res: Results) -> Outcome:
        name = f"{what} within 1.25× of copy + the fastest peer's crc32" + _at(capacity)
        ours = res.get(op, depth, "ours", capacity)
        copy = res.get("serialize.pack_into", depth, "ref", capacity)
        call = res.get("overhead.partial", 128, "ref") or 0.0
        peers = {p: res.get("crc32", depth, p, capacity) for p in ("isal", "zlib-ng")}
        peers = {p: v for p, v in peers.items() if v is not None}
        if ours is None or copy is None or not peers:
            return Outcome(name, None, "not measured (pip install isal zlib-ng)")
        peer, crc = min(peers.items(), key=lambda kv: kv[1])
        floor = copy + crc - call
        r = ours / floor
        own = res.get("crc32", depth, "ours", capacity)
        extra = (f"; against our own crc32 ({fmt_ns(own)}) the floor is "
                 f"{fmt_ns(copy + own - call)}: {ours / (copy + own - call):.2f}×") if own else ""
        return Outcome(name, r <= 1.25, f"{fmt_ns(ours)} / ({fmt_ns(copy)} copy + {fmt_ns(crc)} "
                       f"{peer} − {fmt_ns(call)} call) = {r:.2f}×{extra}")
    return target


def _ctor_vs_refill(res: Results) -> Outcome:
    """The target is at numpy 2×128; capacity 50 (a smaller book, so the
    fixed cost of a call with keywords weighs more) is shown beside it."""
    name = "OrderBook(bids=nd, asks=nd, **header) within 1.3× of refilling a book (numpy 2×128)"
    parts, passed = [], None
    for capacity, depth in FULL_POINTS:
        new = res.get("construct.numpy", depth, "ours", capacity)
        reuse = res.get("construct.numpy_reuse", depth, "ours", capacity)
        if new is None or reuse is None:
            continue
        if capacity == 128:
            passed = new <= 1.3 * reuse
        parts.append(f"capacity {capacity}: new {fmt_ns(new)} / refill {fmt_ns(reuse)} = {new / reuse:.2f}×")
    return Outcome(name, passed, "; ".join(parts) or "not measured")


def gate_rows(res: Results) -> List[Tuple[str, int, int, float, float]]:
    """Every gated (op, capacity, depth) measured for both ours and the Vec
    baseline (reads of an already-parsed book are judged by their parse +
    read twin).  At capacity 50 the Vec baseline holds the same 50 levels."""
    rows = []
    for op in OPERATIONS:
        if not op.gated:
            continue
        for capacity, depth in res.points(op.id):
            ours, vec = res.get(op.id, depth, "ours", capacity), res.get(op.id, depth, "vec", capacity)
            if ours is not None and vec is not None:
                rows.append((op.title, capacity, depth, ours, vec))
    return rows


def _no_op_slower(res: Results) -> Outcome:
    rows = gate_rows(res)
    slower = [r for r in rows if r[3] > r[4]]
    detail = (f"{len(rows) - len(slower)} of {len(rows)} comparisons pass"
              + (": slower on " + ", ".join(f"{t} capacity {c} N={d} ({fmt_ratio(v / o)})"
                                            for t, c, d, o, v in slower)
                 if slower else ""))
    return Outcome("Vec baseline: no operation slower (every capacity and depth)", not slower, detail)


TARGETS: List[Callable[[Results], Outcome]] = [
    *_ratio("parse: from_bytes ≥ 3× faster than ctypes from_buffer_copy",
            "parse.from_bytes", "ctypes", 3),
    *_ratio("view() ≥ 3× faster than ctypes from_buffer", "parse.view", "ctypes", 3),
    _view_flat,
    *_ratio("construct from 2×{n} tuples ≥ 10× faster than ctypes field fill",
            "construct.tuples", "ctypes", 10),
    *_ratio("construct from 2×{n} tuples ≥ 3× faster than struct.pack",
            "construct.tuples", "struct", 3),
    *_per_capacity(_numpy_under_1us),
    *_per_capacity(_pack_into_vs_copy),
    *_ratio("Vec baseline, N={n}: build + serialize from tuples ≥ 3× faster",
            "serialize.build_bytes", "vec", 3),
    *_ratio("Vec baseline, N={n}: parse to a usable book ≥ 20× faster",
            "parse.from_bytes", "vec", 20),
    _no_op_slower,
    *_ratio("crc32 ≥ 4× faster than zlib.crc32 (one book's bytes)", "crc32", "ref", 4),
    _crc_peers,
    *[_codec_floor(op, what, c, d) for c, d in FULL_POINTS
      for op, what in (("message.encode_into", "encode_message_into"),
                       ("message.decode_into", "decode_message(into=)"))],
    _ctor_vs_refill,
]


def targets(res: Results) -> List[Outcome]:
    return [t(res) for t in TARGETS]


def copy_crc_lines(res: Results) -> List[str]:
    """encode_message_into against its floor, a plain copy plus a CRC-32 of
    the book, at each capacity."""
    out = []
    call = res.get("overhead.partial", 128, "ref") or 0.0
    for capacity, depth in FULL_POINTS:
        enc = res.get("message.encode_into", depth, "ours", capacity)
        copy = res.get("serialize.pack_into", depth, "ref", capacity)
        crc = res.get("crc32", depth, "ours", capacity)
        if enc is None or copy is None or crc is None:
            continue
        floor = copy + crc - call           # two measured calls, one call overhead
        out.append(f"capacity {capacity}: encode_message_into {fmt_ns(enc)} vs plain copy + "
                   f"orderbook.crc32 {fmt_ns(floor)} ({fmt_ns(copy)} + {fmt_ns(crc)} − one call "
                   f"overhead {fmt_ns(call)}): {enc / floor:.2f}× the floor")
    return out


def copy_crc_line(res: Results) -> str:
    """The lines of :func:`copy_crc_lines` joined (empty when not measured)."""
    return "; ".join(copy_crc_lines(res))


def outcome_lines(outcomes: List[Outcome]) -> List[str]:
    mark = {True: "PASS", False: "MISS", None: "n/a "}
    return [f"{mark[o.passed]}  {o.name}: {o.detail}" for o in outcomes]


def gate_report(res: Results) -> Tuple[bool, List[str]]:
    """(passed, printable lines) for the rule: no operation of ours slower
    than its Vec-baseline equivalent."""
    rows = gate_rows(res)
    lines = [f"{'operation':34} {'cap':>4} {'N':>4} {'ours':>10} {'Vec':>10} {'Vec/ours':>9}"]
    failed = False
    for title, capacity, depth, ours, vec in rows:
        bad = ours > vec
        failed |= bad
        lines.append(f"{title:34} {capacity:>4} {depth:>4} {fmt_ns(ours):>10} {fmt_ns(vec):>10} "
                     f"{fmt_ratio(vec / ours):>9}  {'SLOWER' if bad else 'ok'}")
    return (not failed and bool(rows)), lines


def op_title(op: str) -> str:
    return BY_ID[op].title if op in BY_ID else op
