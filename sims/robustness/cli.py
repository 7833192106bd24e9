"""Command line of the robustness study, ``python -m sims.robustness_sweep``."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sims.robustness import config as _config
from sims.robustness.cell import cell_fn
from sims.robustness.config import COMPARATORS, RobustnessConfig
from sims.robustness.figures import figures
from sims.engine.generators import NOISE_KINDS
from sims.sweep import cli

__all__ = ["build_parser", "make_config", "main"]


def _opt_float(text: str) -> float | None:
    if text.lower() in ("none", "match"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'match'") from None


def _bool(text: str) -> bool:
    t = text.lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} must be true or false")


def build_parser() -> cli.ArgumentParser:
    d = RobustnessConfig()
    p = cli.ArgumentParser(prog="python -m sims.robustness_sweep", description=_config.__doc__.splitlines()[0],
                           epilog="Every grid value is a comma-separated list. Outputs are described in the "
                                  "docstring of sims.robustness.config (python -c 'import sims.robustness.config as m; help(m)').")
    g = p.add_argument_group("grid (cells)")
    g.add_argument("--sparsity", type=cli.floats, help=f"grid axis: data sparsity S in [0, 1) (default {_j(d.sparsity)})")
    g.add_argument("--m", type=cli.ints, help=f"grid axis: hidden dimensions m in [1, n_features] (default {_j(d.m)})")
    c = p.add_argument_group("codes")
    c.add_argument("--comparators", type=cli.strings,
                   help=f"codes to compare, of {_j(COMPARATORS)} (default: all); the Fig.-5 pair is dense vs superposed")
    c.add_argument("--n-features", type=int, help=f"planted features n = number of classes (default {d.n_features})")
    c.add_argument("--code-sparsity", type=_opt_float,
                   help="sparsity the superposed / nonneg codes are trained at; 'match' (default) = the cell's S")
    c.add_argument("--importance-decay", type=float, help=f"toy-model importance I_i = decay^i, in (0, 1] (default {d.importance_decay})")
    c.add_argument("--train-steps", type=int, help=f"Adam steps of the toy models (default {d.train_steps})")
    c.add_argument("--train-batch", type=int, help=f"rows per Adam step (default {d.train_batch})")
    c.add_argument("--train-lr", type=float, help=f"Adam step size (default {d.train_lr})")
    s = p.add_argument_group("scenarios")
    s.add_argument("--n-train", type=cli.ints, help=f"training sizes of the label-noise scenario; the largest is the pool of few-shot and OOD (default {_j(d.n_train)})")
    s.add_argument("--label-noise", type=cli.floats, help=f"label-noise rates eta in [0, 1] (default {_j(d.label_noise)})")
    s.add_argument("--label-noise-kind", type=cli.strings, help=f"of symmetric, pair, classcond (one-sided "
                   f"class-conditional 2k+1 -> 2k), margin (near the decision boundary, scale --margin-tau) "
                   f"(default {_j(d.label_noise_kind)})")
    s.add_argument("--margin-tau", type=float, help=f"tau of --label-noise-kind margin, in (0, 1e6] (default {d.margin_tau})")
    s.add_argument("--input-noise", type=cli.floats, help=f"input-noise std lam >= 0 (default {_j(d.input_noise)})")
    s.add_argument("--input-noise-kind", type=cli.strings, help=f"of {_j(NOISE_KINDS)} (default {_j(d.input_noise_kind)})")
    s.add_argument("--noise-at", type=cli.strings, help=f"where input noise is added, of test, train, both (default {_j(d.noise_at)})")
    s.add_argument("--noise-n-train", type=cli.ints, help=f"training sizes of the input-noise scenario (default {_j(d.noise_n_train)})")
    s.add_argument("--few-shot", type=cli.ints, help=f"samples per class k; 0 = all (default {_j(d.few_shot)})")
    s.add_argument("--ood", type=cli.strings, help=f"test-time shifts density=f | amplitude=v | frequency=g (default {_j(d.ood)})")
    s.add_argument("--n-test", type=int, help=f"test samples per replicate (default {d.n_test})")
    s.add_argument("--reps", type=int, help=f"replicates (seeds) per cell, >= 2 (default {d.reps})")
    s.add_argument("--readout", choices=("hidden", "output"), default=None,
                   help="what the probe reads: hidden = h = W x; output = ReLU(WᵀW x + b) (default hidden)")
    s.add_argument("--probe", choices=("ls", "softmax"), default=None, help="least squares (closed form) or softmax (default ls)")
    s.add_argument("--alpha", type=float, help="ridge / L2 strength of the probe (default 0)")
    t = p.add_argument_group("theory and figures")
    t.add_argument("--theory", type=_bool, help="predictions of theory.robustness for dense and superposed: true/false (default true)")
    t.add_argument("--theory-pop", type=int, help=f"population samples of the theory (default {d.theory_pop})")
    t.add_argument("--theory-test", type=int, help=f"test points of the theory (default {d.theory_test})")
    t.add_argument("--fig-sparsity", type=float, help=f"sparsity of the Fig.-5 figure and verdict, one of the "
                   f"--sparsity values (default {d.fig_sparsity}, or the largest grid value when it is not in the grid)")
    t.add_argument("--fig-m", type=int, help=f"m of the Fig.-5 figure, verdict and phase panels, one of the --m values "
                   f"(default {d.fig_m}, or the middle grid value)")
    t.add_argument("--memory-budget", type=float, metavar="GB",
                   help=f"memory for the arrays of one cell, in GB, in [0.05, 1024] (per worker process); a config "
                        f"that needs more is refused up front, naming the flag (default {d.memory_budget:g})")
    cli.add_run_arguments(p, quick_help="a small grid (2 sparsities, m = 20, 5 seeds, short training): ~30 s")
    return p


def _j(vals: Any) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals)


def make_config(args: argparse.Namespace) -> RobustnessConfig:
    """The config of the command line: --quick or the defaults, with every given flag replaced. When the
    grid lacks the default --fig-sparsity / --fig-m (and they were not given), the largest sparsity and
    the middle m of the grid are used."""
    import dataclasses

    base = cli.base_config(RobustnessConfig, args)
    changes = {k: v for k, v in vars(args).items() if v is not None and k in {f.name for f in dataclasses.fields(base)}}
    grid_S = changes.get("sparsity", base.sparsity)
    grid_m = changes.get("m", base.m)
    if "fig_sparsity" not in changes and not any(abs(base.fig_sparsity - S) < 1e-12 for S in grid_S):
        changes["fig_sparsity"] = max(grid_S)
    if "fig_m" not in changes and base.fig_m not in grid_m:
        changes["fig_m"] = sorted(grid_m)[len(grid_m) // 2]
    return dataclasses.replace(base, **changes) if changes else base


def _report(result: Any) -> None:
    """One paragraph on stdout: the Fig.-5 verdict and the boundary gaps."""
    import json

    try:
        v = json.loads((Path(result.out_dir) / "verdict.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not v.get("available"):
        return
    print(f"Fig. 5 pattern at S = {v['sparsity']:g}, m = {v['m']}, n_train = {v['n_train']} (dense - superposed, 95% CI):")
    c = v["clean"]
    print(f"  clean: {c['diff']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}] -> {c['winner']} "
          f"({'reproduces' if c['reproduces'] else 'does not reproduce'} 'poly wins')")
    for part in ("label_noise", "input_noise"):
        if part in v:
            q = v[part]
            print(f"  {part}: mono ahead at {q['mono_wins_at'] or 'no level'}, poly ahead at {q['poly_wins_at'] or 'no level'} "
                  f"-> {'reproduces' if q['reproduces'] else 'does not reproduce'} 'mono wins'")
    for name, g in v.get("gap_summary", {}).items():
        med = g["resolved_median_gap"]
        print(f"  boundary along {name}: {g['emp_crosses']} of {g['settings']} settings cross in simulation "
              f"({g['resolved']} beyond doubt), {g['pred_crosses']} in theory; resolved and predicted: "
              f"{g['resolved_with_pred']}, median relative gap "
              f"{'n/a' if med is None else f'{med:.3f}'}, {g['resolved_within_10pct']} within 10%")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return cli.sweep_main(argv, parser, make_config, cell_fn, figures_fn=figures, on_result=_report)
