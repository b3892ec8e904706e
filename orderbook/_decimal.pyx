# Decimal text to fixed point and back.
#
# Venues publish depth as decimal strings ("27012.45000000"); going through
# float corrupts them.  This module converts decimal text (str, bytes), ints
# and decimal.Decimal values to the book's i64 fixed point exactly, in C, with
# no float anywhere, and renders fixed point back to decimal text.
#
# The hot path -- a list of [price, size] str pairs as json.loads returns them
# -- reads each str's one-byte character data in place (PyUnicode_DATA) and
# creates no Python object per number; error messages are only formatted on
# the error path.
#
# Grammar of a decimal text (ASCII, nothing else, no surrounding whitespace):
#     [sign] digits [ "." [digits] ]   |   [sign] "." digits
# where a sign ('-' or '+') is accepted only with allow_negative=True.
# Exponents ("1e5"), whitespace, underscores, "inf"/"nan", non-ASCII digits
# and empty text are rejected.  Trailing zeros past the precision are exact
# and accepted; other extra decimals raise unless rounding= is given.

from cpython.bool cimport PyBool_Check
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_Check, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_Check, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_Check
from cpython.list cimport PyList_Check, PyList_CheckExact, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_Check
from cpython.number cimport PyIndex_Check, PyNumber_Index
from cpython.ref cimport PyObject
from cpython.sequence cimport PySequence_Check
from cpython.tuple cimport PyTuple_Check, PyTuple_CheckExact, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport (
    PyUnicode_1BYTE_KIND, PyUnicode_Check, PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND,
)
from libc.stdint cimport INT64_MAX, UINT32_MAX, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy

from orderbook.structs cimport (
    OB_MAX_LEVELS, BookLayout, LevelsC, OrderBookHeadC, OrderLevelC, ob_copy_side, ob_cside, ob_side,
)
from orderbook._book cimport OrderBook, count_of
from orderbook._convert cimport as_i64 as _as_i64, as_u64 as _as_u64
from orderbook._cpython cimport (
    PyLong_AsLongLongAndOverflow,
    bytes_data as _bytes_data, bytes_len as _bytes_len, int_value as _int_value, is_bytes as _is_bytes,
    is_int as _is_int, is_list as _is_list, is_str as _is_str, is_tuple as _is_tuple,
    list_item as _list_item, list_len as _list_len, str_data as _str_data, str_kind as _str_kind,
    str_len as _str_len, tuple_item as _tuple_item, tuple_len as _tuple_len,
)
from orderbook._fill cimport start_side
from orderbook._layout cimport layout_arg

import decimal

from orderbook.errors import (
    DecimalError, FieldRangeError, FieldTypeError, ValidationError,
)

__all__ = ["to_fixed", "format_fixed", "to_decimal", "fill_side_from_strings", "from_snapshot",
           "to_snapshot", "ROUNDING_MODES"]

cdef object _Decimal = decimal.Decimal


# --- constants ------------------------------------------------------------------

cdef enum:
    MAX_SCALE = 18                 # 10**18 is the largest power of ten in an i64
    MAX_SIG = 19                   # significant digits that always fit a u64

cdef enum Rounding:
    ROUND_EXACT = 0                # extra nonzero decimals raise
    ROUND_HALF_EVEN = 1
    ROUND_DOWN = 2                 # toward zero

cdef enum Status:
    OK = 0
    E_EMPTY
    E_SIGN
    E_NO_DIGITS
    E_EXPONENT
    E_JUNK
    E_DECIMALS
    E_OVERFLOW

cdef enum Field:
    F_PRICE = 0
    F_SIZE = 1
    F_COUNT = 2
    F_VALUE = 3                    # a lone value (to_fixed): no level to name

cdef tuple _FIELD_NAMES = ("price", "size", "order_count", None)
cdef tuple _SIDE_NAMES = ("bids", "asks")

#: Names accepted by ``rounding=`` besides None (exact); the decimal module's
#: ROUND_HALF_EVEN / ROUND_DOWN constants are accepted as well.
ROUNDING_MODES = ("half_even", "down")
cdef dict _ROUNDING = {
    "half_even": ROUND_HALF_EVEN, decimal.ROUND_HALF_EVEN: ROUND_HALF_EVEN,
    "down": ROUND_DOWN, decimal.ROUND_DOWN: ROUND_DOWN,
}

# _POW10[k] = 10**k; _LIMIT[neg][k] = largest m with m * 10**k inside i64
# (INT64_MAX for positives, 2**63 in magnitude for negatives).
cdef uint64_t _POW10[MAX_SCALE + 1]
cdef uint64_t _LIMIT[2][MAX_SCALE + 1]
cdef int _k
_POW10[0] = 1
for _k in range(1, MAX_SCALE + 1):
    _POW10[_k] = _POW10[_k - 1] * 10
for _k in range(MAX_SCALE + 1):
    _LIMIT[0][_k] = (<uint64_t>INT64_MAX) // _POW10[_k]
    _LIMIT[1][_k] = (<uint64_t>INT64_MAX + 1) // _POW10[_k]


cdef struct Conv:
    int64_t factor                 # precision_factor
    int scale                      # log10(factor), or -1 when not a power of ten
    int rounding                   # Rounding
    bint allow_negative


cdef struct Parsed:
    int64_t value
    Py_ssize_t pos                 # offending character (E_JUNK, E_EXPONENT)
    Py_ssize_t decimals            # significant decimals (E_DECIMALS)
    Py_ssize_t written             # decimals as written, trailing zeros included


# --- the parser -----------------------------------------------------------------

cdef extern from *:
    """
    static inline int ob_ctz64(uint64_t x) {   /* x != 0 */
    #if defined(__GNUC__) || defined(__clang__)
        return __builtin_ctzll(x);
    #else
        int n = 0;
        while (!(x & 1)) { x >>= 1; n++; }
        return n;
    #endif
    }
    """
    int ob_ctz64(uint64_t x) noexcept nogil


cdef inline uint64_t _load8(const unsigned char* p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)               # unaligned-safe; the host is little-endian
    return v


cdef inline int _digit_run(uint64_t v) noexcept nogil:
    """How many of the 8 characters in v, from the first, are ASCII digits.

    x = v ^ '0'*8 makes a digit byte 0..9; a byte is not a digit when its
    high nibble is set or adding 6 carries into it.  A carry only moves to
    later characters, so the first non-digit is always found exactly."""
    cdef uint64_t x = v ^ 0x3030303030303030ULL
    cdef uint64_t bad = (x | (x + 0x0606060606060606ULL)) & 0xF0F0F0F0F0F0F0F0ULL
    return 8 if bad == 0 else ob_ctz64(bad) >> 3


cdef inline uint64_t _prefix_value(uint64_t v, int k) noexcept nogil:
    """The value of the first k (1..8) characters of v, all digits (SWAR:
    three multiplications for up to 8 digits)."""
    cdef uint64_t x = v ^ 0x3030303030303030ULL
    if k < 8:
        x <<= 8 * (8 - k)          # drop what follows; zero digits move in front
    x = x * 10 + (x >> 8)
    return (((x & 0x000000FF000000FFULL) * 0x000F424000000064ULL)
            + (((x >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >> 32


cdef Status _parse(const unsigned char* s, Py_ssize_t n, int scale, bint allow_negative,
                   int rounding, Parsed* r) noexcept nogil:
    """Decimal text s[0:n] times 10**scale into r.value, exactly (or rounded).

    Digits are read up to 8 at a time wherever 8 bytes of the text remain.
    The integer part may wrap m while it is read; its significant length
    decides overflow instead."""
    cdef Py_ssize_t i = 0, int_start, int_end, frac_start, drop_start, lead, j
    cdef uint64_t m = 0, v, u
    cdef unsigned int d
    cdef int nfrac = 0, k, run, t
    cdef bint neg = False, big, round_up
    r.pos = 0
    r.decimals = 0
    r.written = 0
    if n == 0:
        return E_EMPTY
    if s[0] == b'-' or s[0] == b'+':
        if not allow_negative:
            return E_SIGN
        neg = s[0] == b'-'
        i = 1
    # integer part
    int_start = i
    while i + 8 <= n:
        v = _load8(s + i)
        run = _digit_run(v)
        if run:
            m = m * _POW10[run] + _prefix_value(v, run)
            i += run
        if run < 8:
            break
    else:
        while i < n:
            d = <unsigned int>(s[i] - 48)
            if d > 9:
                break
            m = m * 10 + d
            i += 1
    int_end = i
    # fraction: up to `scale` digits go into m, the rest are dropped
    frac_start = drop_start = i
    if i < n and s[i] == b'.':
        i += 1
        frac_start = i
        while nfrac < scale and i + 8 <= n:
            v = _load8(s + i)
            run = _digit_run(v)
            t = run if run < scale - nfrac else scale - nfrac
            if t:
                m = m * _POW10[t] + _prefix_value(v, t)
                i += t
                nfrac += t
            if t < 8:
                break
        else:
            while nfrac < scale and i < n:
                d = <unsigned int>(s[i] - 48)
                if d > 9:
                    break
                m = m * 10 + d
                i += 1
                nfrac += 1
        drop_start = i
        while i + 8 <= n:
            run = _digit_run(_load8(s + i))
            i += run
            if run < 8:
                break
        else:
            while i < n and <unsigned int>(s[i] - 48) <= 9:
                i += 1
        r.written = i - frac_start
    if i < n:
        r.pos = i
        if (int_end > int_start or r.written) and (s[i] == b'e' or s[i] == b'E'):
            return E_EXPONENT
        return E_JUNK
    if int_end == int_start and r.written == 0:
        return E_NO_DIGITS
    # significant integer digits decide overflow: m only holds 19 digits
    lead = int_start
    while lead < int_end and s[lead] == b'0':
        lead += 1
    big = (int_end - lead) + nfrac > MAX_SIG
    if drop_start < i:
        # digits past the precision: exact only when all are zeros
        round_up = False
        j = i - 1 - drop_start             # index of the last nonzero dropped digit
        while j >= 0 and s[drop_start + j] == b'0':
            j -= 1
        if j >= 0:
            r.decimals = scale + j + 1
            if rounding == ROUND_EXACT:
                return E_DECIMALS
            if rounding == ROUND_HALF_EVEN:
                d = s[drop_start] - 48
                # above half, or exactly half (nothing after the 5) and odd
                round_up = d > 5 or (d == 5 and (j > 0 or (m & 1)))
            if round_up and not big:
                m += 1                 # m <= 10**19 - 1 before: no wrap
    k = scale - nfrac
    if big or m > _LIMIT[neg][k]:
        return E_OVERFLOW
    u = m * _POW10[k]
    if neg and u:
        r.value = -<int64_t>(u - 1) - 1      # -2**63 without signed overflow
    else:
        r.value = <int64_t>u
    return OK


cdef inline uint64_t _limit_units(bint neg, int64_t factor) noexcept nogil:
    """Largest magnitude m with m * factor inside i64 (factor > 0)."""
    return (<uint64_t>INT64_MAX + neg) // <uint64_t>factor


cdef int _scale_of(int64_t factor) noexcept nogil:
    """log10(factor) when factor is 10**0..10**18, else -1."""
    cdef int k
    for k in range(MAX_SCALE + 1):
        if <uint64_t>factor == _POW10[k]:
            return k
    return -1


cdef int _rounding_of(object rounding) except -1:
    if rounding is None:
        return ROUND_EXACT
    try:
        return _ROUNDING[rounding]
    except (KeyError, TypeError):
        raise DecimalError(
            f"rounding must be None (exact), 'half_even' or 'down', got {rounding!r}") from None


cdef int _init_conv(Conv* cv, object precision_factor, object rounding, bint allow_negative) except -1:
    cdef int64_t f = 0
    _as_i64(precision_factor, None, 0, "precision_factor", &f)
    if f <= 0:
        raise DecimalError(f"precision_factor must be positive, got {f}")
    cv.factor = f
    cv.scale = _scale_of(f)
    cv.rounding = _rounding_of(rounding)
    cv.allow_negative = allow_negative
    return 0


# --- error messages (error path only) ----------------------------------------

cdef str _name(int side, Py_ssize_t index, int field):
    if field == F_VALUE:
        return ""
    if side < 0:
        return f"{_FIELD_NAMES[field]}: "
    return f"{_SIDE_NAMES[side]}[{index}].{_FIELD_NAMES[field]}: "


cdef str _show(object v):
    cdef str s = repr(v)
    cdef Py_ssize_t n = len(s)
    return s if n <= 80 else s[:60] + "..." + s[n - 10:] + f" ({n} characters)"


cdef str _char_at(object text, Py_ssize_t pos):
    if isinstance(text, (bytes, bytearray)):
        return chr(text[pos])
    return text[pos]


cdef str _range_text(const Conv* cv):
    """The i64 range in the units of the caller's decimals."""
    if cv.scale < 0:
        lo, hi = str(-INT64_MAX - 1), str(INT64_MAX)
    else:
        lo, hi = _format(-INT64_MAX - 1, cv.scale, False), _format(INT64_MAX, cv.scale, False)
    return (f"{lo}..{hi}" if cv.allow_negative else f"0..{hi}")


cdef int _raise_status(Status st, const Parsed* r, object v, object text, const Conv* cv,
                       int side, Py_ssize_t index, int field) except -1:
    """Raise for a parse failure of `text` (the characters parsed; `v` is shown)."""
    cdef str name = _name(side, index, field)
    cdef str shown = _show(v)
    if st == E_EMPTY:
        raise DecimalError(f"{name}{shown} is empty")
    if st == E_SIGN:
        raise DecimalError(
            f"{name}{shown} has a sign; prices and sizes are unsigned unless allow_negative=True")
    if st == E_NO_DIGITS:
        raise DecimalError(f"{name}{shown} has no digits")
    if st == E_EXPONENT:
        raise DecimalError(
            f"{name}{shown} uses exponent notation ({_char_at(text, r.pos)!r} at position {r.pos}); "
            "give plain decimal digits")
    if st == E_JUNK:
        raise DecimalError(
            f"{name}{shown} is not a decimal number: unexpected {_char_at(text, r.pos)!r} "
            f"at position {r.pos}")
    if st == E_DECIMALS:
        if field == F_COUNT:
            raise DecimalError(f"{name}{shown} is not a whole number")
        extra = f" ({r.written} written)" if r.written != r.decimals else ""
        raise DecimalError(
            f"{name}{shown} has {r.decimals} decimals{extra}, precision_factor {cv.factor} "
            f"allows {cv.scale}; pass rounding='half_even' or rounding='down' to round")
    if st == E_OVERFLOW:
        if field == F_COUNT:
            raise FieldRangeError(f"{name}{shown} is out of range 0..{UINT32_MAX}")
        raise FieldRangeError(
            f"{name}{shown} is out of range at precision_factor {cv.factor}: "
            f"the i64 fixed point holds {_range_text(cv)}")
    raise SystemError(f"orderbook._decimal: unknown parse status {st}")


cdef int _raise_factor(object v, const Conv* cv, int side, Py_ssize_t index, int field) except -1:
    raise DecimalError(
        f"{_name(side, index, field)}decimal text {_show(v)} needs a precision_factor that is a "
        f"power of ten (1, 10, ..., 10**18), got {cv.factor}")


# --- one value --------------------------------------------------------------------

cdef int _convert(object v, const Conv* cv, int64_t* out, int side, Py_ssize_t index,
                  int field) except -1:
    """Any accepted value to fixed point; the str / bytes fast path inline."""
    cdef Parsed r
    cdef Status st
    if PyUnicode_Check(v) and PyUnicode_KIND(v) == PyUnicode_1BYTE_KIND:
        if cv.scale < 0:
            _raise_factor(v, cv, side, index, field)
        st = _parse(<const unsigned char*>PyUnicode_DATA(v), PyUnicode_GET_LENGTH(v), cv.scale,
                    cv.allow_negative, cv.rounding, &r)
    elif PyBytes_Check(v):
        if cv.scale < 0:
            _raise_factor(v, cv, side, index, field)
        st = _parse(<const unsigned char*>PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v), cv.scale,
                    cv.allow_negative, cv.rounding, &r)
    else:
        return _convert_other(v, cv, out, side, index, field)
    if st != OK:
        _raise_status(st, &r, v, v, cv, side, index, field)
    out[0] = r.value
    return 0


cdef int _convert_other(object v, const Conv* cv, int64_t* out, int side, Py_ssize_t index,
                        int field) except -1:
    cdef Parsed r
    cdef Status st
    cdef object text
    cdef bytes narrow
    cdef int overflow = 0
    cdef long long x
    cdef uint64_t mag
    if PyBool_Check(v):
        raise FieldTypeError(
            f"{_name(side, index, field)}expected a decimal str, bytes, int or decimal.Decimal, "
            f"got bool {v!r}")
    if PyLong_Check(v) or PyIndex_Check(v):
        # a whole number of units: multiply by the factor, checking the range
        if not PyLong_Check(v):
            v = PyNumber_Index(v)
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        if (overflow < 0 or (overflow == 0 and x < 0)) and not cv.allow_negative:
            raise DecimalError(
                f"{_name(side, index, field)}{_show(v)} is negative; prices and sizes are unsigned "
                "unless allow_negative=True")
        # compare magnitudes (unsigned, so the division has one meaning)
        if x < 0:
            mag = <uint64_t>(-(x + 1)) + 1
        else:
            mag = <uint64_t>x
        if overflow or mag > _limit_units(x < 0, cv.factor):
            raise FieldRangeError(
                f"{_name(side, index, field)}{_show(v)} is out of range at precision_factor "
                f"{cv.factor}: the i64 fixed point holds {_range_text(cv)}")
        out[0] = x * cv.factor
        return 0
    if PyFloat_Check(v):
        raise FieldTypeError(
            f"{_name(side, index, field)}float {v!r} is not accepted: floats are inexact; "
            "pass the venue's decimal text, an int or a decimal.Decimal")
    if cv.scale < 0 and (PyUnicode_Check(v) or PyByteArray_Check(v) or isinstance(v, _Decimal)):
        _raise_factor(v, cv, side, index, field)
    if isinstance(v, _Decimal):
        return _convert_decimal(v, cv, out, side, index, field)
    if PyUnicode_Check(v):
        # wider than one byte per character: something is not ASCII.  Parse a
        # one-byte stand-in ('?' for the wide characters) to find the first
        # problem, then name the real character.
        text = v
        narrow = v.encode("latin-1", "replace")
        st = _parse(<const unsigned char*>PyBytes_AS_STRING(narrow), PyBytes_GET_SIZE(narrow),
                    cv.scale, cv.allow_negative, cv.rounding, &r)
    elif PyByteArray_Check(v):
        text = bytes(v)
        st = _parse(<const unsigned char*>PyByteArray_AS_STRING(v), PyByteArray_GET_SIZE(v),
                    cv.scale, cv.allow_negative, cv.rounding, &r)
    else:
        raise FieldTypeError(
            f"{_name(side, index, field)}expected a decimal str, bytes, int or decimal.Decimal, "
            f"got {type(v).__name__} {_show(v)}")
    if st != OK:
        _raise_status(st, &r, v, text, cv, side, index, field)
    out[0] = r.value
    return 0


cdef int _convert_decimal(object v, const Conv* cv, int64_t* out, int side, Py_ssize_t index,
                          int field) except -1:
    """decimal.Decimal: not the hot path, but exact in every case."""
    cdef Parsed r
    cdef Status st
    cdef bytes text
    cdef str name = _name(side, index, field)
    if not v.is_finite():
        raise DecimalError(f"{name}{_show(v)} is not a finite number")
    if v.is_signed() and not cv.allow_negative:
        raise DecimalError(
            f"{name}{_show(v)} has a sign; prices and sizes are unsigned unless allow_negative=True")
    if v.is_zero():
        out[0] = 0
        return 0
    # decimals first, as for text: those written, and those up to the last nonzero digit
    sign, digits, exponent = v.as_tuple()
    written = -exponent if exponent < 0 else 0
    significant = written
    i = len(digits) - 1
    while significant > 0 and i >= 0 and digits[i] == 0:
        significant -= 1
        i -= 1
    if significant > cv.scale and cv.rounding == ROUND_EXACT:
        extra = f" ({written} written)" if written != significant else ""
        raise DecimalError(
            f"{name}{_show(v)} has {significant} decimals{extra}, precision_factor {cv.factor} "
            f"allows {cv.scale}; pass rounding='half_even' or rounding='down' to round")
    # Bound the text format() makes: |v| >= 10**adjusted, so adjusted + scale
    # >= 19 overflows; below 10**-(scale + 1) the value rounds to 0.
    adjusted = v.adjusted()
    if adjusted + cv.scale >= MAX_SIG:
        raise FieldRangeError(
            f"{name}{_show(v)} is out of range at precision_factor {cv.factor}: "
            f"the i64 fixed point holds {_range_text(cv)}")
    if adjusted < -cv.scale - 1:
        out[0] = 0
        return 0
    text = format(v, "f").encode("ascii")
    st = _parse(<const unsigned char*>PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text), cv.scale,
                cv.allow_negative, cv.rounding, &r)
    if st != OK:
        _raise_status(st, &r, v, text, cv, side, index, field)
    out[0] = r.value
    return 0


cdef int _count_of(object v, bint asks, Py_ssize_t index, uint32_t* out) except -1:
    """order_count: an int, or decimal text of a whole number, in 0..2**32-1."""
    cdef uint64_t u = 0
    cdef Conv cv
    cdef int64_t x = 0
    if PyLong_Check(v) and not PyBool_Check(v):
        _as_u64(v, UINT32_MAX, _SIDE_NAMES[asks], index, "order_count", &u)
        out[0] = <uint32_t>u
        return 0
    if not (PyUnicode_Check(v) or PyBytes_Check(v) or PyByteArray_Check(v)):
        _as_u64(v, UINT32_MAX, _SIDE_NAMES[asks], index, "order_count", &u)   # raises the usual way
        out[0] = <uint32_t>u
        return 0
    cv.factor = 1
    cv.scale = 0
    cv.rounding = ROUND_EXACT
    cv.allow_negative = False
    _convert(v, &cv, &x, asks, index, F_COUNT)
    if x > UINT32_MAX:
        raise FieldRangeError(
            f"{_name(asks, index, F_COUNT)}{_show(v)} is out of range 0..{UINT32_MAX}")
    out[0] = <uint32_t>x
    return 0


# --- levels ---------------------------------------------------------------------

cdef inline bint _text_of(PyObject* v, const unsigned char** p, Py_ssize_t* n) noexcept:
    """Point at the characters of a one-byte-per-character str or of bytes."""
    if _is_str(v):
        if _str_kind(v) != PyUnicode_1BYTE_KIND:
            return False
        p[0] = <const unsigned char*>_str_data(v)
        n[0] = _str_len(v)
        return True
    if _is_bytes(v):
        p[0] = <const unsigned char*>_bytes_data(v)
        n[0] = _bytes_len(v)
        return True
    return False


cdef inline bint _level_fast(PyObject* item, const Conv* cv, Py_ssize_t i, bint order_counts,
                             OrderLevelC* lv) noexcept:
    """The common case -- a list or tuple of two texts (and an int count) --
    with no reference counting.  False: anything else, or anything wrong;
    the caller then takes `_level`, which converts or raises."""
    cdef Py_ssize_t n, tn
    cdef PyObject* price
    cdef PyObject* size
    cdef PyObject* count = NULL
    cdef const unsigned char* p
    cdef Parsed r
    cdef long long c
    cdef int overflow = 0
    if _is_list(item):
        n = _list_len(item)
        if n < 2:
            return False
        price = _list_item(item, 0)
        size = _list_item(item, 1)
        if n > 2:
            count = _list_item(item, 2)
    elif _is_tuple(item):
        n = _tuple_len(item)
        if n < 2:
            return False
        price = _tuple_item(item, 0)
        size = _tuple_item(item, 1)
        if n > 2:
            count = _tuple_item(item, 2)
    else:
        return False
    if cv.scale < 0 or not _text_of(price, &p, &tn) \
            or _parse(p, tn, cv.scale, cv.allow_negative, cv.rounding, &r) != OK:
        return False
    lv.price = r.value
    if not _text_of(size, &p, &tn) \
            or _parse(p, tn, cv.scale, cv.allow_negative, cv.rounding, &r) != OK:
        return False
    lv.size = r.value
    lv.order_count = 0
    if order_counts and count != NULL:
        if n > 3 or not _is_int(count):
            return False
        c = _int_value(count, &overflow)
        if overflow or c < 0 or c > UINT32_MAX:
            return False
        lv.order_count = <uint32_t>c
    lv.reserved = <uint32_t>i      # input position: makes the sort stable, zeroed after
    return True


cdef int _level(object item, const Conv* cv, bint asks, Py_ssize_t i, bint order_counts,
                OrderLevelC* lv) except -1:
    """[price, size] or [price, size, order_count] (a list, tuple or other sequence)."""
    cdef Py_ssize_t n
    cdef object price, size, count = None
    cdef int64_t v = 0
    cdef uint32_t c = 0
    if PyList_CheckExact(item):
        n = PyList_GET_SIZE(item)
        if n >= 2:
            price = <object>PyList_GET_ITEM(item, 0)
            size = <object>PyList_GET_ITEM(item, 1)
            if n >= 3:
                count = <object>PyList_GET_ITEM(item, 2)
    elif PyTuple_CheckExact(item):
        n = PyTuple_GET_SIZE(item)
        if n >= 2:
            price = <object>PyTuple_GET_ITEM(item, 0)
            size = <object>PyTuple_GET_ITEM(item, 1)
            if n >= 3:
                count = <object>PyTuple_GET_ITEM(item, 2)
    elif (PyList_Check(item) or PyTuple_Check(item) or PySequence_Check(item)) \
            and not (PyUnicode_Check(item) or PyBytes_Check(item) or PyByteArray_Check(item)):
        item = tuple(item)
        return _level(item, cv, asks, i, order_counts, lv)
    else:
        raise FieldTypeError(
            f"{_SIDE_NAMES[asks]}[{i}] must be [price, size] or [price, size, order_count], "
            f"got {type(item).__name__} {_show(item)}")
    if n < 2 or (n > 3 and order_counts):
        raise FieldTypeError(
            f"{_SIDE_NAMES[asks]}[{i}] must be [price, size] or [price, size, order_count], "
            f"got {n} item{'s' if n != 1 else ''}")
    _convert(price, cv, &v, asks, i, F_PRICE)
    lv.price = v
    _convert(size, cv, &v, asks, i, F_SIZE)
    lv.size = v
    if count is not None and order_counts:
        _count_of(count, asks, i, &c)
    lv.order_count = c
    lv.reserved = <uint32_t>i      # input position: makes the sort stable, zeroed after
    return 0


cdef int _cmp_bids(const void* a, const void* b) noexcept nogil:
    cdef const OrderLevelC* x = <const OrderLevelC*>a
    cdef const OrderLevelC* y = <const OrderLevelC*>b
    if x.price != y.price:
        return -1 if x.price > y.price else 1
    return (x.reserved > y.reserved) - (x.reserved < y.reserved)


cdef int _cmp_asks(const void* a, const void* b) noexcept nogil:
    cdef const OrderLevelC* x = <const OrderLevelC*>a
    cdef const OrderLevelC* y = <const OrderLevelC*>b
    if x.price != y.price:
        return -1 if x.price < y.price else 1
    return (x.reserved > y.reserved) - (x.reserved < y.reserved)


cdef Py_ssize_t _first_unsorted(const OrderLevelC* lv, Py_ssize_t n, bint asks) noexcept nogil:
    """Index of the first level priced worse-than-allowed after its predecessor, or -1."""
    cdef Py_ssize_t i
    for i in range(1, n):
        if (lv[i].price < lv[i - 1].price) if asks else (lv[i].price > lv[i - 1].price):
            return i
    return -1


cdef str _price_text(int64_t price, const Conv* cv):
    return _format(price, cv.scale, True) if cv.scale >= 0 else str(price)


cdef int _fill(LevelsC* dst, const BookLayout* L, object levels, const Conv* cv, bint asks,
               bint truncate, bint sort, bint order_counts) except -1:
    """Convert a whole side into dst, a local LevelsC (zeroed first; the
    caller's book is untouched), for a book of layout L."""
    cdef Py_ssize_t n, i, bad, keep
    cdef OrderLevelC* work
    cdef object seq = levels
    cdef int (*cmp)(const void*, const void*) noexcept nogil
    cdef PyObject* item
    cdef bint is_list
    if not (PyList_CheckExact(seq) or PyTuple_CheckExact(seq)):
        if PyUnicode_Check(seq) or PyBytes_Check(seq) or PyByteArray_Check(seq) or isinstance(seq, dict):
            raise FieldTypeError(
                f"{_SIDE_NAMES[asks]} must be a sequence of [price, size] levels, "
                f"got {type(seq).__name__}")
        seq = list(seq)
    n = len(seq)
    is_list = PyList_CheckExact(seq)
    start_side(dst, L, n, asks, truncate)     # capacity check, then a zeroed side
    work = &dst.elements[0]
    if n > OB_MAX_LEVELS:                     # more than the local's slots
        work = <OrderLevelC*>malloc(n * sizeof(OrderLevelC))
        if work == NULL:
            raise MemoryError()
    try:
        for i in range(n):
            item = _list_item(<PyObject*>seq, i) if is_list else _tuple_item(<PyObject*>seq, i)
            if not _level_fast(item, cv, i, order_counts, &work[i]):
                _level(<object>item, cv, asks, i, order_counts, &work[i])
                # the slow path may run Python code: the list must not shrink under us
                if is_list and _list_len(<PyObject*>seq) != n:
                    raise RuntimeError(f"{_SIDE_NAMES[asks]} changed size during conversion")
        bad = _first_unsorted(work, n, asks)
        if bad >= 0:
            if sort:
                cmp = _cmp_bids
                if asks:
                    cmp = _cmp_asks
                qsort(work, n, sizeof(OrderLevelC), cmp)
            elif n > L.capacity:
                raise ValidationError(
                    f"cannot truncate {_SIDE_NAMES[asks]} to the best {L.capacity}: level {bad} "
                    f"(price {_price_text(work[bad].price, cv)}) is {'below' if asks else 'above'} "
                    f"level {bad - 1} (price {_price_text(work[bad - 1].price, cv)}); give the side "
                    "best first or pass sort=True",
                    "sorted", _SIDE_NAMES[asks], bad)
        keep = n if n < L.capacity else L.capacity
        if work != &dst.elements[0]:
            memcpy(&dst.elements[0], work, keep * sizeof(OrderLevelC))
        for i in range(keep):
            dst.elements[i].reserved = 0
        dst.count = <unsigned short>keep
    finally:
        if work != &dst.elements[0]:
            free(work)
    return 0


# --- public API -----------------------------------------------------------------

def to_fixed(value, precision_factor=100_000_000, *, rounding=None, bint allow_negative=False):
    """One decimal value (str, bytes, int or decimal.Decimal) as an i64 fixed-point int.

    ``to_fixed("27012.45", 100_000_000) == 2701245000000``.  Text needs a
    power-of-ten ``precision_factor``; ints are multiplied by any factor.
    ``rounding=None`` raises on decimals past the precision, ``'half_even'``
    and ``'down'`` round.  Raises DecimalError (syntax, sign, decimals) or
    FieldRangeError (outside i64)."""
    cdef Conv cv
    cdef int64_t out = 0
    _init_conv(&cv, precision_factor, rounding, allow_negative)
    _convert(value, &cv, &out, -1, 0, F_VALUE)
    return out


cdef str _format(int64_t value, int scale, bint strip_zeros):
    cdef char buf[48]
    cdef int pos = 47, end = 47, digits = 0
    cdef uint64_t u = <uint64_t>value
    if value < 0:
        u = 0 - u
    # digits right to left, at least scale + 1 of them
    while u or digits <= scale:
        pos -= 1
        buf[pos] = <char>(48 + u % 10)
        u //= 10
        digits += 1
        if digits == scale and scale > 0:
            pos -= 1
            buf[pos] = b'.'
    if strip_zeros and scale > 0:
        while buf[end - 1] == b'0':
            end -= 1
        if buf[end - 1] == b'.':
            end -= 1
    if value < 0:
        pos -= 1
        buf[pos] = b'-'
    return buf[pos:end].decode("ascii")


def format_fixed(value, precision_factor=100_000_000, *, bint strip_zeros=False):
    """A fixed-point i64 as exact decimal text: ``format_fixed(2701245000000)``
    is ``'27012.45000000'`` (``'27012.45'`` with ``strip_zeros=True``).

    ``precision_factor`` must be a power of ten (DecimalError otherwise)."""
    cdef int64_t v = 0, f = 0
    cdef int scale
    _as_i64(value, None, 0, "value", &v)
    _as_i64(precision_factor, None, 0, "precision_factor", &f)
    scale = _scale_of(f) if f > 0 else -1
    if scale < 0:
        raise DecimalError(
            f"format_fixed needs a precision_factor that is a power of ten (1, 10, ..., 10**18), got {f}")
    return _format(v, scale, strip_zeros)


def to_decimal(value, precision_factor=100_000_000):
    """A fixed-point i64 as an exact ``decimal.Decimal`` (power-of-ten factors)."""
    return _Decimal(format_fixed(value, precision_factor))


def fill_side_from_strings(OrderBook book not None, bint asks, levels, *, precision_factor=None,
                           rounding=None, bint truncate=False, bint sort=True,
                           bint allow_negative=False, bint order_counts=True):
    """Replace one side of ``book`` (``asks`` False: bids) from decimal levels.

    ``levels``: [price, size] or [price, size, order_count] items, prices and
    sizes as str, bytes, int or decimal.Decimal.  ``precision_factor`` defaults
    to the book's.  ``sort`` orders the side best first (stable); without it
    the side is taken as given.  More levels than the book's capacity raise
    CapacityError unless ``truncate=True`` keeps the best.
    ``order_counts=False`` ignores any items after the size (e.g. Kraken's
    timestamps).  On any error the book is unchanged."""
    cdef Conv cv
    cdef LevelsC tmp
    cdef const BookLayout* L = book.layout()
    _init_conv(&cv, book.mut().precision_factor if precision_factor is None else precision_factor,
               rounding, allow_negative)
    _fill(&tmp, L, levels, &cv, asks, truncate, sort, order_counts)
    # the pointer is taken after the conversion, which may have run Python code
    ob_copy_side(ob_side(book.mut(), L, asks), &tmp, L)


def from_snapshot(cls, bids, asks, *, precision_factor=100_000_000, rounding=None,
                  bint truncate=False, bint sort=True, bint validate=True,
                  bint allow_negative=False, bint order_counts=True, capacity=None, **header):
    """A new ``cls`` (an OrderBook class) from a venue's decimal levels.

    Both sides as for ``fill_side_from_strings``; ``header`` takes the book's
    other fields (snapshot_timestamp_ns, sequence, asset_id, venue_id,
    asset_type, reserved).  With ``validate`` (the default) the result passes
    ``OrderBook.validate()`` or ValidationError is raised."""
    cdef Conv cv
    cdef LevelsC tmp_bids, tmp_asks
    cdef BookLayout L
    cdef OrderBook book
    layout_arg(capacity, &L)
    _init_conv(&cv, precision_factor, rounding, allow_negative)
    obj = cls(precision_factor=precision_factor, capacity=L.capacity, **header)
    if not isinstance(obj, OrderBook):
        raise FieldTypeError(f"from_snapshot needs an OrderBook class, got {cls!r}")
    book = <OrderBook>obj
    _fill(&tmp_bids, &L, bids, &cv, False, truncate, sort, order_counts)
    _fill(&tmp_asks, &L, asks, &cv, True, truncate, sort, order_counts)
    cdef OrderBookHeadC* t = book.mut()
    ob_copy_side(ob_side(t, &L, False), &tmp_bids, &L)
    ob_copy_side(ob_side(t, &L, True), &tmp_asks, &L)
    if validate:
        book.validate()
    return book


def to_snapshot(OrderBook book not None, *, bint strip_zeros=False, bint order_counts=False):
    """The book's levels as decimal text: ``{"bids": [[price, size], ...],
    "asks": [...]}`` (``[price, size, order_count]`` with ``order_counts``),
    the inverse of ``from_snapshot`` within the precision."""
    cdef const BookLayout* L = book.layout()
    cdef int64_t factor = book.tlv().precision_factor
    cdef int scale = _scale_of(factor) if factor > 0 else -1
    cdef const LevelsC* s
    cdef Py_ssize_t i, n
    cdef int a
    cdef list side
    if scale < 0:
        raise DecimalError(
            f"to_snapshot needs a precision_factor that is a power of ten, the book has {factor}")
    out = {}
    # formatting allocates: the book is pinned so that no collector callback,
    # finalizer or other thread can release or re-point it under the loop
    book.pin()
    try:
        for a in range(2):
            s = ob_cside(book.tlv(), L, a)
            n = count_of(s, L, a)
            side = []
            for i in range(n):
                if order_counts:
                    side.append([_format(s.elements[i].price, scale, strip_zeros),
                                 _format(s.elements[i].size, scale, strip_zeros),
                                 s.elements[i].order_count])
                else:
                    side.append([_format(s.elements[i].price, scale, strip_zeros),
                                 _format(s.elements[i].size, scale, strip_zeros)])
            out[_SIDE_NAMES[a]] = side
    finally:
        book.unpin()
    return out
