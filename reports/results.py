"""Sections built from the sweeps' results: main sweep, real data (and, when present, the toy-model
robustness sweep). Each returns a :class:`Part`: its blocks, the derived tables it wrote (written to
``<out>/tables/*.csv`` and shown exactly as written), its figures by key, and evidence lines per claim.

Number format everywhere: :func:`num` (4 significant digits; ``nan`` for not-a-number, ``-`` for an
empty field), so a table cell reads back to its CSV value within rounding (the tests check this).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from reports import figures as F
from reports.layout import FigureBlock, Heading, Paragraph, Table

__all__ = ["Part", "num", "pm", "typed", "rel_path", "margin_part", "realdata_part", "missing_part", "DerivedTable"]


def num(v: Any) -> str:
    """A table cell: 4 significant digits, ``nan``, or ``-`` for an empty / missing value."""
    if v is None or v == "":
        return "-"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "nan"
    return f"{f:.4g}"


def pm(mean: Any, ci: Any) -> str:
    """``mean ± ci`` (just the mean when the interval is undefined)."""
    c = num(ci)
    return num(mean) if c in ("nan", "-") else f"{num(mean)} ± {c}"


def typed(rows: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """CSV rows with numbers parsed (int, then float), empty fields as None, other text kept."""
    out = []
    for r in rows:
        d: dict[str, Any] = {}
        for k, v in r.items():
            if v == "":
                d[k] = None
                continue
            try:
                d[k] = int(v)
            except ValueError:
                try:
                    d[k] = float(v)
                except ValueError:
                    d[k] = v
        out.append(d)
    return out


@dataclass
class DerivedTable:
    """A table computed here from a run's results.csv and written to ``<out>/tables/<name>.csv``."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    origin: Path  # the results.csv it was computed from


@dataclass
class Part:
    blocks: list[Any]
    figures: dict[str, FigureBlock] = field(default_factory=dict)
    derived: list[DerivedTable] = field(default_factory=list)
    evidence: Callable[[str], list[str]] = lambda cid: []


def rel_path(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def missing_part(title: str, why: str) -> Part:
    """A section whose source is not available: it says so, with the reason (never left out)."""
    return Part([Heading(title), Paragraph(f"Not available in this build: {why}", weight="bold")])


# ------------------------------------------------------------------------------------------ main sweep
def margin_part(run: Any, tables_dir: Path, title: str) -> Part:
    from sims.margins.report import check_summary, crossovers

    cfg = run.config
    rows = typed(run.rows)
    res = run.path / "results.csv"
    cross = crossovers(rows, cfg)
    checks = check_summary(rows)
    phase = F.phase_table(rows, cfg)
    derived = [
        DerivedTable("margin_crossovers", ["sparsity", "code", "ratio", "empirical", "theory", "lam_max"],
                     [{k: c[k] for k in ("sparsity", "code", "ratio", "empirical", "theory", "lam_max")} for c in cross], res),
        DerivedTable("margin_checks", ["check", "kind", "stat", "rows", "holds_min", "tight_median", "tight_max",
                                       "informative"], [{k: s[k] for k in ("check", "kind", "stat", "rows", "holds_min",
                                                         "tight_median", "tight_max", "informative")} for s in checks], res),
        DerivedTable("margin_phase", ["code", "sparsity", "ratio", "level", "diff", "ci", "n", "lam_star"], phase, res),
    ]
    src = {d.name: f"{rel_path(tables_dir / (d.name + '.csv'))} (computed from {rel_path(res)})" for d in derived}
    figs = {
        "margin_accuracy": FigureBlock(
            "main_accuracy", "Main sweep: matched-filter accuracy under input noise",
            f"Mean and 95% CI over {cfg.reps} replicates of {cfg.n_test} test samples per cell; dashed: theory "
            "(exact (M7) for orthonormal codes, mean-field (M10) for superposed ones). Each code at its largest "
            f"valid superposition ratio. Run: {cfg.caption()}", F.margin_accuracy_figure(rows, cfg), height=2.6),
        "separation": FigureBlock(
            "main_separation", "Main sweep: margins and Fisher separation vs superposition",
            "Top: median signed margin of covered samples (mean and 95% CI over replicates), dotted triangles: "
            "median of the per-sample lower bound (M3) where it is positive. Bottom: pooled Fisher separation "
            "(bias-corrected, mean and 95% CI), dashed: its exact value (M9) for the code.",
            F.separation_figure(rows, cfg), height=4.4),
        "phase": FigureBlock(
            "main_phase", "Phase diagram of the main sweep: where mono beats the superposed code",
            "Colour: mean accuracy difference mono - superposed code (matched filter; paired by replicate on "
            "the same data); red: mono is more accurate, blue: the superposed code is. Dots: the 95% CI of the "
            "difference excludes 0. Dashed squares: the mean-field balance noise \u03bb* (M11), the theory "
            "boundary (squares at \u03bb = 0: the model has mono ahead already without noise; missing where "
            "\u03bb* lies beyond the grid or does not exist). The \u03bb axis is the run's grid, evenly spaced.",
            F.phase_figure(phase, cfg), height=1.9 * max(1, len({p['code'] for p in phase})) + 0.6),
    }
    blocks: list[Any] = [
        Heading(title),
        Paragraph(f"Run folder {rel_path(run.path)} ({run.variant} config, {run.origin}); "
                  f"{len(run.rows)} rows. {cfg.caption()}", size=7.5),
        figs["margin_accuracy"], figs["separation"], figs["phase"],
        Table("Where mono overtakes each superposed code (matched filter): simulated crossing vs mean-field lam* (M11)",
              ["sparsity", "code", "ratio", "simulated", "lam* (M11)", "grid max"],
              [[num(c["sparsity"]), c["code"], num(c["ratio"]), num(c["empirical"]), num(c["theory"]),
                num(c["lam_max"])] for c in cross], source=src["margin_crossovers"], align="rlrrrr",
              note="simulated: first sign change of the mean accuracy difference (linear interpolation; nan: no "
                   "crossing on the grid); lam* = 0: mono is ahead already without noise."),
        Table("Checks of the margin theory against the simulation",
              ["check", "kind", "stat", "rows", "holds (min)", "tightness (median)", "tightness (max)", "informative"],
              [[s["check"], s["kind"], s["stat"], num(s["rows"]), num(s["holds_min"]), num(s["tight_median"]),
                num(s["tight_max"]), num(s["informative"])] for s in checks], source=src["margin_checks"],
              align="lllrrrrr",
              note="holds: share of covered samples where a margin bound holds, or a 0/1 one-sided 4-SE test "
                   "(error bounds, identities); tightness: empirical/bound (bound/empirical for upper bounds; "
                   "1 = tight); informative: share of samples where the bound is not vacuous."),
    ]
    by_check = {s["check"]: s for s in checks}

    def evidence(cid: str) -> list[str]:
        out = []
        for name in MARGIN_CHECKS.get(cid, ()):
            s = by_check.get(name)
            if s is not None:
                out.append(f"main sweep check '{name}' ({s['kind']}, {s['rows']} rows): holds (min) "
                           f"{num(s['holds_min'])}, median tightness {num(s['tight_median'])}")
        if cid == "margins.balance_noise":
            both = [c for c in cross if math.isfinite(c["empirical"]) and math.isfinite(c["theory"])]
            if both:
                gaps = sorted(abs(c["empirical"] - c["theory"]) for c in both)
                out.append(f"main sweep: {len(both)} of {len(cross)} superposed cells cross on the grid with a "
                           f"finite lam*; median |simulated - lam*| = {num(gaps[len(gaps) // 2])} (largest "
                           f"{num(gaps[-1])})")
        return out

    return Part(blocks, figs, derived, evidence)


#: main-sweep checks (check column of results.csv) that bear on a claim of the registry
MARGIN_CHECKS = {
    "margins.welch": ("welch",),
    "margins.matched_filter_bound": ("margin_sample", "margin_worst"),
    "margins.readout_noise": ("readout_var", "frame_gain"),
    "margins.error_bounds": ("err_union", "err_pair"),
    "margins.fisher_random": ("fisher_exact",),
    "margins.drop_loss": ("acc_theory",),
}


# ------------------------------------------------------------------------------------------ real data
#: real-data scenarios (robustness scores of differences.csv) that bear on a claim
REALDATA_SCENARIOS = {
    "paper.clean_poly_better": ("clean",),
    "paper.label_noise_mono_better": ("label_noise",),
    "paper.input_noise_reverses": ("gaussian_noise", "uniform_noise"),
}
MONO_COLUMNS = (("monosemanticity", "semantic_consistency", "consistency"), ("monosemanticity", "sparsity", "sparsity"),
                ("monosemanticity", "dead_dims", "dead dims"), ("geometry", "fisher_ratio", "Fisher J"),
                ("geometry", "separation_min", "min separation"), ("geometry", "coherence", "coherence"))


def realdata_part(run: Any, title: str) -> Part:
    from realdata.summary import CORRUPTION_SCENARIOS

    cfg = run.config
    summary, diffs, checks = (run.tables[n] for n in ("summary.csv", "differences.csv", "theory_check.csv"))
    reps = F.representations(summary)
    p_sum, p_diff, p_chk = (rel_path(run.path / n) for n in ("summary.csv", "differences.csv", "theory_check.csv"))
    look = {(a["representation"], a["scenario"], a["level"], a["metric"]): a for a in summary}
    scen = [s for s in CORRUPTION_SCENARIOS if any(a["scenario"] == s and a["metric"] == "accuracy" for a in summary)]
    n_rep = len(cfg.replicate)
    figs = {
        "realdata_curves": FigureBlock(
            "realdata_curves", f"Real data ({cfg.data}): probe accuracy under each corruption, "
                               f"{' vs '.join(r.upper() for r in reps)}",
            f"Linear (ridge) probe on frozen features; mean and 95% CI band (Student t) over {n_rep} replicates, "
            "each a new split and newly trained encoders, clipped to the accuracy range [0, 1] (the tables give "
            "the intervals in full). Few-shot: k training samples per class, the rightmost point uses all. "
            "Source: summary.csv of the run.",
            F.realdata_curves_figure(summary, scen), height=2.1 * max(1, math.ceil(len(scen) / 4)) + 0.3),
        "realdata_mono": FigureBlock(
            "realdata_monosemanticity", "Real data: monosemanticity and class geometry per representation",
            f"Mean and 95% CI over {n_rep} replicates (summary.csv, clean features).",
            F.realdata_mono_figure(summary), height=2.0),
    }
    acc_rows = []
    for a in summary:
        if a["metric"] != "accuracy" or a["representation"] != reps[0]:
            continue
        cells = [look.get((r, a["scenario"], a["level"], "accuracy")) for r in reps]
        acc_rows.append([a["scenario"], num(a["level"]), *[pm(c["mean"], c["ci"]) if c else "-" for c in cells]])
    mono_rows = []
    for r in reps:
        cells = [look.get((r, sc, "0.0", m)) for sc, m, _ in MONO_COLUMNS]
        mono_rows.append([r.upper(), *[pm(c["mean"], c["ci"]) if c else "-" for c in cells]])
    dsel = [d for d in diffs if d["quantity"] in ("robustness", "clean_accuracy")]
    preds = [k[len("pred_"):] for k in (checks[0] if checks else {}) if k.startswith("pred_")]

    def mark(c: Mapping[str, str], p: str) -> str:
        return "yes" if c[f"match_{p}"] == "True" else ("top only" if c[f"top_{p}"] == "True" else "no")

    blocks: list[Any] = [
        Heading(title),
        Paragraph(f"Run folder {rel_path(run.path)} ({run.variant} config, {run.origin}). {cfg.caption()}", size=7.5),
        figs["realdata_curves"], figs["realdata_mono"],
        Table(f"Monosemanticity (test features) and class geometry (train features), mean ± 95% CI over {n_rep} replicates",
              ["representation", *[c[2] for c in MONO_COLUMNS]], mono_rows, source=p_sum),
        Table("Probe accuracy per scenario and level, mean ± 95% CI", ["scenario", "level", *[r.upper() for r in reps]],
              acc_rows, source=p_sum, align="lr" + "r" * len(reps),
              note="few_shot: level = training samples per class, 0 = all of them; other scenarios: corruption "
                   "strength, 0 = clean."),
        Table("Paired differences against the raw input and against CL (robustness = mean accuracy over the corrupted levels)",
              ["scenario", "quantity", "comparison", "difference", "95% CI", "verdict"],
              [[d["scenario"], d["quantity"], f"{d['representation'].upper()} - {d['baseline'].upper()}", num(d["mean"]),
                f"[{num(d['lo'])}, {num(d['hi'])}]", d["verdict"]] for d in dsel], source=p_diff, align="lllrrl",
              note="Paired by replicate (same split, same corruption draws). 'undetermined': fewer than two replicates."),
        Table("Theory check: robustness ordering predicted from clean features vs observed",
              ["scenario", "observed", "resolved", *preds],
              [[c["scenario"], c["observed"], "yes" if c["resolved"] == "True" else "no", *[mark(c, p) for p in preds]]
               for c in checks], source=p_chk, align="lll" + "l" * len(preds),
              note="resolved: every adjacent pair of the observed ordering differs significantly (paired 95% CI). "
                   "A predictor matches when its ordering equals the observed one ('top only': same best representation)."),
    ]
    by_sc: dict[str, list[Mapping[str, str]]] = {}
    for d in dsel:
        by_sc.setdefault(d["scenario"], []).append(d)

    def evidence(cid: str) -> list[str]:
        out = []
        for sc in REALDATA_SCENARIOS.get(cid, ()):
            parts = [f"{d['representation'].upper()} - {d['baseline'].upper()} = {num(d['mean'])} "
                     f"[{num(d['lo'])}, {num(d['hi'])}] ({d['verdict']})" for d in by_sc.get(sc, [])]
            if parts:
                what = "clean accuracy" if sc == "clean" else f"robustness under {sc}"
                out.append(f"real data ({n_rep} replicates), {what}: " + "; ".join(parts))
        return out

    return Part(blocks, figs, [], evidence)
