"""Structure-aware mutators for the fuzz targets.

The C parser is not coverage-instrumented in the ordinary build, so blind
byte flips would mostly die at the magic or the checksum.  These mutators know
the format: they rewrite header fields with boundary values, insert / delete /
retype / resize TLV records, set side counts around 128, dirty the padding
and unused slots, splice messages together and cut them short, and then fix
the CRC up (most of the time) so the record walker and the book checks behind
the checksum are reached.  A share of the mutations is libFuzzer's own
(``atheris.Mutate``), or a plain byte-level fallback when atheris is absent
(the in-process smoke test).

Kept out of the coverage-instrumented modules on purpose: what the mutator
executes must not count as coverage of the target.
"""

from __future__ import annotations

import random
import struct
from typing import Callable, List, Optional, Sequence

from obfuzz import reference as ref

GenericMutate = Callable[[bytes, int], bytes]

U8 = (0, 1, 2, 3, 0x7F, 0x80, 0xFE, 0xFF)
U16 = (0, 1, 2, 127, 128, 129, 255, 256, 6199, 6200, 6201, 0x7FFF, 0x8000, 0xFFFF)
U32 = (0, 1, 4, 5, 31, 32, 33, 6204, 6205, 6206, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
U64 = (0, 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1)
COUNTS = (0, 1, 2, 64, 127, 128, 129, 130, 255, 256, 0x8000, 0xFFFF)
I64 = (0, 1, -1, 2**63 - 1, -2**63, 100_000_000, 10**18, -10**18)

HEADER_FIELDS = {        # name: (offset, struct code, interesting values)
    "magic": (0, "<I", (ref.MAGIC, 0, 0xEFBEADDE, ref.MAGIC ^ 1)),
    "relay_domain": (4, "<B", U8),
    "version": (5, "<B", (1, 0, 2, 0xFF)),
    "source": (6, "<B", U8),
    "flags": (7, "<B", U8),
    "sequence": (8, "<Q", U64),
    "timestamp": (16, "<Q", U64),
    "payload_size": (24, "<I", U32),
    "checksum": (28, "<I", (0, 0xFFFFFFFF)),
}


def byte_mutate(data: bytes, max_size: int, rng: random.Random) -> bytes:
    """A small libFuzzer-like byte mutation (used when atheris is absent)."""
    out = bytearray(data)
    op = rng.randrange(6)
    if op == 0 and out:
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    elif op == 1 and out:
        i = rng.randrange(len(out))
        out[i] = rng.choice(U8)
    elif op == 2 and out:
        i = rng.randrange(len(out))
        del out[i:i + rng.randint(1, 64)]
    elif op == 3:
        i = rng.randint(0, len(out))
        out[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif op == 4 and len(out) >= 2:
        i, j = sorted(rng.sample(range(len(out)), 2))
        out[i:j] = out[i:j][::-1]
    elif out:
        i = rng.randrange(len(out))
        n = min(len(out) - i, rng.choice((2, 4, 8)))
        out[i:i + n] = rng.randbytes(n)
    return bytes(out[:max_size])


class Mutator:
    """``mutate(data, max_size, seed)`` in atheris' custom mutator signature."""

    def __init__(self, fmt: str, pool: Sequence[bytes], generic: Optional[GenericMutate] = None,
                 generic_share: float = 0.3) -> None:
        assert fmt in ("message", "book")
        self.fmt = fmt
        self.pool = [bytes(p) for p in pool if p] or [ref.encode_message(ref.empty_book())]
        self.generic = generic
        self.generic_share = generic_share

    # -- entry point -----------------------------------------------------------

    def __call__(self, data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if not data:
            data = rng.choice(self.pool)
        for _ in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
            data = self._once(data, max_size, rng)
        return data[:max_size]

    def _once(self, data: bytes, max_size: int, rng: random.Random) -> bytes:
        if rng.random() < self.generic_share:
            if self.generic is not None:
                return bytes(self.generic(data, max_size))
            return byte_mutate(data, max_size, rng)
        if self.fmt == "message":
            return self._message(bytearray(data), max_size, rng)
        return self._book_input(bytearray(data), max_size, rng)

    # -- messages ---------------------------------------------------------------

    def _message(self, out: bytearray, max_size: int, rng: random.Random) -> bytes:
        starts = message_starts(out)
        at = rng.choice(starts) if starts else 0
        op = rng.randrange(9)
        if op == 0:
            self._header_field(out, at, rng)
        elif op in (1, 2):
            self._records(out, at, rng)
        elif op in (3, 4):
            book_at = find_book(out, at)
            if book_at is not None:
                self._book(out, book_at, rng, ref.capacity_of(_book_len(out, book_at)) or ref.MAX_LEVELS)
            else:
                self._records(out, at, rng)
        elif op == 5:                       # splice another message in / after
            other = rng.choice(self.pool)
            if rng.random() < 0.5:
                cut = rng.randint(0, len(other))
                other = other[:cut] if rng.random() < 0.3 else other
                out += other
            else:
                i = rng.choice(starts + [len(out)])
                out[i:i] = other
        elif op == 6 and out:               # cut short
            del out[rng.randint(0, len(out) - 1):]
        elif op == 7 and len(out) >= at + 28:   # payload_size near what is there
            have = len(out) - at - ref.HEADER_SIZE
            struct.pack_into("<I", out, at + 24, max(0, have + rng.choice((-6, -5, -2, -1, 0, 0, 1, 5))))
        else:
            self._header_field(out, at, rng)
        if len(out) > max_size:
            del out[max_size:]
        if rng.random() < 0.7:
            fix_crcs(out)
        return bytes(out)

    def _header_field(self, out: bytearray, at: int, rng: random.Random) -> None:
        if len(out) < at + ref.HEADER_SIZE:
            out[at:] = bytearray(ref.encode_message(ref.empty_book())[:ref.HEADER_SIZE])
        name = rng.choice(list(HEADER_FIELDS))
        off, code, values = HEADER_FIELDS[name]
        size = struct.calcsize(code)
        value = rng.choice(values) if rng.random() < 0.8 else rng.getrandbits(8 * size)
        struct.pack_into(code, out, at + off, value)

    def _records(self, out: bytearray, at: int, rng: random.Random) -> None:
        recs = ref.walk_records(out, at)
        op = rng.randrange(7)
        payload_end = recs[-1][2] + recs[-1][3] if recs else at + ref.HEADER_SIZE
        if op == 0 or not recs:             # insert a record
            i = rng.choice([r[0] for r in recs] + [payload_end])
            out[i:i] = random_record(rng)
        elif op == 1:                       # delete one
            s, _t, v, n = rng.choice(recs)
            del out[s:v + n]
        elif op == 2:                       # retype one
            s, _t, v, _n = rng.choice(recs)
            if out[s] == ref.TLV_EXTENDED:
                out[s + 2] = rng.choice((0, 1, 3, 3, 254, 255, rng.randrange(256)))
            else:
                out[s] = rng.choice((0, 1, 3, 254, 255, rng.randrange(256)))
        elif op == 3:                       # resize one (the length field only)
            s, _t, v, n = rng.choice(recs)
            new = max(0, n + rng.choice((-1, 1, -5, 5, 256, -n)))
            if out[s] == ref.TLV_EXTENDED:
                struct.pack_into("<H", out, s + 3, min(new, 0xFFFF))
            else:
                out[s + 1] = min(new, 255)
        elif op == 4:                       # nonzero extended reserved byte
            exts = [r for r in recs if out[r[0]] == ref.TLV_EXTENDED]
            if exts:
                out[rng.choice(exts)[0] + 1] = rng.choice((1, 0x80, 0xFF))
        elif op == 5:                       # duplicate one
            s, _t, v, n = rng.choice(recs)
            out[s:s] = out[s:v + n]
        else:                               # a second book record with a different book
            i = rng.choice([r[0] for r in recs] + [payload_end])
            other = rng.choice(self.pool)
            b = find_book(other, 0)
            if b is not None:
                n = _book_len(other, b)
                out[i:i] = struct.pack("<BBBH", 255, 0, 3, n) + other[b:b + n]
        if rng.random() < 0.8 and len(out) >= at + 28:
            grown = sum((v + n) - s for s, _t, v, n in ref.walk_records(out, at))
            size = len(out) - at - ref.HEADER_SIZE if rng.random() < 0.5 else max(grown, 0)
            struct.pack_into("<I", out, at + 24, max(0, min(size, 0xFFFFFFFF)))

    # -- books ------------------------------------------------------------------

    def _book(self, out: bytearray, at: int, rng: random.Random, cap: int = ref.MAX_LEVELS) -> None:
        """Edit the book bytes at ``at`` (which holds a whole book of ``cap`` slots a side)."""
        side = rng.choice(ref.SIDES)
        base = at + (ref.BIDS_AT if side == "bids" else ref.asks_at(cap))
        count = int.from_bytes(out[base:base + 2], "little")
        op = rng.randrange(8)
        if op in (0, 1):                    # count around the capacity
            struct.pack_into("<H", out, base, rng.choice(COUNTS))
        elif op == 2:                       # dirty padding / unused slot / tail
            spots = ref.padding_offsets(min(count, cap), min(count, cap), cap)
            out[at + rng.choice(spots)] = rng.choice((1, 0x80, 0xFF))
        elif op == 3 and count:             # a level's fields
            i = rng.randrange(min(count, cap))
            p = base + 8 + i * ref.LEVEL_SIZE
            field = rng.randrange(4)
            if field < 2:
                struct.pack_into("<q", out, p + 8 * field, rng.choice(I64 + (rng.getrandbits(63),)))
            else:
                struct.pack_into("<I", out, p + 16 + 4 * (field - 2), rng.choice(U32))
        elif op == 4:                       # swap two levels (breaks the order)
            n = min(count, cap)
            if n >= 2:
                i, j = rng.sample(range(n), 2)
                pi, pj = base + 8 + i * 24, base + 8 + j * 24
                out[pi:pi + 24], out[pj:pj + 24] = out[pj:pj + 24], out[pi:pi + 24]
        elif op == 5:                       # header fields of the book
            off, code, values = rng.choice((
                (0, "<Q", U64), (8, "<Q", U64), (16, "<q", I64 + (1, 3, 10, 1000)),
                (24, "<Q", U64), (32, "<H", U16), (34, "<B", U8), (35, "<B", U8)))
            struct.pack_into(code, out, at + off, rng.choice(values))
        elif op == 6:                       # crossed / touching best prices
            b0, a0 = at + ref.BIDS_AT + 8, at + ref.asks_at(cap) + 8
            out[a0:a0 + 8] = out[b0:b0 + 8]
            if rng.random() < 0.5:
                struct.pack_into("<q", out, a0, struct.unpack_from("<q", out, b0)[0] - 1
                                 if struct.unpack_from("<q", out, b0)[0] > -2**63 else 0)
        else:                               # random bytes somewhere in the book
            i = at + rng.randrange(ref.book_size(cap))
            out[i] = rng.randrange(256)

    def _book_input(self, out: bytearray, max_size: int, rng: random.Random) -> bytes:
        if len(out) < 3:
            out = bytearray(b"\0\0\0") + out
        buf_len = len(out) - 3
        flags = out[0]
        cap = 50 if flags & 0x40 else ref.MAX_LEVELS      # targets.FLAG_CAP50
        size = ref.book_size(cap)
        offset = int.from_bytes(out[1:3], "little") % (buf_len + 1)
        op = rng.randrange(8)
        if op == 0:                         # flags
            out[0] = flags ^ (1 << rng.randrange(8)) if rng.random() < 0.7 else rng.randrange(256)
        elif op == 1:                       # offsets that matter
            picks = [0, 1, 37, buf_len - size, buf_len - size + 1, buf_len,
                     rng.randrange(buf_len + 1)]
            out[1:3] = struct.pack("<H", max(0, rng.choice(picks)) & 0xFFFF)
            if rng.random() < 0.5:
                out[0] &= ~0x82 & 0xFF
        elif op in (2, 3, 4) and buf_len - offset >= size:
            self._book(out, 3 + offset, rng, cap)
        elif op == 5:                       # move the book within the buffer
            shift = rng.choice((-8, -1, 1, 3, 7, 8, 37))
            if shift > 0:
                out[3:3] = bytes(rng.randrange(256) for _ in range(shift))
            else:
                del out[3:3 - shift]
            if rng.random() < 0.7:
                out[1:3] = struct.pack("<H", max(0, offset + shift) & 0xFFFF)
        elif op == 6:                       # short by a little / trailing bytes
            if rng.random() < 0.5 and len(out) > 3:
                del out[-rng.randint(1, min(8, len(out) - 3)):]
            else:
                out += bytes(rng.randint(1, 8))
        else:                               # a fresh seed at a random offset
            out = bytearray(rng.choice(self.pool))
        return bytes(out[:max_size])


# --- helpers -------------------------------------------------------------------------

def message_starts(data: bytes) -> List[int]:
    """Offsets of the messages of a capture (by payload_size), as far as
    headers with the right magic chain."""
    out, pos = [], 0
    while len(data) - pos >= ref.HEADER_SIZE and len(out) < 16:
        if int.from_bytes(data[pos:pos + 4], "little") != ref.MAGIC:
            break
        out.append(pos)
        pos += ref.HEADER_SIZE + int.from_bytes(data[pos + 24:pos + 28], "little")
    return out


def find_book(data: bytes, at: int) -> Optional[int]:
    """Offset of the first whole OrderBook record value in the message at ``at``."""
    for _s, kind, value, n in ref.walk_records(data, at):
        if kind == ref.TLV_ORDER_BOOK and ref.capacity_of(n) is not None:
            return value
    return None


def _book_len(data: bytes, value: int) -> int:
    """The length of the OrderBook record whose value starts at ``value``."""
    return int.from_bytes(data[value - 2:value], "little")


def fix_crcs(out: bytearray) -> None:
    """Recompute the checksum of every chained message whose payload fits."""
    for at in message_starts(out):
        size = int.from_bytes(out[at + 24:at + 28], "little")
        if at + ref.HEADER_SIZE + size <= len(out):
            struct.pack_into("<I", out, at + ref.CRC_HEAD, ref.message_crc(bytes(out), at, size))


def random_record(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        t = rng.choice((1, 2, 3, 4, 254, rng.randint(1, 254)))
        value = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 5, 255, rng.randint(0, 40)))))
        return bytes([t, len(value)]) + value
    t = rng.choice((0, 1, 3, 255, rng.randrange(256)))
    n = rng.choice((0, 1, 16, 300, rng.randint(0, 64)))
    return struct.pack("<BBBH", 255, 0, t, n) + bytes(rng.randrange(256) for _ in range(min(n, 300)))
