"""The report's figures, drawn from results rows (never from typed-in numbers).

Each ``*_figure`` function returns ``draw(fig, rect)`` (see ``reports.layout.FigureBlock``) that lays its
panels out inside ``rect`` with a gridspec: the same drawing goes on a PDF page and into a PNG. The panels
of the CLIs' figures are drawn by the same functions the CLIs use (``sims.margins.figures``,
``sims.robustness.figures``, ``realdata.figures``, which take the DataFrames of ``load_run``), in the shared
style of ``sims.sweep.style``: λ / η / ±, chance levels on accuracy axes, intervals clipped to [0, 1], one
legend under the panels (:func:`legend_below`). Means are over replicates with 95% Student-t intervals.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from realdata.figures import METRICS as _RD_METRICS
from sims.engine.stats import t_stats
from sims.sweep import style

_DIVERGING = "RdBu_r"  # paired differences mono - poly: red = the monosemantic side ahead (every phase diagram)

__all__ = ["grid", "representations", "two_feature_figure", "label_noise_models_figure", "margin_accuracy_figure",
           "phase_table", "phase_figure", "separation_figure", "realdata_curves_figure", "realdata_mono_figure",
           "COLORS", "legend_below", "table_frame"]

#: the shared palette (sims.sweep.style): codes, and the real-data representations
COLORS = {**style.REPRESENTATION_COLORS, **style.CODE_COLORS, "poly": style.CODE_COLORS["random"]}


def rep_color(rep: str) -> str:
    """Colour of a representation; SAEs of a k grid (``sae_k8``) share the SAE colour family."""
    return style.color(rep, "representation")


Draw = Callable[[Any, dict], None]


def grid(fig: Any, rect: dict, nrows: int, ncols: int, **kw: Any) -> np.ndarray:
    gs = fig.add_gridspec(nrows, ncols, **rect, **{"wspace": 0.35, "hspace": 0.55, **kw})
    return np.array([[fig.add_subplot(gs[i, j]) for j in range(ncols)] for i in range(nrows)])


def legend_below(fig: Any, rect: dict, axes: Any, max_cols: int = 4) -> Any:
    """One legend with every labelled artist of ``axes`` (deduplicated, as in the CLIs' figures) under the
    panels of ``rect``: the panels move up to make room, the legend sits between their x labels and the
    caption."""
    flat = [a for a in np.asarray(axes).ravel() if a is not None]
    handles, labels = style.collect_legend(flat)
    if not handles:
        return None
    height = fig.get_figheight()
    width_in = (rect["right"] - rect["left"]) * fig.get_figwidth()
    fs = 6.0
    longest = max(len(lab) for lab in labels)
    cols = max(1, min(max_cols, len(labels), int(width_in * 72 // (longest * 0.56 * fs + 28))))
    rows = math.ceil(len(labels) / cols)
    band = (rows * fs * 1.5 / 72 + 0.12) / height
    gs = flat[0].get_subplotspec().get_gridspec()
    gs.update(bottom=rect["bottom"] + band)
    for ax in fig.axes:  # GridSpec.update moves the axes of pyplot figures only
        spec = ax.get_subplotspec()
        if spec is not None and spec.get_topmost_subplotspec().get_gridspec() is gs:
            ax.set_position(spec.get_position(fig))
    return fig.legend(handles, labels, loc="lower center", ncol=cols, fontsize=fs, frameon=False,
                      bbox_to_anchor=((rect["left"] + rect["right"]) / 2, rect["bottom"] - 0.33 / height),
                      handlelength=2.2, columnspacing=1.0)


_FRAMES: dict[tuple, tuple[Any, Any]] = {}


def table_frame(rows: Any, table: str, config_class: str = "sims.robustness.config.RobustnessConfig") -> Any:
    """A table of a run folder (rows as read from its CSV) as the DataFrame ``load_run`` returns for it (the
    figure functions of the studies take these); a DataFrame passes through. Cached per rows object."""
    if hasattr(rows, "columns"):
        return rows
    from sims.sweep.results import to_frame

    key = (id(rows), table, config_class)
    hit = _FRAMES.get(key)
    if hit is not None and hit[0] is rows:
        return hit[1]
    from sims.sweep.results import schema_of

    rows = list(rows) if not isinstance(rows, list) else rows
    cols = list(rows[0]) if rows else [c.name for c in schema_of(config_class).table(table).all_columns()
                                       if not c.name.endswith("*")]
    df = to_frame(rows, config_class, table=table, columns=cols)
    if len(_FRAMES) > 16:
        _FRAMES.clear()
    _FRAMES[key] = (rows, df)
    return df


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


# ---------------------------------------------------------------------------------- two-feature theory
def two_feature_figure(sparsities: Sequence[float] = (0.1, 0.5, 0.9), weight: float = 1.0) -> Draw:
    """J_poly / J_mono of the two-feature model (theory.two_feature.separation, (E7)-(E8)) against input
    noise λ (η = 0) and label noise η (λ = 0), for the argmax and presence tasks."""
    from theory.two_feature import separation

    lam = np.linspace(0.0, 2.0, 81)
    eta = np.linspace(0.0, 0.45, 46)
    curves = {}
    for task in ("argmax", "presence"):
        for S in sparsities:
            rl = separation("poly", S, task=task, input_noise=lam, weight=weight) / separation(
                "mono", S, task=task, input_noise=lam, weight=weight)
            re = separation("poly", S, task=task, label_noise=eta, weight=weight) / separation(
                "mono", S, task=task, label_noise=eta, weight=weight)
            curves[task, S] = (np.asarray(rl), np.asarray(re))

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 1, 2)
        styles = ("-", "--", ":")
        for k, S in enumerate(sparsities):
            for task, col in (("argmax", COLORS["random"]), ("presence", COLORS["antipodal"])):
                rl, re = curves[task, S]
                axes[0, 0].plot(lam, rl, color=col, ls=styles[k % 3], label=f"{task}, S = {S:g}")
                axes[0, 1].plot(eta, re, color=col, ls=styles[k % 3], label=f"{task}, S = {S:g}")
        for ax, xl in ((axes[0, 0], "input noise \u03bb (\u03b7 = 0)"), (axes[0, 1], "label-noise rate \u03b7 (\u03bb = 0)")):
            ax.axhline(1.0, color="0.5", lw=0.7, label="$J_{poly} = J_{mono}$")
            ax.set_xlabel(xl)
            ax.set_ylabel("$J_{poly} / J_{mono}$ (> 1: poly separates better)")
            ax.set_yscale("log")
        axes[0, 0].set_title(f"two-feature model, w = {weight:g}: input noise")
        axes[0, 1].set_title(f"two-feature model, w = {weight:g}: label noise")
        legend_below(fig, rect, axes, max_cols=4)

    return draw


def label_noise_models_figure(differences: Sequence[Mapping] | None = None, point: tuple | None = None,
                              sparsity: float = 0.9) -> Draw:
    """The three label-noise models side by side. Left: two-feature theory (argmax, λ = 0), J_poly / J_mono
    against the noise rate r: symmetric eta = r, one-sided class-conditional transition = (0, r), margin
    noise (p_max = r, τ = 0.1), at w = 1 and w = 3 (theory.two_feature.separation, (E8), (E13), (E16)).
    Middle: where J_mono > J_poly is possible at all, the exact boundary 2 S^2 (1+w) = 3S + 1 + 12 lam^2/(1-S)
    of (E14) in the (S, w) plane (2 S² (1+w) = 3S + 1 + 12 λ²/(1−S)). Right: the n-feature picture from the toy-model robustness sweep
    (``differences`` rows of differences.csv at ``point`` = (sparsity, m, n_train)): paired accuracy
    difference dense - superposed against the label-noise level, one curve per label-noise kind in the run."""
    from theory.two_feature import separation

    r = np.linspace(0.0, 0.95, 96)
    curves = []
    for w, ls in ((1.0, "-"), (3.0, "--")):
        sym = r[r < 0.5]
        curves.append((sym, separation("poly", sparsity, label_noise=sym, weight=w)
                       / separation("mono", sparsity, label_noise=sym, weight=w), COLORS["mono"], ls, f"symmetric, w = {w:g}"))
        curves.append((r, separation("poly", sparsity, transition=(0.0, r), weight=w)
                       / separation("mono", sparsity, transition=(0.0, r), weight=w), COLORS["antipodal"], ls,
                       f"class-cond. (0, r), w = {w:g}"))
        curves.append((r, separation("poly", sparsity, margin_noise=(r, 0.1), weight=w)
                       / separation("mono", sparsity, margin_noise=(r, 0.1), weight=w), COLORS["random"], ls,
                       f"margin (r, \u03c4 = 0.1), w = {w:g}"))
    S = np.linspace(0.3, 0.995, 300)
    bounds = {lam: (3 * S + 1 + 12 * lam**2 / (1 - S)) / (2 * S**2) - 1 for lam in (0.0, 0.1, 0.3)}
    panel = []
    if differences and point is not None:
        Sf, mf, nf = point
        pick = [d for d in differences if d.get("scenario") == "label_noise" and d.get("record", "accuracy") == "accuracy"
                and abs(_finite(d.get("sparsity")) - Sf) < 1e-9 and int(_finite(d.get("m"))) == int(mf)
                and int(_finite(d.get("n_train"))) == int(nf)]
        for kind in sorted({d["kind"] for d in pick}):
            ds = sorted((d for d in pick if d["kind"] == kind), key=lambda d: _finite(d["level"]))
            panel.append((kind, [_finite(d["level"]) for d in ds], [_finite(d["diff_mean"]) for d in ds],
                          [_finite(d["diff_lo"]) for d in ds], [_finite(d["diff_hi"]) for d in ds]))

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 1, 3)
        ax = axes[0, 0]
        for x, y, col, ls, lab in curves:
            ax.plot(x, np.asarray(y), color=col, ls=ls, label=lab)
        ax.axhline(1.0, color="0.5", lw=0.7)
        ax.set_yscale("log")
        ax.set_xlabel("noise rate r")
        ax.set_ylabel("$J_{poly} / J_{mono}$ (< 1: mono separates better)")
        ax.set_title(f"two features, S = {sparsity:g}")
        ax.legend(loc="best", fontsize=5)
        ax = axes[0, 1]
        for (lam, wb), ls in zip(bounds.items(), ("-", "--", ":")):
            ax.plot(S, np.clip(wb, 0, 20), color=COLORS["antipodal"], ls=ls, label=f"(E14) boundary, \u03bb = {lam:g}")
        ax.fill_between(S, np.clip(bounds[0.0], 0, 20), 20, color=COLORS["antipodal"], alpha=0.12)
        ax.axhline(1.0, color="0.5", lw=0.7)
        ax.set_ylim(0, 20)
        ax.set_xlabel("sparsity S")
        ax.set_ylabel("weight w")
        ax.set_title("(E14): J_mono > J_poly possible above")
        ax.legend(loc="upper right", fontsize=5)
        ax = axes[0, 2]
        if panel:
            cols = {"symmetric": COLORS["mono"], "pair": COLORS["frame"], "classcond": COLORS["antipodal"],
                    "margin": COLORS["random"]}
            for kind, x, y, lo, hi in panel:
                c = cols.get(kind, COLORS["trained"])
                ax.plot(x, y, color=c, marker="o", ms=2, label=kind)
                ax.fill_between(x, lo, hi, color=c, alpha=0.15, lw=0)
            ax.axhline(0.0, color="0.5", lw=0.7)
            ax.legend(loc="best", fontsize=5)
            ax.set_title(f"toy models, S = {point[0]:g}, m = {point[1]}, n = {point[2]}")
        else:
            ax.text(0.5, 0.5, "no toy-model run with label noise\n(python -m sims.robustness_sweep\n"
                    "--label-noise-kind symmetric,pair,classcond,margin)", ha="center", va="center",
                    fontsize=6, transform=ax.transAxes)
            ax.set_title("toy models")
        ax.set_xlabel("label-noise level (\u03b7, b or p_max)")
        ax.set_ylabel("accuracy difference dense \u2212 superposed")

    return draw


# ---------------------------------------------------------------------------------- main sweep
def _mf(r: Mapping) -> bool:
    return r.get("record") == "readout" and r.get("readout") == "matched_filter"


def margin_accuracy_figure(rows: Any, config: Any) -> Draw:
    """Matched-filter accuracy vs input noise per code (largest valid ratio), mean ± 95% CI over replicates
    (clipped to [0, 1]), with the theory curve (exact (M7) or mean-field (M10)) dashed and chance 1/n; one
    panel per sparsity (:func:`sims.margins.figures.plot_accuracy`). ``rows``: results rows, or the
    ``readout`` DataFrame of ``load_run``."""
    from sims.margins import figures as MF

    readout = _margin_readout(rows, config)

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 1, len(config.sparsity))
        for j, S in enumerate(config.sparsity):
            MF.plot_accuracy(readout, sparsity=S, ax=axes[0, j], n_features=config.n_features)
            axes[0, j].set_title(f"sparsity S = {S:g}")
        legend_below(fig, rect, axes)

    return draw


def _margin_readout(rows: Any, config: Any) -> Any:
    """The ``readout`` DataFrame of results rows (or the frame itself)."""
    if hasattr(rows, "columns"):
        return rows
    from sims.margins import figures as MF

    return MF.frames([r for r in rows if r.get("record") == "readout"], config)["readout"]


def phase_table(rows: Any, config: Any) -> list[dict]:
    """Per (code, sparsity, ratio, λ) of a superposed code: mean paired accuracy difference mono − code
    over replicates (the same data per sparsity: common random numbers), its 95% CI, and λ* (M11).
    ``rows``: results rows, or the whole results.csv as a DataFrame (``load_run(run)``)."""
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    per: dict[tuple, dict[Any, float]] = {}
    for r in rows:
        if _mf(r):
            per.setdefault((r["sparsity"], r["code"], r["ratio"], r["level"]), {})[r["rep"]] = _finite(r["acc"])
    theory = {(r["sparsity"], r["code"], r["ratio"]): r for r in rows if r.get("record") == "theory"}
    out = []
    for code in config.code:
        if code == "mono":
            continue
        for S in config.sparsity:
            mono = {lv: per.get((S, "mono", 1.0, lv)) for lv in config.input_noise}
            for q in config.ratio:
                th = theory.get((S, code, q))
                if th is None:  # no theory row: mono is not defined here, or the code is orthonormal
                    continue
                lam_star = _finite(th.get("lam_star"))
                if _finite(th.get("sign_at_zero")) > 0:
                    lam_star = 0.0
                for lv in sorted(config.input_noise):
                    a, b = mono.get(lv), per.get((S, code, q, lv))
                    if not a or not b:
                        continue
                    d = np.array([a[k] - b[k] for k in a if k in b])
                    n, mean, _, half = t_stats(d)
                    out.append({"code": code, "sparsity": S, "ratio": q, "level": lv, "diff": mean,
                                "ci": half, "n": n, "lam_star": lam_star})
    return out


def phase_figure(table: list[dict], config: Any) -> Draw:
    """Phase diagram of the main sweep: who wins (matched filter) in the (ratio, λ) plane, per superposed
    code (rows) and sparsity (columns); colour = mean accuracy difference mono − code (red: mono ahead, as in
    every phase diagram), dots where its 95% CI excludes 0, the mean-field balance noise λ* (M11) as the
    theory boundary. ``table``: :func:`phase_table`."""
    codes = [c for c in config.code if any(t["code"] == c for t in table)]
    vmax = max([abs(t["diff"]) for t in table] + [1e-3])

    def draw(fig: Any, rect: dict) -> None:
        from matplotlib.colors import TwoSlopeNorm

        if not codes:
            ax = fig.add_axes([rect["left"], rect["bottom"], rect["right"] - rect["left"], rect["top"] - rect["bottom"]])
            ax.text(0.5, 0.5, "no superposed code with a theory row in this run", ha="center", va="center")
            ax.set_axis_off()
            return
        axes = grid(fig, rect, len(codes), len(config.sparsity), hspace=0.6)
        norm = TwoSlopeNorm(vmin=-vmax, vcenter=0.0, vmax=vmax)
        mesh = None
        for i, code in enumerate(codes):
            for j, S in enumerate(config.sparsity):
                ax = axes[i, j]
                pts = [t for t in table if t["code"] == code and t["sparsity"] == S]
                qs = sorted({t["ratio"] for t in pts})
                ls = sorted({t["level"] for t in pts})
                if not qs:
                    ax.set_axis_off()
                    continue
                Z = np.full((len(ls), len(qs)), np.nan)
                for t in pts:
                    Z[ls.index(t["level"]), qs.index(t["ratio"])] = t["diff"]
                xi, yi = np.arange(len(qs) + 1) - 0.5, np.arange(len(ls) + 1) - 0.5
                mesh = ax.pcolormesh(xi, yi, Z, cmap=_DIVERGING, norm=norm, shading="flat")
                sig = [(qs.index(t["ratio"]), ls.index(t["level"])) for t in pts
                       if math.isfinite(t["ci"]) and abs(t["diff"]) > t["ci"]]
                if sig:
                    ax.plot([s[0] for s in sig], [s[1] for s in sig], "k.", ms=2.5, label="95% CI excludes 0")
                star = [next(t["lam_star"] for t in pts if t["ratio"] == q) for q in qs]
                ys = [np.interp(s, ls, np.arange(len(ls))) if math.isfinite(s) and s <= ls[-1] else np.nan for s in star]
                ax.plot(range(len(qs)), ys, "k--s", ms=3, mfc="white", lw=0.9,
                        label="mean-field balance noise \u03bb* (M11)")
                ax.set_xticks(range(len(qs)), [f"{q:g}" for q in qs])
                ax.set_yticks(range(len(ls)), [f"{v:g}" for v in ls])
                ax.grid(False)
                ax.set_title(f"{code}, S = {S:g}")
                ax.set_xlabel(style.axis_label("ratio"))
                ax.set_ylabel(style.axis_label("input_noise"))
        legend_below(fig, rect, axes)
        if mesh is not None:
            cb = fig.colorbar(mesh, ax=axes.ravel().tolist(), shrink=0.8, pad=0.02)
            cb.set_label("accuracy mono \u2212 code (red: mono ahead)", fontsize=6)
            cb.ax.tick_params(labelsize=5.5)

    return draw


def separation_figure(rows: Any, config: Any) -> Draw:
    """Without input noise: median matched-filter margin (with the per-sample bound (M3)) and the pooled
    Fisher separation (with its exact value (M9) and the random-code expectation) against the
    superposition ratio, per sparsity (:func:`sims.margins.figures.plot_margin` / ``plot_fisher``).
    ``rows``: results rows, or ``{"readout": ..., "check": ...}`` DataFrames."""
    from sims.margins import figures as MF

    fr = rows if isinstance(rows, Mapping) else MF.frames(rows, config)

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 2, len(config.sparsity))
        for j, S in enumerate(config.sparsity):
            MF.plot_margin(fr["readout"], fr.get("check"), sparsity=S, ax=axes[0, j])
            MF.plot_fisher(fr["readout"], sparsity=S, ax=axes[1, j])
            axes[0, j].set_title(f"S = {S:g}: median margin")
            axes[1, j].set_title(f"S = {S:g}: Fisher separation")
        legend_below(fig, rect, axes)

    return draw


# ---------------------------------------------------------------------------------- real data
def representations(summary: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for a in summary:
        if a["representation"] != "all":
            seen.setdefault(a["representation"], None)
    return list(seen)


def realdata_curves_figure(summary: Any, scenarios: Sequence[str]) -> Draw:
    """Test accuracy of the linear probe vs corruption level per scenario (summary.csv rows or its
    DataFrame): mean and 95% CI band over replicates clipped to [0, 1], one line per representation, chance
    (the largest class share) dotted (:func:`realdata.figures.plot_curves`)."""
    from realdata import figures as RD

    frame = summary if hasattr(summary, "columns") else RD.summary_frame(summary)

    def draw(fig: Any, rect: dict) -> None:
        ncol = 4
        nrow = max(1, math.ceil(len(scenarios) / ncol))
        axes = grid(fig, rect, nrow, ncol)
        for k, ax in enumerate(axes.ravel()):
            if k >= len(scenarios):
                ax.set_axis_off()
                continue
            RD.plot_curves(frame, scenario=scenarios[k], ax=ax)
            ax.set_ylim(-0.02, 1.02)
        legend_below(fig, rect, axes, max_cols=8)

    return draw


REALDATA_METRICS = _RD_METRICS  # realdata.figures.METRICS: (scenario, metric, panel title)


def realdata_mono_figure(summary: Any) -> Draw:
    """Monosemanticity and class-geometry metrics per representation (summary.csv rows or its DataFrame,
    level 0): mean with 95% CI (:func:`realdata.figures.plot_bars`)."""
    from realdata import figures as RD

    frame = summary if hasattr(summary, "columns") else RD.summary_frame(summary)

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 1, len(REALDATA_METRICS))
        for ax, (sc, metric, title) in zip(axes.ravel(), REALDATA_METRICS):
            RD.plot_bars(frame, scenario=sc, metric=metric, ax=ax, title=title)
            ax.set_title(title, fontsize=6.5)

    return draw
