# Every target creates .venv on first use and reuses it after: a fresh clone
# needs only python3 and a C compiler.  `make clean` keeps .venv; remove it
# (rm -rf .venv) for a fresh one.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# --no-compile: no .pyc for every module of every dependency at install time
# (numpy alone has hundreds); Python writes them for what is imported, when it is.
PIP := $(PY) -m pip -q --disable-pip-version-check
INSTALL := $(PIP) install --no-compile
# The package (editable) and numpy: what demo and pipeline need.
BASE := $(VENV)/.installed
# ... and every dev tool: tests, benchmarks, memray, fuzzing, build, auditwheel.
STAMP := $(VENV)/.installed-dev
SOURCES := $(wildcard orderbook/*.pyx orderbook/*.pxd orderbook/src/*.c orderbook/src/*.h)
# The compiled extensions, rebuilt when a source changes.
BUILT := $(VENV)/.built
# The distribution's name on the package index (the import name is orderbook),
# normalized as in wheel and sdist file names.
DIST := orderbook_tlv

.PHONY: install build demo pipeline nats-demo test bench bench-refresh callgrind memray memray-refresh wheel sdist-check matrix fuzz sanitize typecheck crc-aarch64 clean

# The editable install compiles nothing (OB_EDITABLE_NO_EXT=1, see setup.py):
# the extensions are compiled once, by build_ext --inplace below, which keeps
# build/ so that a later change recompiles only what it touches.
$(BASE): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) "pip>=23" "setuptools>=77" "Cython>=3.1,<4"
	OB_EDITABLE_NO_EXT=1 $(INSTALL) --no-build-isolation -e ".[numpy]"
	touch $@

$(STAMP): $(BASE)
	OB_EDITABLE_NO_EXT=1 $(INSTALL) --no-build-isolation -e ".[dev]"
	touch $@

$(BUILT): $(BASE) $(SOURCES) setup.py
	$(PY) setup.py -q build_ext --inplace
	touch $@

install: $(STAMP) $(BUILT)   ## venv with the package (editable) and every dev tool

build: $(BUILT)              ## compile the extensions in place (only what changed)

demo: $(BUILT)               ## build, then a short tour: build, encode, decode, view
	$(PY) examples/demo.py

pipeline: $(BUILT)           ## venue snapshots -> messages -> Unix socket -> books, for 2 s
	$(PY) examples/pipeline.py

nats-demo: $(STAMP) $(BUILT)  ## NATS JetStream: starts its own nats-server -js, a publisher and two consumers
	$(PY) examples/nats_demo.py

test: $(STAMP) $(BUILT)      ## the full test suite, in .venv (created if absent, else reused)
	$(PY) -m pytest -q tests

bench: $(STAMP) $(BUILT)     ## the suite against the Vec baseline and peers, the paired ratio targets, the capture scan, the transports, callgrind counts; under build/bench/
	$(PY) benchmarks/run.py --results-dir build/bench
	$(PY) benchmarks/paired.py --json build/bench/paired.json
	$(PY) benchmarks/bench_scan.py
	$(PY) benchmarks/bench_transport.py
	$(PY) benchmarks/callgrind.py --json build/bench/callgrind.json

bench-refresh: $(STAMP) $(BUILT)  ## the same, rewriting the committed benchmarks/results/ (callgrind.json too) and the README tables
	$(PY) benchmarks/run.py --readme
	$(PY) benchmarks/run.py --report-only --readme README.md
	$(PY) benchmarks/paired.py --json benchmarks/results/paired.json
	$(PY) benchmarks/bench_scan.py
	$(PY) benchmarks/bench_transport.py
	$(PY) benchmarks/callgrind.py --json benchmarks/results/callgrind.json

memray: $(STAMP) $(BUILT)    ## allocation report of the hot path under build/memray/
	$(PY) profiling/memray_report.py --output-dir build/memray

memray-refresh: $(STAMP) $(BUILT) ## the same, rewriting the committed profiling/report.md, stats and flame graphs
	$(PY) profiling/memray_report.py

fuzz: $(STAMP) $(BUILT)      ## coverage-guided fuzzing (FUZZ_SECONDS, default 180)
	$(PY) fuzz/run.py --seconds $${FUZZ_SECONDS:-180}

sanitize: $(STAMP)           ## ASan + UBSan build, then the tests and a fuzz burst
	bash tools/sanitize.sh

crc-aarch64:                 ## CRC-32 kernels cross-built for aarch64, checked under qemu-aarch64-static
	bash tools/crc_aarch64.sh

callgrind: $(STAMP) $(BUILT) ## per-call instruction counts of the main calls (valgrind), both capacities
	$(PY) benchmarks/callgrind.py --json build/callgrind/counts.json

typecheck: $(STAMP) $(BUILT) ## mypy --strict on the typing checks and the examples
	$(PY) -m mypy --strict tests/typing_api.py examples

# python -m build makes the sdist, then the wheel from the sdist (in an isolated
# build environment: pyproject.toml's build requirements are all it gets);
# auditwheel gives the wheel its manylinux tag; both are checked, and the wheel
# is installed in a clean venv and imported.
wheel: $(STAMP)              ## sdist + manylinux wheel under dist/, checked in a clean venv
	rm -rf dist build/wheelcheck
	$(PY) -m build -q -o dist/raw .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m auditwheel repair --strip -w dist dist/raw/$(DIST)-*.whl
	mv dist/raw/$(DIST)-*.tar.gz dist/
	rm -rf dist/raw
	$(PY) tools/check_dist.py dist/$(DIST)-*.tar.gz dist/$(DIST)-*manylinux*.whl
	$(PYTHON) -m venv build/wheelcheck
	build/wheelcheck/bin/python -m pip install -q dist/$(DIST)-*manylinux*.whl
	cd build && wheelcheck/bin/python -c "import orderbook; print('installed', orderbook.__version__, 'from', orderbook.__file__)"
	@ls -l dist/

sdist-check:                 ## pip install dist/*.tar.gz (from make wheel) in a clean venv and import it
	rm -rf build/sdistcheck
	$(PYTHON) -m venv build/sdistcheck
	build/sdistcheck/bin/python -m pip install -q dist/$(DIST)-*.tar.gz
	cd build && sdistcheck/bin/python -c "import orderbook; print('installed', orderbook.__version__, 'from', orderbook.__file__)"

matrix: $(STAMP)             ## wheel + test suite on every CPython 3.9-3.13 under ~/.pyenv/versions, one table
	nice -n 10 $(PY) tools/matrix.py

clean:
	rm -rf build dist *.egg-info orderbook/*.so orderbook/_*.c $(BUILT) .pytest_cache .benchmarks
