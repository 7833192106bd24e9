"""Planted-feature data: spike-and-uniform features, labels, label / input corruption, few-shot, shift.

Data model (docs/DESIGN.md, "n features in m dimensions"): ``x in R^n`` with independent coordinates

    x_i = 0                      with probability S_i            (sparsity)
    x_i ~ Uniform(lo, hi)        with probability p_i = 1 - S_i  (feature i "fires")

Every random helper takes ``seed`` (a non-negative int or a ``numpy.random.SeedSequence``) and draws
on the host through :func:`sims.engine.backend.draw_rows` under its own key, so that

* the feature, tie-break, label-flip, input-noise and few-shot streams never collide;
* rows ``[start, start + n)`` are identical whatever the chunking (every row-wise helper has ``start``);
* a seed gives the same data on every backend (host draws moved with :func:`sims.engine.backend.asarray`).

Row-wise streams are indexed by the sample axis only and shared across leading (batch) axes: a batch
of instances / noise levels / label sets sees *common random numbers*. Use different seeds where
independence across the batch is wanted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

import numpy as np

from sims.engine import backend as B
from sims.engine.metrics import _check_labels
from sims.engine.validation import (
    NONNEG,
    UNIT,
    UNIT_OPEN_RIGHT,
    Interval,
    check_array,
    check_number,
    check_option,
    check_seed,
    check_values,
)

__all__ = [
    "FeatureSpec",
    "TASKS",
    "FLIP_KINDS",
    "NOISE_KINDS",
    "sample_features",
    "make_labels",
    "flip_labels",
    "add_input_noise",
    "few_shot_indices",
    "shift_spec",
]

TASKS = ("argmax", "presence", "detect")  # "detect" is docs/DESIGN.md's word for "presence"
FLIP_KINDS = ("symmetric", "symmetric_all", "pair", "matrix")
#: label-noise kinds that need per-sample inputs besides the labels (flip_labels(..., margin=, scale=))
INSTANCE_FLIP_KINDS = ("margin",)
_SCALE = Interval(0.0, None, "()")  # kind="margin": tau > 0 (and tau = inf, the constant-rate limit)
#: input-noise laws (a new corruption of x is one entry): kind -> draw(g, rows, n), i.i.d. entries of
#: mean 0 and standard deviation 1 from the host Generator ``g``
_NOISE_LAWS: dict[str, Any] = {
    "gaussian": lambda g, k, n: g.standard_normal((k, n)),
    "uniform": lambda g, k, n: math.sqrt(3.0) * (2.0 * g.random((k, n)) - 1.0),  # U(-√3, √3)
}
NOISE_KINDS = tuple(_NOISE_LAWS)

# stream keys: one per kind of randomness, so that streams never collide
_KEY_FEATURES = "features"
_KEY_TIES = "argmax-ties"
_KEY_FLIP = "label-flip"
_KEY_NOISE = "input-noise"
_KEY_FEW_SHOT = "few-shot"

_FINITE = Interval(-math.inf, math.inf, "()")  # both ends given: NaN and inf are outside


def _per_feature(
    name: str, value: Any, n: int, interval: Interval, *, scalar: bool = True
) -> float | tuple[float, ...]:
    """A length-``n`` sequence (or, with ``scalar``, a scalar) of reals in ``interval`` (canonical:
    tuple / float)."""
    arr = check_values(name, value, interval)
    if scalar and arr.ndim == 0:
        return float(arr)
    if arr.shape != (n,):
        want = f"be a scalar or have shape ({n},)" if scalar else f"have shape ({n},)"
        raise ValueError(f"{name} has shape {arr.shape}, must {want} (n_features)")
    return tuple(float(a) for a in arr)


@dataclass(frozen=True)
class FeatureSpec:
    """Law of the planted features ``x in R^n`` (spike-and-uniform).

    Attributes
    ----------
    n_features : int >= 1
        ``n``.
    sparsity : float or tuple of n floats in [0, 1)
        ``S_i``, the probability that feature ``i`` is exactly zero.
    amplitude : (lo, hi), finite, lo < hi
        An active feature is ``Uniform(lo, hi)``.
    importance : None or tuple of n floats > 0
        Per-feature loss weights for the toy model (``None`` = all ones); not used for sampling.
    frequency : None or tuple of n floats >= 0, not all zero
        Relative firing weights ``f_i`` (used by OOD shifts). Feature ``i`` fires with probability

            p_i = min(1, (1 - S_i) * f_i / mean(f))

        so ``f`` is scale-free (``(2, 2, ...)`` is the same as ``None``), ``f_i = 0`` silences feature
        ``i``, and when no ``p_i`` is capped at 1 and ``S`` is scalar the expected number of active
        features ``n (1 - S)`` is unchanged: the shift only moves firing mass between features.

    Sequences are stored as tuples of floats; ``to_dict`` / ``from_dict`` round-trip exactly (also
    through JSON).
    """

    n_features: int
    sparsity: float | tuple[float, ...] = 0.0
    amplitude: tuple[float, float] = (0.0, 1.0)
    importance: tuple[float, ...] | None = None
    frequency: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        n = check_number("n_features", self.n_features, Interval(1, None), integer=True)
        object.__setattr__(self, "n_features", n)
        object.__setattr__(self, "sparsity", _per_feature("sparsity", self.sparsity, n, UNIT_OPEN_RIGHT))
        amp = check_values("amplitude", self.amplitude, _FINITE)
        if amp.shape != (2,):
            raise ValueError(f"amplitude == {self.amplitude!r}, must be a pair (lo, hi)")
        lo, hi = float(amp[0]), float(amp[1])
        if not lo < hi:
            raise ValueError(f"amplitude == ({lo}, {hi}), must have lo < hi")
        object.__setattr__(self, "amplitude", (lo, hi))
        if self.importance is not None:
            imp = _per_feature("importance", self.importance, n, Interval(0.0, math.inf, "()"), scalar=False)
            object.__setattr__(self, "importance", imp)
        if self.frequency is not None:
            freq = _per_feature("frequency", self.frequency, n, Interval(0.0, math.inf, "[)"), scalar=False)
            if not any(f > 0 for f in freq):
                raise ValueError("frequency == all zeros, must have at least one entry > 0")
            object.__setattr__(self, "frequency", freq)

    # -- derived per-feature arrays (host numpy, shape (n,)) ---------------------------------------
    def sparsity_array(self) -> np.ndarray:
        """``S`` as a float64 array of shape ``(n,)``."""
        return np.broadcast_to(np.asarray(self.sparsity, dtype=np.float64), (self.n_features,)).copy()

    def importance_array(self) -> np.ndarray:
        """Importance weights, shape ``(n,)`` (ones when ``importance is None``)."""
        if self.importance is None:
            return np.ones(self.n_features)
        return np.asarray(self.importance, dtype=np.float64)

    def firing_probability(self) -> np.ndarray:
        """``p_i = min(1, (1 - S_i) f_i / mean(f))``, shape ``(n,)`` (see the class docstring)."""
        return _firing(self.sparsity_array(), self.frequency)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FeatureSpec":
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        names = {f.name for f in fields(cls)}
        extra = sorted(set(d) - names)
        if extra:
            raise ValueError(f"FeatureSpec keys {extra!r} unknown, must be among {sorted(names)!r}")
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
        return cls(**kw)


def _firing(S: np.ndarray, frequency: tuple[float, ...] | None) -> np.ndarray:
    """Firing probability ``p = min(1, (1 - S) f / mean(f))``; ``S`` broadcasts against ``(n,)``."""
    p = 1.0 - S
    if frequency is not None:
        f = np.asarray(frequency, dtype=np.float64)
        p = np.minimum(1.0, p * (f / f.mean()))
    return p


def _uniform_pairs(n: int):
    """Row law of the feature stream: ``(k, 2n)`` uniforms = (activity u | amplitude v)."""

    def fn(g: np.random.Generator, k: int) -> np.ndarray:
        return g.random((k, 2 * n))

    return fn


def sample_features(
    spec: FeatureSpec,
    n_samples: int,
    seed: int | np.random.SeedSequence,
    *,
    start: int = 0,
    sparsity: Any = None,
    xp: Any = None,
    dtype: str = "float64",
) -> Any:
    """Rows ``[start, start + n_samples)`` of the spike-and-uniform feature stream.

    Each row draws ``u, v ~ Uniform[0, 1)^n``; feature ``i`` is active iff ``u_i >= 1 - p_i``
    (``p`` from :meth:`FeatureSpec.firing_probability`; ``u_i >= S_i`` without ``frequency``) and then
    equals ``lo + (hi - lo) v_i``.

    Parameters
    ----------
    spec : FeatureSpec
    n_samples : int >= 1
    seed : int >= 0 or SeedSequence
    start : int >= 0
        First row; any split of ``[0, N)`` into ``(start, n_samples)`` pieces concatenates to the same
        array.
    sparsity : None, scalar, shape ``(I,)`` or ``(I, n)``, values in [0, 1)
        Overrides ``spec.sparsity`` (``spec.frequency`` still applies). An array gives ``I`` instances
        drawn from ONE shared stream (common random numbers: instance ``j`` has feature ``i`` active iff
        ``u_i >= S_{j,i}``), so a row active at sparsity ``S`` stays active at every ``S' <= S`` and the
        amplitudes are shared.
    xp : array namespace, backend name ("numpy", "array_api_strict", "cupy") or None (numpy)
    dtype : "float64" | "float32"

    Returns
    -------
    x : ``(n_samples, n)``, or ``(I, n_samples, n)`` when ``sparsity`` is 1-D or 2-D.
    """
    if not isinstance(spec, FeatureSpec):
        raise ValueError(f"spec == {spec!r}, must be a FeatureSpec")
    n_samples = check_number("n_samples", n_samples, Interval(1, None), integer=True)
    start = check_number("start", start, NONNEG, integer=True)
    seed = check_seed("seed", seed, sequence=True)
    xp = B.resolve_backend(xp) if isinstance(xp, str) else B.get_namespace(xp=xp)
    dt = B.resolve_dtype(xp, dtype)
    n = spec.n_features

    if sparsity is None:
        S = spec.sparsity_array()  # (n,)
    else:
        S = check_values("sparsity", B.to_numpy(sparsity), UNIT_OPEN_RIGHT)
        if S.ndim > 2 or (S.ndim == 2 and S.shape[1] != n) or (S.ndim >= 1 and S.shape[0] == 0):
            raise ValueError(f"sparsity has shape {S.shape}, must be a scalar, (I,) or (I, {n}) with I >= 1")
        if S.ndim == 1:
            S = S[:, None]  # (I, 1): one scalar sparsity per instance
    # threshold t = 1 - p (= S without frequency); active iff u >= t
    thresh = 1.0 - _firing(S, spec.frequency)  # (n,) | (I, n)
    if S.ndim == 2:  # an override per instance (spec.sparsity_array() is 1-D)
        thresh = thresh[:, None, :]  # (I, 1, n)

    lo, hi = spec.amplitude
    r = B.draw_rows(B.seed_sequence(seed, _KEY_FEATURES), start, start + n_samples, _uniform_pairs(n))
    u = r[:, :n]  # (N, n) activity uniforms
    amp = lo + (hi - lo) * r[:, n:]  # (N, n) Uniform(lo, hi) amplitudes, float64 on the host
    # amp * 1[u >= t] (+ 0 turns the -0.0 of negative amplitudes into +0.0); a multiply by the mask
    # is several times faster than a where and gives identical values. Computed on the host, where the
    # draws are, in the output dtype: one move to the device instead of three
    hdt = np.float32 if dt == B.resolve_dtype(xp, "float32") else np.float64
    x = amp.astype(hdt) * (u >= thresh).astype(hdt) + hdt(0.0)  # (N, n) or (I, N, n)
    return B.asarray(x, xp, dtype=dt)


def make_labels(
    x: Any,
    task: str = "argmax",
    seed: int | np.random.SeedSequence | None = None,
    *,
    feature: int = 0,
    start: int = 0,
) -> Any:
    """Clean labels of a feature array.

    Parameters
    ----------
    x : ``(..., n_samples, n)`` finite reals
    task : "argmax" | "presence" (alias "detect")
        argmax: ``y = argmax_i x_i`` in ``0..n-1``; rows with several tied maxima (e.g. all-zero rows)
        get one of them uniformly at random (needs ``seed``). presence: ``y = 1`` iff
        ``x[..., feature] > 0`` else 0.
    seed : int >= 0 or SeedSequence; required for "argmax"
        The tie-break stream (one key per (row, feature)) is indexed by row ``start + r`` and shared
        across leading axes.
    feature : int in [0, n), for "presence"
    start : int >= 0, the row offset of ``x`` in its stream (chunked generation)

    Returns
    -------
    y : int64 ``(..., n_samples)`` on ``x``'s namespace.
    """
    check_array("x", x, min_ndim=2, real=True)
    xp = B.get_namespace(x)
    task = check_option("task", task, TASKS)
    n = x.shape[-1]
    start = check_number("start", start, NONNEG, integer=True)
    if task in ("presence", "detect"):
        feature = check_number("feature", feature, Interval(0, n - 1), integer=True)
        return xp.astype(x[..., feature] > 0, xp.int64)
    seed = check_seed("seed", seed, sequence=True)
    N = x.shape[-2]
    # random keys r ~ U[0,1) per (row, feature); among the tied maxima the largest key wins, which is
    # a uniform choice among them (the keys are i.i.d. and continuous)
    r = B.draw_rows(B.seed_sequence(seed, _KEY_TIES), start, start + N, lambda g, k: g.random((k, n)))
    dev = B.device_of(x)
    r_d = B.asarray(r, xp, dtype=xp.float64, device=dev)
    is_max = x == xp.max(x, axis=-1, keepdims=True)  # (..., N, n)
    keyed = xp.where(is_max, r_d, xp.asarray(-1.0, dtype=xp.float64, device=dev))
    return xp.astype(xp.argmax(keyed, axis=-1), xp.int64)


def _transition(kind: str, C: int, matrix: Any) -> np.ndarray | None:
    if kind != "matrix":
        if matrix is not None:
            raise ValueError(f"matrix is given but kind == {kind!r}; pass kind='matrix' to use it")
        return None
    if matrix is None:
        raise ValueError("matrix == None, must be a (n_classes, n_classes) row-stochastic array for kind='matrix'")
    T = check_values("matrix", B.to_numpy(matrix), UNIT)
    if T.shape != (C, C):
        raise ValueError(f"matrix.shape == {T.shape}, must be ({C}, {C}) (n_classes)")
    rows = T.sum(axis=1)
    if not np.allclose(rows, 1.0, rtol=0, atol=1e-9):
        bad = int(np.argmax(np.abs(rows - 1.0)))
        raise ValueError(f"matrix row {bad} sums to {rows[bad]!r}, must sum to 1 (row-stochastic)")
    return T


def flip_labels(
    y: Any,
    n_classes: int,
    rate: Any,
    seed: int | np.random.SeedSequence,
    *,
    kind: str = "symmetric",
    matrix: Any = None,
    start: int = 0,
    margin: Any = None,
    scale: Any = None,
    target: Any = None,
) -> Any:
    """Label noise: with probability ``rate`` a label is replaced by a draw from ``T_kind[y, :]``.

    Each sample draws ``u1, u2 ~ U[0, 1)``; it is *touched* iff ``u1 < rate`` and a touched label
    becomes

    * ``"symmetric"``: a uniformly chosen OTHER class, ``(y + 1 + floor(u2 (C - 1))) mod C``; the
      label changes with probability exactly ``rate``; ``P(ỹ = c' | y = c) = rate / (C - 1)``.
    * ``"symmetric_all"``: a uniform draw over ALL classes, ``floor(u2 C)`` (may keep its label); the
      label changes with probability ``rate (C - 1) / C``. So ``symmetric_all`` at rate ``r`` equals
      ``symmetric`` at rate ``r (C - 1) / C`` in law; ``rate = 1`` gives labels independent of ``y``.
    * ``"pair"``: ``(y + 1) mod C``.
    * ``"matrix"``: ``c'`` drawn from row ``T[y, :]`` of ``matrix`` (inverse CDF with ``u2``). The
      effective transition matrix is ``(1 - rate) I + rate T``; pass ``rate = 1`` to use ``T`` as is.
      Class-conditional noise on two classes, P(1 -> 2) = a, P(2 -> 1) = b: ``matrix=[[1-a, a], [b, 1-b]]``,
      ``rate = 1``.
    * ``"margin"`` (instance-dependent, near the decision boundary): touched iff
      ``u1 < rate * exp(-margin / scale)``, with ``margin`` the per-sample margin (e.g. ``|x1 - x2|`` of the
      two-feature argmax task, or top minus runner-up feature) and ``scale`` = tau > 0 (``inf``: constant
      rate); a touched label becomes ``target`` (e.g. the runner-up class) if given, else a uniformly
      chosen other class as in ``"symmetric"``. theory.two_feature's ``margin_noise=(rate, scale)``.

    Parameters
    ----------
    y : int ``(..., n_samples)``, values in ``[0, n_classes)``
    n_classes : int >= 2
    rate : float in [0, 1], or an array broadcasting against ``y`` (e.g. ``(R, 1)`` for R noise levels;
        the same ``u1`` is used for every rate, so flipped sets are nested in the rate)
    seed : int >= 0 or SeedSequence; the stream is indexed by row ``start + r`` and shared across the
        leading axes and across ``kind``.
    matrix : ``(C, C)`` row-stochastic, only for ``kind="matrix"``
    margin, scale, target : only for ``kind="margin"``: margins >= 0 broadcasting against ``y``, tau in
        (0, inf], and optional replacement labels (int, broadcasting against ``y``, values in [0, C)).

    Returns
    -------
    y_noisy : int64, shape ``broadcast(y.shape, rate.shape)``.
    """
    C = check_number("n_classes", n_classes, Interval(2, None), integer=True)
    check_array("y", y, finite=False)  # before get_namespace: a list is a ValueError naming y
    xp = B.get_namespace(y)
    _check_labels("y", y, C, xp)
    if len(y.shape) < 1:
        raise ValueError(f"y.ndim == 0, must be >= 1 (shape {tuple(y.shape)})")
    kind = check_option("kind", kind, FLIP_KINDS + INSTANCE_FLIP_KINDS)
    rate_h = check_values("rate", B.to_numpy(rate), UNIT)
    T = _transition(kind, C, matrix)
    if kind != "margin" and (margin is not None or scale is not None or target is not None):
        raise ValueError(f"margin / scale / target are given but kind == {kind!r}; pass kind='margin' to use them")
    if kind == "margin":
        if margin is None or scale is None:
            raise ValueError("margin == None or scale == None, both must be given for kind='margin' "
                             "(per-sample margins >= 0 and tau in (0, inf])")
        margin_h = check_values("margin", B.to_numpy(margin), NONNEG)
        tau = float(scale) if isinstance(scale, (int, float, np.floating, np.integer)) else scale
        if not (isinstance(tau, float) and (tau == math.inf or _SCALE.contains(tau))):
            raise ValueError(f"scale == {scale!r}, must be in (0, inf] (tau of kind='margin')")
        try:
            keep = np.exp(-margin_h / tau)  # (..., N)
            rate_h = rate_h * keep
        except ValueError:
            raise ValueError(f"margin.shape == {margin_h.shape} does not broadcast against rate.shape == "
                             f"{rate_h.shape}") from None
    start = check_number("start", start, NONNEG, integer=True)
    seed = check_seed("seed", seed, sequence=True)
    N = y.shape[-1]
    try:
        np.broadcast_shapes(tuple(y.shape), rate_h.shape)
    except ValueError:
        raise ValueError(f"rate.shape == {rate_h.shape} does not broadcast against y.shape == {tuple(y.shape)}") from None

    uu = B.draw_rows(B.seed_sequence(seed, _KEY_FLIP), start, start + N, lambda g, k: g.random((k, 2)))
    dev = B.device_of(y)
    u1 = B.asarray(np.ascontiguousarray(uu[:, 0]), xp, dtype=xp.float64, device=dev)  # (N,)
    u2h = uu[:, 1]
    y = xp.astype(y, xp.int64)
    if kind == "margin" and target is not None:
        _check_labels("target", target, C, B.get_namespace(target))
        new = xp.broadcast_to(xp.astype(B.asarray(B.to_numpy(target), xp, device=dev), xp.int64), tuple(y.shape))
    elif kind in ("symmetric", "margin"):
        shift = B.asarray(np.floor(u2h * (C - 1)).astype(np.int64), xp, device=dev)  # in 0..C-2
        new = (y + 1 + shift) % C
    elif kind == "symmetric_all":
        new = xp.broadcast_to(B.asarray(np.floor(u2h * C).astype(np.int64), xp, device=dev), tuple(y.shape))
    elif kind == "pair":
        new = (y + 1) % C
    else:
        # inverse CDF: c' = #{c : cumT[y, c] <= u2}, clipped to C - 1 against round-off in the sums
        cum = B.asarray(np.cumsum(T, axis=1), xp, dtype=xp.float64, device=dev)  # (C, C)
        u2 = B.asarray(u2h, xp, dtype=xp.float64, device=dev)
        rows = xp.take(cum, xp.reshape(y, (-1,)), axis=0)  # (prod(y.shape), C)
        rows = xp.reshape(rows, tuple(y.shape) + (C,))
        new = xp.sum(xp.astype(rows <= u2[:, None], xp.int64), axis=-1)
        new = xp.minimum(new, xp.asarray(C - 1, dtype=xp.int64, device=dev))
    r_d = B.asarray(rate_h, xp, dtype=xp.float64, device=dev)
    return xp.where(u1 < r_d, new, y)


def add_input_noise(
    x: Any,
    scale: Any,
    seed: int | np.random.SeedSequence,
    *,
    kind: str = "gaussian",
    start: int = 0,
) -> Any:
    """``x + scale * z`` with ``z`` of mean 0 and standard deviation 1 per entry.

    ``kind="gaussian"``: ``z ~ N(0, 1)``; ``"uniform"``: ``z ~ U(-√3, √3)`` (so the noise is
    ``U(-√3 s, √3 s)`` with std ``s``).

    Parameters
    ----------
    x : ``(..., n_samples, n)`` finite floats
    scale : float >= 0, or an array broadcasting against ``x`` (e.g. ``(L, 1, 1)`` for L noise levels,
        all sharing the same ``z``: common random numbers)
    seed : int >= 0 or SeedSequence; ``z`` is indexed by row ``start + r`` and shared across leading axes

    Returns
    -------
    x_noisy : ``broadcast(x.shape, scale.shape)``, dtype of ``x``.
    """
    check_array("x", x, min_ndim=2, real_floating=True)
    xp = B.get_namespace(x)
    kind = check_option("kind", kind, tuple(_NOISE_LAWS))
    # finite, >= 0, and small enough that scale * z stays finite in x's dtype (|z| < 10 always)
    s = check_values("scale", B.to_numpy(scale), Interval(0.0, _max_scale(xp, x.dtype), "[]"))
    start = check_number("start", start, NONNEG, integer=True)
    seed = check_seed("seed", seed, sequence=True)
    try:
        np.broadcast_shapes(tuple(x.shape), s.shape)
    except ValueError:
        raise ValueError(f"scale.shape == {s.shape} does not broadcast against x.shape == {tuple(x.shape)}") from None
    N, n = x.shape[-2], x.shape[-1]
    law = _NOISE_LAWS[kind]
    z = B.draw_rows(B.seed_sequence(seed, _KEY_NOISE, kind), start, start + N, lambda g, k: law(g, k, n))  # (N, n)
    z_d = B.asarray(z, xp, dtype=x.dtype, device=B.device_of(x))
    s_d = B.asarray(s, xp, dtype=x.dtype, device=B.device_of(x))
    return x + s_d * z_d


def _max_scale(xp: Any, dtype: Any) -> float:
    """Largest input-noise scale for ``dtype``: the square root of its largest float (1.3e154 for float64,
    1.8e19 for float32), far above any meaningful noise and far below an overflow: ``|scale z| < 10 scale``
    is then far below the rounding step of the largest finite ``x``, so ``x + scale z`` stays finite."""
    return math.sqrt(float(xp.finfo(dtype).max))


def few_shot_indices(
    y: Any,
    k: int,
    seed: int | np.random.SeedSequence,
    *,
    n_classes: int | None = None,
) -> Any:
    """Stratified subsample: ``k`` indices of each class, chosen uniformly without replacement.

    Each sample gets a random key; the ``k`` smallest keys of each class are kept, so the subsets are
    nested in ``k`` for one seed (``k = 1`` is inside ``k = 5``).

    Parameters
    ----------
    y : int ``(n_samples,)`` with values in ``[0, n_classes)``
    k : int >= 1, at most the smallest class size
    seed : int >= 0 or SeedSequence
    n_classes : int >= 1 or None (``max(y) + 1``); every class ``0..n_classes-1`` must have ``>= k``

    Returns
    -------
    idx : int64 ``(n_classes * k,)``, sorted ascending, on ``y``'s namespace.
    """
    check_array("y", y, ndim=1)
    xp = B.get_namespace(y)
    k = check_number("k", k, Interval(1, None), integer=True)
    seed = check_seed("seed", seed, sequence=True)
    yh = B.to_numpy(y)
    if n_classes is None:
        if yh.size == 0:
            raise ValueError("y is empty, must hold at least one label")
        if yh.dtype.kind not in "iu":
            raise ValueError(f"y.dtype == {y.dtype}, must be an integer dtype")
        C = int(yh.max()) + 1
    else:
        C = check_number("n_classes", n_classes, Interval(1, None), integer=True)
    _check_labels("y", y, C, xp)
    counts = np.bincount(yh.astype(np.int64), minlength=C)
    small = int(np.argmin(counts))
    if counts[small] < k:
        raise ValueError(
            f"k == {k}, must be <= the smallest class size {int(counts[small])} (class {small})"
        )
    keys = B.rng(seed, _KEY_FEW_SHOT).random(yh.shape[0])
    order = np.lexsort((keys, yh))  # by class, then by key
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # start of each class in `order`
    take = (first[:, None] + np.arange(k)[None, :]).ravel()  # (C*k,)
    idx = np.sort(order[take]).astype(np.int64)
    return B.asarray(idx, xp, device=B.device_of(y))


def shift_spec(
    spec: FeatureSpec,
    *,
    sparsity: Any = None,
    amplitude: Any = None,
    frequency: Any = None,
) -> FeatureSpec:
    """A copy of ``spec`` with the given fields replaced (an OOD test law); validated like the original.

    ``frequency`` multiplies firing probabilities as in :class:`FeatureSpec` (relative weights).
    """
    if not isinstance(spec, FeatureSpec):
        raise ValueError(f"spec == {spec!r}, must be a FeatureSpec")
    kw: dict[str, Any] = {}
    if sparsity is not None:
        kw["sparsity"] = sparsity
    if amplitude is not None:
        kw["amplitude"] = amplitude
    if frequency is not None:
        kw["frequency"] = frequency
    return replace(spec, **kw)
