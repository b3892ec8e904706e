"""Fuzzing support for orderbook: a pure-Python reference of the wire rules
(``reference``), the fuzz targets that check the library against it
(``targets``) and structure-aware mutators (``mutators``).

Lives beside ``fuzz/run.py``; the tests import it by putting ``fuzz/`` on
``sys.path`` (never the repository root, so a sanitizer build on PYTHONPATH
stays the ``orderbook`` that gets imported).
"""
