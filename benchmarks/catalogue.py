"""The operations the report knows, in table order, with what each row means.

Ids are the ``op`` strings the bench modules register; each entry gives the
category (one chart panel each), the row title, and the rule that makes the
row a like-with-like comparison.  Each operation is measured at one or more
(capacity, depth) points (see ``workloads.POINTS``); the table prints one
row per point."""

from __future__ import annotations

from typing import Dict, List, NamedTuple


class Operation(NamedTuple):
    id: str
    category: str
    title: str
    means: str
    #: judged by the Vec-baseline gate.  False for reads of a book that is
    #: already parsed: the Vec baseline builds its Python tuples while parsing
    #: and we build them while reading, so those reads are judged end to end
    #: by their "parse + ..." twin instead (printed, not gated).
    gated: bool = True


#: Columns, in order: key in the results, heading in the table.
IMPLS = [
    ("ours", "ours"),
    ("vec", "Vec baseline"),
    ("ctypes", "ctypes"),
    ("struct", "struct"),
    ("numpy", "numpy"),
    ("msgspec", "msgspec"),
    ("isal", "isal"),
    ("zlib-ng", "zlib-ng"),
    ("ref", "reference"),
]

OPERATIONS: List[Operation] = [
    Operation("construct.tuples", "construct", "construct from tuples",
              "a new book from two lists of N (price, size, order_count) tuples plus the 7 header fields"),
    Operation("construct.tuples_reuse", "construct", "refill from tuples (reuse)",
              "replace both sides of an existing book from the same tuples"),
    Operation("construct.numpy", "construct", "construct from numpy",
              "a new book from two (N, 3) int64 arrays plus the header fields"),
    Operation("construct.numpy_reuse", "construct", "refill from numpy (reuse)",
              "replace both sides of an existing book from the same arrays"),
    Operation("serialize.build_bytes", "serialize", "build + serialize from tuples",
              "tuples in, the serialized bytes out (the producer's whole job)"),
    Operation("serialize.bytes", "serialize", "serialize to bytes",
              "an existing book to a new bytes object"),
    Operation("serialize.pack_into", "serialize", "serialize into a buffer",
              "an existing book written into a preallocated bytearray at offset 0"),
    Operation("serialize.memoryview", "serialize", "memoryview of the book",
              "a zero-copy buffer over the book's own bytes (6,200 at capacity 128, 2,456 at 50)"),
    Operation("parse.from_bytes", "parse", "parse bytes (copy)",
              "bytes to a new, usable, owning book"),
    Operation("parse.view", "parse", "view bytes (zero-copy)",
              "a book object reading a bytearray in place"),
    Operation("parse.rebind", "parse", "re-point a view (reuse)",
              "an existing view moved to another buffer"),
    Operation("parse.load_from", "parse", "parse into an existing book",
              "bytes copied into a book object made earlier"),
    Operation("read.best", "read", "best bid + best ask",
              "both best levels as Python values (None when a side is empty)", gated=False),
    Operation("read.parse_best", "read", "parse + best bid + best ask",
              "bytes in, then both best levels as Python values (a consumer's top-of-book)"),
    Operation("read.iterate", "read", "iterate levels",
              "a Python loop over every level of both sides, unpacking each", gated=False),
    Operation("read.iterate_named", "read", "iterate OrderLevel values",
              "the same loop over the OrderLevel named tuples the sides yield", gated=False),
    Operation("read.parse_iterate", "read", "parse + iterate levels",
              "bytes in, then a Python loop over every level (what a consumer of each message does)"),
    Operation("read.to_numpy", "read", "bids as numpy",
              "the bid side as a numpy array"),
    Operation("insert.sorted", "insert", "sorted insert",
              "clear, then N bids inserted one by one in shuffled order (kept best first)"),
    Operation("message.encode", "message", "encode message",
              "header + TLV + book + CRC-32 as new bytes"),
    Operation("message.encode_into", "message", "encode message into a buffer",
              "the same, written into a preallocated bytearray"),
    Operation("message.decode", "message", "decode message",
              "check framing and CRC-32, return header and a new owning book"),
    Operation("message.decode_into", "message", "decode message into (reuse)",
              "the same into an existing Message (ours: no allocation)"),
    Operation("message.decode_view", "message", "decode message as a view",
              "check framing and CRC-32, return a book viewing the message bytes"),
    Operation("crc32.64", "crc32", "CRC-32 of 64 bytes",
              "IEEE CRC-32 of a book's first 64 bytes (the call dominates); reference: zlib.crc32"),
    Operation("crc32", "crc32", "CRC-32 of one book",
              "IEEE CRC-32 of one book's bytes (6,200 at capacity 128, 2,456 at 50); reference: zlib.crc32"),
    Operation("crc32.1mib", "crc32", "CRC-32 of 1 MiB",
              "IEEE CRC-32 of 1 MiB of random bytes (memory bandwidth); reference: zlib.crc32"),
]

BY_ID: Dict[str, Operation] = {op.id: op for op in OPERATIONS}
CATEGORIES = list(dict.fromkeys(op.category for op in OPERATIONS))

#: Timing-overhead references: reported beside the machine, not in the table.
OVERHEAD_OPS = {
    "overhead.partial": "calling a functools.partial (one-call rows)",
    "overhead.function": "calling a small Python function (multi-statement rows)",
}
