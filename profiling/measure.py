"""The allocation-counting engine behind ``make memray`` and tests/test_allocations.py.

A workload's body (Python statements, see workloads.py) is compiled into a loop

    with tracker:
        for _ in iterator:          # itertools.repeat, made before tracking
            <body>                  # calls the C methods directly

so that nothing but the body runs per iteration.  The loop is warmed up first
(outside memray, under a no-op profile function so that CPython also builds the
code object's lazily created line table), then run under
``memray.Tracker(path, native_traces=True, trace_python_allocators=True)``.

Counting: every allocation event (all records except FREE, PYMALLOC_FREE and
MUNMAP, so realloc counts) whose Python stack passes through a line of the
loop body.  Nothing is subtracted from ``allocations``; those that only a
profile hook causes are also counted by kind (``artefacts``), and ``real``
leaves out the one kind a body cannot avoid (CPython 3.12+ makes an int for
the instruction offset of each event it reports to memray's hook, once a
long body's offsets pass 256).  What is *not* attributed to a body is the
tracker's own teardown (memray's ``Tracker.__exit__`` makes two 72-byte bound
methods when it takes its creation lock, in every capture); those events are
reported separately as ``outside`` so nothing is hidden.

Pitfalls this layout avoids (each measured, see profiling/report.md):
- a Python-level function called per iteration gets a frame *object* (144+
  bytes) from memray's profile hook, and an unbound C method (``book.clear()``)
  a bound method object, so bodies call C methods bound beforehand;
- ``range()`` allocates an int per step above 256: ``itertools.repeat`` does not;
- every argument (big ints, buffers, arrays) is created in the set-up.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import memray
from memray import AllocatorType

FREE_EVENTS = frozenset({AllocatorType.FREE, AllocatorType.PYMALLOC_FREE, AllocatorType.MUNMAP})


def profiler_artefact(native: Sequence[Tuple[str, str, int]]) -> Optional[str]:
    """The kind of an allocation that exists only because a profile hook
    (memray's) runs, or None for a real one:

    - ``frame``: CPython 3.11+ materialises a frame object for each
      Python-level call it reports to the hook;
    - ``bound method``: ``trace_call_function`` makes one for each unbound
      C-method call (only the method object: what the C function allocates is real);
    - ``event offset``: CPython 3.12+ reports events to a legacy profile hook
      through ``sys.monitoring``, which passes the instruction offset as an int
      (a new object above 256: the later calls of a long body)."""
    names = [f[0] for f in native[:8]]
    if "_PyFrame_MakeAndSetFrameObject" in names:
        return "frame"
    if any(a == "PyCMethod_New" and b == "trace_call_function" for a, b in zip(names, names[1:])):
        return "bound method"
    for k, name in enumerate(names):
        if not (name.startswith("PyLong_From") or name.startswith("_PyLong_")):
            if k and name == "call_instrumentation_vector":
                return "event offset"
            break
    return None


WARMUP = 200


@dataclass
class Site:
    """One distinct allocating stack inside a body."""

    count: int
    bytes: int
    allocator: str
    size: int
    stack: List[str]


@dataclass
class Count:
    """The allocation events of one body over one capture."""

    name: str
    iterations: int
    calls_per_iteration: int
    allocations: int = 0
    bytes: int = 0
    profiler_allocations: int = 0      # of `allocations`: made only because a profile hook runs
    artefacts: Dict[str, int] = field(default_factory=dict)   # those, by kind (profiler_artefact)
    outside: int = 0                   # events of the capture not in any body (tracker teardown)
    sites: List[Site] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.iterations * self.calls_per_iteration

    @property
    def per_call(self) -> float:
        return self.allocations / self.calls

    @property
    def real(self) -> int:
        """Allocations that happen without a profiler too: all but the event
        offsets of CPython 3.12+ (frames and bound methods stay counted: a
        body is written so that it makes none, see the module docstring)."""
        return self.allocations - self.artefacts.get("event offset", 0)

    @property
    def bytes_per_call(self) -> float:
        return self.bytes / self.calls


@dataclass
class _Loop:
    name: str
    body: str
    namespace: Dict[str, Any]
    iterations: int
    calls_per_iteration: int
    first: int = 0                     # line range of the body in the generated source
    last: int = 0


_SOURCE_NAME = "<orderbook memray workload>"
_counter = itertools.count()


def _compile(loops: Sequence[_Loop], source_path: Optional[str] = None) -> Tuple[Callable[..., None], str]:
    """One function running every loop in sequence inside one tracker.

    With ``source_path`` the generated source is also written there, so that
    memray's flame graph can show each line (tagged with its workload's name)."""
    filename = source_path or f"{_SOURCE_NAME[:-1]} #{next(_counter)}>"
    lines = ["# Generated by profiling/measure.py for one memray capture; not imported.",
             "def _run(_its, _tracker, _nss):", "    with _tracker:"]
    for k, loop in enumerate(loops):
        for name in loop.namespace:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"{loop.name}: bad namespace name {name!r}")
            # local variables: bound before the loop, looked up with LOAD_FAST
            lines.append(f"        {name} = _nss[{k}][{name!r}]")
        lines.append(f"        for _ in _its[{k}]:")
        body = textwrap.dedent(loop.body).strip("\n").splitlines()
        loop.first = len(lines) + 1
        tag = loop.name.replace("\n", " ")
        lines.extend(f"            {b}  # {tag}" for b in body)
        loop.last = len(lines)
    # a statement after the loops: CPython 3.9 gives the tracker's __exit__ call
    # the line of the last statement in the block, which must not be a body's
    lines.append("        _done = True")
    source = "\n".join(lines) + "\n"
    if source_path:
        with open(source_path, "w") as f:
            f.write(source)
    scope: Dict[str, Any] = {"__builtins__": __builtins__}
    exec(compile(source, filename, "exec"), scope)
    return scope["_run"], filename


def _noop_profile(frame: Any, event: str, arg: Any) -> None:
    return None


def run_capture(loops: Sequence[_Loop], path: str) -> Tuple[str, Sequence[_Loop]]:
    """Warm up, then run every loop once under a memray tracker writing ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fn, filename = _compile(loops, os.path.abspath(os.path.splitext(path)[0] + "_workload.py"))
    nss = tuple(loop.namespace for loop in loops)
    # warm-up outside the tracker: first calls, lazy caches, and (under a profile
    # hook, as memray will install one) the code object's line table
    previous_profile = sys.getprofile()
    previous_trace = sys.gettrace()      # a line tracer (coverage, a debugger) would allocate per line
    sys.settrace(None)
    try:
        sys.setprofile(_noop_profile)
        try:
            fn(tuple(itertools.repeat(None, WARMUP) for _ in loops), contextlib.nullcontext(), nss)
        finally:
            sys.setprofile(previous_profile)
        its = tuple(itertools.repeat(None, loop.iterations) for loop in loops)
        if os.path.exists(path):
            os.remove(path)
        tracker = memray.Tracker(path, native_traces=True, trace_python_allocators=True)
        fn(its, tracker, nss)
    finally:
        sys.settrace(previous_trace)
    return filename, loops


def _format_frame(frame: Tuple[str, str, int]) -> str:
    function, filename, line = frame
    return f"{function} {filename}:{line}"


def count_capture(path: str, filename: str, loops: Sequence[_Loop],
                  max_sites: int = 5, site_depth: int = 14) -> List[Count]:
    """Allocation events per loop body, read back from the capture file."""
    counts = [Count(loop.name, loop.iterations, loop.calls_per_iteration) for loop in loops]
    owner_of_stack: Dict[int, Optional[int]] = {}
    profiler_of_native: Dict[Tuple[int, int], Optional[str]] = {}
    site_of: Dict[Tuple[int, int, int, int, int], List[Any]] = {}
    outside = 0
    reader = memray.FileReader(path)
    for record in reader.get_allocation_records():
        kind = AllocatorType(record.allocator)
        if kind in FREE_EVENTS:
            continue
        sid = record.stack_id
        if sid not in owner_of_stack:
            owner = None
            for _function, fname, line in record.stack_trace():
                if fname == filename:
                    for k, loop in enumerate(loops):
                        if loop.first <= line <= loop.last:
                            owner = k
                    break          # the innermost frame of the generated code decides
            owner_of_stack[sid] = owner
        owner = owner_of_stack[sid]
        if owner is None:
            outside += 1
            continue
        c = counts[owner]
        c.allocations += 1
        c.bytes += record.size
        nkey = (record.native_stack_id, record.native_segment_generation)
        if nkey not in profiler_of_native:
            profiler_of_native[nkey] = profiler_artefact(record.native_stack_trace(max_stacks=8))
        kind_of = profiler_of_native[nkey]
        if kind_of is not None:
            c.profiler_allocations += 1
            c.artefacts[kind_of] = c.artefacts.get(kind_of, 0) + 1
        skey = (owner, int(kind), record.size, record.native_stack_id, record.native_segment_generation)
        entry = site_of.get(skey)
        if entry is None:
            if len(site_of) < 10_000:
                site_of[skey] = [1, record.size, record]
        else:
            entry[0] += 1
            entry[1] += record.size
    for c in counts:
        c.outside = outside
    for (owner, kind_id, size, _nid, _gen), (n, nbytes, first) in site_of.items():
        try:
            frames = first.hybrid_stack_trace(max_stacks=site_depth)
        except Exception:  # pragma: no cover - a native stack that cannot be resolved
            frames = first.stack_trace(max_stacks=site_depth)
        counts[owner].sites.append(Site(n, nbytes, AllocatorType(kind_id).name, size,
                                        [_format_frame(f) for f in frames]))
    for c in counts:
        c.sites.sort(key=lambda s: -s.count)
        del c.sites[max_sites:]
    return counts


def measure(name: str, body: str, namespace: Dict[str, Any], iterations: int, path: str,
            calls_per_iteration: int = 1, **kw: Any) -> Count:
    """Count the allocations of ``iterations`` runs of one body."""
    loop = _Loop(name, body, namespace, iterations, calls_per_iteration)
    filename, loops = run_capture([loop], path)
    return count_capture(path, filename, loops, **kw)[0]


def measure_many(items: Sequence[Tuple[str, str, Dict[str, Any], int, int]], path: str,
                 **kw: Any) -> List[Count]:
    """Several bodies, one after another, in a single capture (for flame graphs)."""
    loops = [_Loop(n, b, ns, it, calls) for n, b, ns, it, calls in items]
    filename, _ = run_capture(loops, path)
    return count_capture(path, filename, loops, **kw)
