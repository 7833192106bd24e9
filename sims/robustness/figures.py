"""Figures of the robustness study, drawn from the DataFrames of its tables (one implementation: the CLI,
the report and a notebook call the same functions).

Frames: ``summary`` (summary.csv), ``differences`` (differences.csv) and ``boundaries`` (boundaries.csv)::

    from sims.robustness import figures as RF
    fr = RF.frames("runs/robustness_sweep-...")   # load_run(run, table=...) of the three tables
    RF.plot_curves(fr["summary"], scenario="label_noise", kind="symmetric", sparsity=0.9, m=20)
    figs = RF.figures_from_frames(fr)            # {"fig5", "n_train", "few_shot", "ood", "phase"}

Panels (each takes ``ax=None`` and returns the axes it drew on):

* :func:`plot_curves`: accuracy vs corruption level per comparator (mean and 95% t-interval band, clipped
  to [0, 1]), the prediction of ``theory.robustness`` dashed where the run has it, the paired winner
  (M / P letters) per level, chance 1/n;
* :func:`plot_training_sizes`: dense (mono) and superposed (poly) at every training size;
* :func:`plot_few_shot`: accuracy vs samples per class; :func:`plot_ood`: bars per test-time shift;
* :func:`plot_phase`: one heatmap of the paired difference dense − superposed over two parameters, with the
  simulated (bootstrap CI) and predicted boundaries.

Figures: :func:`fig5_figure` (the paper's Fig. 5 at the largest training size), :func:`training_sizes_figure`,
:func:`few_shot_figure`, :func:`ood_figure`, :func:`phase_figure`; all with :func:`figures_from_frames`.
Colours: :data:`sims.sweep.style.COMPARATOR_COLORS`; heatmaps: red = the monosemantic side (dense) ahead.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from sims.sweep import style as st

__all__ = ["frames", "plot_curves", "plot_training_sizes", "plot_few_shot", "plot_ood", "plot_phase",
           "fig5_figure", "training_sizes_figure", "few_shot_figure", "ood_figure", "phase_figure",
           "figures_from_frames", "figures", "FIGURES", "DIVERGING"]

#: the figures of a run, in the order the CLI writes them (file ``robustness_sweep_<name>.png``)
FIGURES = ("fig5", "n_train", "few_shot", "ood", "phase")
#: colour map of the paired differences dense - superposed: red = mono (dense) ahead, blue = poly ahead
DIVERGING = "RdBu_r"
_ROLES = ("dense", "superposed")
_TABLES = {"summary": "summary.csv", "differences": "differences.csv", "boundaries": "boundaries.csv"}


# --------------------------------------------------------------------------------------------- inputs
def frames(source: Any, config: Any = None) -> dict[str, Any]:
    """``{"summary", "differences", "boundaries"}``: the tables of a run folder (``load_run``), or the rows
    of :func:`sims.robustness.phase.make_outputs` (a mapping with those keys; ``config`` sets the attrs)."""
    from sims.robustness.config import RobustnessConfig
    from sims.sweep.results import load_run, to_frame

    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        return {k: load_run(source, table=t) for k, t in _TABLES.items()}
    cfg = _config(config)
    out = {}
    for k, t in _TABLES.items():
        rows = list(source.get(k) or [])
        cols = list(rows[0]) if rows else [c.name for c in RobustnessConfig.schema.table(t).all_columns()]
        df = to_frame(rows, RobustnessConfig, table=t, columns=cols)
        df.attrs["config"] = cfg.to_dict() if cfg is not None else {}
        out[k] = df
    return out


def _config(config: Any, *dfs: Any) -> Any:
    from sims.robustness.config import RobustnessConfig

    if isinstance(config, RobustnessConfig):
        return config
    if isinstance(config, Mapping) and config:
        return RobustnessConfig.from_dict(config)
    for df in dfs:
        c = getattr(df, "attrs", {}).get("config") if df is not None else None
        if c:
            try:
                return RobustnessConfig.from_dict(c)
            except (TypeError, ValueError):
                continue
    return None


def _n_features(summary: Any, n_features: int | None) -> int | None:
    if n_features is not None:
        return int(n_features)
    cfg = _config(None, summary)
    if cfg is not None:
        return int(cfg.n_features)
    if {"n_represented", "frac_represented"} <= set(summary.columns):  # n = n_represented / frac_represented
        r = (summary["n_represented"] / summary["frac_represented"]).to_numpy(float)
        r = r[np.isfinite(r)]
        if r.size:
            return int(round(float(np.median(r))))
    return None


def _select(df: Any, **fixed: Any) -> Any:
    """The rows of ``df`` with ``fixed`` column values (floats within 1e-9), without ``df.attrs`` (pandas
    deep-copies them on every operation; the config is read before)."""
    import pandas as pd

    df = pd.DataFrame(df) if df.attrs else df
    mask = np.ones(len(df), dtype=bool)
    for k, v in fixed.items():
        if v is None:
            continue
        col = df[k]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            mask &= np.isclose(col.to_numpy(dtype=float), float(v), rtol=0, atol=1e-9)
        else:
            mask &= (col == v).to_numpy()
    return df[mask]


def _flag(v: Any) -> bool:
    try:
        return bool(v)
    except (TypeError, ValueError):  # pandas' NA
        return False


def _new_ax(ax: Any, width: float = 3.4) -> Any:
    if ax is not None:
        return ax
    fig, axes = st.panels(1, width=width, panel_height=2.4)
    return axes[0]


def _comparators(df: Any, comparators: Sequence[str] | None) -> list[str]:
    from sims.robustness.config import COMPARATORS

    present = list(dict.fromkeys(df["comparator"])) if len(df) else []
    if comparators is not None:
        return [c for c in comparators if c in present]
    return [c for c in COMPARATORS if c in present] + [c for c in present if c not in COMPARATORS]


def _defaults(summary: Any, sparsity: float | None, m: int | None) -> tuple[float, int]:
    cfg = _config(None, summary)
    if sparsity is None:
        sparsity = cfg.fig_sparsity if cfg is not None else float(max(summary["sparsity"]))
    if m is None:
        m = cfg.fig_m if cfg is not None else int(min(summary["m"]))
    return float(sparsity), int(m)


_XLABEL = {"label_noise": lambda kind, at: st.axis_label("label_noise"),  # the kind is in the panel title
           "input_noise": lambda kind, at: st.axis_label(
               "input_noise", "test only" if at == "test" else "train + test" if at == "both" else at)}


def _monosemanticity(summary: Any, comparator: str, n: int | None) -> str:
    """Legend entry with the comparator's monosemanticity (means over replicates)."""
    r = summary[summary["comparator"] == comparator]
    if r.empty or "n_represented" not in r:
        return comparator
    r = r.iloc[0]
    of = f"/{n}" if n else ""
    return (f"{comparator}: {r['n_represented']:.1f}{of} features, {r['superposition_ratio']:.2f} per dim, "
            f"dimensionality {r['dimensionality']:.2f}, neuron PR {r['neuron_pr']:.1f}")


# --------------------------------------------------------------------------------------------- panels
def plot_curves(summary: Any, *, scenario: str, kind: str | None = None, at: str | None = None,
                n_train: int | None = None, sparsity: float | None = None, m: int | None = None,
                comparators: Sequence[str] | None = None, differences: Any = None, theory: bool = True,
                ax: Any = None, n_features: int | None = None, labels: str = "short") -> Any:
    """Accuracy vs the scenario's level per comparator: mean and 95% t-interval band over replicates
    (clipped to [0, 1]); dashed: the prediction of ``theory.robustness`` (``record = "theory"``) where the
    run has one; with ``differences``, the letter M (P) at the bottom of a level where dense (superposed)
    is ahead by its paired 95% interval; chance 1/n. ``n_train=None``: the largest of the selection.
    ``labels="metrics"`` puts each code's monosemanticity into its legend entry."""
    ax = _new_ax(ax)
    S, m = _defaults(summary, sparsity, m)
    sel = _select(summary, sparsity=S, m=m, scenario=scenario, kind=kind, at=at)
    if n_train is None and len(sel):
        n_train = int(sel["n_train"].max())
    sel = _select(sel, n_train=n_train)
    n = _n_features(summary, n_features)
    acc = sel[sel["record"] == "accuracy"]
    th = sel[sel["record"] == "theory"] if theory else sel.iloc[:0]
    for comp in _comparators(acc, comparators):
        a = acc[acc["comparator"] == comp].sort_values("level")
        col = st.color(comp, "comparator")
        main = comp in _ROLES
        label = _monosemanticity(summary[(summary["sparsity"] == S) & (summary["m"] == m)], comp, n) \
            if labels == "metrics" else comp
        st.mean_ci_plot(ax, a["level"], a["acc_mean"], a["acc_lo"], a["acc_hi"], band=True, color=col,
                        marker=st.marker(comp, "comparator"), ms=3 if main else 2.2, lw=1.5 if main else 0.9,
                        ls="-" if main else "-.", label=label)
        t = th[th["comparator"] == comp].sort_values("level")
        if len(t):
            ax.plot(t["level"], t["acc_mean"], color=col, lw=0.9, ls=(0, (4, 2)), marker="x", ms=3)
    if len(th):
        st.proxy(ax, "theory.robustness prediction (R7)", ls=(0, (4, 2)), marker="x", ms=3)
    if differences is not None and len(differences):
        d = _select(differences, sparsity=S, m=m, scenario=scenario, kind=kind, at=at, n_train=n_train)
        d = d[d["record"] == "accuracy"]
        _winner_letters(ax, d)
    title = scenario.replace("_", " ") + (f" ({kind}{', ' + at if at else ''})" if kind and kind != "k" else "")
    ax.set_title(title)
    xl = _XLABEL.get(scenario)
    ax.set_xlabel(xl(kind, at) if xl else st.axis_label("level"))
    st.accuracy_axes(ax, 1.0 / n if n else None, label=f"test accuracy (n_train = {n_train})")
    return ax


def _winner_letters(ax: Any, d: Any) -> None:
    seen = set()
    for _, r in d.iterrows():
        if r["winner"] in ("mono", "poly"):
            mono = r["winner"] == "mono"
            ax.annotate("M" if mono else "P", (float(r["level"]), 0.0), xycoords=("data", "axes fraction"),
                        fontsize=6, ha="center", va="bottom", fontweight="bold",
                        color=st.color("dense" if mono else "superposed", "comparator"))
            seen.add(r["winner"])
    if "mono" in seen:
        st.proxy(ax, "M: dense (mono) ahead, paired 95% CI", ls="none", marker="$M$", ms=5,
                 color=st.color("dense", "comparator"))
    if "poly" in seen:
        st.proxy(ax, "P: superposed (poly) ahead, paired 95% CI", ls="none", marker="$P$", ms=5,
                 color=st.color("superposed", "comparator"))


def plot_training_sizes(summary: Any, *, scenario: str, kind: str | None = None, at: str | None = None,
                        sparsity: float | None = None, m: int | None = None,
                        comparators: Sequence[str] = _ROLES, ax: Any = None, n_features: int | None = None) -> Any:
    """Accuracy vs level of dense (mono, solid) and superposed (poly, dashed) at every training size of the
    scenario (darker: more samples); mean with its 95% t-interval as error bars, clipped to [0, 1]."""
    ax = _new_ax(ax)
    S, m = _defaults(summary, sparsity, m)
    sel = _select(summary, sparsity=S, m=m, scenario=scenario, kind=kind, at=at)
    sel = sel[sel["record"] == "accuracy"]
    sizes = sorted({int(v) for v in sel["n_train"]})
    for comp in _comparators(sel, comparators):
        base = np.asarray(_rgb(st.color(comp, "comparator")))
        for i, nt in enumerate(sizes):
            a = _select(sel[sel["comparator"] == comp], n_train=nt).sort_values("level")
            shade = 0.25 + 0.75 * (i + 1) / len(sizes)  # the largest size in the full colour
            col = tuple(1 - shade * (1 - base))
            st.mean_ci_plot(ax, a["level"], a["acc_mean"], a["acc_lo"], a["acc_hi"], color=col,
                            ls="-" if comp == "dense" else "--", lw=1.1, marker=st.marker(comp, "comparator"),
                            ms=2.2, capsize=1, elinewidth=0.5, label=comp if i == len(sizes) - 1 else None)
    for i, nt in enumerate(sizes):
        shade = 0.25 + 0.75 * (i + 1) / len(sizes)
        st.proxy(ax, f"n_train = {nt}", color=str(round(1 - shade * 0.87, 3)), lw=2.5)
    title = scenario.replace("_", " ") + (f" ({kind}{', ' + at if at else ''})" if kind else "")
    ax.set_title(title)
    xl = _XLABEL.get(scenario)
    ax.set_xlabel(xl(kind, at) if xl else "level")
    n = _n_features(summary, n_features)
    st.accuracy_axes(ax, 1.0 / n if n else None)
    return ax


def _rgb(c: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(c)


def plot_few_shot(summary: Any, *, sparsity: float | None = None, m: int | None = None,
                  comparators: Sequence[str] | None = None, ax: Any = None, n_features: int | None = None) -> Any:
    """Accuracy vs training samples per class k (log axis; "all" = every training sample, at n_train / n),
    mean and 95% t-interval band per comparator, chance 1/n."""
    ax = _new_ax(ax)
    S, m = _defaults(summary, sparsity, m)
    sel = _select(summary, sparsity=S, m=m, scenario="few_shot")
    sel = sel[sel["record"] == "accuracy"].copy()
    n = _n_features(summary, n_features)
    if len(sel):
        kmax = max(float(sel["level"].max()), 1.0)
        sel["x"] = np.where(sel["level"] > 0, sel["level"], sel["n_train"] / n if n else 2 * kmax)
    for comp in _comparators(sel, comparators):
        a = sel[sel["comparator"] == comp].sort_values("x")
        main = comp in _ROLES
        st.mean_ci_plot(ax, a["x"], a["acc_mean"], a["acc_lo"], a["acc_hi"], band=True,
                        color=st.color(comp, "comparator"), marker=st.marker(comp, "comparator"),
                        ms=3 if main else 2.2, lw=1.5 if main else 0.9, ls="-" if main else "-.", label=comp)
    if len(sel):
        ax.set_xscale("log")
        xs = sorted(set(sel["x"]))
        ax.set_xticks(xs, [("all" if not (sel[sel["x"] == x]["level"] > 0).any() else f"{x:g}") for x in xs])
        ax.minorticks_off()
    ax.set_title(f"few-shot, S = {S:g}, m = {m}")
    ax.set_xlabel("k samples per class (all: every training sample)")
    st.accuracy_axes(ax, 1.0 / n if n else None)
    return ax


def plot_ood(summary: Any, *, sparsity: float | None = None, m: int | None = None,
             comparators: Sequence[str] | None = None, ax: Any = None, n_features: int | None = None) -> Any:
    """Accuracy in distribution and under each test-time shift (bars: mean; whiskers: 95% t-interval
    clipped to [0, 1]) per comparator, chance 1/n."""
    ax = _new_ax(ax)
    S, m = _defaults(summary, sparsity, m)
    sel = _select(summary, sparsity=S, m=m, scenario="ood")
    sel = sel[sel["record"] == "accuracy"]
    shifts = sorted({(k, float(v)) for k, v in zip(sel["kind"], sel["level"])}, key=lambda s: (s[0] != "none", s))
    comps = _comparators(sel, comparators)
    w = 0.8 / max(1, len(comps))
    for i, comp in enumerate(comps):
        c = sel[sel["comparator"] == comp]
        xs, ys, lo, hi = [], [], [], []
        for j, (kind, lv) in enumerate(shifts):
            r = _select(c, kind=kind, level=lv)
            if r.empty:
                continue
            r = r.iloc[0]
            xs.append(j + (i - (len(comps) - 1) / 2) * w)
            ys.append(float(r["acc_mean"]))
            lo.append(float(r["acc_lo"]))
            hi.append(float(r["acc_hi"]))
        if not xs:
            continue
        ys = np.asarray(ys)
        lo, hi = st.clip_interval(lo, hi)
        err = np.nan_to_num(np.vstack([np.maximum(ys - lo, 0), np.maximum(hi - ys, 0)]))
        ax.bar(xs, ys, w, yerr=err, color=st.color(comp, "comparator"), label=comp,
               error_kw={"lw": 0.6, "capsize": 1.5})
    ax.set_xticks(range(len(shifts)), ["in distribution" if k == "none" else f"{k} \u00d7 {lv:g}" for k, lv in shifts],
                  rotation=30, ha="right")
    ax.grid(False, axis="x")
    ax.set_title(f"out of distribution, S = {S:g}, m = {m}")
    n = _n_features(summary, n_features)
    st.accuracy_axes(ax, 1.0 / n if n else None)
    return ax


def _cell_index(values: Sequence[float], v: float, log: bool = False) -> float:
    """Fractional index of ``v`` on a (sorted) grid, for overlays on index-based heatmaps."""
    g = np.asarray(values, dtype=np.float64)
    if log:
        return float(np.interp(math.log(v), np.log(g), np.arange(g.size)))
    return float(np.interp(v, g, np.arange(g.size)))


_AXIS = {"n_train": "training samples n_train", "sparsity": "sparsity S", "m": "hidden dims m"}
_SWEEP = {"eta": ("label_noise", "symmetric"), "lam": ("input_noise", "gaussian")}


def plot_phase(differences: Any, boundaries: Any = None, *, x: str, y: str, ax: Any = None, vmax: float | None = None,
               n_features: int | None = None, **fixed: Any) -> Any:
    """Heatmap of the paired difference dense − superposed (mean over replicates) over ``x`` and ``y``
    (columns of differences.csv: ``n_train``, ``sparsity``, ``m``, ``level``) at the ``fixed`` values (e.g.
    ``scenario="label_noise", kind="symmetric", at="", m=20, sparsity=0.9``); red: dense (mono) ahead;
    dots: the paired 95% interval excludes 0. With ``boundaries``: the simulated crossing (circles with
    bootstrap 95% CI; filled: beyond doubt, open: in ≥ 80% of resamples) and the predicted one
    (``theory.robustness``, black line with ×) along the y axis. Returns the axes (``ax.images[0]`` is the
    heatmap, for a colorbar)."""
    ax = _new_ax(ax)
    d = differences[differences["record"] == "accuracy"] if "record" in differences else differences
    sel = _select(d, **fixed)
    X = sorted({float(v) for v in sel[x]})
    Y = sorted({float(v) for v in sel[y]})
    if not X or not Y:
        ax.set_axis_off()
        return ax
    if vmax is None:
        v = np.abs(d["diff_mean"].to_numpy(float))
        vmax = max(float(np.nanmax(v)) if np.isfinite(v).any() else 0.0, 1e-3)
    Z = np.full((len(Y), len(X)), np.nan)
    sig = np.zeros_like(Z, dtype=bool)
    for xv, yv, dm, w in zip(sel[x], sel[y], sel["diff_mean"], sel["winner"]):
        i, j = Y.index(float(yv)), X.index(float(xv))
        Z[i, j] = float(dm)
        sig[i, j] = w in ("mono", "poly")
    ax.imshow(Z, origin="lower", aspect="auto", cmap=DIVERGING, vmin=-vmax, vmax=vmax,
              extent=(-0.5, len(X) - 0.5, -0.5, len(Y) - 0.5), interpolation="nearest")
    yy, xx = np.nonzero(sig)
    ax.plot(xx, yy, "k.", ms=2.5, label="paired 95% CI excludes 0")
    ax.set_xticks(range(len(X)), [f"{v:g}" for v in X], rotation=45 if len(X) > 4 else 0)
    ax.set_yticks(range(len(Y)), [f"{v:g}" for v in Y])
    ax.grid(False)
    if x == "m":
        n = n_features or _n_features_from(differences)
        ax.set_xlabel("hidden dims m" + (f" (n/m = {', '.join(f'{n / v:.3g}' for v in X)})" if n else ""))
    else:
        ax.set_xlabel(_AXIS.get(x, x))
    if y == "level":
        scen, kind = fixed.get("scenario"), fixed.get("kind")
        ax.set_ylabel(st.axis_label("label_noise" if scen == "label_noise" else "input_noise", kind or ""))
    else:
        ax.set_ylabel(_AXIS.get(y, y))
    if boundaries is not None and len(boundaries):
        sweep = {"level": "eta" if fixed.get("scenario") == "label_noise" else "lam"}.get(y, y)
        keep = {k: v for k, v in fixed.items() if k in ("sparsity", "m", "n_train", "level") and k != y}
        _overlay(ax, boundaries, sweep, X, Y, keep, xkey=x)
    return ax


def _n_features_from(df: Any) -> int | None:
    cfg = _config(None, df)
    return int(cfg.n_features) if cfg is not None else None


def _overlay(ax: Any, bnd: Any, sweep: str, X: Sequence, Y: Sequence, fixed: Mapping, xkey: str) -> None:
    """Boundary points of ``sweep`` (its value lies on the y axis) at every x of the heatmap."""
    ylog = sweep == "n_train"
    pts_e, pts_p = [], []
    recs = bnd[bnd["sweep"] == sweep].to_dict("records")
    for j, xv in enumerate(X):
        for b in recs:
            if not all(_eq(b.get(k), v) for k, v in fixed.items()) or not _eq(b.get(xkey), xv):
                continue
            emp, p = _num(b.get("emp")), _num(b.get("emp_p"))
            resolved = _flag(b.get("resolved"))
            if math.isfinite(emp) and (resolved or p >= 0.8):
                lo = _num(b.get("emp_lo")) if math.isfinite(_num(b.get("emp_lo"))) else emp
                hi = _num(b.get("emp_hi")) if math.isfinite(_num(b.get("emp_hi"))) else emp
                pts_e.append((j, _cell_index(Y, emp, ylog), _cell_index(Y, lo, ylog), _cell_index(Y, hi, ylog),
                              resolved))
            pred = _num(b.get("pred"))
            pts_p.append((j, _cell_index(Y, pred, ylog) if math.isfinite(pred) else np.nan))
    for filled in (True, False):
        e = np.asarray([p[:4] for p in pts_e if p[4] == filled])
        if e.size:
            ax.errorbar(e[:, 0], e[:, 1], yerr=[e[:, 1] - e[:, 2], e[:, 3] - e[:, 1]], fmt="o",
                        mfc="k" if filled else "white", mec="k", ecolor="k", ms=3.5, lw=0.6, capsize=1.5,
                        label="simulated crossing, beyond doubt (bootstrap CI)" if filled
                        else "simulated crossing, in \u2265 80% of resamples")
    p = np.asarray(sorted(pts_p)) if pts_p else np.empty((0, 2))
    if p.size and np.isfinite(p[:, 1]).any():
        ax.plot(p[:, 0], p[:, 1], "-", color="k", lw=1.2, marker="x", ms=4, mew=1.1,
                label="predicted crossing (theory.robustness)")


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _eq(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return a == b


def colorbar(fig: Any, axes: Sequence[Any], label: str = "dense − superposed (red: mono ahead)") -> Any:
    """One colorbar for the heatmaps among ``axes``, in the figure's right margin (lay the figure out
    with room there first: ``style.finish(..., right=0.8)``)."""
    ims = [a.images[0] for a in axes if a.get_visible() and a.images]
    if not ims:
        return None
    boxes = [a.get_position() for a in axes if a.images]
    y0, y1 = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    w = fig.get_figwidth()
    cax = fig.add_axes((1 - 0.62 / w, y0 + 0.15 * (y1 - y0), 0.09 / w, 0.7 * (y1 - y0)))
    cb = fig.colorbar(ims[-1], cax=cax)
    cb.set_label(label)
    cb.ax.tick_params(labelsize=5.5)
    return cb


# --------------------------------------------------------------------------------------------- figures
def _footnote(caption: str, cfg: Any) -> str:
    return caption + (f" Run: {cfg.caption()}" if cfg is not None else "")


def _panels_fig5(summary: Any) -> list[tuple[str, str, str]]:
    acc = summary[summary["record"] == "accuracy"]
    out = []
    for scen in ("label_noise", "input_noise"):
        s = acc[acc["scenario"] == scen]
        out += sorted({(scen, k, a) for k, a in zip(s["kind"], s["at"])},
                      key=lambda t: (_ORDER.get(t[1], 9), t[1], {"test": 0, "train": 1, "both": 2}.get(t[2], 3)))
    return out


_ORDER = {"symmetric": 0, "pair": 1, "classcond": 2, "margin": 3, "gaussian": 0, "uniform": 1}


def fig5_figure(summary: Any, differences: Any = None, config: Any = None) -> Any:
    """The paper's Fig. 5 with 95% CIs: accuracy of every comparator under each label- and input-noise
    kind at the largest training size (at --fig-sparsity, --fig-m), with theory and the paired winners."""
    cfg = _config(config, summary, differences)
    S, m = _defaults(summary, cfg.fig_sparsity if cfg else None, cfg.fig_m if cfg else None)
    panels = _panels_fig5(summary)
    with st.context():
        fig, axes = st.panels(max(1, len(panels)), ncols=2 if len(panels) > 1 else 1, panel_height=1.8,
                              width=st.MAX_WIDTH_IN if len(panels) > 1 else 4.2)
        for ax, (scen, kind, at) in zip(axes, panels):
            plot_curves(summary, scenario=scen, kind=kind, at=at, sparsity=S, m=m, differences=differences,
                        ax=ax, labels="metrics")
        n = cfg.n_features if cfg is not None else _n_features(summary, None)
        reps = f"{cfg.reps} replicates" if cfg is not None else "replicates"
        st.finish(fig, title=f"Fig. 5 with 95% CIs: S = {S:g}, n = {n}, m = {m}", footnote=_footnote(
            f"Least-squares probe on each code at the largest training size (label noise on the training labels, "
            f"accuracy on clean test labels); mean and 95% t-interval band over {reps}, clipped to [0, 1]. Dashed "
            "with \u00d7: the prediction of theory.robustness where the run has one. Legend: features each code represents, features per dimension, "
            "Elhage's dimensionality and the neurons' participation ratio (means over replicates). Letters at "
            "the bottom: M / P = dense (mono) / superposed (poly) ahead (paired 95% CI).", cfg), legend_cols=2)
    return fig


def training_sizes_figure(summary: Any, config: Any = None) -> Any:
    """Dense (mono) vs superposed (poly) under every label- and input-noise kind at every training size."""
    cfg = _config(config, summary)
    S, m = _defaults(summary, cfg.fig_sparsity if cfg else None, cfg.fig_m if cfg else None)
    panels = _panels_fig5(summary)
    with st.context():
        fig, axes = st.panels(max(1, len(panels)), ncols=2 if len(panels) > 1 else 1, panel_height=1.8,
                              width=st.MAX_WIDTH_IN if len(panels) > 1 else 4.2)
        for ax, (scen, kind, at) in zip(axes, panels):
            plot_training_sizes(summary, scenario=scen, kind=kind, at=at, sparsity=S, m=m, ax=ax)
        st.finish(fig, title=f"Dense vs superposed at every training size (S = {S:g}, m = {m})", footnote=_footnote(
            "Least-squares probe; mean and 95% t-interval over replicates (error bars, clipped to [0, 1]); solid: "
            "dense (mono), dashed: superposed (poly); darker: more training samples.", cfg))
    return fig


def _per_sparsity_figure(summary: Any, config: Any, scenario: str, plot: Any, *, ncols: int, panel_height: float,
                        title: str, footnote: str, **finish: Any) -> Any:
    """One panel per sparsity of ``scenario`` (at --fig-m), each drawn by ``plot(summary, sparsity=, m=, ax=)``."""
    cfg = _config(config, summary)
    _, m = _defaults(summary, None, cfg.fig_m if cfg else None)
    Ss = sorted(set(_select(summary, m=m, scenario=scenario)["sparsity"])) or [None]
    with st.context():
        fig, axes = st.panels(len(Ss), ncols=min(ncols, len(Ss)), panel_height=panel_height,
                              width=st.MAX_WIDTH_IN if len(Ss) > 1 else 4.2)
        for ax, S in zip(axes, Ss):
            plot(summary, sparsity=S, m=m, ax=ax)
        st.finish(fig, title=f"{title} (m = {m})", footnote=_footnote(footnote, cfg), **finish)
    return fig


def few_shot_figure(summary: Any, config: Any = None) -> Any:
    """Few-shot accuracy per sparsity (at --fig-m)."""
    return _per_sparsity_figure(summary, config, "few_shot", plot_few_shot, ncols=3, panel_height=2.0,
                                title="Few-shot: probe on k samples per class",
                                footnote="Mean and 95% t-interval band over replicates, clipped to [0, 1].")


def ood_figure(summary: Any, config: Any = None) -> Any:
    """Out-of-distribution accuracy per sparsity (at --fig-m)."""
    return _per_sparsity_figure(
        summary, config, "ood", plot_ood, ncols=2, panel_height=2.1, title="Out of distribution: test-time shifts",
        footnote="Probe trained in distribution, tested on shifted feature laws (density: firing probabilities "
                 "scaled; amplitude: range of active features; frequency: firing mass tilted across features). "
                 "Bars: mean; whiskers: 95% t-interval over replicates, clipped to [0, 1].", hspace=0.9)


def phase_figure(differences: Any, boundaries: Any = None, config: Any = None) -> Any:
    """The phase diagram: where dense (mono) beats superposed (poly), over (n_train, η) for every sparsity,
    (S, λ), (n/m, λ), (n/m, η) and (S, n_train) at η = 0, with the simulated and predicted boundaries."""
    cfg = _config(config, differences, boundaries)
    d = differences[differences["record"] == "accuracy"] if len(differences) else differences
    Ss = sorted({float(s) for s in d["sparsity"]}) if len(d) else []
    mf = cfg.fig_m if cfg is not None else (int(min(d["m"])) if len(d) else 0)
    Sf = cfg.fig_sparsity if cfg is not None else (max(Ss) if Ss else 0.0)
    ntr = _select(d, scenario="label_noise")["n_train"]
    nmax = max(cfg.n_train) if cfg is not None else (int(ntr.max()) if len(ntr) else 0)
    nn = int(_select(d, scenario="input_noise", m=mf, sparsity=Sf)["n_train"].max()) if len(
        _select(d, scenario="input_noise", m=mf, sparsity=Sf)) else nmax
    n = cfg.n_features if cfg is not None else None
    ratio = f", n/m = {n / mf:g}" if n else ""
    specs = [dict(x="n_train", y="level", title=f"label noise, S = {S:g}{ratio}",
                  fixed=dict(scenario="label_noise", kind="symmetric", at="", m=mf, sparsity=S)) for S in Ss]
    specs += [
        dict(x="sparsity", y="level", title=f"input noise, n_train = {nn}",
             fixed=dict(scenario="input_noise", kind="gaussian", at="test", m=mf, n_train=nn)),
        dict(x="m", y="level", title=f"input noise, S = {Sf:g}",
             fixed=dict(scenario="input_noise", kind="gaussian", at="test", sparsity=Sf, n_train=nn)),
        dict(x="m", y="level", title=f"label noise, S = {Sf:g}",
             fixed=dict(scenario="label_noise", kind="symmetric", at="", sparsity=Sf, n_train=nmax)),
        dict(x="n_train", y="sparsity", title=f"clean ({st.ETA} = 0){ratio}",
             fixed=dict(scenario="label_noise", kind="symmetric", at="", m=mf, level=0.0)),
    ]
    v = np.abs(d["diff_mean"].to_numpy(float)) if len(d) else np.array([])
    vmax = max(float(np.nanmax(v)) if np.isfinite(v).any() else 0.0, 1e-3)
    with st.context():
        fig, axes = st.panels(len(specs), ncols=3, panel_height=1.75)
        for ax, sp in zip(axes, specs):
            plot_phase(d, boundaries, x=sp["x"], y=sp["y"], ax=ax, vmax=vmax, n_features=n, **sp["fixed"])
            ax.set_title(sp["title"])
        st.finish(fig, title="Phase diagram: where dense (mono) beats superposed (poly)", footnote=_footnote(
            "Colour: mean paired accuracy difference dense \u2212 superposed (red: mono ahead, blue: poly ahead); "
            "dots: its paired 95% CI excludes 0. Circles: simulated boundary with bootstrap 95% CI (filled: a "
            "crossing beyond doubt; open: in \u2265 80% of resamples); black line with \u00d7: boundary predicted by "
            "theory.robustness. Empty panels: the run has no such grid.", cfg), right=0.85, wspace=0.72,
                  hspace=0.85)
        colorbar(fig, axes)
        for ax in axes:
            if not ax.images:
                ax.set_axis_off()
    return fig


def figures_from_frames(frames: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
    """Every figure of the CLI from the frames of :func:`frames`: ``{"fig5", "n_train", "few_shot", "ood",
    "phase"}``."""
    summary, diffs, bnd = frames["summary"], frames.get("differences"), frames.get("boundaries")
    return {"fig5": fig5_figure(summary, diffs, config),
            "n_train": training_sizes_figure(summary, config),
            "few_shot": few_shot_figure(summary, config),
            "ood": ood_figure(summary, config),
            "phase": phase_figure(diffs, bnd, config)}


def figures(rows: list[dict], out_dir: Any, config: Any) -> list[Path]:
    """Tables (summary, differences, boundaries, verdict) and figures beside results.csv (the figures are
    drawn from the tables as DataFrames, as ``load_run`` returns them)."""
    from sims.robustness import phase
    from sims.sweep.io import save_figure

    out_dir = Path(out_dir)
    paths, res = phase.make_outputs(rows, out_dir, config)
    figs = figures_from_frames(frames(res, config), config)
    with st.context():
        for name in FIGURES:
            paths += save_figure(figs[name], out_dir / config.figure_stem(name), tight=False)
    return paths
