"""The results as a bar chart PNG: one panel per category, one bar group per
operation and capacity with its book full (capacity 128 at N = 128 levels per
side, or the row's only depth; capacity 50 at N = 50), one bar per
implementation, ns per call on one shared log scale."""

from __future__ import annotations

from typing import List, Tuple

import matplotlib

matplotlib.use("Agg")                       # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402

from catalogue import CATEGORIES, IMPLS, OPERATIONS, Operation  # noqa: E402
from report import DEFAULT_CAPACITY, Results  # noqa: E402

COLOURS = {
    "ours": "#d62728", "vec": "#7f7f7f", "ctypes": "#1f77b4", "struct": "#9467bd",
    "numpy": "#2ca02c", "msgspec": "#ff7f0e", "isal": "#8c564b", "zlib-ng": "#e377c2",
    "ref": "#17becf",
}
DEPTH = 128


def _points(res: Results, op: str) -> List[Tuple[int, int]]:
    """The bar groups of ``op``: its fullest row at each capacity measured."""
    out = []
    for capacity in dict.fromkeys(c for c, _ in res.points(op)):
        depths = res.depths(op, capacity)
        full = DEPTH if capacity == DEFAULT_CAPACITY else capacity
        out.append((capacity, full if full in depths else depths[-1]))
    return out


def render(res: Results, path: str, title: str = "") -> None:
    panels: List[Tuple[str, List[Tuple[Operation, int, int]]]] = []
    for cat in CATEGORIES:
        ops = []
        for op in OPERATIONS:
            if op.category == cat:
                ops += [(op, c, d) for c, d in _points(res, op.id)]
        if ops:
            panels.append((cat, ops))
    heights = [sum(len(res.ns[(op.id, c, d)]) for op, c, d in ops) + len(ops) for _, ops in panels]
    # one shared log axis, so that bars compare across panels too
    values = [t for _, ops in panels for op, c, d in ops for t in res.ns[(op.id, c, d)].values()]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 0.12 * sum(heights) + 0.45 * len(panels) + 1.3),
                             gridspec_kw={"height_ratios": heights}, squeeze=False, sharex=True)
    names = dict(IMPLS)
    seen = set()
    for ax, (cat, ops) in zip(axes[:, 0], panels):
        y, ticks, labels = 0.0, [], []
        for op, capacity, depth in reversed(ops):
            cells = res.ns[(op.id, capacity, depth)]
            present = [impl for impl, _ in IMPLS if impl in cells]
            start = y
            for impl in reversed(present):
                label = names[impl] if impl not in seen else None
                seen.add(impl)
                ax.barh(y, cells[impl], height=0.85, color=COLOURS[impl], label=label)
                ax.text(cells[impl] * 1.06, y, f"{cells[impl]:,.0f}", va="center", fontsize=5.5)
                y += 1
            ticks.append((start + y - 1) / 2)
            if capacity != DEFAULT_CAPACITY:
                labels.append(f"{op.title} (capacity {capacity}, N={depth})")
            else:
                labels.append(op.title if depth == DEPTH else f"{op.title} (N={depth})")
            y += 1
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=7.5)
        ax.set_ylim(-1, y - 1)
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 1.5, max(values) * 2.5)
        ax.set_title(cat, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7, labelbottom=True)
        ax.grid(axis="x", which="major", alpha=0.3)
    axes[-1, 0].set_xlabel(f"ns per call ({res.stat} round, log scale); capacity 128 at N = {DEPTH}, "
                           "capacity 50 at N = 50 — shorter is faster", fontsize=8)
    handles, labels = [], []
    for ax in axes[:, 0]:
        h, l = ax.get_legend_handles_labels()
        handles += h
        labels += l
    order = [names[i] for i, _ in IMPLS]
    pairs = sorted(zip(labels, handles), key=lambda p: order.index(p[0]))
    top = 1 - 0.55 / fig.get_figheight()          # room for the title and the legend
    fig.legend([h for _, h in pairs], [l for l, _ in pairs], loc="upper center",
               bbox_to_anchor=(0.5, top + 0.2 / fig.get_figheight()), ncol=len(pairs),
               fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.08 / fig.get_figheight())
    fig.tight_layout(rect=(0, 0, 1, top - 0.1 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
