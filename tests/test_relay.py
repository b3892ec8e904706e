"""Streams of messages over Unix stream sockets, plain and through a relay
that forwards chunks as upstream's does (tests/relay_upstream.py).

* plain stream, writes cut at random boundaries: every message arrives,
  intact, in order; nothing skipped;
* through the upstream-style relay: every message that arrives is intact
  (CRC-32 verified, and its book is the one published with that sequence),
  the losses are counted (received + lost covers every sequence in the span),
  and no sequence is reported twice; a slow subscriber does not stall the
  others; a subscriber that connects mid-stream starts cleanly;
* the example scripts, as subprocesses, both ways.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orderbook import Message, OrderBook, crc32, encode_message, message_size
from orderbook.relay import (
    IDENTIFICATION_SIZE, RelayPublisher, RelaySubscriber, identification_frame,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from relay_upstream import UpstreamRelay  # noqa: E402


def make_book(i, capacity=128):
    return OrderBook(bids=[(900_000 - j - i % 17, 1 + j + i % 5) for j in range(12)],
                     asks=[(900_001 + j + i % 19, 3 + j) for j in range(12)],
                     sequence=i, venue_id=100, capacity=capacity)


BOOKS = [make_book(i, 50 if i % 5 == 0 else 128) for i in range(32)]


def book_for(seq):
    return BOOKS[seq % len(BOOKS)]


def short_path(tmp_path, name):
    # AF_UNIX paths are limited to ~107 bytes: use a short directory when pytest's is long
    p = tmp_path / name
    if len(str(p)) < 100:
        return str(p)
    import tempfile
    return os.path.join(tempfile.mkdtemp(prefix="ob"), name)


def write_random_chunks(sock, data, rng, max_chunk=9000, pause=0.0):
    pos = 0
    while pos < len(data):
        k = rng.randint(1, max_chunk)
        sock.sendall(data[pos:pos + k])
        pos += k
        if pause and rng.random() < 0.2:
            time.sleep(pause)


ERRORS = []


def consume(sub, out, check=True):
    """Every message's sequence into `out`; a wrong book is recorded in ERRORS
    (a failed assert in a thread would not fail the test)."""
    try:
        for msg in sub:
            seq = msg.header.sequence
            if check and msg.book != book_for(seq):
                ERRORS.append(f"sequence {seq}: not the book published")
            out.append(seq)
    except Exception as e:  # noqa: BLE001
        ERRORS.append(repr(e))


@pytest.fixture(autouse=True)
def no_thread_errors():
    ERRORS.clear()
    yield
    assert ERRORS == []


def test_identification_frame():
    f = identification_frame(source=7)
    assert len(f) == IDENTIFICATION_SIZE == 32
    assert int.from_bytes(f[:4], "little") == 0xDEADBEEF
    assert f[24:32] == bytes(8)          # payload_size 0, checksum 0
    assert f[4] == 0 and f[5] == 1 and f[6] == 7


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plain_stream_random_boundaries_loses_nothing(seed):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    n = 1500
    data = identification_frame(1) + b"".join(
        encode_message(book_for(i), sequence=i, source=1) for i in range(n))
    rng = random.Random(seed)
    t = threading.Thread(target=lambda: (write_random_chunks(a, data, rng, 20_000), a.shutdown(socket.SHUT_WR)))
    t.start()
    got = []
    with RelaySubscriber(b, into=Message(), timeout=10) as sub:
        consume(sub, got)
    t.join()
    a.close()
    assert got == list(range(n))
    assert sub.lost == 0 and sub.duplicates == 0 and sub.skipped_bytes == 0
    assert sub.identification_frames == 1
    assert not sub.timed_out


def test_plain_stream_with_publisher_helper():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    got = []
    t = threading.Thread(target=lambda: consume(RelaySubscriber(b, timeout=10), got))
    t.start()
    with RelayPublisher(sock=a, source=4, discard_echo=False) as pub:
        for i in range(500):
            assert pub.send(book_for(i)) == i
    t.join()
    assert got == list(range(500))


def _relay_run(tmp_path, *, n, chunker, queue_capacity=10_000, slow=False, late=False,
               n_subscribers=3):
    path = short_path(tmp_path, "relay.sock")
    results = {}
    with UpstreamRelay(path, queue_capacity=queue_capacity) as relay:
        subs = [RelaySubscriber(path, into=Message(), timeout=1.5) for _ in range(n_subscribers)]
        threads = []
        for k, sub in enumerate(subs):
            out = results.setdefault(f"fast{k}", [])
            threads.append(threading.Thread(target=consume, args=(sub, out)))
        slow_sub = None
        if slow:
            slow_sub = RelaySubscriber(path, timeout=3.0)
            slow_sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow_out = results.setdefault("slow", [])

            def slow_consume():
                for msg in slow_sub:
                    slow_out.append(msg.header.sequence)
                    time.sleep(0.002)                 # 500 msg/s at most
            threads.append(threading.Thread(target=slow_consume))
        # wait until the relay has subscribed them all
        deadline = time.monotonic() + 5
        while relay.client_count() < len(subs) + (1 if slow else 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        for t in threads:
            t.start()
        pub = RelayPublisher(path, source=1)
        late_sub = None
        late_thread = None
        for i in range(n):
            chunker(pub, i)
            if late and i == n // 2:
                late_sub = RelaySubscriber(path, into=Message(), timeout=1.5)
                late_out = results.setdefault("late", [])
                late_thread = threading.Thread(target=consume, args=(late_sub, late_out))
                late_thread.start()
        pub.close()
        fast_done = time.monotonic()
        for t in threads[:len(subs)]:
            t.join(30)
        fast_done = time.monotonic() - fast_done
        if late_thread is not None:
            late_thread.join(30)
        for t in threads[len(subs):]:
            t.join(60)
        stats = {"relay": {"forwarded": relay.forwarded_chunks, "dropped": relay.dropped_chunks,
                           "lagged": {**relay.lagged_by_client,
                                      **{c.id: c.lagged for c in list(relay.clients.values())}}}}
        for k, sub in enumerate(subs):
            stats[f"fast{k}"] = sub.stats()
            sub.close()
        if slow_sub is not None:
            stats["slow"] = slow_sub.stats()
            slow_sub.close()
        if late_sub is not None:
            stats["late"] = late_sub.stats()
            late_sub.close()
    return results, stats, fast_done


def _check_consistent(seqs, st, n):
    """Intact (checked while consuming), none twice, losses counted."""
    assert len(seqs) == len(set(seqs)), "a sequence was reported twice"
    assert st["duplicates"] == 0 or len(seqs) == len(set(seqs))
    assert seqs == sorted(seqs)                 # one publisher, one stream: in order
    if seqs:
        span = seqs[-1] - seqs[0] + 1
        assert st["received"] + st["lost"] == span
        assert st["received"] == len(seqs)
    assert all(0 <= s < n for s in seqs)


def test_relay_whole_messages(tmp_path):
    n = 1200

    def whole(pub, i):
        pub.send(book_for(i), sequence=i)
        if i % 50 == 0:
            time.sleep(0.001)

    results, stats, _ = _relay_run(tmp_path, n=n, chunker=whole, late=True)
    for name, seqs in results.items():
        _check_consistent(seqs, stats[name], n)
        assert stats[name]["identification_frames"] >= (0 if name == "late" else 1)
    # every fast subscriber saw the same forwarded chunks, so the same messages
    assert results["fast0"] == results["fast1"] == results["fast2"]
    assert len(results["fast0"]) > 0
    print(f"\nrelay, whole messages as fast as possible: {len(results['fast0'])} of {n} arrived;",
          json.dumps(stats))
    late = results["late"]
    assert late and late[0] >= n // 2 - 50 and late[-1] == results["fast0"][-1]


def test_relay_paced_whole_messages_mostly_arrive(tmp_path):
    # one message per write and the relay idle between them: each read is one message
    n = 300

    def paced(pub, i):
        pub.send(book_for(i), sequence=i)
        time.sleep(0.002)

    results, stats, _ = _relay_run(tmp_path, n=n, chunker=paced, n_subscribers=2)
    for name, seqs in results.items():
        _check_consistent(seqs, stats[name], n)
    assert len(results["fast0"]) >= n * 0.9
    print(f"\nrelay, paced: {len(results['fast0'])} of {n} arrived")


def test_relay_random_boundaries_counts_losses(tmp_path):
    # each message written whole or cut at 1-3 random points, one write per piece:
    # the relay forwards the pieces that start with the magic and drops the rest
    n = 800
    rng = random.Random(11)

    def random_chunks(pub, i):
        data = bytes(pub.encode(book_for(i), sequence=i))
        cuts = sorted(rng.sample(range(1, len(data)), rng.choice([0, 0, 1, 2, 3])))
        for a, b in zip([0] + cuts, cuts + [len(data)]):
            pub.send_bytes(data[a:b])
            time.sleep(0.0003)          # the relay reads about one write per chunk

    results, stats, _ = _relay_run(tmp_path, n=n, chunker=random_chunks)
    print("\nrelay, random chunk boundaries:", json.dumps(stats))
    for name, seqs in results.items():
        _check_consistent(seqs, stats[name], n)
    st = stats["fast0"]
    # pieces that do not start with the magic were dropped by the relay: the heads left
    # without their tails fail their CRC and are skipped, the messages counted lost
    assert stats["relay"]["dropped"] > 0
    assert st["lost"] > 0 and st["skipped_messages"] > 0 and st["skipped_bytes"] > 0
    assert 0 < st["received"] < n


def test_relay_slow_subscriber_does_not_stall_the_others(tmp_path):
    # paced so that each relay chunk is about one message: many chunks, a short queue
    n = 1500

    def paced(pub, i):
        pub.send(book_for(i), sequence=i)
        time.sleep(0.0003)

    results, stats, fast_wait = _relay_run(tmp_path, n=n, chunker=paced, slow=True, queue_capacity=64,
                                           n_subscribers=2)
    for name, seqs in results.items():
        _check_consistent(seqs, stats[name], n)
    # the fast ones got (nearly) everything, the slow one lagged and lost the oldest chunks
    assert len(results["fast0"]) >= n * 0.8
    assert len(results["fast0"]) > len(results["slow"])
    assert stats["slow"]["lost"] > 0
    assert max(stats["relay"]["lagged"].values()) > 0
    # and the fast ones were done within their idle timeout of the publisher's end
    assert fast_wait < 1.5 + 2.0
    print("\nrelay, slow subscriber:", json.dumps(stats))


# --- the example scripts --------------------------------------------------------------

def _run_example(args, **kw):
    return subprocess.Popen([sys.executable, str(ROOT / "examples" / args[0]), *args[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT), **kw)


def _summary(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_examples_plain_stream(tmp_path):
    path = short_path(tmp_path, "plain.sock")
    sub = _run_example(["relay_subscriber.py", "--listen", path, "--idle-timeout", "5", "--quiet",
                        "--json-summary", "--list"])
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    pub = _run_example(["relay_publisher.py", "--unix", path, "--count", "2000", "--random-chunks",
                        "--seed", "5", "--json-summary"])
    p = _summary(pub)
    s = _summary(sub)
    assert p["sent"] == 2000
    assert s["received"] == 2000 and s["lost"] == 0 and s["duplicates"] == 0
    assert s["skipped_bytes"] == 0 and s["identification_frames"] == 1
    assert [m[1] for m in s["messages"]] == list(range(2000))


def test_examples_through_relay(tmp_path):
    path = short_path(tmp_path, "relay.sock")
    with UpstreamRelay(path) as relay:
        subs = [_run_example(["relay_subscriber.py", "--unix", path, "--idle-timeout", "2", "--quiet",
                              "--json-summary", "--list"]) for _ in range(2)]
        deadline = time.monotonic() + 10
        while relay.client_count() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        pub = _run_example(["relay_publisher.py", "--unix", path, "--count", "3000", "--json-summary"])
        p = _summary(pub)
        summaries = [_summary(s) for s in subs]
    assert p["sent"] == 3000
    for s in summaries:
        seqs = [m[1] for m in s["messages"]]
        assert len(seqs) == len(set(seqs)) == s["received"]
        assert s["duplicates"] == 0
        if seqs:
            assert s["received"] + s["lost"] == seqs[-1] - seqs[0] + 1
        assert s["received"] > 0
