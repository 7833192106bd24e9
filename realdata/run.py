"""Real-data robustness study: CL vs NCL vs SAE features on the bundled digits (or any X, y in a .npz).

Each replicate (seed) re-splits the data, trains a SimCLR encoder (CL), its non-negative twin (NCL) and a
top-k SAE on the CL features, measures monosemanticity, and runs label noise, pixel noise, few-shot and
OOD-shift scenarios with a ridge probe on the frozen features. Outputs: results.csv (tidy rows),
summary.csv (mean ± 95% CI), differences.csv (paired vs CL), theory_check.csv, report.md, figures.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from sims.sweep import cli
from sims.sweep.config import SweepConfig, fixed
from sims.engine.validation import NONNEG, UNIT, Interval, check_number, check_values

__all__ = ["RealDataConfig", "cell_fn", "figures", "load_data", "main"]

Rep = Literal["cl", "ncl", "sae", "ce", "nce"]


@dataclass(frozen=True)
class RealDataConfig(SweepConfig):
    """Grid: one cell per ``replicate`` (its seed derives from the base seed and the replicate index).
    Everything else is fixed; scenario levels are fixed tuples (0 = clean; few_shot 0 = all samples)."""

    name: ClassVar[str] = "realdata"
    version: ClassVar[str] = "1"

    replicate: tuple[int, ...] = (0, 1, 2, 3, 4)
    data: str = "digits"
    test_fraction: float = 0.3
    representations: tuple[Rep, ...] = fixed(("cl", "ncl", "sae"))
    arch: Literal["mlp", "cnn"] = "cnn"
    epochs: int = 20
    hidden: int = 256
    feature_dim: int = 64
    temperature: float = 0.2
    sae_k: int = 8
    sae_expansion: int = 4
    sae_epochs: int = 200
    ridge: float = 1e-2
    label_noise: tuple[float, ...] = fixed((0.0, 0.2, 0.4, 0.6, 0.8))
    input_noise: tuple[float, ...] = fixed((0.0, 0.1, 0.2, 0.3, 0.5))
    few_shot: tuple[int, ...] = fixed((1, 2, 5, 10, 0))
    rotation: tuple[float, ...] = fixed((0.0, 15.0, 30.0, 45.0))
    inversion: tuple[float, ...] = fixed((0.0, 0.25, 1.0))
    blur: tuple[float, ...] = fixed((0.0, 0.5, 1.0))
    translation: tuple[int, ...] = fixed((0, 1, 2))

    def validate(self) -> None:
        check_values("replicate", self.replicate, Interval(0, 10_000))
        check_number("test_fraction", self.test_fraction, Interval(0.0, 1.0, "()"))
        for name, lo in (("epochs", 1), ("hidden", 1), ("feature_dim", 1), ("sae_k", 1),
                         ("sae_expansion", 1), ("sae_epochs", 1)):
            check_number(name, getattr(self, name), Interval(lo, 100_000), integer=True)
        check_number("temperature", self.temperature, Interval(0.0, None, "()"))
        check_number("ridge", self.ridge, NONNEG)
        if self.sae_k > self.sae_expansion * self.feature_dim:
            raise ValueError(f"sae_k == {self.sae_k}, must be <= sae_expansion * feature_dim == "
                             f"{self.sae_expansion * self.feature_dim}")
        if not self.representations:
            raise ValueError("representations == (), must name at least one of cl, ncl, sae, ce, nce")
        check_values("label_noise", self.label_noise, UNIT)
        check_values("input_noise", self.input_noise, Interval(0.0, 10.0))
        check_values("few_shot", self.few_shot, Interval(0, 100_000))
        check_values("rotation", self.rotation, Interval(-360.0, 360.0))
        check_values("inversion", self.inversion, UNIT)
        check_values("blur", self.blur, Interval(0.0, 10.0))
        check_values("translation", self.translation, Interval(0, 64))

    @classmethod
    def quick(cls) -> "RealDataConfig":
        """Two replicates, short training, two or three levels per scenario (a smoke test, < 60 s)."""
        return cls(
            replicate=(0, 1), epochs=4, sae_epochs=40,
            label_noise=(0.0, 0.4, 0.8), input_noise=(0.0, 0.3), few_shot=(1, 5, 0),
            rotation=(0.0, 30.0), inversion=(0.0, 1.0), blur=(0.0, 1.0), translation=(0, 1),
        )


def load_data(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """``"digits"`` (bundled) or a path to a ``.npz`` holding arrays ``X`` and ``y`` (any shapes that
    :func:`realdata.data.prepare_dataset` accepts)."""
    from realdata.data import load_digits_dataset

    if spec == "digits":
        return load_digits_dataset()
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"data == {spec!r}, must be 'digits' or an existing .npz file with arrays X and y")
    try:
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z["X"]), np.asarray(z["y"])
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"data == {spec!r} cannot be read as a .npz with arrays X and y ({exc})") from None


def _prepare(cell: dict, seed: int):
    from realdata.data import prepare_dataset

    X, y = load_data(cell["data"])
    name = "digits" if cell["data"] == "digits" else Path(cell["data"]).stem
    return prepare_dataset(X, y, test_fraction=cell["test_fraction"], seed=seed, name=name)


def check_feasible(config: RealDataConfig) -> None:
    """Data-dependent checks run before anything is written: the data load and pass validation, and
    every few-shot k fits the smallest training class."""
    d = _prepare(config.cells()[0], 0)  # class counts of a stratified split do not depend on the seed
    smallest = int(d.class_counts("train").min())
    too_big = [k for k in config.few_shot if k > smallest]
    if too_big:
        raise ValueError(f"few_shot contains {too_big[0]}, must be <= {smallest} (the smallest training class "
                         "has that many samples; use 0 for all)")


def cell_fn(cell: dict, seed: int) -> list[dict]:
    """One replicate: split, train the representations, run every scenario (see realdata.scenarios)."""
    from realdata.augment import AugmentConfig
    from realdata.encoders import EncoderConfig, SAEConfig
    from realdata.scenarios import run_replicate

    data = _prepare(cell, seed)
    enc = EncoderConfig(arch=cell["arch"], hidden=cell["hidden"], feature_dim=cell["feature_dim"],
                        epochs=cell["epochs"], temperature=cell["temperature"], augment=AugmentConfig())
    sae = SAEConfig(k=cell["sae_k"], expansion=cell["sae_expansion"], epochs=cell["sae_epochs"])
    shifts = {k: tuple(float(v) for v in cell[k]) for k in ("rotation", "inversion", "blur", "translation")}
    return run_replicate(
        data, seed=seed, enc_cfg=enc, sae_cfg=sae, representations=cell["representations"],
        label_noise=cell["label_noise"], input_noise=cell["input_noise"], few_shot=cell["few_shot"],
        shifts=shifts, ridge=cell["ridge"],
    )


def figures(rows: list[dict], out_dir: Path, config: RealDataConfig) -> list[Path]:
    """Tables (summary.csv, differences.csv, theory_check.csv, report.md) and accuracy-curve figures."""
    from realdata import summary
    from sims.sweep import io as sio

    out_dir = Path(out_dir)
    written = []
    agg = summary.aggregate(rows)
    written.append(sio.write_csv(out_dir / "summary.csv", agg, list(agg[0])))
    diffs = summary.paired_differences(rows)
    if diffs:
        written.append(sio.write_csv(out_dir / "differences.csv", diffs, list(diffs[0])))
    checks = summary.theory_check(rows)
    if checks:
        written.append(sio.write_csv(out_dir / "theory_check.csv", checks, list(checks[0])))
    written.append(sio.atomic_write_text(out_dir / "report.md", summary.markdown_report(rows, config.caption())))

    reps = [r for r in config.representations]
    scen = [s for s in summary.CORRUPTION_SCENARIOS
            if any(a["scenario"] == s and a["metric"] == "accuracy" for a in agg)]
    fig = sio.new_figure(figsize=(3.0 * 4, 2.6 * math.ceil(len(scen) / 4)))
    for i, sc in enumerate(scen):
        ax = fig.add_subplot(math.ceil(len(scen) / 4), 4, i + 1)
        for rep in reps:
            pts = sorted((a["level"], a["mean"], a["ci"]) for a in agg
                         if a["scenario"] == sc and a["metric"] == "accuracy" and a["representation"] == rep)
            if sc == "few_shot":  # k = 0 means "all": draw it last, at the largest k times 2
                kmax = max([p[0] for p in pts] + [1.0])
                pts = sorted((2 * kmax if p[0] == 0 else p[0], p[1], p[2]) for p in pts)
            x = np.array([p[0] for p in pts])
            m = np.array([p[1] for p in pts])
            c = np.nan_to_num(np.array([p[2] for p in pts]))
            ax.plot(x, m, "o-", label=rep.upper(), ms=3)
            ax.fill_between(x, m - c, m + c, alpha=0.2)
        if sc == "few_shot":
            ax.set_xscale("log")
        ax.set_title(sc, fontsize=8)
        ax.set_xlabel({"label_noise": "η", "few_shot": "k per class (rightmost: all)",
                       "gaussian_noise": "pixel std", "uniform_noise": "pixel std",
                       "rotation": "degrees", "inversion": "blend a", "blur": "σ (px)",
                       "translation": "pixels"}.get(sc, "level"), fontsize=7)
        ax.set_ylabel("test accuracy", fontsize=7)
        ax.tick_params(labelsize=6)
        if i == 0:
            ax.legend(fontsize=6)
    fig.suptitle(config.caption(), fontsize=6)
    fig.tight_layout()
    written += sio.save_figure(fig, out_dir / config.figure_stem("accuracy"))
    return written


def build_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m realdata.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--replicate", type=cli.ints, help="grid axis: replicate indices (one seed each), e.g. 0,1,2,3,4")
    p.add_argument("--data", help="'digits' (bundled) or a .npz file with arrays X (images) and y (int labels)")
    p.add_argument("--test-fraction", type=float, help="share of each class held out for testing, in (0, 1)")
    p.add_argument("--representations", type=cli.strings, help="comma-separated of cl, ncl, sae, ce, nce")
    p.add_argument("--arch", help="encoder backbone: cnn or mlp")
    p.add_argument("--epochs", type=int, help="contrastive training epochs per encoder")
    p.add_argument("--feature-dim", type=int, help="output feature dimension d")
    p.add_argument("--temperature", type=float, help="InfoNCE temperature (> 0)")
    p.add_argument("--sae-k", type=int, help="active latents of the top-k SAE")
    p.add_argument("--sae-expansion", type=int, help="SAE dictionary size / d")
    p.add_argument("--sae-epochs", type=int, help="SAE training epochs")
    p.add_argument("--ridge", type=float, help="ridge penalty of the probe (features scaled to total variance 1)")
    p.add_argument("--label-noise", type=cli.floats, help="symmetric label-noise rates in [0, 1]")
    p.add_argument("--input-noise", type=cli.floats, help="pixel-noise standard deviations (Gaussian and uniform)")
    p.add_argument("--few-shot", type=cli.ints, help="training samples per class; 0 = all")
    p.add_argument("--rotation", type=cli.floats, help="rotation angles in degrees")
    p.add_argument("--inversion", type=cli.floats, help="contrast-inversion blend weights in [0, 1]")
    p.add_argument("--blur", type=cli.floats, help="Gaussian blur sigmas in pixels")
    p.add_argument("--translation", type=cli.ints, help="translations in pixels (right and down)")
    cli.add_run_arguments(p, quick_help="2 replicates, short training, 2-3 levels per scenario (< 60 s)")
    return p


def make_config(args) -> RealDataConfig:
    config = cli.config_from_args(RealDataConfig.quick() if args.quick else RealDataConfig(), args)
    check_feasible(config)
    return config


def _print_report(result) -> None:
    report = Path(result.out_dir) / "report.md"
    if report.is_file():
        sys.stdout.write(report.read_text(encoding="utf-8"))


def main(argv=None) -> int:
    return cli.sweep_main(argv, build_parser(), make_config, cell_fn, figures_fn=figures,
                          on_result=_print_report)


if __name__ == "__main__":
    raise SystemExit(main())
