"""Real-data robustness study: raw and supervised baselines beside CL / NCL / SAE features, on any data.

Inputs: a bundled dataset (``--data digits|signals|tabular|wine|breast_cancer``), your own arrays
(``--data FILE.npz`` with ``X`` and ``y``: images, 1-D signals with ``--modality signal``, or vectors; flat
images need ``--image-shape H,W``) or precomputed representations (``--features FILE.npz`` with ``H`` and
``y``, optionally ``H_test``/``y_test`` and ``H_ood``/``y_ood``; e.g. a network's activations from
``realdata.activations.capture``). Each replicate (seed) re-splits the data, trains every representation
and runs label noise, input noise, few-shot, the modality's shifts (and OOD when given) with a ridge
probe on the frozen features. Outputs: results.csv (tidy rows), summary.csv (mean ± 95% CI),
differences.csv (paired vs the raw input and vs CL), theory_check.csv, report.md, figures.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from realdata import modalities
from sims.engine.validation import NONNEG, UNIT, Interval, check_number, check_values
from sims.sweep import cli
from realdata.schema import SCHEMA as _SCHEMA
from sims.sweep.config import SweepConfig, fixed

__all__ = ["RealDataConfig", "cell_fn", "figures", "load_data", "load_dataset", "main", "DEFAULT_REPRESENTATIONS",
           "FEATURE_REPRESENTATIONS"]

Rep = Literal["raw", "pca", "cl", "ncl", "ce", "nce", "sae"]
#: representations of a run on raw data and on precomputed features (``representations=()``)
DEFAULT_REPRESENTATIONS = ("raw", "ce", "cl", "ncl", "sae")
FEATURE_REPRESENTATIONS = ("raw", "pca", "ce", "ncl", "sae")
#: SAE sparsities (k) of each kind of run (``sae_k=()``)
DEFAULT_SAE_K = (8,)
FEATURE_SAE_K = (4, 8, 16)
#: input-noise levels (``input_noise=()``): pixels in [0, 1]; standardized units otherwise
INPUT_NOISE = {"image": ((0.0, 0.1, 0.2, 0.3, 0.5), (0.0, 0.3)),
               "signal": ((0.0, 0.25, 0.5, 1.0, 2.0), (0.0, 1.0)),
               "vector": ((0.0, 0.25, 0.5, 1.0, 2.0), (0.0, 1.0))}
SHIFT_FIELDS = modalities.SHIFT_KINDS


@dataclass(frozen=True)
class RealDataConfig(SweepConfig):
    """Grid: one cell per ``replicate`` (its seed derives from the base seed and the replicate index).
    Everything else is fixed; scenario levels are fixed tuples (0 = clean; few_shot 0 = all samples).
    Empty tuples (representations, sae_k, input_noise, the shift levels) mean the defaults of the data's
    kind; :meth:`resolved` fills them in (the CLI does), and records the data's content hash."""

    name: ClassVar[str] = "realdata"
    version: ClassVar[str] = "2"
    schema: ClassVar[Any] = _SCHEMA  # every column of every CSV (docs/RESULTS.md)

    replicate: tuple[int, ...] = tuple(range(10))
    data: str = "digits"
    features: str = ""
    modality: Literal["auto", "image", "signal", "vector"] = "auto"
    image_shape: tuple[int, ...] = fixed(())
    data_digest: str = ""
    test_fraction: float = 0.3
    representations: tuple[Rep, ...] = fixed(())
    arch: Literal["auto", "mlp", "cnn"] = "auto"
    epochs: int = 20
    hidden: int = 256
    feature_dim: int = 64
    temperature: float = 0.2
    sae_k: tuple[int, ...] = fixed(())
    sae_expansion: int = 4
    sae_epochs: int = 200
    ridge: float = 1e-2
    label_noise: tuple[float, ...] = fixed((0.0, 0.2, 0.4, 0.6, 0.8))
    input_noise: tuple[float, ...] = fixed(())
    few_shot: tuple[int, ...] = fixed((1, 2, 5, 10, 0))
    levels: Literal["default", "quick"] = "default"
    rotation: tuple[float, ...] = fixed(())
    inversion: tuple[float, ...] = fixed(())
    blur: tuple[float, ...] = fixed(())
    translation: tuple[float, ...] = fixed(())
    time_shift: tuple[float, ...] = fixed(())
    time_scale: tuple[float, ...] = fixed(())
    smoothing: tuple[float, ...] = fixed(())
    trend: tuple[float, ...] = fixed(())
    mean_shift: tuple[float, ...] = fixed(())
    scaling: tuple[float, ...] = fixed(())
    block_mask: tuple[float, ...] = fixed(())
    memory_budget: float = 4.0  # GB of arrays per replicate; a config that needs more is refused up front

    def validate(self) -> None:
        check_values("replicate", self.replicate, Interval(0, 10_000))
        check_number("test_fraction", self.test_fraction, Interval(0.0, 1.0, "()"))
        for name in ("epochs", "hidden", "feature_dim", "sae_expansion", "sae_epochs"):
            check_number(name, getattr(self, name), Interval(1, 100_000), integer=True)
        check_number("temperature", self.temperature, Interval(0.0, None, "()"))
        check_number("ridge", self.ridge, NONNEG)
        check_values("sae_k", self.sae_k, Interval(1, 100_000))
        if not self.data and not self.features:
            raise ValueError("data == '', must name a dataset or a .npz file (or give features)")
        if self.data not in ("digits", "") and self.features:
            raise ValueError(f"features == {self.features!r} and data == {self.data!r} are both given; "
                             "use one: --data for inputs, --features for precomputed representations")
        if self.image_shape and (len(self.image_shape) not in (2, 3) or min(self.image_shape) < 1):
            raise ValueError(f"image_shape == {self.image_shape!r}, must be H,W or C,H,W of positive ints")
        check_values("label_noise", self.label_noise, UNIT)
        check_values("input_noise", self.input_noise, Interval(0.0, 100.0))
        check_values("few_shot", self.few_shot, Interval(0, 100_000))
        for name in ("replicate", "representations", "sae_k", "label_noise", "input_noise", "few_shot", *SHIFT_FIELDS):
            vals = getattr(self, name)
            if len(set(vals)) != len(vals):
                dup = next(v for v in vals if list(vals).count(v) > 1)
                raise ValueError(f"{name} == {','.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vals)} "
                                 f"repeats {dup}, values must be distinct")
        for name in ("label_noise", "few_shot"):
            if not getattr(self, name):
                raise ValueError(f"{name} == (), must hold at least one value")
        check_number("memory_budget", self.memory_budget, Interval(0.05, 1024.0, "[]"))

    @classmethod
    def quick(cls) -> "RealDataConfig":
        """Two replicates, short training, two or three levels per scenario (a smoke test, < 60 s)."""
        return cls(replicate=(0, 1), epochs=4, sae_epochs=40, label_noise=(0.0, 0.4, 0.8), few_shot=(1, 5, 0),
                   levels="quick")

    def resolved(self) -> "RealDataConfig":
        """This config with the data's defaults filled in and its content hash recorded, after every check
        that needs the data (loadable, valid, shifts that apply, few-shot sizes that fit). Raises
        ValueError naming the flag at fault."""
        data = load_dataset(self, seed=0)
        mod = modalities.get(data.modality)
        changes: dict[str, Any] = {"data_digest": _digest(self)}
        if data.precomputed:
            changes["data"] = ""  # the features are the data
        if not self.representations:
            changes["representations"] = FEATURE_REPRESENTATIONS if data.precomputed else DEFAULT_REPRESENTATIONS
        if not self.sae_k:
            changes["sae_k"] = FEATURE_SAE_K if data.precomputed else DEFAULT_SAE_K
        if not self.input_noise:
            changes["input_noise"] = INPUT_NOISE[data.modality][self.levels == "quick"]
        for kind in SHIFT_FIELDS:
            given = getattr(self, kind)
            if kind not in mod.shifts:
                if given:
                    what = "precomputed features" if data.precomputed else f"{data.modality}s"
                    raise ValueError(f"{kind} == {_j(given)} does not apply to {what} (shifts of {data.modality}s: "
                                     f"{', '.join(mod.shifts)})")
                continue
            if given:
                for lvl in given:
                    mod.check_shift(kind, float(lvl), data.input_shape)
            elif not data.precomputed:
                levels = (mod.quick_levels if self.levels == "quick" else mod.default_levels)[kind]
                usable = _usable(mod, kind, levels, data.input_shape)
                changes[kind] = usable if len(usable) > 1 else ()
        if not data.precomputed:
            mod.arch(self.arch)
        elif self.arch == "cnn":
            raise ValueError("arch == 'cnn' does not apply to precomputed features (vectors), must be mlp or auto")
        reps = changes.get("representations", self.representations)
        ks = changes.get("sae_k", self.sae_k)
        if "sae" in reps:
            d = self.feature_dim if not data.precomputed else int(np.prod(data.input_shape))
            for k in ks:
                if k > self.sae_expansion * d:
                    raise ValueError(f"sae_k contains {k}, must be <= sae_expansion * d == {self.sae_expansion * d}")
        need = memory_need(dataclasses.replace(self, **changes), data)
        if sum(need.values()) > self.memory_budget * 1e9:
            flag = max(need, key=need.get)
            raise ValueError(f"one replicate needs about {sum(need.values()) / 1e9:.2g} GB of arrays (most for {flag}: "
                             f"{need[flag] / 1e9:.2g} GB), over --memory-budget == {self.memory_budget:g} GB; lower "
                             f"{flag} or raise --memory-budget")
        smallest = int(data.class_counts("train").min())
        too_big = [k for k in self.few_shot if k > smallest]
        if too_big:
            raise ValueError(f"few_shot contains {too_big[0]}, must be <= {smallest} (the smallest training class "
                             "has that many samples; use 0 for all)")
        return dataclasses.replace(self, **changes)


def memory_need(cfg: "RealDataConfig", data: Any) -> dict[str, float]:
    """Upper estimates of the bytes one replicate holds at once, by the flag that sizes them: the inputs
    (float64 while prepared, float32 splits, a corrupted copy of the test set), every representation's
    features of all samples (float32, and float64 in the probe and the monosemanticity metrics) and the
    SAE latents. Models are small and trained in batches, so they are left out."""
    n = data.X_train.shape[0] + data.X_test.shape[0] + (0 if data.X_ood is None else data.X_ood.shape[0])
    D = int(np.prod(data.input_shape))
    d = D if data.precomputed else cfg.feature_dim
    reps = [r for r in cfg.representations if r != "sae"]
    widths = {"raw": D, "pca": min(cfg.feature_dim, D), "cl": d, "ncl": d, "ce": d, "nce": d}
    feats = sum(widths[r] for r in reps)
    sae = cfg.sae_expansion * d * len(cfg.sae_k) if "sae" in cfg.representations else 0
    per_value = 4 + 8 * 2  # float32 features + float64 copies in the probe / metrics
    return {"--data" if not data.precomputed else "--features": float(n * D * (8 + 4 + 4)),
            "--representations": float(n * feats * per_value),
            "--sae-expansion": float(n * sae * per_value)}


def _j(vals: Any) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals)


def _usable(mod: modalities.Modality, kind: str, levels: tuple[float, ...], shape: tuple[int, ...]) -> tuple[float, ...]:
    out = []
    for lvl in levels:
        try:
            mod.check_shift(kind, float(lvl), shape)
        except ValueError:
            continue
        out.append(float(lvl))
    return tuple(out)


# --------------------------------------------------------------------------- data
def load_data(spec: str, modality: str = "auto") -> tuple[np.ndarray, np.ndarray, str | None]:
    """``(X, y, modality)`` of a bundled dataset name or of a ``.npz`` file holding arrays ``X`` and ``y``
    (the modality None when the file's shape decides)."""
    from realdata.data import BUNDLED, load_bundled, load_npz

    if spec in BUNDLED:
        X, y, mod = load_bundled(spec)
        if modality not in ("auto", mod):
            raise ValueError(f"modality == {modality!r}, but data == {spec!r} is a bundled {mod} dataset")
        return X, y, mod
    if not Path(spec).exists():
        raise ValueError(f"data == {spec!r}, must be one of {', '.join(BUNDLED)} or an existing .npz file with "
                         "arrays X and y")
    z = load_npz(spec, ("X", "y"))
    return z["X"], z["y"], None if modality == "auto" else modality


def load_dataset(config: Any, seed: int):
    """The :class:`realdata.data.Dataset` of a config or cell (``data`` / ``features``, ``modality``,
    ``image_shape``, ``test_fraction``) split with ``seed``."""
    from realdata.data import load_npz, prepare_dataset, prepare_features

    get = (lambda k: config[k]) if isinstance(config, dict) else (lambda k: getattr(config, k))
    if get("features"):
        z = load_npz(get("features"), ("H", "y"), ("H_test", "y_test", "H_ood", "y_ood"), flag="features")
        return prepare_features(z["H"], z["y"], H_test=z.get("H_test"), y_test=z.get("y_test"), H_ood=z.get("H_ood"),
                                y_ood=z.get("y_ood"), test_fraction=get("test_fraction"), seed=seed,
                                name=Path(get("features")).stem)
    X, y, mod = load_data(get("data"), get("modality"))
    shape = tuple(get("image_shape")) or None
    name = get("data") if mod is not None and get("data") in ("digits", "signals", "tabular", "wine", "breast_cancer") \
        else Path(get("data")).stem
    return prepare_dataset(X, y, modality=mod, image_shape=shape, test_fraction=get("test_fraction"), seed=seed,
                           name=name)


def _digest(config: Any) -> str:
    """Content hash of the arrays the config reads (never their path)."""
    from realdata.data import array_digest, load_npz

    get = (lambda k: config[k]) if isinstance(config, dict) else (lambda k: getattr(config, k))
    if get("features"):
        z = load_npz(get("features"), ("H", "y"), ("H_test", "y_test", "H_ood", "y_ood"), flag="features")
        return "features:" + array_digest(*(z[k] for k in sorted(z)))
    X, y, _ = load_data(get("data"), get("modality"))
    return array_digest(X, y)


# --------------------------------------------------------------------------- the cell
def cell_fn(cell: dict, seed: int) -> list[dict]:
    """One replicate: split, train the representations, run every scenario (see realdata.scenarios)."""
    from realdata.encoders import EncoderConfig, SAEConfig
    from realdata.scenarios import run_replicate

    if cell.get("data_digest") and _digest(cell) != cell["data_digest"]:
        raise ValueError(f"the data changed since the run was configured (content hash {_digest(cell)}, "
                         f"configured {cell['data_digest']}): rerun with --force")
    data = load_dataset(cell, seed)
    mod = modalities.get(data.modality)
    enc = EncoderConfig(arch=cell["arch"], hidden=cell["hidden"], feature_dim=cell["feature_dim"],
                        epochs=cell["epochs"], temperature=cell["temperature"])
    sae = SAEConfig(k=(cell["sae_k"] or (8,))[0], expansion=cell["sae_expansion"], epochs=cell["sae_epochs"])
    if data.precomputed:
        shifts = {k: tuple(float(v) for v in cell[k]) for k in mod.shifts if cell.get(k)}
    else:
        table = mod.quick_levels if cell.get("levels") == "quick" else mod.default_levels
        shifts = {k: tuple(float(v) for v in (cell.get(k) or table[k])) for k in mod.shifts}
    reps = tuple(cell["representations"]) or (FEATURE_REPRESENTATIONS if data.precomputed else DEFAULT_REPRESENTATIONS)
    ks = tuple(cell["sae_k"]) or (FEATURE_SAE_K if data.precomputed else DEFAULT_SAE_K)
    noise = tuple(cell["input_noise"]) or INPUT_NOISE[data.modality][cell.get("levels") == "quick"]
    return run_replicate(
        data, seed=seed, enc_cfg=enc, sae_cfg=sae, representations=reps, sae_k=ks,
        label_noise=cell["label_noise"], input_noise=noise, few_shot=cell["few_shot"], shifts=shifts,
        ridge=cell["ridge"],
    )


# --------------------------------------------------------------------------- outputs
def figures(rows: list[dict], out_dir: Path, config: RealDataConfig) -> list[Path]:
    """Tables (summary.csv, differences.csv, theory_check.csv, report.md) and the figures of
    :mod:`realdata.figures` (accuracy curves, monosemanticity), drawn from summary.csv as a DataFrame."""
    from realdata import figures as RD
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
    written += RD.write_figures(RD.summary_frame(agg, config), out_dir, config)
    return written


# --------------------------------------------------------------------------- CLI
def build_parser() -> cli.ArgumentParser:
    from realdata.data import BUNDLED

    d = RealDataConfig()
    p = cli.ArgumentParser(prog="python -m realdata.run", description=__doc__.split("\n\n")[0],
                           epilog=__doc__.split("\n\n", 1)[1])
    g = p.add_argument_group("data")
    g.add_argument("--data", help=f"a bundled dataset ({', '.join(BUNDLED)}; default {d.data}) or a .npz file with "
                                  "arrays X and y (integer labels)")
    g.add_argument("--features", help="a .npz file of precomputed representations: H (N, d) and y, optionally "
                                      "H_test/y_test and H_ood/y_ood (instead of --data)")
    g.add_argument("--modality", help="image, signal or vector (default: auto = image for 3-D/4-D X, vector for 2-D X)")
    g.add_argument("--image-shape", type=cli.ints, help="H,W (or C,H,W) of flat image rows in X")
    g.add_argument("--test-fraction", type=float, help=f"share of each class held out for testing, in (0, 1) "
                                                       f"(default {d.test_fraction:g})")
    g.add_argument("--replicate", type=cli.ints, help=f"grid axis: replicate indices (one seed each; default "
                                                      f"{_j(d.replicate)})")
    r = p.add_argument_group("representations")
    r.add_argument("--representations", type=cli.strings,
                   help="comma-separated of raw, pca, cl, ncl, ce, nce, sae (default: raw,ce,cl,ncl,sae; with "
                        "--features raw,pca,ce,ncl,sae). raw = the input itself, ce = supervised encoder")
    r.add_argument("--arch", help="encoder backbone: auto (cnn for images and signals, mlp for vectors), cnn or mlp")
    r.add_argument("--epochs", type=int, help=f"training epochs per encoder (default {d.epochs})")
    r.add_argument("--hidden", type=int, help=f"hidden width of the encoders (default {d.hidden})")
    r.add_argument("--feature-dim", type=int, help=f"output feature dimension d (default {d.feature_dim})")
    r.add_argument("--temperature", type=float, help=f"InfoNCE temperature, > 0 (default {d.temperature:g})")
    r.add_argument("--sae-k", type=cli.ints, help="active latents of the top-k SAE; several values train one SAE "
                                                  "each (default 8; with --features 4,8,16)")
    r.add_argument("--sae-expansion", type=int, help=f"SAE dictionary size / d (default {d.sae_expansion})")
    r.add_argument("--sae-epochs", type=int, help=f"SAE training epochs (default {d.sae_epochs})")
    r.add_argument("--ridge", type=float, help=f"ridge penalty of the probe, features scaled to total variance 1 "
                                               f"(default {d.ridge:g})")
    s = p.add_argument_group("scenarios (0 = clean; defaults depend on the modality)")
    s.add_argument("--label-noise", type=cli.floats, help=f"symmetric label-noise rates in [0, 1] (default "
                                                          f"{_j(d.label_noise)})")
    s.add_argument("--input-noise", type=cli.floats, help="input-noise standard deviations, Gaussian and uniform "
                                                          "(default: images 0,0.1,0.2,0.3,0.5; else 0,0.25,0.5,1,2)")
    s.add_argument("--few-shot", type=cli.ints, help=f"training samples per class; 0 = all (default {_j(d.few_shot)})")
    for kind in SHIFT_FIELDS:
        mod = modalities.get(modalities.modality_of_shift(kind))
        meaning = mod.shifts[kind]
        s.add_argument(f"--{kind.replace('_', '-')}", dest=kind, type=cli.floats,
                       help=f"{mod.name} shift levels: {meaning} (default {_j(mod.default_levels[kind])})")
    p.add_argument("--memory-budget", type=float, metavar="GB",
                   help=f"memory for the arrays of one replicate, in GB, in [0.05, 1024] (per worker process); a "
                        f"config that needs more is refused up front, naming the flag (default {d.memory_budget:g})")
    cli.add_run_arguments(p, quick_help="2 replicates, short training, 2-3 levels per scenario (< 60 s)")
    return p


def make_config(args) -> RealDataConfig:
    config = cli.config_from_args(RealDataConfig.quick() if args.quick else RealDataConfig(), args)
    return config.resolved()


def _warnings(rows: list[dict]) -> list[str]:
    from realdata import summary

    return summary.baseline_warnings(rows)


def _print_report(result) -> None:
    report = Path(result.out_dir) / "report.md"
    if report.is_file():
        sys.stdout.write(report.read_text(encoding="utf-8"))
    for w in _warnings(result.rows):
        print(f"python -m realdata.run: warning: {w}", file=sys.stderr)


def main(argv=None) -> int:
    return cli.sweep_main(argv, build_parser(), make_config, cell_fn, figures_fn=figures,
                          on_result=_print_report)


if __name__ == "__main__":
    raise SystemExit(main())
