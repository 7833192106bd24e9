"""Robustness scenarios on frozen real features, probed with the engine's closed-form linear probe.

One *replicate* (one seed) = one stratified split, one CL / NCL (/ CE / NCE) encoder each, one SAE on
the CL features, then every scenario on the frozen features:

- ``label_noise``: the probe is fit on train labels flipped with probability η to a uniformly chosen
  OTHER class (symmetric noise); accuracy on the clean test labels. All η share one factorization of the
  train features (``sims.engine.probes.fit_linear`` with a label-set axis).
- ``gaussian_noise`` / ``uniform_noise``: the probe is fit on clean train features; test IMAGES get
  i.i.d. pixel noise of standard deviation ``level`` (uniform: U(−√3 s, √3 s)), no clipping.
- ``few_shot``: the probe is fit on ``k`` train samples per class (``level = k``; ``0`` stands for all).
- ``rotation`` / ``inversion`` / ``blur`` / ``translation``: test images are shifted
  (:data:`realdata.augment.SHIFTS` defines the levels), the probe is the clean one.

Common random numbers: within a replicate all representations see the same split, label flips, few-shot
subsets and pixel-noise draws, and CL / NCL share their initial weights and augmentation draws, so paired
differences between representations have small variance.

Probe: ridge least squares on one-hot targets (``sims.engine.probes.fit_linear``, Cholesky), after centring the
train features and dividing them by ``sqrt(tr Cov)`` (total variance 1). That global rescaling keeps each
representation's geometry (no per-dimension standardization, which would blow up rare sparse latents)
and makes one ``ridge`` value mean the same for every representation.

Rows are tidy and long: ``{representation, scenario, level, metric, value}``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from realdata import augment as aug
from realdata.data import Dataset, few_shot_indices
from realdata.encoders import (
    EncoderConfig,
    SAEConfig,
    SAEEncoder,
    encode,
    train_encoder,
    train_sae,
)
from realdata.monosemanticity import class_geometry, monosemanticity_report
from sims.engine.generators import flip_labels
from sims.engine.backend import rng
from sims.engine.probes import fit_linear
from sims.engine.validation import NONNEG, UNIT, check_number, check_option, check_values

__all__ = [
    "REPRESENTATIONS",
    "NOISE_SCENARIOS",
    "SHIFT_SCENARIOS",
    "train_representations",
    "LinearReadout",
    "fit_readout",
    "label_noise_rows",
    "few_shot_rows",
    "input_noise_rows",
    "shift_rows",
    "run_replicate",
]

REPRESENTATIONS = ("cl", "ncl", "sae", "ce", "nce")
NOISE_SCENARIOS = {"gaussian_noise": "gaussian", "uniform_noise": "uniform"}
SHIFT_SCENARIOS = tuple(aug.SHIFTS)  # rotation, inversion, blur, translation
#: geometry / monosemanticity metrics copied into the tidy rows
GEOMETRY_KEYS = ("separation_min", "separation_mean", "coherence", "fisher_ratio", "fisher_discriminant")
MONO_KEYS = (
    "semantic_consistency",
    "semantic_consistency_both",
    "consistency_chance",
    "sparsity",
    "hoyer_sparsity",
    "dead_dims",
    "dead_fraction",
    "dim",
)


def _row(rep: str, scenario: str, level: float, metric: str, value: float) -> dict:
    return {"representation": rep, "scenario": scenario, "level": float(level), "metric": metric, "value": float(value)}


# --------------------------------------------------------------------------- probe
class LinearReadout:
    """Ridge probe on globally rescaled features (see module docstring); ``predict(H) -> (..., n)``."""

    def __init__(self, H: np.ndarray, y: np.ndarray, n_classes: int, ridge: float):
        H = np.asarray(H, dtype=np.float64)
        self.mean = H.mean(axis=0)
        total_var = float(np.sum(H.var(axis=0)))
        self.scale = np.sqrt(total_var) if total_var > 0 else 1.0
        Z = (H - self.mean) / self.scale
        solver = "cholesky" if ridge > 0 else "svd"
        self.probe = fit_linear(Z, np.asarray(y, dtype=np.int64), n_classes, alpha=ridge, solver=solver)

    def predict(self, H: np.ndarray) -> np.ndarray:
        Z = (np.asarray(H, dtype=np.float64) - self.mean) / self.scale
        return np.asarray(self.probe.predict(Z))


def fit_readout(H: np.ndarray, y: np.ndarray, n_classes: int, ridge: float) -> LinearReadout:
    ridge = check_number("ridge", ridge, NONNEG)
    return LinearReadout(H, y, n_classes, ridge)


def _accuracy(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean(pred == y, axis=-1)


# --------------------------------------------------------------------------- representations
def train_representations(
    data: Dataset,
    enc_cfg: EncoderConfig,
    sae_cfg: SAEConfig,
    seed: int,
    representations: Sequence[str] = ("cl", "ncl", "sae"),
) -> tuple[dict[str, Any], list[dict]]:
    """Train the requested representations; returns ``{name: image -> feature module}`` and rows with
    final training loss (wall times stay out of results so that results.csv is identical on every run and
    executor; the run's manifest records its wall time). ``sae`` trains (or reuses) the CL encoder first."""
    for r in representations:
        check_option("representations", r, REPRESENTATIONS)
    models: dict[str, Any] = {}
    rows: list[dict] = []
    need_cl = "cl" in representations or "sae" in representations
    order = (["cl"] if need_cl else []) + [r for r in representations if r not in ("cl", "sae")]
    for name in order:
        cfg = dataclasses.replace(enc_cfg, variant=name)
        y = data.y_train if name in ("ce", "nce") else None
        model, log = train_encoder(data.X_train, cfg, seed, y=y, n_classes=data.n_classes)
        models[name] = model
        rows.append(_row(name, "training", 0, "final_loss", log.losses[-1]))
    if "sae" in representations:
        H = encode(models["cl"], data.X_train)
        sae, log = train_sae(H, sae_cfg, seed)
        models["sae"] = SAEEncoder(models["cl"], sae)
        rows.append(_row("sae", "training", 0, "final_loss", log.losses[-1]))
    return {r: models[r] for r in representations}, [r for r in rows if r["representation"] in representations]


# --------------------------------------------------------------------------- scenarios
def label_noise_rows(
    feats_tr: Mapping[str, np.ndarray], feats_te: Mapping[str, np.ndarray], data: Dataset,
    rates: Sequence[float], seed: int, ridge: float,
) -> list[dict]:
    rates = check_values("label_noise", rates, UNIT)
    C = data.n_classes
    # (L, n): symmetric noise over the OTHER classes; flipped sets are nested in the rate (common random numbers)
    Y = np.asarray(flip_labels(data.y_train, C, np.asarray(rates)[:, None], seed, kind="symmetric"))
    rows = []
    for name, Htr in feats_tr.items():
        readout = fit_readout(Htr, Y, C, ridge)  # one factorization, L = len(rates) label sets
        acc = _accuracy(readout.predict(feats_te[name]), data.y_test)  # (L,)
        rows += [_row(name, "label_noise", r, "accuracy", a) for r, a in zip(rates, acc)]
    return rows


def few_shot_rows(
    feats_tr: Mapping[str, np.ndarray], feats_te: Mapping[str, np.ndarray], data: Dataset,
    shots: Sequence[int], seed: int, ridge: float,
) -> list[dict]:
    """``shots`` entries: k per class, 0 = all training samples."""
    rows = []
    for k in shots:
        idx = few_shot_indices(data.y_train, None if k == 0 else k, rng_seed(seed, "few_shot", k), n_classes=data.n_classes)
        for name, Htr in feats_tr.items():
            readout = fit_readout(Htr[idx], data.y_train[idx], data.n_classes, ridge)
            rows.append(_row(name, "few_shot", k, "accuracy", _accuracy(readout.predict(feats_te[name]), data.y_test)))
    return rows


def rng_seed(seed: int, *keys: Any) -> int:
    """A 63-bit integer seed derived from ``seed`` and ``keys`` (for functions that take an int seed)."""
    return int(rng(seed, *keys).integers(0, 2**63 - 1))


def _corrupted_rows(
    models: Mapping[str, Any], readouts: Mapping[str, LinearReadout], data: Dataset, scenario: str,
    levels: Sequence[float], make: Callable[[float], np.ndarray],
) -> list[dict]:
    rows = []
    for lvl in levels:
        X = make(lvl)
        for name, model in models.items():
            H = encode(model, X)
            rows.append(_row(name, scenario, lvl, "accuracy", _accuracy(readouts[name].predict(H), data.y_test)))
            rows.append(_row(name, scenario, lvl, "fisher_ratio", class_geometry(H, data.y_test, discriminant=False)["fisher_ratio"]))
    return rows


def input_noise_rows(
    models: Mapping[str, Any], readouts: Mapping[str, LinearReadout], data: Dataset,
    stds: Sequence[float], seed: int,
) -> list[dict]:
    stds = check_values("input_noise", stds, NONNEG)
    rows = []
    for scenario, kind in NOISE_SCENARIOS.items():
        def make(s: float, kind: str = kind) -> np.ndarray:
            g = aug.make_generator(seed, "input_noise", kind, float(s))
            return aug.add_noise(data.X_test, float(s), g, kind=kind)
        rows += _corrupted_rows(models, readouts, data, scenario, [float(s) for s in stds], make)
    return rows


def shift_rows(
    models: Mapping[str, Any], readouts: Mapping[str, LinearReadout], data: Dataset,
    shifts: Mapping[str, Sequence[float]],
) -> list[dict]:
    rows = []
    for kind, levels in shifts.items():
        check_option("shift", kind, SHIFT_SCENARIOS)
        rows += _corrupted_rows(
            models, readouts, data, kind, [float(v) for v in levels],
            lambda lvl, kind=kind: aug.apply_shift(data.X_test, kind, lvl),
        )
    return rows


# --------------------------------------------------------------------------- one replicate
def run_replicate(
    data: Dataset,
    *,
    seed: int,
    enc_cfg: EncoderConfig,
    sae_cfg: SAEConfig,
    representations: Sequence[str] = ("cl", "ncl", "sae"),
    label_noise: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8),
    input_noise: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
    few_shot: Sequence[int] = (1, 2, 5, 10, 0),
    shifts: Mapping[str, Sequence[float]] | None = None,
    ridge: float = 1e-2,
) -> list[dict]:
    """Train the representations on ``data`` and run every scenario; returns the tidy rows."""
    if shifts is None:
        shifts = {"rotation": (0.0, 15.0, 30.0, 45.0), "inversion": (0.0, 0.25, 1.0),
                  "blur": (0.0, 0.5, 1.0), "translation": (0.0, 1.0, 2.0)}
    models, rows = train_representations(data, enc_cfg, sae_cfg, seed, representations)
    feats_tr = {n: encode(m, data.X_train) for n, m in models.items()}
    feats_te = {n: encode(m, data.X_test) for n, m in models.items()}
    for name in models:
        mono = monosemanticity_report(feats_te[name], data.y_test)
        rows += [_row(name, "monosemanticity", 0, k, mono[k]) for k in MONO_KEYS]
        geo = class_geometry(feats_tr[name], data.y_train)
        rows += [_row(name, "geometry", 0, k, geo[k]) for k in GEOMETRY_KEYS]
    readouts = {n: fit_readout(feats_tr[n], data.y_train, data.n_classes, ridge) for n in models}
    rows += label_noise_rows(feats_tr, feats_te, data, label_noise, seed, ridge)
    rows += few_shot_rows(feats_tr, feats_te, data, few_shot, seed, ridge)
    rows += input_noise_rows(models, readouts, data, input_noise, seed)
    rows += shift_rows(models, readouts, data, shifts)
    return rows
