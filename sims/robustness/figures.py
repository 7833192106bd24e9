"""Figures of the robustness study: Fig.-5 style curves, few-shot and OOD panels (PNG + PDF); the phase
diagram is drawn by :mod:`sims.robustness.phase`, which also writes the derived tables."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sims.robustness.config import ROLES, RobustnessConfig
from sims.robustness.phase import wrap

__all__ = ["figures"]


_STYLE = {"superposed": ("tab:red", "-"), "dense": ("tab:blue", "-"), "nonneg": ("tab:green", "--"),
          "random": ("tab:orange", ":"), "mono": ("tab:purple", ":")}


def _label(agg_rows: list[dict], comparator: str, n: int) -> str:
    """Legend entry with the comparator's monosemanticity (means over replicates)."""
    r = next((a for a in agg_rows if a["comparator"] == comparator), None)
    if r is None:
        return comparator
    return (f"{comparator}: {r['n_represented']:.1f}/{n} features, {r['superposition_ratio']:.2f} per dim, "
            f"dimensionality {r['dimensionality']:.2f}, neuron PR {r['neuron_pr']:.1f}")


def _curve(ax, agg, comparator, xs_key="level", **sel):
    pts = sorted((a for a in agg if a["comparator"] == comparator and a["record"] == "accuracy" and all(
        (abs(a[k] - v) < 1e-12 if isinstance(v, float) else a[k] == v) for k, v in sel.items())),
        key=lambda a: a[xs_key])
    if not pts:
        return None
    x = np.array([p[xs_key] for p in pts], dtype=float)
    y = np.array([p["acc_mean"] for p in pts])
    lo = np.array([p["acc_lo"] for p in pts])
    hi = np.array([p["acc_hi"] for p in pts])
    col, ls = _STYLE.get(comparator, ("gray", "-"))
    ax.plot(x, y, ls, color=col, lw=1.4 if comparator in ROLES else 0.9, marker="o", ms=2.5)
    ax.fill_between(x, lo, hi, color=col, alpha=0.2, lw=0)
    return pts


def _fig5(agg: list[dict], diffs: list[dict], out_dir: Path, config: RobustnessConfig) -> list[Path]:
    from sims.sweep.io import new_figure, save_figure

    S, m, nmax = config.fig_sparsity, config.fig_m, max(config.n_train)
    nn = max(config.noise_n_train)
    panels = [("label_noise", k, "", nmax, f"{k} label noise rate eta (training labels)") for k in config.label_noise_kind]
    panels += [("input_noise", k, at, nn, f"{k} input noise lam ({'test only' if at == 'test' else at})")
               for k in config.input_noise_kind for at in config.noise_at]
    ncol = 2
    nrow = math.ceil(len(panels) / ncol)
    fig = new_figure(figsize=(5.2 * ncol, 3.4 * nrow + 0.8))
    sel_agg = [a for a in agg if abs(a["sparsity"] - S) < 1e-12 and a["m"] == m]
    for i, (scen, kind, at, nt, xl) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        for comp in config.comparators:
            _curve(ax, sel_agg, comp, scenario=scen, kind=kind, at=at, n_train=nt)
        ds = sorted((d for d in diffs if d["record"] == "accuracy" and d["scenario"] == scen and d["kind"] == kind
                     and d["at"] == at and abs(d["sparsity"] - S) < 1e-12 and d["m"] == m and d["n_train"] == nt),
                    key=lambda d: d["level"])
        for d in ds:  # who wins at each level (paired 95% interval of dense - superposed)
            if d["winner"] in ("mono", "poly"):
                ax.annotate("M" if d["winner"] == "mono" else "P", (d["level"], 0.0), xycoords=("data", "axes fraction"),
                            fontsize=6, ha="center", va="bottom", color="tab:blue" if d["winner"] == "mono" else "tab:red")
        ax.set_xlabel(xl, fontsize=8)
        ax.set_ylabel(f"clean test accuracy (n_train = {nt})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=_STYLE.get(c, ("gray", "-"))[0], ls=_STYLE.get(c, ("gray", "-"))[1], marker="o",
                      ms=2.5) for c in config.comparators]
    fig.legend(handles, [_label(sel_agg, c, config.n_features) for c in config.comparators], loc="lower center",
               ncol=2, fontsize=7, frameon=False)
    fig.suptitle(wrap(
        f"Fig. 5 of the paper, with 95% CIs over {config.reps} seeds: S = {S:g}, n = {config.n_features}, m = {m}; "
        "bottom letters: M / P = dense (mono) / superposed (poly) ahead (paired CI)\n" + config.caption(), fig, 26),
        fontsize=7)
    fig.subplots_adjust(bottom=0.1 + 0.05 * math.ceil(len(config.comparators) / 2) / nrow, hspace=0.35)
    return save_figure(fig, out_dir / config.figure_stem("fig5"))


def _few_shot(agg: list[dict], out_dir: Path, config: RobustnessConfig) -> list[Path]:
    from sims.sweep.io import new_figure, save_figure

    Ss = list(config.sparsity)
    fig = new_figure(figsize=(3.3 * len(Ss) + 1.2, 3.9), layout="constrained")
    nmax = max(config.n_train)
    for i, S in enumerate(Ss):
        ax = fig.add_subplot(1, len(Ss), i + 1)
        sel = [dict(a, level=a["level"] if a["level"] > 0 else nmax / config.n_features)
               for a in agg if abs(a["sparsity"] - S) < 1e-12 and a["m"] == config.fig_m and a["scenario"] == "few_shot"]
        for comp in config.comparators:
            _curve(ax, sel, comp, scenario="few_shot")
        ax.set_xscale("log")
        ax.set_xlabel("training samples per class k (rightmost: all)", fontsize=7)
        ax.set_ylabel("clean test accuracy", fontsize=7)
        ax.set_title(f"S = {S:g}, m = {config.fig_m}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    fig.legend([Line2D([], [], color=_STYLE.get(c, ("gray", "-"))[0], ls=_STYLE.get(c, ("gray", "-"))[1])
                for c in config.comparators], list(config.comparators), loc="outside right upper", fontsize=6)
    fig.suptitle(wrap("Few-shot: probe on k samples per class, 95% CIs\n" + config.caption(), fig, 24), fontsize=6)
    return save_figure(fig, out_dir / config.figure_stem("few_shot"))


def _ood(agg: list[dict], out_dir: Path, config: RobustnessConfig) -> list[Path]:
    from sims.sweep.io import new_figure, save_figure

    Ss = list(config.sparsity)
    fig = new_figure(figsize=(3.6 * len(Ss), 4.0), layout="constrained")
    labels = ["none"] + list(config.ood)
    comps = list(config.comparators)
    w = 0.8 / len(comps)
    for i, S in enumerate(Ss):
        ax = fig.add_subplot(1, len(Ss), i + 1)
        sel = [a for a in agg if abs(a["sparsity"] - S) < 1e-12 and a["m"] == config.fig_m and a["scenario"] == "ood"
               and a["record"] == "accuracy"]
        for c, comp in enumerate(comps):
            ys, es = [], []
            for lab in labels:
                kind, val = ("none", 1.0) if lab == "none" else (lab.split("=")[0], float(lab.split("=")[1]))
                a = next((a for a in sel if a["comparator"] == comp and a["kind"] == kind and abs(a["level"] - val) < 1e-12), None)
                ys.append(a["acc_mean"] if a else np.nan)
                es.append((a["acc_hi"] - a["acc_mean"]) if a else np.nan)
            ax.bar(np.arange(len(labels)) + (c - (len(comps) - 1) / 2) * w, ys, w, yerr=es, label=comp,
                   color=_STYLE.get(comp, ("gray",))[0], error_kw={"lw": 0.6})
        ax.set_xticks(range(len(labels)), ["in-dist."] + labels[1:], rotation=40, fontsize=6)
        ax.set_ylabel("clean test accuracy", fontsize=7)
        ax.set_title(f"S = {S:g}, m = {config.fig_m}", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.axes[0].legend(fontsize=6)
    fig.suptitle(wrap("Out of distribution: probe trained in distribution, tested on shifted laws (95% CIs)\n"
                      + config.caption(), fig, 24), fontsize=6)
    return save_figure(fig, out_dir / config.figure_stem("ood"))


def figures(rows: list[dict], out_dir: Any, config: RobustnessConfig) -> list[Path]:
    """Tables (summary, differences, boundaries, verdict) and figures beside results.csv."""
    from sims.robustness import phase

    out_dir = Path(out_dir)
    paths, res = phase.make_outputs(rows, out_dir, config)
    agg = res["summary"]
    paths += _fig5(agg, res["differences"], out_dir, config)
    paths += _few_shot(agg, out_dir, config)
    paths += _ood(agg, out_dir, config)
    return paths
