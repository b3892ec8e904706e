"""The hot path (filling, inserting, clearing, packing, loading, re-pointing,
encoding into a buffer, decoding into an object, small header reads)
allocates nothing, checked with memray.

Reuses the workloads and the counting engine of ``make memray``
(profiling/workloads.py, profiling/measure.py) with fewer iterations, and
proves the measurement can fail: the negative controls must allocate.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip(
    "memray", reason="memray is not installed (pip install 'orderbook[profile]'; Linux and macOS only)")

PROFILING = Path(__file__).resolve().parent.parent / "profiling"
ITERATIONS = 2_000


def _load(name: str) -> ModuleType:
    # by path, under private names: `measure` and `workloads` are common module names
    full = f"_orderbook_profiling_{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(full, PROFILING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[full] = mod
    spec.loader.exec_module(mod)
    return mod


measure = _load("measure")
W = _load("workloads")

HOT = [w for w in W.OURS if w.kind in ("hot", "control")]


def _run(w: Any, tmp_path: Path, iterations: int = ITERATIONS) -> Any:
    missing = w.missing()
    if missing:
        pytest.skip(f"{w.name} needs {missing}, which is not installed")
    return measure.measure(w.name, w.body, w.setup(), iterations, str(tmp_path / "capture.bin"),
                           w.calls)


def _explain(c: Any) -> str:
    lines = [f"{c.name}: {c.allocations} allocations ({c.bytes} bytes) in {c.calls} calls "
             f"= {c.per_call:.3f} per call; made only by the profile hook: {c.artefacts}"]
    for s in c.sites[:3]:
        lines.append(f"  {s.count} x {s.allocator} of {s.size} bytes at:")
        lines += [f"      {f}" for f in s.stack[:10]]
    return "\n".join(lines)


@pytest.mark.parametrize("w", HOT, ids=[w.name for w in HOT])
def test_hot_path_allocates_nothing(w: Any, tmp_path: Path) -> None:
    c = _run(w, tmp_path)
    assert c.calls == ITERATIONS * w.calls
    assert c.real == 0, _explain(c)
    if sys.version_info < (3, 12):
        assert c.allocations == 0 and c.bytes == 0, _explain(c)


@pytest.mark.parametrize("w", W.CONTROLS, ids=[w.name for w in W.CONTROLS])
def test_harness_sees_allocations(w: Any, tmp_path: Path) -> None:
    """A harness that cannot see allocations would pass everything: it must see
    a 6,233-byte bytes (malloc) and a one-item list (pymalloc) per call."""
    c = _run(w, tmp_path)
    assert c.per_call >= 1, _explain(c)


def test_harness_sees_bytes_book_exactly(tmp_path: Path) -> None:
    c = _run(W.by_name("control: bytes(book)"), tmp_path, 500)
    # the bytes object itself on every call (plus CPython's bound __bytes__ method)
    big = [s for s in c.sites if s.size >= 6_200]
    assert big and sum(s.count for s in big) == 500, _explain(c)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="before CPython 3.11 every frame is an "
                    "object that the code object recycles: a Python-level call allocates nothing to see")
def test_python_level_call_is_visible(tmp_path: Path) -> None:
    """Why bodies call C methods directly: a Python-level function gets a frame
    object per call from memray's profile hook, so the harness must see it."""
    ns = {"f": lambda: None}
    c = measure.measure("python call", "f()", ns, 500, str(tmp_path / "capture.bin"))
    assert c.per_call >= 1 and c.artefacts.get("frame") == c.allocations == c.real, _explain(c)


def test_event_offsets_are_the_only_excused_allocations(tmp_path: Path) -> None:
    """The one allocation ``real`` leaves out: an int for an instruction offset
    above 256, made per reported call by CPython's monitoring shim for memray's
    hook.  A long body of C calls makes them; a real allocation beside them stays counted."""
    ns = {"f": len, "b": b"x", "mk": bytes, "n": 3}
    body = "\n".join(["f(b)"] * 60 + ["mk(n)"])
    c = measure.measure("long body", body, ns, 200, str(tmp_path / "capture.bin"), 61)
    if sys.version_info >= (3, 12):
        assert c.artefacts.get("event offset", 0) > 0, _explain(c)
    else:                                   # older ones pass the hook a frame, not an offset
        assert "event offset" not in c.artefacts, _explain(c)
    assert c.real == 200, _explain(c)       # the bytes(3) of each iteration
