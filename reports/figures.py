"""The report's figures, drawn from results rows (never from typed-in numbers).

Each ``*_figure`` function returns ``draw(fig, rect)`` (see ``reports.layout.FigureBlock``) that lays its
panels out inside ``rect`` with a gridspec: the same drawing goes on a PDF page and into a PNG.
Means are over replicates with 95% Student-t intervals (``sims.margins.report.aggregate``,
``realdata.summary`` tables); intervals are drawn as error bars or bands.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from sims.engine.stats import t_stats

__all__ = ["grid", "representations", "two_feature_figure", "label_noise_models_figure", "margin_accuracy_figure", "phase_table", "phase_figure", "separation_figure",
           "realdata_curves_figure", "realdata_mono_figure", "COLORS"]

COLORS = {"mono": "#222222", "random": "#1f77b4", "antipodal": "#d62728", "frame": "#2ca02c",
          "trained": "#9467bd", "cl": "#1f77b4", "ncl": "#d62728", "sae": "#2ca02c", "ce": "#9467bd",
          "nce": "#8c564b", "poly": "#1f77b4",
          "raw": "#7f7f7f", "pca": "#bcbd22"}


def rep_color(rep: str) -> str:
    """Colour of a representation; SAEs of a k grid (``sae_k8``) share the SAE colour family."""
    base = rep.partition("_k")[0]
    return COLORS.get(rep) or COLORS.get(base) or "#8c564b"
Draw = Callable[[Any, dict], None]


def grid(fig: Any, rect: dict, nrows: int, ncols: int, **kw: Any) -> np.ndarray:
    gs = fig.add_gridspec(nrows, ncols, **rect, **{"wspace": 0.35, "hspace": 0.55, **kw})
    return np.array([[fig.add_subplot(gs[i, j]) for j in range(ncols)] for i in range(nrows)])


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


# ---------------------------------------------------------------------------------- two-feature theory
def two_feature_figure(sparsities: Sequence[float] = (0.1, 0.5, 0.9), weight: float = 1.0) -> Draw:
    """J_poly / J_mono of the two-feature model (theory.two_feature.separation, (E7)-(E8)) against input
    noise lam (eta = 0) and label noise eta (lam = 0), for the argmax and presence tasks."""
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
        for ax, xl in ((axes[0, 0], "input noise $\\lambda$ ($\\eta$ = 0)"), (axes[0, 1], "label noise $\\eta$ ($\\lambda$ = 0)")):
            ax.axhline(1.0, color="0.5", lw=0.7)
            ax.set_xlabel(xl)
            ax.set_ylabel("$J_{poly} / J_{mono}$ (> 1: poly separates better)")
            ax.set_yscale("log")
        axes[0, 0].set_title(f"two-feature model, w = {weight:g}: input noise")
        axes[0, 1].set_title(f"two-feature model, w = {weight:g}: label noise")
        axes[0, 0].legend(loc="best")

    return draw


def label_noise_models_figure(differences: Sequence[Mapping] | None = None, point: tuple | None = None,
                              sparsity: float = 0.9) -> Draw:
    """The three label-noise models side by side. Left: two-feature theory (argmax, lam = 0), J_poly / J_mono
    against the noise rate r: symmetric eta = r, one-sided class-conditional transition = (0, r), margin
    noise (p_max = r, tau = 0.1), at w = 1 and w = 3 (theory.two_feature.separation, (E8), (E13), (E16)).
    Middle: where J_mono > J_poly is possible at all, the exact boundary 2 S^2 (1+w) = 3S + 1 + 12 lam^2/(1-S)
    of (E14) in the (S, w) plane. Right: the n-feature picture from the toy-model robustness sweep
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
                       f"margin (r, tau = 0.1), w = {w:g}"))
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
            ax.plot(S, np.clip(wb, 0, 20), color=COLORS["antipodal"], ls=ls, label=f"$\\lambda$ = {lam:g}")
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
        ax.set_xlabel("label-noise level (eta, b or p_max)")
        ax.set_ylabel("acc. dense - superposed")

    return draw


# ---------------------------------------------------------------------------------- main sweep
def _mf(r: Mapping) -> bool:
    return r.get("record") == "readout" and r.get("readout") == "matched_filter"


def margin_accuracy_figure(rows: list[dict], config: Any) -> Draw:
    """Matched-filter accuracy vs input noise per code (largest valid ratio), mean +- 95% CI over
    replicates, with the theory curve (exact (M7) or mean-field (M10)) dashed; one panel per sparsity."""
    from sims.margins.report import aggregate

    acc = aggregate(rows, ("sparsity", "code", "ratio", "level"), "acc", _mf)
    th = aggregate(rows, ("sparsity", "code", "ratio", "level"), "acc_theory", _mf)
    lams = sorted(config.input_noise)

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 1, len(config.sparsity))
        for j, S in enumerate(config.sparsity):
            ax = axes[0, j]
            for code in config.code:
                valid = [q for q in config.ratio if (S, code, q, lams[0]) in acc]
                if not valid:
                    continue
                q = max(valid)
                m = np.array([acc[(S, code, q, lv)] for lv in lams])
                ax.errorbar(lams, m[:, 0], yerr=np.nan_to_num(m[:, 1]), color=COLORS.get(code), marker="o",
                            capsize=2, label=f"{code} (ratio {q:g})")
                t = np.array([th.get((S, code, q, lv), (np.nan,))[0] for lv in lams])
                if np.isfinite(t).any():
                    ax.plot(lams, t, color=COLORS.get(code), ls="--", lw=0.8)
            ax.set_title(f"sparsity S = {S:g}")
            ax.set_xlabel("input noise $\\lambda$")
            ax.set_ylabel("matched-filter accuracy")
            if j == 0:
                ax.legend(loc="best")

    return draw


def phase_table(rows: list[dict], config: Any) -> list[dict]:
    """Per (code, sparsity, ratio, lam) of a superposed code: mean paired accuracy difference mono - code
    over replicates (the same data per sparsity: common random numbers), its 95% CI, and lam* (M11)."""
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
    """Phase diagram of the main sweep: who wins (matched filter) in the (ratio, lam) plane, per superposed
    code (rows) and sparsity (columns); colour = mean accuracy difference mono - code, dots where its 95%
    CI excludes 0, the mean-field balance noise lam* (M11) as the theory boundary."""
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
                mesh = ax.pcolormesh(xi, yi, Z, cmap="RdBu_r", norm=norm, shading="flat")
                sig = [(qs.index(t["ratio"]), ls.index(t["level"])) for t in pts
                       if math.isfinite(t["ci"]) and abs(t["diff"]) > t["ci"]]
                if sig:
                    ax.plot([s[0] for s in sig], [s[1] for s in sig], "k.", ms=2.5)
                star = [next(t["lam_star"] for t in pts if t["ratio"] == q) for q in qs]
                ys = [np.interp(s, ls, np.arange(len(ls))) if math.isfinite(s) and s <= ls[-1] else np.nan for s in star]
                ax.plot(range(len(qs)), ys, "k--s", ms=3, mfc="white", lw=0.9, label="mean-field balance noise (M11)")
                ax.set_xticks(range(len(qs)), [f"{q:g}" for q in qs])
                ax.set_yticks(range(len(ls)), [f"{v:g}" for v in ls])
                ax.set_title(f"{code}, S = {S:g}")
                ax.set_xlabel("superposition ratio $n_{rep}/m$")
                ax.set_ylabel("input noise $\\lambda$")
                if i == 0 and j == 0:
                    ax.legend(loc="upper left", fontsize=5)
        if mesh is not None:
            cb = fig.colorbar(mesh, ax=axes.ravel().tolist(), shrink=0.8, pad=0.02)
            cb.set_label("accuracy mono - code (red: mono wins)", fontsize=6)
            cb.ax.tick_params(labelsize=5.5)

    return draw


def separation_figure(rows: list[dict], config: Any) -> Draw:
    """Without input noise: median matched-filter margin (with the per-sample bound (M3)) and the pooled
    Fisher separation (with its exact value (M9)) against the superposition ratio, per sparsity."""
    from sims.margins.report import aggregate

    lam0 = min(config.input_noise)
    marg = aggregate(rows, ("sparsity", "code", "ratio"), "margin_q50", lambda r: _mf(r) and r.get("level") == lam0)
    fis = aggregate(rows, ("sparsity", "code", "ratio"), "fisher", lambda r: _mf(r) and r.get("level") == lam0)
    fex = aggregate(rows, ("sparsity", "code", "ratio"), "fisher_exact", lambda r: _mf(r) and r.get("level") == lam0)
    bnd = aggregate(rows, ("sparsity", "code", "ratio"), "value", lambda r: r.get("record") == "check"
                    and r.get("check") == "margin_sample" and r.get("stat") == "q50")

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 2, len(config.sparsity))
        for j, S in enumerate(config.sparsity):
            for code in config.code:
                qs = [q for q in sorted(config.ratio) if (S, code, q) in marg]
                if not qs:
                    continue
                c = COLORS.get(code)
                m = np.array([marg[(S, code, q)][:2] for q in qs])
                axes[0, j].errorbar(qs, m[:, 0], yerr=np.nan_to_num(m[:, 1]), color=c, marker="o", capsize=2, label=code)
                b = np.array([bnd.get((S, code, q), (np.nan,))[0] for q in qs])
                ok = np.isfinite(b) & (b > 0)
                if ok.any():
                    axes[0, j].plot(np.array(qs)[ok], b[ok], color=c, ls=":", marker="v", mfc="white")
                f = np.array([fis.get((S, code, q), (np.nan, np.nan))[:2] for q in qs])
                axes[1, j].errorbar(qs, f[:, 0], yerr=np.nan_to_num(f[:, 1]), color=c, marker="o", capsize=2, label=code)
                e = np.array([fex.get((S, code, q), (np.nan,))[0] for q in qs])
                if np.isfinite(e).any():
                    axes[1, j].plot(qs, e, color=c, ls="--", lw=0.8)
            axes[0, j].axhline(0.0, color="0.6", lw=0.6)
            axes[0, j].set_title(f"S = {S:g}: median margin ($\\lambda$ = {lam0:g})")
            axes[1, j].set_title(f"S = {S:g}: Fisher separation")
            for i in range(2):
                axes[i, j].set_xlabel("superposition ratio $n_{rep}/m$")
            axes[0, j].set_ylabel("margin (covered samples)")
            axes[1, j].set_ylabel("pooled Fisher J")
            axes[1, j].set_yscale("log")
            if j == 0:
                axes[0, j].legend(loc="best")

    return draw


# ---------------------------------------------------------------------------------- real data
def representations(summary: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for a in summary:
        if a["representation"] != "all":
            seen.setdefault(a["representation"], None)
    return list(seen)


def realdata_curves_figure(summary: list[dict], scenarios: Sequence[str]) -> Draw:
    """Test accuracy of the linear probe vs corruption level per scenario (summary.csv): mean and 95% CI
    band over replicates, one line per representation."""
    reps = representations(summary)
    labels = {"label_noise": "label noise $\\eta$", "few_shot": "k per class (rightmost: all)",
              "gaussian_noise": "input noise sd", "uniform_noise": "input noise sd", "rotation": "degrees",
              "inversion": "blend weight", "blur": "$\\sigma$ (px)", "translation": "pixels",
              "time_shift": "fraction of the length", "time_scale": "stretch (factor $-$ 1)",
              "smoothing": "$\\sigma$ (samples)", "trend": "rise (sd)", "mean_shift": "shift (sd)",
              "scaling": "factor $-$ 1", "block_mask": "share masked", "ood": "given OOD set"}

    def draw(fig: Any, rect: dict) -> None:
        ncol = 4
        nrow = max(1, math.ceil(len(scenarios) / ncol))
        axes = grid(fig, rect, nrow, ncol)
        for k, ax in enumerate(axes.ravel()):
            if k >= len(scenarios):
                ax.set_axis_off()
                continue
            sc = scenarios[k]
            for rep in reps:
                pts = sorted((_finite(a["level"]), _finite(a["mean"]), _finite(a["ci"])) for a in summary
                             if a["scenario"] == sc and a["metric"] == "accuracy" and a["representation"] == rep)
                if not pts:
                    continue
                if sc == "few_shot":  # level 0 = all training samples: drawn last, at twice the largest k
                    kmax = max([p[0] for p in pts] + [1.0])
                    pts = sorted((2 * kmax if p[0] == 0 else p[0], p[1], p[2]) for p in pts)
                x, m, c = (np.array(v) for v in zip(*pts))
                c = np.nan_to_num(c)
                ax.plot(x, m, "o-", color=rep_color(rep), label=rep.upper())
                ax.fill_between(x, m - c, m + c, color=rep_color(rep), alpha=0.15, lw=0)
            if sc == "few_shot":
                ax.set_xscale("log")
            ax.set_ylim(-0.02, 1.02)  # accuracy; wider intervals are clipped (the tables give them in full)
            ax.set_title(sc)
            ax.set_xlabel(labels.get(sc, "level"))
            ax.set_ylabel("test accuracy")
            if k == 0:
                ax.legend(loc="best")

    return draw


REALDATA_METRICS = (("monosemanticity", "semantic_consistency", "semantic consistency (higher: monosemantic)"),
                    ("monosemanticity", "sparsity", "activation sparsity"),
                    ("geometry", "fisher_ratio", "Fisher ratio J (train features)"),
                    ("geometry", "coherence", "coherence of class means"))


def realdata_mono_figure(summary: list[dict]) -> Draw:
    """Monosemanticity and class-geometry metrics per representation (summary.csv, level 0): mean with 95% CI."""
    reps = representations(summary)
    look = {(a["representation"], a["scenario"], a["metric"]): a for a in summary if _finite(a["level"]) == 0.0}

    def draw(fig: Any, rect: dict) -> None:
        axes = grid(fig, rect, 1, len(REALDATA_METRICS))
        for ax, (sc, metric, title) in zip(axes.ravel(), REALDATA_METRICS):
            vals = [look.get((r, sc, metric)) for r in reps]
            m = np.array([_finite(v["mean"]) if v else np.nan for v in vals])
            c = np.array([_finite(v["ci"]) if v else np.nan for v in vals])
            ax.bar(range(len(reps)), m, yerr=np.nan_to_num(c), color=[rep_color(r) for r in reps], capsize=3)
            ax.set_xticks(range(len(reps)), [r.upper() for r in reps])
            ax.set_title(title, fontsize=6.5)

    return draw
