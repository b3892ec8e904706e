# Every target creates or reuses .venv on its own: a fresh clone needs only python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
SOURCES := $(wildcard orderbook/*.pyx orderbook/*.pxd orderbook/src/*.c orderbook/src/*.h)
# The compiled extensions, rebuilt when a source changes.
BUILT := $(VENV)/.built

.PHONY: install build demo pipeline nats-demo test bench memray wheel fuzz sanitize typecheck crc-aarch64 clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "setuptools>=64" "Cython>=3.0,<4" wheel
	$(PY) -m pip install -q --no-build-isolation -e ".[test,bench,profile,fuzz]"
	touch $@

$(BUILT): $(STAMP) $(SOURCES) setup.py
	$(PY) setup.py -q build_ext --inplace
	touch $@

install: $(BUILT)            ## venv with the package (editable) and every dev tool

build: $(BUILT)

demo: $(BUILT)               ## build, then a short tour: build, encode, decode, view
	$(PY) examples/demo.py

pipeline: $(BUILT)           ## venue snapshots -> messages -> Unix socket -> books, for 2 s
	$(PY) examples/pipeline.py

nats-demo: $(BUILT)          ## NATS JetStream: starts its own nats-server -js, a publisher and two consumers
	$(PY) examples/nats_demo.py

test: $(BUILT)               ## the full test suite
	$(PY) -m pytest -q tests

bench: $(BUILT)              ## benchmark against the Vec baseline and peers; prints the table
	$(PY) benchmarks/run.py

memray: $(BUILT)             ## allocation report of the hot path under profiling/
	$(PY) profiling/memray_report.py

fuzz: $(BUILT)               ## coverage-guided fuzzing (FUZZ_SECONDS, default 180)
	$(PY) fuzz/run.py --seconds $${FUZZ_SECONDS:-180}

sanitize: $(STAMP)           ## ASan + UBSan build, then the tests and a fuzz burst
	bash tools/sanitize.sh

crc-aarch64:                 ## CRC-32 kernels cross-built for aarch64, checked under qemu-aarch64-static
	bash tools/crc_aarch64.sh

typecheck: $(BUILT)
	$(PY) -m mypy --strict tests/typing_api.py examples

wheel: $(STAMP)              ## a wheel under dist/, checked in a clean venv
	rm -rf dist build/wheelcheck
	$(PY) -m pip wheel -q --no-deps -w dist .
	$(PYTHON) -m venv build/wheelcheck
	build/wheelcheck/bin/pip install -q dist/orderbook-*.whl
	cd build && wheelcheck/bin/python -c "import orderbook, sys; print('installed', orderbook.__version__, 'from', orderbook.__file__)"
	$(PY) -c "import zipfile, glob; n = zipfile.ZipFile(glob.glob('dist/*.whl')[0]).namelist(); need = ['orderbook/__init__.pxd', 'orderbook/structs.pxd', 'orderbook/_book.pxd', 'orderbook/_message.pxd', 'orderbook/capi.pxd', 'orderbook/src/ob_platform.h', 'orderbook/_book.pyi', 'orderbook/_message.pyi', 'orderbook/py.typed']; missing = [x for x in need if x not in n]; assert not missing, missing; print('wheel holds', len(n), 'files incl.', ', '.join(need))"

clean:
	rm -rf build dist *.egg-info orderbook/*.so orderbook/_*.c $(BUILT) .pytest_cache .benchmarks
