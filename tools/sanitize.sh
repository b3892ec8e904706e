#!/usr/bin/env bash
# make sanitize: the extension built with AddressSanitizer + UndefinedBehaviorSanitizer
# in a scratch copy (the in-place build is left alone), then the whole test suite
# and a fuzz burst against it.  Any sanitizer report, test failure or fuzz
# finding fails the run.
#
# How:
#   * the tracked and new files of orderbook/ (plus setup.py, pyproject.toml,
#     README.md and LICENSE, which the metadata names)
#     are copied to $OB_SANITIZE_DIR (default build/sanitize/src) and built with
#     OB_SANITIZE=1 (setup.py adds -fsanitize=address,undefined
#     -fno-sanitize-recover=undefined, -O1 -g) and gcc's
#     -fsanitize-coverage=trace-cmp, so the fuzzer also gets feedback from the
#     comparisons inside the C code (fuzz/cov/ob_cov_shim.c);
#   * CPython is not built with ASan, so libasan is LD_PRELOADed into it;
#     PYTHONMALLOC=malloc sends every Python allocation through ASan's
#     allocator (so overruns of Python objects are caught too) and
#     ASAN_OPTIONS=detect_leaks=0 silences the interpreter's by-design leaks
#     at exit;
#   * pytest runs the repository's tests/ against the scratch build (cwd and
#     PYTHONPATH point at it, and a guard plugin fails the run if any other
#     copy of orderbook got imported); OB_UNDER_SANITIZER=asan (or valgrind)
#     is exported so that a test which cannot run under a sanitizer can skip;
#   * fuzz/run.py then fuzzes every target for $SANITIZE_FUZZ_SECONDS
#     (default 60) with the same build.
#
# Where libasan cannot be preloaded into Python (no gcc runtime, a static
# interpreter, ...), or with OB_SANITIZE_MODE=valgrind, the suite runs under
# valgrind memcheck instead, against an -O1 -g build (OB_DEBUG=1), with a
# suppression file for the dynamic loader's and CPython's own false
# positives; the fuzz burst is replaced by the in-process corpus replay that
# tests/test_fuzz_smoke.py does (atheris under valgrind is too slow to help).
#
# Environment: PY (interpreter, default .venv/bin/python), CC (default gcc),
# OB_SANITIZE_DIR, OB_SANITIZE_MODE (asan | valgrind), SANITIZE_FUZZ_SECONDS,
# PYTEST_ARGS (extra pytest arguments).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
CC=${CC:-gcc}
WORK=${OB_SANITIZE_DIR:-$ROOT/build/sanitize}
SRC=$WORK/src
MODE=${OB_SANITIZE_MODE:-asan}
FUZZ_SECONDS=${SANITIZE_FUZZ_SECONDS:-60}
REPORT_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer|ERROR SUMMARY: [1-9]'

step() { printf '\n==== sanitize: %s\n' "$*"; }
die() { printf '\nsanitize: FAILED: %s\n' "$*" >&2; exit 1; }

# --- 1. a scratch copy of the sources ------------------------------------------------
step "copying the sources to $SRC"
rm -rf "$SRC"
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked files plus new, not ignored ones: the working tree as it is now
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard -- \
        orderbook setup.py pyproject.toml README.md LICENSE examples/data |
        (cd "$ROOT" && xargs -0 -r cp --parents -t "$SRC")
else
    cp -r orderbook setup.py pyproject.toml "$SRC"/
    [ -f README.md ] && cp README.md "$SRC"/
    [ -f LICENSE ] && cp LICENSE "$SRC"/
    # the README's examples read the venue samples next to the package
    [ -d examples/data ] && mkdir -p "$SRC/examples" && cp -r examples/data "$SRC/examples/"
    find "$SRC/orderbook" \( -name '*.so' -o -name '_*.c' -o -name '__pycache__' \) -prune -exec rm -rf {} +
fi
[ -f "$SRC/setup.py" ] && [ -d "$SRC/orderbook" ] || die "could not copy the sources"

# --- 2. build ---------------------------------------------------------------------
probe_flag() {   # does $CC accept these flags?
    echo 'int main(void){return 0;}' | "$CC" "$@" -x c -o /dev/null - >/dev/null 2>&1
}

build() {   # build the scratch copy with extra CFLAGS; setup.py adds its own flags
    (cd "$SRC" && CC="${BUILD_CC:-$CC}" CFLAGS="${1:-}" "$PY" setup.py -q build_ext --inplace \
        >"$WORK/build.log" 2>&1) ||
        { tail -40 "$WORK/build.log" >&2; die "build failed (log: $WORK/build.log)"; }
}

if [ "$MODE" = asan ]; then
    LIBASAN=$("$CC" -print-file-name=libasan.so 2>/dev/null || true)
    if [ -z "$LIBASAN" ] || [ ! -e "$LIBASAN" ] || ! probe_flag -fsanitize=address,undefined; then
        echo "no ASan runtime for $CC (libasan.so: ${LIBASAN:-none}); falling back to valgrind"
        MODE=valgrind
    fi
fi

if [ "$MODE" = asan ]; then
    CMP=""
    if probe_flag -fsanitize-coverage=trace-cmp; then
        CMP="-fsanitize-coverage=trace-cmp"
    fi
    step "building with ASan + UBSan ${CMP:+and $CMP }($CC)"
    # Comparison tracing everywhere but in the hand-written C kernels under
    # orderbook/src/ (the CRC loops): their compares say nothing about the
    # input and would swamp the fuzzer with callbacks and useless features.
    BUILD_CC=$WORK/cc-trace-cmp
    printf '%s\n' '#!/usr/bin/env bash' \
        'for a in "$@"; do case "$a" in */src/*.c|src/*.c)' \
        '    args=(); for b in "$@"; do case "$b" in -fsanitize-coverage=*) ;; *) args+=("$b") ;; esac; done' \
        '    exec "$OB_REAL_CC" "${args[@]}" ;; esac; done' \
        'exec "$OB_REAL_CC" "$@"' >"$BUILD_CC"
    chmod +x "$BUILD_CC"
    export OB_REAL_CC=$CC
    OB_SANITIZE=1 build "$CMP"
    SHIM=$WORK/libob_cov_shim.so
    "$CC" -shared -fPIC -O2 -foptimize-sibling-calls -Wall -Werror -o "$SHIM" \
        "$ROOT/fuzz/cov/ob_cov_shim.c" -ldl || die "could not build the coverage shim"
    export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:allocator_may_return_null=1:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    export PYTHONMALLOC=malloc
    # libasan first, as ASan wants.  libstdc++ is preloaded too so that ASan's
    # __cxa_throw interceptor finds the real one (C++ extensions that throw,
    # such as atheris and memray, otherwise die on an ASan CHECK).  The shim
    # only fills in gcc's float-compare hooks here.
    LIBSTDCXX=$("$CC" -print-file-name=libstdc++.so 2>/dev/null || true)
    [ -e "$LIBSTDCXX" ] || LIBSTDCXX=""
    PRELOAD="$LIBASAN${LIBSTDCXX:+:$LIBSTDCXX}:$SHIM"
    step "checking that libasan preloads into $PY"
    probe=$(cd "$SRC" && LD_PRELOAD=$PRELOAD "$PY" -c \
        'import orderbook; from orderbook import _book, _message; print(orderbook.__file__)' 2>&1) || true
    where=${probe##*$'\n'}
    if [ "${where#"$SRC"/}" = "$where" ]; then
        echo "$probe" | tail -5
        echo "libasan cannot be preloaded into $PY; falling back to valgrind"
        MODE=valgrind
        unset ASAN_OPTIONS UBSAN_OPTIONS
    else
        echo "ok: $where (libasan $LIBASAN)"
    fi
fi

if [ "$MODE" = valgrind ]; then
    command -v valgrind >/dev/null || die "neither an ASan runtime nor valgrind is available"
    step "building -O1 -g (OB_DEBUG=1) for valgrind memcheck"
    rm -rf "$SRC/build" "$SRC"/orderbook/*.so
    OB_DEBUG=1 build ""
    export PYTHONMALLOC=malloc
    SUPP=$WORK/valgrind-python.supp
    # False positives of an uninstrumented stack: the dynamic loader (no
    # libc6-dbg), CPython's own uninitialised-digit and small-object tricks,
    # glibc's vector string functions reading past the end of Python strings.
    # Only errors whose innermost frame is in libpython, a stdlib extension,
    # or libc called from libpython are hidden: one in orderbook's code still
    # fails the run.
    cat >"$SUPP" <<'EOF'
{
   ld.so-dlopen-addr
   Memcheck:Addr8
   ...
   fun:_dl_catch_exception
}
{
   ld.so-dlopen-cond
   Memcheck:Cond
   ...
   fun:_dl_catch_exception
}
{
   ld.so-dlopen-value
   Memcheck:Value8
   ...
   fun:_dl_catch_exception
}
{
   ld.so-start
   Memcheck:Cond
   ...
   fun:_dl_start
}
{
   cpython-internal-value
   Memcheck:Value8
   obj:*/libpython3*.so*
}
{
   cpython-internal-cond
   Memcheck:Cond
   obj:*/libpython3*.so*
}
{
   cpython-static-internal-value
   Memcheck:Value8
   obj:*/bin/python3*
}
{
   cpython-static-internal-cond
   Memcheck:Cond
   obj:*/bin/python3*
}
{
   cpython-stdlib-extension-value
   Memcheck:Value8
   obj:*/lib-dynload/*.so
}
{
   cpython-stdlib-extension-cond
   Memcheck:Cond
   obj:*/lib-dynload/*.so
}
{
   glibc-vector-string-overread-from-cpython
   Memcheck:Addr32
   obj:*/libc.so*
   obj:*/libpython3*.so*
}
{
   glibc-vector-string-overread-from-cpython-16
   Memcheck:Addr16
   obj:*/libc.so*
   obj:*/libpython3*.so*
}
{
   glibc-vector-string-cond-from-cpython
   Memcheck:Cond
   obj:*/libc.so*
   obj:*/libpython3*.so*
}
EOF
fi

# Tests that cannot run under a sanitizer can skip on this.
export OB_UNDER_SANITIZER=$MODE
export PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}"
export OB_SANITIZE_SRC=$SRC
export PYTHONDONTWRITEBYTECODE=1

# A pytest plugin that pins `orderbook` to the scratch build before any test
# module can import another copy, and says which one runs.
cat >"$SRC/_ob_sanitize_guard.py" <<'EOF'
import os

import orderbook

SRC = os.environ["OB_SANITIZE_SRC"]
if not orderbook.__file__.startswith(SRC + os.sep):
    raise SystemExit(f"sanitize: imported {orderbook.__file__}, not the build under {SRC}")


def pytest_report_header(config):
    return f"orderbook under test: {os.path.dirname(orderbook.__file__)} (sanitizer build)"
EOF

# --- 3. the test suite ------------------------------------------------------------------
LOG=$WORK/pytest.log
# shellcheck disable=SC2086
PYTEST=("$PY" -m pytest -q -p _ob_sanitize_guard -p no:cacheprovider --rootdir "$ROOT"
        "$ROOT/tests" ${PYTEST_ARGS:-})
status=0
if [ "$MODE" = asan ]; then
    step "pytest tests/ under ASan + UBSan"
    (cd "$SRC" && LD_PRELOAD=$PRELOAD "${PYTEST[@]}") 2>&1 | tee "$LOG" || status=$?
else
    step "pytest tests/ under valgrind memcheck (slow)"
    (cd "$SRC" && valgrind --tool=memcheck --error-exitcode=99 --leak-check=no \
        --track-origins=yes --suppressions="$SUPP" -q "${PYTEST[@]}") 2>&1 | tee "$LOG" || status=$?
fi
[ "$status" -eq 0 ] || die "pytest exited with status $status under $MODE (log: $LOG)"
if grep -Eq "$REPORT_RE" "$LOG"; then
    grep -En "$REPORT_RE" "$LOG" | head -20 >&2
    die "sanitizer reports in the test run (log: $LOG)"
fi

# --- 4. a fuzz burst ----------------------------------------------------------------------
FLOG=$WORK/fuzz.log
if [ "$MODE" = asan ]; then
    step "fuzzing every target for ${FUZZ_SECONDS}s under ASan + UBSan"
    rm -rf "$WORK/fuzz-out" "$WORK/fuzz-crashes"
    # The shim goes first here so that the extension's comparison hooks and
    # atheris' counter registrations bind to it rather than to libasan's weak
    # no-ops (hence verify_asan_link_order=0).  malloc_context_size=2 records
    # allocation stacks without unwinding through CPython, which is 5x faster;
    # a report still shows the full stack of the bad access, and
    # `fuzz/run.py --replay` reruns a crash with full allocation stacks.
    (cd "$ROOT" && LD_PRELOAD="$SHIM:$LIBASAN${LIBSTDCXX:+:$LIBSTDCXX}" \
        ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0:malloc_context_size=2" \
        "$PY" fuzz/run.py --seconds "$FUZZ_SECONDS" --out "$WORK/fuzz-out" \
        --crashes "$WORK/fuzz-crashes") 2>&1 | tee "$FLOG" || status=$?
    [ "$status" -eq 0 ] || die "the fuzz burst failed (log: $FLOG; worker logs in $WORK/fuzz-out)"
    if grep -Eq "$REPORT_RE" "$WORK"/fuzz-out/*.log; then
        grep -En "$REPORT_RE" "$WORK"/fuzz-out/*.log | head -20 >&2
        die "sanitizer reports in the fuzz burst"
    fi
else
    step "valgrind mode: fuzz corpus replay (atheris under valgrind is too slow)"
    (cd "$ROOT" && valgrind --tool=memcheck --error-exitcode=99 --leak-check=no \
        --suppressions="$SUPP" -q "$PY" fuzz/run.py --replay fuzz/corpus/*/*) 2>&1 | tee "$FLOG" || status=$?
    [ "$status" -eq 0 ] || die "corpus replay failed under valgrind (log: $FLOG)"
fi

step "clean: $MODE build, tests and fuzzing reported nothing"
tail -1 "$LOG"
grep -E '^total:' "$FLOG" || true
