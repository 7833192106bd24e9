"""Closed-form linear probes, batched over a leading axis ``...`` (noise level x seed x code).

A probe reads a code ``H`` (``(..., n, d)``) and predicts one of ``C`` classes (``0..C-1``) by
``argmax_c (H @ coef + intercept)_c``. Every solver here is one vectorized factorization per distinct
``H``, whatever the number of problems sharing it:

* :func:`fit_linear` -- least squares (``alpha = 0``) or ridge regression on one-vs-rest targets,
  ``min_W ||sqrt(w) (Y - H W - 1 b^T)||_F^2 + alpha ||W||_F^2`` (scikit-learn ``Ridge``'s objective;
  the intercept is not penalised: it is handled by centring).
* :func:`fit_lda` -- linear discriminant analysis with a shared (pooled within-class) covariance.

Labels may carry an extra *label-set* axis: ``y`` of shape ``(..., L, n)`` holds ``L`` label vectors
for the same ``H`` (e.g. the 9 label-noise levels of a sweep). For :func:`fit_linear` the ``L`` label
sets are stacked as the columns of one right-hand side, so ONE factorization of ``H`` serves them all.
Batch axes of ``H`` and ``y`` broadcast (``H`` of shape ``(2, 1, n, d)`` and ``y`` of shape
``(3, 9, n)`` with ``label_sets=True`` give probes of batch shape ``(2, 3)`` x 9 label sets).

Dtypes: float32 ``H`` gives float32 probes; anything else is computed in float64.
The iterative (first-order / quasi-Newton) probes live in :mod:`sims.engine.sgd`; they return the same
:class:`LinearProbe`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sims.engine.backend import device_of, get_namespace
from sims.engine.validation import NONNEG, UNIT, Interval, check_array, check_number, check_option

__all__ = ["LinearProbe", "fit_linear", "fit_lda", "class_sums", "LINEAR_SOLVERS", "TARGETS"]

LINEAR_SOLVERS = ("auto", "cholesky", "qr", "svd")
TARGETS = ("onehot", "signed")
#: above this many classes, :func:`fit_linear` on host (numpy) arrays with the svd solver, one-hot targets, no
#: sample weights and one 2-D ``H`` forms ``U^T Y`` as per-class sums of ``U``'s rows instead of the product with
#: the ``(n, C)`` one-hot matrix (``O(n d)`` instead of ``O(n d C)``), equal up to rounding; at or below it
#: (and on other backends) the product, so the results of smaller problems stay bit for bit
CLASS_SUMS_ABOVE = 256


# ----------------------------------------------------------------------------------------------
# The probe object
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LinearProbe:
    """A batch of fitted linear probes.

    Attributes
    ----------
    coef : array ``(..., [L,] d, C)``
    intercept : array ``(..., [L,] C)``
    solver : str
        The solver that actually ran (``"auto"`` is resolved), e.g. ``"cholesky"``, ``"lbfgs"``.
    label_axis : bool
        True when the probes carry a label-set axis ``L`` (at position ``-3`` of ``coef``).
    n_iter, converged, objective : arrays ``(..., [L])`` or None
        Iterations run, convergence flags and final objective values (iterative solvers only).
    loss : str or None
        The loss minimised (``"squared"``, ``"lda"``, ``"softmax"``, ``"logistic"``, ``"hinge"``).
    """

    coef: Any
    intercept: Any
    solver: str
    label_axis: bool = False
    n_iter: Any = None
    converged: Any = None
    objective: Any = None
    loss: str | None = None

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[-2])

    @property
    def n_classes(self) -> int:
        return int(self.coef.shape[-1])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of ``...`` (including the label-set axis when there is one)."""
        return tuple(self.coef.shape[:-2])

    def scores(self, H: Any, *, shared: bool = True) -> Any:
        """Class scores ``H @ coef + intercept``.

        ``H`` is ``(..., n, d)``, its batch axes broadcasting against the probe's. When the probe has a
        label-set axis and ``shared`` is True (default), the same ``H`` is scored by all ``L`` probes
        (an axis is inserted at ``-3``): result ``(..., L, n, C)``. With ``shared=False``, ``H`` must
        already carry the label-set axis, ``(..., L, n, d)``. Without a label-set axis: ``(..., n, C)``.
        """
        xp = get_namespace(self.coef)
        check_array("H", H, min_ndim=2, real=True)
        if H.shape[-1] != self.n_features:
            raise ValueError(
                f"H.shape == {tuple(H.shape)}, last axis must equal the probe's n_features == {self.n_features}"
            )
        H = xp.astype(H, self.coef.dtype) if H.dtype != self.coef.dtype else H
        if self.label_axis and shared:
            H = H[..., None, :, :]
        try:
            np.broadcast_shapes(tuple(H.shape[:-2]), self.batch_shape)
        except ValueError:
            raise ValueError(
                f"H.shape == {tuple(H.shape)} does not broadcast against the probe batch shape "
                f"{self.batch_shape}"
            ) from None
        return xp.matmul(H, self.coef) + self.intercept[..., None, :]

    def predict(self, H: Any, *, shared: bool = True) -> Any:
        """Predicted classes ``argmax_c scores`` as int64, shape ``(..., [L,] n)`` (see :meth:`scores`)."""
        xp = get_namespace(self.coef)
        return xp.astype(xp.argmax(self.scores(H, shared=shared), axis=-1), xp.int64)


# ----------------------------------------------------------------------------------------------
# Shared input handling (also used by sims.engine.sgd)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    xp: Any
    H: Any  # (*bH, n, d) float array in the compute dtype
    y: Any  # (*by, L, n) integer labels (L == 1 when there is no label-set axis)
    w: Any  # (*bH, n) sample weights in the compute dtype, or None
    n_classes: int
    label_axis: bool
    batch_H: tuple
    batch_y: tuple
    batch: tuple  # broadcast of batch_H and batch_y (without L)

    @property
    def n_labelsets(self) -> int:
        return int(self.y.shape[-2])


def _is_dtype(xp: Any, x: Any, kind: str) -> bool:
    return bool(xp.isdtype(x.dtype, kind))


def _prepare(
    H: Any, y: Any, n_classes: Any, *, label_sets: Any = None, sample_weight: Any = None
) -> _Prepared:
    """Validate ``(H, y, n_classes, sample_weight)`` and bring them to a common form (see module doc)."""
    n_classes = check_number("n_classes", n_classes, Interval(2, None, "[)"), integer=True)
    check_array("H", H, min_ndim=2)
    check_array("y", y, min_ndim=1, finite=False)
    xp = get_namespace(H, y)
    if _is_dtype(xp, H, "real floating"):
        dt = xp.float32 if H.dtype == xp.float32 else xp.float64
    elif _is_dtype(xp, H, "integral"):
        dt = xp.float64
    else:
        raise ValueError(f"H.dtype == {H.dtype}, must be a real floating or integer dtype")
    H = xp.astype(H, dt) if H.dtype != dt else H
    n, d = int(H.shape[-2]), int(H.shape[-1])
    if n < 1:
        raise ValueError(f"H.shape == {tuple(H.shape)}, must have at least 1 sample (axis -2)")
    if d < 1:
        raise ValueError(f"H.shape == {tuple(H.shape)}, must have at least 1 feature (axis -1)")
    if math.prod(H.shape) > 0:
        big, top = float(xp.max(xp.abs(H))), max_abs_H(xp, dt, n, d)
        if big > top:  # its Gram matrix H^T H (every solver forms it or its factors) would overflow
            raise ValueError(
                f"H contains values up to {big:.3g} in magnitude, must be in [-{top:.3g}, {top:.3g}] for "
                f"{n} x {d} {H.dtype} (so that H^T H is finite); rescale H"
            )
    if not _is_dtype(xp, y, "integral"):
        raise ValueError(f"y.dtype == {y.dtype}, must be an integer dtype (class labels 0..n_classes-1)")
    if label_sets is None:
        label_sets = len(y.shape) == len(H.shape)
    elif not isinstance(label_sets, bool):
        raise ValueError(f"label_sets == {label_sets!r}, must be one of None, True, False")
    if label_sets and len(y.shape) < 2:
        raise ValueError(f"y.ndim == {len(y.shape)}, must be >= 2 with label_sets=True (shape (..., L, n))")
    if int(y.shape[-1]) != n:
        raise ValueError(
            f"y.shape == {tuple(y.shape)}, its last axis must equal the number of samples "
            f"H.shape[-2] == {n}"
        )
    if not label_sets:
        y = y[..., None, :]
    batch_H, batch_y = tuple(H.shape[:-2]), tuple(y.shape[:-2])
    try:
        batch = tuple(np.broadcast_shapes(batch_H, batch_y))
    except ValueError:
        raise ValueError(
            f"y.shape == {tuple(y.shape)} does not broadcast against H.shape == {tuple(H.shape)} "
            f"(batch axes {batch_y} vs {batch_H})"
        ) from None
    if math.prod(y.shape) > 0:
        lo, hi = int(xp.min(y)), int(xp.max(y))
        for v in (lo, hi):
            if not 0 <= v < n_classes:
                raise ValueError(f"y contains {v}, must be in [0, {n_classes}) (n_classes == {n_classes})")
    w = None
    if sample_weight is not None:
        check_array("sample_weight", sample_weight, min_ndim=1, real=True)
        sample_weight = xp.asarray(sample_weight)
        try:
            shp = np.broadcast_shapes(tuple(sample_weight.shape), tuple(H.shape[:-1]))
        except ValueError:
            shp = None
        if shp != tuple(H.shape[:-1]):
            raise ValueError(
                f"sample_weight.shape == {tuple(sample_weight.shape)}, must broadcast to "
                f"H.shape[:-1] == {tuple(H.shape[:-1])}"
            )
        w = xp.astype(sample_weight, dt)
        if float(xp.min(w)) < 0:
            raise ValueError(f"sample_weight contains {float(xp.min(w))}, must be in [0, inf)")
        w = xp.broadcast_to(w, tuple(H.shape[:-1]))
        if float(xp.min(xp.sum(w, axis=-1))) <= 0:
            raise ValueError("sample_weight sums to 0 for some problem, must have a positive sum")
    return _Prepared(xp, H, y, w, n_classes, bool(label_sets), batch_H, batch_y, batch)


def max_abs_H(xp: Any, dtype: Any, n: int, d: int) -> float:
    """Largest ``|H|`` a probe accepts for ``n`` samples of ``d`` features in ``dtype``: a quarter of
    ``sqrt(max float / (n d))``, so that every entry of ``H^T H``, every squared row norm and the
    scores of the iterative probes stay finite (1e152 for float64 and ~1e16 for float32 at n d = 1e4)."""
    return 0.25 * math.sqrt(float(xp.finfo(dtype).max) / (max(n, 1) * max(d, 1)))


def _onehot(xp: Any, y: Any, n_classes: int, dtype: Any) -> Any:
    """``(..., n)`` int labels -> ``(..., n, C)`` 0/1 matrix."""
    return xp.astype(y[..., None] == xp.arange(n_classes, dtype=y.dtype, device=device_of(y)), dtype)


def _unstack_coef(xp: Any, coef: Any, L: int, C: int) -> Any:
    """``(..., d, L*C)`` -> ``(..., L, d, C)``."""
    d = coef.shape[-2]
    nb = len(coef.shape) - 2
    coef = xp.reshape(coef, tuple(coef.shape[:nb]) + (d, L, C))
    return xp.permute_dims(coef, tuple(range(nb)) + (nb + 1, nb, nb + 2))


def _eye(xp: Any, d: int, dtype: Any, like: Any) -> Any:
    return xp.eye(d, dtype=dtype, device=device_of(like))


def _check_rank(xp: Any, diag: Any, rcond: float, solver: str) -> None:
    """Refuse a (numerically) rank-deficient triangular factor: ``min |diag| <= rcond * max |diag|``."""
    a = xp.abs(diag)
    if bool(xp.any(xp.min(a, axis=-1) <= rcond * xp.max(a, axis=-1))):
        raise ValueError(
            f"H is rank deficient for solver == {solver!r} with alpha == 0 (triangular factor with "
            f"|diagonal| ratio <= {rcond:.1e}); use solver='svd' or alpha > 0"
        )


def _singular(solver: str, alpha: float, dtype: Any, what: str) -> ValueError:
    """The error of a closed-form solver on a (numerically) singular system, naming alpha and the dtype."""
    if alpha == 0:
        hint = "use solver='svd' or alpha > 0"
    else:
        hint = "use solver='svd' (or 'auto'), a larger alpha, or float64"
    return ValueError(
        f"H is numerically rank deficient for solver == {solver!r} with alpha == {alpha:g} in {dtype} "
        f"({what}); {hint}"
    )


def _finite_or_raise(xp: Any, arr: Any, solver: str, alpha: float = 0.0) -> Any:
    if not bool(xp.all(xp.isfinite(arr))):
        raise _singular(solver, alpha, arr.dtype, "singular system")
    return arr


# ----------------------------------------------------------------------------------------------
# Least squares / ridge
# ----------------------------------------------------------------------------------------------
def _lift(x: Any) -> Any:
    """Insert the label-set axis at ``-3`` so a per-``H`` array broadcasts against ``(..., L, r, c)``."""
    return x[..., None, :, :]


def _stack(xp: Any, B: Any) -> Any:
    """``(..., L, d, C)`` -> ``(..., d, L*C)``: the label sets side by side as one right-hand side."""
    L, d, C = B.shape[-3:]
    nb = len(B.shape) - 3
    B = xp.permute_dims(B, tuple(range(nb)) + (nb + 1, nb, nb + 2))
    return xp.reshape(B, tuple(B.shape[:nb]) + (d, L * C))


def _solve_cholesky(xp: Any, Hc: Any, Y: Any, w: Any, alpha: float) -> Any:
    """Centred normal equations (with ``alpha = 0`` refused when ``cond(H) >~ 1/sqrt(eps max(n, d))``).

    Closed form: ``W = (Hc^T diag(w) Hc + alpha I)^{-1} Hc^T diag(w) Y``, through the Cholesky factor
    ``G = Lc Lc^T`` and two triangular solves ``Lc Z = B``, ``Lc^T W = Z``. ``G`` and ``Lc`` are
    ``(*bH, d, d)`` -- one per distinct ``H`` -- and the right-hand sides of all ``L`` label sets are
    stacked as the ``L*C`` columns of one ``B``: every label set shares ``Lc``.
    """
    n, d = Hc.shape[-2:]
    L, C = Y.shape[-3], Y.shape[-1]
    HwT = xp.matrix_transpose(Hc if w is None else Hc * w[..., None])  # (*bH, d, n)
    G = xp.matmul(HwT, Hc)  # (*bH, d, d)
    if alpha > 0:
        G = G + alpha * _eye(xp, d, Hc.dtype, Hc)
    B = _stack(xp, xp.matmul(_lift(HwT), Y))  # (*b, d, L*C)
    try:
        Lc = xp.linalg.cholesky(G)
    except Exception:  # numpy / strict raise LinAlgError; CuPy returns NaN (checked below)
        raise _singular("cholesky", alpha, Hc.dtype, "Gram matrix + alpha I not positive definite") from None
    _finite_or_raise(xp, Lc, "cholesky", alpha)
    if alpha == 0:  # diag(Lc) ~ singular values of Hc: the Gram squares the condition number
        _check_rank(xp, xp.linalg.diagonal(Lc), math.sqrt(float(xp.finfo(Hc.dtype).eps) * max(n, d)), "cholesky")
    Z = xp.linalg.solve(Lc, B)
    W = _finite_or_raise(xp, xp.linalg.solve(xp.matrix_transpose(Lc), Z), "cholesky", alpha)
    return _unstack_coef(xp, W, L, C)


def _solve_qr(xp: Any, Hc: Any, Y: Any, w: Any, alpha: float) -> Any:
    """QR of the (weighted, ridge-augmented) design: no squaring of the condition number.

    Closed form: ``A = [sqrt(w) Hc; sqrt(alpha) I] = Q Rq`` (reduced, ``Rq`` ``(d, d)``), then
    ``W = Rq^{-1} Q[:n]^T sqrt(w) Y``. Needs full column rank of ``A``.
    """
    n, d = Hc.shape[-2:]
    L, C = Y.shape[-3], Y.shape[-1]
    sw = None if w is None else xp.sqrt(w)[..., None]
    A = Hc if sw is None else Hc * sw
    if alpha > 0:
        ridge = math.sqrt(alpha) * _eye(xp, d, Hc.dtype, Hc)
        A = xp.concat([A, xp.broadcast_to(ridge, tuple(A.shape[:-2]) + (d, d))], axis=-2)
    Q, Rq = xp.linalg.qr(A)  # (*bH, n[+d], d), (*bH, d, d)
    if alpha == 0:
        _check_rank(xp, xp.linalg.diagonal(Rq), float(xp.finfo(Hc.dtype).eps) * max(n, d), "qr")
    QtY = xp.matmul(_lift(xp.matrix_transpose(Q[..., :n, :])), Y if sw is None else Y * _lift(sw))
    try:
        W = xp.linalg.solve(Rq, _stack(xp, QtY))  # (*b, d, L*C)
    except Exception:
        W = xp.asarray(float("nan"), dtype=Hc.dtype)  # the problem's dtype, named by the error
    return _unstack_coef(xp, _finite_or_raise(xp, W, "qr", alpha), L, C)


def class_sums(A: np.ndarray, y: np.ndarray, n_classes: int, *, presorted: bool = False) -> np.ndarray:
    """Per-class sums of the rows of host ``A`` ``(n, ...)`` by labels ``y`` ``(n,)``: ``(n_classes, ...)``, 0 for
    an absent class, ``O(n k)`` (rows sorted by label, stable, then one ``np.add.reduceat``). ``presorted``:
    ``y`` is already ascending and ``A``'s rows are in that order (callers summing several arrays sort once)."""
    if not presorted:
        order = np.argsort(y, kind="stable")
        A, y = A[order], y[order]
    out = np.zeros((n_classes,) + tuple(A.shape[1:]), dtype=A.dtype)
    if len(y):
        starts = np.flatnonzero(np.concatenate([[True], y[1:] != y[:-1]]))
        out[y[starts]] = np.add.reduceat(A, starts, axis=0)
    return out


def _class_sums(U: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """``U^T onehot(y)`` ``(k, C)`` for host ``U`` ``(n, k)`` and labels ``y`` ``(n,)``: :func:`class_sums`."""
    return class_sums(U, y, n_classes).T


def _solve_svd(xp: Any, Hc: Any, Y: Any, w: Any, alpha: float, labels: Any = None, n_classes: int = 0) -> Any:
    """Thin SVD of the weighted design: robust to rank deficiency (minimum-norm least squares).

    Closed form: ``sqrt(w) Hc = U diag(s) V^T``; ``W = V diag(f(s)) U^T sqrt(w) Y`` with
    ``f(s) = s / (s^2 + alpha)``; for ``alpha = 0``, ``f(s) = 1/s`` for ``s > rcond * s_max`` and 0
    otherwise, ``rcond = eps * max(n, d)`` (numpy/scipy ``lstsq``'s cutoff). One SVD per ``H``.
    ``labels`` (host ``(L, n)``, one 2-D ``Hc``, no weights) stand for one-hot ``Y``: ``U^T Y`` is then formed
    by :func:`_class_sums`.
    """
    n, d = Hc.shape[-2:]
    sw = None if w is None else xp.sqrt(w)[..., None]
    A = Hc if sw is None else Hc * sw
    U, s, Vh = xp.linalg.svd(A, full_matrices=False)  # (*bH, n, k), (*bH, k), (*bH, k, d)
    if alpha > 0:
        f = s / (s * s + alpha)
    else:
        rcond = float(xp.finfo(Hc.dtype).eps) * max(n, d)
        keep = s > rcond * xp.max(s, axis=-1, keepdims=True)
        f = xp.where(keep, 1.0 / xp.where(keep, s, xp.ones_like(s)), xp.zeros_like(s))
    if labels is not None:
        UtY = np.stack([_class_sums(U, lab, n_classes) for lab in labels])  # (L, k, C)
    else:
        UtY = xp.matmul(_lift(xp.matrix_transpose(U)), Y if sw is None else Y * _lift(sw))  # (*b, L, k, C)
    return xp.matmul(_lift(xp.matrix_transpose(Vh)), _lift(f[..., None]) * UtY)  # (*b, L, d, C)


_LINEAR = {"cholesky": _solve_cholesky, "qr": _solve_qr, "svd": _solve_svd}


def fit_linear(
    H: Any,
    y: Any,
    n_classes: int,
    *,
    alpha: float = 0.0,
    solver: str = "auto",
    fit_intercept: bool = True,
    targets: str = "onehot",
    sample_weight: Any = None,
    label_sets: bool | None = None,
) -> LinearProbe:
    """Least-squares (``alpha = 0``) or ridge probe on one-vs-rest targets.

    Minimises, independently for every problem of the batch,
    ``sum_i w_i ||Y_i - h_i W - b||^2 + alpha ||W||_F^2`` (scikit-learn ``Ridge``; ``b`` unpenalised).

    Parameters
    ----------
    H : array ``(..., n, d)``
    y : int array ``(..., n)``, or ``(..., L, n)`` for ``L`` label sets sharing ``H``
        (``label_sets=None`` infers the latter when ``y.ndim == H.ndim``).
    n_classes : int >= 2
    alpha : float >= 0
    solver : ``"auto"`` (``"cholesky"`` if ``alpha > 0`` else ``"svd"``; when the ridge Gram matrix is not
        positive definite in H's dtype - float32 with a small alpha - ``"svd"``), ``"cholesky"``, ``"qr"``, ``"svd"``
    fit_intercept : centre ``H`` and the targets (weighted means) so the intercept is not penalised.
    targets : ``"onehot"`` (``Y_ic = [y_i = c]``) or ``"signed"`` (``2 Y - 1``, i.e. +-1).
    sample_weight : array broadcastable to ``(..., n)`` (``H``'s batch axes), >= 0, or None.

    Returns
    -------
    LinearProbe with ``coef (..., [L,] d, C)`` and ``intercept (..., [L,] C)``.
    """
    alpha = check_number("alpha", alpha, NONNEG)
    auto = check_option("solver", solver, LINEAR_SOLVERS) == "auto"
    check_option("targets", targets, TARGETS)
    check_option("fit_intercept", fit_intercept, (True, False))
    p = _prepare(H, y, n_classes, label_sets=label_sets, sample_weight=sample_weight)
    xp, H, w, C = p.xp, p.H, p.w, p.n_classes
    if solver == "auto":
        solver = "cholesky" if alpha > 0 else "svd"
    dt = H.dtype
    # many classes, host arrays, one H, one-hot targets, no weights, svd: the labels stand for Y (class sums)
    sums = (solver == "svd" and targets == "onehot" and w is None and C > CLASS_SUMS_ABOVE
            and isinstance(H, np.ndarray) and H.ndim == 2 and p.y.ndim == 2)
    Y = None if sums else _onehot(xp, p.y, C, dt)  # (*by, L, n, C)
    if targets == "signed":
        Y = 2.0 * Y - 1.0
    if fit_intercept:
        # weighted means: hbar = sum_i w_i h_i / sum_i w_i (per distinct H), ybar likewise
        if w is None:
            hbar = xp.mean(H, axis=-2, keepdims=True)  # (*bH, 1, d)
            if sums:  # class frequencies (the mean of 0/1 columns)
                counts = np.stack([np.bincount(lab, minlength=C) for lab in p.y])
                ybar = (counts.astype(dt) / dt.type(p.y.shape[-1]))[:, None, :]  # (L, 1, C)
            else:
                ybar = xp.mean(Y, axis=-2, keepdims=True)  # (*by, L, 1, C)
        else:
            wn = w / xp.sum(w, axis=-1, keepdims=True)
            hbar = xp.matmul(wn[..., None, :], H)
            ybar = xp.matmul(_lift(wn[..., None, :]), Y)
        Hc = H - hbar  # Hc^T diag(w) 1 = 0, so Y need not be centred on the right-hand side
    else:
        Hc = H
    try:
        if sums:
            coef = _solve_svd(xp, Hc, None, None, alpha, labels=p.y, n_classes=C)
        else:
            coef = _LINEAR[solver](xp, Hc, Y, w, alpha)  # (*b, L, d, C)
    except ValueError:
        if not (auto and solver == "cholesky"):
            raise
        solver = "svd"  # the same ridge solution, without squaring the condition number
        coef = _solve_svd(xp, Hc, Y, w, alpha)
    if fit_intercept:
        intercept = (ybar - xp.matmul(_lift(hbar), coef))[..., 0, :]  # b = ybar - hbar W: (*b, L, C)
    else:
        intercept = xp.zeros((1, C), dtype=dt, device=device_of(H))
    intercept = xp.broadcast_to(intercept, tuple(coef.shape[:-2]) + (C,))
    return _finalize(xp, coef, intercept, solver, p.label_axis, loss="squared")


def _finalize(xp: Any, coef: Any, intercept: Any, solver: str, label_axis: bool, **kw: Any) -> LinearProbe:
    """Drop the singleton label-set axis when the input had none; make arrays contiguous copies."""
    if not label_axis:
        coef, intercept = coef[..., 0, :, :], intercept[..., 0, :]
        kw = {k: (v[..., 0] if (v is not None and hasattr(v, "shape")) else v) for k, v in kw.items()}
    return LinearProbe(xp.asarray(coef, copy=True), xp.asarray(intercept, copy=True), solver, label_axis, **kw)


# ----------------------------------------------------------------------------------------------
# Linear discriminant analysis
# ----------------------------------------------------------------------------------------------
def fit_lda(
    H: Any,
    y: Any,
    n_classes: int,
    *,
    shrinkage: float = 0.0,
    priors: str = "empirical",
    label_sets: bool | None = None,
) -> LinearProbe:
    """Linear discriminant analysis with a shared covariance, batched.

    Class means ``mu_c`` (``(..., [L,] C, d)``), pooled within-class covariance (maximum likelihood,
    scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr")`` with empirical priors)
    ``S = (1/n) sum_c sum_{i in c} (h_i - mu_c)(h_i - mu_c)^T``, shrunk towards a multiple of the
    identity ``S_g = (1 - g) S + g (tr S / d) I`` (``g = shrinkage``; note scikit-learn shrinks each
    class's *standardised* covariance instead, so only ``shrinkage=0`` matches it). Then
    ``coef[:, c] = S_g^+ mu_c`` and ``intercept_c = -mu_c^T S_g^+ mu_c / 2 + log pi_c`` with the
    pseudo-inverse from ``eigh`` (eigenvalues below ``eps * d * lambda_max`` dropped).

    ``priors``: ``"empirical"`` (class frequencies) or ``"uniform"``. A class absent from a label set
    gets ``coef = 0`` and ``intercept = -inf`` (never predicted).
    Shapes as in :func:`fit_linear`; returns ``LinearProbe(solver="lda")``.
    """
    shrinkage = check_number("shrinkage", shrinkage, UNIT)
    check_option("priors", priors, ("empirical", "uniform"))
    p = _prepare(H, y, n_classes, label_sets=label_sets)
    xp, H, C = p.xp, p.H, p.n_classes
    dt = H.dtype
    n, d = H.shape[-2:]
    hbar = xp.mean(H, axis=-2, keepdims=True)  # (*bH, 1, d)
    Hc = H - hbar  # centring first keeps T - between accurate
    Y = _onehot(xp, p.y, C, dt)  # (*by, L, n, C)
    counts = xp.sum(Y, axis=-2)  # (*by, L, C)
    sums = xp.matmul(xp.matrix_transpose(Y), Hc[..., None, :, :])  # (*b, L, C, d)
    present = counts > 0
    safe = xp.where(present, counts, xp.ones_like(counts))
    mu_c = sums / safe[..., None]  # centred class means
    # within-class scatter = total scatter - between scatter:  Hc^T Hc - sum_c n_c mu_c mu_c^T
    T = xp.matmul(xp.matrix_transpose(Hc), Hc)[..., None, :, :]  # (*bH, 1, d, d)
    between = xp.matmul(xp.matrix_transpose(sums), mu_c)  # (*b, L, d, d)
    S = (T - between) / n
    S = (S + xp.matrix_transpose(S)) / 2
    if shrinkage > 0:
        tr = xp.sum(xp.linalg.diagonal(S), axis=-1)[..., None, None]  # (*b, L, 1, 1)
        S = (1.0 - shrinkage) * S + (shrinkage / d) * tr * _eye(xp, d, dt, H)
    lam, V = xp.linalg.eigh(S)  # (*b, L, d), (*b, L, d, d)
    cut = float(xp.finfo(dt).eps) * d * xp.max(xp.abs(lam), axis=-1, keepdims=True)
    keep = lam > cut
    inv = xp.where(keep, 1.0 / xp.where(keep, lam, xp.ones_like(lam)), xp.zeros_like(lam))
    mu = xp.where(present[..., None], mu_c + hbar[..., None, :, :], xp.zeros_like(mu_c))  # raw means
    # coef = S^+ mu^T = V diag(inv) V^T mu^T
    coef = xp.matmul(V, inv[..., None] * xp.matmul(xp.matrix_transpose(V), xp.matrix_transpose(mu)))
    quad = xp.sum(mu * xp.matrix_transpose(coef), axis=-1)  # (*b, L, C): mu_c^T S^+ mu_c
    if priors == "empirical":
        logp = xp.log(safe / n)
    else:
        logp = xp.full(counts.shape, -math.log(C), dtype=dt, device=device_of(H))
    intercept = xp.where(present, -0.5 * quad + logp, xp.full(quad.shape, -math.inf, dtype=dt, device=device_of(H)))
    return _finalize(xp, coef, intercept, "lda", p.label_axis, loss="lda")
