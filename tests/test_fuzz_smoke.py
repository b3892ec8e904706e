"""The fuzz targets, briefly, inside the suite.

Every target (fuzz/obfuzz/targets.py) replays the checked-in corpus and a
fixed-seed burst of structure-aware mutations in-process, then fuzz/run.py
drives all of them under atheris for a few seconds.  A target fails on an
exception outside ``orderbook.OrderBookError`` or on a result that differs from
the pure-Python reference; a crash kills the atheris worker.  ``make fuzz``
runs the same targets for minutes.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import orderbook

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
if str(FUZZ) not in sys.path:
    sys.path.append(str(FUZZ))      # appended: never shadows the orderbook under test

from obfuzz import mutators, targets  # noqa: E402
from obfuzz import reference as ref  # noqa: E402

NAMES = list(targets.TARGETS)
BURST = int(os.environ.get("OB_FUZZ_SMOKE_INPUTS", "400"))   # inputs per target in-process
BURST_SECONDS = 4.0


def corpus(name: str) -> list:
    return sorted(p for p in (FUZZ / "corpus" / name).glob("*") if p.is_file())


def test_every_target_has_a_small_seeded_corpus():
    total = 0
    for name in NAMES:
        files = corpus(name)
        assert len([p for p in files if p.name.startswith("seed-")]) >= 2, name
        total += sum(p.stat().st_size for p in files)
    assert total < 200 * 1024, f"checked-in corpus is {total} bytes"


def test_seeds_are_the_golden_messages():
    golden = Path(__file__).resolve().parent.parent.parent / "shared" / "golden"
    if not golden.is_dir():
        pytest.skip("golden files absent")
    seed = (FUZZ / "corpus" / "decode_message" / "seed-top10.message.bin").read_bytes()
    assert seed == (golden / "top10.message.bin").read_bytes()
    view_seed = (FUZZ / "corpus" / "from_bytes" / "seed-full.payload.bin").read_bytes()
    assert view_seed[3:] == (golden / "full.payload.bin").read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_corpus_replays_clean(name):
    for path in corpus(name):
        targets.TARGETS[name](path.read_bytes())


@pytest.mark.parametrize("name", NAMES)
def test_mutation_burst_in_process(name, tmp_path):
    """A deterministic burst: same seed, same inputs on every run."""
    pool = [p.read_bytes() for p in corpus(name)]
    mutate = mutators.Mutator(targets.FORMATS[name], pool)
    rng = random.Random(20240601)
    data = pool[0]
    deadline = time.monotonic() + BURST_SECONDS
    for i in range(BURST):
        base = rng.choice(pool) if rng.random() < 0.3 else data
        data = mutate(base, 20000, rng.getrandbits(32))
        try:
            targets.TARGETS[name](data)
        except BaseException:
            saved = tmp_path / f"{name}-input-{i}.bin"
            saved.write_bytes(data)
            print(f"reproduce: python fuzz/run.py --target {name} --replay {saved}")
            raise
        if time.monotonic() > deadline:
            break


def test_harness_fails_on_errors_outside_the_hierarchy(monkeypatch):
    msg = (FUZZ / "corpus" / "decode_message" / "seed-top10.message.bin").read_bytes()

    def leaks(*a, **k):
        raise KeyError("not ours")

    monkeypatch.setattr(targets, "decode_message", leaks)
    with pytest.raises(KeyError):
        targets.target_decode_message(msg)


def test_harness_fails_on_a_wrong_result(monkeypatch):
    msg = (FUZZ / "corpus" / "decode_message" / "seed-top10.message.bin").read_bytes()
    real = orderbook.decode_message

    def off_by_one(*a, **k):
        m = real(*a, **k)
        if m.book.bids and not m.book.is_view:
            m.book.sequence = (m.book.sequence + 1) % 2**64
        return m

    monkeypatch.setattr(targets, "decode_message", off_by_one)
    with pytest.raises(targets.Mismatch, match="sequence"):
        targets.target_decode_message(msg)

    def rejects(*a, **k):
        raise orderbook.ChecksumError("made up", 1, 2)

    monkeypatch.setattr(targets, "decode_message", rejects)
    with pytest.raises(targets.Mismatch, match="reference accepts"):
        targets.target_decode_message(msg)


def test_reference_agrees_with_the_golden_cases(all_cases):
    for case in all_cases:
        decoded = ref.decode_message(case.message)
        assert decoded["book_at"] == 37
        book = decoded["book"]
        assert {k: book[k] for k in ref.BOOK_FIELDS} == case.header_fields
        assert [list(lv) for lv in book["bids"]] == case.values["bids"]
        assert [list(lv) for lv in book["asks"]] == case.values["asks"]
        assert ref.book_bytes(book) == case.payload
        assert ref.encode_message(book, **{("timestamp" if k == "timestamp_ns" else k): v
                                           for k, v in case.message_kwargs.items()}) == case.message


def _run(args, env=None, timeout=180):
    return subprocess.run([sys.executable, str(FUZZ / "run.py"), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=str(FUZZ.parent))


def test_atheris_runs_every_target_briefly(tmp_path):
    pytest.importorskip("atheris")
    proc = _run(["--seconds", "8", "--jobs", "2", "--out", str(tmp_path / "out"),
                 "--crashes", str(tmp_path / "crashes")])
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    for name in NAMES:
        row = re.search(rf"^{name}\s+ok\s+(\d+)", proc.stdout, re.M)
        assert row and int(row.group(1)) > 0, report
    assert not list((tmp_path / "crashes").glob("*")), report


def test_atheris_driver_reports_a_leaked_builtin_error(tmp_path):
    pytest.importorskip("atheris")
    env = dict(os.environ, OB_FUZZ_SELFTEST="1")
    proc = _run(["--target", "selftest", "--seconds", "4", "--out", str(tmp_path / "out"),
                 "--crashes", str(tmp_path / "crashes")], env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "selftest: an error outside the orderbook hierarchy" in proc.stderr
    assert list((tmp_path / "crashes").glob("selftest-crash-*"))


# --- the re-entrancy target (fuzz/obfuzz/reentrancy.py) -------------------------------------

def test_reentrancy_target_is_registered():
    proc = _run(["--list"], timeout=60)
    assert proc.returncode == 0 and "reentrancy" in proc.stdout.split(), proc.stdout + proc.stderr
    files = corpus("reentrancy")
    assert len([p for p in files if p.name.startswith("seed-")]) >= 2
    assert sum(p.stat().st_size for p in files) < 8 * 1024


def test_reentrancy_target_burst_in_process(tmp_path):
    """The seeds, then a fixed-seed mix of byte mutations of them and random
    scripts: hostile __index__ / __iter__ arguments and a collector callback
    releasing, re-pointing and freeing the view under the calls.  Needs no
    atheris."""
    from obfuzz import reentrancy

    pool = [p.read_bytes() for p in corpus("reentrancy")]
    rng = random.Random(20240602)
    inputs = list(pool)
    data = pool[0]
    for i in range(BURST):
        if i % 3 == 0:
            inputs.append(rng.randbytes(rng.randint(8, 200)))
        else:
            base = rng.choice(pool) if rng.random() < 0.3 else data
            data = mutators.byte_mutate(base, 2048, rng)
            inputs.append(data)
    deadline = time.monotonic() + BURST_SECONDS
    for i, data in enumerate(inputs):
        try:
            reentrancy.target_reentrancy(data)
        except BaseException:
            saved = tmp_path / f"reentrancy-input-{i}.bin"
            saved.write_bytes(data)
            print(f"reproduce: python fuzz/run.py --target reentrancy --replay {saved}")
            raise
        if i >= len(pool) and time.monotonic() > deadline:
            break
