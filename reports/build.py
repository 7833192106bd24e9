"""Build the report PDF: every claim of the paper beside the toolkit's verdict and its evidence.

``python -m reports.build`` collects the newest complete results of the main sweep
(``python -m sims.margin_sweep``), the real-data bridge (``python -m realdata.run``) and - when the module
is part of the checkout - the toy-model robustness sweep, from ``runs/`` (see ``reports.inputs`` for the
order of search; a source with no results gets its ``--quick`` run made now, into
``<out>/runs/<source>/``), runs the claims' numeric checks once (cached in ``<out>/runs/theory/``), and
writes ``<out>/report.pdf`` with the figures as PNG (``<out>/figures/``) and the tables it computed
(``<out>/tables/``). Default ``<out>``: ``reports/out`` (git-ignored).

Sections: provenance; claims and verdicts; key formulas; main sweep; toy models and phase diagram; real
data; benchmarks (``benchmarks/results/*.json``); limitations (the registry's 'fails' / 'holds only when'
verdicts and ``reports/limitations.md``). The same inputs give the same bytes (fixed PDF metadata, no
dates of the build in it). A missing, truncated or foreign input stops the build with one line naming the
file (exit status 2) before anything is written; the PDF is written last, atomically.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from sims.sweep import cli
from sims.sweep import io as sio

__all__ = ["build", "build_parser", "main", "DEFAULT_OUT", "PDF_NAME"]

DEFAULT_OUT = Path("reports") / "out"
PDF_NAME = "report.pdf"
_HERE = Path(__file__).resolve().parent
FOOTER = "monosem report (python -m reports.build)"


def build_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m reports.build", description=__doc__.split("\n\n")[0],
                           epilog=__doc__.split("\n\n", 1)[1],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", metavar="DIR", default="runs",
                   help="folder whose sub-folders are run folders; the newest complete run of each CLI's default "
                        "config is used, other configs only when named by their flag (default: runs)")
    p.add_argument("--margin", metavar="DIR", default=None, help="run folder of python -m sims.margin_sweep to use")
    p.add_argument("--realdata", metavar="DIR", default=None, help="run folder of python -m realdata.run to use")
    p.add_argument("--robustness", metavar="DIR", default=None,
                   help="run folder of python -m sims.robustness_sweep to use")
    p.add_argument("--out", metavar="DIR", default=str(DEFAULT_OUT),
                   help="output folder: report.pdf, figures/, tables/, runs/ (quick runs, check cache) "
                        f"(default: {DEFAULT_OUT})")
    p.add_argument("--benchmarks", metavar="DIR", default=None,
                   help="folder of the benchmark JSON files (default: benchmarks/results of this checkout)")
    p.add_argument("--seed", type=int, default=0, help="seed of the claims' numeric checks (default: 0)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes for the claims' checks, which run while the quick runs are made "
                        "(results do not depend on it; default: min(2, CPU cores))")
    p.add_argument("--only-checks", metavar="ID[,ID...]", type=cli.strings, default=None,
                   help="run the numeric checks of these claims only (the others say 'not run')")
    p.add_argument("--skip-checks", action="store_true",
                   help="do not run the claims' numeric checks (the report says so in every claim)")
    p.add_argument("--no-run", action="store_true",
                   help="never run a quick variant: a source without results is an error")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no summary line on stderr")
    return p


def _say(quiet: bool):
    def say(line: str) -> None:
        if not quiet:
            sys.stderr.write(f"reports.build: {cli.one_line(line)}\n")
            sys.stderr.flush()
    return say


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Everything :func:`main` does after parsing; returns what was written. ValueError on bad input."""
    from tqdm import tqdm

    from reports import inputs, results, sections
    from reports.checks import ChecksJob, registry
    from sims.engine.validation import Interval, check_number
    from reports.figures import label_noise_models_figure, two_feature_figure
    from reports import page1
    from reports.layout import Contents, FigureBlock, Heading, PageBreak, Paragraph, render_pdf, render_png

    t0 = time.perf_counter()
    say = _say(args.quiet)
    if args.seed < 0:
        raise ValueError(f"--seed == {args.seed}, must be >= 0")
    jobs = check_number("--jobs", args.jobs, Interval(1, 64), integer=True) if args.jobs is not None else min(
        2, os.cpu_count() or 1)
    out = sio.check_out_dir(args.out)
    for flag in ("margin", "realdata", "robustness"):
        v = getattr(args, flag)
        if v is not None and not Path(v).is_dir():
            raise ValueError(f"--{flag} == {v!r} is not a folder, must be a run folder of its CLI")
    bench_dir = Path(args.benchmarks) if args.benchmarks else _HERE.parent / "benchmarks" / "results"
    if args.benchmarks is not None:  # given explicitly: it must be there and hold benchmark results
        if not bench_dir.is_dir():
            raise ValueError(f"--benchmarks == {args.benchmarks!r} is not a folder, must be a folder of benchmark "
                             "JSON files (e.g. benchmarks/results)")
        if not any((bench_dir / f"{name}.json").is_file() for name in sections.BENCHMARKS):
            raise ValueError(f"--benchmarks == {args.benchmarks!r} holds none of "
                             + ", ".join(f"{name}.json" for name in sections.BENCHMARKS)
                             + ", must be a folder of benchmark JSON files (e.g. benchmarks/results)")
    md_path = _HERE / "limitations.md"
    if not md_path.is_file():
        raise ValueError(f"{md_path}: missing (the report's list of known limitations)")
    for name in sections.BENCHMARKS:  # damaged benchmark files fail before anything runs
        sections.read_benchmark(bench_dir / f"{name}.json")

    known = inputs.available_sources()
    if args.robustness is not None and "robustness" not in known:
        raise ValueError("--robustness was given, but sims.robustness_sweep is not part of this checkout")
    explicit = {k: getattr(args, k) for k in known}
    runs, todo = inputs.plan_runs(known, explicit, args.runs, out, allow_run=not args.no_run)  # reads only
    modules = tuple(m for s in known.values() for m in s.claim_modules)
    claims = registry(modules)
    ids = [c.id for c in claims]
    if args.only_checks is not None:
        unknown = [i for i in args.only_checks if i not in ids]
        if unknown:
            raise ValueError(f"--only-checks names {unknown[0]!r}, which is not a claim id; ids: {', '.join(ids)}")
        ids = [i for i in ids if i in args.only_checks]
    job = None if args.skip_checks else ChecksJob(out, ids, seed=args.seed, jobs=jobs, modules=modules, say=say)
    try:  # the checks run in their worker processes while the quick runs are made
        runs.update(inputs.make_quick_runs(todo, out, quiet=args.quiet, say=say, runs_dir=args.runs))
        checks = None if job is None else job.result(quiet=args.quiet)
    finally:
        if job is not None:
            job.cancel()
    runs = {name: runs[name] for name in known}
    if not args.quiet:  # the folders this report reads, and how they were chosen
        for name, run in runs.items():
            print(f"{name}: {run.path} ({run.variant} config; {run.origin})")

    # ---- content ------------------------------------------------------------------------------------
    tables_dir = out / "tables"
    parts = {}
    if "margin" in runs:
        parts["margin"] = results.margin_part(runs["margin"], tables_dir, sections.TITLES["margin"])
    else:
        parts["margin"] = results.missing_part(sections.TITLES["margin"], "sims.margin_sweep is not part of this checkout.")
    if "robustness" in runs:
        from reports import robustness

        parts["robustness"] = robustness.robustness_part(runs["robustness"], tables_dir, sections.TITLES["robustness"])
    else:
        parts["robustness"] = results.missing_part(
            sections.TITLES["robustness"],
            "sims.robustness_sweep (the toy-model robustness sweep) is not part of this checkout, so there are no "
            "Fig. 5 curves, few-shot, OOD or toy-model phase-diagram results to show; the phase diagram of the main "
            "sweep is in the section 'Main sweep: margins and separation'.")
    if "realdata" in runs:
        parts["realdata"] = results.realdata_part(runs["realdata"], sections.TITLES["realdata"])
    else:
        parts["realdata"] = results.missing_part(sections.TITLES["realdata"], "realdata.run is not part of this checkout.")
    two_feature = FigureBlock(
        "two_feature", "Two-feature model: separation of the polysemantic vs the monosemantic code",
        "Ratio J_poly / J_mono of the Fisher separations (E7)-(E8) computed by theory.two_feature.separation; "
        "above 1 the polysemantic code v = x1 - w x2 separates the classes better than v = x1. Left: input noise "
        "(score variances λ² vs (1 + w²) λ², App. B.3); right: symmetric label noise.",
        two_feature_figure(), height=2.7)

    rob = runs.get("robustness")
    verdict = rob.json.get("verdict.json", {}) if rob is not None else {}
    label_models = FigureBlock(
        "label_noise_models", "Label-noise models: symmetric, class-conditional and margin-dependent",
        "Left: J_poly / J_mono of the two-feature model (argmax, S = 0.9) against the noise rate r under symmetric "
        "noise (η = r), one-sided class-conditional noise (a, b) = (0, r) and margin-dependent noise (p_max = r, "
        "τ = 0.1), for w = 1 and w = 3 (theory.two_feature, (E8), (E13), (E16)). Middle: the exact boundary of "
        "(E14) above which J_mono > J_poly is possible (at the corner a -> 0, b -> 1), for three input-noise levels. "
        "Right: the toy-model sweep's paired accuracy difference dense - superposed against the label-noise level, "
        "one curve per label-noise kind in the run (classcond: 2k+1 -> 2k; margin: to the runner-up class), mean "
        "and 95% t-interval over replicates (differences.csv).",
        label_noise_models_figure(rob.tables["differences.csv"] if rob is not None else None,
                                  (float(verdict["sparsity"]), int(verdict["m"]), int(verdict["n_train"]))
                                  if {"sparsity", "m", "n_train"} <= set(verdict) else None), height=2.7)
    summary = FigureBlock(
        "summary", "Summary of the evidence",
        "(a) J_poly / J_mono, two-feature model, exact (above 1: poly separates better). (b) Main sweep: accuracy "
        "of mono minus the random code at the largest ratio. (c) Toy models (Fig. 5): dense minus superposed. "
        "(d) Real data: NCL and SAE minus CL, robustness per scenario. (b)-(d): means with 95% intervals over "
        "replicates; above 0, the monosemantic code is ahead.",
        page1.summary_figure(runs), height=3.3)
    theory_section = [Heading(sections.TITLES["two_feature"]),
                      Paragraph("The paper's two-feature model in closed form (theory/two_feature.py, derived in "
                                "theory/derive/): the separation of the two codes under input noise and under the "
                                "three label-noise models; the claims of Appendix A state the verdicts.", size=7.5),
                      two_feature, label_models]
    rest: list[Any] = list(theory_section)
    for key in ("margin", "robustness", "realdata"):
        rest += parts[key].blocks
    rest += sections.benchmarks_section(bench_dir)
    rest += sections.limitations_section(claims, checks, runs, md_path)
    ordered_figs = [summary, *(b for b in rest if isinstance(b, FigureBlock))]
    figs = {id(b): b for b in ordered_figs}
    number = {id(b): k for k, b in enumerate(ordered_figs, start=1)}
    keyed = {"summary": summary, "two_feature": two_feature, "label_noise_models": label_models,
             **{k: v for p in parts.values() for k, v in p.figures.items()}}
    fig_numbers = {k: (number[id(b)], b.title) for k, b in keyed.items() if id(b) in number}

    def evidence(cid: str) -> list[str]:
        return [line for p in parts.values() for line in p.evidence(cid)]

    extra_figs = getattr(parts.get("robustness"), "claim_figures", {}) or {}
    notes = [f"Sources not in this checkout: {', '.join(sorted(set(inputs.SOURCES) - set(known)))}."] if set(
        inputs.SOURCES) - set(known) else []
    appendices = [*sections.claims_section(claims, checks, fig_numbers, evidence, extra_figs),
                  *sections.formulas_section(claims),
                  *sections.provenance(runs, checks, sio.git_revision(_HERE),
                                       sio.package_versions(["sympy", "torch", "scikit-learn"]), notes)]
    first, scope = page1.page_one(claims, checks, runs, fig_numbers, lambda cid: sections.claim_figures(cid, extra_figs))
    blocks = [*first, summary, PageBreak(), *scope, *sections.front_matter(claims, checks), Contents(), *rest,
              *appendices]
    assert len(figs) == len(ordered_figs)

    # ---- render (in memory), then write: tables, figures, the PDF last --------------------------------
    with tqdm(total=None, desc="report pages", unit="page", disable=args.quiet, leave=False, file=sys.stderr) as bar:
        pdf, placed = render_pdf(blocks, FOOTER, progress=bar.update)
    written: list[Path] = []
    tables_dir.mkdir(parents=True, exist_ok=True)
    for p in parts.values():
        for t in p.derived:
            written.append(sio.write_csv(tables_dir / f"{t.name}.csv", t.rows, t.columns))
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for b, n in tqdm(placed, desc="figures (PNG)", unit="fig", disable=args.quiet, leave=False, file=sys.stderr):
        written.append(sio.atomic_write_bytes(fig_dir / f"fig{n:02d}_{b.stem}.png", render_png(b, n)))
    pdf_path = sio.atomic_write_bytes(out / PDF_NAME, pdf)
    wall = time.perf_counter() - t0
    say(f"{len(claims)} claims, {len(placed)} figures -> {pdf_path} ({len(pdf) // 1024} KiB) in {wall:.1f} s")
    assert len(figs) == len(placed)
    return {"pdf": pdf_path, "files": written, "runs": runs, "checks": checks, "seconds": wall}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        build(parser.parse_args(argv))
        return 0

    return cli.guarded(parser.prog, body)


if __name__ == "__main__":
    raise SystemExit(main())
