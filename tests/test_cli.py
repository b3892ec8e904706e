"""``python -m orderbook``: inspect captures, messages and payloads; encode
venue snapshots.  Good, truncated and corrupted files, text and --json."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import orderbook
from orderbook import OrderBook, encode_message
from orderbook.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
M = orderbook.MESSAGE_SIZE


def run(*args: str) -> Tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def run_json(*args: str) -> Tuple[int, Dict[str, Any]]:
    code, text = run(*args, "--json")
    value = json.loads(text)
    assert isinstance(value, dict)
    return code, value


def books() -> List[OrderBook]:
    a = OrderBook.from_snapshot([["27012.45", "0.251", 3], ["27012.44", "1.5"]],
                                [["27012.46", "0.1"], ["27012.5", "2"]], sequence=10, venue_id=1)
    b = OrderBook.from_snapshot([["100", "1"]], [["101", "2"]], sequence=11, venue_id=2)
    c = OrderBook.from_snapshot([], [], sequence=12, venue_id=3)
    return [a, b, c]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "good.bin"
    path.write_bytes(b"".join(encode_message(b, sequence=i, timestamp_ns=1_698_244_813_000_000_000 + i,
                                             source=7) for i, b in enumerate(books())))
    return path


def test_capture_summary(capture: Path) -> None:
    code, text = run(str(capture))
    assert code == 0
    assert text.startswith(f"{capture}: {3 * M:,} bytes, capture, 3 messages\n")
    assert "bid 27012.45000000 x 0.25100000  ask 27012.46000000 x 0.10000000  valid" in text
    assert text.endswith("ok: 3 message(s), all valid\n")


def test_one_message_in_detail(capture: Path) -> None:
    code, text = run("inspect", str(capture), "--message", "0", "--levels", "5")
    assert code == 0
    assert f"message 0 at offset 0: {M:,} bytes" in text
    assert "magic 0xdeadbeef  version 1  relay_domain 0 (MarketData)  source 7  flags 0x00" in text
    assert "sequence 0  timestamp 1698244813000000000 (2023-10-25T14:40:13.000000000Z)" in text
    assert "precision_factor 100000000 (8 decimals)  bids 2  asks 2" in text
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if "bid price" in line)
    assert lines[head].split() == ["#", "orders", "bid", "size", "bid", "price", "|", "ask", "price",
                                   "ask", "size", "orders"]
    assert lines[head + 1].split() == ["0", "3", "0.25100000", "27012.45000000", "|", "27012.46000000",
                                       "0.10000000", "0"]
    assert lines[head + 2].split() == ["1", "0", "1.50000000", "27012.44000000", "|", "27012.50000000",
                                       "2.00000000", "0"]
    assert "  spread   0.01000000 (0 bps)" in text
    assert "  validate valid" in text


def test_all_and_a_single_message_file(tmp_path: Path, capture: Path) -> None:
    code, text = run(str(capture), "--all")
    assert code == 0 and text.count("  validate valid") == 3
    assert "(both sides empty)" in text
    one = tmp_path / "one.bin"
    one.write_bytes(capture.read_bytes()[:M])
    code, text = run(str(one))
    assert code == 0 and "message 0 at offset 0" in text and "capture, 1 message\n" in text


def test_json(capture: Path) -> None:
    code, report = run_json(str(capture), "--levels", "1")
    assert code == 0 and report["ok"] is True and report["kind"] == "capture"
    assert report["errors"] == []
    first = report["messages"][0]
    assert (first["index"], first["offset"], first["size"]) == (0, 0, M)
    assert first["header"]["magic"] == 0xDEADBEEF and first["header"]["source"] == 7
    book = first["book"]
    assert book["bids"] == [["27012.45000000", "0.25100000", 3]]          # --levels 1
    assert (book["bid_count"], book["ask_count"], book["sequence"], book["venue_id"]) == (2, 2, 10, 1)
    assert book["best_ask"] == ["27012.46000000", "0.10000000", 0]
    assert (book["spread"], book["spread_bps"]) == ("0.01000000", 0)
    assert first["valid"] is True and first["validation_error"] is None
    assert report["messages"][2]["book"]["best_bid"] is None


def test_payload(tmp_path: Path) -> None:
    path = tmp_path / "book.bin"
    path.write_bytes(bytes(books()[0]))
    code, text = run(str(path))
    assert code == 0 and "payload: 6,200 bytes (OrderBookTLV)" in text and "ok: 1 book" in text
    code, report = run_json(str(path))
    assert report["kind"] == "payload" and report["messages"][0]["header"] is None


def test_truncated(tmp_path: Path, capture: Path) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(capture.read_bytes()[:-100])
    code, report = run_json(str(path))
    assert code == 1 and report["ok"] is False
    assert len(report["messages"]) == 2
    (err,) = report["errors"]
    assert err["offset"] == 2 * M and err["error"] == "TruncatedError"
    assert err["message"] == (f"payload_size 6205 at offset {2 * M + 24} runs past the buffer: the message "
                              f"needs {M} bytes from offset {2 * M}, the buffer has {M - 100}")
    path.write_bytes(capture.read_bytes()[:M + 10])
    code, text = run(str(path))
    assert code == 1
    assert (f"error at offset {M}: TruncatedError: a message header needs 32 bytes at offset {M}, "
            "the buffer has 10") in text
    assert "NOT OK: 1 error(s), 0 invalid book(s)" in text


def test_corrupted_checksum_is_skipped(tmp_path: Path, capture: Path) -> None:
    data = bytearray(capture.read_bytes())
    data[M + 1000] ^= 0x01
    path = tmp_path / "crc.bin"
    path.write_bytes(bytes(data))
    code, report = run_json(str(path))
    assert code == 1
    assert [m["offset"] for m in report["messages"]] == [0, 2 * M]      # the walk went on
    (err,) = report["errors"]
    assert err["offset"] == M and err["error"] == "ChecksumError"
    assert err["message"].startswith(f"checksum mismatch in the message at offset {M}: header says 0x")
    assert err["message"].endswith("(message 1 skipped)")
    # --no-verify reads it anyway
    code, report = run_json(str(path), "--no-verify")
    assert code == 0 and len(report["messages"]) == 3


def test_junk_between_messages_resynchronises(tmp_path: Path, capture: Path) -> None:
    data = capture.read_bytes()
    path = tmp_path / "junk.bin"
    path.write_bytes(data[:M] + b"GARBAGE!" + data[M:])
    code, report = run_json(str(path))
    assert code == 1
    assert [m["offset"] for m in report["messages"]] == [0, M + 8, 2 * M + 8]
    (err,) = report["errors"]
    assert err == {"offset": M, "error": "MagicError",
                   "message": f"bad magic at offset {M}: expected 0xdeadbeef, found 0x42524147 "
                              f"(skipped 8 bytes to the next magic at offset {M + 8})"}
    path.write_bytes(data[:M] + b"trailing junk")
    code, text = run(str(path))
    assert code == 1 and f"(no further message in the last 13 bytes)" in text


def test_invalid_book_fails_validation(tmp_path: Path) -> None:
    crossed = OrderBook([(200, 1)], [(100, 1)], precision_factor=100)
    path = tmp_path / "crossed.bin"
    path.write_bytes(encode_message(crossed, timestamp_ns=0))
    code, text = run(str(path))
    assert code == 1
    assert "  validate INVALID: crossed book: best ask 100 is below best bid 200" in text
    assert "NOT OK: 0 error(s), 1 invalid book(s)" in text
    # decimals at the book's own precision (100: 2 decimals)
    assert ["0", "0", "0.01", "2.00", "|", "1.00", "0.01", "0"] in [line.split() for line in text.splitlines()]


def test_strict_padding(tmp_path: Path, capture: Path) -> None:
    data = bytearray(capture.read_bytes()[:M])
    data[37 + 24 + 5] = 0x7F                    # a padding byte after the bids count
    # fix the CRC so that only the padding is wrong
    crc = orderbook.crc32(bytes(data[32:]), orderbook.crc32(bytes(data[:28])))
    data[28:32] = crc.to_bytes(4, "little")
    path = tmp_path / "pad.bin"
    path.write_bytes(bytes(data))
    assert run(str(path))[0] == 0
    code, report = run_json(str(path), "--strict")
    assert code == 1
    (err,) = report["errors"]
    assert err["error"] == "LayoutError" and "padding byte at offset 29 is 0x7f" in err["message"]
    assert "strict check of the book at offset 37" in err["message"]


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"hello")
    code, text = run(str(path))
    assert code == 1
    assert ("error at offset 0: UnknownFormat: neither a capture (no magic 0xdeadbeef at offset 0, found "
            "68656c6c) nor a 6,200-byte payload (the file has 5 bytes)") in text
    assert run(str(tmp_path / "missing.bin"))[0] == 2
    assert run("inspect")[0] == 2                           # usage
    assert run(str(path), "--levels", "-1")[0] == 2
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert run(str(empty))[0] == 1


def test_encode_then_inspect(tmp_path: Path) -> None:
    out = tmp_path / "cap.bin"
    files = [str(p) for p in sorted(DATA.glob("*.json"))]
    code, text = run("encode", *files, "-o", str(out), "--venue-id", "5", "--sequence", "100")
    assert code == 0 and text == f"wrote 3 message(s), {3 * M:,} bytes, to {out}\n"
    code, report = run_json(str(out), "--levels", "128")
    assert code == 0 and [m["header"]["sequence"] for m in report["messages"]] == [100, 101, 102]
    binance = json.loads((DATA / "binance_btcusdt_depth.json").read_text())
    assert [lv[:2] for lv in report["messages"][0]["book"]["bids"]] == binance["bids"]
    assert {m["book"]["venue_id"] for m in report["messages"]} == {5}


def test_encode_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"lastUpdateId": 1, "bids": [["1.5", "1e3"]], "asks": []}))
    out = tmp_path / "o.bin"
    assert run("encode", str(bad), "-o", str(out))[0] == 1
    assert not out.exists()
    bad.write_text("{not json")
    assert run("encode", str(bad), "-o", str(out))[0] == 1
    assert run("encode", str(tmp_path / "nope.json"), "-o", str(out))[0] == 2


def test_python_dash_m(capture: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(orderbook.__file__).parent.parent),
                                                    env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "orderbook", str(capture), "--json"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
    proc = subprocess.run([sys.executable, "-m", "orderbook", "--help"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "inspect" in proc.stdout
