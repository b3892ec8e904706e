"""Build the Cython extensions.  Compiler directives live here, in one place."""

import os
import sys

from Cython.Build import cythonize
from Cython.Compiler import Options
from setuptools import Extension, setup

if sys.byteorder != "little":
    sys.exit("orderbook supports little-endian hosts only: its structs are the "
             "little-endian wire bytes read in place (this host is %s-endian)" % sys.byteorder)

# OB_SANITIZE=1 builds with AddressSanitizer + UBSan (make sanitize); OB_DEBUG=1 without -O3.
sanitize = os.environ.get("OB_SANITIZE") == "1"
debug = sanitize or os.environ.get("OB_DEBUG") == "1"

compile_args = ["-O1", "-g", "-fno-omit-frame-pointer"] if debug else ["-O3"]
compile_args += ["-std=c11", "-Wall", "-Wno-unused-function", "-Wno-unreachable-code"]
link_args = []
if sanitize:
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    compile_args += flags
    link_args += flags

Options.warning_errors = True   # Cython warnings fail the build

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
modules = {
    "_convert": [], "_layout": [], "_fill": [], "_book": [], "_levels": [],
    "_message": ["orderbook/src/ob_crc32.c"], "_decimal": [],
    "_stream": [],
    "_capture": [],
}
extensions = [
    Extension(f"orderbook.{name}", [f"orderbook/{name}.pyx"] + extra,
              include_dirs=["orderbook"], extra_compile_args=compile_args,
              extra_link_args=link_args)
    for name, extra in modules.items()
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        include_path=["."],
    ),
)
