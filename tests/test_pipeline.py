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
from orderbook import (
    InstrumentId, Message, OrderBook, SourceType, VenueId, decode_message, encode_message, to_snapshot,
)

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


@needs_unix
def test_pipeline_script_at_capacity_50() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py"), "--count", "200", "--capacity", "50",
                           "--mode", "sendmsg"],
                          env=env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"publisher: sent 200 messages of {orderbook.message_size(50):,} bytes" in proc.stdout
    assert "pipeline ok: sent 200, received 200 (" in proc.stdout
    assert "0 lost over a Unix datagram socket, mode sendmsg, capacity 50" in proc.stdout
    assert "(capacity 50)  bid 34354.81000000" in proc.stdout


def test_pipeline_script_over_udp() -> None:
    """UDP may drop datagrams: the run then says LOSSY with the count, never "ok"."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py"), "--udp", "--count", "300",
                           "--mode", "sendmsg"],
                          env=env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "subscriber: listening on udp 127.0.0.1:" in proc.stdout
    final = [line for line in proc.stdout.splitlines() if line.startswith("pipeline ")]
    assert final, proc.stdout
    if final[0].startswith("pipeline ok: "):
        assert final[0].startswith("pipeline ok: sent 300, received 300 (") and " 0 lost " in final[0]
    else:
        assert final[0].startswith("pipeline LOSSY: sent 300, received ")
        assert " 0 lost " not in final[0] and "%) over UDP" in final[0]


def test_pipeline_verdicts_are_honest() -> None:
    """With --udp a run that lost messages said "pipeline ok"."""
    pipeline = example("pipeline")

    def v(sent: int, received: int, *, errors: int = 0, udp: bool = False, lossless: bool = False,
          children_ok: bool = True) -> Any:
        return pipeline.verdict(sent=sent, received=received, errors=errors, udp=udp, lossless=lossless,
                                children_ok=children_ok)
    assert v(300, 300) == ("ok", 0) and v(300, 300, udp=True) == ("ok", 0)
    assert v(300, 280, udp=True) == ("LOSSY", 0)                 # reported as losses, not "ok"
    assert v(300, 280, udp=True, lossless=True) == ("FAILED", 1)  # supposed to be lossless
    assert v(300, 280) == ("FAILED", 1)                          # a Unix socket must not lose any
    assert v(300, 300, errors=1, udp=True) == ("FAILED", 1)
    assert v(300, 0, udp=True) == ("FAILED", 1)
    assert v(300, 301) == ("FAILED", 1)
    assert v(300, 300, children_ok=False) == ("FAILED", 1)


_DROPPING_SUBSCRIBER = """\
import sys
sys.path.insert(0, {examples!r})
import subscriber


class Dropping:
    # a socket that loses every other datagram, as a congested UDP path would

    def __init__(self, sock):
        self.sock, self.n = sock, 0

    def recv_into(self, buf):
        while True:
            n = self.sock.recv_into(buf)
            self.n += 1
            if n == 0 or self.n % 2:
                return n

    def __getattr__(self, name):
        return getattr(self.sock, name)


bind = subscriber.bind_socket
subscriber.bind_socket = lambda unix, udp: Dropping(bind(unix, udp))
sys.exit(subscriber.main())
"""


@pytest.mark.parametrize("udp, lossless, status, word", [
    (True, False, 0, "LOSSY"),        # UDP may drop: reported as losses, exit 0
    (True, True, 1, "FAILED"),        # ... unless the run was supposed to be lossless
    (False, False, 1, "FAILED"),      # a Unix socket must not lose any
])
def test_pipeline_reports_losses_end_to_end(tmp_path: Path, udp: bool, lossless: bool, status: int,
                                            word: str) -> None:
    """A subscriber that loses half the messages: the run says so, with the count."""
    if not udp and not hasattr(socket, "AF_UNIX"):
        pytest.skip("needs Unix sockets")
    lossy = tmp_path / "dropping_subscriber.py"
    lossy.write_text(_DROPPING_SUBSCRIBER.format(examples=str(EXAMPLES)))
    code = (f"import sys, pathlib; sys.path.insert(0, {str(EXAMPLES)!r}); import pipeline; "
            f"sys.exit(pipeline.run(udp={udp}, seconds=None, count=100, mode='buffer', "
            f"lossless={lossless}, subscriber=pathlib.Path({str(lossy)!r})))")
    proc = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert f"pipeline {word}: sent 100, received 50 (" in proc.stdout
    assert ", 0 errors, 50 lost (50.00%) over " in proc.stdout
    assert "pipeline ok" not in proc.stdout


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
    assert got["by_venue"] == {"101": 400}               # upstream's VenueId for Kraken
    status = [line for line in out.splitlines() if " msg/s  seq " in line]
    assert len(status) >= 2                      # ~0.4 s at 1,000 msg/s, a line per 0.1 s
    assert ("venue Kraken XXBTZUSD  bid 34354.81000000 x 0.001  ask 34354.82000000 x 0.001  "
            "spread 0.01 (0 bps)") in status[-1]


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
    framer = publisher.SendmsgFramer()
    for capacity in orderbook.CAPACITIES:             # one framer, both sizes
        book = OrderBook.from_snapshot([["1.5", "2"]], [["1.6", "3"]], venue_id=VenueId.BINANCE,
                                       capacity=capacity)
        with memoryview(book) as view:
            framer.frame(view, 12345, 1_700_000_000_000_000_000, SourceType.BINANCE_COLLECTOR)
        wire = bytes(framer.head) + bytes(book)
        assert len(wire) == orderbook.message_size(capacity)
        assert wire == encode_message(book, sequence=12345, timestamp_ns=1_700_000_000_000_000_000,
                                      source=SourceType.BINANCE_COLLECTOR)
        decoded = decode_message(wire)
        assert decoded.book == book and decoded.header.source_name == "BinanceCollector"


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
    assert stats.by_venue == {100: 50, 102: 50, 101: 50}        # upstream's VenueIds
    assert [b.instrument.describe() for b in books] == \
           ["Binance Coin BTCUSDT", "Coinbase Coin BTC-USD", "Kraken Coin XXBTZUSD"]


@needs_unix
def test_publish_capacity_50_and_sources() -> None:
    publisher, subscriber = example("publisher"), example("subscriber")
    books = [b for _, b in publisher.load_books(sorted(DATA.glob("*.json")), truncate=True, capacity=50)]
    assert {b.capacity for b in books} == {50}
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for mode in ("buffer", "sendmsg"):
            publisher.publish(a, books, count=3, seconds=None, rate=0, mode=mode)
        seen = []
        buf = bytearray(65536)
        for _ in range(6):
            n = b.recv_into(buf)
            assert n == orderbook.message_size(50)
            m = decode_message(buf[:n])
            seen.append((m.header.source_name, m.book.venue_id, m.book.capacity))
    finally:
        a.close()
        b.close()
    assert seen == [("BinanceCollector", 100, 50), ("CoinbaseCollector", 102, 50), ("KrakenCollector", 101, 50)] * 2


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


def test_subscriber_counts_late_datagrams_as_received() -> None:
    """Out of order (UDP): a late message is not lost, and does not make the next
    ones look lost."""
    subscriber = example("subscriber")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for seq in (0, 2, 1, 3, 6):
            a.send(encode_message(OrderBook(), sequence=seq))
        a.send(b"")
        stats = subscriber.serve(b, interval=60, idle_timeout=10, quiet=True)
    finally:
        a.close()
        b.close()
    assert (stats.received, stats.errors, stats.lost, stats.reordered) == (5, 0, 2, 1)


def test_describe_shows_exact_decimals() -> None:
    subscriber = example("subscriber")
    book = OrderBook.from_snapshot([["27012.45", "0.251"]], [["27012.46", "1.5"]], venue_id=4)
    assert subscriber.describe(book) == ("venue TSE  bid 27012.45000000 x 0.251  ask 27012.46000000 x 1.5  "
                                         "spread 0.01 (0 bps)")
    book.instrument = InstrumentId.coin(VenueId.BINANCE, "BTCUSDT")
    assert subscriber.describe(book).startswith("venue Binance BTCUSDT  bid 27012.45000000")
    assert subscriber.describe(OrderBook()) == "venue Generic  bid -  ask -"
    assert subscriber.describe(OrderBook(venue_id=999)) == "venue 999  bid -  ask -"    # no name: the number
    assert subscriber.describe(OrderBook(capacity=50)) == "venue Generic (capacity 50)  bid -  ask -"
    odd = OrderBook([(7, 2)], [(9, 1)], precision_factor=3)         # not a power of ten: raw integers
    assert subscriber.describe(odd) == "venue Generic  bid 7 x 2  ask 9 x 1  spread 2 (2500 bps)"
    msg = Message()
    decode_message(encode_message(book), into=msg)
    assert to_snapshot(msg.book, strip_zeros=True) == {"bids": [["27012.45", "0.251"]],
                                                       "asks": [["27012.46", "1.5"]]}
