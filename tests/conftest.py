"""Shared fixtures: the golden reference bytes made by rustc from the upstream
Rust types, at capacity 128 (../shared/golden) and 50 (../shared/golden/depth50)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent.parent / "shared" / "golden"
# capacity -> folder of the reference bytes at that capacity
GOLDEN_DIRS = {128: GOLDEN, 50: GOLDEN / "depth50"}
# copies of both layout.json files, so the layout tests run without ../shared
LAYOUTS = {128: HERE / "data" / "layout-128.json", 50: HERE / "data" / "layout-50.json"}

BOOK_FIELDS = ("snapshot_timestamp_ns", "sequence", "precision_factor", "asset_id", "venue_id",
               "asset_type", "reserved")


def golden_cases() -> List[Tuple[int, str]]:
    out: List[Tuple[int, str]] = []
    for capacity, folder in GOLDEN_DIRS.items():
        if (folder / "cases.json").exists():
            out += [(capacity, name) for name in json.loads((folder / "cases.json").read_text())]
    return out


def _require_golden() -> None:
    if not GOLDEN.is_dir():
        pytest.skip(f"golden reference bytes not found at {GOLDEN} (the ../shared checkout is absent)")


@pytest.fixture
def golden_dir() -> Path:
    _require_golden()
    return GOLDEN


class Case:
    """One golden case: its JSON values and both binaries, at one capacity."""

    def __init__(self, capacity: int, name: str) -> None:
        folder = GOLDEN_DIRS[capacity]
        self.capacity = capacity
        self.name = name
        self.values: Dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
        self.payload = (folder / f"{name}.payload.bin").read_bytes()
        self.message = (folder / f"{name}.message.bin").read_bytes()

    def __repr__(self) -> str:
        return f"<Case {self.capacity}/{self.name}>"

    @property
    def header_fields(self) -> Dict[str, int]:
        return {k: self.values[k] for k in BOOK_FIELDS}

    @property
    def message_kwargs(self) -> Dict[str, int]:
        m = self.values["message"]
        return {"sequence": m["sequence"], "timestamp_ns": m["timestamp"], "source": m["source"],
                "relay_domain": m["relay_domain"], "flags": m["flags"]}


@pytest.fixture(params=golden_cases() or [(0, "<no golden cases>")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request: pytest.FixtureRequest) -> Case:
    _require_golden()
    return Case(*request.param)


@pytest.fixture(scope="session")
def all_cases() -> List[Case]:
    _require_golden()
    return [Case(c, n) for c, n in golden_cases()]
