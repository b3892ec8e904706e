"""A downstream Cython extension built on orderbook's C API, as a user's project would be.

    python setup.py build_ext --inplace

Two paths come from the installed package: the directory of the C headers its
.pxd files name (include_dirs, as numpy.get_include()), and the directory that
holds ``orderbook/*.pxd`` for Cython.  Cython also finds the .pxd files on
sys.path, but not through the import hook of an editable install, so it is
given explicitly.
"""

import os

import orderbook
from Cython.Build import cythonize
from setuptools import Extension, setup

headers = orderbook.get_include()

setup(
    name="ob-downstream",
    ext_modules=cythonize(
        [Extension("ob_downstream", ["ob_downstream.pyx"], include_dirs=[headers],
                   extra_compile_args=["-Wall", "-Werror=address-of-packed-member"])],
        include_path=[os.path.dirname(headers)],
        compiler_directives={"language_level": 3},
    ),
)
