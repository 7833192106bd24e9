"""Linear feature codes ``h = W x`` and their monosemanticity / superposition metrics.

A code is ``W`` of shape ``(m, n)``: column ``W_i`` is the direction of feature ``i`` in ``m`` neurons,
a unit vector when feature ``i`` is represented and zero when it is dropped (docs/DESIGN.md, "n features
in m dimensions"). Families (:func:`make_code`):

* ``"mono"``   (``m <= n``): features ``0..m-1`` on the axes ``e_1..e_m``, the rest dropped.
* ``"random"``: i.i.d. Gaussian columns, normalised.
* ``"antipodal"`` (``n <= 2m``): ``W_{2k} = e_k``, ``W_{2k+1} = -e_k`` — neuron ``k`` reads
  ``x_{2k} - x_{2k+1}``, the paper's polysemantic code ``v = x1 - x2`` (§4.3). For odd ``n`` the last
  feature is alone on axis ``e_{(n-1)/2}`` (monosemantic, orthogonal to every pair).
* ``"frame"``: a low-coherence unit-norm frame by descent of the p-frame potential
  ``sum_{i != j} |<f_i, f_j>|^p`` with growing ``p`` (Benedetto & Fickus 2003 for ``p = 2``; Ehler &
  Okoudjou's p-frame potentials), a pull toward tight frames in its first steps (the spectral side of
  Tropp, Dhillon, Heath & Strohmer 2005) and a float64 polish; ``O(m n^2)`` per step, no ``n x n``
  eigendecomposition (:func:`build_frame`); orthonormal (random rotation) when ``n <= m``.

``make_code`` builds frames on the host (float32 steps, then float64; one BLAS thread: deterministic under
``seed``) and moves them to the device; :func:`build_frame` runs the same steps on any Array-API
namespace (e.g. CuPy).
Metrics are Array-API functions batched over leading axes ``(..., m, n)``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from sims.engine import backend as B
from sims.engine.validation import Interval, NONNEG, check_array, check_number, check_option, check_seed

__all__ = [
    "code_features",
    "READOUTS",
    "FAMILIES",
    "make_code",
    "encode",
    "represented",
    "coherence",
    "welch_bound",
    "build_frame",
    "frame_steps",
    "features_per_dimension",
    "dimensionality",
    "interference",
]

#: default column-norm threshold below which a feature counts as dropped
TOL = 1e-6
# ---- the frame construction (see _frame_descent)
#: first share of the steps that end with a pull toward a tight frame (finds equiangular tight frames)
_TIGHT_SHARE = 0.3
#: last share of the steps, with a steeper potential (the polish; its second half in float64)
_POLISH_SHARE = 0.2
#: exact tight-frame projections of the random start
_TIGHT_START = 5
#: exponents of the potential: p = 2**k + 2, k from _K_BULK[0] to _K_BULK[1] over the float32 steps,
#: then over _K_POLISH in the polish (p = 6 .. 130, then 130 .. 4098)
_K_BULK = (2, 7)
_K_POLISH = (7, 12)
#: step control: relative step (times the coherence) at the start, growth on success, cut on failure
_ETA0, _GROW, _CUT, _ETA_MIN = 0.3, 1.2, 0.5, 1e-7
#: default number of steps (n_iter = 0): _STEP_WORK / (m n^2), clipped to [_STEPS_MIN, _STEPS_MAX]
_STEP_WORK, _STEPS_MIN, _STEPS_MAX = 1e9, 100, 1000


def welch_bound(n: int, m: int) -> float:
    """Welch bound ``sqrt((n - m) / (m (n - 1)))`` on the coherence of ``n`` unit vectors in ``R^m``
    (0 for ``n <= m``, where orthonormal columns exist)."""
    n = check_number("n", n, Interval(1, None), integer=True)
    m = check_number("m", m, Interval(1, None), integer=True)
    if n <= m:
        return 0.0
    return math.sqrt((n - m) / (m * (n - 1)))


@functools.lru_cache(maxsize=64)
def _frame_host(n: int, m: int, entropy: int, spawn_key: tuple, n_iter: int) -> np.ndarray:
    """The frame of ``make_code("frame", n, m, seed, n_iter=n_iter)``: float64 ``(m, n)``, unit columns,
    built on the host with one BLAS thread (deterministic under the seed; cached per process)."""
    with B.one_blas_thread():
        F = _frame_build(n, m, entropy, spawn_key, n_iter, B.get_namespace(xp=None))
    return np.asarray(B.to_numpy(F), dtype=np.float64)


def _frame_start(n: int, m: int, entropy: int, spawn_key: tuple) -> np.ndarray:
    """The random start (host float64 ``(m, n)``, unit columns; the stream of the seed)."""
    g = B.rng(np.random.SeedSequence(entropy=entropy, spawn_key=spawn_key), "code", "frame")
    F = g.standard_normal((m, n))
    return F / np.linalg.norm(F, axis=0)


def _frame_build(n: int, m: int, entropy: int, spawn_key: tuple, n_iter: int, xp: Any) -> Any:
    F = _frame_start(n, m, entropy, spawn_key)
    if n <= m:
        Q, R = np.linalg.qr(F)  # random orthonormal columns; fix signs so Q is a function of F
        return B.asarray(Q * np.where(np.diag(R) < 0, -1.0, 1.0), xp)
    with np.errstate(over="ignore", under="ignore"):  # powers of |G_ij| / mu: 0 or inf are harmless
        return _frame_descent(B.asarray(F, xp, dtype=xp.float64), n_iter, xp)


def build_frame(n_features: int, m: int, seed: int | np.random.SeedSequence = 0, *, n_iter: int = 0,
                xp: Any = None) -> Any:
    """The frame of ``make_code("frame", n_features, m, seed, n_iter=n_iter)``, built on ``xp``'s device
    (float64 ``(m, n)``, unit columns): the same start and steps in the namespace's own arithmetic (numpy
    gives ``make_code``'s frame; a GPU namespace such as CuPy agrees with it to rounding). Not cached.

    ``n_iter``: descent steps (int >= 0; 0: :func:`frame_steps`). See :func:`_frame_descent`."""
    n = check_number("n_features", n_features, Interval(1, None), integer=True)
    m = check_number("m", m, Interval(1, None), integer=True)
    n_iter = check_number("n_iter", n_iter, NONNEG, integer=True)
    ss = B.seed_sequence(check_seed("seed", seed, sequence=True))
    xp = B.resolve_backend(xp) if isinstance(xp, str) else B.get_namespace(xp=xp)
    return _frame_build(n, m, int(ss.entropy), tuple(ss.spawn_key), n_iter or frame_steps(n, m), xp)


def _unit(F: Any, xp: Any) -> Any:
    return F / xp.sqrt(xp.sum(F * F, axis=0))


def _off_gram(F: Any, xp: Any) -> Any:
    """``F^T F`` with a zero diagonal (set through the flat array: no n x n mask)."""
    n = F.shape[1]
    G = xp.reshape(xp.matmul(F.T, F), (n * n,))
    G[:: n + 1] = 0.0
    return xp.reshape(G, (n, n))


def _tight_exact(F: Any, xp: Any) -> Any:
    """The nearest tight frame (polar factor ``(F F^T)^{-1/2} F``, one ``m x m`` eigh), unit columns."""
    w, U = xp.linalg.eigh(xp.matmul(F, F.T))
    return _unit(xp.matmul(U / xp.sqrt(w), xp.matmul(U.T, F)), xp)


def _tight_step(F: Any, xp: Any) -> Any:
    """One Newton-Schulz step toward the polar factor of ``sqrt(m/n) F`` (matmuls only), unit columns."""
    m, n = F.shape
    X = F * math.sqrt(m / n)
    return _unit(1.5 * X - 0.5 * xp.matmul(xp.matmul(X, X.T), X), xp)


def _potential(G: Any, k: int, ref: float, xp: Any) -> tuple[float, Any]:
    """The potential ``sum_ij |G_ij / ref|^p`` (``p = 2^k + 2``, summed in float64) and ``Q = |G / ref|^(p - 2)``
    (repeated squaring), the weights of its gradient ``Q * G``."""
    X2 = G * (1.0 / ref)
    X2 *= X2
    Q = X2 * X2  # k >= 2
    for _ in range(k - 2):
        Q *= Q
    X2 *= Q
    return float(xp.sum(X2, dtype=xp.float64)), Q


def _max_abs(G: Any, xp: Any) -> float:
    return max(float(xp.max(G)), -float(xp.min(G)))


def _schedule(n_iter: int) -> list[tuple[str, bool, int]]:
    """Per step: (dtype, pull toward a tight frame, exponent k)."""
    n_pol = int(_POLISH_SHARE * n_iter)
    n32 = n_iter - n_pol
    n_tight = int(_TIGHT_SHARE * n_iter)
    steps = []
    for i in range(n32):
        k = int(round(_K_BULK[0] + (_K_BULK[1] - _K_BULK[0]) * i / max(n32 - 1, 1)))
        steps.append(("float32", i < n_tight, k))
    for j in range(n_pol):
        k = int(round(_K_POLISH[0] + (_K_POLISH[1] - _K_POLISH[0]) * j / max(n_pol - 1, 1)))
        steps.append(("float64" if 2 * j >= n_pol else "float32", False, k))
    return steps


def _frame_descent(F: Any, n_iter: int, xp: Any) -> Any:
    """A low-coherence frame by descent of the p-frame potential ``sum_{i != j} |<f_i, f_j>|^p``.

    ``F`` ``(m, n)`` (unit columns, ``n > m``, float64 on ``xp``) is the start. Minimizing the potential
    for growing ``p`` approaches the smallest coherence ``max |<f_i, f_j>|`` (its p-norm limit), and an
    equiangular tight frame is the minimizer for every ``p >= 2`` (power means). One step costs two
    ``m x n x n`` products and ``O(n^2)`` elementwise work, no ``n x n`` eigendecomposition:

      * ``G = F^T F`` (zero diagonal); ``W = |G / mu_0|^(p - 2) G`` with ``p = 2^k + 2`` (repeated squaring);
      * the gradient ``D = F W`` projected on the sphere of each column, scaled to a largest column norm
        of 1; the step ``F <- normalize(F - eta mu D)`` is kept when the potential decreases (``eta``
        grows by 1.2), else cut in half and tried again (backtracking);
      * the first 30% of the steps also pull ``F`` toward a tight frame (one Newton-Schulz step of the
        polar factor, ``O(m^2 n)``), after a start made tight by exact polar factors;
      * ``k`` rises from 2 to 7 (p = 6 .. 130) over the float32 steps, then from 7 to 12 (p up to 4098)
        over the last 20% of the steps, run in float64 (the polish).

    Returns the best iterate (lowest coherence), float64, unit columns; stops early at the Welch bound.
    """
    m, n = F.shape
    mu_w = welch_bound(n, m)
    for _ in range(_TIGHT_START):
        F = _tight_exact(F, xp)
    steps = _schedule(n_iter)
    best, best_mu = F, _max_abs(_off_gram(F, xp), xp)
    dtype = k = None
    eta = _ETA0
    for name, tight, k_new in steps:
        if name != dtype:  # switch of precision: restart the potential from the current point
            dtype = name
            F = _unit(xp.astype(F, getattr(xp, name)), xp)
            G = _off_gram(F, xp)
            mu = _max_abs(G, xp)
            k = None
        if k_new != k:  # a new exponent: the potential is normalized by the coherence here
            k, ref = k_new, mu
            val, Q = _potential(G, k, ref, xp)
        D = xp.matmul(F, Q * G)  # the gradient (up to a positive factor)
        D = D - F * xp.sum(F * D, axis=0)
        d_max = float(xp.max(xp.sqrt(xp.sum(D * D, axis=0))))
        if not d_max > 0.0:
            break  # stationary (e.g. an equiangular tight frame)
        D = D * (1.0 / d_max)
        while True:
            Fn = _unit(F - (eta * mu) * D, xp)
            if tight:
                Fn = _tight_step(Fn, xp)
            Gn = _off_gram(Fn, xp)
            vn, Qn = _potential(Gn, k, ref, xp)
            if vn < val or eta < _ETA_MIN:
                F, G, Q, val = Fn, Gn, Qn, vn
                eta *= _GROW
                break
            eta *= _CUT
        mu = _max_abs(G, xp)
        if mu < best_mu:
            best, best_mu = F, mu
            if dtype == "float64" and best_mu <= mu_w * (1.0 + 1e-12):  # equiangular: optimal, stop
                break
    return _unit(xp.astype(best, xp.float64), xp)


@dataclass(frozen=True)
class Family:
    """A code family: ``build(n, m, seed, **options) -> W`` (host float64 ``(m, n)``, unit or zero columns;
    ``seed`` a SeedSequence) and its keyword options with their defaults (each checked as an int >= 1; an
    option whose default is 0 also takes 0, which means "chosen by the family", e.g. the frame's steps)."""

    build: Callable[..., np.ndarray]
    options: Mapping[str, int]


#: the code families of :func:`make_code`, in the order the studies list them
_FAMILIES: dict[str, Family] = {}


def _family(name: str, **options: int) -> Callable:
    """Register ``build`` as the family ``name`` (a new family is one decorated function here)."""

    def register(build: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        if name in _FAMILIES:
            raise ValueError(f"family == {name!r} is registered twice")
        _FAMILIES[name] = Family(build, options)
        return build

    return register


@_family("mono")
def _mono(n: int, m: int, seed: Any) -> np.ndarray:
    if m > n:
        raise ValueError(f"m == {m}, must be <= n_features == {n} for family 'mono'")
    W = np.zeros((m, n))
    W[:, :m] = np.eye(m)  # e_1..e_m; features m..n-1 dropped
    return W


@_family("random")
def _random(n: int, m: int, seed: Any) -> np.ndarray:
    W = B.rng(seed, "code", "random").standard_normal((m, n))
    return W / np.linalg.norm(W, axis=0)


@_family("antipodal")
def _antipodal(n: int, m: int, seed: Any) -> np.ndarray:
    if n > 2 * m:
        raise ValueError(f"n_features == {n}, must be <= 2 m == {2 * m} for family 'antipodal'")
    W = np.zeros((m, n))
    k = np.arange(n) // 2  # pair index = neuron
    W[k, np.arange(n)] = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)  # W_{2k} = e_k, W_{2k+1} = -e_k
    return W


@_family("frame", n_iter=0)
def _frame(n: int, m: int, seed: Any, *, n_iter: int) -> np.ndarray:
    ss = B.seed_sequence(seed)
    return _frame_host(n, m, int(ss.entropy), tuple(ss.spawn_key), n_iter or frame_steps(n, m)).copy()


def frame_steps(n: int, m: int) -> int:
    """The frame's number of descent steps when ``n_iter`` is 0 (the default): as many as fit in about
    ``1e9`` multiply-adds of ``m x n x n`` products, between 100 and 1000 (1000 up to ``m n^2 = 1e6``,
    e.g. n = 64 in m = 16; 100 from ``m n^2 = 1e7``, e.g. n = 256 in m = 160, on)."""
    n = check_number("n", n, Interval(1, None), integer=True)
    m = check_number("m", m, Interval(1, None), integer=True)
    return int(min(_STEPS_MAX, max(_STEPS_MIN, round(_STEP_WORK / (m * n * n)))))


FAMILIES = tuple(_FAMILIES)


def make_code(
    family: str,
    n_features: int,
    m: int,
    seed: int | np.random.SeedSequence = 0,
    *,
    xp: Any = None,
    dtype: str = "float64",
    **kw: Any,
) -> Any:
    """A code ``W`` of shape ``(m, n_features)`` with unit columns (zero columns for dropped features).

    Parameters
    ----------
    family : one of :data:`FAMILIES`: "mono" | "random" | "antipodal" | "frame" (see the module docstring)
    n_features : int >= 1; m : int >= 1 (neurons)
    seed : int >= 0 or SeedSequence (used by "random" and "frame")
    xp : namespace or backend name (default numpy); dtype : "float64" | "float32"
    **kw : "frame" only: ``n_iter`` (int >= 0) descent steps; 0 (default): :func:`frame_steps` ``(n, m)``
        (1000 for small frames, down to 100 for large ones).
    """
    family = check_option("family", family, tuple(_FAMILIES))
    n = check_number("n_features", n_features, Interval(1, None), integer=True)
    m = check_number("m", m, Interval(1, None), integer=True)
    seed = check_seed("seed", seed, sequence=True)
    allowed = _FAMILIES[family].options
    for key in kw:
        if key not in allowed:
            raise ValueError(f"keyword {key!r} unknown for family {family!r}, must be one of {sorted(allowed)!r}")
    opts = {key: check_number(key, value, Interval(0 if allowed[key] == 0 else 1, None), integer=True)
            for key, value in {**allowed, **kw}.items()}
    xp = B.resolve_backend(xp) if isinstance(xp, str) else B.get_namespace(xp=xp)
    W = _FAMILIES[family].build(n, m, seed, **opts)
    return B.asarray(W, xp, dtype=B.resolve_dtype(xp, dtype))


def _check_W(W: Any) -> Any:
    check_array("W", W, min_ndim=2, real_floating=True)
    return B.get_namespace(W)


def encode(W: Any, x: Any) -> Any:
    """``h = x W^T``: ``W (..., m, n)``, ``x (..., n_samples, n)`` → ``h (..., n_samples, m)``.

    Leading axes broadcast (e.g. ``W (K, m, n)`` with ``x (N, n)`` gives ``(K, N, m)``).
    """
    xp = _check_W(W)
    check_array("x", x, min_ndim=2, real=True)
    if x.shape[-1] != W.shape[-1]:
        raise ValueError(f"x.shape == {tuple(x.shape)}, last axis must equal W.shape[-1] == {W.shape[-1]} (n_features)")
    return xp.matmul(x, xp.matrix_transpose(W))


def represented(W: Any, tol: float = TOL) -> Any:
    """Boolean ``(..., n)``: ``‖W_i‖ > tol`` (feature ``i`` has a direction)."""
    xp = _check_W(W)
    tol = check_number("tol", tol, NONNEG)
    return xp.linalg.vector_norm(W, axis=-2) > tol


def _unit_columns(W: Any, tol: float, xp: Any) -> Any:
    """``W`` with represented columns normalised and dropped ones exactly zero."""
    norms = xp.linalg.vector_norm(W, axis=-2)  # (..., n)
    rep = norms > tol
    safe = xp.where(rep, norms, xp.ones_like(norms))
    return xp.where(rep[..., None, :], W / safe[..., None, :], xp.zeros_like(W))


def coherence(W: Any, tol: float = TOL) -> Any:
    """Mutual coherence ``μ = max_{i != j} |<W_i, W_j>| / (‖W_i‖ ‖W_j‖)`` over represented columns.

    ``W (..., m, n)`` → ``(...)``; 0 when fewer than two features are represented.
    Welch: ``μ >= welch_bound(n_rep, m)`` for ``n_rep`` represented columns.
    """
    xp = _check_W(W)
    tol = check_number("tol", tol, NONNEG)
    U = _unit_columns(W, tol, xp)
    G = xp.abs(xp.matmul(xp.matrix_transpose(U), U))  # (..., n, n)
    return xp.max(_zero_diagonal(G, xp), axis=(-2, -1))


def features_per_dimension(W: Any) -> Any:
    """``‖W‖_F^2 / m`` (number of unit features per neuron; Elhage et al.'s "dimensions per feature"
    is its inverse). ``W (..., m, n)`` → ``(...)``."""
    xp = _check_W(W)
    return xp.sum(W * W, axis=(-2, -1)) / W.shape[-2]


def dimensionality(W: Any, tol: float = TOL) -> Any:
    """Elhage et al. (2022) feature dimensionality ``D_i = ‖W_i‖^2 / Σ_j (Ŵ_i · W_j)^2``.

    Since ``Σ_j (Ŵ_i · W_j)^2 = Σ_j G_ij^2 / ‖W_i‖^2`` with ``G = W^T W``, ``D_i = G_ii^2 / Σ_j G_ij^2``
    in ``(0, 1]``: 1 for a feature alone in its directions, 1/2 for an antipodal pair, 0 for a dropped
    feature (``‖W_i‖ <= tol``). ``W (..., m, n)`` → ``(..., n)``.
    """
    xp = _check_W(W)
    tol = check_number("tol", tol, NONNEG)
    G = xp.matmul(xp.matrix_transpose(W), W)  # (..., n, n)
    sq = xp.sum(W * W, axis=-2)  # (..., n) = G_ii
    den = xp.sum(G * G, axis=-1)  # (..., n) = Σ_j G_ij^2 >= G_ii^2
    rep = xp.sqrt(sq) > tol
    safe = xp.where(rep, den, xp.ones_like(den))
    return xp.where(rep, sq * sq / safe, xp.zeros_like(sq))


def interference(W: Any) -> Any:
    """``W^T W`` with zero diagonal: ``I_ij = <W_i, W_j>`` for ``i != j``. ``(..., m, n)`` → ``(..., n, n)``."""
    xp = _check_W(W)
    return _zero_diagonal(xp.matmul(xp.matrix_transpose(W), W), xp)


def _zero_diagonal(G: Any, xp: Any) -> Any:
    """``G (..., n, n)`` with its diagonal set to 0."""
    off = ~xp.astype(xp.eye(G.shape[-1], dtype=G.dtype, device=B.device_of(G)), xp.bool)
    return xp.where(off, G, xp.zeros_like(G))


#: what a probe reads of a code: the hidden layer or the toy model's output
READOUTS = ("hidden", "output")


def _host_reals(name: str, a: Any, **shape: Any) -> np.ndarray:
    """``a`` as a finite float64 host array (any backend, lists too); ValueError naming ``name`` otherwise."""
    try:
        a = np.asarray(B.to_numpy(a))
    except Exception:  # noqa: BLE001 - whatever cannot become an array
        raise ValueError(f"{name} == {a!r:.60}, must be an array of real numbers") from None
    check_array(name, a, real=True, **shape)
    return np.asarray(a, dtype=np.float64)


def code_features(W: Any, x: Any, *, readout: str = "hidden", b: Any = None) -> Any:
    """What the probe reads: ``h = x Wᵀ`` (``"hidden"``) or ``ReLU(x WᵀW + b)`` (``"output"``; ``b = 0``
    when None). ``W (m, n)``, ``x (..., N, n)`` → ``(..., N, m)`` or ``(..., N, n)``.

    Arrays of a device backend (CuPy, array-api-strict) are computed on it in their dtype; anything else
    (numpy arrays, lists) as float64 numpy."""
    check_option("readout", readout, READOUTS)
    if _on_device(W) or _on_device(x) or _on_device(b):
        xp = B.get_namespace(W, x, b)
        check_array("W", W, ndim=2, real_floating=True)
        check_array("x", x, min_ndim=2, real_floating=True)
        if b is not None:
            check_array("b", b, ndim=1, real_floating=True)
    else:
        W = _host_reals("W", W, ndim=2)
        x = _host_reals("x", x, min_ndim=2)
        b = None if b is None else _host_reals("b", b, ndim=1)
        xp = B.get_namespace(W)
    if x.shape[-1] != W.shape[-1]:
        raise ValueError(f"x.shape == {tuple(x.shape)}, last axis must equal W.shape[-1] == {W.shape[-1]} (n_features)")
    h = xp.matmul(x, xp.matrix_transpose(W))
    if readout == "hidden":
        return h
    pre = xp.matmul(h, W)
    if b is not None:
        if tuple(b.shape) != (W.shape[-1],):
            raise ValueError(f"b.shape == {tuple(b.shape)}, must be ({W.shape[-1]},) (n_features)")
        pre = pre + b
    return xp.maximum(pre, xp.zeros((), dtype=pre.dtype, device=B.device_of(pre)))


def _on_device(a: Any) -> bool:
    """An array of a backend other than numpy (CuPy, array-api-strict)."""
    return a is not None and hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray)
