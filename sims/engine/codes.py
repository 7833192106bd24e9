"""Linear feature codes ``h = W x`` and their monosemanticity / superposition metrics.

A code is ``W`` of shape ``(m, n)``: column ``W_i`` is the direction of feature ``i`` in ``m`` neurons,
a unit vector when feature ``i`` is represented and zero when it is dropped (docs/DESIGN.md, "n features
in m dimensions"). Families (:func:`make_code`):

* ``"mono"``   (``m <= n``): features ``0..m-1`` on the axes ``e_1..e_m``, the rest dropped.
* ``"random"``: i.i.d. Gaussian columns, normalised.
* ``"antipodal"`` (``n <= 2m``): ``W_{2k} = e_k``, ``W_{2k+1} = -e_k`` — neuron ``k`` reads
  ``x_{2k} - x_{2k+1}``, the paper's polysemantic code ``v = x1 - x2`` (§4.3). For odd ``n`` the last
  feature is alone on axis ``e_{(n-1)/2}`` (monosemantic, orthogonal to every pair).
* ``"frame"``: a low-coherence unit-norm frame by alternating projection (Tropp, Dhillon, Heath &
  Strohmer 2005); orthonormal (random rotation) when ``n <= m``.

Frames are built on the host in float64 (deterministic under ``seed``) and moved to the device.
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
    "features_per_dimension",
    "dimensionality",
    "interference",
]

#: default column-norm threshold below which a feature counts as dropped
TOL = 1e-6
# target of the structural projection: a fraction _ALPHA of the way from the Welch bound to the
# current coherence (a shrinking target converges faster than projecting onto the bound itself)
_ALPHA = 0.8


def welch_bound(n: int, m: int) -> float:
    """Welch bound ``sqrt((n - m) / (m (n - 1)))`` on the coherence of ``n`` unit vectors in ``R^m``
    (0 for ``n <= m``, where orthonormal columns exist)."""
    n = check_number("n", n, Interval(1, None), integer=True)
    m = check_number("m", m, Interval(1, None), integer=True)
    if n <= m:
        return 0.0
    return math.sqrt((n - m) / (m * (n - 1)))


def _coherence_host(F: np.ndarray) -> float:
    G = np.abs(F.T @ F)
    np.fill_diagonal(G, 0.0)
    return float(G.max())


@functools.lru_cache(maxsize=64)
def _frame_host(n: int, m: int, entropy: int, spawn_key: tuple, n_iter: int) -> np.ndarray:
    """Alternating projection toward a Grassmannian frame; returns float64 ``(m, n)``, unit columns.

    Iterate on the Gram matrix ``G = F^T F`` (n × n):
      1. structural set: ``G_ii = 1``, ``|G_ij| <= μ_t`` (clip), with the target
         ``μ_t = μ_W + α (μ_k - μ_W)`` between the Welch bound ``μ_W`` and the current coherence;
      2. spectral set of unit-norm tight frames: keep the top ``m`` eigenvectors ``V`` and set their
         eigenvalues to ``n / m`` (a rank-``m`` PSD Gram with ``trace = n``), ``F = sqrt(n/m) V^T``;
      3. renormalise the columns of ``F``.
    The best (lowest coherence) iterate is returned.
    """
    with B.one_blas_thread():
        return _frame_iterate(n, m, entropy, spawn_key, n_iter)


def _frame_iterate(n: int, m: int, entropy: int, spawn_key: tuple, n_iter: int) -> np.ndarray:
    g = B.rng(np.random.SeedSequence(entropy=entropy, spawn_key=spawn_key), "code", "frame")
    F = g.standard_normal((m, n))
    F /= np.linalg.norm(F, axis=0)
    if n <= m:
        Q, R = np.linalg.qr(F)  # random orthonormal columns; fix signs so Q is a function of F
        return Q * np.where(np.diag(R) < 0, -1.0, 1.0)
    mu_w = welch_bound(n, m)
    best, best_mu = F.copy(), _coherence_host(F)
    mu = best_mu
    for _ in range(n_iter):
        G = F.T @ F  # (n, n)
        mu_t = mu_w + _ALPHA * (mu - mu_w)
        np.clip(G, -mu_t, mu_t, out=G)
        np.fill_diagonal(G, 1.0)
        _, V = np.linalg.eigh(G)  # ascending eigenvalues
        F = math.sqrt(n / m) * V[:, -m:].T  # (m, n) tight frame
        F /= np.linalg.norm(F, axis=0)
        mu = _coherence_host(F)
        if mu < best_mu:
            best, best_mu = F.copy(), mu
            if best_mu <= mu_w * (1.0 + 1e-12):  # an equiangular tight frame: optimal, stop
                break
    return best


@dataclass(frozen=True)
class Family:
    """A code family: ``build(n, m, seed, **options) -> W`` (host float64 ``(m, n)``, unit or zero columns;
    ``seed`` a SeedSequence) and its keyword options with their defaults (each checked as an int >= 1)."""

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


@_family("frame", n_iter=1000)
def _frame(n: int, m: int, seed: Any, *, n_iter: int) -> np.ndarray:
    ss = B.seed_sequence(seed)
    return _frame_host(n, m, int(ss.entropy), tuple(ss.spawn_key), n_iter).copy()


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
    **kw : "frame" only: ``n_iter`` (int >= 1, default 1000) alternating-projection steps.
    """
    family = check_option("family", family, tuple(_FAMILIES))
    n = check_number("n_features", n_features, Interval(1, None), integer=True)
    m = check_number("m", m, Interval(1, None), integer=True)
    seed = check_seed("seed", seed, sequence=True)
    allowed = _FAMILIES[family].options
    for key in kw:
        if key not in allowed:
            raise ValueError(f"keyword {key!r} unknown for family {family!r}, must be one of {sorted(allowed)!r}")
    opts = {key: check_number(key, value, Interval(1, None), integer=True) for key, value in {**allowed, **kw}.items()}
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
    check_array("x", x, min_ndim=2)
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
    off = ~xp.astype(xp.eye(G.shape[-1], dtype=G.dtype), xp.bool)
    return xp.where(off, G, xp.zeros_like(G))


#: what a probe reads of a code: the hidden layer or the toy model's output
READOUTS = ("hidden", "output")


def code_features(W: Any, x: Any, *, readout: str = "hidden", b: Any = None) -> np.ndarray:
    """What the probe reads: ``h = x Wᵀ`` (``"hidden"``) or ``ReLU(x WᵀW + b)`` (``"output"``; ``b = 0``
    when None). ``W (m, n)``, ``x (..., N, n)`` → ``(..., N, m)`` or ``(..., N, n)``."""
    check_option("readout", readout, READOUTS)
    W = np.asarray(B.to_numpy(W), dtype=np.float64)
    check_array("W", W, ndim=2)
    x = np.asarray(B.to_numpy(x), dtype=np.float64)
    check_array("x", x, min_ndim=2)
    if readout == "hidden":
        return x @ W.T
    pre = (x @ W.T) @ W
    if b is not None:
        pre = pre + np.asarray(b, dtype=np.float64)
    return np.maximum(pre, 0.0)
