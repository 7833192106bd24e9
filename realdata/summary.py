"""Aggregate replicate rows into the results table, paired differences and the theory check.

Input: the tidy long rows of :mod:`realdata.scenarios` with a ``replicate`` column (as written by the
sweep runner). Output tables (lists of dicts) and a Markdown report.

Statistics: mean over replicates ± the half-width of a 95% Student-t interval,
``t_{0.975, n-1} · sd / √n`` (NaN when n < 2). Differences between representations are *paired* by
replicate (same split, same corruption draws, same initial weights for CL / NCL), which is what makes a
3–5 seed study informative.

Robustness score of a scenario: the mean accuracy over its corrupted levels (label noise / input noise /
shift levels > 0; few-shot k > 0, i.e. every limited-data level). Clean accuracy is the ``label_noise``
row at η = 0 (the probe on all clean training labels). Paired differences are taken against the raw input
(``raw``: does a learned representation beat the data it came from?) and against CL (the paper's
comparison), whichever the run holds. A self-supervised representation whose clean accuracy is below the
raw input's gets a warning (:func:`baseline_warnings`): its robustness comparisons say little.

Theory check: the quantities the theory uses, measured on the clean TRAIN features of each
representation (averaged over replicates), each give a predicted robustness ordering —
Fisher ratio ``J`` (larger is better), minimum class-mean separation (larger is better), coherence of
class-mean directions (smaller is better) — and the paper's premise gives another: more monosemantic
(higher semantic consistency) is more robust. Each is compared with the observed ordering of the
robustness scores; ``resolved`` says whether every adjacent pair of the observed ordering differs
significantly (paired 95% CI excludes 0), i.e. whether the observed ordering is itself trustworthy.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from realdata.modalities import SHIFT_KINDS
from sims.engine.stats import t_stats

__all__ = [
    "mean_ci",
    "aggregate",
    "robustness_scores",
    "paired_differences",
    "theory_check",
    "markdown_report",
    "representations",
    "scenarios",
    "baseline_warnings",
    "BASELINES",
    "CORRUPTION_SCENARIOS",
]

#: every scenario whose rows are accuracies under a corruption, in report order
CORRUPTION_SCENARIOS = ("label_noise", "gaussian_noise", "uniform_noise", "few_shot", *SHIFT_KINDS, "ood")
#: representations the others are compared with, in this order
BASELINES = ("raw", "cl")
#: representations learned without labels
SELF_SUPERVISED_PREFIXES = ("cl", "ncl", "sae")
#: predictor -> (metric scenario, metric, True if larger predicts more robust)
PREDICTORS = {
    "fisher_J": ("geometry", "fisher_ratio", True),
    "separation": ("geometry", "separation_min", True),
    "coherence": ("geometry", "coherence", False),
    "monosemanticity": ("monosemanticity", "semantic_consistency", True),
}


def mean_ci(values: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """``{"n", "mean", "sd", "ci"}``: ``ci`` is the Student-t half-width (NaN if n < 2); None and NaN
    values are left out (``sims.engine.stats.t_stats``)."""
    v = np.asarray([x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))], float)
    n, mean, sd, ci = t_stats(v, level)
    return {"n": n, "mean": mean, "sd": sd, "ci": ci}


def _f(x: Any) -> float:
    return float(x) if x not in (None, "") else float("nan")


def _by_replicate(rows: Iterable[Mapping[str, Any]]) -> dict[tuple, dict[Any, float]]:
    """(representation, scenario, level, metric) -> {replicate: value}."""
    out: dict[tuple, dict[Any, float]] = defaultdict(dict)
    for r in rows:
        key = (r["representation"], r["scenario"], _f(r["level"]), r["metric"])
        out[key][r.get("replicate", 0)] = _f(r["value"])
    return out


def aggregate(rows: Iterable[Mapping[str, Any]]) -> list[dict]:
    """One row per (representation, scenario, level, metric): n, mean, sd, ci (95% half-width)."""
    table = []
    for (rep, sc, lvl, metric), vals in sorted(_by_replicate(rows).items(), key=lambda kv: (kv[0][1], kv[0][3], kv[0][2], kv[0][0])):
        table.append({"representation": rep, "scenario": sc, "level": lvl, "metric": metric, **mean_ci(list(vals.values()))})
    return table


def robustness_scores(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[Any, float]]:
    """(scenario, representation) -> {replicate: mean accuracy over the corrupted levels (level > 0)};
    ("clean", representation) -> {replicate: the label_noise accuracy at level 0}."""
    acc: dict[tuple[str, str], dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    clean: dict[tuple[str, str], dict[Any, float]] = {}
    for (rep, sc, lvl, metric), vals in _by_replicate(rows).items():
        if metric != "accuracy":
            continue
        if sc in CORRUPTION_SCENARIOS and lvl > 0:
            for rp, v in vals.items():
                acc[(sc, rep)][rp].append(v)
        elif sc == "label_noise" and lvl == 0:
            clean[("clean", rep)] = dict(vals)
    scores = {k: {rp: float(np.mean(v)) for rp, v in d.items()} for k, d in acc.items()}
    scores.update(clean)
    return scores


#: display order of representations: baselines first, then the learned ones (SAEs by k)
ORDER = ("raw", "pca", "ce", "nce", "cl", "ncl", "sae")


def _rank(rep: str) -> tuple:
    base, _, k = rep.partition("_k")
    return (ORDER.index(base) if base in ORDER else len(ORDER), int(k) if k.isdigit() else 0, rep)


def representations(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The representations of the rows: baselines (raw, pca, ce) first, then cl, ncl and the SAEs."""
    seen = {r["representation"] for r in rows if r["representation"] != "all"}
    return sorted(seen, key=_rank)


_representations = representations


def scenarios(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The corruption scenarios present in the rows, in :data:`CORRUPTION_SCENARIOS` order."""
    present = {r["scenario"] for r in rows}
    return [s for s in CORRUPTION_SCENARIOS if s in present]


def _clean_means(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Mean clean accuracy (label_noise at η = 0) per representation."""
    out = {}
    for (rep, sc, lvl, metric), vals in _by_replicate(rows).items():
        if sc == "label_noise" and lvl == 0 and metric == "accuracy" and vals:
            out[rep] = float(np.mean(list(vals.values())))
    return out


def baseline_warnings(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One sentence per self-supervised representation whose mean clean probe accuracy is below the raw
    input's (empty without a ``raw`` representation)."""
    clean = _clean_means(rows)
    if "raw" not in clean:
        return []
    out = []
    for rep, acc in clean.items():
        if rep.split("_")[0] in SELF_SUPERVISED_PREFIXES and acc < clean["raw"]:
            out.append(f"{rep.upper()}'s clean probe accuracy {acc:.3f} is below the raw input's {clean['raw']:.3f}: "
                       f"its features lose information the probe could use, so its robustness comparisons say little "
                       "about learned features")
    return out


def paired_differences(rows: Sequence[Mapping[str, Any]], baseline: str | None = None) -> list[dict]:
    """For every accuracy level and every robustness score: ``rep − baseline`` paired by replicate, for the
    given ``baseline`` or (None) every one of :data:`BASELINES` the rows hold."""
    if baseline is None:
        present = set(representations(rows))
        return [d for b in BASELINES if b in present for d in paired_differences(rows, b)]
    reps = [r for r in _representations(rows) if r != baseline]
    out = []
    byrep = _by_replicate(rows)
    for (rep, sc, lvl, metric), vals in sorted(byrep.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        if metric != "accuracy" or rep == baseline or rep not in reps:
            continue
        base = byrep.get((baseline, sc, lvl, metric), {})
        d = [vals[k] - base[k] for k in vals if k in base]
        out.append({"scenario": sc, "level": lvl, "representation": rep, "baseline": baseline,
                    "quantity": "accuracy", **_diff_stats(d)})
    scores = robustness_scores(rows)
    for (sc, rep), vals in sorted(scores.items()):
        if rep == baseline or rep not in reps:
            continue
        base = scores.get((sc, baseline), {})
        d = [vals[k] - base[k] for k in vals if k in base]
        out.append({"scenario": sc, "level": float("nan"), "representation": rep, "baseline": baseline,
                    "quantity": "robustness" if sc != "clean" else "clean_accuracy", **_diff_stats(d)})
    return out


def _diff_stats(d: Sequence[float]) -> dict:
    s = mean_ci(d)
    lo, hi = s["mean"] - s["ci"], s["mean"] + s["ci"]
    if not math.isfinite(s["ci"]):
        verdict = "undetermined"
    elif lo > 0:
        verdict = "better"
    elif hi < 0:
        verdict = "worse"
    else:
        verdict = "no significant difference"
    return {**s, "lo": lo, "hi": hi, "verdict": verdict}


def _order(means: Mapping[str, float], larger_first: bool) -> list[str]:
    return sorted(means, key=lambda r: (-means[r] if larger_first else means[r], r))


def theory_check(rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Per scenario: observed robustness ordering vs the ordering each predictor implies."""
    reps = _representations(rows)
    byrep = _by_replicate(rows)
    pred_means = {}
    for pname, (sc, metric, larger) in PREDICTORS.items():
        means = {r: float(np.mean(list(byrep[(r, sc, 0.0, metric)].values()))) for r in reps if (r, sc, 0.0, metric) in byrep}
        if len(means) == len(reps):
            pred_means[pname] = (_order(means, larger), means)
    scores = robustness_scores(rows)
    out = []
    for sc in ("clean", *CORRUPTION_SCENARIOS):
        if not all((sc, r) in scores for r in reps):
            continue
        obs_means = {r: float(np.mean(list(scores[(sc, r)].values()))) for r in reps}
        observed = _order(obs_means, True)
        resolved = True
        for a, b in zip(observed, observed[1:]):
            d = [scores[(sc, a)][k] - scores[(sc, b)][k] for k in scores[(sc, a)] if k in scores[(sc, b)]]
            st = _diff_stats(d)
            resolved &= st["verdict"] == "better"
        row = {"scenario": sc, "observed": " > ".join(observed), "resolved": bool(resolved),
               **{f"score_{r}": obs_means[r] for r in reps}}
        for pname, (order, _) in pred_means.items():
            row[f"pred_{pname}"] = " > ".join(order)
            row[f"match_{pname}"] = order == observed
            row[f"top_{pname}"] = order[0] == observed[0]
        out.append(row)
    return out


# --------------------------------------------------------------------------- report
def _pm(s: Mapping[str, float], digits: int = 3) -> str:
    if not math.isfinite(s["mean"]):
        return "–"
    if not math.isfinite(s["ci"]):
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} ± {s['ci']:.{digits}f}"


def markdown_report(rows: Sequence[Mapping[str, Any]], caption: str = "") -> str:
    """The results table (accuracy per scenario level, CL vs NCL vs SAE with 95% CIs), monosemanticity
    and geometry per representation, paired differences vs CL, and the theory check, as Markdown."""
    reps = _representations(rows)
    agg = {(a["representation"], a["scenario"], a["level"], a["metric"]): a for a in aggregate(rows)}
    n_rep = max((a["n"] for a in agg.values()), default=0)
    lines = [f"# Real-data robustness: {' vs '.join(r.upper() for r in reps)}", ""]
    warns = baseline_warnings(rows)
    if caption:
        lines += [caption, ""]
    lines += [f"Mean ± 95% CI (Student t) over {n_rep} replicates (seeds); each replicate re-splits the data "
              "and retrains every encoder. RAW is the input itself (the baseline every learned representation "
              "must beat), CE the same encoder trained with labels.", ""]
    if warns:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warns] + [""]
    # monosemanticity + geometry
    lines += ["## Monosemanticity (test features) and class geometry (train features)", ""]
    mono_keys = [("monosemanticity", "semantic_consistency", "consistency"),
                 ("monosemanticity", "semantic_consistency_both", "consistency (±)"),
                 ("monosemanticity", "sparsity", "sparsity"), ("monosemanticity", "dead_dims", "dead dims"),
                 ("monosemanticity", "dim", "dim"),
                 ("geometry", "fisher_ratio", "Fisher J"), ("geometry", "separation_min", "min separation"),
                 ("geometry", "coherence", "coherence")]
    lines += ["| representation | " + " | ".join(k[2] for k in mono_keys) + " |",
              "|---" * (len(mono_keys) + 1) + "|"]
    for r in reps:
        cells = [_pm(agg[(r, sc, 0.0, m)], 1 if m in ("dead_dims", "dim") else 3) if (r, sc, 0.0, m) in agg else "–"
                 for sc, m, _ in mono_keys]
        lines.append(f"| {r.upper()} | " + " | ".join(cells) + " |")
    chance = [a["mean"] for k, a in agg.items() if k[3] == "consistency_chance"]
    if chance:
        lines += ["", f"Consistency chance level (largest class share among the top activations): ≈ {np.mean(chance):.3f}."]
    # accuracy table
    lines += ["", "## Accuracy per scenario (linear probe on frozen features)", ""]
    lines += ["| scenario | level | " + " | ".join(r.upper() for r in reps) + " | best |", "|---" * (len(reps) + 3) + "|"]
    for sc in scenarios(rows):
        levels = sorted({k[2] for k in agg if k[1] == sc and k[3] == "accuracy"}, key=lambda v: (sc == "few_shot" and v == 0, v))
        for lvl in levels:
            cells = [agg.get((r, sc, lvl, "accuracy")) for r in reps]
            best = max(range(len(reps)), key=lambda i: cells[i]["mean"] if cells[i] else -1)
            lv = "all" if (sc == "few_shot" and lvl == 0) else f"{lvl:g}"
            lines.append(f"| {sc} | {lv} | " + " | ".join(_pm(c) if c else "–" for c in cells) + f" | {reps[best].upper()} |")
    # paired differences on robustness scores
    diffs = [d for d in paired_differences(rows) if d["quantity"] in ("robustness", "clean_accuracy")]
    for base in BASELINES:
        sel = [d for d in diffs if d["baseline"] == base]
        if not sel:
            continue
        lines += ["", f"## Paired differences vs {base.upper()} (robustness = mean accuracy over corrupted levels)", ""]
        lines += ["| scenario | representation | difference | 95% CI | verdict |", "|---|---|---|---|---|"]
        for d in sel:
            ci = f"[{d['lo']:+.3f}, {d['hi']:+.3f}]" if math.isfinite(d["ci"]) else "–"
            lines.append(f"| {d['scenario']} | {d['representation'].upper()} − {base.upper()} | {d['mean']:+.3f} | {ci} "
                         f"| {d['verdict']} |")
    # theory check
    checks = theory_check(rows)
    if checks:
        preds = [k[len("pred_"):] for k in checks[0] if k.startswith("pred_")]
        lines += ["", "## Theory check: predicted vs observed robustness ordering", ""]
        lines += ["Predictions from clean train features: " + "; ".join(
            f"{p}: {checks[0]['pred_' + p]}" for p in preds) + ".", ""]
        lines += ["| scenario | observed | resolved | " + " | ".join(f"{p} matches" for p in preds) + " |",
                  "|---" * (len(preds) + 3) + "|"]
        for c in checks:
            marks = ["yes" if c[f"match_{p}"] else ("top only" if c[f"top_{p}"] else "no") for p in preds]
            lines.append(f"| {c['scenario']} | {c['observed']} | {'yes' if c['resolved'] else 'no'} | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"
