"""First-order and quasi-Newton linear probes with analytic gradients, batched over ``...``.

Every problem of the batch (noise level x seed x code, optionally x label set) minimises

    F(W, b) = sum_i r_i loss(h_i W + b, y_i) + (alpha / 2) ||W||_F^2,     r_i = w_i / sum_j w_j

(``r_i = 1/n`` without sample weights; the intercept ``b`` is not penalised). Losses, with scores
``z = h W + b`` of ``C`` classes:

* ``"softmax"`` (multinomial logistic / cross-entropy): ``loss = log sum_k exp(z_k) - z_y``.
  With ``C=`` instead of ``alpha`` the objective is scikit-learn ``LogisticRegression``'s
  (``C sum_i loss_i + ||W||^2 / 2``) divided by ``C sum_i w_i``, i.e. ``alpha = 1 / (C sum_i w_i)``.
  (For ``n_classes == 2`` scikit-learn fits one binary column instead; the softmax probe with ``C/2``
  matches it: ``w_sklearn = w_1 - w_0``.)
* ``"logistic"``: one-vs-rest binary logistic, ``loss = sum_k log(1 + exp(-t_k z_k))``, ``t_k = +1`` if
  ``k == y`` else ``-1``; ``C=`` matches ``OneVsRestClassifier(LogisticRegression(C))``.
* ``"hinge"``: one-vs-rest *squared* hinge (L2-SVM, smooth so quasi-Newton applies),
  ``loss = sum_k max(0, 1 - t_k z_k)^2``.

Gradients are analytic: ``dF/dW = H^T diag(r) D + alpha W`` with ``D = softmax(z) - Y`` (softmax),
``sigmoid(z) - Y`` (logistic), ``-2 t max(0, 1 - t z)`` (hinge); ``dF/db = 1^T diag(r) D``.

Solvers (``solver=``): ``"lbfgs"`` -- batched L-BFGS, every problem with its own history, step and
Armijo backtracking line search, preconditioned by the inverse second moment of the (augmented)
code ``(H~^T diag(r) H~ + alpha/kappa)^{-1}`` (one small matrix per distinct ``H``; ``kappa`` = the loss
curvature at ``z = 0``), started at the closed-form least-squares probe (for softmax: its first step
from 0, see ``warm_start``), problems leaving the batch as they converge; the problems sharing a code
are scored together, one ``(L C, d1) @ (d1, rows)`` matmul per code and chunk of rows;
``"gd"`` -- gradient descent with a fixed step (default ``1/Lipschitz``), full batch, or minibatch SGD
when ``batch_size`` is an int (rows shuffled per epoch with ``sims.engine.backend.rng(seed, "sgd", epoch)``,
the same permutation for every problem, step ``lr / sqrt(1 + epoch)``).
``"auto"``: ``"lbfgs"`` for full batch, ``"gd"`` for minibatches.

Convergence (every solver): ``max |grad F| <= tol`` (scikit-learn's ``gtol`` for lbfgs), checked
every iteration (every epoch for minibatches). Problems that do not converge raise one
:class:`ConvergenceWarning` quoting ``tol`` and ``max_iter``; ``probe.converged`` says which.
"""
from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from sims.engine.backend import backend_name, device_of, one_blas_thread
from sims.engine.lbfgs import _CURVATURE_MAX, Diverged, _gd, _host, _lbfgs, _Problems, _sel
from sims.engine.probes import LinearProbe, _finalize, _lift, _onehot, _prepare, fit_linear
from sims.engine.validation import NONNEG, POSITIVE, Interval, check_number, check_option, check_seed

__all__ = ["ConvergenceWarning", "fit_sgd", "LOSSES", "SGD_SOLVERS"]

LOSSES = ("softmax", "logistic", "hinge")
SGD_SOLVERS = ("auto", "lbfgs", "gd")
WARM_STARTS = ("auto", "lstsq", "zero")


class ConvergenceWarning(UserWarning):
    """An iterative probe stopped before ``max |grad| <= tol`` (see ``probe.converged``)."""


# ----------------------------------------------------------------------------------------------
# Public entry
# ----------------------------------------------------------------------------------------------
def fit_sgd(
    H: Any,
    y: Any,
    n_classes: int,
    *,
    loss: str = "softmax",
    alpha: float | None = None,
    C: float | None = None,
    fit_intercept: bool = True,
    solver: str = "auto",
    batch_size: int | None = None,
    lr: float | str = "auto",
    max_iter: int | None = None,
    tol: float = 1e-4,
    seed: int = 0,
    sample_weight: Any = None,
    label_sets: bool | None = None,
    warm_start: Any = "auto",
    memory: int = 10,
    threads: int | None = 1,
    warn: bool = True,
) -> LinearProbe:
    """Iterative linear probe (see the module docstring for objectives and solvers).

    Parameters
    ----------
    H : array ``(..., n, d)``; y : int array ``(..., n)`` or ``(..., L, n)`` (label sets sharing ``H``,
        inferred when ``y.ndim == H.ndim`` unless ``label_sets`` says otherwise); n_classes : int >= 2.
    loss : ``"softmax"``, ``"logistic"`` (one-vs-rest) or ``"hinge"`` (one-vs-rest squared hinge).
    alpha : L2 strength on ``W`` in the mean-loss objective; or ``C`` (scikit-learn's inverse strength,
        ``alpha = 1/(C sum_i w_i)``). At most one of them; neither means ``C = 1.0`` (scikit-learn's default).
    solver : ``"auto"``, ``"lbfgs"``, ``"gd"``.  batch_size : None (full batch) or int in [1, n] (``gd``).
    lr : step size for ``gd``: positive float, or ``"auto"`` = ``1 / L`` with the Lipschitz bound
        ``L = kappa_max * lambda_max(H~^T diag(r) H~) + alpha`` (kappa_max: 1/2 softmax, 1/4 logistic, 2 hinge).
    max_iter : iterations (epochs for minibatches); None = 100 (lbfgs), 1000 (gd full batch), 200 (minibatch).
    tol : stop when ``max |grad F| <= tol``.  seed : minibatch shuffling seed.
    sample_weight : array broadcastable to ``H.shape[:-1]``, >= 0.
    warm_start : ``"auto"`` (``"zero"`` for softmax with lbfgs -- its first preconditioned step from 0 IS
        the least-squares probe ``C (W_ls, b_ls - 1/C)``, found with a line search -- else ``"lstsq"``),
        ``"lstsq"`` (closed-form least-squares probe mapped to scores: see ``_warm_start``),
        ``"zero"``, or a :class:`LinearProbe` whose coef/intercept broadcast to the problem batch.
    memory : L-BFGS history length.  warn : emit :class:`ConvergenceWarning` on non-convergence.
    threads : numpy backend only: worker threads over row chunks (BLAS limited to one thread meanwhile
        through threadpoolctl); None = the usable cores. Results do not depend on it.

    Returns
    -------
    LinearProbe with ``coef (..., [L,] d, C)``, ``intercept (..., [L,] C)``, ``solver``, and arrays
    ``n_iter`` (int64), ``converged`` (bool), ``objective`` (float64, the value of ``F``), each ``(..., [L])``.
    Dtype: float32 ``H`` -> float32 probe (objective float64), otherwise float64.
    """
    check_option("loss", loss, LOSSES)
    check_option("solver", solver, SGD_SOLVERS)
    check_option("fit_intercept", fit_intercept, (True, False))
    if alpha is not None and C is not None:
        raise ValueError(f"alpha == {alpha!r} and C == {C!r}: give at most one of them")
    if alpha is not None:
        alpha = check_number("alpha", alpha, NONNEG)
    elif C is not None:
        C = check_number("C", C, POSITIVE)
    else:
        C = 1.0
    tol = check_number("tol", tol, NONNEG)
    seed = check_seed("seed", seed)
    memory = check_number("memory", memory, Interval(1, None, "[)"), integer=True)
    if solver == "auto":
        solver = "lbfgs" if batch_size is None else "gd"
    p = _prepare(H, y, n_classes, label_sets=label_sets, sample_weight=sample_weight)
    xp, Hx, ncls, L = p.xp, p.H, p.n_classes, p.n_labelsets
    n, d = int(Hx.shape[-2]), int(Hx.shape[-1])
    if batch_size is not None:
        batch_size = check_number("batch_size", batch_size, Interval(1, n, "[]"), integer=True)
        if solver == "lbfgs":
            raise ValueError(f"batch_size == {batch_size}, must be None for solver == 'lbfgs' (full batch)")
    if max_iter is None:
        max_iter = 100 if solver == "lbfgs" else (1000 if batch_size is None else 200)
    max_iter = check_number("max_iter", max_iter, Interval(0, None, "[)"), integer=True)
    if isinstance(lr, str):
        check_option("lr", lr, ("auto",))
    else:
        lr = check_number("lr", lr, POSITIVE)
    if isinstance(warm_start, str):
        check_option("warm_start", warm_start, WARM_STARTS)
    elif not isinstance(warm_start, LinearProbe):
        shown = " ".join(repr(warm_start).split())[:80]
        raise ValueError(f"warm_start == {shown}, must be one of 'auto', 'lstsq', 'zero' or a LinearProbe")
    warm_probe = warm_start if isinstance(warm_start, LinearProbe) else None
    if warm_start == "auto":
        warm_start = "zero" if (loss == "softmax" and solver == "lbfgs") else "lstsq"
    warn_ = check_option("warn", warn, (True, False))
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = check_number("threads", threads, Interval(1, None, "[)"), integer=True)

    dt, dev = Hx.dtype, device_of(Hx)
    bH, b = p.batch_H, p.batch
    GH, NB = math.prod(bH), math.prod(b)
    P = NB * L
    d1 = d + 1 if fit_intercept else d
    if P == 0:  # an empty batch: nothing to fit
        z = xp.zeros(b + (L, d, ncls), dtype=dt, device=dev)
        return _finalize(xp, z, z[..., 0, :], solver, p.label_axis, loss=loss,
                         n_iter=xp.zeros(b + (L,), dtype=xp.int64, device=dev),
                         converged=xp.ones(b + (L,), dtype=xp.bool, device=dev),
                         objective=xp.zeros(b + (L,), dtype=xp.float64, device=dev))
    # --- per distinct H (group): augmented code, weights, second moment, preconditioner
    Hg = xp.reshape(Hx, (GH, n, d))
    if fit_intercept:
        Hg = xp.concat([Hg, xp.ones((GH, n, 1), dtype=dt, device=dev)], axis=-1)  # h~ = (h, 1)
    if p.w is not None:
        wg = xp.reshape(p.w, (GH, n))
        sw = xp.sum(wg, axis=-1)  # (GH,)
        rwg = wg / sw[:, None]
    else:
        sw = xp.full((GH,), float(n), dtype=dt, device=dev)
        rwg = None
    alpha_g = xp.full((GH,), alpha, dtype=xp.float64, device=dev) if alpha is not None else \
        1.0 / (C * xp.astype(sw, xp.float64))
    Hw = Hg if rwg is None else Hg * rwg[..., None]  # rows scaled by r_i (by 1/n below when unweighted)
    M = xp.matmul(xp.matrix_transpose(Hw), Hg)
    if rwg is None:
        M = M / n  # (GH, d1, d1) = H~^T diag(r) H~
    pen_h = np.ones((d1, 1))
    if fit_intercept:
        pen_h[d] = 0.0
    pen = xp.asarray(pen_h, dtype=dt, device=dev)
    kappa = {"softmax": 1.0 / ncls, "logistic": 0.25, "hinge": 2.0}[loss]
    tr = xp.sum(xp.linalg.diagonal(M), axis=-1)[:, None, None]
    eye = xp.eye(d1, dtype=dt, device=dev)
    Mreg = M + (xp.astype(alpha_g, dt)[:, None, None] / kappa) * (eye * pen) + 1e-8 * (tr / d1) * eye
    Minv = xp.linalg.inv(Mreg)
    hmax = xp.max(xp.sqrt(xp.sum(Hg * Hg, axis=-1)), axis=-1)  # (GH,)
    # --- linear term A = H~^T diag(r) Y for every problem; one-hot of all label sets side by side
    Yoh = _onehot(xp, p.y, ncls, dt)  # (*by, L, n, C)
    Hb = xp.reshape(Hw, bH + (n, d1))
    A = xp.matmul(_lift(xp.matrix_transpose(Hb)), Yoh)  # (*b, L, d1, C)
    if rwg is None:
        A = A / n
    A = xp.reshape(xp.broadcast_to(A, b + (L, d1, ncls)), (P, d1, ncls))
    # --- problem p = (batch element p // L, label set p % L) -> group index
    gidx = np.repeat(np.broadcast_to(np.arange(GH).reshape(bH), b).reshape(-1), L)
    ys = xp.reshape(xp.broadcast_to(p.y, b + (L, n)), (P, n))
    prob = _Problems(Hg=Hg, rw=rwg, hmax=hmax, Minv=Minv, A=A, alpha=xp.take(alpha_g, xp.asarray(gidx, device=dev), axis=0),
                     ys=ys, group=gidx, loss=loss, pen=pen, n_classes=ncls)
    theta0 = _warm_start(xp, warm_start, warm_probe, p, loss, fit_intercept)
    init = _at_zero(xp, prob) if (warm_start == "zero" and warm_probe is None) else None
    with _workers(xp, threads) as pool:
        prob = replace(prob, pool=pool)
        if solver == "lbfgs":
            theta, f, n_iter, conv = _lbfgs(xp, prob, theta0, max_iter=max_iter, tol=tol, memory=memory,
                                            kappa=kappa, init=init)
        else:
            lam = xp.linalg.eigvalsh(M)[:, -1]  # (GH,) largest eigenvalue
            lip = _host(_CURVATURE_MAX[loss] * xp.astype(lam, xp.float64) + alpha_g)  # (GH,) Lipschitz bounds
            lr_p = (1.0 / lip)[gidx] if lr == "auto" else np.full(P, lr)
            try:
                theta, f, n_iter, conv = _gd(xp, prob, theta0, max_iter=max_iter, tol=tol, lr=lr_p,
                                             batch_size=batch_size, seed=seed, init=init)
            except Diverged as exc:
                top = float(np.min(2.0 / lip))
                shown = f"{lr!r} (1 / Lipschitz == {lr_p[exc.problem]:.3g})" if lr == "auto" else f"{lr:g}"
                raise ValueError(
                    f"lr == {shown}, gradient descent diverged (objective {exc.f0:.3g} -> {exc.f:.3g} after "
                    f"{exc.iteration} iterations), must be in (0, {top:.3g}] (2 / the Lipschitz bound of the "
                    f"gradient; lr='auto' takes half of it)" + ("" if batch_size is None else
                                                                " or smaller for minibatches")
                ) from None
    shape_out = b + (L,)
    coef = xp.reshape(theta[:, :d, :], shape_out + (d, ncls))
    if fit_intercept:
        intercept = xp.reshape(theta[:, d, :], shape_out + (ncls,))
    else:
        intercept = xp.zeros(shape_out + (ncls,), dtype=dt, device=dev)
    n_iter = xp.reshape(xp.astype(n_iter, xp.int64), shape_out)
    conv = xp.reshape(conv, shape_out)
    f = xp.reshape(f, shape_out)
    n_bad = P - int(xp.sum(xp.astype(conv, xp.int64)))
    if n_bad and warn_:
        warnings.warn(
            f"fit_sgd({loss!r}, solver={solver!r}) did not converge for {n_bad} of {P} problems: "
            f"max |grad| > tol == {tol} after max_iter == {max_iter} iterations (or the line search "
            "found no decrease); increase max_iter, loosen tol, or rescale H",
            ConvergenceWarning,
            stacklevel=2,
        )
    return _finalize(xp, coef, intercept, solver, p.label_axis, n_iter=n_iter, converged=conv,
                     objective=f, loss=loss)


@contextlib.contextmanager
def _workers(xp: Any, threads: int):
    """numpy: BLAS limited to one thread (the chunked matmuls are small; a contended BLAS pool is
    much slower and changes rounding) and, for ``threads > 1``, a thread pool for row chunks (numpy
    and single-threaded BLAS release the GIL). Other backends: nothing."""
    if backend_name(xp) != "numpy":
        yield None
        return
    with one_blas_thread():
        if threads <= 1:
            yield None
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fit-sgd") as pool:
            yield pool


def _at_zero(xp, prob):
    """``F`` and its gradient at ``theta = 0`` in closed form (no pass over the scores needed).

    With ``hbar = H~^T r`` and ``A = H~^T diag(r) Y``: softmax ``F = log C``, ``grad = hbar 1^T / C - A``;
    logistic ``F = C log 2``, ``grad = hbar 1^T / 2 - A``; squared hinge ``F = C``,
    ``grad = -2 H~^T diag(r) T = 2 hbar 1^T - 4 A`` (``T = 2Y - 1``).
    """
    C, P = prob.n_classes, prob.A.shape[0]
    Hg, rwg = prob.Hg, prob.rw
    dt = prob.A.dtype
    hbar = xp.mean(Hg, axis=-2) if rwg is None else xp.sum(Hg * rwg[..., None], axis=-2)  # (G, d1)
    hb = _sel(xp, hbar, prob.group)[..., None]  # (P, d1, 1)
    ones = xp.ones((1, 1, C), dtype=dt, device=device_of(Hg))
    if prob.loss == "softmax":
        f0, g = math.log(C), hb * ones / C - prob.A
    elif prob.loss == "logistic":
        f0, g = C * math.log(2.0), 0.5 * hb * ones - prob.A
    else:
        f0, g = float(C), 2.0 * hb * ones - 4.0 * prob.A
    return xp.full((P,), f0, dtype=xp.float64, device=device_of(Hg)), g


def _warm_start(xp, mode, probe, p, loss, fit_intercept):
    """Initial ``theta (P, d1, C)`` for the problems of ``p`` (:func:`sims.engine.probes._prepare`).

    ``"lstsq"``: ridge probe ``(W_ls, b_ls)`` on one-hot targets (signed for hinge), mapped to scores
    by linearising the link at the uniform prediction ``p0 = 1/C``: softmax ``z = C (p - 1/C)``;
    logistic ``z = logit(p0) + (p - p0) / (p0 (1 - p0))``; squared hinge ``z = p`` (signed targets).
    """
    Hx, ncls, b, L = p.H, p.n_classes, p.batch, p.n_labelsets
    d, dt = int(Hx.shape[-1]), Hx.dtype
    P = math.prod(b) * L
    if mode == "zero" and probe is None:
        return xp.zeros((P, d + 1 if fit_intercept else d, ncls), dtype=dt, device=device_of(Hx))
    if probe is None:
        n = int(Hx.shape[-2])
        ridge = 1e-3 * n
        y = p.y  # (*by, L, n)
        ls = fit_linear(Hx, y, ncls, alpha=ridge, solver="cholesky", fit_intercept=fit_intercept,
                        targets="signed" if loss == "hinge" else "onehot",
                        sample_weight=p.w, label_sets=True)
        W, c = ls.coef, ls.intercept  # (*b, L, d, C), (*b, L, C)
        if loss == "softmax":
            W, c = ncls * W, ncls * c - 1.0
        elif loss == "logistic":
            p0 = 1.0 / ncls
            sc = 1.0 / (p0 * (1.0 - p0))
            W, c = sc * W, math.log(p0 / (1.0 - p0)) + sc * (c - p0)
    else:
        if probe.n_features != d or probe.n_classes != ncls:
            raise ValueError(
                f"warm_start probe has (d, C) == ({probe.n_features}, {probe.n_classes}), "
                f"must be ({d}, {ncls})"
            )
        W = xp.astype(probe.coef, dt)
        c = xp.astype(probe.intercept, dt)
        if not probe.label_axis:
            W, c = W[..., None, :, :], c[..., None, :]
    try:
        W = xp.broadcast_to(W, b + (L, d, ncls))
        c = xp.broadcast_to(c, b + (L, ncls))
    except (ValueError, RuntimeError):
        raise ValueError(
            f"warm_start probe batch shape {tuple(probe.coef.shape[:-2])} does not broadcast against "
            f"the problems' {b + (L,)}"
        ) from None
    W = xp.reshape(W, (P, d, ncls))
    if not fit_intercept:
        return xp.asarray(W, copy=True)
    c = xp.reshape(c, (P, 1, ncls))
    return xp.concat([W, c], axis=1)
