"""The whole path in one command: venue snapshot -> book -> message -> socket
-> decoded book, with two processes on this machine.

Starts examples/subscriber.py, waits until it listens, runs
examples/publisher.py against it for a few seconds, then prints both sides'
totals and checks that every message arrived intact (Unix socket: none may be
lost; UDP may drop under load, which is reported, not failed).

    python examples/pipeline.py                      # Unix datagram socket, 2 s
    python examples/pipeline.py --udp --seconds 5    # UDP on 127.0.0.1
    python examples/pipeline.py --mode sendmsg --count 1000

Exit status 0 when the run was clean.
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
from typing import IO, Any, Dict, List, Optional, Sequence

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


def run(*, udp: bool, seconds: Optional[float], count: Optional[int], mode: str,
        timeout: float = 60.0) -> int:
    py = sys.executable
    sub_lines: List[str] = []
    pub_lines: List[str] = []
    with tempfile.TemporaryDirectory(prefix="orderbook-") as tmp:
        where = ["--udp", "127.0.0.1:0"] if udp else ["--unix", os.path.join(tmp, "book.sock")]
        sub = subprocess.Popen([py, str(HERE / "subscriber.py"), *where, "--json-summary",
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
                                    "--json-summary", *limits],
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
    sent = _summary(pub_lines).get("sent", 0)
    got = _summary(sub_lines)
    received, errors, lost = got.get("received", 0), got.get("errors", -1), got.get("lost", 0)
    ok = pub.returncode == 0 and sub.returncode == 0 and received > 0 and errors == 0
    if not udp:
        ok = ok and received == sent and lost == 0
    verdict = "ok" if ok else "FAILED"
    print(f"pipeline {verdict}: sent {sent:,}, received {received:,} "
          f"({got.get('rate', 0):,.0f} msg/s), {errors} errors, {lost} lost "
          f"over {'UDP' if udp else 'a Unix datagram socket'}, mode {mode}")
    return 0 if ok else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run publisher and subscriber against each other.")
    parser.add_argument("--udp", action="store_true", help="UDP on 127.0.0.1 instead of a Unix socket")
    parser.add_argument("--seconds", type=float, help="publish for this long (default 2)")
    parser.add_argument("--count", type=int, help="publish this many messages")
    parser.add_argument("--mode", choices=("buffer", "sendmsg"), default="buffer")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None or args.count is not None else 2.0
    return run(udp=args.udp, seconds=seconds, count=args.count, mode=args.mode)


if __name__ == "__main__":
    sys.exit(main())
