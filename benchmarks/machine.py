"""A short description of the machine a run was made on, for the report."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Dict, List


def _cpu_model() -> str:
    """The model name from /proc/cpuinfo, with family/model numbers (virtual
    machines often report only a marketing name such as "AMD EPYC")."""
    fields: Dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break                       # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> Dict[str, object]:
    """CPU, cores, OS, Python and library versions, load at the start."""
    import orderbook

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:      # not on Linux
        usable = os.cpu_count() or 0
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_compiler": platform.python_compiler(),
        "orderbook": getattr(orderbook, "__version__", "?"),
        "crc32_implementation": orderbook.crc32_implementation(),
        "numpy": _version("numpy"),
        "msgspec": _version("msgspec"),
        "isal": _version("isal"),
        "zlib-ng": _version("zlib-ng"),
        "pytest-benchmark": _version("pytest-benchmark"),
        "loadavg_at_start": load,
        "executable": sys.executable,
    }


def summary_lines(info: Dict[str, object]) -> List[str]:
    """The description as a few human lines (markdown-friendly)."""
    load = list(info.get("loadavg_at_start") or [])  # type: ignore[call-overload]
    return [
        f"CPU: {info['cpu']} ({info['cores']} cores, {info['usable_cores']} usable), {info['machine']}",
        f"OS: {info['os']}",
        f"Python: {info['python']} ({info['python_compiler']})",
        f"orderbook {info['orderbook']} (crc32: {info['crc32_implementation']}), "
        f"numpy {info['numpy']}, msgspec {info['msgspec']}, isal {info.get('isal', '?')}, "
        f"zlib-ng {info.get('zlib-ng', '?')}, pytest-benchmark {info['pytest-benchmark']}",
        "load average at start: " + (" / ".join(str(x) for x in load) if load else "n/a"),
    ]
