"""Benchmarks run against the package in this checkout.

``make bench`` installs it editable, but ``pytest benchmarks/`` may also be
run with any interpreter from the repository root: put the root (for
``orderbook``) and this directory (for the harness and the peers) on the
path, the root first so that the in-place build is what gets measured."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE), str(HERE.parent)):
    if path not in sys.path:
        sys.path.insert(0, path)
