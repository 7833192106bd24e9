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


def _fig5(summary: Sequence[Mapping], comps: Sequence[str], S: float, m: int, nt: int) -> F.Draw:
    """Accuracy under label noise (symmetric, pair; n_train = nt) and test / train+test Gaussian input noise
    (the largest training size of those runs): :func:`sims.robustness.figures.plot_curves`."""
    from sims.robustness import figures as RF

    panels = (("label_noise", "symmetric", ""), ("label_noise", "pair", ""), ("input_noise", "gaussian", "test"),
              ("input_noise", "gaussian", "both"))
    frame = F.table_frame(summary, "summary.csv")

    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, len(panels), wspace=0.45)
        for ax, (sc, kind, at) in zip(axes.ravel(), panels):
            RF.plot_curves(frame, scenario=sc, kind=kind, at=at, n_train=nt if sc == "label_noise" else None,
                           sparsity=S, m=m, comparators=comps, ax=ax)
        F.legend_below(fig, rect, axes, max_cols=8)

    return draw


def _few_shot(summary: Sequence[Mapping], comps: Sequence[str], Ss: Sequence[float], m: int) -> F.Draw:
    from sims.robustness import figures as RF

    frame = F.table_frame(summary, "summary.csv")

    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, len(Ss))
        for ax, S in zip(axes.ravel(), Ss):
            RF.plot_few_shot(frame, sparsity=S, m=m, comparators=comps, ax=ax)
        F.legend_below(fig, rect, axes, max_cols=8)

    return draw


def _ood(summary: Sequence[Mapping], comps: Sequence[str], S: float, m: int) -> F.Draw:
    from sims.robustness import figures as RF

    frame = F.table_frame(summary, "summary.csv")

    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, 1)
        RF.plot_ood(frame, sparsity=S, m=m, comparators=comps, ax=axes[0, 0])
        axes[0, 0].set_xticks(axes[0, 0].get_xticks(), [t.get_text() for t in axes[0, 0].get_xticklabels()],
                              rotation=0, ha="center")
        F.legend_below(fig, rect, axes, max_cols=8)

    return draw


def _phase(diffs: Sequence[Mapping], bnd: Sequence[Mapping], Ss: Sequence[float], m: int, nt: int) -> F.Draw:
    """(n_train, η) per sparsity, and (S, λ) at the largest n_train: colour dense - superposed
    (:func:`sims.robustness.figures.plot_phase`; red: mono ahead)."""
    from sims.robustness import figures as RF

    d, b = F.table_frame(diffs, "differences.csv"), F.table_frame(bnd, "boundaries.csv")
    acc = d[d["record"] == "accuracy"]
    v = np.abs(acc["diff_mean"].to_numpy(float))
    vmax = max(float(np.nanmax(v)) if np.isfinite(v).any() else 0.0, 1e-3)
    panels = [(dict(x="n_train", y="level", scenario="label_noise", kind="symmetric", at="", m=m, sparsity=S),
               f"label noise, S = {S:g}") for S in Ss]
    panels.append((dict(x="sparsity", y="level", scenario="input_noise", kind="gaussian", at="test", m=m, n_train=nt),
                   f"input noise (test), n_train = {nt}"))

    def draw(fig: Any, rect: dict) -> None:
        axes = F.grid(fig, rect, 1, len(panels), wspace=0.5)
        for ax, (spec, title) in zip(axes.ravel(), panels):
            RF.plot_phase(acc, b, ax=ax, vmax=vmax, **spec)
            ax.set_title(title)
        F.legend_below(fig, rect, axes)
        ims = [ax.images[0] for ax in axes.ravel() if ax.images]
        if ims:
            cb = fig.colorbar(ims[0], ax=axes.ravel().tolist(), shrink=0.85, pad=0.02)
            cb.set_label("dense \u2212 superposed (red: mono ahead)", fontsize=6)
            cb.ax.tick_params(labelsize=5.5)

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
            "its 95% interval excludes 0. Circles: simulated crossing (sign change of the mean difference) with "
            "its bootstrap 95% interval (filled: beyond doubt; open: in at least 80% of resamples); black line "
            "with crosses: the crossing predicted by theory.robustness (R7). Sources: "
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
