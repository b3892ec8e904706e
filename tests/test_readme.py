"""The README's Python examples run as written (it is the front door)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def blocks():
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.parametrize("index", range(len(blocks())))
def test_readme_example_runs(index, monkeypatch):
    monkeypatch.chdir(ROOT)            # examples read examples/data/ relative to the root
    exec(compile(blocks()[index], f"README.md example {index + 1}", "exec"), {"__name__": "readme"})


def test_readme_has_examples():
    assert len(blocks()) >= 2
