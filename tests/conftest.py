"""Shared fixtures: the golden reference bytes from the independent Rust program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

GOLDEN = Path(__file__).resolve().parent.parent.parent / "shared" / "golden"

BOOK_FIELDS = ("timestamp_ns", "sequence", "precision_factor", "asset_id", "venue_id",
               "asset_type", "reserved")


def golden_cases() -> List[str]:
    if not (GOLDEN / "cases.json").exists():
        return []
    return list(json.loads((GOLDEN / "cases.json").read_text()))


def _require_golden() -> None:
    if not GOLDEN.is_dir():
        pytest.skip(f"golden reference bytes not found at {GOLDEN} (the ../shared checkout is absent)")


@pytest.fixture
def golden_dir() -> Path:
    _require_golden()
    return GOLDEN


@pytest.fixture
def layout_json() -> Dict[str, Any]:
    _require_golden()
    return json.loads((GOLDEN / "layout.json").read_text())


class Case:
    """One golden case: its JSON values and both binaries."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: Dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text())
        self.payload = (GOLDEN / f"{name}.payload.bin").read_bytes()
        self.message = (GOLDEN / f"{name}.message.bin").read_bytes()

    @property
    def header_fields(self) -> Dict[str, int]:
        return {k: self.values[k] for k in BOOK_FIELDS}

    @property
    def message_kwargs(self) -> Dict[str, int]:
        m = self.values["message"]
        return {"sequence": m["sequence"], "timestamp_ns": m["timestamp"], "source": m["source"],
                "relay_domain": m["relay_domain"], "flags": m["flags"]}


@pytest.fixture(params=golden_cases() or ["<no golden cases>"])
def case(request: pytest.FixtureRequest) -> Case:
    _require_golden()
    return Case(request.param)


@pytest.fixture(scope="session")
def all_cases() -> List[Case]:
    _require_golden()
    return [Case(n) for n in golden_cases()]
