"""Robustness scenarios on frozen representations of real data, probed with the engine's closed-form probe.

One *replicate* (one seed) = one split, one of each representation, then every scenario on the frozen
features. Representations (:data:`REPRESENTATIONS`), each a torch module from inputs to features:

- ``raw``: the input itself, flattened (pixels, samples of a signal, the vector or the given features):
  the baseline every learned representation must beat;
- ``pca``: the top principal components of the training inputs (a dense linear code of the NCL width);
- ``cl`` / ``ncl``: a SimCLR encoder and its non-negative twin (:mod:`realdata.encoders`), with the views
  of the data's modality; on precomputed features this is a head trained contrastively on top of them;
- ``ce`` / ``nce``: the same architecture trained with cross-entropy on the labels (the supervised baseline);
- ``sae``: a top-k SAE on the CL features (raw data) or on the given features (precomputed); with
  several ``k`` one SAE per k, named ``sae_k<k>``.

Scenarios:

- ``label_noise``: the probe is fit on train labels flipped with probability η to a uniformly chosen
  OTHER class (symmetric noise); accuracy on the clean test labels. All η share one factorization of the
  train features (``sims.engine.probes.fit_linear`` with a label-set axis).
- ``gaussian_noise`` / ``uniform_noise``: the probe is fit on clean train features; test INPUTS get i.i.d.
  noise of standard deviation ``level`` (uniform: U(−√3 s, √3 s)), no clipping (pixels in [0, 1];
  standardized units for signals and vectors; for precomputed features: feature-space noise).
- ``few_shot``: the probe is fit on ``k`` train samples per class (``level = k``; ``0`` stands for all).
- shifts of the modality (:mod:`realdata.modalities`): test inputs are shifted, the probe is the clean one.
- ``ood``: a given out-of-distribution test set (``Dataset.X_ood``), level 1.

Common random numbers: within a replicate all representations see the same split, label flips, few-shot
subsets and noise draws, and CL / NCL / CE share their initial weights and view draws, so paired
differences between representations have small variance.

Probe: ridge least squares on one-hot targets (``sims.engine.probes.fit_linear``, Cholesky), after centring the
train features and dividing them by ``sqrt(tr Cov)`` (total variance 1). That global rescaling keeps each
representation's geometry (no per-dimension standardization, which would blow up rare sparse latents)
and makes one ``ridge`` value mean the same for every representation.

Rows are tidy and long: ``{representation, scenario, level, metric, value}``.

Array backend: the probes and the accuracies run on the backend of the run (``sims.engine.backend``:
numpy, CuPy or array-api-strict, inside the runner's ``using`` block). Features leave torch once per
representation and input set (through DLPack on the host, then one move to the backend's device);
predictions and accuracies stay there, and only the final numbers come back. The monosemanticity and
geometry metrics (:mod:`realdata.monosemanticity`: quantiles, sorting, ``numpy.linalg``) are host
computations on the host copy of the features.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from realdata import augment as aug
from realdata import modalities
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
from sims.engine import backend as B
from sims.engine.backend import rng
from sims.engine.generators import flip_labels
from sims.engine.probes import fit_linear
from sims.engine.validation import NONNEG, UNIT, check_number, check_option, check_values

__all__ = [
    "REPRESENTATIONS",
    "SELF_SUPERVISED",
    "NOISE_SCENARIOS",
    "SHIFT_SCENARIOS",
    "Raw",
    "PCA",
    "sae_names",
    "train_representations",
    "LinearReadout",
    "fit_readout",
    "label_noise_rows",
    "few_shot_rows",
    "input_noise_rows",
    "shift_rows",
    "ood_rows",
    "run_replicate",
]

REPRESENTATIONS = ("raw", "pca", "cl", "ncl", "ce", "nce", "sae")
#: representations learned without labels (their clean accuracy is compared with raw's)
SELF_SUPERVISED = ("cl", "ncl", "sae")
NOISE_SCENARIOS = {"gaussian_noise": "gaussian", "uniform_noise": "uniform"}
SHIFT_SCENARIOS = modalities.SHIFT_KINDS
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


# --------------------------------------------------------------------------- fixed representations
class Raw(nn.Module):
    """The input, flattened to ``(B, prod(in_shape))``."""

    def __init__(self, in_shape: Sequence[int]):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)

    @property
    def out_dim(self) -> int:
        return int(np.prod(self.in_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class PCA(nn.Module):
    """Projection of the flattened input on the top ``width`` principal axes of the training inputs."""

    def __init__(self, X_train: np.ndarray, width: int):
        super().__init__()
        self.in_shape = tuple(int(s) for s in X_train.shape[1:])
        Xf = np.asarray(X_train, dtype=np.float64).reshape(X_train.shape[0], -1)
        mean = Xf.mean(axis=0)
        width = int(min(width, Xf.shape[1], Xf.shape[0] - 1))
        _, _, Vt = np.linalg.svd(Xf - mean, full_matrices=False)
        signs = np.where(Vt[:width].max(axis=1) >= -Vt[:width].min(axis=1), 1.0, -1.0)  # deterministic signs
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("components", torch.from_numpy((Vt[:width] * signs[:, None]).T.astype(np.float32)))

    @property
    def out_dim(self) -> int:
        return int(self.components.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.reshape(x.shape[0], -1) - self.mean) @ self.components


def sae_names(ks: Sequence[int]) -> list[str]:
    """Representation names of the SAEs: ``sae`` for one k, ``sae_k<k>`` for several."""
    return ["sae"] if len(ks) == 1 else [f"sae_k{k}" for k in ks]


# --------------------------------------------------------------------------- probe
def on_backend(A: Any, dtype: str = "float64") -> Any:
    """``A`` (numpy, a torch tensor, or an array of the backend) on the active backend's device as
    ``dtype`` (``"float64"`` or ``"int64"``); torch tensors cross over through DLPack."""
    xp = B.resolve_backend()
    if hasattr(A, "__array_namespace__") and not isinstance(A, np.ndarray):
        if B.backend_name(B.get_namespace(A)) == B.backend_name(xp):
            return A if dtype != "float64" else xp.astype(A, xp.float64)
        A = B.to_numpy(A)
    if isinstance(A, torch.Tensor):
        A = np.from_dlpack(A.detach().cpu())
    host = np.asarray(A, dtype=np.float64 if dtype == "float64" else np.int64)
    return B.asarray(host, xp, dtype=xp.float64 if dtype == "float64" else xp.int64)


class LinearReadout:
    """Ridge probe on globally rescaled features (see module docstring), on the active array backend;
    ``predict(H) -> (..., n)`` labels on that backend."""

    def __init__(self, H: Any, y: Any, n_classes: int, ridge: float):
        xp = B.resolve_backend()
        H = on_backend(H)
        self.mean = xp.mean(H, axis=0)
        total_var = float(xp.sum(xp.var(H, axis=0)))
        self.scale = math.sqrt(total_var) if total_var > 0 else 1.0
        Z = (H - self.mean) / self.scale
        solver = "cholesky" if ridge > 0 else "svd"
        self.probe = fit_linear(Z, on_backend(y, "int64"), n_classes, alpha=ridge, solver=solver)

    def predict(self, H: Any) -> Any:
        Z = (on_backend(H) - self.mean) / self.scale
        return self.probe.predict(Z)


def fit_readout(H: Any, y: Any, n_classes: int, ridge: float) -> LinearReadout:
    ridge = check_number("ridge", ridge, NONNEG)
    return LinearReadout(H, y, n_classes, ridge)


def _accuracy(pred: Any, y: Any) -> Any:
    """Accuracy along the last axis, computed on the backend; a float (or a host array of floats)."""
    xp = B.resolve_backend()
    hits = xp.astype(pred == on_backend(y, "int64"), xp.float64)
    acc = xp.mean(hits, axis=-1)
    return float(acc) if acc.ndim == 0 else B.to_numpy(acc)


# --------------------------------------------------------------------------- representations
def train_representations(
    data: Dataset,
    enc_cfg: EncoderConfig,
    sae_cfg: SAEConfig,
    seed: int,
    representations: Sequence[str] = ("raw", "ce", "cl", "ncl", "sae"),
    *,
    sae_k: Sequence[int] | None = None,
) -> tuple[dict[str, Any], list[dict]]:
    """Train the requested representations; returns ``{name: input -> feature module}`` (in the order
    asked, SAEs expanded per k) and rows with each final training loss (wall times stay out of results so
    that results.csv is identical on every run and executor). On raw data the SAEs read the CL features
    (the CL encoder is trained for them if not asked for); on precomputed features they read the features."""
    for r in representations:
        check_option("representations", r, REPRESENTATIONS)
    ks = tuple(sae_k) if sae_k else (sae_cfg.k,)
    models: dict[str, Any] = {}
    rows: list[dict] = []
    need_cl = "cl" in representations or ("sae" in representations and not data.precomputed)
    order = (["cl"] if need_cl else []) + [r for r in representations if r not in ("cl", "sae")]
    for name in order:
        if name == "raw":
            models[name] = Raw(data.input_shape)
            continue
        if name == "pca":
            models[name] = PCA(data.X_train, enc_cfg.feature_dim)
            continue
        cfg = dataclasses.replace(enc_cfg, variant=name)
        y = data.y_train if name in ("ce", "nce") else None
        model, log = train_encoder(data.X_train, cfg, seed, y=y, n_classes=data.n_classes)
        models[name] = model
        rows.append(_row(name, "training", 0, "final_loss", log.losses[-1]))
    names = list(representations)
    if "sae" in representations:
        base = Raw(data.input_shape) if data.precomputed else models["cl"]
        H = encode(base, data.X_train)
        i = names.index("sae")
        names[i:i + 1] = sae_names(ks)
        for nm, k in zip(sae_names(ks), ks):
            if k > sae_cfg.expansion * H.shape[1]:
                raise ValueError(f"sae_k contains {k}, must be <= sae_expansion * d == {sae_cfg.expansion * H.shape[1]}")
            sae, log = train_sae(H, dataclasses.replace(sae_cfg, k=int(k)), seed)
            models[nm] = SAEEncoder(base, sae)
            rows.append(_row(nm, "training", 0, "final_loss", log.losses[-1]))
    return {r: models[r] for r in names}, [r for r in rows if r["representation"] in names]


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
            xp = B.get_namespace(Htr)
            readout = fit_readout(xp.take(Htr, on_backend(idx, "int64"), axis=0), data.y_train[idx], data.n_classes, ridge)
            rows.append(_row(name, "few_shot", k, "accuracy", _accuracy(readout.predict(feats_te[name]), data.y_test)))
    return rows


def rng_seed(seed: int, *keys: Any) -> int:
    """A 63-bit integer seed derived from ``seed`` and ``keys`` (for functions that take an int seed)."""
    return int(rng(seed, *keys).integers(0, 2**63 - 1))


def _corrupted_rows(
    models: Mapping[str, Any], readouts: Mapping[str, LinearReadout], y: np.ndarray, scenario: str,
    levels: Sequence[float], make: Callable[[float], np.ndarray],
) -> list[dict]:
    rows = []
    for lvl in levels:
        X = make(lvl)
        for name, model in models.items():
            H = encode(model, X)
            rows.append(_row(name, scenario, lvl, "accuracy", _accuracy(readouts[name].predict(H), y)))
            rows.append(_row(name, scenario, lvl, "fisher_ratio", class_geometry(H, y, discriminant=False)["fisher_ratio"]))
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
        rows += _corrupted_rows(models, readouts, data.y_test, scenario, [float(s) for s in stds], make)
    return rows


def shift_rows(
    models: Mapping[str, Any], readouts: Mapping[str, LinearReadout], data: Dataset,
    shifts: Mapping[str, Sequence[float]],
) -> list[dict]:
    """Every shift of the data's modality at every level (each checked to apply to the data first)."""
    mod = modalities.get(data.modality)
    rows = []
    for kind, levels in shifts.items():
        check_option("shift", kind, tuple(mod.shifts))
        for lvl in levels:
            mod.check_shift(kind, float(lvl), data.input_shape)
        rows += _corrupted_rows(
            models, readouts, data.y_test, kind, [float(v) for v in levels],
            lambda lvl, kind=kind: mod.apply_shift(data.X_test, kind, lvl),
        )
    return rows


def ood_rows(models: Mapping[str, Any], readouts: Mapping[str, LinearReadout], data: Dataset) -> list[dict]:
    """Accuracy of the clean probes on the given out-of-distribution set (``level`` 1), if there is one."""
    if data.X_ood is None:
        return []
    return _corrupted_rows(models, readouts, data.y_ood, "ood", [1.0], lambda _: data.X_ood)


# --------------------------------------------------------------------------- one replicate
def run_replicate(
    data: Dataset,
    *,
    seed: int,
    enc_cfg: EncoderConfig,
    sae_cfg: SAEConfig,
    representations: Sequence[str] = ("raw", "ce", "cl", "ncl", "sae"),
    sae_k: Sequence[int] | None = None,
    label_noise: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8),
    input_noise: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
    few_shot: Sequence[int] = (1, 2, 5, 10, 0),
    shifts: Mapping[str, Sequence[float]] | None = None,
    ridge: float = 1e-2,
) -> list[dict]:
    """Train the representations on ``data`` and run every scenario; returns the tidy rows.
    ``shifts`` None: the modality's default levels (none for precomputed features)."""
    if shifts is None:
        shifts = {} if data.precomputed else dict(modalities.get(data.modality).default_levels)
    models, rows = train_representations(data, enc_cfg, sae_cfg, seed, representations, sae_k=sae_k)
    feats_tr = {n: encode(m, data.X_train) for n, m in models.items()}  # host copies (torch -> DLPack)
    feats_te = {n: encode(m, data.X_test) for n, m in models.items()}
    for name in models:  # host metrics (quantiles, sorting, numpy.linalg)
        mono = monosemanticity_report(feats_te[name], data.y_test)
        rows += [_row(name, "monosemanticity", 0, k, mono[k]) for k in MONO_KEYS]
        geo = class_geometry(feats_tr[name], data.y_train)
        rows += [_row(name, "geometry", 0, k, geo[k]) for k in GEOMETRY_KEYS]
    feats_tr = {n: on_backend(H) for n, H in feats_tr.items()}  # one move each to the backend's device
    feats_te = {n: on_backend(H) for n, H in feats_te.items()}
    readouts = {n: fit_readout(feats_tr[n], data.y_train, data.n_classes, ridge) for n in models}
    rows += label_noise_rows(feats_tr, feats_te, data, label_noise, seed, ridge)
    rows += few_shot_rows(feats_tr, feats_te, data, few_shot, seed, ridge)
    rows += input_noise_rows(models, readouts, data, input_noise, seed)
    rows += shift_rows(models, readouts, data, shifts)
    rows += ood_rows(models, readouts, data)
    return rows
