"""Timing, percentiles, resident memory and clean child processes for the benchmarks."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """``{"p50_ms", "p99_ms", "n"}`` of durations given in seconds.

    Example:
        >>> percentiles_ms([0.001, 0.002, 0.003])["p50_ms"]
        2.0
    """
    if not seconds:
        raise ValueError("percentiles_ms needs at least one duration")
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99)),
            "n": len(seconds)}


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), seconds)`` measured with ``perf_counter``."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def timed_cpu(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``(value, wall seconds, CPU seconds of this process)`` of one call.

    On a shared machine the wall time includes waiting for a core; the CPU time (with one
    thread per pool, ``premium perf --threads 1``) is close to what an idle core would take.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """The highest resident memory of this process so far, in MB (10^6 bytes)."""
    # Linux's ru_maxrss survives exec: a child started by a big parent would report the parent's
    # peak. VmHWM belongs to this process's own address space, so it is the figure to trust.
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def current_rss_mb() -> Optional[float]:
    """Resident memory now, in MB, where ``/proc`` exists (``None`` elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def in_child(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` in a fresh Python process and return its value.

    A fresh process has its own peak memory, so figures such as :func:`peak_rss_mb` measured
    inside ``fn`` are not inflated by what this process holds. ``fn`` must be a module-level
    function; its arguments and return value must be JSON data. The child imports ``fn`` by
    name (no fork, no re-run of the caller's main script); its stderr passes through.

    Example:
        >>> in_child(peak_rss_mb) > 0  # doctest: +SKIP
        True
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        request = json.dumps({"module": fn.__module__, "name": fn.__qualname__, "args": args,
                              "kwargs": kwargs, "out": str(out)})
        completed = subprocess.run([sys.executable, "-c", _CHILD, request], stdout=subprocess.DEVNULL)
        if completed.returncode != 0 or not out.exists():
            raise RuntimeError(f"{fn.__module__}.{fn.__qualname__} failed in a child process "
                               f"(exit code {completed.returncode}); its error is printed above")
        return json.loads(out.read_text(encoding="utf-8"))


_CHILD = """
import importlib, json, sys
request = json.loads(sys.argv[1])
fn = getattr(importlib.import_module(request["module"]), request["name"])
value = fn(*request["args"], **request["kwargs"])
with open(request["out"], "w", encoding="utf-8") as handle:
    json.dump(value, handle)
"""


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare figures between machines."""
    import platform

    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": round(load[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
