"""Sections that come from the registry, the manifests and the benchmark files: provenance, the claims
table, key formulas, benchmarks, limitations. Section titles are fixed strings (:data:`TITLES`)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from reports.checks import CheckRecord, ClaimRow
from reports.formulas import formula
from reports.layout import FigureBlock, FormulaBlock, Heading, Paragraph, Table
from reports.results import num, rel_path

__all__ = ["TITLES", "front_matter", "provenance", "claims_section", "formulas_section", "benchmarks_section",
           "limitations_section", "BENCHMARKS", "read_benchmark"]

#: the report's sections after page 1, in order (the tests look for these exact strings)
TITLES = {
    "two_feature": "Two-feature model (paper §4.3): exact theory",
    "margin": "Main sweep: margins and separation",
    "robustness": "Toy models: Fig. 5 curves, few-shot, OOD and phase diagram",
    "realdata": "Real data: raw and supervised baselines, CL, NCL and SAE with CIs",
    "benchmarks": "Benchmarks",
    "limitations": "Limitations",
    "claims": "Appendix A: every claim, its verdict and its numeric check",
    "formulas": "Appendix B: key formulas",
    "provenance": "Appendix C: provenance and package versions",
}
VERDICT_ORDER = ("fails", "holds only when", "holds")
_ROOT = Path(__file__).resolve().parent.parent


def front_matter(claims: Sequence[ClaimRow], checks: CheckRecord | None) -> list[Any]:
    """Page 2: how the report is organised and what it rests on (page 1 is :mod:`reports.page1`)."""
    counts = {v: sum(c.verdict_class == v for c in claims) for v in VERDICT_ORDER}
    if checks is None:
        ran = " The claims' numeric checks were not run for this report (--skip-checks)."
    else:
        which = "every claim" if len(checks.results) == len(claims) else (
            f"{len(checks.results)} of the {len(claims)} claims (--only-checks)")
        ran = (f" The numeric checks of {which} were rerun for this report (seed {checks.seed}): "
               f"{sum(r['passed'] for r in checks.results.values())} of {len(checks.results)} reproduce their "
               "verdict.")
    return [
        Paragraph(f"Page 1 answers the paper's claims. The sections below give the evidence: the exact two-feature "
                  f"theory, the main sweep, the toy models, real data, benchmarks and the limitations. Appendix A "
                  f"lists every claim of the registry (python -m theory): {len(claims)} claims, "
                  + ", ".join(f"{counts[v]} {v}" for v in VERDICT_ORDER) + " - the paper's own and the toolkit's "
                  "internal ones - with its reason and numeric check." + ran, size=8),
        Paragraph("Every number in this report is read from a results file named in its table or caption, computed "
                  "from the closed forms, or taken from the claims registry; nothing is typed in by hand. Generated "
                  "by python -m reports.build.", size=7.5),
    ]


# ------------------------------------------------------------------------------------------ provenance
def _git(g: Any) -> str:
    if not isinstance(g, Mapping) or not g.get("commit"):
        return "unknown"
    return str(g["commit"])[:12] + (" (dirty)" if g.get("dirty") else "")


def provenance(runs: Mapping[str, Any], checks: CheckRecord | None, build_git: Any, versions: Mapping[str, Any],
               notes: Sequence[str]) -> list[Any]:
    rows = []
    for name, run in runs.items():
        m = run.manifest
        rows.append([name, rel_path(run.path), run.variant, str(m.get("seed")), str(len(run.rows)),
                     num(m.get("wall_time_s")), str(m.get("finished_utc", "-")), _git(m.get("git"))])
    if checks is not None:
        rows.append(["theory", rel_path(checks.path), "checks", str(checks.seed), str(len(checks.results)),
                     num(checks.wall_time_s), checks.finished_utc, _git(build_git)])
    blocks: list[Any] = [
        Heading(TITLES["provenance"]),
        Paragraph(f"Report built from git revision {_git(build_git)} of this toolkit. Inputs (one run folder per "
                  "source; wall time as recorded in its manifest.json):", size=8),
        Table("Inputs of this report", ["source", "folder", "config", "seed", "rows", "wall s", "finished (UTC)",
                                        "git"], rows, source="manifest.json of each folder (theory: the checks cache; "
                                                             "rows = claims checked)", wrap=(1,), align="llllrrll"),
    ]
    vers_names = list(versions)
    vrows = []
    for pkg in vers_names:
        cells = [str(versions.get(pkg) or "-")]
        cells += [str((run.manifest.get("versions") or {}).get(pkg) or "-") for run in runs.values()]
        vrows.append([pkg, *cells])
    blocks.append(Table("Package versions (this build, and as recorded by each run)",
                        ["package", "this build", *runs], vrows, source="sims.sweep.io.package_versions; manifest.json",
                        align="l" * (2 + len(runs))))
    for name, run in runs.items():
        blocks.append(Paragraph(f"{name} ({run.source.command}): {run.manifest.get('caption', '')} (folder found as: "
                                f"{run.origin}"
                                + (f"; {run.ignored} older complete run(s) of the same CLI not used" if run.ignored else "")
                                + ")", size=6.5))
    if checks is None:
        blocks.append(Paragraph("The claims' numeric checks were NOT run for this build (--skip-checks).", weight="bold"))
    for n in notes:
        blocks.append(Paragraph(n, size=7, weight="bold"))
    return blocks


# ------------------------------------------------------------------------------------------ claims
#: figures (keys of the parts' figure dicts) that show evidence for a claim, by id or id prefix
CLAIM_FIGURES = {
    "paper.clean_poly_better": ("two_feature", "realdata_curves"),
    "paper.label_noise_mono_better": ("two_feature", "label_noise_models", "realdata_curves"),
    "tf.J.transition_order": ("label_noise_models",),
    "tf.J.margin_poly_wins": ("label_noise_models",),
    "tf.transition.": ("label_noise_models",),
    "tf.margin.": ("label_noise_models",),
    "tf.probe.transition_reversal": ("label_noise_models",),
    "tf.probe.margin_inversion": ("label_noise_models",),
    "paper.input_noise_reverses": ("two_feature", "margin_accuracy", "phase", "realdata_curves"),
    "margins.balance_noise": ("phase", "margin_accuracy"),
    "margins.matched_filter_bound": ("separation",),
    "margins.fisher_random": ("separation",),
    "margins.drop_loss": ("margin_accuracy",),
    "tf.J.": ("two_feature",),
    "tf.separation": ("two_feature",),
    "tf.w_symmetry": ("two_feature",),
}


def claim_figures(cid: str, extra: Mapping[str, Sequence[str]] = {}) -> tuple[str, ...]:
    keys: list[str] = []
    for table in (CLAIM_FIGURES, extra):
        for k, v in table.items():
            if cid == k or (k.endswith(".") and cid.startswith(k)):
                keys += [x for x in v if x not in keys]
    return tuple(keys)


def _order(claims: Sequence[ClaimRow]) -> list[ClaimRow]:
    """The paper's own claims first, then the rest in registry order."""
    return [c for c in claims if c.id.startswith("paper.")] + [c for c in claims if not c.id.startswith("paper.")]


def claims_section(claims: Sequence[ClaimRow], checks: CheckRecord | None, fig_numbers: Mapping[str, tuple[int, str]],
                   evidence: Callable[[str], list[str]], extra_figures: Mapping[str, Sequence[str]] = {}) -> list[Any]:
    def check_cell(cid: str) -> str:
        if checks is None:
            return "not run"
        r = checks.results.get(cid)
        return "not run" if r is None else ("reproduces" if r["passed"] else "does not reproduce")

    def figs(cid: str) -> list[str]:
        return [f"Fig. {fig_numbers[k][0]}" for k in claim_figures(cid, extra_figures) if k in fig_numbers]

    ordered = _order(claims)
    blocks: list[Any] = [
        Heading(TITLES["claims"]),
        Paragraph("Each claim of the registry (theory/claims.py and the modules it loads): the statement as the paper "
                  "makes it (or as the toolkit sharpens it), the verdict - holds / holds only when ... / fails - "
                  "exactly as the registry states it, and the evidence: the registry's reason, the claim's numeric "
                  "check run for this report (Monte Carlo or exact integration; standard errors and z-scores in its "
                  "text), the figures of this report that show it and the simulation / real-data numbers with 95% "
                  "confidence intervals.", size=7.5),
        Table("Verdicts at a glance", ["claim id", "paper", "verdict", "numeric check", "figures"],
              [[c.id, c.paper_ref or "-", c.verdict_class, check_cell(c.id), ", ".join(figs(c.id)) or "-"]
               for c in ordered], source="theory.claims registry; checks: " + (
                  rel_path(checks.path) if checks is not None else "not run"), wrap=(1,), align="lllll"),
    ]
    for c in ordered:
        blocks.append(Heading(f"[{c.id}]" + (f"  {c.paper_ref}" if c.paper_ref else ""), level=2))
        blocks.append(Paragraph(f"Claim: {c.statement}", size=7.5))
        blocks.append(Paragraph(f"Verdict: {c.verdict}", size=7.5, weight="bold"))
        if c.reason:
            blocks.append(Paragraph(f"Why: {c.reason}", size=7))
        if checks is None or c.id not in checks.results:
            blocks.append(Paragraph("Check: not run for this report (" + (
                "--skip-checks" if checks is None else "not among --only-checks") + ").", size=6.5, color="0.15"))
        else:
            r = checks.results[c.id]
            said = "the numeric check reproduces the verdict" if r["passed"] else \
                "the numeric check does NOT reproduce the verdict"
            blocks.append(Paragraph(f"Check: {said} (seed {checks.seed}, {num(r['seconds'])} s): {r['evidence']}",
                                    size=6.5, color="0.15"))
        ev = [e for e in (", ".join(figs(c.id)), *evidence(c.id)) if e]
        if ev:
            blocks.append(Paragraph("Evidence in this report: " + "; ".join(ev) + ".", size=6.5, color="0.15"))
        if c.assumptions:
            blocks.append(Paragraph("Assumptions: " + " | ".join(c.assumptions), size=6, color="0.35"))
    return blocks


# ------------------------------------------------------------------------------------------ formulas
def formulas_section(claims: Sequence[ClaimRow]) -> list[Any]:
    blocks: list[Any] = [
        Heading(TITLES["formulas"]),
        Paragraph("The expressions each claim rests on, typeset from the sympy strings of the registry (derived and "
                  "cached by python -m theory.derive; equation labels (E..) and (M..) from theory/_cache). Symbols: "
                  "S sparsity, eta label-noise rate, lambda input-noise scale, w weight of the second feature in the "
                  "polysemantic code, D class-mean gap, s_1, s_2 class variances, sigma_eps^2 added noise variance, "
                  "mu coherence, r represented features, m dimensions. Forms too long to typeset, or given in words, "
                  "are printed as stored.", size=7.5),
    ]
    shown: dict[tuple[str, str], str] = {}
    for c in claims:
        if not c.expressions:
            continue
        blocks.append(Paragraph(f"[{c.id}]", size=7.5, weight="bold"))
        for name, src in c.expressions:
            if (name, src) in shown:
                blocks.append(Paragraph(f"{name}: as under [{shown[(name, src)]}]", size=6.5, color="0.35", indent=0.3))
                continue
            shown[(name, src)] = c.id
            f = formula(name, src)
            blocks.append(FormulaBlock(name, f.label, f.text, f.is_math))
    return blocks


# ------------------------------------------------------------------------------------------ benchmarks
#: benchmark files (benchmarks/results/<name>.json): short name, title, the command that makes them
BENCHMARKS = {
    "p1_probes": ("P1 probes", "P1: batched softmax probes (sims.engine.sgd) vs scikit-learn",
                  "python benchmarks/p1_probes.py --json benchmarks/results/p1_probes.json"),
    "p2_toy_model": ("P2 toy model", "P2: toy-model trainer (sims.engine.toy_model) vs PyTorch",
                     "python benchmarks/p2_toy_model.py --json benchmarks/results/p2_toy_model.json"),
    "main_job_walltime": ("main job", "Main job wall time (python -m sims.margin_sweep)",
                          "python benchmarks/main_job_walltime.py --json benchmarks/results/main_job_walltime.json"),
    "scale": ("scale n=1024", "Scale: the main job at n = 1024, m = 256 (default grid) and cost curves for n = 64 .. 4096",
              "python benchmarks/scale.py --json benchmarks/results/scale.json"),
}
#: stages of the cost curves (benchmarks/scale.py, details.curve.stages): label in the figure
_SCALE_STAGES = {"frame": "frame code (make_code)", "main_job_quick": "main job --quick (process wall)",
                 "cells": "main job --quick: cells", "cells_without_frame": "cells without the frame code",
                 "random": "random code (make_code)"}
_BENCH_KEYS = ("benchmark", "workload", "ours_s", "peer", "peer_s", "date_utc", "machine")


def read_benchmark(path: Path) -> dict[str, Any] | None:
    """A benchmark result, ``None`` when the file does not exist; ValueError naming the file if damaged."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read as JSON ({exc})") from None
    missing = [k for k in _BENCH_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise ValueError(f"{path}: has no field {missing[0]!r} (written by another version of the benchmark script?)")
    for k in ("ours_s", "peer_s"):
        v = data[k]
        if not (v is None and k == "peer_s") and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValueError(f"{path}: {k} == {v!r}, must be a number of seconds")
    return data


def _machine(m: Any) -> str:
    if not isinstance(m, Mapping):
        return str(m)
    parts = [str(m.get("cpu_model") or m.get("machine") or "?"), f"{m.get('cpu_count', '?')} cores"]
    if m.get("load_avg_1m") is not None:
        parts.append(f"load {num(m['load_avg_1m'])}")
    return ", ".join(parts)


def benchmarks_section(folder: Path) -> list[Any]:
    rows, notes = [], []
    for name, (short, title, cmd) in BENCHMARKS.items():
        path = folder / f"{name}.json"
        b = read_benchmark(path)
        if b is None:
            rows.append([short, "not measured", "-", "-", "-", "-", "-"])
            notes.append(f"{title}: not measured ({rel_path(path)} does not exist; run {cmd}).")
            continue
        ours, peer = b["ours_s"], b["peer_s"]
        ratio = f"{num(peer / ours)}x" if peer is not None and ours > 0 else "-"
        rows.append([short, num(ours), str(b["peer"] or "-"), num(peer), ratio, _machine(b["machine"]),
                     str(b["date_utc"])[:10]])
        notes.append(f"{title}: {b['workload']}." + (f" {b['note']}." if b.get("note") else "")
                     + (f" Command: {b['command']}." if b.get("command") else ""))
    return [
        Heading(TITLES["benchmarks"]),
        Paragraph("Timings measured by hand with the scripts in benchmarks/ (never as timed tests) and stored with the "
                  "machine and date they were taken on. Seconds are medians over the repeats of each script; "
                  "speed-up = peer / ours. Timings on a shared machine are noisy: the load average is recorded.", size=7.5),
        Table("Benchmarks: P1, P2 and the main job's wall time", ["benchmark", "ours (s)", "peer", "peer (s)",
                                                                  "speed-up", "machine", "date (UTC)"],
              rows, source=rel_path(folder) + "/*.json", wrap=(2, 5), align="lrlrrll"),
        *[Paragraph(n, size=6.5) for n in notes],
        *_scale_blocks(folder / "scale.json"),
    ]


def _scale_curve(path: Path) -> dict[str, Any] | None:
    """``details.curve`` of the scale benchmark: stages with seconds / peak RSS per n, and the exponents."""
    b = read_benchmark(path)
    curve = (b or {}).get("details", {}).get("curve")
    if not isinstance(curve, Mapping) or not isinstance(curve.get("stages"), Mapping):
        return None
    return dict(curve)


def _scale_blocks(path: Path) -> list[Any]:
    """The cost curves of benchmarks/scale.py: a table of fitted exponents and a log-log figure."""
    curve = _scale_curve(path)
    if curve is None:
        return []
    stages = {k: v for k, v in curve["stages"].items() if k in _SCALE_STAGES and v}
    exps = curve.get("exponents", {})
    ns = sorted({int(n) for per in stages.values() for n in per})
    rows = []
    for key, per in stages.items():
        e = exps.get(key, {})
        top = [(n, (per.get(str(n)) or {}).get("seconds")) for n in ns[-2:]]
        last = (math.log(top[1][1] / top[0][1]) / math.log(top[1][0] / top[0][0])
                if len(top) == 2 and all(t and t > 0 for _, t in top) else None)
        rows.append([_SCALE_STAGES[key], *[num(per.get(str(n), {}).get("seconds")) for n in ns],
                     num(e.get("time")), num(last), num(e.get("memory"))])
    fw = [num((stages.get("frame", {}).get(str(n)) or {}).get("coherence_over_welch")) for n in ns]

    def draw(fig: Any, rect: dict) -> None:
        from reports.figures import grid

        axes = grid(fig, rect, 1, 2)
        for key, per in stages.items():
            xs = [n for n in ns if str(n) in per]
            lab = f"{_SCALE_STAGES[key]} (n^{num(exps.get(key, {}).get('time'))})"
            axes[0, 0].plot(xs, [per[str(n)]["seconds"] for n in xs], marker="o", label=lab)
            mem = [(n, per[str(n)].get("peak_rss_mb")) for n in xs if per[str(n)].get("peak_rss_mb")]
            if mem:
                axes[0, 1].plot([p[0] for p in mem], [p[1] for p in mem], marker="o",
                                label=f"{_SCALE_STAGES[key]} (n^{num(exps.get(key, {}).get('memory'))})")
        for ax, yl in ((axes[0, 0], "seconds (median)"), (axes[0, 1], "peak RSS of the process (MB)")):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("features n (m = n/4)")
            ax.set_ylabel(yl)
            ax.legend(loc="best", fontsize=5)
        axes[0, 0].set_title("time per stage (fitted exponent in brackets)")
        axes[0, 1].set_title("peak memory per stage")

    return [
        Table("Scale: seconds per stage against n (m = n/4) and fitted exponents (seconds ~ n^b, peak RSS ~ n^c)",
              ["stage", *[f"n={n}" for n in ns], "b (time)", "b (last two n)", "c (memory)"], rows,
              source=rel_path(path) + " (details.curve)", align="l" + "r" * (len(ns) + 3),
              note="frame coherence / Welch bound: " + ", ".join(f"n={n}: {v}" for n, v in zip(ns, fw))),
        FigureBlock("scale", "Cost curves of the main job and its codes (log-log)",
                    "Median wall seconds (left) and peak resident memory (right) of each stage against the number of "
                    "features n, in m = n/4 dimensions, from benchmarks/scale.py (each measurement a fresh process). "
                    "Legend: the least-squares slope of log(cost) on log(n). The main job's process time includes "
                    "its fixed start-up, figures and PDF; the cells' time is the computation alone.",
                    draw, height=2.6),
    ]


# ------------------------------------------------------------------------------------------ limitations
def _markdown(text: str) -> list[Any]:
    """The few Markdown forms limitations.md uses: '#'/'##' headings, '- ' bullets, paragraphs."""
    out: list[Any] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(Paragraph(" ".join(para).replace("`", ""), size=7.5))
            para.clear()

    for line in text.splitlines():
        s = line.strip()
        if not s:
            flush()
        elif s.startswith("#"):
            flush()
            if not s.startswith("# "):  # the file's own title is the section heading already
                out.append(Heading(s.lstrip("#").strip(), level=2))
        elif s.startswith("- "):
            flush()
            para.append("\u2022 " + s[2:])
        else:
            para.append(s)
    flush()
    return out


def limitations_section(claims: Sequence[ClaimRow], checks: CheckRecord | None, runs: Mapping[str, Any],
                        md_path: Path) -> list[Any]:
    if not md_path.is_file():
        raise ValueError(f"{md_path}: missing (the report's list of known limitations)")
    limited = [c for c in _order(claims) if c.verdict_class != "holds"]
    blocks: list[Any] = [
        Heading(TITLES["limitations"]),
        Paragraph("Claims of the registry that fail or hold only under conditions (verdicts as in the registry):",
                  size=7.5),
    ]
    for c in limited:
        blocks.append(Paragraph(f"[{c.id}] {c.verdict}", size=7))
    data_notes = []
    from reports.page1 import scope_rows

    for name, run, what in zip(runs, runs.values(), (r[2] for r in scope_rows(runs))):
        data_notes.append(f"{name} ({run.path.name}): {what}.")
        if run.variant != "defaults":
            data_notes.append(f"{name}: the {run.variant} config of {run.source.command} was used "
                              f"({len(run.rows)} rows); its intervals are wider than those of the default run.")
    if checks is None:
        data_notes.append("The claims' numeric checks were not run for this build (--skip-checks).")
    else:
        if len(checks.results) < len(claims):
            data_notes.append(f"The numeric checks were run for {len(checks.results)} of the {len(claims)} claims "
                              "only (--only-checks).")
        failed = [cid for cid, r in checks.results.items() if not r["passed"]]
        if failed:
            data_notes.append("Numeric checks that FAILED in this build: " + ", ".join(failed) + ".")
    if data_notes:
        blocks.append(Heading("The scope of this build's inputs", level=2))
        blocks += [Paragraph(n, size=7) for n in data_notes]
    blocks += _markdown(md_path.read_text(encoding="utf-8"))
    return blocks
