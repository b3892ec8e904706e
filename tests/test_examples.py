"""The venue/snapshot examples run from any working directory: their data
paths are resolved from the script, not from the current directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

import orderbook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 120


def env() -> Dict[str, str]:
    e = dict(os.environ)
    root = str(Path(orderbook.__file__).resolve().parent.parent)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (root, e.get("PYTHONPATH")) if p)
    return e


def run(script: str, *args: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=str(cwd), env=env(),
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def test_venue_snapshot_runs_from_another_directory(tmp_path: Path) -> None:
    proc = run("venue_snapshot.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("binance_btcusdt_depth.json", "coinbase_btcusd_book.json", "kraken_xbtusd_depth.json"):
        assert f"{name}: " in proc.stdout
    assert proc.stdout.count("levels back as sent: yes") == 3
    assert "6,237-byte message from BinanceCollector" in proc.stdout
    assert "instrument Binance Coin BTCUSDT, snapshot_timestamp_ns 0, capacity 128" in proc.stdout
    assert "instrument Coinbase Coin BTC-USD, snapshot_timestamp_ns 1698244813123456000" in proc.stdout
    assert "instrument Kraken Coin XXBTZUSD" in proc.stdout


def test_venue_snapshot_at_capacity_50_with_a_symbol(tmp_path: Path) -> None:
    sample = EXAMPLES / "data" / "binance_btcusdt_depth.json"
    (tmp_path / "depth.json").write_text(sample.read_text())
    proc = run("venue_snapshot.py", "--capacity", "50", "--symbol", "ETHUSDT", "depth.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "depth.json: binance -> 2,493-byte message from BinanceCollector" in proc.stdout
    assert "instrument Binance Coin ETHUSDT, snapshot_timestamp_ns 0, capacity 50" in proc.stdout
    assert "levels back as sent: yes" in proc.stdout
    (tmp_path / "bad.json").write_text('{"bids": [], "asks": []}')
    proc = run("venue_snapshot.py", "bad.json", cwd=tmp_path)
    assert proc.returncode == 1 and "not a depth snapshot of a known venue" in proc.stderr


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_pipeline_runs_from_another_directory(tmp_path: Path) -> None:
    """publisher.py finds examples/data/ from anywhere; pipeline.py its two scripts."""
    proc = run("pipeline.py", "--count", "30", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "publisher: binance_btcusdt_depth.json: binance (venue_id 100, source BinanceCollector)" in proc.stdout
    assert "pipeline ok: sent 30, received 30 (" in proc.stdout
