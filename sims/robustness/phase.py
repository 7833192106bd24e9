"""Aggregation, boundaries and figures of the robustness sweep (``python -m sims.robustness_sweep``).

Input: the tidy rows of the sweep (one per replicate x comparator x scenario x level x training size;
``record = "accuracy"`` for simulations, ``"theory"`` for the predictions of ``theory.robustness``).

* :func:`t_interval` / :func:`aggregate`: mean and Student-t 95% interval over replicates, with the
  comparator's monosemanticity metrics (means over replicates) on every row.
* :func:`paired_differences`: ``acc(mono side) - acc(poly side)`` per replicate (same data: common
  random numbers), mean and 95% interval; ``winner`` is "mono" / "poly" when the interval excludes 0,
  else "tie".
* :func:`boundaries`: where that difference changes sign along one swept parameter (label noise ``eta``
  at fixed ``n_train``; ``n_train`` at fixed ``eta``; input noise ``lam`` at fixed ``n_train``;
  sparsity ``S`` at fixed ``n_train``), empirical (mean over replicates, with a bootstrap interval over
  replicates and the share of bootstrap resamples that cross at all) next to the prediction (the same
  crossing of the theory rows), and their relative gap.
* :func:`fig5_verdict`: the paper's Fig.-5 pattern (clean: poly wins; label noise: mono wins; input
  noise: mono wins) judged on the data of one (S, m, n_train).
* :func:`make_outputs`: summary.csv, differences.csv, boundaries.csv and verdict.json; the figures
  (Fig.-5 style, training sizes, few-shot, OOD, phase diagram with the theory boundary overlaid, PNG + PDF)
  are drawn from these tables by :mod:`sims.robustness.figures`.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from sims.sweep import io as sio
from sims.engine.stats import t_interval, t_stats
from sims.robustness.comparators import METRIC_KEYS

__all__ = [
    "KEYS",
    "wrap",
    "t_interval",
    "t_stats",
    "aggregate",
    "paired_differences",
    "boundaries",
    "fig5_verdict",
    "make_outputs",
]

#: columns identifying one measurement across replicates
KEYS = ("sparsity", "m", "record", "comparator", "scenario", "kind", "at", "level", "n_train")
_DIFF_KEYS = tuple(k for k in KEYS if k != "comparator")
METRICS = METRIC_KEYS
_BOOT = 2000


def wrap(text: str, fig: Any, chars_per_inch: float = 22.0) -> str:
    """``text`` wrapped to the width of ``fig`` (captions built from the config are long)."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * chars_per_inch))
    return "\n".join(textwrap.fill(part, width) for part in text.split("\n"))


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _key(r: Mapping[str, Any], keys: Sequence[str]) -> tuple:
    out = []
    for k in keys:
        v = r.get(k, "")
        if k in ("sparsity", "level"):
            v = _f(v)
        elif k in ("m", "n_train"):
            v = int(_f(v)) if v not in ("", None) and math.isfinite(_f(v)) else -1
        else:
            v = "" if v is None else str(v)
        out.append(v)
    return tuple(out)


def aggregate(rows: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Mean ± 95% t-interval of ``acc`` over replicates per :data:`KEYS`, with the mean
    monosemanticity metrics of the comparator's codes."""
    groups: dict[tuple, list[Mapping]] = defaultdict(list)
    for r in rows:
        if r.get("record") in ("accuracy", "theory"):
            groups[_key(r, KEYS)].append(r)
    out = []
    for key, rs in groups.items():
        mean, half, n = t_interval([_f(r["acc"]) for r in rs])
        row = dict(zip(KEYS, key))
        row.update(acc_mean=mean, acc_lo=mean - half, acc_hi=mean + half, n_reps=n)
        for mk in METRICS:
            vals = [_f(r.get(mk)) for r in rs]
            row[mk] = float(np.nanmean(vals)) if any(math.isfinite(x) for x in vals) else float("nan")
        out.append(row)
    out.sort(key=lambda d: tuple(str(d[k]) if isinstance(d[k], str) else d[k] for k in KEYS))
    return out


def _paired(rows: Iterable[Mapping[str, Any]], mono: str, poly: str, record: str) -> dict[tuple, dict[int, float]]:
    """``{key: {rep: acc_mono - acc_poly}}`` for one record type."""
    acc: dict[tuple, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        if r.get("record") != record or r.get("comparator") not in (mono, poly):
            continue
        acc[_key(r, _DIFF_KEYS)][r["comparator"]][int(_f(r["rep"]))] = _f(r["acc"])
    out = {}
    for key, d in acc.items():
        reps = sorted(set(d.get(mono, {})) & set(d.get(poly, {})))
        if reps:
            out[key] = {k: d[mono][k] - d[poly][k] for k in reps}
    return out


def paired_differences(rows: Iterable[Mapping[str, Any]], mono: str = "dense", poly: str = "superposed") -> list[dict]:
    """``acc(mono) - acc(poly)`` per replicate; mean, 95% t-interval, winner ("mono", "poly", "tie")."""
    rows = list(rows)
    out = []
    for record in ("accuracy", "theory"):
        for key, d in _paired(rows, mono, poly, record).items():
            mean, half, n = t_interval(list(d.values()))
            row = dict(zip(_DIFF_KEYS, key))
            row.update(mono=mono, poly=poly, diff_mean=mean, diff_lo=mean - half, diff_hi=mean + half, n_reps=n,
                       winner=_winner(mean, half) if n >= 2 else "")
            out.append(row)
    out.sort(key=lambda d: tuple(str(d[k]) if isinstance(d[k], str) else d[k] for k in _DIFF_KEYS))
    return out


# ------------------------------------------------------------------------------------------ boundaries
def _curves(rows: Sequence[Mapping], mono: str, poly: str, record: str, scenario: str, kind: str, at: str,
            sweep: str) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
    """Per fixed setting: the swept values and the per-replicate differences ``(reps, len(values))``."""
    pairs = _paired(rows, mono, poly, record)
    idx = {k: i for i, k in enumerate(_DIFF_KEYS)}
    coll: dict[tuple, dict[float, dict[int, float]]] = defaultdict(dict)
    for key, d in pairs.items():
        if key[idx["scenario"]] != scenario or key[idx["kind"]] != kind or key[idx["at"]] != at:
            continue
        fixed = tuple((k, key[idx[k]]) for k in ("sparsity", "m", "level", "n_train") if k != sweep)
        coll[fixed][key[idx[sweep]]] = d
    out = {}
    for fixed, by in coll.items():
        xs = sorted(by)
        if len(xs) < 2:
            continue
        reps = sorted(set.intersection(*(set(by[x]) for x in xs)))
        if not reps:
            continue
        out[fixed] = (np.asarray(xs, dtype=np.float64), np.array([[by[x][r] for x in xs] for r in reps]))
    return out


_SWEEPS = (  # (name, scenario, kind, at, swept key, log)
    ("eta", "label_noise", "symmetric", "", "level", False),
    ("n_train", "label_noise", "symmetric", "", "n_train", True),
    ("lam", "input_noise", "gaussian", "test", "level", False),
    ("sparsity", "label_noise", "symmetric", "", "sparsity", False),
)


def _winner(mean: float, half: float) -> str:
    """"mono" / "poly" when the interval ``mean ± half`` of ``acc(mono) - acc(poly)`` lies above /
    below 0, else "tie" (also for a NaN half-width)."""
    return "mono" if mean - half > 0 else "poly" if mean + half < 0 else "tie"


def _winners(D: np.ndarray) -> list[str]:
    """Per column of the per-replicate differences ``D (reps, levels)``: :func:`_winner` of its 95%
    t-interval."""
    return [_winner(*t_interval(list(col))[:2]) for col in D.T]


def boundaries(rows: Iterable[Mapping[str, Any]], mono: str = "dense", poly: str = "superposed",
               seed: int = 0) -> list[dict]:
    """Empirical and predicted crossings of ``acc(mono) - acc(poly)`` (see the module docstring).

    One row per (swept parameter, fixed setting): ``emp`` (crossing of the mean difference; NaN if
    none), ``emp_lo`` / ``emp_hi`` (2.5% / 97.5% bootstrap quantiles over replicates, among the
    resamples that cross), ``emp_p`` (share of resamples that cross), ``resolved`` (some level has mono
    ahead and another poly ahead, each by a 95% interval excluding 0: a crossing beyond doubt),
    ``emp_dir`` / ``pred_dir``
    (+1: mono overtakes as the parameter grows), ``pred`` (crossing of the theory rows' mean
    difference), ``gap`` = ``|pred - emp| / |emp|`` (NaN unless both exist).
    """
    from sims.engine.stats import crossing

    rows = [r for r in rows if r.get("record") in ("accuracy", "theory")]
    g = np.random.default_rng(seed)
    out = []
    for name, scenario, kind, at, sweep, log in _SWEEPS:
        emp = _curves(rows, mono, poly, "accuracy", scenario, kind, at, sweep)
        th = _curves(rows, mono, poly, "theory", scenario, kind, at, sweep)
        for fixed, (xs, D) in sorted(emp.items()):
            if sweep == "sparsity" and dict(fixed).get("level") != 0.0:
                continue  # the clean boundary S*(n) only
            val, direction = crossing(xs, D.mean(axis=0), log=log)
            boots = []
            if D.shape[0] >= 2:
                pick = g.integers(0, D.shape[0], size=(_BOOT, D.shape[0]))
                for b in pick:
                    boots.append(crossing(xs, D[b].mean(axis=0), log=log)[0])
            bt = np.asarray(boots)
            crossed = bt[np.isfinite(bt)]
            wins = _winners(D)
            row = {"sweep": name, **{k: v for k, v in fixed}, "grid_lo": float(xs[0]), "grid_hi": float(xs[-1]),
                   "emp": val, "emp_dir": direction, "resolved": bool("mono" in wins and "poly" in wins),
                   "emp_lo": float(np.quantile(crossed, 0.025)) if crossed.size else float("nan"),
                   "emp_hi": float(np.quantile(crossed, 0.975)) if crossed.size else float("nan"),
                   "emp_p": float(crossed.size / bt.size) if bt.size else float("nan"),
                   "n_reps": int(D.shape[0])}
            pred, pdir = float("nan"), 0
            if fixed in th:
                txs, TD = th[fixed]
                common = np.intersect1d(txs, xs)
                if common.size >= 2:
                    sel = np.isin(txs, common)
                    pred, pdir = crossing(txs[sel], TD[:, sel].mean(axis=0), log=log)
            row.update(pred=pred, pred_dir=pdir,
                       gap=abs(pred - val) / abs(val) if (math.isfinite(pred) and math.isfinite(val) and val != 0)
                       else float("nan"),
                       agree=("both" if math.isfinite(pred) and math.isfinite(val) and pdir == direction else
                              "neither" if not math.isfinite(pred) and not math.isfinite(val) else "differ")
                       if fixed in th else "no theory")
            out.append(row)
    return out


# ------------------------------------------------------------------------------------------ verdict
def fig5_verdict(diffs: Sequence[Mapping[str, Any]], sparsity: float, m: int, n_train: int) -> dict:
    """The paper's Fig.-5 pattern on the simulated differences at (sparsity, m, n_train).

    clean: ``label_noise`` at eta = 0; label noise: every eta > 0 (symmetric); input noise: every lam > 0
    (gaussian, at test). For each: the differences with their intervals and who wins; the pattern
    "reproduces" for a part when its winner is the paper's (clean: poly ahead; noise: mono ahead at
    some level and poly nowhere ahead beyond the first such level).
    """
    def sel(scenario, kind, at):
        return sorted((d for d in diffs if d["scenario"] == scenario and d["kind"] == kind and d["at"] == at
                       and abs(d["sparsity"] - sparsity) < 1e-12 and d["m"] == m and d["n_train"] == n_train
                       and d.get("n_reps", 0) >= 1 and _is_acc(d)), key=lambda d: d["level"])

    lab = sel("label_noise", "symmetric", "")
    inp = sel("input_noise", "gaussian", "test")
    out: dict[str, Any] = {"sparsity": sparsity, "m": m, "n_train": n_train}
    if not lab:
        return {**out, "available": False}
    clean = lab[0]
    out["clean"] = {"diff": clean["diff_mean"], "lo": clean["diff_lo"], "hi": clean["diff_hi"],
                    "winner": clean["winner"], "reproduces": clean["winner"] == "poly"}
    for name, ds in (("label_noise", lab[1:]), ("input_noise", [d for d in inp if d["level"] > 0])):
        if not ds:
            continue
        mono_levels = [d["level"] for d in ds if d["winner"] == "mono"]
        poly_levels = [d["level"] for d in ds if d["winner"] == "poly"]
        out[name] = {"levels": [d["level"] for d in ds], "diff": [d["diff_mean"] for d in ds],
                     "lo": [d["diff_lo"] for d in ds], "hi": [d["diff_hi"] for d in ds],
                     "mono_wins_at": mono_levels, "poly_wins_at": poly_levels,
                     "reproduces": bool(mono_levels) and not any(lv > min(mono_levels) for lv in poly_levels)}
    out["available"] = True
    return out


def _is_acc(d: Mapping) -> bool:
    return d.get("record", "accuracy") == "accuracy"


# ------------------------------------------------------------------------------------------ outputs
def make_outputs(rows: list[dict], out_dir: Path, config: Any) -> tuple[list[Path], dict]:
    """Write summary.csv, differences.csv, boundaries.csv and verdict.json.

    Returns the written paths and ``{"summary", "differences", "boundaries", "verdict"}`` (the figures of
    the sweep, :mod:`sims.robustness.figures`, are drawn from them)."""
    out_dir = Path(out_dir)
    agg = aggregate(rows)
    diffs = paired_differences(rows)
    bnd = boundaries(rows, seed=int(config.seed))
    paths = [sio.write_csv(out_dir / "summary.csv", agg, list(agg[0].keys()) if agg else list(KEYS)),
             sio.write_csv(out_dir / "differences.csv", diffs, list(diffs[0].keys()) if diffs else list(_DIFF_KEYS)),
             sio.write_csv(out_dir / "boundaries.csv", bnd, _BOUNDARY_COLUMNS)]
    verdict = fig5_verdict(diffs, config.fig_sparsity, config.fig_m, max(config.n_train))
    verdict["gap_summary"] = gap_summary(bnd)
    paths.append(sio.atomic_write_json(out_dir / "verdict.json", _jsonable(verdict)))
    return paths, {"summary": agg, "differences": diffs, "boundaries": bnd, "verdict": verdict}


_BOUNDARY_COLUMNS = ["sweep", "sparsity", "m", "level", "n_train", "grid_lo", "grid_hi", "emp", "emp_dir", "resolved",
                     "emp_lo", "emp_hi", "emp_p", "n_reps", "pred", "pred_dir", "gap", "agree"]


def gap_summary(bnd: Sequence[Mapping[str, Any]]) -> dict:
    """How the predicted boundaries compare with the empirical ones, per swept parameter: how many
    settings cross in simulation (and how many of those beyond doubt, ``resolved``) / in theory / both in
    the same direction; the median and max relative gap where both cross, and over the resolved ones,
    and how many are within 10%."""
    out = {}
    for name in sorted({b["sweep"] for b in bnd}):
        bs = [b for b in bnd if b["sweep"] == name and b["agree"] != "no theory"]
        both = [b for b in bs if math.isfinite(b["gap"]) and b["agree"] == "both"]
        gaps = [b["gap"] for b in both]
        res = [b["gap"] for b in both if b.get("resolved")]
        out[name] = {"settings": len(bs), "emp_crosses": sum(math.isfinite(b["emp"]) for b in bs),
                     "resolved": sum(bool(b.get("resolved")) for b in bs),
                     "pred_crosses": sum(math.isfinite(b["pred"]) for b in bs),
                     "both_cross": len(gaps), "neither": sum(b["agree"] == "neither" for b in bs),
                     "differ": sum(b["agree"] == "differ" for b in bs),
                     "median_gap": float(np.median(gaps)) if gaps else float("nan"),
                     "max_gap": float(np.max(gaps)) if gaps else float("nan"),
                     "within_10pct": sum(g <= 0.1 for g in gaps),
                     "resolved_with_pred": len(res),
                     "resolved_median_gap": float(np.median(res)) if res else float("nan"),
                     "resolved_within_10pct": sum(g <= 0.1 for g in res),
                     "resolved_missed_by_theory": sum(bool(b.get("resolved")) and not math.isfinite(b["pred"]) for b in bs)}
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
