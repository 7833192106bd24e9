"""Figures and the short PDF report of a ``sims.margin_sweep`` run (rows as written to results.csv).

Three figures (PNG + PDF, written atomically through ``sims.sweep.io``) and ``<name>_report.pdf`` beside results.csv:

* ``<name>_margins``: median matched-filter margin vs superposition ratio per code with the per-sample
  bound (M3) overlaid (vacuous bounds, <= 0, marked on the zero line), and coherence vs ratio with the
  Welch bound (M1);
* ``<name>_accuracy``: accuracy vs input noise (matched filter, with theory: exact (M7) for orthogonal
  codes, mean-field (M10) otherwise) and vs label noise (least-squares probe), mean +- 95% CI over
  replicates;
* ``<name>_crossover``: the input-noise level where mono overtakes each superposed code (interpolated
  from the mean accuracy curves) vs ratio, with the mean-field balance level (M11).

Titles and captions are built from the config (``config.caption()`` and its fields). The report PDF has
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
from sims.margins.config import ORTHONORMAL_TOL
from sims.engine.stats import t_stats

__all__ = ["make_figures_and_report", "aggregate", "crossovers", "check_summary", "REPORT_STEM"]

REPORT_STEM = "report"
_COLORS = {"mono": "#222222", "random": "#1f77b4", "antipodal": "#d62728", "frame": "#2ca02c", "trained": "#9467bd"}


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


# --------------------------------------------------------------------------------------------- figures
_CAPTION_PT = 5.5  # caption font size (points)


def _setup(config: Any, nrows: int, title: str, caption: str, *, height: float = 2.4) -> tuple[Any, np.ndarray]:
    """A figure of ``nrows`` x (one column per sparsity) panels with a fixed layout (no constrained or
    tight layout passes: they cost more than the drawing itself; save with ``tight=False``), the title
    (after the config's name) on top and the caption, wrapped to the figure width, underneath."""
    ncols = len(config.sparsity)
    width = 3.2 * ncols + 0.7
    lines = textwrap.wrap(f"{caption} Run: {config.caption()}", int(width * 72 / (0.52 * _CAPTION_PT)))
    cap_h = (len(lines) + 1) * _CAPTION_PT * 1.25 / 72  # inches
    fig_h = height * nrows + 0.75 + cap_h + 0.35
    fig = sio.new_figure(figsize=(width, fig_h))
    axes = np.asarray(fig.subplots(nrows, ncols, squeeze=False))
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.15 / width, top=1 - 0.6 / fig_h,
                        bottom=(cap_h + 0.4) / fig_h, wspace=0.32, hspace=0.42)
    fig.suptitle(f"{config.display_name()}: {title}", fontsize=8.5, y=1 - 0.12 / fig_h, va="top")
    fig.text(0.5, 0.12 / fig_h, "\n".join(lines), ha="center", va="bottom", fontsize=_CAPTION_PT)
    return fig, axes


def _margin_figure(rows: list[dict], config: Any, out: Path) -> tuple[list[Path], Any]:
    from theory.margins import welch_bound

    lam0 = min(config.input_noise)
    marg = aggregate(rows, ("sparsity", "code", "ratio"), "margin_q50", lambda r: _is_mf(r) and r.get("level") == lam0)
    bnd = aggregate(rows, ("sparsity", "code", "ratio"), "value", _is_m3_median)
    mu = aggregate(rows, ("sparsity", "code", "ratio"), "empirical",
                   lambda r: r.get("record") == "check" and r.get("check") == "welch")
    caption = ("Top: median matched-filter margin of covered samples (solid, mean +- 95% CI over "
               f"{config.reps} replicates; black dots across: mono's level) and median of the per-sample bound "
               "(M3) (dotted, triangles); "
               "x on the zero line: the bound is <= 0 (vacuous) there. Bottom: coherence of the code and "
               "the Welch bound (M1).")
    fig, axes = _setup(config, 2, "matched-filter margin and coherence vs superposition "
                                  f"(n = {config.n_features} features, m = {config.m} dimensions)", caption)
    q = np.asarray(sorted(config.ratio))
    qq = np.linspace(q.min(), q.max(), 50)
    welch = welch_bound(qq * config.m, config.m)
    for col, S in enumerate(config.sparsity):
        ax, axm = axes[0, col], axes[1, col]
        for code in config.code:
            pts = [(r, marg[(S, code, r)]) for r in q if (S, code, r) in marg]
            if not pts:
                continue
            c = _COLORS.get(code, None)
            xs = np.array([p[0] for p in pts])
            ys = np.array([p[1][0] for p in pts])
            es = np.array([p[1][1] for p in pts])
            ax.errorbar(xs, ys, yerr=np.where(np.isfinite(es), es, 0), color=c, marker="o", ms=3, lw=1.2, capsize=2,
                        label=f"{code} (median margin)")
            bs = np.array([bnd[(S, code, r)][0] if (S, code, r) in bnd else np.nan for r in xs])
            ok = bs > 0
            if ok.any():
                ax.plot(xs[ok], bs[ok], color=c, ls=":", marker="v", ms=3, mfc="white", lw=1.0)
            if (~ok & np.isfinite(bs)).any():
                ax.plot(xs[~ok & np.isfinite(bs)], np.zeros((~ok & np.isfinite(bs)).sum()), color=c, ls="none",
                        marker="x", ms=4)
            mus = [(r, mu[(S, code, r)][0]) for r in q if (S, code, r) in mu]
            axm.plot([p[0] for p in mus], [p[1] for p in mus], color=c, marker="o", ms=3, lw=1.2, label=code)
        ax.axhline(0.0, color="0.6", lw=0.6)
        if (S, "mono", 1.0) in marg:  # mono exists at ratio 1 only: its level as a reference line
            ax.axhline(marg[(S, "mono", 1.0)][0], color=_COLORS["mono"], lw=0.7, ls=(0, (1, 3)))
        ax.set_title(f"sparsity S = {S:g}", fontsize=8)
        ax.set_xlabel("superposition ratio n_rep / m", fontsize=7)
        ax.set_ylabel("margin (median over covered samples)", fontsize=7)
        axm.plot(qq, welch, "k--", lw=1.0, label="Welch bound (M1)")
        axm.set_xlabel("superposition ratio n_rep / m", fontsize=7)
        axm.set_ylabel("coherence mu", fontsize=7)
        for a in (ax, axm):
            a.tick_params(labelsize=6)
        if col == 0:
            ax.legend(fontsize=5.5, loc="best")
            axm.legend(fontsize=5.5, loc="best")
    return sio.save_figure(fig, out / config.figure_stem("margins"), tight=False), fig


def _accuracy_figure(rows: list[dict], config: Any, out: Path) -> tuple[list[Path], Any]:
    nt = max(config.n_train)
    mf = aggregate(rows, ("sparsity", "code", "ratio", "level"), "acc", _is_mf)
    th = aggregate(rows, ("sparsity", "code", "ratio", "level"), "acc_theory", _is_mf)
    pr = aggregate(rows, ("sparsity", "code", "ratio", "level"), "acc",
                   lambda r: r.get("record") == "readout" and r.get("readout") == "probe" and r.get("noise") == "label"
                   and r.get("n_train") == nt)
    caption = (f"Mean +- 95% CI over {config.reps} replicates of {config.n_test} test samples. Dashed: "
               "theory, exact (M7) for orthonormal codes, mean-field approximation (M10) for superposed "
               "ones. Bottom: least-squares probes on h trained on labels flipped at rate eta, "
               "tested on clean labels.")
    fig, axes = _setup(config, 2, "accuracy vs noise per code (largest valid ratio of "
                                  f"each code; n = {config.n_features}, m = {config.m})", caption)
    lams = np.asarray(sorted(config.input_noise))
    etas = np.asarray(sorted(config.label_noise))
    for col, S in enumerate(config.sparsity):
        for code in config.code:
            valid = [q for q in config.ratio if (S, code, q, lams[0]) in mf]
            if not valid:
                continue
            q = max(valid)
            c = _COLORS.get(code, None)
            lab = f"{code} (ratio {q:g})"
            m_ = np.array([mf[(S, code, q, lv)] for lv in lams])
            axes[0, col].errorbar(lams, m_[:, 0], yerr=np.nan_to_num(m_[:, 1]), color=c, marker="o", ms=3,
                                  capsize=2, lw=1.2, label=lab)
            t_ = np.array([th.get((S, code, q, lv), (np.nan,))[0] for lv in lams])
            if np.isfinite(t_).any():
                axes[0, col].plot(lams, t_, color=c, ls="--", lw=0.9)
            p_ = np.array([pr.get((S, code, q, ev), (np.nan, np.nan, 0))[:2] for ev in etas])
            axes[1, col].errorbar(etas, p_[:, 0], yerr=np.nan_to_num(p_[:, 1]), color=c, marker="o", ms=3,
                                  capsize=2, lw=1.2, label=lab)
        axes[0, col].set_title(f"sparsity S = {S:g}", fontsize=8)
        axes[0, col].set_xlabel("input noise lam (Gaussian on x)", fontsize=7)
        axes[0, col].set_ylabel("matched-filter accuracy", fontsize=7)
        axes[1, col].set_xlabel("label noise eta (symmetric)", fontsize=7)
        axes[1, col].set_ylabel(f"probe accuracy (n_train = {nt})", fontsize=7)
        for a in axes[:, col]:
            a.tick_params(labelsize=6)
        if col == 0:
            axes[0, col].legend(fontsize=5.5)
    return sio.save_figure(fig, out / config.figure_stem("accuracy"), tight=False), fig


def _crossover_figure(cross: list[dict], config: Any, out: Path) -> tuple[list[Path], Any]:
    lam_max = max(config.input_noise)
    caption = ("Below the curve the superposed code is more accurate (matched filter), above it mono is. "
               f"Triangles at lam = {lam_max:g}: no crossing on the grid. Simulation: first sign change of "
               "the mean accuracy difference, linear interpolation between grid levels.")
    fig, axes = _setup(config, 1, "input noise where mono overtakes the superposed code "
                                  f"(mono keeps m = {config.m} of n = {config.n_features} features)", caption,
                       height=2.6)
    for col, S in enumerate(config.sparsity):
        ax = axes[0, col]
        for code in config.code:
            pts = [c for c in cross if c["sparsity"] == S and c["code"] == code]
            if not pts:
                continue
            col_ = _COLORS.get(code, None)
            xs = np.array([p["ratio"] for p in pts])
            emp = np.array([p["empirical"] for p in pts])
            thy = np.array([p["theory"] for p in pts])
            ok = np.isfinite(emp)
            ax.plot(xs[ok], emp[ok], color=col_, marker="o", ms=4, lw=1.2, label=f"{code}: simulation")
            if (~ok).any():
                ax.plot(xs[~ok], np.full((~ok).sum(), lam_max), color=col_, ls="none", marker="^", ms=5)
            okt = np.isfinite(thy)
            ax.plot(xs[okt], thy[okt], color=col_, marker="s", mfc="white", ms=4, ls="--", lw=0.9,
                    label=f"{code}: mean-field lam* (M11)")
        ax.axhline(lam_max, color="0.7", lw=0.6, ls=":")
        ax.set_title(f"sparsity S = {S:g}", fontsize=8)
        ax.set_xlabel("superposition ratio n_rep / m", fontsize=7)
        ax.set_ylabel("crossover input noise lam", fontsize=7)
        ax.tick_params(labelsize=6)
        if col == 0:
            ax.legend(fontsize=5.5)
    return sio.save_figure(fig, out / config.figure_stem("crossover"), tight=False), fig


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
    """Write the three figures (PNG + PDF) and ``<name>_report.pdf``; returns the paths written."""
    from matplotlib.backends.backend_pdf import PdfPages

    out = Path(out_dir)
    paths: list[Path] = []
    figs = []
    for make in (_margin_figure, _accuracy_figure):
        p, fig = make(rows, config, out)
        paths += p
        figs.append(fig)
    cross = crossovers(rows, config)
    p, fig = _crossover_figure(cross, config, out)
    paths += p
    figs.append(fig)
    summary = check_summary(rows)
    buf = io.BytesIO()
    meta = {"Title": f"{config.display_name()} report", "Creator": None, "Producer": None,
            "CreationDate": None, "ModDate": None}
    with PdfPages(buf, metadata=meta) as pdf:
        pdf.savefig(_text_page(config, rows, summary, cross))
        for fig in figs:
            pdf.savefig(fig)
    paths.append(sio.atomic_write_bytes(out / f"{config.figure_stem(REPORT_STEM)}.pdf", buf.getvalue()))
    return paths
