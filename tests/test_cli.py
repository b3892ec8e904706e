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
from orderbook import InstrumentId, OrderBook, VenueId, encode_message
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
                                [["27012.46", "0.1"], ["27012.5", "2"]], sequence=10, venue_id=100,
                                snapshot_timestamp_ns=1_698_244_813_123_456_789)
    a.instrument = InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    b = OrderBook.from_snapshot([["100", "1"]], [["101", "2"]], sequence=11, venue_id=102)
    c = OrderBook.from_snapshot([], [], sequence=12, venue_id=999)
    return [a, b, c]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "good.bin"
    path.write_bytes(b"".join(encode_message(b, sequence=i, timestamp_ns=1_698_244_813_000_000_000 + i,
                                             source=1) for i, b in enumerate(books())))
    return path


def subprocess_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(orderbook.__file__).parent.parent),
                                                    env.get("PYTHONPATH")) if p)
    return env


def run_process(*args: str, cwd: Any = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "orderbook", *args], env=subprocess_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_capture_summary(capture: Path) -> None:
    code, text = run(str(capture))
    assert code == 0
    assert text.startswith(f"{capture}: {3 * M:,} bytes, capture, 3 messages\n")
    assert "bid 27012.45000000 x 0.25100000  ask 27012.46000000 x 0.10000000  valid" in text
    lines = text.splitlines()
    assert lines[2].split()[3] == "Binance" and lines[3].split()[3] == "Coinbase"
    assert lines[4].split()[3] == "999"                    # no upstream name: the number
    assert text.endswith("ok: 3 message(s), all valid\n")


def test_one_message_in_detail(capture: Path) -> None:
    code, text = run("inspect", str(capture), "--message", "0", "--levels", "5")
    assert code == 0
    assert f"message 0 at offset 0: {M:,} bytes" in text
    assert "magic 0xdeadbeef  version 1  relay_domain 0 (MarketData)  source 1 (BinanceCollector)  flags 0x00" in text
    assert "  book     Binance Coin BTCUSDT  capacity 128" in text
    assert (f"asset_id {0x4254435553445400} (0x4254435553445400)  venue_id 100 (Binance)  "
            "asset_type 51 (Coin)  reserved 0") in text
    assert ("sequence 10  snapshot_timestamp_ns 1698244813123456789 (2023-10-25T14:40:13.123456789Z)"
            in text)
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
    header = first["header"]
    assert header["magic"] == 0xDEADBEEF and header["source"] == 1
    assert (header["source_name"], header["relay_domain"], header["relay_domain_name"]) == \
           ("BinanceCollector", 0, "MarketData")
    book = first["book"]
    assert book["bids"] == [["27012.45000000", "0.25100000", 3]]          # --levels 1
    assert (book["bid_count"], book["ask_count"], book["sequence"], book["venue_id"]) == (2, 2, 10, 100)
    assert "timestamp_ns" not in book
    assert book["snapshot_timestamp_ns"] == 1_698_244_813_123_456_789
    assert (book["capacity"], book["venue_name"], book["asset_type"], book["asset_type_name"]) == \
           (128, "Binance", 51, "Coin")
    assert (book["asset_id"], book["instrument_name"]) == (0x4254435553445400, "Binance Coin BTCUSDT")
    unknown = report["messages"][2]["book"]
    assert (unknown["venue_id"], unknown["venue_name"], unknown["asset_type_name"]) == (999, None, None)
    assert unknown["instrument_name"] == "venue 999 asset_type 0 0x0000000000000000"
    assert book["best_ask"] == ["27012.46000000", "0.10000000", 0]
    assert (book["spread"], book["spread_bps"]) == ("0.01000000", 0)
    assert first["valid"] is True and first["validation_error"] is None
    assert report["messages"][2]["book"]["best_bid"] is None


def test_payload(tmp_path: Path) -> None:
    path = tmp_path / "book.bin"
    path.write_bytes(bytes(books()[0]))
    code, text = run(str(path))
    assert code == 0 and "payload: 6,200 bytes (OrderBookTLV, capacity 128)" in text and "ok: 1 book" in text
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
    pad = orderbook.layout()["OrderBookTLV"]["bids"] + 5      # a padding byte after the bids count
    data[37 + pad] = 0x7F
    # fix the CRC so that only the padding is wrong
    crc = orderbook.crc32(bytes(data[32:]), orderbook.crc32(bytes(data[:28])))
    data[28:32] = crc.to_bytes(4, "little")
    path = tmp_path / "pad.bin"
    path.write_bytes(bytes(data))
    assert run(str(path))[0] == 0
    code, report = run_json(str(path), "--strict")
    assert code == 1
    (err,) = report["errors"]
    assert err["error"] == "LayoutError" and f"padding byte at offset {pad} is 0x7f" in err["message"]
    assert "strict check of the book at offset 37" in err["message"]


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"hello")
    code, text = run(str(path))
    assert code == 1
    assert ("error at offset 0: UnknownFormat: neither a capture (no magic 0xdeadbeef at offset 0 nor a "
            "valid message at a later one, found 68656c6c) nor a 6,200-byte (capacity 128) or 2,456-byte "
            "(capacity 50) payload (the file has 5 bytes)") in text
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
    # by default: upstream's venue ids, the venues' collectors as sources, the
    # Coinbase time as the book's snapshot_timestamp_ns and the header's timestamp
    assert run("encode", *files, "-o", str(out))[0] == 0
    code, report = run_json(str(out))
    assert [m["book"]["venue_id"] for m in report["messages"]] == [100, 102, 101]
    assert [m["header"]["source"] for m in report["messages"]] == [1, 2, 3]
    assert [m["header"]["source_name"] for m in report["messages"]] == \
           ["BinanceCollector", "CoinbaseCollector", "KrakenCollector"]
    coinbase = report["messages"][1]
    assert coinbase["book"]["snapshot_timestamp_ns"] == coinbase["header"]["timestamp"] == \
           1_698_244_813_123_456_000
    assert report["messages"][2]["book"]["instrument_name"] == "Kraken Coin XXBTZUSD"   # the pair key
    assert report["messages"][0]["book"]["asset_id"] == 0                      # Binance: not named
    # --symbol, --source and --capacity
    binance_file = str(DATA / "binance_btcusdt_depth.json")
    assert run("encode", binance_file, "-o", str(out), "--symbol", "BTCUSDT", "--source", "99",
               "--capacity", "50", "--truncate")[0] == 0
    assert out.stat().st_size == orderbook.message_size(50)
    code, report = run_json(str(out))
    (m,) = report["messages"]
    assert (m["size"], m["book"]["capacity"], m["book"]["bid_count"]) == (orderbook.message_size(50), 50, 50)
    assert (m["header"]["source"], m["header"]["source_name"]) == (99, "TestClient")
    assert m["book"]["instrument_name"] == "Binance Coin BTCUSDT"
    code, text = run(str(out), "--levels", "1")
    assert code == 0 and "capacity 50" in text and f"message 0 at offset 0: {orderbook.message_size(50):,} bytes" in text
    # 100 levels do not fit 50 without --truncate
    assert run("encode", binance_file, "-o", str(out), "--capacity", "50")[0] == 1


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


# --- capacities -----------------------------------------------------------------------

def test_capacity_50_payload_and_mixed_capture(tmp_path: Path) -> None:
    small = OrderBook.from_snapshot([["10", "1"]], [["11", "1"]], capacity=50, venue_id=101, sequence=3)
    path = tmp_path / "book50.bin"
    path.write_bytes(bytes(small))
    code, text = run(str(path))
    assert code == 0 and "payload: 2,456 bytes (OrderBookTLV, capacity 50)" in text
    assert "  book     Kraken asset_type 0 0x0000000000000000  capacity 50" in text
    code, report = run_json(str(path))
    assert report["kind"] == "payload" and report["messages"][0]["book"]["capacity"] == 50
    # a 128 payload read as 50 leaves trailing bytes
    path.write_bytes(bytes(books()[0]))
    code, report = run_json(str(path), "--capacity", "50")
    assert code == 1 and report["errors"][0]["error"] == "TrailingData"
    assert report["errors"][0]["message"] == "3,744 bytes follow the 2,456-byte payload (capacity 50)"
    # a capture of both capacities, back to back
    mixed = tmp_path / "mixed.bin"
    mixed.write_bytes(encode_message(books()[0], sequence=0) + encode_message(small, sequence=1))
    code, report = run_json(str(mixed))
    assert code == 0
    assert [(m["offset"], m["size"], m["book"]["capacity"]) for m in report["messages"]] == \
           [(0, M, 128), (M, orderbook.message_size(50), 50)]
    code, text = run(str(mixed))
    assert code == 0 and "  1/1   (cap 50)  bid 10.00000000" in text


# --- defects, each checked through the real command ------------------------------------

def test_levels_0_says_the_levels_are_not_shown(tmp_path: Path) -> None:
    """--levels 0 on a 100/100 book printed "levels (both sides empty)"."""
    out = tmp_path / "cap.bin"
    assert run("encode", str(DATA / "binance_btcusdt_depth.json"), "-o", str(out))[0] == 0
    proc = run_process("inspect", str(out), "--levels", "0")
    assert proc.returncode == 0, proc.stderr
    assert "both sides empty" not in proc.stdout
    assert "  levels   not shown (--levels 0); the book holds 100 bids / 100 asks" in proc.stdout
    # an empty book still says so
    empty = tmp_path / "empty.bin"
    empty.write_bytes(encode_message(OrderBook()))
    assert "  levels   (both sides empty)" in run(str(empty), "--levels", "0")[1]


def test_missing_message_index_exits_non_zero(capture: Path) -> None:
    """--message 7 of a 3-message capture printed "no message 7" and exited 0."""
    proc = run_process("inspect", str(capture), "--message", "7")
    assert proc.returncode == 2
    assert proc.stderr == f"orderbook inspect: no message 7 in {capture}: it holds 3 message(s), 0..2\n"
    assert proc.stdout == ""
    proc = run_process("inspect", str(capture), "--message", "7", "--json")
    assert proc.returncode == 2 and "no message 7" in proc.stderr and proc.stdout == ""
    # a one-message file no longer shows message 0 for --message 5
    one = capture.parent / "one.bin"
    one.write_bytes(capture.read_bytes()[:M])
    assert run(str(one), "--message", "5")[0] == 2
    # an index in range works, also in --json (only that message)
    code, report = run_json(str(capture), "--message", "1")
    assert code == 0 and [m["index"] for m in report["messages"]] == [1]


def test_message_index_of_a_skipped_message(tmp_path: Path, capture: Path) -> None:
    data = bytearray(capture.read_bytes())
    data[M + 1000] ^= 0x01                                  # message 1: bad checksum
    path = tmp_path / "crc.bin"
    path.write_bytes(bytes(data))
    code, text = run(str(path), "--message", "1")
    assert code == 1
    assert f"  message 1 was not decoded: see the error at offset {M}" in text
    assert f"error at offset {M}: ChecksumError" in text


def test_broken_pipe_exits_quietly(tmp_path: Path) -> None:
    """`python -m orderbook inspect capture | head -1` ended in a BrokenPipeError traceback."""
    path = tmp_path / "long.bin"
    book = OrderBook.from_snapshot([[f"{30000 - i}", "1"] for i in range(128)],
                                   [[f"{30001 + i}", "1"] for i in range(128)])
    path.write_bytes(encode_message(book, timestamp_ns=0) * 40)    # far more text than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "orderbook", "inspect", str(path), "--all",
                             "--levels", "128"], env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()                          # what `head -1` reads ...
    proc.stdout.close()                                     # ... before it exits
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    assert first.startswith(str(path).encode())
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert err == ""
    assert code in (0, 141, -13)


def test_bad_magic_at_offset_0_resynchronises(tmp_path: Path, capture: Path) -> None:
    """Junk at offset 0 hid the intact messages after it ("UnknownFormat")."""
    path = tmp_path / "junk0.bin"
    path.write_bytes(b"JUNK" * 25 + capture.read_bytes())
    proc = run_process("inspect", str(path), "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["kind"] == "capture"
    assert [m["offset"] for m in report["messages"]] == [100, 100 + M, 100 + 2 * M]
    assert report["errors"] == [{
        "offset": 0, "error": "MagicError",
        "message": "bad magic at offset 0: expected 0xdeadbeef, found 0x4b4e554a "
                   "(skipped 100 bytes to the next magic at offset 100)"}]
    proc = run_process(str(path))
    assert proc.returncode == 1 and "capture, 3 messages" in proc.stdout


def test_resynchronisation_skips_a_magic_where_no_message_decodes(tmp_path: Path, capture: Path) -> None:
    """The magic bytes inside junk are not a message: the walk goes on to the next
    magic at which a valid message decodes."""
    data = capture.read_bytes()
    junk = b"xx" + bytes.fromhex("efbeadde") + b"not a message at all" + b"yy"
    path = tmp_path / "fake.bin"
    path.write_bytes(data[:M] + junk + data[M:])
    code, report = run_json(str(path))
    assert code == 1
    assert [m["offset"] for m in report["messages"]] == [0, M + len(junk), 2 * M + len(junk)]
    (err,) = report["errors"]
    assert err["offset"] == M
    assert err["message"].endswith(f"(skipped {len(junk)} bytes to the next magic at offset {M + len(junk)})")
    # only a fake magic, nothing decodable after it
    path.write_bytes(data[:M] + junk)
    code, report = run_json(str(path))
    assert code == 1 and report["errors"][0]["message"].endswith(
        f"(no valid message at any of the 1 further magic(s) in the last {len(junk)} bytes)")


def test_precision_error_suggests_the_flag(tmp_path: Path) -> None:
    """The CLI said "pass rounding='half_even'", a Python keyword, not its flag."""
    snap = tmp_path / "precise.json"
    snap.write_text(json.dumps({"lastUpdateId": 1, "bids": [["1.123456789", "1"]], "asks": []}))
    out = tmp_path / "o.bin"
    proc = run_process("encode", str(snap), "-o", str(out))
    assert proc.returncode == 1 and not out.exists()
    assert "--rounding half_even or --rounding down" in proc.stderr
    assert "rounding='" not in proc.stderr
    proc = run_process("encode", str(snap), "-o", str(out), "--rounding", "down")
    assert proc.returncode == 0, proc.stderr


def test_extreme_prices_are_printed(tmp_path: Path) -> None:
    """A well-formed message with prices -2**63 and 2**63-1 crashed the inspector
    (the spread does not fit i64)."""
    book = OrderBook([(2**63 - 1, 2**63 - 1, 2**32 - 1, 2**32 - 1)], [(-2**63, 1)],
                     snapshot_timestamp_ns=2**64 - 1, sequence=2**64 - 1, asset_id=2**64 - 1,
                     venue_id=2**16 - 1, asset_type=255, reserved=255)
    path = tmp_path / "extreme.bin"
    path.write_bytes(encode_message(book, sequence=2**64 - 1, timestamp_ns=2**64 - 1, source=255,
                                    relay_domain=255, flags=255))
    proc = run_process("inspect", str(path), "--all")
    assert proc.returncode == 1, proc.stderr                # invalid (crossed, negative), not a crash
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    assert "92233720368.54775807 | -92233720368.54775808" in proc.stdout
    assert "  spread   -184467440737.09551615 (bps undefined)" in proc.stdout
    assert "venue_id 65535  asset_type 255  reserved 255" in proc.stdout
    assert "relay_domain 255  source 255  flags 0xff" in proc.stdout
    assert "validate INVALID" in proc.stdout
    proc = run_process("inspect", str(path), "--json")
    assert proc.returncode == 1, proc.stderr
    book_json = json.loads(proc.stdout)["messages"][0]["book"]
    assert book_json["spread"] == "-184467440737.09551615"
    assert (book_json["venue_name"], book_json["asset_type_name"]) == (None, None)
    # a factor that is not a power of ten: raw integers, also for the spread
    odd = OrderBook([(2**63 - 1, 1)], [(-2**63, 1)], precision_factor=3)
    path.write_bytes(encode_message(odd, timestamp_ns=0))
    proc = run_process("inspect", str(path))
    assert proc.returncode == 1 and f"spread   {-2**64 + 1}" in proc.stdout, proc.stderr


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    """Deeply nested JSON to encode raised RecursionError."""
    out = tmp_path / "o.bin"
    for text in ("[" * 200_000 + "]" * 200_000, '{"a":' * 200_000 + "1" + "}" * 200_000):
        deep = tmp_path / "deep.json"
        deep.write_text(text)
        proc = run_process("encode", str(deep), "-o", str(out))
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
        assert proc.stderr == f"orderbook encode: {deep}: JSON nested too deeply to read (not a depth snapshot)\n"
        assert not out.exists()


def test_encode_refuses_another_venues_json(tmp_path: Path) -> None:
    out = tmp_path / "o.bin"
    proc = run_process("encode", str(DATA / "coinbase_btcusd_book.json"), "-o", str(out), "--venue", "binance")
    assert proc.returncode == 1 and not out.exists()
    assert "this is a Coinbase response, not a Binance one (keys found: [" in proc.stderr
