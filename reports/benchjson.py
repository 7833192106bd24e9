"""The benchmark result files the report reads (``benchmarks/results/<name>.json``), written by the
benchmark scripts' ``--json PATH`` option. One schema for all three (read back by
``reports.sections.read_benchmark``)::

    {"benchmark": "p1_probes", "workload": "...", "metric": "median wall seconds",
     "ours_s": 0.42, "peer": "scikit-learn 1.5 (54 LogisticRegression fits)", "peer_s": 9.1,
     "date_utc": "...", "machine": {"cpu_model", "cpu_count", "system", "machine", "load_avg_1m"},
     "command": "python benchmarks/p1_probes.py --repeats 3", "details": {...}, "note": "..."}

``peer`` / ``peer_s`` are ``null`` when there is no peer (the main-job wall time has a target instead).
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any, Mapping

__all__ = ["check_path", "machine", "write"]


def check_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path if its folder exists and can be written (checked before a long benchmark runs)."""
    p = Path(path)
    if p.suffix != ".json":
        raise ValueError(f"--json == {str(path)!r}, must be a path ending in .json")
    if not p.parent.is_dir() or not os.access(p.parent, os.W_OK):
        raise ValueError(f"--json == {str(path)!r}: folder {str(p.parent)!r} does not exist or is not writable")
    return p


def machine() -> dict[str, Any]:
    """CPU model, core count, OS and the 1-minute load average at the time of writing."""
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {"cpu_model": model or platform.machine(), "cpu_count": os.cpu_count(), "system": platform.system(),
            "machine": platform.machine(), "python": platform.python_version(), "load_avg_1m": load}


def write(path: str | os.PathLike, *, benchmark: str, workload: str, ours_s: float, peer: str | None,
          peer_s: float | None, details: Mapping[str, Any], note: str = "", metric: str = "median wall seconds") -> Path:
    """Write one benchmark result atomically (see the module docstring for the fields)."""
    from sims.sweep import io as sio

    data = {"benchmark": benchmark, "workload": workload, "metric": metric, "ours_s": float(ours_s),
            "peer": peer, "peer_s": None if peer_s is None else float(peer_s), "date_utc": sio.utc_now(),
            "machine": machine(), "command": " ".join(["python", *sys.argv]), "details": dict(details),
            "note": note}
    return sio.atomic_write_json(path, data)
