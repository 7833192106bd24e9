"""Run-level summaries of the main job's rows (results.csv as dicts or DataFrame records): means with 95%
Student-t intervals over replicates (:func:`aggregate`), where mono overtakes each superposed code
(:func:`crossovers`) and how the bounds of ``theory.margins`` fare (:func:`check_summary`). Used by the
figures (:mod:`sims.margins.figures`), the run's PDF report (:mod:`sims.margins.report`, which re-exports
them) and the toolkit's report.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from sims.engine.stats import t_stats
from sims.margins.config import ORTHONORMAL_TOL

__all__ = ["aggregate", "crossovers", "check_summary"]


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def aggregate(rows: Iterable[dict], keys: tuple[str, ...], value: str,
              where: Callable[[dict], bool] = lambda r: True) -> dict[tuple, tuple[float, float, int]]:
    """``{key values: (mean, 95% CI half-width, count)}`` of ``value`` over the rows passing ``where``
    (finite values only; the replicates are the observations)."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if where(r):
            v = _f(r.get(value))
            if math.isfinite(v):
                groups[tuple(r.get(k) for k in keys)].append(v)
    out = {}
    for key, vals in groups.items():
        n, mean, _, half = t_stats(np.asarray(vals, dtype=np.float64))
        out[key] = (mean, half, n)
    return out


def _is_mf(r: dict) -> bool:
    """A matched-filter readout row."""
    return r.get("record") == "readout" and r.get("readout") == "matched_filter"


def _is_m3_median(r: dict) -> bool:
    """The check row of the per-sample margin bound (M3) at the median."""
    return r.get("record") == "check" and r.get("check") == "margin_sample" and r.get("stat") == "q50"


def _first_crossing(lams: np.ndarray, diff: np.ndarray) -> float:
    """First ``lam`` where ``diff = acc_mono - acc_code`` becomes > 0 (linear interpolation); 0 when mono
    already wins at the first level, NaN when it never does on the grid."""
    if diff[0] > 0:
        return float(lams[0])
    for i in range(1, len(lams)):
        if diff[i] > 0:
            d0, d1 = diff[i - 1], diff[i]
            return float(lams[i - 1] + (lams[i] - lams[i - 1]) * (-d0) / (d1 - d0))
    return float("nan")


def crossovers(rows: list[dict], config: Any) -> list[dict]:
    """Per (sparsity, code, ratio) of a superposed code: the empirical crossing level (mean matched-filter
    accuracy curves of the code and of mono at the same sparsity) and the mean-field ``lam*`` (M11)."""
    acc = aggregate(rows, ("sparsity", "code", "ratio", "level"), "acc", _is_mf)
    theory = {(r["sparsity"], r["code"], r["ratio"]): r for r in rows if r.get("record") == "theory"}
    mu = aggregate(rows, ("sparsity", "code", "ratio"), "mu", lambda r: r.get("record") == "readout")
    lams = np.asarray(sorted(config.input_noise), dtype=float)
    out = []
    for S in config.sparsity:
        mono = [acc.get((S, "mono", 1.0, lv)) for lv in lams]
        for code in config.code:
            if code == "mono":
                continue
            for q in config.ratio:
                cur = [acc.get((S, code, q, lv)) for lv in lams]
                if any(c is None for c in cur) or mu.get((S, code, q), (0.0,))[0] <= ORTHONORMAL_TOL:
                    continue  # not run, or orthonormal (mono up to a rotation: no crossing to find)
                emp = float("nan")
                if all(c is not None for c in mono):
                    diff = np.array([mc[0] - cc[0] for mc, cc in zip(mono, cur)])
                    emp = _first_crossing(lams, diff)
                th = theory.get((S, code, q), {})
                lam_star = _f(th.get("lam_star"))
                if th.get("sign_at_zero") is not None and _f(th["sign_at_zero"]) > 0:
                    lam_star = 0.0  # the model has mono ahead already without noise
                out.append({"sparsity": S, "code": code, "ratio": q, "empirical": emp,
                            "theory": lam_star, "sign_at_zero": th.get("sign_at_zero"),
                            "lam_max": float(lams[-1])})
    return out


def check_summary(rows: list[dict]) -> list[dict]:
    """Per check (and kind): rows, min / mean of ``holds``, median / max tightness, mean ``informative``."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get("record") == "check":
            groups[(r["check"], r["kind"], r["stat"])].append(r)
    out = []
    for (name, kind, stat), rs in sorted(groups.items()):
        holds = np.array([_f(r.get("holds")) for r in rs])
        tight = np.array([_f(r.get("tightness")) for r in rs])
        info = np.array([_f(r.get("informative")) for r in rs])
        ft = tight[np.isfinite(tight)]
        out.append({
            "check": name, "kind": kind, "stat": stat, "rows": len(rs),
            "holds_min": float(np.nanmin(holds)) if np.isfinite(holds).any() else float("nan"),
            "tight_median": float(np.median(ft)) if ft.size else float("nan"),
            "tight_max": float(ft.max()) if ft.size else float("nan"),
            "tight_defined": float(ft.size / len(rs)),
            "informative": float(np.nanmean(info)) if np.isfinite(info).any() else float("nan"),
        })
    return out
