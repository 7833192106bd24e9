"""The toy-model section: results of ``python -m sims.robustness_sweep`` (paper §4.2 / Fig. 5 with error
bars, few-shot, out-of-distribution, the phase diagram with the theory boundary).

Read from the run folder: summary.csv (mean and 95% t-interval of the accuracy over replicates per
comparator and setting), differences.csv (paired dense - superposed differences, winner),
boundaries.csv (empirical crossings with bootstrap intervals next to the ones predicted by
``theory.robustness``) and verdict.json (the Fig.-5 pattern judged at one (S, m, n_train)). Figures are
drawn here from those tables; tables show their rows as written.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from reports import figures as F
from reports.layout import FigureBlock, Heading, Paragraph, Table
from reports.results import Part, num, rel_path
from sims.robustness.phase import KEYS as SUMMARY_KEYS

__all__ = ["robustness_part", "counts", "SUMMARY_KEYS", "CLAIM_FIGURES"]

#: summary.csv has one row per distinct SUMMARY_KEYS (= sims.robustness.phase.KEYS) of results.csv, differences.csv one
#: per distinct _DIFF_KEYS where both sides were run
_DIFF_KEYS = tuple(k for k in SUMMARY_KEYS if k != "comparator")
MONO, POLY = "dense", "superposed"
COMP_COLORS = {"dense": "#222222", "superposed": "#1f77b4", "nonneg": "#d62728", "random": "#2ca02c", "mono": "#9467bd"}
#: figures of this part that bear on claims (ids or id prefixes ending in ".")
CLAIM_FIGURES = {
    "paper.fig5.": ("robust_fig5", "robust_phase"),
    "robust.boundary.": ("robust_phase",),
    "robust.label_noise.": ("robust_fig5",),
}
#: claims judged by the Fig.-5 verdict of the run (verdict.json key)
FIG5_CLAIMS = {"paper.fig5.clean_poly_better": "clean", "paper.fig5.label_noise_mono_better": "label_noise",
               "paper.fig5.input_noise_mono_better": "input_noise"}
#: claims about a boundary (boundaries.csv sweep)
BOUNDARY_CLAIMS = {"robust.boundary.input_noise": "lam"}


def counts(rows: list[dict], config: Any) -> dict[str, int]:
    """Rows summary.csv and differences.csv must have (boundaries.csv: not countable cheaply)."""
    keys = {tuple(r[k] for k in SUMMARY_KEYS) for r in rows}
    sides: dict[tuple, set] = {}
    for r in rows:
        sides.setdefault(tuple(r[k] for k in _DIFF_KEYS), set()).add(r["comparator"])
    return {"summary.csv": len(keys), "differences.csv": sum({MONO, POLY} <= v for v in sides.values())}


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _eq(a: Any, b: Any) -> bool:
    return math.isclose(_f(a), _f(b), rel_tol=0, abs_tol=1e-9)


def _select(rows: Sequence[Mapping], **fixed: Any) -> list[Mapping]:
    return [r for r in rows if all((_eq(r.get(k), v) if isinstance(v, (int, float)) else r.get(k) == v)
                                   for k, v in fixed.items())]


def _curves(ax: Any, summary: Sequence[Mapping], comparators: Sequence[str], title: str, xlabel: str,
            log: bool = False, **fixed: Any) -> None:
    for comp in comparators:
        pts = sorted((_f(r["level"]), _f(r["acc_mean"]), _f(r["acc_lo"]), _f(r["acc_hi"]))
                     for r in _select(summary, comparator=comp, record="accuracy", **fixed))
        if not pts:
            continue
        if log:  # few-shot k = 0 means all training samples: drawn last, at twice the largest k
            kmax = max([p[0] for p in pts] + [1.0])
            pts = sorted((2 * kmax if p[0] == 0 else p[0], *p[1:]) for p in pts)
        x, m, lo, hi = (np.array(v) for v in zip(*pts))
        col = COMP_COLORS.get(comp)
        ax.plot(x, m, "o-" if comp in (MONO, POLY) else "o--", color=col, label=comp,
                lw=1.8 if comp == MONO else (1.4 if comp == POLY else 0.8), ms=3 if comp in (MONO, POLY) else 2)
        ax.fill_between(x, np.where(np.isfinite(lo), lo, m), np.where(np.isfinite(hi), hi, m), color=col,
                        alpha=0.15, lw=0)
    if log:
        ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probe accuracy (clean test labels)")


def _fig5(summary: Sequence[Mapping], comps: Sequence[str], S: float, m: int, nt: int) -> F.Draw:
    panels = (("label_noise", "symmetric", "", "label noise $\\eta$"),
              ("label_noise", "pair", "", "label noise $\\eta$ (c -> c+1)"),
              ("input_noise", "gaussian", "test", "input noise $\\lambda$ (test)"),
              ("input_noise", "gaussian", "both", "input noise $\\lambda$ (train + test)"))

    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, len(panels), wspace=0.45)
        for ax, (sc, kind, at, xl) in zip(axes.ravel(), panels):
            _curves(ax, summary, comps, f"{sc.replace('_', ' ')} ({kind}{', ' + at if at else ''})", xl,
                    sparsity=S, m=m, n_train=nt, scenario=sc, kind=kind, at=at)
        axes[0, 0].legend(loc="best")

    return draw


def _few_shot(summary: Sequence[Mapping], comps: Sequence[str], Ss: Sequence[float], m: int) -> F.Draw:
    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, len(Ss))
        for ax, S in zip(axes.ravel(), Ss):
            _curves(ax, summary, comps, f"few-shot, S = {S:g}, m = {m}", "k training samples per class (rightmost: all)",
                    log=True, sparsity=S, m=m, scenario="few_shot")
        axes[0, 0].legend(loc="best")

    return draw


def _ood(summary: Sequence[Mapping], comps: Sequence[str], S: float, m: int) -> F.Draw:
    rows = _select(summary, sparsity=S, m=m, scenario="ood", record="accuracy")
    shifts = sorted({(r["kind"], _f(r["level"])) for r in rows}, key=lambda s: (s[0] != "none", s))

    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, 1)
        ax = axes[0, 0]
        w = 0.8 / max(1, len(comps))
        for i, comp in enumerate(comps):
            for j, (kind, lv) in enumerate(shifts):
                r = next((r for r in rows if r["comparator"] == comp and r["kind"] == kind and _eq(r["level"], lv)), None)
                if r is None:
                    continue
                m_, lo, hi = _f(r["acc_mean"]), _f(r["acc_lo"]), _f(r["acc_hi"])
                ax.bar(j + (i - (len(comps) - 1) / 2) * w, m_, w, color=COMP_COLORS.get(comp),
                       yerr=[[m_ - lo if math.isfinite(lo) else 0], [hi - m_ if math.isfinite(hi) else 0]],
                       capsize=2, label=comp if j == 0 else None)
        ax.set_xticks(range(len(shifts)), ["in distribution" if k == "none" else f"{k} x {lv:g}" for k, lv in shifts])
        ax.set_ylabel("probe accuracy")
        top = max([_f(r["acc_hi"]) for r in rows if math.isfinite(_f(r["acc_hi"]))] + [0.5])
        ax.set_ylim(0, 1.3 * top)  # room for the legend above the bars
        ax.set_title(f"out of distribution: test-time shifts, S = {S:g}, m = {m}")
        ax.legend(loc="best", ncol=len(comps))

    return draw


def _phase(diffs: Sequence[Mapping], bnd: Sequence[Mapping], Ss: Sequence[float], m: int, nt: int) -> F.Draw:
    """(n_train, eta) per sparsity, and (S, lambda) at the largest n_train: colour dense - superposed."""
    acc = [d for d in diffs if d["record"] == "accuracy"]
    vmax = max([abs(_f(d["diff_mean"])) for d in acc if math.isfinite(_f(d["diff_mean"]))] + [1e-3])
    panels = [("n_train", "level", dict(scenario="label_noise", kind="symmetric", at="", m=m, sparsity=S), "eta",
               f"label noise, S = {S:g}") for S in Ss]
    panels.append(("sparsity", "level", dict(scenario="input_noise", kind="gaussian", at="test", m=m, n_train=nt),
                   "lam", f"input noise (test), n_train = {nt}"))

    def draw(fig: Any, rect: dict) -> None:
        from matplotlib.colors import TwoSlopeNorm

        axes = F.grid(fig, rect, 1, len(panels), wspace=0.5)
        norm = TwoSlopeNorm(vmin=-vmax, vcenter=0.0, vmax=vmax)
        mesh = None
        for ax, (xk, yk, fixed, sweep, title) in zip(axes.ravel(), panels):
            sel = _select(acc, **fixed)
            X = sorted({_f(d[xk]) for d in sel})
            Y = sorted({_f(d[yk]) for d in sel})
            if not X or not Y:
                ax.set_axis_off()
                continue
            Z = np.full((len(Y), len(X)), np.nan)
            sig = []
            for d in sel:
                i, j = Y.index(_f(d[yk])), X.index(_f(d[xk]))
                Z[i, j] = _f(d["diff_mean"])
                if d["winner"] in ("mono", "poly"):
                    sig.append((j, i))
            mesh = ax.pcolormesh(np.arange(len(X) + 1) - 0.5, np.arange(len(Y) + 1) - 0.5, Z, cmap="RdBu_r",
                                 norm=norm, shading="flat")
            if sig:
                ax.plot([s[0] for s in sig], [s[1] for s in sig], "k.", ms=2.5)
            emp, pred = [], []
            for j, x in enumerate(X):
                for b in bnd:
                    if b["sweep"] != sweep or not _eq(b.get(xk), x) or not all(
                            _eq(b.get(k), v) for k, v in fixed.items() if k in ("sparsity", "m", "n_train") and k != xk):
                        continue
                    if math.isfinite(_f(b["emp"])):
                        emp.append((j, float(np.interp(_f(b["emp"]), Y, range(len(Y))))))
                    if math.isfinite(_f(b["pred"])):
                        pred.append((j, float(np.interp(_f(b["pred"]), Y, range(len(Y))))))
            if pred:
                ax.plot(*zip(*pred), "k-x", lw=1.1, ms=3, label="predicted (theory.robustness)")
            if emp:
                ax.plot(*zip(*emp), "o", mfc="white", mec="k", ms=3.5, label="simulated crossing")
            ax.set_xticks(range(len(X)), [f"{v:g}" for v in X])
            ax.set_yticks(range(len(Y)), [f"{v:g}" for v in Y])
            ax.set_xlabel("training samples" if xk == "n_train" else "sparsity S")
            ax.set_ylabel("label noise eta" if sweep == "eta" else "input noise lambda")
            ax.set_title(title)
        if mesh is not None:
            cb = fig.colorbar(mesh, ax=axes.ravel().tolist(), shrink=0.85, pad=0.02)
            cb.set_label("acc dense (mono) - superposed (poly); red: mono wins", fontsize=6)
            cb.ax.tick_params(labelsize=5.5)
        with_labels = [ax for ax in axes.ravel() if ax.get_legend_handles_labels()[0]]
        if with_labels:
            with_labels[0].legend(loc="upper left", fontsize=5)

    return draw


def _verdict_rows(v: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    c = v.get("clean") or {}
    if c:
        rows.append(["clean", "-", num(c.get("diff")), f"[{num(c.get('lo'))}, {num(c.get('hi'))}]", str(c.get("winner")),
                     "yes" if c.get("reproduces") else "no"])
    for sc in ("label_noise", "input_noise"):
        s = v.get(sc) or {}
        for i, lv in enumerate(s.get("levels") or []):
            win = "mono" if lv in (s.get("mono_wins_at") or []) else ("poly" if lv in (s.get("poly_wins_at") or []) else "tie")
            rows.append([sc, num(lv), num(s["diff"][i]), f"[{num(s['lo'][i])}, {num(s['hi'][i])}]", win,
                         ("yes" if s.get("reproduces") else "no") if i == 0 else ""])
    return rows


def robustness_part(run: Any, tables_dir: Any, title: str) -> Part:
    cfg = run.config
    summary, diffs, bnd = (run.tables[n] for n in ("summary.csv", "differences.csv", "boundaries.csv"))
    verdict = run.json["verdict.json"]
    S, m, nt = _f(verdict.get("sparsity")), int(_f(verdict.get("m"))), int(_f(verdict.get("n_train")))
    comps = [c for c in cfg.comparators]
    src = {n: rel_path(run.path / n) for n in ("summary.csv", "differences.csv", "boundaries.csv", "verdict.json")}
    n_rep = cfg.reps
    figs = {
        "robust_fig5": FigureBlock(
            "toy_fig5", f"Toy models, Fig. 5 style: accuracy of each code under label and input noise "
                        f"(S = {S:g}, m = {m}, n = {cfg.n_features} features, {nt} training samples)",
            f"Least-squares probe on each code ({cfg.readout} readout); mean and 95% t-interval band over {n_rep} "
            "replicates (new codes and data each). dense: toy model trained on dense data (the monosemantic "
            "comparator); superposed: trained at the code sparsity (polysemantic); nonneg: non-negative toy model "
            f"(the toy analogue of NCL); random, mono: planted codes. Source: {src['summary.csv']}.",
            _fig5(summary, comps, S, m, nt), height=2.5),
        "robust_few_shot": FigureBlock(
            "toy_few_shot", f"Toy models: few-shot accuracy (m = {m})",
            f"k labelled samples per class; mean and 95% t-interval band over {n_rep} replicates. Source: "
            f"{src['summary.csv']}.", _few_shot(summary, comps, list(cfg.sparsity), m), height=2.4),
        "robust_ood": FigureBlock(
            "toy_ood", f"Toy models: out-of-distribution test sets (S = {S:g}, m = {m})",
            "Probe trained in distribution, tested on shifted feature laws (density: firing probabilities "
            "scaled; amplitude: range of active features; frequency: firing mass tilted across features); bars: "
            f"mean, whiskers: 95% t-interval over {n_rep} replicates. Source: {src['summary.csv']}.",
            _ood(summary, comps, S, m), height=2.4),
        "robust_phase": FigureBlock(
            "toy_phase", "Toy models: phase diagram of dense (mono) vs superposed (poly), with the theory boundary",
            "Colour: mean paired accuracy difference dense - superposed (red: the monosemantic code wins); dots: "
            "its 95% interval excludes 0. White circles: simulated crossing (sign change of the mean "
            "difference); black line with crosses: the crossing predicted by theory.robustness (R7). Sources: "
            f"{src['differences.csv']}, {src['boundaries.csv']}.",
            _phase(diffs, bnd, list(cfg.sparsity), m, nt), height=2.6),
    }
    gap = verdict.get("gap_summary") or {}
    blocks: list[Any] = [
        Heading(title),
        Paragraph(f"Run folder {rel_path(run.path)} ({run.variant} config, {run.origin}). {cfg.caption()}", size=7.5),
        figs["robust_fig5"],
        Table(f"The paper's Fig.-5 pattern at S = {S:g}, m = {m}, n_train = {nt}: dense - superposed accuracy",
              ["scenario", "level", "difference", "95% CI", "winner", "paper's pattern"], _verdict_rows(verdict),
              source=src["verdict.json"], align="lrrrll",
              note="The paper's pattern: poly wins on clean data, mono wins under label noise and under input noise. "
                   "winner: the side whose 95% interval of the paired difference excludes 0 (tie otherwise)."),
        figs["robust_phase"],
        Table("Boundaries: simulated crossing (bootstrap interval over replicates) vs predicted by theory.robustness",
              ["sweep", "S", "m", "level", "n_train", "simulated", "interval", "predicted", "gap", "agree"],
              [[b["sweep"], num(b["sparsity"]), num(b["m"]), num(b["level"]), num(b["n_train"]), num(b["emp"]),
                f"[{num(b['emp_lo'])}, {num(b['emp_hi'])}]", num(b["pred"]), num(b["gap"]), b["agree"]] for b in bnd],
              source=src["boundaries.csv"], align="lrrrrrrrrl",
              note="gap: relative difference of the two crossings where both exist; agree: both cross / neither / "
                   "they differ. " + "; ".join(
                       f"{k}: {g.get('both_cross')} of {g.get('settings')} settings cross in both, median gap "
                       f"{num(g.get('median_gap'))}" for k, g in gap.items() if isinstance(g, Mapping))),
        figs["robust_few_shot"], figs["robust_ood"],
    ]

    def evidence(cid: str) -> list[str]:
        sweep = BOUNDARY_CLAIMS.get(cid)
        if sweep is not None and isinstance(gap.get(sweep), Mapping):
            g = gap[sweep]
            return [f"toy-model run: along {sweep}, {g.get('both_cross')} of {g.get('settings')} settings cross in "
                    f"simulation and theory, median relative gap {num(g.get('median_gap'))}, "
                    f"{g.get('within_10pct')} within 10% (table 'Boundaries')"]
        key = FIG5_CLAIMS.get(cid)
        if key is None or key not in verdict:
            return []
        s = verdict[key]
        if key == "clean":
            body = f"dense - superposed = {num(s.get('diff'))} [{num(s.get('lo'))}, {num(s.get('hi'))}], winner {s.get('winner')}"
        else:
            body = "; ".join(f"level {num(lv)}: {num(d)} [{num(lo)}, {num(hi)}]"
                             for lv, d, lo, hi in zip(s.get("levels", []), s.get("diff", []), s.get("lo", []), s.get("hi", [])))
        return [f"toy models (S = {S:g}, m = {m}, n_train = {nt}, {n_rep} replicates), {key.replace('_', ' ')}: {body}; "
                f"the paper's pattern {'reproduced' if s.get('reproduces') else 'not reproduced'}"]

    part = Part(blocks, figs, [], evidence)
    part.claim_figures = CLAIM_FIGURES  # type: ignore[attr-defined]
    return part
