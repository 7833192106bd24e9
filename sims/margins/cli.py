"""Command line of the main job, ``python -m sims.margin_sweep`` (the entry module re-exports :func:`main`)."""
from __future__ import annotations

import argparse
from typing import Any

from sims.margins import config as _config
from sims.margins.cell import cell_fn
from sims.margins.config import CODES, MAX_FEATURES, MarginConfig
from sims.sweep import cli

__all__ = ["figures", "build_parser", "make_config", "main"]


def figures(rows: list[dict], out_dir: Any, config: MarginConfig, executor: Any = None) -> list:
    """Figures (PNG + PDF) and the PDF report beside results.csv (see sims.margins.report); ``executor``: the
    run's worker processes, where the figure files are drawn (the runner passes it when it has one)."""
    from sims.margins.report import make_figures_and_report

    return make_figures_and_report(rows, out_dir, config, executor)


def build_parser() -> cli.ArgumentParser:
    d = MarginConfig()
    p = cli.ArgumentParser(prog="python -m sims.margin_sweep", description=_config.__doc__.split("\n\n")[0],
                           epilog=_config.__doc__.split("\n\n", 1)[1], formatter_class=_Formatter)
    g = p.add_argument_group("grid (cells)")
    g.add_argument("--code", type=cli.strings, default=None,
                   help=f"grid axis: codes, comma-separated among {', '.join(CODES)} (default: {','.join(d.code)}; "
                        "'trained' trains a toy model per ratio and sparsity: about 0.5 s each)")
    g.add_argument("--ratio", type=cli.floats, default=None,
                   help="grid axis: superposition ratios n_rep/m in [1, n_features/m], ratio*m an integer "
                        f"(default: {','.join(f'{v:g}' for v in d.ratio)})")
    g.add_argument("--sparsity", type=cli.floats, default=None,
                   help=f"grid axis: sparsities S in [0, 1) (default: {','.join(f'{v:g}' for v in d.sparsity)})")
    v = p.add_argument_group("inside each cell (vectorized)")
    v.add_argument("--input-noise", type=cli.floats, default=None,
                   help="Gaussian input-noise scales lam >= 0 on x (default: "
                        f"{','.join(f'{x:g}' for x in d.input_noise)})")
    v.add_argument("--label-noise", type=cli.floats, default=None,
                   help=f"symmetric label-noise rates eta in [0, 1] for the probes (default: {','.join(f'{x:g}' for x in d.label_noise)})")
    v.add_argument("--label-noise-kind", default=None, choices=("symmetric", "classcond", "margin"),
                   help="label-noise model of the probes' training labels (default: symmetric; classcond: class "
                        "2k+1 -> 2k at the rate; margin: flip w.p. rate exp(-(top - runner-up feature) / "
                        "--margin-tau) to the runner-up class); rows then read noise = label_<kind>")
    v.add_argument("--margin-tau", type=float, default=None,
                   help=f"tau of --label-noise-kind margin, in (0, 1e6] (default: {d.margin_tau:g})")
    v.add_argument("--n-train", type=cli.ints, default=None,
                   help=f"probe training sizes, integers in [2, 1e6] (default: {','.join(str(x) for x in d.n_train)})")
    f = p.add_argument_group("fixed parameters")
    f.add_argument("--n-features", type=int, default=None,
                   help=f"n, features in [2, {MAX_FEATURES}] (default: {d.n_features}); large n needs m, n_test and "
                        "n_train small enough for --memory-budget")
    f.add_argument("--m", type=int, default=None, help=f"dimensions of the code, in [2, n_features] (default: {d.m})")
    f.add_argument("--n-test", type=int, default=None, help=f"test samples per replicate, in [10, 1e6] (default: {d.n_test})")
    f.add_argument("--reps", type=int, default=None, help=f"replicates per cell (new data and random codes), in [1, 100] (default: {d.reps})")
    f.add_argument("--amplitude", type=cli.floats, default=None,
                   help=f"LO,HI: active features are Uniform(LO, HI), 0 <= LO < HI (theory columns need LO = 0) (default: {d.amplitude[0]:g},{d.amplitude[1]:g})")
    f.add_argument("--frame-iter", type=int, default=None,
                   help="descent steps of the frame codes, in [0, 100000]; 0: by size, 1000 for small frames down "
                        f"to 100 for large ones (sims.engine.codes.frame_steps) (default: {d.frame_iter})")
    f.add_argument("--code-seed", type=int, default=None,
                   help=f"seed of the frame and trained codes (shared by all cells) (default: {d.code_seed})")
    f.add_argument("--toy-steps", type=int, default=None,
                   help=f"trained codes: Adam steps of the toy model, in [1, 1e6] (default: {d.toy_steps})")
    f.add_argument("--toy-batch", type=int, default=None,
                   help=f"trained codes: batch size of the toy model, in [1, 1e6] (default: {d.toy_batch})")
    f.add_argument("--toy-lr", type=float, default=None,
                   help=f"trained codes: Adam learning rate, in (0, 10] (default: {d.toy_lr:g})")
    f.add_argument("--memory-budget", type=float, default=None, metavar="GB",
                   help="memory for the arrays of one cell, in GB, in [0.05, 1024]: test samples are evaluated in "
                        "chunks that fit (per worker process); a config that cannot fit is refused up front "
                        f"(default: {d.memory_budget:g})")
    cli.add_run_arguments(p, quick_help="a tiny grid for CI (seconds): codes mono,random,frame, ratios 1,2, n=24, m=8",
                          workers_default="auto")
    return p


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the module docstring's layout in the epilog; shows defaults except ``None`` / ``False``
    (the grid flags state the config's defaults in their own text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action)


def make_config(args: Any) -> MarginConfig:
    return cli.config_from_args(MarginConfig.quick() if args.quick else MarginConfig(), args)


def main(argv: list[str] | None = None) -> int:
    return cli.sweep_main(argv, build_parser(), make_config, cell_fn, figures_fn=figures)

