"""How every benchmark is declared and measured.

A bench module registers, per operation, one *case factory* per
implementation with ``@case(op, impl)``.  A factory receives the workload of
one (capacity, depth) point and returns a zero-argument callable: the timed call, with its
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
from functools import partial
from typing import Any, Callable, Dict, Optional

from workloads import DEFAULT_CAPACITY, Workload, workload

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


def measure(benchmark: Any, op: str, impl: str, depth: int, check: Optional[Check] = None,
            capacity: int = DEFAULT_CAPACITY) -> None:
    """Build the timed call for (op, impl, capacity, depth), run it once and
    check its result (a wrong answer must never be timed), then benchmark it."""
    w = workload(depth, capacity)
    factory = REGISTRY[op][impl]
    made = factory(w)
    fn, out = made if isinstance(made, tuple) else (made, None)
    result = fn()
    if check is not None:
        check(w, impl, result if out is None else out)
    del result, out
    benchmark.group = f"{op} capacity={capacity} depth={depth}"
    benchmark.extra_info.update(op=op, impl=impl, capacity=capacity, depth=depth,
                                call=describe(factory))
    benchmark(fn)


def with_capacity(fn: Callable[..., Any], arg: Any, capacity: int) -> Callable[[], Any]:
    """The timed call ``fn(arg)`` at the default capacity (a partial), or
    ``fn(arg, capacity=capacity)`` otherwise: a small function passing the
    keyword the way a caller writes it (a partial holding keywords would
    copy its keyword dict on every call and time that instead)."""
    if capacity == DEFAULT_CAPACITY:
        return partial(fn, arg)

    def call() -> Any:
        return fn(arg, capacity=capacity)
    return call


# --- common checks ---------------------------------------------------------------

def same_book(w: Workload, impl: str, result: Any) -> None:
    """The result is this workload's full book, in ``impl``'s own form."""
    got = w.canonical(impl, result)
    assert got == w.expected(impl), f"{impl} built a different book"


def level_count(w: Workload, impl: str, result: Any) -> None:
    """The result visited (or holds) both sides' levels."""
    assert result == 2 * w.depth, f"{impl} visited {result} levels, expected {2 * w.depth}"
