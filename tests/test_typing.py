"""The public surface as users meet it.

Typed: py.typed and the stubs ship, tests/typing_api.py runs, ``mypy --strict``
is clean on it and on examples/*.py, and the stubs match the compiled modules
(mypy's stubtest).  Documented: docs/ names every public name, its examples
run, its layout tables are the structs' and its Cython examples are the ones
tests/downstream compiles."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import orderbook

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(orderbook.__file__).resolve().parent
API = ROOT / "tests" / "typing_api.py"
DOCS = ROOT / "docs"
DOWNSTREAM = ROOT / "tests" / "downstream" / "ob_downstream.pyx"

# What stubtest may report about the stubs on purpose (regexes, one a line).
STUBTEST_ALLOWLIST = r"""
# __buffer__ exists at run time from Python 3.12 on; the stubs declare it on
# every version so that memoryview(book) and Buffer parameters type-check.
orderbook\._book\.OrderBook\.__(release_)?buffer__
orderbook\._levels\.Levels\.__(release_)?buffer__
# Levels() raises TypeError: sides come from OrderBook.bids / .asks only.
orderbook\._levels\.Levels\.__init__
# Cython's __init__ of an extension type is a slot wrapper taking *args, **kwargs
orderbook\._stream\.MessageReader\.__init__
# Cython's own module attributes.
orderbook\._\w+\.__(pyx_capi|test)__
"""


def _need_mypy() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it comes with the test extra: pip install -e '.[test]')")


# an installed wheel (make matrix) rather than a checkout: mypy finds it through
# py.typed on sys.path, and must not run from (or be pointed at) site-packages
INSTALLED = "site-packages" in PACKAGE.parts


def _env(import_path: bool) -> Dict[str, str]:
    env = dict(os.environ)
    root = str(PACKAGE.parent)
    if import_path and not INSTALLED:
        # stubtest imports the very package this test imports
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["MYPYPATH"] = root
    return env


def _run(args: List[str], cwd: Path, import_path: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=_env(import_path),
                          capture_output=True, text=True, timeout=300, check=False)


def test_typed_files_ship_with_the_package() -> None:
    for name in ("py.typed", "_book.pyi", "_message.pyi", "__init__.pxd", "structs.pxd", "_book.pxd",
                 "_message.pxd", "capi.pxd"):
        assert (PACKAGE / name).is_file(), f"orderbook/{name} is missing"


def test_typing_api_uses_every_public_name() -> None:
    text = API.read_text()
    missing = [n for n in orderbook.__all__ if not re.search(rf"\b{n}\b", text)]
    assert not missing, f"tests/typing_api.py does not use {missing}"


def test_typing_api_runs_as_a_script() -> None:
    # Every call mypy checks below also has to work as typed.
    runpy.run_path(str(API), run_name="__main__")


def test_mypy_strict_on_api_file_and_examples(tmp_path: Path) -> None:
    _need_mypy()
    # As `make typecheck`: from the project root, where mypy reads the package's
    # own sources (its .py modules are checked too) and stubs.  (On sys.path
    # instead, mypy would take it for an installed package and hide its errors.)
    targets = [str(API)] + sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
    proc = _run(["mypy", "--strict", "--no-color-output", "--cache-dir", str(tmp_path / "cache"),
                 *targets], tmp_path if INSTALLED else PACKAGE.parent)
    assert proc.returncode == 0, f"mypy --strict {' '.join(targets)}\n{proc.stdout}{proc.stderr}"


def test_stubs_match_the_compiled_modules(tmp_path: Path) -> None:
    _need_mypy()
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    modules = sorted(f"orderbook.{stub.stem}" for stub in PACKAGE.glob("_*.pyi")
                     if any(p.name.endswith(suffixes) for p in PACKAGE.glob(f"{stub.stem}.*")))
    assert "orderbook._book" in modules and "orderbook._message" in modules
    allow = tmp_path / "allowlist.txt"
    allow.write_text(STUBTEST_ALLOWLIST)
    args = ["mypy.stubtest", *modules, "--concise", "--ignore-unused-allowlist", "--allowlist", str(allow)]
    if "--ignore-disjoint-bases" in _run(["mypy.stubtest", "--help"], tmp_path).stdout:
        # Cython extension types are PEP 800 disjoint bases; not marked in the
        # stubs, as mypy versions before 1.18 do not know @disjoint_base.
        args.append("--ignore-disjoint-bases")
    # run from elsewhere: the stubs are found through MYPYPATH only, not twice
    proc = _run(args, tmp_path, import_path=True)
    assert proc.returncode == 0, f"stubtest {' '.join(modules)}:\n{proc.stdout}{proc.stderr}"


# --- docs/ ------------------------------------------------------------------------------

def _blocks(page: str, lang: str) -> List[str]:
    path = ROOT / page if page == "README.md" else DOCS / page
    return re.findall(rf"^```{lang}\n(.*?)^```", path.read_text(), re.M | re.S)


@pytest.mark.parametrize("page", ["api.md", "layout.md"])
def test_docs_examples_run(page: str) -> None:
    if page == "api.md":
        pytest.importorskip("numpy", reason="docs/api.md shows the numpy views")
    blocks = _blocks(page, "python")
    assert blocks
    namespace: Dict[str, object] = {"__name__": f"docs.{page}"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOCS / page} (python block {i + 1})", "exec"), namespace)


def test_api_reference_names_every_public_name() -> None:
    text = (DOCS / "api.md").read_text()
    missing = [n for n in orderbook.__all__ if f"`{n}" not in text]
    for cls in (orderbook.OrderBook, orderbook.Levels, orderbook.Message, orderbook.MessageHeader,
                orderbook.OrderLevel):
        missing += [f"{cls.__name__}.{n}" for n in dir(cls)
                    if not n.startswith("_") and n not in ("count", "index") and n not in text]
    assert not missing, f"docs/api.md does not mention {missing}"


# docs/layout.md section heading -> key of orderbook.layout(capacity)
LAYOUT_SECTIONS = {"OrderLevel": "OrderLevel", "Levels": "FixedVec", "OrderBookTLV": "OrderBookTLV",
                   "MessageHeader": "MessageHeader"}
# the capacities each heading has a table for: "## Levels at capacity 50 ..." is
# checked against orderbook.layout(50); a heading without "at capacity N", against
# orderbook.layout() (128)
LAYOUT_CAPACITIES = {"OrderLevel": (128,), "Levels": (128, 50), "OrderBookTLV": (128, 50),
                     "MessageHeader": (128,)}


def test_layout_tables_are_the_structs() -> None:
    sections = re.split(r"^## ", (DOCS / "layout.md").read_text(), flags=re.M)
    seen = set()
    for section in sections:
        title = section.split(None, 1)[0] if section.strip() else ""
        if title not in LAYOUT_SECTIONS:
            continue
        at = re.search(r"\bat capacity (\d+)\b", section.split("\n", 1)[0])
        capacity = int(at.group(1)) if at else orderbook.MAX_ORDER_LEVELS
        layout = orderbook.layout(capacity)
        key = LAYOUT_SECTIONS[title]
        rows = re.findall(r"^\| ([\d,]+) \| ([\d,]+) \| (\w+) \|", section, re.M)
        end = 0
        for offset, size, field in rows:
            off = int(offset.replace(",", ""))
            assert off == end, f"{title}@{capacity}.{field}: offset {off}, previous field ends at {end}"
            end = off + int(size.replace(",", ""))
            name = "size_field" if (key, field) == ("OrderLevel", "size") else field
            if not field.startswith("_") or name in layout[key]:
                assert layout[key][name] == off, f"{title}@{capacity}.{field}"
        assert end == layout[key]["size"], f"{title}@{capacity}"
        assert (title, capacity) not in seen, f"two tables for {title} at capacity {capacity}"
        seen.add((title, capacity))
    assert seen == {(t, c) for t, caps in LAYOUT_CAPACITIES.items() for c in caps}


def test_cython_docs_examples_are_the_compiled_ones() -> None:
    compiled = DOWNSTREAM.read_text()
    blocks = _blocks("cython.md", "cython")
    assert blocks
    if (ROOT / "README.md").is_file():
        blocks += _blocks("README.md", "cython")
    for block in blocks:
        body = block[block.index("\ndef ") + 1:]
        assert body in compiled, f"this Cython example of the docs is not in {DOWNSTREAM.name}:\n{body}"


def test_cython_docs_name_every_capi_helper() -> None:
    text = (DOCS / "cython.md").read_text()
    capi = (PACKAGE / "capi.pxd").read_text()
    names = re.findall(r"^cdef inline [^(]*?\b(ob_\w+)\(", capi, re.M)
    names += re.findall(r"^    (OB_\w+) = ", capi, re.M)
    assert len(names) > 20
    missing = [n for n in names if n not in text]
    assert not missing, f"docs/cython.md does not mention {missing}"
