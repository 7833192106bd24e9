"""Toy models of superposition (Elhage et al. 2022, "ReLU output model"), many trained at once.

The paper under test (Zhang et al., ICLR 2025, §4.2 / Fig. 5) trains this model with 40 features in
20 dimensions. For one instance, with samples as rows (a batch ``x`` has shape ``(B, n)``)::

    h = x Wᵀ,   pre = x WᵀW + 1 bᵀ,   x̂ = ReLU(pre),     W ∈ R^{m×n}, b ∈ R^n
    L(W, b) = (1/B) Σ_rows Σ_i I_i (x_i − x̂_i)²                      (1) importance-weighted MSE

Analytic gradients (checked by finite differences in ``tests/test_toy_model.py``). With
``M = WᵀW`` (symmetric, ``(n, n)``)::

    g := ∂L/∂pre = (2/B) I ⊙ (x̂ − x) ⊙ 1[pre > 0]
              = (2/B) I ⊙ (pre − x) ⊙ 1[pre > 0]                      (2) (x̂ = pre where pre > 0)
    G := ∂L/∂M = xᵀ g           (n, n)                                  (3)
    ∂L/∂b = 1ᵀ g                (n,)                                    (4)
    dM = dWᵀW + WᵀdW  ⇒  dL = <G, dWᵀW> + <G, WᵀdW> = <W Gᵀ + W G, dW>
    ∂L/∂W = W (G + Gᵀ)          (m, n)                                  (5)

Implementation (two thin GEMMs forward, one backward, the bias folded into θ): with the packed
parameters ``θ = [W; bᵀ]`` ``(m+1, n)`` and ``h̃ = [h, 1]`` ``(B, m+1)``::

    h = x Wᵀ,   pre = h̃ θ = h W + 1 bᵀ                                   (6)
    D = (pre − x) ⊙ 1[pre > 0]        (g without its column scale s = 2 I / B)
    [xᵀ D; 1ᵀ D] diag(s) = [G; (∂L/∂b)ᵀ]     (n+1, n)                    (7)

(``x WᵀW`` as ``(x Wᵀ) W`` costs ``2Bmn`` = ``Bn²`` at n = 2m, like ``x M``, but the two thin
GEMMs run faster; ``Wᵀ`` is made C-contiguous first, which the BLAS kernels prefer.)

Optimiser: Adam (Kingma & Ba 2015, Alg. 1) with torch.optim.Adam's defaults and arrangement::

    m ← β1 m + (1 − β1) ∇,   v ← β2 v + (1 − β2) ∇²
    θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)                  (8)
    lr = 1e-3, (β1, β2) = (0.9, 0.999), ε = 1e-8 by default.

Parameters are packed as ``θ = [W; bᵀ]`` of shape ``(I, m+1, n)``: a leading *instance* axis (a
flattened grid of sparsity × importance × seed) trains ``I`` independent models at once; the summed
objective Σ_instances L has block-separable gradients, so batched training equals training each
instance alone.

Data are not this module's business: :func:`train_toy_model` consumes any iterable of batches ``x``
of shape ``(I, B, n)`` (or ``(B, n)``, shared by every instance) and an optional evaluator callable.
:class:`SyntheticBatches` is the spike-and-uniform source (``sims.engine.generators.sample_features`` with
per-instance sparsity and common random numbers); a real-data bridge feeds the same trainer.

Two solvers with the same arithmetic: ``"generic"`` (Array API only: numpy, array_api_strict, CuPy)
and ``"numpy"`` (numpy with preallocated buffers and ``out=``; bitwise equal to ``"generic"`` on
numpy, tested). ``solver="auto"`` picks ``"numpy"`` on numpy and ``"generic"`` elsewhere.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from sims.engine import backend as B
from sims.engine.toy_solvers import _GenericSolver, _grad_generic, _loss_from_pre, _NumpySolver
from sims.engine.validation import (
    NONNEG,
    POSITIVE,
    Interval,
    check_array,
    check_number,
    check_option,
    check_seed,
    check_values,
)

__all__ = [
    "SOLVERS",
    "ToyModelConfig",
    "ToyModelResult",
    "SyntheticBatches",
    "init_params",
    "train_toy_model",
    "toy_loss",
    "toy_gradients",
    "feature_metrics",
]

SOLVERS = ("auto", "generic", "numpy")
_INIT_KEY = "toy-model-init"
_BETA = Interval(0.0, 1.0, "[)")


# ---------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToyModelConfig:
    """Hyper-parameters of a batch of ``I`` toy models (validated; lossless ``to_dict``/``from_dict``).

    Attributes
    ----------
    n_features, n_hidden : int >= 1
        ``n`` and ``m`` (W is ``(m, n)``).
    n_instances : int >= 1
        ``I``, the leading instance axis.
    importance : None, n floats, or I rows of n floats, all >= 0 and finite
        ``I_i`` in (1); ``None`` = ones. Stored as a tuple (of tuples).
    steps : int >= 1
        Adam steps (= batches consumed).
    lr, betas, eps : Adam's step size, moment decays in [0, 1), denominator guard > 0 (eq. 8).
    log_every : int >= 1
        The loss of every instance is recorded at steps 0, k, 2k, ... and at the last step.
    seed : int >= 0; instance_keys : None or I ints >= 0
        Instance ``j`` is initialised from ``sims.engine.backend.rng(seed, "toy-model-init",
        instance_keys[j])`` (default keys ``0..I-1``); training instance ``j`` alone with
        ``instance_keys=(j,)`` reproduces it.
    dtype : "float32" (default) | "float64"
    solver : "auto" | "generic" | "numpy"
    """

    n_features: int
    n_hidden: int
    n_instances: int = 1
    importance: Any = None
    steps: int = 1000
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    log_every: int = 10
    seed: int = 0
    instance_keys: tuple[int, ...] | None = None
    dtype: str = "float32"
    solver: str = "auto"

    def __post_init__(self) -> None:
        pos_int = Interval(1, None)
        n = check_number("n_features", self.n_features, pos_int, integer=True)
        m = check_number("n_hidden", self.n_hidden, pos_int, integer=True)
        inst = check_number("n_instances", self.n_instances, pos_int, integer=True)
        for name, v in (("n_features", n), ("n_hidden", m), ("n_instances", inst)):
            object.__setattr__(self, name, v)
        object.__setattr__(self, "steps", check_number("steps", self.steps, pos_int, integer=True))
        object.__setattr__(self, "log_every", check_number("log_every", self.log_every, pos_int, integer=True))
        object.__setattr__(self, "lr", check_number("lr", self.lr, POSITIVE))
        object.__setattr__(self, "eps", check_number("eps", self.eps, POSITIVE))
        betas = check_values("betas", self.betas, _BETA)
        if betas.shape != (2,):
            raise ValueError(f"betas == {self.betas!r}, must be a pair (beta1, beta2) in [0, 1)")
        object.__setattr__(self, "betas", (float(betas[0]), float(betas[1])))
        object.__setattr__(self, "seed", check_seed("seed", self.seed))
        check_option("dtype", self.dtype, B.DTYPES)
        check_option("solver", self.solver, SOLVERS)
        if self.importance is not None:
            imp = check_values("importance", self.importance, Interval(0.0, math.inf, "[)"))
            if imp.shape not in ((n,), (inst, n)):
                raise ValueError(
                    f"importance has shape {imp.shape}, must be ({n},) or ({inst}, {n}) (n_instances, n_features)"
                )
            canon = tuple(map(float, imp)) if imp.ndim == 1 else tuple(tuple(map(float, r)) for r in imp)
            object.__setattr__(self, "importance", canon)
        if self.instance_keys is not None:
            keys = np.asarray(self.instance_keys)
            if keys.shape != (inst,):
                raise ValueError(f"instance_keys has shape {keys.shape}, must be ({inst},) (n_instances)")
            object.__setattr__(
                self, "instance_keys", tuple(check_seed("instance_keys", k) for k in keys.tolist())
            )

    def importance_array(self) -> np.ndarray:
        """Importance as a float64 host array of shape ``(I, n)``."""
        if self.importance is None:
            return np.ones((self.n_instances, self.n_features))
        return np.broadcast_to(np.asarray(self.importance, dtype=np.float64),
                               (self.n_instances, self.n_features)).copy()

    def keys(self) -> tuple[int, ...]:
        """Per-instance initialisation keys (default ``0..I-1``)."""
        return tuple(range(self.n_instances)) if self.instance_keys is None else self.instance_keys

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples become lists)."""
        def plain(v: Any) -> Any:
            return [plain(e) for e in v] if isinstance(v, tuple) else v
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ToyModelConfig":
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        names = {f.name for f in fields(cls)}
        extra = sorted(set(d) - names)
        if extra:
            raise ValueError(f"ToyModelConfig keys {extra!r} unknown, must be among {sorted(names)!r}")
        return cls(**dict(d))


@dataclass
class ToyModelResult:
    """Output of :func:`train_toy_model`.

    W : (I, m, n) and b : (I, n), arrays of the training namespace.
    loss_steps : (K,) int — the steps at which losses were recorded (0, k, 2k, ..., steps-1).
    loss_history : (K, I) float64 — loss (1) of each instance on the batch of that step, *before*
        that step's update (the usual training log).
    final_loss : (I,) float64 — ``loss_history[-1]`` (last batch, parameters after steps-1 updates).
    evals : list of (step, dict) — evaluator outputs (``step`` = updates applied so far).
    solver : the solver that ran ("generic" or "numpy"); backend : its namespace name.
    seconds : wall time of the training loop (data iteration included).
    """

    W: Any
    b: Any
    loss_steps: np.ndarray
    loss_history: np.ndarray
    final_loss: np.ndarray
    config: ToyModelConfig
    solver: str
    backend: str
    evals: list = field(default_factory=list)
    seconds: float = 0.0

    def metrics(self, threshold: float = 0.5) -> dict[str, Any]:
        """:func:`feature_metrics` of the trained ``W``."""
        return feature_metrics(self.W, threshold=threshold)


# ---------------------------------------------------------------------------------------------------
# namespaces and initialisation
# ---------------------------------------------------------------------------------------------------
def _namespace(xp: Any) -> Any:
    """A backend name, a namespace, or None ($SIMS_BACKEND, default numpy) -> Array-API namespace."""
    if xp is None or isinstance(xp, str):
        return B.resolve_backend(xp)
    return B.get_namespace(xp=xp)


def init_params(config: ToyModelConfig, xp: Any = None) -> tuple[Any, Any]:
    """Xavier-normal ``W`` (std √(2/(m+n))) and zero ``b``, seeded per instance.

    Returns ``W (I, m, n)`` and ``b (I, n)`` in ``config.dtype`` on ``xp``. Instance ``j`` draws from
    the host Generator ``sims.engine.backend.rng(config.seed, "toy-model-init", config.keys()[j])``, so the
    values do not depend on the backend or on the other instances.
    """
    if not isinstance(config, ToyModelConfig):
        raise ValueError(f"config == {config!r}, must be a ToyModelConfig")
    xp = _namespace(xp)
    n, m = config.n_features, config.n_hidden
    std = math.sqrt(2.0 / (m + n))
    W = np.stack([B.rng(config.seed, _INIT_KEY, k).standard_normal((m, n)) * std for k in config.keys()])
    dt = B.resolve_dtype(xp, config.dtype)
    Wd = B.asarray(W, xp, dtype=dt)
    return Wd, xp.zeros((config.n_instances, n), dtype=dt, device=B.device_of(Wd))


# ---------------------------------------------------------------------------------------------------
# model, loss, gradients (Array API)
# ---------------------------------------------------------------------------------------------------
def _check_model(W: Any, b: Any, x: Any, importance: Any) -> tuple[Any, Any, Any, Any, Any]:
    check_array("W", W, min_ndim=2, real_floating=True)
    m, n = W.shape[-2], W.shape[-1]
    check_array("b", b, shape=tuple(W.shape[:-2]) + (n,), real_floating=True)
    check_array("x", x, min_ndim=2, real=True)
    if x.shape[-1] != n:
        raise ValueError(f"x.shape == {tuple(x.shape)}, must end in n_features == {n}")
    xp = B.get_namespace(W, b, x)
    imp = np.ones(n) if importance is None else check_values("importance", B.to_numpy(importance),
                                                              Interval(0.0, math.inf, "[)"))
    if imp.ndim == 0 or imp.shape[-1] != n:
        raise ValueError(f"importance has shape {imp.shape}, must end in n_features == {n}")
    return xp, m, n, imp, B.asarray(imp, xp, dtype=W.dtype, device=B.device_of(W))


def toy_loss(W: Any, b: Any, x: Any, importance: Any = None) -> Any:
    """Importance-weighted MSE (1) of the ReLU output model.

    W : (..., m, n); b : (..., n); x : (..., B, n) (broadcast against the leading axes);
    importance : (n,) or (..., n) or None (ones). Returns the loss per instance, shape ``(...)``.
    """
    xp, m, n, _, imp = _check_model(W, b, x, importance)
    M = xp.matmul(xp.matrix_transpose(W), W)                          # (..., n, n)  M = WᵀW
    pre = xp.matmul(x, M) + b[..., None, :]                            # (..., B, n)  (1)
    return _loss_from_pre(xp, pre, x, imp)


def toy_gradients(W: Any, b: Any, x: Any, importance: Any = None) -> tuple[Any, Any, Any]:
    """Loss (1) and its analytic gradients (5), (4) — the generic trainer's arithmetic.

    Shapes: W (..., m, n), b (..., n), x (..., B, n). Returns ``(loss (...), dW (..., m, n),
    db (..., n))``.
    """
    xp, m, n, _, imp = _check_model(W, b, x, importance)
    theta = xp.concat([W, b[..., None, :]], axis=-2)                  # (..., m+1, n)
    scale = 2.0 * imp / x.shape[-2]
    loss, grad = _grad_generic(xp, theta, x, scale[..., None, :], imp, m, record=True)
    return loss, grad[..., :m, :], grad[..., m, :]


# ---------------------------------------------------------------------------------------------------
# trainer
# ---------------------------------------------------------------------------------------------------
def _prepare_batch(x: Any, xp: Any, dt: Any, I: int, n: int, first: bool, step: int) -> Any:
    """Move a batch to ``xp``/``dt`` and check its shape ((I, B, n) or (B, n)); finiteness on the first."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise ValueError(f"batches[{step}]: batches yielded {type(x).__name__} at step {step}, must yield arrays "
                         "(I, B, n) or (B, n)")
    shape = tuple(x.shape)
    if not (len(shape) == 2 and shape[1] == n) and not (len(shape) == 3 and shape[0] == I and shape[2] == n) \
            or shape[-2] < 1:
        raise ValueError(f"batches[{step}].shape == {shape} (the batch at step {step}), must be ({I}, B, {n}) or "
                         f"(B, {n}) with B >= 1")
    check_array(f"batches[{step}]", x, finite=False, real=True)
    if B.backend_name(B.get_namespace(x)) != B.backend_name(xp):
        x = B.asarray(B.to_numpy(x), xp)
    if x.dtype != dt:
        x = xp.astype(x, dt)
    if first:
        check_array("batches[0]", x)
    return x


def train_toy_model(
    config: ToyModelConfig,
    batches: Iterable[Any],
    *,
    evaluator: Callable[[int, Any, Any], Mapping[str, Any]] | None = None,
    eval_every: int | None = None,
    xp: Any = None,
    init: tuple[Any, Any] | None = None,
    threads: int | None = None,
    chunk: int | None = None,
    nonneg: bool = False,
) -> ToyModelResult:
    """Train ``config.n_instances`` toy models with Adam on the batches of an iterable.

    Parameters
    ----------
    config : ToyModelConfig
    batches : iterable of arrays ``x (I, B, n)`` or ``(B, n)`` (shared by all instances)
        At least ``config.steps`` batches are consumed (a ValueError if it runs out). Any backend;
        batches are moved to ``xp`` and cast to ``config.dtype``. ``B`` may change between batches.
    evaluator : callable ``(step, W (I, m, n), b (I, n)) -> mapping``, optional
        Called after ``step`` updates for ``step`` = eval_every, 2·eval_every, ..., and steps.
    eval_every : int >= 1, default ``config.log_every``
    xp : namespace or backend name ("numpy", "array_api_strict", "cupy"); None = $SIMS_BACKEND / numpy
    init : optional ``(W (I, m, n), b (I, n))`` to start from (default :func:`init_params`)
    threads : int >= 1 or None — "numpy" solver only: worker threads over instance chunks (BLAS is
        limited to one thread meanwhile, through threadpoolctl). None = min(usable cores, I) when
        threadpoolctl is installed, else 1. Results do not depend on it.
    chunk : int >= 1 or None — "numpy" solver only: instances per chunk (default min(4, I / threads)).
    nonneg : projected Adam: ``W <- max(W, 0)`` after every Adam step (``b`` stays free); start from a
        non-negative ``init`` for a constrained model throughout.

    Returns
    -------
    ToyModelResult (parameters on ``xp``; histories on the host).
    """
    if not isinstance(config, ToyModelConfig):
        raise ValueError(f"config == {config!r}, must be a ToyModelConfig")
    if evaluator is not None and not callable(evaluator):
        raise ValueError(f"evaluator == {evaluator!r}, must be callable or None")
    eval_every = config.log_every if eval_every is None else check_number(
        "eval_every", eval_every, Interval(1, None), integer=True)
    try:
        it: Iterator[Any] = iter(batches)
    except TypeError:
        raise ValueError(f"batches == {batches!r}, must be an iterable of arrays") from None
    xp = _namespace(xp)
    dt = B.resolve_dtype(xp, config.dtype)
    I, n, m = config.n_instances, config.n_features, config.n_hidden
    solver = config.solver
    if solver == "auto":
        solver = "numpy" if B.backend_name(xp) == "numpy" else "generic"
    if solver == "numpy" and B.backend_name(xp) != "numpy":
        raise ValueError(f"solver == 'numpy', but the backend is {B.backend_name(xp)!r}; use 'generic' or 'auto'")

    if init is None:
        W0, b0 = init_params(config, xp)
    else:
        W0, b0 = init
        check_array("init[0]", W0, shape=(I, m, n))
        check_array("init[1]", b0, shape=(I, n))
        W0, b0 = (xp.astype(B.asarray(B.to_numpy(a), xp), dt) for a in (W0, b0))
    theta = xp.concat([W0, b0[:, None, :]], axis=1)                    # (I, m+1, n)  θ = [W; bᵀ]
    imp_host = config.importance_array()                               # (I, n)
    imp = B.asarray(imp_host, xp, dtype=dt)
    if chunk is not None:
        chunk = check_number("chunk", chunk, Interval(1, None), integer=True)
    if solver == "numpy":
        state = _NumpySolver(xp, theta, config, imp, nonneg, threads=_resolve_threads(threads, I), chunk=chunk)
    else:
        if threads is not None:
            check_number("threads", threads, Interval(1, None), integer=True)
        state = _GenericSolver(xp, theta, config, imp, nonneg)
    try:
        with B.one_blas_thread() if state.pool is not None else contextlib.nullcontext():
            return _loop(config, state, it, xp, dt, imp_host, solver, evaluator, eval_every)
    finally:
        state.close()


def _loop(config, state, it, xp, dt, imp_host, solver, evaluator, eval_every) -> ToyModelResult:
    """The training loop of :func:`train_toy_model` (arguments already validated)."""
    I, n, m = config.n_instances, config.n_features, config.n_hidden
    steps_rec: list[int] = []
    losses: list[np.ndarray] = []
    evals: list = []
    rows = -1
    t0 = time.perf_counter()
    for t in range(config.steps):
        try:
            x = next(it)
        except StopIteration:
            raise ValueError(
                f"batches ran out after {t} batches, must yield at least steps == {config.steps}") from None
        x = _prepare_batch(x, xp, dt, I, n, t == 0, t)
        if x.shape[-2] != rows:                                        # (re)compute s = 2 I / B, (I, 1, n)
            rows = x.shape[-2]
            scale = B.asarray(2.0 * imp_host[:, None, :] / rows, xp, dtype=dt)
            state.scale = B.to_numpy(scale) if solver == "numpy" else scale
        record = t % config.log_every == 0 or t == config.steps - 1
        loss = state.step(x, t + 1, record)
        if record:
            host = np.asarray(B.to_numpy(loss), dtype=np.float64)
            if not np.all(np.isfinite(host)):
                raise FloatingPointError(
                    f"loss became non-finite at step {t} (instances {np.flatnonzero(~np.isfinite(host)).tolist()}); "
                    f"check the batches for NaN/inf or lower lr == {config.lr}")
            steps_rec.append(t)
            losses.append(host)
        if evaluator is not None and ((t + 1) % eval_every == 0 or t == config.steps - 1):
            W, b = _unpack(xp, state.theta, m, solver)
            evals.append((t + 1, dict(evaluator(t + 1, W, b))))
    seconds = time.perf_counter() - t0
    W, b = _unpack(xp, state.theta, m, solver)
    if not (bool(xp.all(xp.isfinite(W))) and bool(xp.all(xp.isfinite(b)))):
        raise FloatingPointError(f"parameters became non-finite in the last {config.log_every} steps; "
                                 f"check the batches for NaN/inf or lower lr == {config.lr}")
    hist = np.stack(losses)
    return ToyModelResult(W=W, b=b, loss_steps=np.asarray(steps_rec), loss_history=hist,
                          final_loss=hist[-1].copy(), config=config, solver=solver,
                          backend=B.backend_name(xp), evals=evals, seconds=seconds)


def _resolve_threads(threads: int | None, I: int) -> int:
    """Worker threads of the numpy solver (see :func:`train_toy_model`)."""
    if threads is not None:
        return check_number("threads", threads, Interval(1, None), integer=True)
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, I))


def _unpack(xp: Any, theta: Any, m: int, solver: str) -> tuple[Any, Any]:
    """Copies of W (I, m, n) and b (I, n) out of θ (so later updates never alias them)."""
    if solver == "numpy":
        return B.asarray(theta[:, :m, :].copy(), xp), B.asarray(theta[:, m, :].copy(), xp)
    return theta[:, :m, :], theta[:, m, :]


# ---------------------------------------------------------------------------------------------------
# synthetic data: spike-and-uniform with per-instance sparsity (common random numbers)
# ---------------------------------------------------------------------------------------------------
class SyntheticBatches:
    """Spike-and-uniform batches for the trainer, one sparsity per instance, common random numbers.

    Batch ``t`` is rows ``[t·B, (t+1)·B)`` of ``sims.engine.generators.sample_features(spec, ..., seed,
    sparsity=sparsity)``: one shared uniform stream, instance ``j`` keeps feature ``i`` iff
    ``u_i >= S_{j,i}`` (so the draws cost as much as for a single instance). Rows are produced in
    chunks of about ``sims.engine.backend.BLOCK_ROWS`` and sliced, so the result does not depend on the
    chunking.

    Parameters
    ----------
    spec : sims.engine.generators.FeatureSpec or int (n_features, default spike-and-Uniform(0, 1))
    sparsity : scalar, (I,) or (I, n), values in [0, 1); None = ``spec.sparsity`` (yields (B, n))
    batch_size : int >= 1
    seed : int >= 0
    steps : int >= 1 or None (endless)
    xp, dtype : namespace / backend name and "float32" | "float64"

    Yields ``x (I, B, n)`` (or ``(B, n)`` when ``sparsity`` is None or a scalar).
    """

    def __init__(self, spec: Any, sparsity: Any, batch_size: int, seed: int, *, steps: int | None = None,
                 xp: Any = None, dtype: str = "float32") -> None:
        from sims.engine.generators import FeatureSpec

        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            if spec < 1:
                raise ValueError(f"spec == {spec!r}, must be a FeatureSpec or a number of features in [1, inf)")
            spec = FeatureSpec(int(spec))
        if not isinstance(spec, FeatureSpec):
            raise ValueError(f"spec == {spec!r}, must be a FeatureSpec or a number of features")
        self.spec = spec
        if sparsity is not None:
            S = check_values("sparsity", B.to_numpy(sparsity), Interval(0.0, 1.0, "[)"))
            if S.ndim > 2 or (S.ndim == 2 and S.shape[1] != spec.n_features) or (S.ndim >= 1 and S.shape[0] == 0):
                raise ValueError(f"sparsity has shape {S.shape}, must be a scalar, (I,) or (I, {spec.n_features}) "
                                 "with I >= 1")
            sparsity = None if S.ndim == 0 else S
            if S.ndim == 0:
                from sims.engine.generators import shift_spec
                self.spec = shift_spec(spec, sparsity=float(S))
        self.sparsity = sparsity
        self.batch_size = check_number("batch_size", batch_size, Interval(1, None), integer=True)
        self.seed = check_seed("seed", seed)
        self.steps = None if steps is None else check_number("steps", steps, Interval(1, None), integer=True)
        self.xp = _namespace(xp)
        self.dtype = check_option("dtype", dtype, B.DTYPES)
        self.chunk = max(1, round(B.BLOCK_ROWS / self.batch_size))       # batches per draw

    @property
    def n_instances(self) -> int | None:
        return None if self.sparsity is None else int(self.sparsity.shape[0])

    def batch(self, t: int) -> Any:
        """Batch ``t`` on its own (same values as the iterator's ``t``-th batch)."""
        t = check_number("t", t, NONNEG, integer=True)
        return self._rows(t * self.batch_size, self.batch_size)

    def _rows(self, start: int, count: int) -> Any:
        from sims.engine.generators import sample_features

        return sample_features(self.spec, count, self.seed, start=start, sparsity=self.sparsity,
                               xp=self.xp, dtype=self.dtype)

    def __iter__(self) -> Iterator[Any]:
        Bsz, t = self.batch_size, 0
        while self.steps is None or t < self.steps:
            k = self.chunk if self.steps is None else min(self.chunk, self.steps - t)
            rows = self._rows(t * Bsz, k * Bsz)                          # (..., k·B, n)
            for j in range(k):
                yield rows[..., j * Bsz:(j + 1) * Bsz, :]
            t += k


# ---------------------------------------------------------------------------------------------------
# monosemanticity of a trained W
# ---------------------------------------------------------------------------------------------------
def feature_metrics(W: Any, threshold: float = 0.5) -> dict[str, Any]:
    """Monosemanticity / superposition metrics of ``W (..., m, n)`` (columns = features), built on
    the metrics of :mod:`sims.engine.codes`.

    Returns a dict of arrays on ``W``'s namespace:

    - ``norms`` (..., n): ‖W_i‖; ``represented`` (..., n): ‖W_i‖ > threshold;
    - ``n_represented`` (...): number of represented features;
    - ``superposition_ratio`` (...): n_represented / m (> 1 means superposition);
    - ``features_per_dimension`` (...): ‖W‖_F² / m (Elhage et al. 2022);
    - ``dimensionality`` (..., n): D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)² (Elhage et al.; 0 for a zero column);
    - ``max_abs_cos`` (...): coherence among the represented features (0 if fewer than two).
    """
    from sims.engine import codes

    check_array("W", W, min_ndim=2)
    threshold = check_number("threshold", threshold, NONNEG)
    xp = B.get_namespace(W)
    rep = codes.represented(W, threshold)                               # (..., n)
    n_rep = xp.sum(xp.astype(rep, xp.int64), axis=-1)
    return {
        "norms": xp.linalg.vector_norm(W, axis=-2),
        "represented": rep,
        "n_represented": n_rep,
        "superposition_ratio": xp.astype(n_rep, W.dtype) / W.shape[-2],
        "features_per_dimension": codes.features_per_dimension(W),
        "dimensionality": codes.dimensionality(W),
        "max_abs_cos": codes.coherence(W, threshold),
    }
