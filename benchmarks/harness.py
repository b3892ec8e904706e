"""How every benchmark is declared and measured.

A bench module registers, per operation, one *case factory* per
implementation with ``@case(op, impl)``.  A factory receives the workload of
one depth and returns a zero-argument callable: the timed call, with its
inputs already built.  Calls that write into a caller's buffer return
``(callable, buffer)`` instead, so that the check reads the buffer.  Its docstring is the line the report prints for that
cell, so the code and its description stay side by side.

Timed callables are ``functools.partial`` objects when the operation is one
call (no Python frame added), and small functions when it takes several
statements; the two overheads are measured too (``bench_reference.py``) and
printed with the results.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Optional

from workloads import Workload, workload

Factory = Callable[[Workload], Callable[[], Any]]
Check = Callable[[Workload, str, Any], None]

#: op id -> impl -> factory, in registration order
REGISTRY: Dict[str, Dict[str, Factory]] = {}


def case(op: str, impl: str) -> Callable[[Factory], Factory]:
    """Register ``impl``'s way of doing ``op`` (decorator)."""
    def register(factory: Factory) -> Factory:
        impls = REGISTRY.setdefault(op, {})
        if impl in impls:
            raise ValueError(f"{op}: {impl} registered twice")
        impls[impl] = factory
        return factory
    return register


def impls(op: str) -> list:
    """The implementations registered for ``op`` (pytest parameters)."""
    return list(REGISTRY[op])


def describe(factory: Factory) -> str:
    doc = inspect.getdoc(factory) or ""
    return " ".join(doc.split())


def measure(benchmark: Any, op: str, impl: str, depth: int, check: Optional[Check] = None) -> None:
    """Build the timed call for (op, impl, depth), run it once and check its
    result (a wrong answer must never be timed), then benchmark it."""
    w = workload(depth)
    factory = REGISTRY[op][impl]
    made = factory(w)
    fn, out = made if isinstance(made, tuple) else (made, None)
    result = fn()
    if check is not None:
        check(w, impl, result if out is None else out)
    del result, out
    benchmark.group = f"{op} depth={depth}"
    benchmark.extra_info.update(op=op, impl=impl, depth=depth, call=describe(factory))
    benchmark(fn)


# --- common checks ---------------------------------------------------------------

def same_book(w: Workload, impl: str, result: Any) -> None:
    """The result is this workload's full book, in ``impl``'s own form."""
    got = w.canonical(impl, result)
    assert got == w.expected(impl), f"{impl} built a different book"


def level_count(w: Workload, impl: str, result: Any) -> None:
    """The result visited (or holds) both sides' levels."""
    assert result == 2 * w.depth, f"{impl} visited {result} levels, expected {2 * w.depth}"
