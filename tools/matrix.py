"""``make matrix``: build the wheel and run the test suite on every CPython.

    python tools/matrix.py                      # 3.9 to 3.13 from ~/.pyenv/versions
    python tools/matrix.py --pythons 3.12 3.13  # some of them
    python tools/matrix.py -- -k golden         # extra pytest arguments after --

The sdist is built once (``python -m build --sdist``); then, for each Python,
in a fresh venv under build/matrix/<version>/:

  1. ``pip wheel`` builds the wheel from the sdist (an isolated build: the
     build requirements of pyproject.toml are all it gets);
  2. the wheel is installed with the ``test`` and ``fuzz`` extras (optional
     dependencies come only where their markers allow);
  3. pytest runs the tests against the installed wheel: from the unpacked
     sdist (build/matrix/<version>/src, which holds the tests and everything
     they read) with its orderbook/ sources removed, so that no import can
     find anything but the wheel (profiling/workloads.py puts the project
     root first on sys.path); ../shared is linked beside it for the golden
     bytes.

Prints a table (python, wheel built, tests passed / failed / errors /
skipped, time) and writes it to build/matrix/summary.md; every step's output
is in build/matrix/<version>/*.log, the pytest results in junit.xml there.
Exits 1 when a wheel did not build or a test failed.  Standard library only.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "matrix"
DEFAULT = ["3.9", "3.10", "3.11", "3.12", "3.13"]
OPTIONAL = ["numpy", "hypothesis", "memray", "atheris", "mypy", "Cython"]


def find_python(version: str, root: Path) -> Optional[Path]:
    """The newest pyenv interpreter whose version starts with ``version``."""
    def key(p: str):
        return [int(x) if x.isdigit() else 0 for x in re.split(r"[.]", os.path.basename(p))]
    found = [p for p in glob.glob(str(root / f"{version}.*")) + glob.glob(str(root / version))
             if re.fullmatch(r"\d+\.\d+\.\d+", os.path.basename(p)) and (Path(p) / "bin" / "python").exists()]
    return Path(sorted(found, key=key)[-1]) / "bin" / "python" if found else None


def run(cmd: List[str], log: Path, cwd: Path = ROOT, timeout: float = 1800) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            return subprocess.call(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            f.write(f"\ntimed out after {timeout:.0f} s\n")
            return 124


def junit_counts(path: Path) -> Dict[str, object]:
    """passed / failed / errors / skipped, the failing ids and the skip reasons."""
    tree = ET.parse(path)
    cases = tree.getroot().iter("testcase")
    counts: Counter = Counter()
    failing: List[str] = []
    skips: Counter = Counter()
    for c in cases:
        name = f"{c.get('classname')}::{c.get('name')}"
        kinds = {child.tag for child in c}
        if "failure" in kinds:
            counts["failed"] += 1
            failing.append(name)
        elif "error" in kinds:
            counts["errors"] += 1
            failing.append(name + " (error)")
        elif "skipped" in kinds:
            counts["skipped"] += 1
            msg = next(ch.get("message", "") for ch in c if ch.tag == "skipped")
            skips[msg[:160]] += 1
        else:
            counts["passed"] += 1
    return {"counts": counts, "failing": failing, "skips": skips}


def unpack_tests(sdist: Path, venv: Path) -> Path:
    """The sdist unpacked as venv/src without its orderbook/ package, and
    venv/shared linked to the checkout's ../shared (tests read
    tests/../../shared/golden)."""
    tmp = venv / "unpack"
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp)
    (top,) = list(tmp.iterdir())
    src = venv / "src"
    top.rename(src)
    tmp.rmdir()
    shutil.rmtree(src / "orderbook")
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (venv / "shared").symlink_to(shared)
    return src


def one_python(version: str, python: Path, sdist: Path, pytest_args: List[str]) -> Dict[str, object]:
    full = python.parent.parent.name
    venv = OUT / full
    shutil.rmtree(venv, ignore_errors=True)
    venv.mkdir(parents=True)
    vpy = venv / "bin" / "python"
    row: Dict[str, object] = {"python": full, "wheel": "no", "passed": "-", "failed": "-",
                              "errors": "-", "skipped": "-", "missing": "", "note": ""}
    t0 = time.monotonic()
    print(f"== {full}: venv, wheel from the sdist, install, tests (logs in {venv.relative_to(ROOT)}/)", flush=True)
    log = venv / "setup.log"
    if run([str(python), "-m", "venv", str(venv)], log) or \
            run([str(vpy), "-m", "pip", "install", "-q", "pip>=23"], log):
        row["note"] = "venv failed"
        row["time"] = time.monotonic() - t0
        return row
    tw = time.monotonic()
    rc = run([str(vpy), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(venv / "dist"), str(sdist)],
             venv / "wheel.log", timeout=1800)
    wheels = sorted((venv / "dist").glob("*.whl"))
    row["wheel_seconds"] = time.monotonic() - tw
    if rc or not wheels:
        row["note"] = f"wheel build failed ({rc})"
        row["time"] = time.monotonic() - t0
        return row
    parts = wheels[0].name.split("-")
    row["wheel"] = f"yes ({parts[2]})" if len(parts) > 2 else "yes"
    if run([str(vpy), "-m", "pip", "install", "-q", f"{wheels[0]}[test,fuzz]"], venv / "install.log"):
        row["note"] = "install failed"
        row["time"] = time.monotonic() - t0
        return row
    probe = subprocess.run(
        [str(vpy), "-c", "import importlib.util as u, sys; print(' '.join(m for m in sys.argv[1:] "
         "if u.find_spec(m) is None))", *OPTIONAL], capture_output=True, text=True, cwd=venv)
    row["missing"] = probe.stdout.strip() or "none"
    where = subprocess.run([str(vpy), "-c", "import orderbook; print(orderbook.__file__)"],
                           capture_output=True, text=True, cwd=venv)
    if str(venv) not in where.stdout:
        row["note"] = f"imported orderbook from {where.stdout.strip() or where.stderr.strip()[-200:]}"
    src = unpack_tests(sdist, venv)
    xml = venv / "junit.xml"
    tt = time.monotonic()
    rc = run([str(vpy), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(src),
              "-c", str(src / "pyproject.toml"), f"--junitxml={xml}", str(src / "tests"), *pytest_args],
             venv / "pytest.log", cwd=src, timeout=3600)
    row["test_seconds"] = time.monotonic() - tt
    if xml.exists():
        res = junit_counts(xml)
        for k in ("passed", "failed", "errors", "skipped"):
            row[k] = res["counts"].get(k, 0)  # type: ignore[union-attr]
        row["failing"] = res["failing"]
        row["skips"] = res["skips"]
    else:
        row["note"] = (str(row["note"]) + f" pytest exited {rc} without results").strip()
    row["time"] = time.monotonic() - t0
    return row


def table(rows: List[Dict[str, object]]) -> str:
    head = ["python", "wheel built", "passed", "failed", "errors", "skipped", "optional deps absent",
            "time (wheel / tests / total)", "note"]
    body = []
    for r in rows:
        def s(key: str) -> str:
            v = r.get(key)
            return f"{v:.0f} s" if isinstance(v, float) else "-"
        body.append([str(r["python"]), str(r["wheel"]), str(r["passed"]), str(r["failed"]),
                     str(r["errors"]), str(r["skipped"]), str(r["missing"] or "-"),
                     f"{s('wheel_seconds')} / {s('test_seconds')} / {s('time')}", str(r["note"])])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(b) + " |" for b in body]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pythons", nargs="+", default=DEFAULT, metavar="X.Y")
    ap.add_argument("--pyenv", type=Path,
                    default=Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "versions")
    ap.add_argument("--builder", default=sys.executable,
                    help="the Python that builds the sdist (needs `build`; default: this one)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    sdist_dir = OUT / "sdist"
    shutil.rmtree(sdist_dir, ignore_errors=True)
    print("== the sdist (python -m build --sdist)", flush=True)
    rc = run([args.builder, "-m", "build", "--sdist", "-o", str(sdist_dir), str(ROOT)], OUT / "sdist.log")
    sdists = sorted(sdist_dir.glob("*.tar.gz"))
    if rc or not sdists:
        print(f"the sdist did not build: see {OUT / 'sdist.log'}", file=sys.stderr)
        return 1

    rows = []
    for v in args.pythons:
        python = find_python(v, args.pyenv)
        if python is None:
            rows.append({"python": v, "wheel": "-", "passed": "-", "failed": "-", "errors": "-",
                         "skipped": "-", "missing": "", "note": f"not found under {args.pyenv}"})
            continue
        row = one_python(v, python, sdists[0], args.pytest_args)
        rows.append(row)
        print(f"   {row['python']}: wheel {row['wheel']}, {row['passed']} passed, {row['failed']} failed, "
              f"{row['errors']} errors, {row['skipped']} skipped, {row.get('time', 0):.0f} s "
              f"{row['note']}", flush=True)

    md = [f"sdist: {sdists[0].name}; total {time.monotonic() - started:.0f} s", "", table(rows), ""]
    for r in rows:
        failing = r.get("failing") or []
        skips: Counter = r.get("skips") or Counter()  # type: ignore[assignment]
        if failing:
            by_module = Counter(f.split("::")[0] for f in failing)  # type: ignore[union-attr]
            md.append(f"**{r['python']}: failing** ({len(failing)}): " +
                      ", ".join(f"{m} x{n}" for m, n in by_module.most_common()))
        if skips:
            md.append(f"**{r['python']}: skip reasons**: " +
                      "; ".join(f"{n} x {msg}" for msg, n in skips.most_common()))
    text = "\n".join(md) + "\n"
    (OUT / "summary.md").write_text(text)
    print()
    print(text)
    print(f"written to {(OUT / 'summary.md').relative_to(ROOT)}")
    bad = any(r["wheel"] in ("no", "-") or r.get("failed") not in (0, "-") or r.get("errors") not in (0, "-")
              for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
