"""Monosemantic and superposed codes for the robustness comparison (paper §4.2 / Fig. 5), with their
monosemanticity measured.

Every comparator is a code ``W`` of shape ``(m, n)`` (hidden layer ``h = W x``; column ``W_i`` = the
direction of feature ``i``) plus, for trained codes, the output bias ``b`` of the toy model
``x̂ = ReLU(WᵀW x + b)``. Trained codes come from :mod:`sims.engine.toy_model` (Elhage et al. 2022: importance-
weighted MSE, Adam), ``n`` spike-and-uniform features with importance ``I_i = decay^i`` (default
``0.9^i``, Elhage et al.'s choice; ``decay = 1`` is uniform importance):

``"superposed"`` (the polysemantic side of Fig. 5)
    the toy model trained at the *code sparsity* ``S_code`` (high: features rarely co-occur, so the
    model superposes more than ``m`` features, e.g. 34 of 40 in 20 dimensions at ``S = 0.9``,
    antipodal pairs at ``S >= 0.97``).
``"dense"`` (the monosemantic side of Fig. 5)
    the same trainer at ``S = 0`` (dense features): with decaying importance it keeps the ``m`` most
    important features on orthogonal axes and drops the rest (superposition ratio 1, dimensionality 1).
    With uniform importance it does *not* (it learns a rotated projection spread over many features):
    the metrics say so. Its hidden layer is linear, so it has no privileged basis: the *features* are
    orthogonal (feature-monosemantic) but each *neuron* mixes several of them (``neuron_pr`` ~ 8 at
    n = 40, m = 20). A linear probe on ``h`` is invariant to invertible maps of ``h``, so for the probe
    only the features' geometry matters, not the neuron basis.
``"nonneg"``
    the toy model with the constraint ``W >= 0`` (projected Adam: after every Adam step ``W <- max(W,
    0)``; initial ``|W_0|``), trained at ``S_code`` like ``"superposed"`` on the *same* batches: the toy
    analogue of non-negative contrastive learning (the paper's NCL). Non-negative columns cannot
    cancel each other's interference, so the model keeps about ``m`` features, and non-negativity
    makes the neuron basis privileged: about one feature per neuron (``neuron_pr`` ~ 1).
``"random"``
    planted, untrained: i.i.d. Gaussian unit columns for all ``n`` features (``sims.engine.codes``), the
    "random 40 -> 20 code" of the issue.
``"mono"``
    planted, untrained: features ``0..m-1`` on the axes, the rest dropped (``sims.engine.codes``).

Monosemanticity metrics (:func:`monosemanticity`), per code: ``n_represented`` (``‖W_i‖ > 0.5``),
``frac_represented`` (``n_represented / n``), ``superposition_ratio`` (``n_represented / m``),
``features_per_dimension`` (``‖W‖_F² / m``), ``dimensionality`` (Elhage's ``D_i`` averaged over the
represented features), ``coherence`` (max ``|cos|`` between represented features) and ``neuron_pr``
(mean participation ratio of the neurons' weight rows, ``(Σ_i W_ji²)² / Σ_i W_ji⁴``: 1 for a
monosemantic neuron).

Seeds: replicate ``r`` of a comparator uses ``sims.engine.backend.seed_sequence(seed, "code", r)``: its own
training-batch stream and its own initialisation, whatever the other comparators or replicates built
in the same call (the trained codes of all replicates are trained in one batched call).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from sims.engine import backend as B
from sims.engine.validation import (
    NONNEG,
    UNIT_OPEN_RIGHT,
    Interval,
    check_array,
    check_number,
    check_option,
    check_seed,
)

__all__ = [
    "COMPARATORS",
    "TRAINED",
    "MONO_REFERENCE",
    "POLY_REFERENCE",
    "METRIC_KEYS",
    "TrainSettings",
    "Code",
    "build_codes",
    "train_nonneg",
    "monosemanticity",
    "neuron_participation",
]

COMPARATORS = ("superposed", "dense", "nonneg", "random", "mono")
#: comparators trained by the toy-model trainer (the others are planted or derived)
TRAINED = ("superposed", "dense", "nonneg")
#: the pair compared in the Fig.-5 figure and the claims: monosemantic vs polysemantic side
MONO_REFERENCE = "dense"
POLY_REFERENCE = "superposed"
#: keys of :func:`monosemanticity` (columns of every results row)
METRIC_KEYS = ("n_represented", "frac_represented", "superposition_ratio", "features_per_dimension",
               "dimensionality", "coherence", "neuron_pr")
#: column norm above which a feature counts as represented (sims.engine.toy_model.feature_metrics)
THRESHOLD = 0.5


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of the trained comparators (validated).

    steps, batch : Adam steps and batch rows (each step draws a fresh batch).
    lr : Adam step size (betas (0.9, 0.999), eps 1e-8 as in ``sims.engine.toy_model``).
    importance_decay : ``I_i = decay^i`` in (0, 1]; 1 = uniform importance.
    dtype : "float32" | "float64" of the toy-model trainer (the nonneg loop runs in float64).
    """

    steps: int = 2000
    batch: int = 512
    lr: float = 1e-2
    importance_decay: float = 0.9
    dtype: str = "float32"

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", check_number("steps", self.steps, Interval(1, 10**6), integer=True))
        object.__setattr__(self, "batch", check_number("batch", self.batch, Interval(1, 10**6), integer=True))
        object.__setattr__(self, "lr", check_number("lr", self.lr, Interval(0.0, 1.0, "(]")))
        object.__setattr__(self, "importance_decay",
                           check_number("importance_decay", self.importance_decay, Interval(0.0, 1.0, "(]")))
        check_option("dtype", self.dtype, B.DTYPES)

    def importance(self, n: int) -> np.ndarray:
        """``(n,)`` importance weights ``decay^i``."""
        return self.importance_decay ** np.arange(n, dtype=np.float64)


@dataclass
class Code:
    """One comparator's code for one replicate (host numpy arrays, float64).

    W : (m, n); b : (n,) output bias of the toy model (zeros for planted codes); train_sparsity :
    the sparsity it was trained at (NaN if untrained); final_loss : toy-model loss on its last batch
    (NaN if untrained); metrics : :func:`monosemanticity` of ``W``.
    """

    name: str
    rep: int
    W: np.ndarray
    b: np.ndarray
    train_sparsity: float = float("nan")
    final_loss: float = float("nan")
    metrics: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------
def neuron_participation(W: Any) -> np.ndarray:
    """Participation ratio of every neuron's weight row, ``(Σ_i W_ji²)² / Σ_i W_ji⁴`` in ``[1, n]``
    (1: the neuron reads one feature; ``k``: ``k`` features with equal weight). A zero row counts 1.
    ``W (..., m, n)`` → ``(..., m)``."""
    W = np.asarray(B.to_numpy(W), dtype=np.float64)
    check_array("W", W, min_ndim=2)
    sq = W * W
    s2 = sq.sum(axis=-1)
    s4 = (sq * sq).sum(axis=-1)
    safe = np.where(s4 > 0, s4, 1.0)
    return np.where(s4 > 0, s2 * s2 / safe, 1.0)


def monosemanticity(W: Any, threshold: float = THRESHOLD) -> dict[str, Any]:
    """Monosemanticity metrics of a code ``W (..., m, n)``; values are floats (arrays of shape ``(...)``
    for a batch). See the module docstring for the definitions (keys :data:`METRIC_KEYS`)."""
    from sims.engine.toy_model import feature_metrics

    W = np.asarray(B.to_numpy(W), dtype=np.float64)
    check_array("W", W, min_ndim=2)
    threshold = check_number("threshold", threshold, NONNEG)
    m, n = W.shape[-2:]
    fm = feature_metrics(W, threshold=threshold)
    rep = np.asarray(fm["represented"])
    k = rep.sum(axis=-1)
    dim = np.asarray(fm["dimensionality"])
    dim_mean = np.where(k > 0, (dim * rep).sum(axis=-1) / np.maximum(k, 1), 0.0)
    out = {
        "n_represented": k.astype(np.int64),
        "frac_represented": k / n,
        "superposition_ratio": k / m,
        "features_per_dimension": np.asarray(fm["features_per_dimension"], dtype=np.float64),
        "dimensionality": dim_mean,
        "coherence": np.asarray(fm["max_abs_cos"], dtype=np.float64),
        "neuron_pr": neuron_participation(W).mean(axis=-1),
    }
    if W.ndim == 2:
        out = {key: (int(v) if key == "n_represented" else float(v)) for key, v in out.items()}
    return out


# ---------------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------------
def _rep_stream(seed: Any, rep: int) -> int:
    """Integer seed of replicate ``rep``'s training-batch stream."""
    return int(B.rng(seed, "code", rep, "batches").integers(0, 2**62))


class _StackedBatches:
    """Per-instance batches ``(R·k, B, n)``: replicate ``r`` draws from its own stream (common random
    numbers across its ``k`` sparsities), replicates stacked along the instance axis."""

    def __init__(self, n: int, sparsities: Sequence[float], seeds: Sequence[int], batch: int, steps: int,
                 dtype: str) -> None:
        from sims.engine.toy_model import SyntheticBatches

        S = np.asarray(sparsities, dtype=np.float64)
        self.sources = [SyntheticBatches(n, S, batch, s, steps=steps, dtype=dtype) for s in seeds]

    def __iter__(self) -> Iterator[Any]:
        for parts in zip(*self.sources):
            yield B.get_namespace(*parts).concat(parts, axis=0)


def train_nonneg(n: int, m: int, sparsity: float, seeds: Sequence[int], settings: TrainSettings, *,
                 init_seed: int = 0, keys: Sequence[int] | None = None,
                 threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Toy models with ``W >= 0``, one per entry of ``seeds`` (its batch stream), trained together.

    Projected Adam (``sims.engine.toy_model.train_toy_model(..., nonneg=True)``): each Adam step on the
    importance-weighted MSE of ``ReLU(WᵀW x + b)`` is followed by the projection ``W <- max(W, 0)``;
    ``W_0 = |Xavier normal|`` from ``sims.engine.toy_model.init_params`` (instance keys ``keys``), ``b_0 = 0``;
    float64 on the active array backend. ``threads``: worker threads of the trainer (None: its default).

    Returns ``W (R, m, n)``, ``b (R, n)`` and the loss of the last batch ``(R,)``.
    """
    from sims.engine.toy_model import ToyModelConfig, init_params, train_toy_model

    S = check_number("sparsity", sparsity, UNIT_OPEN_RIGHT)
    R = len(seeds)
    if R < 1:
        raise ValueError("seeds == (), must hold at least one batch-stream seed")
    cfg = ToyModelConfig(n, m, n_instances=R, importance=tuple(settings.importance(n)), steps=settings.steps,
                         lr=settings.lr, log_every=settings.steps, seed=init_seed,
                         instance_keys=None if keys is None else tuple(keys), dtype="float64")
    xp = B.resolve_backend()
    W0, b0 = init_params(cfg, xp)
    try:
        res = train_toy_model(cfg, _StackedBatches(n, [S], seeds, settings.batch, settings.steps, "float64"),
                              xp=xp, init=(xp.abs(W0), b0), threads=threads, nonneg=True)
    except FloatingPointError:
        raise FloatingPointError(f"non-negative toy model diverged; lower lr == {settings.lr}") from None
    return (np.asarray(B.to_numpy(res.W), dtype=np.float64), np.asarray(B.to_numpy(res.b), dtype=np.float64),
            res.final_loss)


def build_codes(
    names: Sequence[str],
    n: int,
    m: int,
    *,
    sparsity: float,
    reps: int,
    seed: int,
    settings: TrainSettings | None = None,
    threads: int | None = None,
) -> dict[str, list[Code]]:
    """The comparators ``names`` for replicates ``0..reps-1``: ``{name: [Code(rep=0), ...]}``.

    Parameters
    ----------
    names : subset of :data:`COMPARATORS` (distinct)
    n, m : features and hidden dimensions (``m <= n``)
    sparsity : the code sparsity ``S_code`` in [0, 1) at which "superposed" and "nonneg" are trained
    reps : int >= 1; seed : int >= 0 (replicate ``r`` uses ``seed_sequence(seed, "code", r)``)
    settings : :class:`TrainSettings` (default ``TrainSettings()``)
    threads : worker threads of the toy-model trainer (None: its default)
    """
    names = tuple(names)
    if not names:
        raise ValueError("names == (), must list at least one comparator")
    for nm in names:
        check_option("comparator", nm, COMPARATORS)
    if len(set(names)) != len(names):
        raise ValueError(f"names == {names!r}, comparators must be distinct")
    n = check_number("n", n, Interval(2, 4096), integer=True)
    m = check_number("m", m, Interval(1, n), integer=True)
    S = check_number("sparsity", sparsity, UNIT_OPEN_RIGHT)
    reps = check_number("reps", reps, Interval(1, 1000), integer=True)
    seed = check_seed("seed", seed)
    settings = TrainSettings() if settings is None else settings
    if not isinstance(settings, TrainSettings):
        raise ValueError(f"settings == {settings!r}, must be a TrainSettings")
    streams = [_rep_stream(seed, r) for r in range(reps)]
    out: dict[str, list[Code]] = {}

    # toy models: superposed (S_code) and dense (S = 0), all replicates in one batched call
    toy = [nm for nm in ("superposed", "dense") if nm in names]
    trained: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if toy:
        from sims.engine.toy_model import ToyModelConfig, train_toy_model

        sp = [S if nm == "superposed" else 0.0 for nm in toy]
        keys = tuple(B.stable_key((nm, r)) for r in range(reps) for nm in toy)  # instance r*k + j
        cfg = ToyModelConfig(n, m, n_instances=reps * len(toy), importance=tuple(settings.importance(n)),
                             steps=settings.steps, lr=settings.lr, log_every=settings.steps, seed=seed,
                             instance_keys=keys, dtype=settings.dtype)
        res = train_toy_model(cfg, _StackedBatches(n, sp, streams, settings.batch, settings.steps, settings.dtype),
                              threads=threads)
        W = np.asarray(B.to_numpy(res.W), dtype=np.float64).reshape(reps, len(toy), m, n)
        b = np.asarray(B.to_numpy(res.b), dtype=np.float64).reshape(reps, len(toy), n)
        loss = np.asarray(res.final_loss, dtype=np.float64).reshape(reps, len(toy))
        for j, nm in enumerate(toy):
            trained[nm] = (W[:, j], b[:, j], loss[:, j])
    if "nonneg" in names:
        keys = tuple(B.stable_key(("nonneg", r)) for r in range(reps))
        trained["nonneg"] = train_nonneg(n, m, S, streams, settings, init_seed=seed, keys=keys, threads=threads)

    from sims.engine.codes import make_code

    for nm in names:
        codes = []
        for r in range(reps):
            if nm in trained:
                W_r, b_r, l_r = trained[nm][0][r], trained[nm][1][r], float(trained[nm][2][r])
                s_r = S if nm != "dense" else 0.0
            else:
                fam = "random" if nm == "random" else "mono"
                W_r = np.asarray(B.to_numpy(make_code(fam, n, m, B.seed_sequence(seed, "code", r, fam))), dtype=np.float64)
                b_r, l_r, s_r = np.zeros(n), float("nan"), float("nan")
            codes.append(Code(nm, r, np.ascontiguousarray(W_r), np.ascontiguousarray(b_r), s_r, l_r,
                              monosemanticity(W_r)))
        out[nm] = codes
    return out
