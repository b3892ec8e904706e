"""The examples end to end: publisher and subscriber over local sockets,
briefly (a few hundred messages), and the pieces they are made of."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List

import pytest

import orderbook
from orderbook import Message, OrderBook, decode_message, encode_message, to_snapshot

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = EXAMPLES / "data"
TIMEOUT = 120

needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module           # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def env() -> Dict[str, str]:
    e = dict(os.environ)
    root = str(Path(orderbook.__file__).resolve().parent.parent)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (root, e.get("PYTHONPATH")) if p)
    return e


def summary(stdout: str) -> Dict[str, Any]:
    value = json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])
    assert isinstance(value, dict)
    return value


@needs_unix
@pytest.mark.parametrize("mode", ["buffer", "sendmsg"])
def test_pipeline_script_over_a_unix_socket(mode: str) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py"), "--count", "300", "--mode", mode],
                          env=env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "subscriber: listening on unix " in proc.stdout
    assert "publisher: sent 300 messages of 6,237 bytes" in proc.stdout
    assert "subscriber: received 300 messages" in proc.stdout
    assert f"pipeline ok: sent 300, received 300 (" in proc.stdout
    assert "last message: seq 299  venue " in proc.stdout
    assert "bid 34354.81000000" in proc.stdout


def test_pipeline_script_over_udp() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py"), "--udp", "--count", "300",
                           "--mode", "sendmsg"],
                          env=env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "subscriber: listening on udp 127.0.0.1:" in proc.stdout
    assert "pipeline ok: sent 300, received " in proc.stdout


@needs_unix
def test_publisher_and_subscriber_processes(tmp_path: Path) -> None:
    """The two scripts by hand, as the README shows them; rate-limited so
    that several status lines appear."""
    path = str(tmp_path / "ob.sock")
    sub = subprocess.Popen([sys.executable, str(EXAMPLES / "subscriber.py"), "--unix", path, "--interval",
                            "0.1", "--json-summary", "--idle-timeout", "30"],
                           env=env(), stdout=subprocess.PIPE, text=True)
    try:
        assert sub.stdout is not None
        assert sub.stdout.readline().startswith("subscriber: listening on unix ")
        pub = subprocess.run([sys.executable, str(EXAMPLES / "publisher.py"), "--unix", path, "--count", "400",
                              "--rate", "1000", "--json-summary", str(DATA / "kraken_xbtusd_depth.json")],
                             env=env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
        out, _ = sub.communicate(timeout=TIMEOUT)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    assert pub.returncode == 0, pub.stdout + pub.stderr
    assert summary(pub.stdout)["sent"] == 400
    assert sub.returncode == 0, out
    got = summary(out)
    assert (got["received"], got["errors"], got["lost"]) == (400, 0, 0)
    assert got["by_venue"] == {"3": 400}
    status = [line for line in out.splitlines() if " msg/s  seq " in line]
    assert len(status) >= 2                      # ~0.4 s at 1,000 msg/s, a line per 0.1 s
    assert "venue 3  bid 34354.81000000 x 0.001  ask 34354.82000000 x 0.001  spread 0.01 (0 bps)" in status[-1]


def test_publisher_without_subscriber(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / "publisher.py"), "--unix", str(tmp_path / "none"),
                           "--count", "1"], env=env(), capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)
    assert proc.returncode == 1
    assert "nobody is listening" in proc.stderr or "No such file" in proc.stderr


def test_sendmsg_framing_is_encode_message() -> None:
    """Header + TLV header built by the sendmsg framer, then the book's own
    bytes: exactly the message encode_message makes."""
    publisher = example("publisher")
    book = OrderBook.from_snapshot([["1.5", "2"]], [["1.6", "3"]], venue_id=1)
    framer = publisher.SendmsgFramer()
    with memoryview(book) as view:
        framer.frame(view, 12345, 1_700_000_000_000_000_000)
    wire = bytes(framer.head) + bytes(book)
    assert wire == encode_message(book, sequence=12345, timestamp_ns=1_700_000_000_000_000_000,
                                  source=publisher.SOURCE)
    assert decode_message(wire).book == book


@needs_unix
def test_publish_and_serve_in_process() -> None:
    """publish() and serve() over a socket pair: every message decoded into
    one reused Message, the decimal text intact."""
    publisher, subscriber = example("publisher"), example("subscriber")
    loaded = publisher.load_books(sorted(DATA.glob("*.json")), truncate=False)
    books: List[OrderBook] = [b for _, b in loaded]
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    result: Dict[str, Any] = {}

    def receive() -> None:
        result["stats"] = subscriber.serve(b, interval=60, idle_timeout=30, quiet=True)
    reader = threading.Thread(target=receive)
    reader.start()
    try:
        sent, _ = publisher.publish(a, books, count=150, seconds=None, rate=0, mode="buffer")
        a.send(publisher.END_OF_STREAM)
        reader.join(TIMEOUT)
    finally:
        a.close()
        b.close()
    stats = result["stats"]
    assert sent == stats.received == 150 and stats.errors == 0 and stats.lost == 0
    assert stats.by_venue == {1: 50, 2: 50, 3: 50}


def test_subscriber_counts_bad_datagrams() -> None:
    subscriber = example("subscriber")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        good = encode_message(OrderBook.from_snapshot([["1", "1"]], [["2", "1"]]), sequence=0)
        bad = bytearray(good)
        bad[100] ^= 1
        a.send(good)
        a.send(bytes(bad))
        a.send(good[:1000])                                          # cut short
        a.send(encode_message(OrderBook(), sequence=5) + b"xx")       # a message and more
        a.send(encode_message(OrderBook(), sequence=6))
        a.send(b"")
        stats = subscriber.serve(b, interval=60, idle_timeout=10, quiet=True)
    finally:
        a.close()
        b.close()
    assert (stats.received, stats.errors, stats.lost) == (2, 3, 5)
    assert "datagram of 6239 bytes holds a message of 6237" in stats.last_error


def test_describe_shows_exact_decimals() -> None:
    subscriber = example("subscriber")
    book = OrderBook.from_snapshot([["27012.45", "0.251"]], [["27012.46", "1.5"]], venue_id=4)
    assert subscriber.describe(book) == ("venue 4  bid 27012.45000000 x 0.251  ask 27012.46000000 x 1.5  "
                                         "spread 0.01 (0 bps)")
    assert subscriber.describe(OrderBook()) == "venue 0  bid -  ask -"
    odd = OrderBook([(7, 2)], [(9, 1)], precision_factor=3)         # not a power of ten: raw integers
    assert subscriber.describe(odd) == "venue 0  bid 7 x 2  ask 9 x 1  spread 2 (2500 bps)"
    msg = Message()
    decode_message(encode_message(book), into=msg)
    assert to_snapshot(msg.book, strip_zeros=True) == {"bids": [["27012.45", "0.251"]],
                                                       "asks": [["27012.46", "1.5"]]}
