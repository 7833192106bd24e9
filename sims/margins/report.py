"""Figures and the short PDF report of a ``sims.margin_sweep`` run (rows as written to results.csv).

Three figures (PNG + PDF, written atomically through ``sims.sweep.io``; drawn by :mod:`sims.margins.figures`
from the rows as DataFrames, in the shared style of :mod:`sims.sweep.style`) and ``<name>_report.pdf``:

* ``<name>_margins``: median matched-filter margin and Fisher separation vs superposition ratio per code
  and sparsity, with the per-sample bound (M3) and the exact separation (M9), and the coherence vs ratio
  with the Welch bound (M1) (once);
* ``<name>_accuracy``: accuracy vs input noise (matched filter, with theory: exact (M7) for orthogonal
  codes, mean-field (M10) otherwise; least-squares probes at every training size) and vs label noise
  (probes at every training size), mean ± 95% CI over replicates, chance 1/n;
* ``<name>_crossover``: the input-noise level where mono overtakes each superposed code (interpolated
  from the mean accuracy curves) vs ratio, with the mean-field balance level (M11).

Titles are short; the config goes into each figure's footnote (``config.caption()``). The report PDF has
fixed metadata (no dates), so the same rows give the same bytes.
"""
from __future__ import annotations

import io
import math
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from sims.sweep import io as sio
from sims.sweep.style import CODE_COLORS
from sims.margins.config import ORTHONORMAL_TOL
from sims.engine.stats import t_stats

__all__ = ["make_figures_and_report", "aggregate", "crossovers", "check_summary", "REPORT_STEM"]

REPORT_STEM = "report"
_COLORS = dict(CODE_COLORS)  # the shared palette (sims.sweep.style)


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


# --------------------------------------------------------------------------------------------- report
def _text_page(config: Any, rows: list[dict], summary: list[dict], cross: list[dict]) -> Any:
    fig = sio.new_figure(figsize=(8.27, 11.69))
    n_cells = len({(r.get("code"), r.get("ratio"), r.get("sparsity")) for r in rows})
    lines = [
        f"{config.display_name()} - run report ({config.slug()})",
        "",
        *textwrap.wrap(config.caption(), 110),
        "",
        f"{n_cells} non-empty cells, {len(rows)} rows; {config.reps} replicates x {config.n_test} test samples; "
        f"n = {config.n_features}, m = {config.m}.",
        "",
        "Checks of the theory (theory/margins.py, equations (M1)-(M11) of theory/derive/margins.py).",
        "holds: min over rows (fraction of covered samples for the margin bounds; 0/1 statistical test",
        "otherwise). tightness: empirical/bound for lower bounds, bound/empirical for upper bounds (1 = tight;",
        "NaN where the bound is vacuous); defined: share of rows where it is defined.",
        "",
        f"{'check':<15}{'kind':<14}{'stat':<8}{'rows':>6}{'holds':>7}{'tight med':>11}{'tight max':>11}"
        f"{'defined':>9}{'inform.':>9}",
    ]
    for s in summary:
        lines.append(f"{s['check']:<15}{s['kind']:<14}{s['stat']:<8}{s['rows']:>6}{_g(s['holds_min']):>7}"
                     f"{_g(s['tight_median']):>11}{_g(s['tight_max']):>11}{_g(s['tight_defined']):>9}"
                     f"{_g(s['informative']):>9}")
    med = aggregate(rows, ("code", "ratio", "sparsity"), "tightness", _is_m3_median)
    inf_ = aggregate(rows, ("code", "ratio", "sparsity"), "informative", _is_m3_median)
    lines += ["", "Margin bound (M3) per code: tightness of the median (empirical median margin / median bound;",
              "'vac.' = the median bound is <= 0) and, in brackets, the share of covered samples with a positive bound.",
              f"{'code':>10}{'ratio':>7}" + "".join(f"{'S = ' + format(S, 'g'):>18}" for S in config.sparsity)]
    for code in config.code:
        for q in sorted(config.ratio):
            cells = [(med.get((code, q, S)), inf_.get((code, q, S))) for S in config.sparsity]
            if all(i is None for _, i in cells):
                continue
            txt = ""
            for t, i in cells:
                tt = "-" if i is None else ("vac." if t is None else f"{t[0]:.3g}")
                ii = "" if i is None else f" [{i[0]:.2f}]"
                txt += f"{tt + ii:>18}"
            lines.append(f"{code:>10}{q:>7g}{txt}")
    lines += ["", "Where mono overtakes the superposed code (matched filter, input noise lam):",
              f"{'sparsity':>9}{'code':>11}{'ratio':>7}{'simulation':>12}{'mean-field':>12}"]
    for c in cross:
        emp = _g(c["empirical"]) if math.isfinite(c["empirical"]) else f">{c['lam_max']:g}"
        lines.append(f"{c['sparsity']:>9g}{c['code']:>11}{c['ratio']:>7g}{emp:>12}{_g(c['theory']):>12}")
    fig.text(0.06, 0.97, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=6.3)
    return fig


def _g(v: float) -> str:
    return "nan" if not math.isfinite(v) else f"{v:.3g}"


def make_figures_and_report(rows: list[dict], out_dir: Any, config: Any) -> list[Path]:
    """Write the figures of :mod:`sims.margins.figures` (PNG + PDF; drawn from the rows as DataFrames, as
    ``load_run`` returns them) and ``<name>_report.pdf``; returns the paths written."""
    from matplotlib.backends.backend_pdf import PdfPages

    from sims.margins import figures as MF
    from sims.sweep import style

    out = Path(out_dir)
    paths: list[Path] = []
    figs = MF.figures_from_frames(MF.frames(rows, config), config)
    with style.context():
        for name in MF.FIGURES:
            paths += sio.save_figure(figs[name], out / config.figure_stem(name), tight=False)
        cross = crossovers(rows, config)
        summary = check_summary(rows)
        buf = io.BytesIO()
        meta = {"Title": f"{config.display_name()} report", "Creator": None, "Producer": None,
                "CreationDate": None, "ModDate": None}
        with PdfPages(buf, metadata=meta) as pdf:
            pdf.savefig(_text_page(config, rows, summary, cross))
            for name in MF.FIGURES:
                pdf.savefig(figs[name])
    paths.append(sio.atomic_write_bytes(out / f"{config.figure_stem(REPORT_STEM)}.pdf", buf.getvalue()))
    return paths
