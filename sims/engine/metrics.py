"""Metrics of scores and codes: accuracy, margins, Fisher separation, confusion matrices.

Conventions (docs/INTERFACES.md): classes are ``0..C-1``; ``scores`` are ``(..., n_samples, C)``;
labels are integer ``(..., n_samples)`` and broadcast against the leading axes of ``scores``.
Everything is written against the Array API standard and batched over leading axes; results live on
the inputs' namespace (0-d arrays when there is no batch).

Degenerate cases never warn: an empty class gives ``nan`` in the Fisher quantities (see each
function).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sims.engine import backend as B
from sims.engine.validation import Interval, check_array, check_number

__all__ = [
    "accuracy",
    "margins",
    "signed_margins",
    "fisher_separation",
    "fisher_ratio",
    "confusion_matrix",
]


def _check_labels(name: str, y: Any, n_classes: int | None, xp: Any) -> Any:
    """Labels: an integer array with values in ``[0, n_classes)`` (any shape; ``>= 0`` without n_classes)."""
    check_array(name, y, finite=False)
    if not xp.isdtype(y.dtype, "integral"):
        raise ValueError(f"{name}.dtype == {y.dtype}, must be an integer dtype (class labels 0..C-1)")
    if y.size != 0:
        lo, hi = int(xp.min(y)), int(xp.max(y))
        if lo < 0:
            top = "inf)" if n_classes is None else f"{n_classes - 1}] (n_classes == {n_classes})"
            raise ValueError(f"{name} contains {lo}, must be in [0, {top}")
        if n_classes is not None and hi >= n_classes:
            raise ValueError(f"{name} contains {hi}, must be in [0, {n_classes - 1}] (n_classes == {n_classes})")
    return y


def _check_scores(name: str, scores: Any, *, min_classes: int = 1) -> Any:
    check_array(name, scores, min_ndim=2, real_floating=True)
    xp = B.get_namespace(scores)
    if scores.shape[-1] < min_classes:
        raise ValueError(f"{name}.shape[-1] == {scores.shape[-1]}, must be >= {min_classes} (classes)")
    return xp


def _check_broadcast(a_name: str, a_shape: tuple, b_name: str, b_shape: tuple) -> tuple:
    """Shape of ``broadcast(a, b)``, or a ValueError naming both."""
    try:
        return tuple(np.broadcast_shapes(a_shape, b_shape))
    except ValueError:
        raise ValueError(f"{a_name}.shape == {a_shape} and {b_name}.shape == {b_shape}, must broadcast") from None


def accuracy(scores: Any, y: Any) -> Any:
    """Fraction of samples whose top-scoring class equals ``y``.

    Parameters
    ----------
    scores : float ``(..., n_samples, C)`` — or integer predicted labels ``(..., n_samples)``
    y : int ``(..., n_samples)`` (broadcasts against the leading axes)

    Returns
    -------
    acc : float64 ``(...)``. Ties in ``scores`` go to the lowest class index (``argmax``).
    """
    check_array("scores", scores, finite=False)
    check_array("y", y, finite=False)
    xp = B.get_namespace(scores, y)
    n_classes = None
    if xp.isdtype(scores.dtype, "integral"):
        _check_labels("scores", scores, None, xp)
        pred = scores
    else:
        _check_scores("scores", scores)
        pred = xp.argmax(scores, axis=-1)
        n_classes = int(scores.shape[-1])
    _check_labels("y", y, n_classes, xp)
    if len(pred.shape) < 1 or len(y.shape) < 1:
        raise ValueError(f"y.shape == {tuple(y.shape)}, must have a samples axis")
    name = "scores" if n_classes is None else "scores[..., 0]"
    shape = _check_broadcast(name, tuple(pred.shape), "y", tuple(y.shape))
    if shape[-1] < 1:
        raise ValueError("n_samples == 0, must be >= 1")
    hit = xp.astype(xp.astype(pred, xp.int64) == xp.astype(y, xp.int64), xp.float64)
    return xp.mean(hit, axis=-1)


def margins(scores: Any) -> Any:
    """Top score minus runner-up per sample: ``s_(1) - s_(2) >= 0``.

    scores : float ``(..., n_samples, C)`` with ``C >= 2`` → ``(..., n_samples)``.
    """
    xp = _check_scores("scores", scores, min_classes=2)
    s = xp.sort(scores, axis=-1)
    return s[..., -1] - s[..., -2]


def _onehot(y: Any, C: int, xp: Any) -> Any:
    """Boolean ``(..., n, C)``: ``y[..., i] == c``."""
    return xp.astype(y, xp.int64)[..., None] == xp.arange(C, dtype=xp.int64, device=B.device_of(y))


def signed_margins(scores: Any, y: Any) -> Any:
    """True-class score minus the best other score: ``s_y - max_{c != y} s_c`` (> 0 iff correct).

    scores : float ``(..., n_samples, C)``, ``C >= 2``; y : int ``(..., n_samples)`` in ``[0, C)``
    → ``(..., n_samples)``.
    """
    xp = _check_scores("scores", scores, min_classes=2)
    C = scores.shape[-1]
    _check_labels("y", y, C, xp)
    _check_broadcast("scores[..., 0]", tuple(scores.shape[:-1]), "y", tuple(y.shape))
    hot = _onehot(y, C, xp)  # (..., n, C)
    dev = B.device_of(scores)
    zero = xp.zeros((), dtype=scores.dtype, device=dev)
    true = xp.sum(xp.where(hot, scores, zero), axis=-1)
    other = xp.max(xp.where(hot, xp.asarray(-xp.inf, dtype=scores.dtype, device=dev), scores), axis=-1)
    return true - other


def _safe_ratio(num: Any, den: Any, xp: Any) -> Any:
    """``num / den`` with ``den == 0`` → ``inf`` (num > 0) or ``nan`` (num == 0), without warnings."""
    pos = den > 0
    q = num / xp.where(pos, den, xp.ones_like(den))
    dev = B.device_of(num)
    fallback = xp.where(num > 0, xp.asarray(xp.inf, dtype=num.dtype, device=dev),
                        xp.asarray(xp.nan, dtype=num.dtype, device=dev))
    return xp.where(pos, q, fallback)


def fisher_separation(v: Any, y: Any, *, classes: tuple[int, int] = (0, 1)) -> Any:
    """Fisher separation of a scalar code between two classes (docs/DESIGN.md):

        J = (E[v | y=a] - E[v | y=b])^2 / (Var[v | y=a] + Var[v | y=b])

    with population moments (``ddof = 0``: the plug-in moments of the empirical distribution, which
    is what the closed forms in ``theory`` compute). Samples whose label is neither ``a`` nor ``b`` are
    ignored. Both variances zero gives ``inf`` (means differ) or ``nan`` (equal means); a class
    without samples gives ``nan``.

    Parameters
    ----------
    v : float ``(..., n_samples)``
    y : int ``(..., n_samples)`` (broadcasts against ``v``)
    classes : (a, b), distinct non-negative ints

    Returns
    -------
    J : ``(...)``, dtype of ``v``.
    """
    check_array("v", v, min_ndim=1, real_floating=True)
    check_array("y", y, finite=False)
    xp = B.get_namespace(v, y)
    _check_labels("y", y, None, xp)
    _check_broadcast("v", tuple(v.shape), "y", tuple(y.shape))
    if not (isinstance(classes, (tuple, list)) and len(classes) == 2):
        raise ValueError(f"classes == {classes!r}, must be a pair (a, b)")
    a = check_number("classes[0]", classes[0], Interval(0, None), integer=True)
    b = check_number("classes[1]", classes[1], Interval(0, None), integer=True)
    if a == b:
        raise ValueError(f"classes == {classes!r}, must be two distinct labels")
    yy = xp.astype(y, xp.int64)
    zero = xp.zeros((), dtype=v.dtype, device=B.device_of(v))
    stats = []
    for c in (a, b):
        mask = yy == c
        cnt = xp.sum(xp.astype(mask, v.dtype), axis=-1)  # (...)
        safe = xp.where(cnt > 0, cnt, xp.ones_like(cnt))
        mean = xp.sum(xp.where(mask, v, zero), axis=-1) / safe
        var = xp.sum(xp.where(mask, (v - mean[..., None]) ** 2, zero), axis=-1) / safe  # ddof = 0
        stats.append((cnt, mean, var))
    (na, ma, va), (nb, mb, vb) = stats
    J = _safe_ratio((ma - mb) ** 2, va + vb, xp)
    empty = (na == 0) | (nb == 0)
    return xp.where(empty, xp.asarray(xp.nan, dtype=v.dtype, device=B.device_of(v)), J)


def fisher_ratio(H: Any, y: Any, n_classes: int) -> Any:
    """Multi-class, multi-dimensional Fisher criterion ``J = trace(S_W^+ S_B)``.

    With class weights ``π_c = n_c / n``, class means ``μ_c`` and grand mean ``μ = Σ π_c μ_c``:

        S_W = Σ_c π_c Cov[h | y=c]        (ddof = 0; the pooled within-class covariance)
        S_B = Σ_c π_c (μ_c - μ)(μ_c - μ)^T

    ``S_W^+`` is the Moore–Penrose pseudo-inverse. When ``S_W`` is invertible, ``J`` is the sum of the
    generalized eigenvalues of ``(S_B, S_W)`` (between / within variance ratios of the discriminant
    directions) and is invariant under invertible linear maps of ``h``. For one dimension and two
    balanced classes ``J = (μ_a - μ_b)^2 / (2 (Var_a + Var_b)) = fisher_separation / 2``; in general
    for ``d = 1``, ``C = 2``: ``J = π_a π_b Δ^2 / (π_a Var_a + π_b Var_b)``. Empty classes contribute
    nothing.

    Parameters
    ----------
    H : float ``(..., n_samples, d)``
    y : int ``(..., n_samples)`` in ``[0, n_classes)``
    n_classes : int >= 2

    Returns
    -------
    J : ``(...)``, dtype of ``H``.
    """
    check_array("H", H, min_ndim=2, real_floating=True)
    check_array("y", y, finite=False)
    xp = B.get_namespace(H, y)
    C = check_number("n_classes", n_classes, Interval(2, None), integer=True)
    _check_labels("y", y, C, xp)
    shape = _check_broadcast("H[..., 0]", tuple(H.shape[:-1]), "y", tuple(y.shape))  # (..., n)
    n = shape[-1]
    if n < 1:
        raise ValueError("n_samples == 0, must be >= 1")
    P = xp.broadcast_to(xp.astype(_onehot(y, C, xp), H.dtype), shape + (C,))  # (..., n, C)
    cnt = xp.sum(P, axis=-2)  # (..., C)
    safe = xp.where(cnt > 0, cnt, xp.ones_like(cnt))
    M = xp.matmul(xp.matrix_transpose(P), H) / safe[..., None]  # (..., C, d) class means
    pi = cnt / n  # (..., C)
    mu = xp.sum(pi[..., None] * M, axis=-2)  # (..., d) grand mean of the labelled samples
    R = H - xp.matmul(P, M)  # (..., n, d) within-class residuals
    Sw = xp.matmul(xp.matrix_transpose(R), R) / n  # (..., d, d)
    D = (M - mu[..., None, :]) * xp.sqrt(pi)[..., None]  # (..., C, d)
    Sb = xp.matmul(xp.matrix_transpose(D), D)  # (..., d, d)
    return xp.linalg.trace(xp.matmul(xp.linalg.pinv(Sw), Sb))


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> Any:
    """Counts ``M[..., i, j] = #{samples with y_true = i and y_pred = j}``.

    y_true, y_pred : int ``(..., n_samples)`` in ``[0, n_classes)`` (broadcasting) → int64
    ``(..., C, C)``; each matrix sums to ``n_samples``, row sums are the true class counts.
    """
    C = check_number("n_classes", n_classes, Interval(1, None), integer=True)
    check_array("y_true", y_true, finite=False)
    check_array("y_pred", y_pred, finite=False)
    xp = B.get_namespace(y_true, y_pred)
    _check_labels("y_true", y_true, C, xp)
    _check_labels("y_pred", y_pred, C, xp)
    if len(y_true.shape) < 1 or len(y_pred.shape) < 1:
        raise ValueError("y_true and y_pred must have at least one axis (samples)")
    _check_broadcast("y_true", tuple(y_true.shape), "y_pred", tuple(y_pred.shape))
    T = xp.astype(_onehot(y_true, C, xp), xp.int64)  # (..., n, C)
    P = xp.astype(_onehot(y_pred, C, xp), xp.int64)
    return xp.matmul(xp.matrix_transpose(T), P)
