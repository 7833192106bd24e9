"""The two solvers of :func:`sims.engine.toy_model.train_toy_model`: the gradient (6)-(7) and the Adam
step (8) of :mod:`sims.engine.toy_model`'s docstring, written once against the Array API
(``_GenericSolver``: numpy, array_api_strict, CuPy) and once for numpy with preallocated buffers and
``out=`` (``_NumpySolver``, bitwise equal to the generic solver on numpy; chunks of instances run on
worker threads). Both hold ``θ = [W; bᵀ]`` ``(I, m+1, n)`` and the Adam moments, and expose ``step``,
``loss`` and ``close``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from sims.engine.backend import device_of

_CHUNK = 4  # default instances per chunk of the numpy solver (P2: ~2.5 MB of buffers per chunk)


def _loss_from_pre(xp: Any, pre: Any, x: Any, imp: Any) -> Any:
    """(1) from the pre-activation: (1/B) Σ_rows Σ_i I_i (ReLU(pre) − x)²; shape (...).

    ReLU(pre) is written ``pre ⊙ 1[pre > 0]`` and the row sum as ``1ᵀ (r ⊙ r)`` (a GEMV): both much
    faster on numpy than ``where`` and an axis-(-2) sum; a NaN/inf in ``pre`` propagates to the loss.
    """
    rows = pre.shape[-2]
    r = pre * xp.astype(pre > 0, pre.dtype) - x                       # (..., B, n)  x̂ − x
    col = xp.matmul(xp.ones((1, rows), dtype=pre.dtype, device=device_of(pre)), r * r)  # (..., 1, n)  Σ_rows (x̂ − x)²
    return xp.sum(col[..., 0, :] * imp, axis=-1) / rows


def _contiguous_transpose(xp: Any, W: Any) -> Any:
    """``Wᵀ`` (..., n, m) as a C-ordered copy, in standard calls only: reshaping a transposed view to
    a flat trailing axis must copy in row-major order; reshaping back is then a view."""
    lead, m, n = tuple(W.shape[:-2]), W.shape[-2], W.shape[-1]
    return xp.reshape(xp.reshape(xp.matrix_transpose(W), lead + (n * m,)), lead + (n, m))


def _grad_generic(xp: Any, theta: Any, x: Any, scale: Any, imp: Any, m: int, record: bool):
    """Gradient of (1) w.r.t. θ = [W; bᵀ] via (6)-(7). theta (I, m+1, n), x (I, B, n) or (B, n),
    scale (I, 1, n) = 2 I / B. Returns (loss (I,) or None, grad (I, m+1, n))."""
    n, rows, dt = theta.shape[-1], x.shape[-2], theta.dtype
    W = theta[..., :m, :]                                              # (I, m, n)
    h = xp.matmul(x, _contiguous_transpose(xp, W))                     # (I, B, m)  h = x Wᵀ
    H = xp.concat([h, xp.ones(tuple(h.shape[:-1]) + (1,), dtype=dt, device=device_of(h))], axis=-1)  # (I, B, m+1) h̃
    P = xp.matmul(H, theta)                                            # (I, B, n)  pre = h̃ θ (6)
    loss = _loss_from_pre(xp, P, x, imp) if record else None
    D = (P - x) * xp.astype(P > 0, dt)                                 # (I, B, n)  (2) / s
    G = xp.matmul(xp.matrix_transpose(x), D)                           # (I, n, n)  xᵀ D
    db = xp.matmul(xp.ones((1, rows), dtype=dt, device=device_of(D)), D)   # (I, 1, n)  1ᵀ D
    Ga = xp.concat([G, db], axis=-2) * scale                           # (I, n+1, n)  (7)
    G = Ga[..., :n, :]
    dW = xp.matmul(W, G + xp.matrix_transpose(G))                      # (I, m, n)  (5)
    return loss, xp.concat([dW, Ga[..., n:, :]], axis=-2)


def _adam_generic(theta, mom, vel, grad, t, lr, b1, b2, eps, xp):
    """One Adam step (8); returns new (theta, mom, vel)."""
    bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
    mom = b1 * mom + (1.0 - b1) * grad
    vel = b2 * vel + (1.0 - b2) * (grad * grad)
    denom = xp.sqrt(vel) / math.sqrt(bc2) + eps
    return theta - (lr / bc1) * (mom / denom), mom, vel


class _GenericSolver:
    """Array-API solver: new arrays every step (works on numpy, array_api_strict, CuPy)."""

    name = "generic"

    def __init__(self, xp, theta, cfg, imp, nonneg=False):
        self.xp, self.theta, self.cfg, self.imp, self.nonneg = xp, theta, cfg, imp, nonneg
        self.scale = None                                               # (I, 1, n) s = 2 I / B, set per B
        self.mom = xp.zeros_like(theta)
        self.vel = xp.zeros_like(theta)

    pool = None

    def close(self):
        pass

    def step(self, x, t, record):
        c = self.cfg
        with np.errstate(over="ignore", invalid="ignore"):              # divergence: checked by the loop
            loss, grad = _grad_generic(self.xp, self.theta, x, self.scale, self.imp, c.n_hidden, record)
            self.theta, self.mom, self.vel = _adam_generic(
                self.theta, self.mom, self.vel, grad, t, c.lr, c.betas[0], c.betas[1], c.eps, self.xp)
            if self.nonneg:                                             # projection onto W >= 0
                W = self.theta[:, :c.n_hidden, :]
                self.theta = self.xp.concat([self.xp.maximum(W, self.xp.zeros_like(W)),
                                             self.theta[:, c.n_hidden:, :]], axis=1)
        return loss


class _NumpySolver:
    """numpy solver: the generic arithmetic, operation for operation, into preallocated buffers
    (bitwise equal to :class:`_GenericSolver` on numpy; tested).

    Instances are processed in chunks of ``chunk`` (the per-chunk working set stays in cache) and,
    with ``threads > 1``, chunks run on a thread pool (numpy and single-threaded BLAS release the
    GIL). Every instance sees the same operations whatever the chunking, so results do not depend
    on ``chunk`` or ``threads``.
    """

    name = "numpy"

    def __init__(self, xp, theta, cfg, imp, nonneg=False, threads=1, chunk=None):
        self.xp, self.cfg, self.nonneg = xp, cfg, nonneg
        self.theta = np.array(theta, copy=True)                        # (I, m+1, n)
        self.scale = None                                               # (I, 1, n) s = 2 I / B, set per B
        self.imp = np.asarray(imp)                                     # (I, n)
        I, m1, n = self.theta.shape
        dt = self.theta.dtype
        self.mom, self.vel = np.zeros_like(self.theta), np.zeros_like(self.theta)
        self.grad, self.tmp = np.empty_like(self.theta), np.empty_like(self.theta)
        self.Wt = np.empty((I, n, m1 - 1), dt)
        self.Ga = np.empty((I, n + 1, n), dt)
        self.Gs = np.empty((I, n, n), dt)
        self.dW = np.empty((I, m1 - 1, n), dt)
        self.loss = np.empty(I, dt)
        self.rows = -1
        if chunk is None:                                               # a few instances per chunk stay in cache
            chunk = max(1, min(_CHUNK, -(-I // max(threads, 1))))
        self.slices = [slice(a, min(a + chunk, I)) for a in range(0, I, chunk)]
        self.pool = None
        if threads > 1 and len(self.slices) > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="toy-model")

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def _buffers(self, rows):
        I, _, n = self.theta.shape
        dt = self.theta.dtype
        self.H = np.ones((I, rows, self.cfg.n_hidden + 1), dt)         # h̃ = [h, 1]; last column stays 1
        self.ones = np.ones((1, rows), dt)
        self.P = np.empty((I, rows, n), dt)
        self.D = np.empty((I, rows, n), dt)
        self.mask = np.empty((I, rows, n), bool)
        self.rows = rows

    def step(self, x, t, record):
        if x.shape[-2] != self.rows:
            self._buffers(x.shape[-2])
        shared = x.ndim == 2
        jobs = [(sl, x if shared else x[sl], t, record) for sl in self.slices]
        if self.pool is None:
            for job in jobs:
                self._chunk(*job)
        else:
            for f in [self.pool.submit(self._chunk, *job) for job in jobs]:
                f.result()
        return self.loss.copy() if record else None

    def _chunk(self, sl, x, t, record):
        """One step (6)-(8) for the instances ``sl`` (errstate is per thread, so it is set here)."""
        with np.errstate(over="ignore", invalid="ignore"):              # divergence: checked by the loop
            self._chunk_step(sl, x, t, record)

    def _chunk_step(self, sl, x, t, record):
        m, n = self.cfg.n_hidden, self.theta.shape[-1]
        theta, Wt, Ga, H, P, D = (a[sl] for a in (self.theta, self.Wt, self.Ga, self.H, self.P, self.D))
        W = theta[:, :m, :]
        Wt[...] = W.transpose(0, 2, 1)                                  # C-contiguous Wᵀ
        np.matmul(x, Wt, out=H[:, :, :m])                               # h = x Wᵀ
        np.matmul(H, theta, out=P)                                      # pre = h̃ θ (6)
        if record:
            self.loss[sl] = _loss_from_pre(self.xp, P, x, self.imp[sl])
        np.subtract(P, x, out=D)
        mask = self.mask[sl]
        np.greater(P, 0, out=mask)
        np.multiply(D, mask, out=D)                                     # D = (pre − x) ⊙ 1[pre>0]
        xT = x.T if x.ndim == 2 else x.transpose(0, 2, 1)
        np.matmul(xT, D, out=Ga[:, :n, :])                              # xᵀ D
        np.matmul(self.ones, D, out=Ga[:, n:, :])                       # 1ᵀ D
        np.multiply(Ga, self.scale[sl], out=Ga)                         # [G; ∂L/∂bᵀ] (7)
        G = Ga[:, :n, :]
        Gs, dW, grad = self.Gs[sl], self.dW[sl], self.grad[sl]
        np.add(G, G.transpose(0, 2, 1), out=Gs)
        np.matmul(W, Gs, out=dW)                                        # ∂L/∂W = W (G + Gᵀ) (5)
        grad[:, :m, :] = dW
        grad[:, m, :] = Ga[:, n, :]
        self._adam(sl, t)
        if self.nonneg:                                                 # projection onto W >= 0
            np.maximum(W, 0.0, out=W)

    def _adam(self, sl, t):
        """(8) in place on instances ``sl``, in the same operation order as :func:`_adam_generic`."""
        c = self.cfg
        b1, b2 = c.betas
        bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        g, tmp, mom, vel, theta = (a[sl] for a in (self.grad, self.tmp, self.mom, self.vel, self.theta))
        np.multiply(mom, b1, out=mom)
        np.multiply(g, 1.0 - b1, out=tmp)
        np.add(mom, tmp, out=mom)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1.0 - b2, out=tmp)
        np.multiply(vel, b2, out=vel)
        np.add(vel, tmp, out=vel)
        np.sqrt(vel, out=tmp)
        np.divide(tmp, math.sqrt(bc2), out=tmp)
        np.add(tmp, c.eps, out=tmp)
        np.divide(mom, tmp, out=tmp)
        np.multiply(tmp, c.lr / bc1, out=tmp)
        np.subtract(theta, tmp, out=theta)
