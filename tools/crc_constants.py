"""Fold and reduction constants of the CRC-32 kernels in orderbook/src/ob_crc32.c.

CRC-32 (IEEE 802.3, zlib) is computed in the bit-reflected domain: bit 0 of a
byte is its highest-degree coefficient.  P(x) = 0x104C11DB7 (33 bits).

    K(n)  = bitrev32(x^n mod P) << 1     fold constant, 33 bits
    PX    = bitrev33(P)                  Barrett modulus
    MU    = bitrev33(floor(x^64 / P))    Barrett quotient

Why "<< 1": a carry-less product of two reflected operands of 64 bits is a
127-bit reflected value, one bit short of 128; the shift puts it back in
place.  A 128-bit lane that lies d bits before the lane it is folded onto is
multiplied qword-wise by (K(d + 32), K(d - 32)): its low qword (the
higher-degree half in the reflected layout) by K(d + 32).

    python tools/crc_constants.py            # the table, as C #defines
    python tools/crc_constants.py --check    # compare with the #defines in ob_crc32.c

tests/test_crc32.py runs --check, so a constant in the C file can only be the
one derived here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

P = 0x104C11DB7
C_FILE = Path(__file__).resolve().parent.parent / "orderbook" / "src" / "ob_crc32.c"


def clmul_mod(a: int, b: int, m: int = P) -> int:
    """a * b mod m over GF(2) (non-reflected, ints as polynomials)."""
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if a >> 32 & 1:
            a ^= m
    return r


def xpow_mod(n: int, m: int = P) -> int:
    """x^n mod m over GF(2), by square and multiply."""
    result, base = 1, 2          # 1 and x
    while n:
        if n & 1:
            result = clmul_mod(result, base, m)
        base = clmul_mod(base, base, m)
        n >>= 1
    return result


def poly_div(num: int, den: int) -> int:
    """floor(num / den) over GF(2)."""
    q = 0
    dlen = den.bit_length()
    while num.bit_length() >= dlen:
        s = num.bit_length() - dlen
        q |= 1 << s
        num ^= den << s
    return q


def bitrev(v: int, bits: int) -> int:
    return int(format(v, f"0{bits}b")[::-1], 2)


def k(n: int) -> int:
    """Fold constant K(n) = bitrev32(x^n mod P) << 1."""
    return bitrev(xpow_mod(n), 32) << 1


#: name -> (value, derivation); the names are the #defines in ob_crc32.c.
def constants() -> dict:
    table = {}
    for name, n, why in [
        ("K_F2048_LO", 2048 + 32, "fold 2048 bits (4 zmm = 256 B) ahead, low qword"),
        ("K_F2048_HI", 2048 - 32, "fold 2048 bits ahead, high qword"),
        ("K_F1024_LO", 1024 + 32, "fold 1024 bits (128 B) ahead, low qword"),
        ("K_F1024_HI", 1024 - 32, "fold 1024 bits ahead, high qword"),
        ("K_F512_LO", 512 + 32, "fold 512 bits (64 B) ahead, low qword"),
        ("K_F512_HI", 512 - 32, "fold 512 bits ahead, high qword"),
        ("K_F384_LO", 384 + 32, "fold 384 bits (48 B) ahead, low qword"),
        ("K_F384_HI", 384 - 32, "fold 384 bits ahead, high qword"),
        ("K_F256_LO", 256 + 32, "fold 256 bits (32 B) ahead, low qword"),
        ("K_F256_HI", 256 - 32, "fold 256 bits ahead, high qword"),
        ("K_F128_LO", 128 + 32, "fold 128 bits (16 B) ahead, low qword"),
        ("K_F128_HI", 128 - 32, "fold 128 bits ahead, high qword"),
        ("K_R64", 64, "reduce 96 -> 64 bits"),
    ]:
        table[name] = (k(n), f"K({n}): {why}")
    table["K_PX"] = (bitrev(P, 33), "bitrev33(P): Barrett modulus")
    table["K_MU"] = (bitrev(poly_div(1 << 64, P), 33), "bitrev33(floor(x^64 / P)): Barrett quotient")
    return table


def c_defines(path: Path = C_FILE) -> dict:
    text = path.read_text()
    return {m[1]: int(m[2], 16) for m in re.finditer(r"#define\s+(K_\w+)\s+0x([0-9a-fA-F]+)ULL", text)}


def check(path: Path = C_FILE) -> list:
    """Differences between the C file's K_* #defines and the derived table."""
    have, want = c_defines(path), constants()
    errors = [f"{n}: C has {have[n]:#x}, derived {v:#x}" for n, (v, _) in want.items()
              if n in have and have[n] != v]
    errors += [f"{n}: in the C file but not derived here" for n in have if n not in want]
    return errors


def main(argv: list) -> int:
    if "--check" in argv:
        errors = check()
        for e in errors:
            print(e)
        print("ob_crc32.c constants:", "MISMATCH" if errors else f"{len(c_defines())} match")
        return 1 if errors else 0
    for name, (value, why) in constants().items():
        print(f"#define {name:<11} 0x{value:010x}ULL /* {why} */")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
