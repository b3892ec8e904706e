"""Command line: inspect captures and messages, encode venue snapshots.

    python -m orderbook FILE                 # same as: python -m orderbook inspect FILE
    python -m orderbook inspect FILE [--levels N] [--message I | --all] [--json]
                                     [--no-verify] [--strict] [--kind auto|capture|payload]
                                     [--capacity 128|50]
    python -m orderbook encode SNAPSHOT.json [...] -o OUT [--venue NAME] [--symbol S]
                                     [--capacity 128|50] [--truncate] [--source N]
    python -m orderbook export CAPTURE OUT [--partition-by venue_id,date] [--levels K]
                                     [--scale float64|decimal128]   # Parquet: orderbook/export.py

``inspect`` reads a capture (Protocol V2 messages back to back: one message is
a capture of one) or a single OrderBookTLV payload (6,200 bytes at capacity
128, 2,456 at capacity 50), detected from the first bytes and the size.  It
prints each message's header, the book's fields (named as upstream's
``OrderBookTLV``: ``snapshot_timestamp_ns``, ...; venue, asset type,
instrument, source and relay domain by upstream's name where the number is
known, by number where it is not), its capacity, the best levels as a table
of exact decimals, the spread, and ``validate()``'s verdict.  Corrupt input is
reported with byte offsets, and the walk goes on past a bad checksum or
resynchronises on the next magic at which a valid message decodes -- also
when the junk is at offset 0.  ``--json`` prints one JSON object instead
(numbers as on the wire, plus ``*_name`` fields: null when the number has no
upstream name).

``encode`` turns venue depth snapshots (JSON as the REST APIs return them;
see ``orderbook.venues``) into a capture file, one message per snapshot; the
header ``source`` defaults to the venue's collector (BinanceCollector 1,
CoinbaseCollector 2, KrakenCollector 3).

Exit status: 0 when everything read is well formed and every book validates,
1 when something is corrupt or invalid, 2 on usage errors (including a
``--message`` index the capture does not have) and unreadable files.  When
standard output is closed early (``... | head``) the command stops quietly
with status 141, as a process ended by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

from orderbook import (
    CAPACITIES, HEADER_SIZE, TLV_ORDER_BOOK, ChecksumError, DecimalError, FieldRangeError,
    LayoutError, MagicError, Message, OrderBook, OrderBookError, OrderLevel, RecordError,
    TruncatedError, ValidationError, VersionError, book_size, decode_message, encode_message,
    format_fixed,
)
from orderbook.ids import AssetType, RelayDomain, SourceType, VenueId, describe_instrument

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 128 + 13             # what a shell reports for a process ended by SIGPIPE
MAGIC = struct.pack("<I", 0xDEADBEEF)
_U32 = struct.Struct("<I")
_PAYLOAD_SIZE_AT = 24            # header offset of payload_size
#: the book's fields, named and ordered as upstream's OrderBookTLV header
_BOOK_FIELDS = ("asset_id", "venue_id", "asset_type", "reserved", "sequence",
                "snapshot_timestamp_ns", "precision_factor")
#: payload size -> capacity
_PAYLOAD_SIZES = {book_size(c): c for c in CAPACITIES}


# --- helpers ---------------------------------------------------------------------------

def _decimal(value: int, factor: int) -> str:
    """Exact decimal text when the factor is a power of ten, else the raw integer.
    Any int, also outside i64 (a spread between extreme prices)."""
    try:
        return format_fixed(value, factor)
    except DecimalError:
        return str(value)
    except FieldRangeError:
        digits = _decimals(factor)
        if digits is None:
            return str(value)
        whole, frac = divmod(abs(value), factor)
        sign = "-" if value < 0 else ""
        return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def _name(enum: Any, n: int) -> Optional[str]:
    """Upstream's name of ``n`` in ``enum`` (an orderbook.ids IntEnum), or None."""
    member = enum._value2member_map_.get(n)
    return None if member is None else str(member.upstream_name)


def _named(n: int, name: Optional[str]) -> str:
    """``100 (Binance)`` when the number has a name, else just the number."""
    return f"{n} ({name})" if name is not None else str(n)


def _decimals(factor: int) -> Optional[int]:
    text = str(factor)
    if factor > 0 and text.startswith("1") and set(text[1:]) <= {"0"}:
        return len(text) - 1
    return None


def _utc(ns: int) -> str:
    seconds, frac = divmod(ns, 1_000_000_000)
    try:
        stamp = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "out of datetime range"
    return f"{stamp}.{frac:09d}Z"


def _level_json(lv: OrderLevel, factor: int) -> List[Any]:
    return [_decimal(lv.price, factor), _decimal(lv.size, factor), lv.order_count]


def _book_offset(data: bytes, pos: int) -> Optional[int]:
    """Offset of the OrderBook value inside the (already decoded) message at pos."""
    end = pos + HEADER_SIZE + _U32.unpack_from(data, pos + _PAYLOAD_SIZE_AT)[0]
    at = pos + HEADER_SIZE
    while at < end:
        if data[at] == 255:
            tlv_type, length = data[at + 2], struct.unpack_from("<H", data, at + 3)[0]
            at += 5
        else:
            tlv_type, length = data[at], data[at + 1]
            at += 2
        if tlv_type == TLV_ORDER_BOOK:
            return at
        at += length
    return None


# --- reading ---------------------------------------------------------------------------

class Report:
    """What inspect found: one entry per message (or the payload), and errors."""

    def __init__(self, path: str, size: int, kind: str) -> None:
        self.path, self.size, self.kind = path, size, kind
        self.entries: List[Dict[str, Any]] = []
        self.errors: List[Dict[str, Any]] = []
        self.frames = 0                      # message indices used, decoded or skipped
        self.skipped: Dict[int, int] = {}    # index of a skipped message -> its offset

    def error(self, offset: int, exc: BaseException, note: str = "") -> None:
        self.errors.append({"offset": offset, "error": type(exc).__name__,
                            "message": str(exc) + (f" ({note})" if note else "")})

    @property
    def ok(self) -> bool:
        return not self.errors and all(e["valid"] for e in self.entries)


def _book_json(book: OrderBook, levels: int) -> Dict[str, Any]:
    pf = book.precision_factor
    bid, ask = book.best_bid, book.best_ask
    b: Dict[str, Any] = {name: getattr(book, name) for name in _BOOK_FIELDS}
    b["capacity"] = book.capacity
    b["venue_name"] = _name(VenueId, b["venue_id"])
    b["asset_type_name"] = _name(AssetType, b["asset_type"])
    b["instrument_name"] = describe_instrument(b["asset_id"], b["venue_id"], b["asset_type"], b["reserved"])
    b["bid_count"], b["ask_count"] = len(book.bids), len(book.asks)
    b["bids"] = [_level_json(lv, pf) for lv in book.bids[:levels]]
    b["asks"] = [_level_json(lv, pf) for lv in book.asks[:levels]]
    b["best_bid"] = _level_json(bid, pf) if bid is not None else None
    b["best_ask"] = _level_json(ask, pf) if ask is not None else None
    b["spread"] = _decimal(ask.price - bid.price, pf) if bid is not None and ask is not None else None
    b["spread_bps"] = book.spread_bps
    return b


def _header_json(msg: Message) -> Dict[str, Any]:
    h: Dict[str, Any] = msg.header.to_dict()
    h["relay_domain_name"] = _name(RelayDomain, h["relay_domain"])
    h["source_name"] = _name(SourceType, h["source"])
    return h


def _entry(book: OrderBook, index: int, offset: int, size: int, header: Optional[Dict[str, Any]],
           levels: int) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"index": index, "offset": offset, "size": size, "header": header,
                             "book": _book_json(book, levels)}
    try:
        book.validate()
        entry["valid"], entry["validation_error"] = True, None
    except ValidationError as e:
        entry["valid"], entry["validation_error"] = False, str(e)
    return entry


def inspect_payload(data: bytes, report: Report, *, levels: int, strict: bool,
                    capacity: Optional[int] = None) -> None:
    """A bare OrderBookTLV; its capacity from ``capacity`` or the size (128 when neither)."""
    if capacity is None:
        capacity = _PAYLOAD_SIZES.get(len(data), CAPACITIES[0])
    size = book_size(capacity)
    try:
        book = OrderBook.from_bytes(data, capacity=capacity, strict=strict)
    except OrderBookError as e:
        report.error(0, e)
        return
    report.frames = 1
    if len(data) != size:
        report.errors.append({"offset": size, "error": "TrailingData",
                              "message": f"{len(data) - size:,} bytes follow the {size:,}-byte "
                                         f"payload (capacity {capacity})"})
    report.entries.append(_entry(book, 0, 0, size, None, levels))


def _frame_size(data: bytes, pos: int) -> int:
    return HEADER_SIZE + int(_U32.unpack_from(data, pos + _PAYLOAD_SIZE_AT)[0])


def next_message(data: bytes, start: int, *, verify: bool = True) -> Tuple[Optional[int], int]:
    """(offset of the first magic at or after ``start`` at which a valid
    message decodes, or None; how many magics were tried)."""
    msg = Message()
    tried = 0
    found = data.find(MAGIC, start)
    while found >= 0:
        tried += 1
        try:
            decode_message(data, found, verify=verify, into=msg)
            return found, tried
        except OrderBookError:
            found = data.find(MAGIC, found + 1)
    return None, tried


def inspect_capture(data: bytes, report: Report, *, levels: int, verify: bool, strict: bool) -> None:
    """Walk the messages; after a bad one, skip it when its framing holds, else
    resynchronise: scan for the next magic at which a valid message decodes."""
    msg = Message()
    pos, index, n = 0, 0, len(data)
    while pos < n:
        try:
            if n - pos >= len(MAGIC) and data[pos:pos + len(MAGIC)] != MAGIC:
                # junk, however short: say so rather than "truncated"
                raise MagicError(f"bad magic at offset {pos}: expected 0xdeadbeef, "
                                 f"found {_U32.unpack_from(data, pos)[0]:#010x}")
            decode_message(data, pos, verify=verify, into=msg)
        except TruncatedError as e:
            report.error(pos, e)
            break
        except MagicError as e:
            found, tried = next_message(data, pos + 1, verify=verify)
            if found is None:
                why = (f"no further message in the last {n - pos:,} bytes" if tried == 0 else
                       f"no valid message at any of the {tried} further magic(s) in the last {n - pos:,} bytes")
                report.error(pos, e, why)
                break
            report.error(pos, e, f"skipped {found - pos} bytes to the next magic at offset {found}")
            pos = found
            continue
        except OrderBookError as e:
            # ChecksumError, RecordError, VersionError, LayoutError, MissingRecordError:
            # the frame itself is sound (magic, payload_size within the data): skip it
            report.error(pos, e, f"message {index} skipped")
            report.skipped[index] = pos
            pos += _frame_size(data, pos)
            index += 1
            continue
        if strict:
            at = _book_offset(data, pos)
            try:
                OrderBook.from_bytes(data, at if at is not None else 0, capacity=msg.book.capacity,
                                     strict=True)
            except LayoutError as e:
                report.error(pos, e, f"strict check of the book at offset {at}; offsets are within the book")
        report.entries.append(_entry(msg.book, index, pos, msg.nbytes, _header_json(msg), levels))
        pos += msg.nbytes
        index += 1
    report.frames = index


def detect_kind(data: bytes) -> str:
    """``capture`` when the data starts with the magic, ``payload`` when its
    size is a book's, ``capture`` when a valid message decodes at a later
    magic (junk first), else ``unknown``."""
    if data[:4] == MAGIC:
        return "capture"
    if len(data) in _PAYLOAD_SIZES:
        return "payload"
    if next_message(data, 0, verify=False)[0] is not None:
        return "capture"
    return "unknown"


# --- printing --------------------------------------------------------------------------

def _table(entry: Dict[str, Any], out: TextIO) -> None:
    b = entry["book"]
    bids, asks = b["bids"], b["asks"]
    rows = max(len(bids), len(asks))
    if rows == 0:
        if b["bid_count"] or b["ask_count"]:
            print(f"  levels   not shown (--levels 0); the book holds {b['bid_count']} bids / "
                  f"{b['ask_count']} asks", file=out)
        else:
            print("  levels   (both sides empty)", file=out)
        return
    cells = []
    for i in range(rows):
        bid = bids[i] if i < len(bids) else ["", "", ""]
        ask = asks[i] if i < len(asks) else ["", "", ""]
        cells.append([str(i), str(bid[2]) if bid[0] else "", bid[1], bid[0], ask[0], ask[1],
                      str(ask[2]) if ask[0] else ""])
    head = ["#", "orders", "bid size", "bid price", "ask price", "ask size", "orders"]
    widths = [max(len(head[c]), *(len(r[c]) for r in cells)) for c in range(len(head))]

    def line(r: List[str]) -> str:
        left = "  ".join(r[c].rjust(widths[c]) for c in range(4))
        right = "  ".join(r[c].rjust(widths[c]) for c in range(4, 7))
        return f"    {left} | {right}"
    print(line(head), file=out)
    for r in cells:
        print(line(r), file=out)
    shown = f"best {rows} of {b['bid_count']} bids / {b['ask_count']} asks"
    if rows < max(b["bid_count"], b["ask_count"]):
        shown += " (--levels N for more)"
    print(f"    {shown}", file=out)


def print_entry(entry: Dict[str, Any], out: TextIO) -> None:
    b, h = entry["book"], entry["header"]
    if h is None:
        print(f"payload: {entry['size']:,} bytes (OrderBookTLV, capacity {b['capacity']})", file=out)
    else:
        print(f"message {entry['index']} at offset {entry['offset']}: {entry['size']:,} bytes", file=out)
        print(f"  header   magic {h['magic']:#010x}  version {h['version']}  relay_domain "
              f"{_named(h['relay_domain'], h['relay_domain_name'])}  source "
              f"{_named(h['source'], h['source_name'])}  flags {h['flags']:#04x}", file=out)
        print(f"           sequence {h['sequence']}  timestamp {h['timestamp']} ({_utc(h['timestamp'])})",
              file=out)
        print(f"           payload_size {h['payload_size']:,}  checksum {h['checksum']:#010x}", file=out)
    digits = _decimals(b["precision_factor"])
    print(f"  book     {b['instrument_name']}  capacity {b['capacity']}", file=out)
    print(f"           asset_id {b['asset_id']} ({b['asset_id']:#018x})  venue_id "
          f"{_named(b['venue_id'], b['venue_name'])}  asset_type {_named(b['asset_type'], b['asset_type_name'])}"
          f"  reserved {b['reserved']}", file=out)
    print(f"           sequence {b['sequence']}  snapshot_timestamp_ns {b['snapshot_timestamp_ns']} "
          f"({_utc(b['snapshot_timestamp_ns'])})", file=out)
    print(f"           precision_factor {b['precision_factor']} "
          f"({f'{digits} decimals' if digits is not None else 'not a power of ten: raw integers shown'})"
          f"  bids {b['bid_count']}  asks {b['ask_count']}", file=out)
    _table(entry, out)
    if b["spread"] is not None:
        bps = "bps undefined" if b["spread_bps"] is None else f"{b['spread_bps']} bps"
        print(f"  spread   {b['spread']} ({bps})", file=out)
    verdict = "valid" if entry["valid"] else f"INVALID: {entry['validation_error']}"
    print(f"  validate {verdict}", file=out)


def print_summary_line(entry: Dict[str, Any], out: TextIO) -> None:
    b, h = entry["book"], entry["header"] or {}
    bid = f"{b['best_bid'][0]} x {b['best_bid'][1]}" if b["best_bid"] else "-"
    ask = f"{b['best_ask'][0]} x {b['best_ask'][1]}" if b["best_ask"] else "-"
    venue = b["venue_name"] if b["venue_name"] is not None else str(b["venue_id"])
    cap = "" if b["capacity"] == CAPACITIES[0] else f" (cap {b['capacity']})"
    print(f"  {entry['index']:>5}  {entry['offset']:>10}  {h.get('sequence', ''):>8}  "
          f"{venue:<9}  {b['bid_count']:>3}/{b['ask_count']:<3}{cap}  bid {bid}  ask {ask}  "
          f"{'valid' if entry['valid'] else 'INVALID'}", file=out)


def print_report(report: Report, args: argparse.Namespace, out: TextIO) -> None:
    count = len(report.entries)
    print(f"{report.path}: {report.size:,} bytes, {report.kind}"
          + (f", {count} message{'s' if count != 1 else ''}" if report.kind == "capture" else ""),
          file=out)
    chosen: List[Dict[str, Any]]
    if args.message is not None:
        chosen = [e for e in report.entries if e["index"] == args.message]
        if not chosen and args.message in report.skipped:
            print(f"  message {args.message} was not decoded: see the error at offset "
                  f"{report.skipped[args.message]}", file=out)
    elif args.all or count == 1:
        chosen = report.entries
    else:
        chosen = []
        if count:
            print("  index      offset  sequence  venue      bids/asks", file=out)
            for e in report.entries:
                print_summary_line(e, out)
            print("  (--message I shows one book, --all every book)", file=out)
    for e in chosen:
        print_entry(e, out)
    for err in report.errors:
        print(f"error at offset {err['offset']}: {err['error']}: {err['message']}", file=out)
    invalid = sum(1 for e in report.entries if not e["valid"])
    if report.ok:
        print(f"ok: {count} {'book' if report.kind == 'payload' else 'message(s)'}, all valid", file=out)
    else:
        print(f"NOT OK: {len(report.errors)} error(s), {invalid} invalid book(s)", file=out)


# --- commands --------------------------------------------------------------------------

def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as e:
        print(f"orderbook inspect: cannot read {args.file}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    kind = detect_kind(data) if args.kind == "auto" else args.kind
    report = Report(args.file, len(data), kind)
    if kind == "capture":
        inspect_capture(data, report, levels=args.levels, verify=args.verify, strict=args.strict)
    elif kind == "payload":
        inspect_payload(data, report, levels=args.levels, strict=args.strict, capacity=args.capacity)
    else:
        sizes = " or ".join(f"{size:,}-byte (capacity {c})" for size, c in _PAYLOAD_SIZES.items())
        report.errors.append({
            "offset": 0, "error": "UnknownFormat",
            "message": f"neither a capture (no magic 0xdeadbeef at offset 0 nor a valid message at a "
                       f"later one, found {data[:4].hex() or 'nothing'}) nor a {sizes} payload "
                       f"(the file has {len(data):,} bytes)"})
    if args.message is not None and args.message not in report.skipped and \
            not any(e["index"] == args.message for e in report.entries):
        if report.frames == 0:
            held = "no message"
        elif report.kind == "payload":
            held = "one book (message 0)"
        else:
            held = f"{report.frames} message(s), 0..{report.frames - 1}"
        print(f"orderbook inspect: no message {args.message} in {args.file}: it holds {held}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        entries = report.entries if args.message is None else \
            [e for e in report.entries if e["index"] == args.message]
        json.dump({"file": report.path, "size": report.size, "kind": report.kind, "ok": report.ok,
                   "messages": entries, "errors": report.errors}, out, indent=1)
        out.write("\n")
    else:
        print_report(report, args, out)
    return EXIT_OK if report.ok else EXIT_INVALID


def _cli_hint(message: str) -> str:
    """The library's ``rounding='half_even'`` advice, as this command's flag."""
    return re.sub(r"rounding='(\w+)'", r"--rounding \1", message)


def cmd_encode(args: argparse.Namespace, out: TextIO) -> int:
    from orderbook.venues import default_source, detect_venue, from_venue

    chunks = []
    for i, name in enumerate(args.snapshots):
        try:
            obj = json.loads(Path(name).read_text())
        except OSError as e:
            print(f"orderbook encode: cannot read {name}: {e.strerror or e}", file=sys.stderr)
            return EXIT_USAGE
        except RecursionError:
            print(f"orderbook encode: {name}: JSON nested too deeply to read (not a depth snapshot)",
                  file=sys.stderr)
            return EXIT_INVALID
        except ValueError as e:
            print(f"orderbook encode: {name}: not JSON: {e}", file=sys.stderr)
            return EXIT_INVALID
        try:
            venue = args.venue or detect_venue(obj)
            header: Dict[str, Any] = {}
            if args.venue_id is not None:
                header["venue_id"] = args.venue_id
            if args.symbol is not None:
                header["symbol"] = args.symbol
            book = from_venue(venue, obj, truncate=args.truncate, capacity=args.capacity,
                              precision_factor=args.precision_factor, rounding=args.rounding, **header)
            source = default_source(venue) if args.source is None else args.source
            chunks.append(encode_message(book, sequence=args.sequence + i, source=source,
                                         timestamp_ns=book.snapshot_timestamp_ns or None))
        except RecursionError:
            print(f"orderbook encode: {name}: JSON nested too deeply to read (not a depth snapshot)",
                  file=sys.stderr)
            return EXIT_INVALID
        except (OrderBookError, ValueError, TypeError) as e:
            print(f"orderbook encode: {name}: {_cli_hint(str(e))}", file=sys.stderr)
            return EXIT_INVALID
    blob = b"".join(chunks)
    if args.output == "-":
        sys.stdout.buffer.write(blob)
        sys.stdout.buffer.flush()
    else:
        Path(args.output).write_bytes(blob)
        print(f"wrote {len(chunks)} message(s), {len(blob):,} bytes, to {args.output}", file=out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orderbook",
        description="Inspect order book captures and messages; encode venue snapshots.",
        epilog="A bare FILE means: inspect FILE.  Exit status: 0 ok, 1 corrupt or invalid, 2 usage.")
    sub = parser.add_subparsers(dest="command", required=True)

    ins = sub.add_parser("inspect", help="print a capture, a message or a payload; validate it",
                         description="Print the header, the best levels and the spread of each "
                                     "message (or of a 6,200- or 2,456-byte payload) and validate it.")
    ins.add_argument("file", help="capture / message / payload file ('-': standard input)")
    ins.add_argument("--levels", type=int, default=10, metavar="N",
                     help="levels per side to show (default 10; 0: none)")
    pick = ins.add_mutually_exclusive_group()
    pick.add_argument("--message", type=int, metavar="I", help="show the book of message I of a capture")
    pick.add_argument("--all", action="store_true", help="show every message's book")
    ins.add_argument("--json", action="store_true", help="one JSON object instead of text")
    ins.add_argument("--no-verify", dest="verify", action="store_false", help="do not check CRC-32s")
    ins.add_argument("--strict", action="store_true", help="also require zero padding and unused slots")
    ins.add_argument("--kind", choices=("auto", "capture", "payload"), default="auto",
                     help="what the file holds (default: detected)")
    ins.add_argument("--capacity", type=int, choices=CAPACITIES,
                     help="capacity of a payload (default: from its size; messages say their own)")

    enc = sub.add_parser("encode", help="venue depth snapshots (JSON) to a capture of messages",
                         description="Convert venue REST depth snapshots to Protocol V2 messages, "
                                     "one per file, written back to back.")
    enc.add_argument("snapshots", nargs="+", help="JSON files (Binance, Coinbase or Kraken depth)")
    enc.add_argument("-o", "--output", required=True, help="capture file to write ('-': standard output)")
    enc.add_argument("--venue", choices=("binance", "coinbase", "kraken"), help="default: detected")
    enc.add_argument("--symbol", help="instrument symbol (InstrumentId.coin), e.g. BTCUSDT; "
                                      "default: the one the response names, if any")
    enc.add_argument("--capacity", type=int, choices=CAPACITIES, default=CAPACITIES[0],
                     help="levels per side of the books (default 128)")
    enc.add_argument("--truncate", action="store_true", help="keep the best CAPACITY levels of deeper books")
    enc.add_argument("--precision-factor", type=int, default=100_000_000, help="default 100000000")
    enc.add_argument("--rounding", choices=("half_even", "down"), help="round extra decimals (default: refuse)")
    enc.add_argument("--venue-id", type=int, help="venue_id written into the books (default: upstream's "
                                                  "VenueId of the venue, e.g. Binance 100)")
    enc.add_argument("--sequence", type=int, default=0, help="header sequence of the first message")
    enc.add_argument("--source", type=int, help="header source (default: the venue's collector SourceType, "
                                                "BinanceCollector 1, CoinbaseCollector 2, KrakenCollector 3)")
    from orderbook.export import add_export_parser
    add_export_parser(sub)
    return parser


def _main(argv: Optional[Sequence[str]], out: Optional[TextIO]) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in and args_in[0] not in ("inspect", "encode", "export") and not args_in[0].startswith("-"):
        args_in.insert(0, "inspect")
    parser = build_parser()
    try:
        args = parser.parse_args(args_in)
    except SystemExit as e:          # argparse: 2 on usage errors, 0 for --help
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    stream = sys.stdout if out is None else out
    if args.command == "inspect":
        if args.levels < 0:
            print("orderbook inspect: --levels must be >= 0", file=sys.stderr)
            return EXIT_USAGE
        return cmd_inspect(args, stream)
    if args.command == "export":
        from orderbook.export import cmd_export
        return cmd_export(args, stream)
    return cmd_encode(args, stream)


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    """The command; returns the exit status.  Standard output closed by the
    reader (``| head``) ends it quietly with EXIT_PIPE, no traceback."""
    if out is not None:
        return _main(argv, out)
    try:
        code = _main(argv, None)
        sys.stdout.flush()              # a broken pipe shows here at the latest
        return code
    except BrokenPipeError:
        # Python's documented recipe: point stdout at devnull so that the
        # interpreter's own flush at exit does not raise again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
