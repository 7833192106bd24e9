"""The Benchmarks section shows benchmarks/scale.py's cost curves: the table of fitted exponents and the
log-log figure, read from the JSON the script writes (reports.sections); benchmarks/scale.py's fit."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

from reports.layout import FigureBlock, Table, render_png
from reports.sections import BENCHMARKS, benchmarks_section

ROOT = Path(__file__).resolve().parent.parent


def _scale_module():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "scale.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fit_exponent_known_slopes():
    mod = _scale_module()
    ns = [64, 256, 1024, 4096]
    assert math.isclose(mod.fit_exponent(ns, [3.0 * n ** 2 for n in ns]), 2.0)
    assert math.isclose(mod.fit_exponent(ns, [0.5 * n for n in ns]), 1.0)
    assert mod.fit_exponent([64], [1.0]) is None


def test_scale_curves_table_and_loglog_figure(tmp_path):
    ns = (64, 256, 1024, 4096)
    stages = {
        "frame": {str(n): {"seconds": 1e-6 * n ** 2, "peak_rss_mb": 40 + n / 10, "coherence_over_welch": 1.2} for n in ns},
        "main_job_quick": {str(n): {"seconds": 2 + 1e-5 * n ** 2, "peak_rss_mb": 120 + n / 5} for n in ns},
        "cells": {str(n): {"seconds": 1e-5 * n ** 2} for n in ns},
    }
    curve = {"sizes": list(ns), "stages": stages,
             "exponents": {"frame": {"time": 2.0, "memory": 0.6}, "main_job_quick": {"time": 0.9, "memory": 0.3},
                           "cells": {"time": 2.0, "memory": None}}}
    (tmp_path / "scale.json").write_text(json.dumps({
        "benchmark": "scale", "workload": "w", "ours_s": 55.0, "peer": None, "peer_s": None,
        "date_utc": "2000-01-02T03:04:05+00:00", "machine": {"cpu_model": "cpu", "cpu_count": 2},
        "details": {"curve": curve, "job_1024": {"median_seconds": 55.0}}}))
    blocks = benchmarks_section(tmp_path)
    main = next(b for b in blocks if isinstance(b, Table) and b.title.startswith("Benchmarks"))
    assert next(r for r in main.rows if r[0] == BENCHMARKS["scale"][0])[1] == "55"
    table = next(b for b in blocks if isinstance(b, Table) and b.title.startswith("Scale"))
    assert table.columns[1:5] == ["n=64", "n=256", "n=1024", "n=4096"] and len(table.rows) == 3
    assert table.rows[0][-3:] == ["2", "2", "0.6"] and "n=4096: 1.2" in table.note  # n^2: slope 2 everywhere
    (fig,) = [b for b in blocks if isinstance(b, FigureBlock)]
    assert render_png(fig, 1)[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_scale_file_no_figure(tmp_path):
    blocks = benchmarks_section(tmp_path)
    assert not any(isinstance(b, FigureBlock) for b in blocks)
    main = next(b for b in blocks if isinstance(b, Table))
    assert next(r for r in main.rows if r[0] == BENCHMARKS["scale"][0])[1] == "not measured"
