"""A tiny sweep CLI on the runner, used by the tests (``python -m tests.apps.tiny_sweep --help``).

Each cell draws a little seeded data and reports a few statistics; ``TINY_SWEEP_SLEEP=<seconds>``
makes every cell sleep first, so that a test can kill a run part-way; ``TINY_SWEEP_FAIL=<size>`` makes
cells of that size raise (to test failing cells) and ``TINY_SWEEP_INTERRUPT=<size>`` raises KeyboardInterrupt there.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from sims.sweep import cli
from sims.engine.backend import rng
from sims.sweep.io import new_figure, save_figure
from sims.sweep.config import SweepConfig
from sims.engine.validation import Interval, check_number, check_values


@dataclass(frozen=True)
class TinyConfig(SweepConfig):
    """Grid: size x noise x code; fixed: n_samples, reps."""

    name: ClassVar[str] = "tiny_sweep"

    size: tuple[int, ...] = (4, 8, 16)
    noise: tuple[float, ...] = (0.0, 0.1, 0.5)
    code: tuple[Literal["mono", "poly"], ...] = ("mono", "poly")
    n_samples: int = 200
    reps: int = 2

    def validate(self) -> None:
        check_values("size", self.size, Interval(1, 4096, "[]"))
        check_values("noise", self.noise, Interval(0.0, 10.0, "[]"))
        check_number("n_samples", self.n_samples, Interval(1, 100_000, "[]"), integer=True)
        check_number("reps", self.reps, Interval(1, 100, "[]"), integer=True)

    @classmethod
    def quick(cls) -> "TinyConfig":
        return cls(size=(4,), noise=(0.0, 0.5), code=("mono",), n_samples=50, reps=1)


def cell_fn(cell: dict, seed: int) -> list[dict]:
    delay = float(os.environ.get("TINY_SWEEP_SLEEP", "0") or 0)
    if delay > 0:
        time.sleep(delay)
    if os.environ.get("TINY_SWEEP_FAIL") == str(cell["size"]):
        raise RuntimeError("requested failure")
    if os.environ.get("TINY_SWEEP_INTERRUPT") == str(cell["size"]):
        raise KeyboardInterrupt  # stands in for Ctrl-C (serial runs execute cells in this process)
    rows = []
    for r in range(cell["reps"]):
        g = rng(seed, r)
        x = g.standard_normal((cell["n_samples"], cell["size"]))
        x = x + cell["noise"] * g.standard_normal(x.shape)
        v = x[:, 0] if cell["code"] == "mono" else x[:, 0] - x[:, 1 % cell["size"]]
        rows.append({
            "rep": r,
            "mean": float(v.mean()),
            "std": np.float32(v.std()),  # numpy scalars are accepted and stored exactly
            "positive": int((v > 0).sum()),
            "ok": bool(v.std() > 0),
        })
    return rows


def figures(rows: list[dict], out_dir, config: TinyConfig) -> list:
    fig = new_figure(figsize=(4, 3))
    ax = fig.add_subplot()
    for code in config.code:
        pts = [(r["noise"], r["mean"]) for r in rows if r["code"] == code]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", label=code)
    ax.set_xlabel("noise")
    ax.set_ylabel("mean")
    ax.set_title(config.caption(), fontsize=5)
    ax.legend()
    return save_figure(fig, out_dir / config.figure_stem("mean"))


def build_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="tiny_sweep", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=cli.ints, help="grid axis: comma-separated integers in [1, 4096]")
    p.add_argument("--noise", type=cli.floats, help="grid axis: comma-separated reals in [0, 10]")
    p.add_argument("--code", type=cli.strings, help="grid axis: comma-separated of mono, poly")
    p.add_argument("--n-samples", type=int, help="samples per cell, in [1, 100000]")
    p.add_argument("--reps", type=int, help="rows per cell, in [1, 100]")
    p.add_argument("--no-figures", action="store_true", help="skip the figure")
    cli.add_run_arguments(p)
    return p


def make_config(args) -> TinyConfig:
    return cli.config_from_args(TinyConfig.quick() if args.quick else TinyConfig(), args)


def main(argv=None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    no_fig = "--no-figures" in argv
    return cli.sweep_main(argv, parser, make_config, cell_fn, figures_fn=None if no_fig else figures)


if __name__ == "__main__":
    raise SystemExit(main())
