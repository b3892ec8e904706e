"""Build the Cython extensions.  Compiler directives live here, in one place."""

import os
import sys

from setuptools import Extension, setup

if sys.byteorder != "little":
    sys.exit("orderbook supports little-endian hosts only: its structs are the "
             "little-endian wire bytes read in place (this host is %s-endian)" % sys.byteorder)

# OB_SANITIZE=1 builds with AddressSanitizer + UBSan (make sanitize); OB_DEBUG=1 without -O3.
sanitize = os.environ.get("OB_SANITIZE") == "1"
debug = sanitize or os.environ.get("OB_DEBUG") == "1"

# -g0: no debug info in an optimised build (CPython's own CFLAGS carry -g), which
# takes about 40% off the compile time and 75% off the .so size.
compile_args = ["-O1", "-g", "-fno-omit-frame-pointer"] if debug else ["-O3", "-g0"]
compile_args += ["-std=c11", "-Wall", "-Wno-unused-function", "-Wno-unreachable-code"]
link_args = []
if sanitize:
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    compile_args += flags
    link_args += flags

directives = {
    "language_level": 3,
    "boundscheck": False,      # indices are checked explicitly against count / capacity
    "wraparound": False,       # negative indices are normalised by hand
    "initializedcheck": False,
    "cdivision": True,         # only C integer division by nonzero constants
    "embedsignature": True,
    "freethreading_compatible": False,
}

# One extension per module; the CRC-32 kernels are linked into the message codec.
# Largest first: the parallel build then ends with the small ones, not one big
# compile on one core.
modules = {
    "_capture": [], "_book": [], "_message": ["orderbook/src/ob_crc32.c"], "_decimal": [],
    "_stream": [], "_levels": [], "_fill": [], "_convert": [], "_layout": [],
}
extensions = [
    Extension(f"orderbook.{name}", [f"orderbook/{name}.pyx"] + extra,
              include_dirs=["orderbook"], extra_compile_args=compile_args,
              extra_link_args=link_args)
    for name, extra in modules.items()
]

# make install registers the checkout with an editable install that compiles
# nothing (OB_EDITABLE_NO_EXT=1: an editable install compiles every extension
# in a throwaway directory) and `setup.py build_ext --inplace` compiles them,
# once, keeping build/ for incremental rebuilds.  Nor does it cythonize: pip
# runs this file three times for one editable install (requirements, metadata,
# the wheel), and none of them needs the extensions.
if os.environ.get("OB_EDITABLE_NO_EXT") == "1" and not {"build", "build_ext", "bdist_wheel"} & set(sys.argv):
    extensions = []

if extensions:
    # imported only when compiling (Cython's import alone is a second, times three)
    from Cython.Build import cythonize
    from Cython.Compiler import Options

    Options.warning_errors = True   # Cython warnings fail the build
    extensions = cythonize(
        extensions,
        compiler_directives=directives,
        include_path=["."],
        nthreads=os.cpu_count() or 1,
    )

setup(
    ext_modules=extensions,
    # the extensions compile side by side (build_ext -j), one per core
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
)
