"""The whole path in one command: venue snapshot -> book -> message -> socket
-> decoded book, with two processes on this machine.

Starts examples/subscriber.py, waits until it listens, runs
examples/publisher.py against it for a few seconds, then prints both sides'
totals and checks that every message arrived intact.  Lost messages are
``sent - received`` (the publisher's count against the subscriber's), and
always reported as such:

* over a Unix datagram socket the run must be lossless: any loss, any
  corrupt datagram, fails it ("pipeline FAILED", exit 1);
* over UDP datagrams may be dropped under load: a run with losses ends with
  "pipeline LOSSY" and the number and share lost, and exits 0 -- unless
  ``--lossless`` says this run was supposed to lose nothing (exit 1).

    python examples/pipeline.py                      # Unix datagram socket, 2 s
    python examples/pipeline.py --udp --seconds 5    # UDP on 127.0.0.1
    python examples/pipeline.py --mode sendmsg --count 1000 --capacity 50

Exit status 0 when the run was clean (or, over UDP without --lossless, only lossy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

import orderbook

HERE = Path(__file__).resolve().parent


def _env() -> Dict[str, str]:
    # the children import the very orderbook this process imported
    env = dict(os.environ)
    root = str(Path(orderbook.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _summary(lines: List[str]) -> Dict[str, Any]:
    for line in reversed(lines):
        if line.startswith("{"):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return {}


def _pump(stream: IO[str], into: List[str]) -> None:
    """Echo a child's output as it comes (not its JSON totals) and keep it."""
    for line in stream:
        into.append(line.rstrip("\n"))
        if not line.startswith("{"):
            print(line, end="", flush=True)


def verdict(*, sent: int, received: int, errors: int, udp: bool, lossless: bool,
            children_ok: bool = True) -> Tuple[str, int]:
    """The one-word verdict and the exit status of a run.

    ``ok``: every message sent arrived intact.  ``LOSSY``: some were lost over
    UDP, which may drop datagrams, and the run was not required to be lossless.
    ``FAILED``: anything else -- a child failed, nothing arrived, a corrupt
    datagram, more received than sent, or a loss where none was allowed."""
    lost = sent - received
    if not children_ok or received <= 0 or errors != 0 or lost < 0:
        return "FAILED", 1
    if lost == 0:
        return "ok", 0
    if udp and not lossless:
        return "LOSSY", 0
    return "FAILED", 1


def run(*, udp: bool, seconds: Optional[float], count: Optional[int], mode: str,
        capacity: int = 128, lossless: bool = False, timeout: float = 60.0,
        subscriber: Optional[Path] = None) -> int:
    """Run both children and print the verdict; the exit status.  ``subscriber``
    is the subscriber script (default: examples/subscriber.py)."""
    py = sys.executable
    sub_lines: List[str] = []
    pub_lines: List[str] = []
    with tempfile.TemporaryDirectory(prefix="orderbook-") as tmp:
        where = ["--udp", "127.0.0.1:0"] if udp else ["--unix", os.path.join(tmp, "book.sock")]
        sub = subprocess.Popen([py, str(subscriber or HERE / "subscriber.py"), *where, "--json-summary",
                                "--idle-timeout", "5"],
                               stdout=subprocess.PIPE, text=True, env=_env())
        assert sub.stdout is not None
        try:
            first = sub.stdout.readline()
            if not first.startswith("subscriber: listening on "):
                print(f"pipeline: the subscriber did not start: {first!r}", file=sys.stderr)
                return 1
            print(first, end="", flush=True)
            reader = threading.Thread(target=_pump, args=(sub.stdout, sub_lines), daemon=True)
            reader.start()
            if udp:      # port 0 was bound to a free port: send there
                where = ["--udp", first.rsplit(" ", 1)[1].strip()]
            limits = (["--count", str(count)] if count is not None else []) + \
                     (["--seconds", str(seconds)] if seconds is not None else [])
            pub = subprocess.Popen([py, str(HERE / "publisher.py"), *where, "--mode", mode,
                                    "--capacity", str(capacity), "--truncate", "--json-summary",
                                    *limits],
                                   stdout=subprocess.PIPE, text=True, env=_env())
            assert pub.stdout is not None
            _pump(pub.stdout, pub_lines)
            pub.wait(timeout=timeout)
            sub.wait(timeout=timeout)
            reader.join(timeout=timeout)
        finally:
            for proc in (sub, locals().get("pub")):
                if isinstance(proc, subprocess.Popen) and proc.poll() is None:
                    proc.kill()
                    proc.wait()
    sent = int(_summary(pub_lines).get("sent", 0))
    got = _summary(sub_lines)
    received, errors = int(got.get("received", 0)), int(got.get("errors", -1))
    word, status = verdict(sent=sent, received=received, errors=errors, udp=udp, lossless=lossless,
                           children_ok=pub.returncode == 0 and sub.returncode == 0)
    lost = sent - received
    share = f" ({100 * lost / sent:.2f}%)" if sent and lost > 0 else ""
    print(f"pipeline {word}: sent {sent:,}, received {received:,} "
          f"({float(got.get('rate', 0)):,.0f} msg/s), {errors} errors, {lost:,} lost{share} "
          f"over {'UDP' if udp else 'a Unix datagram socket'}, mode {mode}, capacity {capacity}")
    if word == "LOSSY":
        print("pipeline: UDP dropped datagrams; --lossless makes that a failure, --rate N paces the publisher")
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run publisher and subscriber against each other.")
    parser.add_argument("--udp", action="store_true", help="UDP on 127.0.0.1 instead of a Unix socket")
    parser.add_argument("--seconds", type=float, help="publish for this long (default 2)")
    parser.add_argument("--count", type=int, help="publish this many messages")
    parser.add_argument("--mode", choices=("buffer", "sendmsg"), default="buffer")
    parser.add_argument("--capacity", type=int, choices=orderbook.CAPACITIES, default=128,
                        help="levels per side of the books sent (default 128; 50 keeps the best 50)")
    parser.add_argument("--lossless", action="store_true",
                        help="over UDP too, fail when a message is lost (a Unix socket always must be lossless)")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None or args.count is not None else 2.0
    return run(udp=args.udp, seconds=seconds, count=args.count, mode=args.mode, capacity=args.capacity,
               lossless=args.lossless)


if __name__ == "__main__":
    sys.exit(main())
