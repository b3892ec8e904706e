#!/usr/bin/env python3
"""Coverage-guided fuzzing of orderbook's public parsers with atheris (libFuzzer).

Targets (fuzz/obfuzz/targets.py): ``decode_message``, ``iter_messages``,
``from_bytes`` and ``view`` (both at offsets picked by the input).  Each holds
the library to a pure-Python reference of the format (fuzz/obfuzz/reference.py):
an exception outside ``orderbook.OrderBookError``, a result that differs from
the reference, a crash, or an input running longer than ``--timeout`` seconds
fails the run.  ``reentrancy`` (fuzz/obfuzz/reentrancy.py) reads its input as a
script of API calls on one shared view whose arguments (``__index__``,
``__iter__``) and a garbage-collector callback release, re-point, write and
free the view under the calls; it fails on torn or stale reads, leaked exports
or pins, and errors outside the hierarchy.

Coverage feedback.  libFuzzer is driven by
  * atheris' Python coverage of the reference, the targets and orderbook's
    Python modules (``atheris.instrument_imports``): the reference walks the
    same header / record / book structure as the C parser, so an input that
    reaches a new branch of the format reaches new code in the library too;
  * structure-aware mutation (fuzz/obfuzz/mutators.py): header fields set to
    boundary values, TLV records inserted / retyped / resized, side counts
    around 128, dirty padding, splices and cuts, and the CRC fixed up most of
    the time so mutations get past the checksum;
  * under ``tools/sanitize.sh`` only: the comparisons inside the compiled C
    code.  There the extension is built with gcc's
    ``-fsanitize-coverage=trace-cmp`` and a preloaded shim
    (fuzz/cov/ob_cov_shim.c) forwards those callbacks, which libasan would
    otherwise swallow, to atheris' libFuzzer, run with ``-use_value_profile=1``
    (``OB_FUZZ_VALUE_PROFILE=0`` turns that off).  The ordinary build is not
    instrumented: gcc has no ``-fsanitize=fuzzer`` and clang is not assumed.

Corpus.  Seeds live in fuzz/corpus/TARGET (checked in, small: golden messages
and books plus a handful of promoted finds, see ``--promote``); new inputs go
to fuzz/out/TARGET and crashes to fuzz/crashes/ (both ignored by git).

    python fuzz/run.py --seconds 300                 # every target, 5 minutes in all
    python fuzz/run.py --target view --seconds 60
    python fuzz/run.py --reseed                      # rebuild the seeds from ../shared/golden
    python fuzz/run.py --promote                     # copy a few distinct finds into the corpus
    python fuzz/run.py --replay fuzz/crashes/view-crash-...   # rerun one input, with traceback
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"
OUT = HERE / "out"
CRASHES = HERE / "crashes"
GOLDEN = ROOT.parent / "shared" / "golden"
MAX_LEN = {"message": 20000, "book": 13000, "script": 2048}
CORPUS_BUDGET = 200 * 1024          # bytes checked in, all targets together


def _registry() -> Tuple[Dict[str, Callable[[bytes], None]], Dict[str, str]]:
    """Every target and its input format: the parser targets and the
    re-entrancy target (a "script" input, mutated by libFuzzer alone)."""
    from obfuzz import reentrancy, targets

    names: Dict[str, Callable[[bytes], None]] = dict(targets.TARGETS)
    formats: Dict[str, str] = dict(targets.FORMATS)
    names["reentrancy"] = reentrancy.target_reentrancy
    formats["reentrancy"] = "script"
    return names, formats


def _import_paths() -> None:
    """Make ``obfuzz`` and ``orderbook`` importable.  The repository root is
    appended (last) only when orderbook is not importable otherwise, so a
    sanitizer build on PYTHONPATH keeps precedence."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    try:
        import orderbook  # noqa: F401
    except ImportError:
        sys.path.append(str(ROOT))


# --- worker: one target under atheris --------------------------------------------------

def _cmp_shim():
    """The preloaded trace-cmp forwarding shim, if any (see fuzz/cov/)."""
    import ctypes
    try:
        return ctypes.CDLL(None).ob_cov_attach
    except AttributeError:
        return None


def _attach_shim(attach) -> bool:
    with open("/proc/self/maps") as maps:
        for line in maps:
            if "core_with_libfuzzer" in line:
                path = line.split(None, 5)[-1].strip()
                return attach(path.encode()) == 0
    return False


def worker(args: argparse.Namespace) -> int:
    _import_paths()
    import atheris

    with atheris.instrument_imports(include=["obfuzz.reference", "obfuzz.targets",
                                             "obfuzz.reentrancy", "orderbook"]):
        import orderbook  # noqa: F401
        from obfuzz import reentrancy, reference, targets  # noqa: F401
    from obfuzz import mutators               # not instrumented: mutation is not coverage

    name = args.worker
    print(f"INFO: fuzzing {name} on {os.path.dirname(orderbook.__file__)}", file=sys.stderr, flush=True)
    names, formats = _registry()
    fn = names[name]
    fmt = formats[name]
    seeds = CORPUS / name
    out = Path(args.out) / name
    out.mkdir(parents=True, exist_ok=True)
    crashes = Path(args.crashes)
    crashes.mkdir(parents=True, exist_ok=True)
    pool = [p.read_bytes() for p in sorted(seeds.glob("*")) if p.is_file()]
    # atheris.Mutate is rebound to libFuzzer's by Fuzz(): look it up per call.
    # A script has no structure to mutate: libFuzzer's own mutations serve it.
    mutate = None if fmt == "script" else mutators.Mutator(
        fmt, pool, generic=lambda data, n: atheris.Mutate(data, n))

    shim = _cmp_shim()
    state = {"attached": shim is None}

    def test_one_input(data: bytes) -> None:
        if not state["attached"]:
            state["attached"] = True
            ok = _attach_shim(shim)
            print(f"INFO: C comparison feedback {'attached' if ok else 'NOT attached'}",
                  file=sys.stderr, flush=True)
        try:
            fn(data)
        except BaseException:
            # Print it here: under an ASan preload atheris may only get to say "deadly signal".
            print("\n=== Uncaught Python exception: ===", file=sys.stderr)
            traceback.print_exc()
            sys.stderr.flush()
            raise

    flags = [
        f"-max_total_time={max(1, int(args.seconds))}",
        f"-max_len={args.max_len or MAX_LEN[fmt]}",
        f"-timeout={args.timeout}",
        "-rss_limit_mb=4096",
        "-detect_leaks=0",          # CPython keeps caches across runs: not leaks
        f"-artifact_prefix={crashes}/{name}-",
        "-print_final_stats=1",
        f"-seed={args.seed}",
    ]
    if shim is not None and os.environ.get("OB_FUZZ_VALUE_PROFILE", "1") == "1":
        flags.append("-use_value_profile=1")
    if args.runs:
        flags.append(f"-runs={args.runs}")
    dirs = [str(out)] + ([str(seeds)] if seeds.is_dir() else [])
    atheris.Setup([sys.argv[0]] + flags + dirs, test_one_input, custom_mutator=mutate)
    atheris.Fuzz()
    return 0


# --- driver ---------------------------------------------------------------------------

def _files(d: Path) -> List[Path]:
    return sorted(p for p in d.glob("*") if p.is_file()) if d.is_dir() else []


def _size(d: Path) -> Tuple[int, int]:
    files = _files(d)
    return len(files), sum(p.stat().st_size for p in files)


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def run_targets(args: argparse.Namespace, names: List[str]) -> int:
    out_root = Path(args.out)
    crashes = Path(args.crashes)
    out_root.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(args.jobs or (os.cpu_count() or 1), len(names)))
    per_target = max(2.0, args.seconds * jobs / len(names))
    print(f"fuzzing {', '.join(names)}: {args.seconds:g} s in all, {jobs} at a time, "
          f"{per_target:.0f} s each", flush=True)
    pending = list(names)
    running: Dict[str, Tuple[subprocess.Popen, Path, float, object]] = {}
    results: Dict[str, Dict[str, object]] = {}
    while pending or running:
        while pending and len(running) < jobs:
            name = pending.pop(0)
            log = out_root / f"{name}.log"
            before = {p.name for p in _files(crashes)}
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
                   "--seconds", str(int(per_target)), "--out", str(out_root),
                   "--crashes", str(crashes), "--timeout", str(args.timeout)]
            cmd += ["--seed", str(args.seed)]
            if args.max_len:
                cmd += ["--max-len", str(args.max_len)]
            fh = open(log, "w")
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=str(ROOT))
            running[name] = (proc, log, time.monotonic(), (fh, before))
        time.sleep(0.2)
        for name in list(running):
            proc, log, started, (fh, before) = running[name]
            limit = per_target * 2 + 120
            if proc.poll() is None and time.monotonic() - started > limit:
                proc.kill()          # our own worker, by pid
                proc.wait()
                fh.write(f"\nrun.py: worker killed after {limit:.0f} s (hang)\n")
            if proc.poll() is None:
                continue
            fh.close()
            del running[name]
            text = log.read_text(errors="replace")
            runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text) or \
                re.findall(r"Done (\d+) runs", text)
            new_crashes = sorted(p.name for p in _files(crashes) if p.name not in before
                                 and p.name.startswith(name + "-"))
            results[name] = {
                "rc": proc.returncode, "runs": int(runs[-1]) if runs else 0,
                "seconds": time.monotonic() - started, "log": log, "crashes": new_crashes,
                "cmp": "attached" if "comparison feedback attached" in text else "-",
            }
            status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
            print(f"  {name}: {status}, {results[name]['runs']} executions", flush=True)
    print()
    print(f"{'target':16} {'result':8} {'executions':>11} {'exec/s':>8} {'corpus':>14} "
          f"{'new (out/)':>16} {'C cmp':>9}")
    failed = []
    total_runs = 0
    for name in names:
        r = results[name]
        seeds = _size(CORPUS / name)
        found = _size(out_root / name)
        ok = r["rc"] == 0
        total_runs += int(r["runs"])
        print(f"{name:16} {'ok' if ok else 'FAIL':8} {r['runs']:>11} "
              f"{int(r['runs']) / max(float(r['seconds']), 1e-9):>8.0f} "
              f"{seeds[0]:>4} ({_kb(seeds[1]):>8}) {found[0]:>5} ({_kb(found[1]):>8}) {r['cmp']:>9}")
        if not ok:
            failed.append(name)
    corpus_files, corpus_bytes = _size_tree(CORPUS)
    print(f"total: {total_runs} executions; checked-in corpus {corpus_files} files, "
          f"{_kb(corpus_bytes)}; new inputs under {out_root}")
    for name in failed:
        r = results[name]
        print(f"\n==== {name} failed (exit {r['rc']}); log {r['log']}", file=sys.stderr)
        text = Path(str(r["log"])).read_text(errors="replace").splitlines()
        keep = [i for i, line in enumerate(text) if "Uncaught Python exception" in line
                or "ERROR:" in line or "runtime error" in line]
        start = max(0, (keep[0] if keep else len(text)) - 5)
        print("\n".join(text[start:start + 80]), file=sys.stderr)
        for c in r["crashes"]:
            print(f"reproduce: {sys.executable} fuzz/run.py --replay {crashes / c}", file=sys.stderr)
    return 1 if failed else 0


def _size_tree(d: Path) -> Tuple[int, int]:
    files = [p for p in d.rglob("*") if p.is_file()] if d.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


# --- corpus maintenance -----------------------------------------------------------------

def reseed() -> int:
    """Write the seed inputs of every target from the golden reference files."""
    _import_paths()
    from obfuzz.targets import FLAG_CAP50, FLAG_HEAVY, FLAG_STRICT, KIND_SHIFT, seed_input

    if not GOLDEN.is_dir():
        print(f"golden files not found at {GOLDEN}", file=sys.stderr)
        return 1

    def g(name: str, kind: str) -> bytes:
        return (GOLDEN / f"{name}.{kind}.bin").read_bytes()

    def g50(name: str, kind: str) -> bytes:
        return (GOLDEN / "depth50" / f"{name}.{kind}.bin").read_bytes()

    seeds: Dict[str, Dict[str, bytes]] = {
        "decode_message": dict(
            {f"seed-{c}.message": g(c, "message") for c in ("empty", "top10", "full", "extreme")},
            **{f"seed-{c}.50.message": g50(c, "message") for c in ("top10", "inserted", "crossed")},
            **{"seed-top10.dirty_padding.message": g("top10.dirty_padding", "message")}),
        "iter_messages": {
            "seed-one_bid+one_ask.capture": g("one_bid", "message") + g("one_ask", "message"),
            "seed-random_a+truncated.capture": g("random_a", "message") + g("top10", "message")[:3000],
            "seed-mixed-capacities.capture": g("one_bid", "message") + g50("random_a", "message")
            + g("crossed", "message") + g50("full", "message"),
        },
        "from_bytes": {
            "seed-full.payload": seed_input(g("full", "payload")),
            "seed-extreme.payload-strict-heavy": seed_input(g("extreme", "payload"), 0,
                                                            FLAG_STRICT | FLAG_HEAVY),
            "seed-top10.message-at37": seed_input(g("top10", "message"), 37),
            "seed-full.50.payload-heavy": seed_input(g50("full", "payload"), 0, FLAG_CAP50 | FLAG_HEAVY),
            "seed-top10.dirty.50.payload-strict": seed_input(g50("top10.dirty_padding", "payload"), 0,
                                                             FLAG_CAP50 | FLAG_STRICT),
        },
        "view": {
            "seed-random_b.payload-bytearray": seed_input(g("random_b", "payload"), 0,
                                                          1 << KIND_SHIFT),
            "seed-one_ask.message-at37-heavy": seed_input(g("one_ask", "message"), 37, FLAG_HEAVY),
            "seed-empty.payload-at5-memoryview": seed_input(b"\x01" * 5 + g("empty", "payload"), 5,
                                                            (2 << KIND_SHIFT) | FLAG_STRICT),
            "seed-inserted.50.message-at37-bytearray": seed_input(
                g50("inserted", "message"), 37, FLAG_CAP50 | (1 << KIND_SHIFT)),
        },
    }
    for name, files in seeds.items():
        d = CORPUS / name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*"):
            old.unlink()        # the layout changed: earlier finds are other bytes now
        for fname, data in files.items():
            (d / f"{fname}.bin").write_bytes(data)
        n, size = _size(d)
        print(f"{name}: {n} files, {_kb(size)}")
    return 0


def _signature(name: str, data: bytes) -> Tuple:
    """What the reference makes of an input: a coarse outcome class used to
    keep one small input per distinct behaviour when promoting finds."""
    from obfuzz import reference as ref
    from obfuzz.targets import FLAG_CAP50, FLAG_STRICT, _split

    def outcome(call) -> str:
        try:
            r = call()
        except ref.RefError as e:
            return e.kind + (":" + str(e.attrs.get("why")) if "why" in e.attrs else "")
        if isinstance(r, dict) and "book" in r:
            r = r["book"]
        if isinstance(r, dict):
            v = ref.validate(r)
            return "ok" + ("/" + v[0][0] if v else "/valid")
        return "ok"

    if name == "decode_message":
        return (outcome(lambda: ref.decode_message(data)),
                outcome(lambda: ref.decode_message(data, verify=False)))
    if name == "reentrancy":
        from obfuzz.reentrancy import describe
        return ("script",) + tuple(sorted(set(describe(data))))
    if name == "iter_messages":
        out: List[str] = []
        try:
            for m in ref.iter_messages(data, verify=False):
                out.append("ok")
        except ref.RefError as e:
            out.append(e.kind)
        return (len(out) > 1, out[-1] if out else "empty")
    flags, offset, strict, buf = _split(data)
    cap = 50 if flags & FLAG_CAP50 else 128
    return (outcome(lambda: ref.parse_book(buf, offset, strict, cap)), bool(flags & FLAG_STRICT),
            (flags >> 4) & 3 if name == "view" else 0)


_DEPTH = {"ok": 6, "LayoutError": 5, "MissingRecordError": 4, "RecordError": 4,
          "ChecksumError": 3, "VersionError": 2, "MagicError": 2}


def _depth(sig: Tuple) -> int:
    """How far into the format an outcome signature got."""
    return max((_DEPTH.get(str(part).split(":")[0].split("/")[0], 1) + (str(part).count("/") and
                str(part) != "ok/valid") for part in sig if isinstance(part, str)), default=0)


def promote(args: argparse.Namespace, names: List[str]) -> int:
    """Copy into fuzz/corpus/TARGET the smallest new input for each outcome
    the corpus does not show yet (at most ``--promote-max`` per target),
    within the checked-in size budget."""
    _import_paths()
    total = _size_tree(CORPUS)[1]
    for name in names:
        have = {_signature(name, p.read_bytes()) for p in _files(CORPUS / name)}
        best: Dict[Tuple, Path] = {}
        for p in _files(Path(args.out) / name):
            sig = _signature(name, p.read_bytes())
            if sig not in have and (sig not in best or p.stat().st_size < best[sig].stat().st_size):
                best[sig] = p
        # deepest behaviours first (a book decoded beats a bad magic), then the smallest
        ranked = sorted(best.items(), key=lambda kv: (-_depth(kv[0]), kv[1].stat().st_size))
        picked: List[Tuple[Tuple, Path]] = []
        for sig, p in ranked:                   # one per main outcome first, for variety
            if len(picked) < args.promote_max and all(sig[0] != s[0] for s, _ in picked):
                picked.append((sig, p))
        for sig, p in ranked:
            if len(picked) < args.promote_max and (sig, p) not in picked:
                picked.append((sig, p))
        for sig, p in picked:
            if total + p.stat().st_size > CORPUS_BUDGET:
                print(f"{name}: corpus budget reached, skipping {sig}")
                continue
            dest = CORPUS / name / f"find-{p.name[:16]}.bin"
            shutil.copyfile(p, dest)
            total += p.stat().st_size
            print(f"{name}: + {dest.name} ({p.stat().st_size} bytes) {sig}")
    print(f"corpus: {_size_tree(CORPUS)[0]} files, {_kb(_size_tree(CORPUS)[1])}")
    return 0


def replay(paths: List[str], names: Optional[List[str]]) -> int:
    """Run saved inputs through their targets in-process, with tracebacks."""
    _import_paths()
    import traceback
    TARGETS, _ = _registry()

    failed = 0
    for path in paths:
        p = Path(path)
        name = next((n for n in (names or TARGETS) if p.name.startswith(n + "-")
                     or p.parent.name == n), None)
        if name is None and names and len(names) == 1:
            name = names[0]
        if name is None:
            print(f"{p}: cannot tell the target; pass --target", file=sys.stderr)
            failed += 1
            continue
        try:
            TARGETS[name](p.read_bytes())
            print(f"{p}: {name}: ok")
        except Exception:
            failed += 1
            print(f"{p}: {name}: FAILED", file=sys.stderr)
            traceback.print_exc()
    return 1 if failed else 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=180, help="total wall-clock budget (default 180)")
    ap.add_argument("--target", action="append", help="a target (repeatable; default: all)")
    ap.add_argument("--jobs", type=int, default=0, help="targets run at once (default: CPUs)")
    ap.add_argument("--out", default=str(OUT), help="new inputs go to OUT/TARGET (default fuzz/out)")
    ap.add_argument("--crashes", default=str(CRASHES), help="crash artifacts (default fuzz/crashes)")
    ap.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    ap.add_argument("--max-len", type=int, default=0, help="largest input (default per target)")
    ap.add_argument("--seed", type=int, default=1, help="libFuzzer seed (0: random)")
    ap.add_argument("--runs", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--list", action="store_true", help="list the targets")
    ap.add_argument("--reseed", action="store_true", help="rewrite the seed inputs from the golden files")
    ap.add_argument("--promote", action="store_true", help="copy a few distinct finds into the corpus")
    ap.add_argument("--promote-max", type=int, default=3, help="finds promoted per target")
    ap.add_argument("--replay", nargs="+", metavar="FILE", help="run saved inputs in-process")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        return worker(args)
    _import_paths()
    TARGETS, _ = _registry()

    names = args.target or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {unknown}; targets: {', '.join(TARGETS)}")
    if args.list:
        print("\n".join(TARGETS))
        return 0
    if args.reseed:
        return reseed()
    if args.promote:
        return promote(args, names)
    if args.replay:
        return replay(args.replay, args.target)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install 'atheris>=2.3' (the 'fuzz' extra)", file=sys.stderr)
        return 2
    return run_targets(args, names)


if __name__ == "__main__":
    sys.exit(main())
