"""Batched solvers of the first-order probes: the problem layout, the objective and its gradient, L-BFGS
with an Armijo line search, and (minibatch) gradient descent. The front end, :func:`sims.engine.sgd.fit_sgd`,
states the objective and the losses, prepares the problems and reads the results; this module holds
only the iterations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sims.engine.backend import device_of, rng, to_numpy

#: upper bound of the loss curvature in the score direction (largest Hessian eigenvalue per sample):
#: softmax diag(p) - p p^T <= 1/2 (Boehning), logistic sigma(1 - sigma) <= 1/4, squared hinge 2
_CURVATURE_MAX = {"softmax": 0.5, "logistic": 0.25, "hinge": 2.0}
_C1 = 1e-4  # Armijo constant
_MAX_LS = 20  # line-search trials per iteration


# ----------------------------------------------------------------------------------------------
# Problem data and the grouped layout
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Problems:
    """All ``P`` problems. Per distinct code (group) ``g``: ``Hg (G, n, d1)`` (``h~ = (h, 1)`` with an
    intercept), row weights ``rw (G, n)`` summing to 1 (None: ``1/n``), ``hmax (G,)`` = max_i ||h~_i||,
    preconditioner ``Minv (G, d1, d1)``. Per problem ``p``: linear term ``A = H~^T diag(r) Y (P, d1, C)``,
    ``alpha (P,)`` (float64), labels ``ys (P, n)``, and its group ``group[p]`` (host ints)."""

    Hg: Any
    rw: Any
    hmax: Any
    Minv: Any
    A: Any
    alpha: Any
    ys: Any
    group: np.ndarray
    loss: str
    pen: Any  # (d1, 1): 1 on feature rows, 0 on the intercept row
    n_classes: int
    pool: Any = None  # concurrent.futures executor for row chunks (numpy), or None


@dataclass(frozen=True)
class _Layout:
    """``B`` items (problem ids ``pids``) arranged as ``G'`` groups x ``L'`` slots so that the problems
    sharing a code are scored by ONE matmul ``(L' C, d1) @ (d1, n)``. Short groups are padded with
    copies of their first item (computed and discarded). ``order (G' L',)`` slot -> item,
    ``pos (B,)`` item -> slot (None when the layout is the identity)."""

    G: int
    L: int
    order: Any
    pos: Any
    Hg: Any  # (G', n, d1)
    rw: Any  # (G', n) or None
    hmax: Any  # (G' L',)
    A: Any  # (G' L', d1, C) or None (minibatches: linear term from the labels)
    alpha: Any  # (G' L',)
    ys: Any  # (G' L', n)
    Minv: Any  # (B, d1, d1) per item


#: relative extra cost per slot of a narrow matmul: cost(L') ~ slots * (1 + _NARROW / L')
_NARROW = 0.1


def _layout(xp: Any, prob: _Problems, pids: np.ndarray) -> _Layout:
    """Arrange items ``pids`` in slots: items sharing a code go to one *virtual group* of ``L'`` slots
    (a group with more than ``L'`` items is split, the last piece padded). ``L'`` minimises the
    modelled cost ``slots * (1 + _NARROW / L')`` (padding against narrow matmuls)."""
    dev = device_of(prob.Hg)
    B = pids.shape[0]
    ug, ginv, counts = np.unique(prob.group[pids], return_inverse=True, return_counts=True)
    cands = np.arange(1, int(counts.max()) + 1)
    nv = -(-counts[None, :] // cands[:, None])  # (cands, groups): virtual groups per group
    cost = (nv.sum(axis=1) * cands) * (1.0 + _NARROW / cands)
    Lp = int(cands[np.argmin(cost)])
    by_group = np.argsort(ginv, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(B, dtype=np.int64)
    rank[by_group] = np.arange(B) - np.repeat(starts, counts)
    nvg = -(-counts // Lp)  # virtual groups per group
    vstart = np.concatenate([[0], np.cumsum(nvg)[:-1]])
    Gp = int(nvg.sum())
    vg_of_item = vstart[ginv] + rank // Lp
    slot = vg_of_item * Lp + rank % Lp  # item -> slot
    vg_group = np.repeat(np.arange(ug.shape[0]), nvg)  # virtual group -> index into ug
    first_item = by_group[starts]  # first item of each group
    order = np.repeat(first_item[vg_group], Lp)  # padding: the group's first item
    order[slot] = np.arange(B)
    identity = Gp * Lp == B and np.array_equal(order, np.arange(B))
    spids = pids[order]

    def take(x, idx):
        return None if x is None else xp.take(x, xp.asarray(idx, device=dev), axis=0)

    g_ix = ug[vg_group]
    return _Layout(
        G=Gp, L=Lp,
        order=None if identity else xp.asarray(order, device=dev),
        pos=None if identity else xp.asarray(slot, device=dev),
        Hg=take(prob.Hg, g_ix), rw=take(prob.rw, g_ix),
        hmax=take(prob.hmax, prob.group[spids]),
        A=take(prob.A, spids), alpha=take(prob.alpha, spids), ys=take(prob.ys, spids),
        Minv=take(prob.Minv, prob.group[pids]),
    )


def _dot(xp: Any, a: Any, b: Any) -> Any:
    """Per-problem inner product over the trailing axes, in float64: ``(B, ...) -> (B,)``."""
    return xp.sum(xp.reshape(a * b, (a.shape[0], -1)), axis=-1, dtype=xp.float64)


#: elements of one chunk of scores (G' L' C x rows); ~2 MB in float32 keeps a chunk in cache
_CHUNK_ELEMENTS = 1 << 18
_MINROWS = 128


def _fg(xp: Any, prob: _Problems, lay: _Layout, theta: Any) -> tuple[Any, Any]:
    """Objective ``F (B,)`` (float64) and gradient ``(B, d1, C)`` at ``theta (B, d1, C)`` (items)."""
    th = theta if lay.order is None else xp.take(theta, lay.order, axis=0)
    f, g = _fg_slots(xp, prob, lay, th)
    if lay.pos is not None:
        f, g = xp.take(f, lay.pos, axis=0), xp.take(g, lay.pos, axis=0)
    return f, g


def _fg_slots(xp: Any, prob: _Problems, lay: _Layout, th: Any) -> tuple[Any, Any]:
    """The loss and gradient on the slot layout, in row chunks (see the module doc for formulas).

    Per chunk of ``m`` rows: scores ``Z = Theta^T H~^T`` ``(G', L', C, m)`` in one matmul per group;
    the row factor of ``dF/dz`` is folded into the code (``H~ diag(q)``, ``(G', L', m, d1)``) so the
    gradient is ``dZ @ H~q`` without another pass over ``(C, m)``. Chunks run on ``prob.pool`` when
    given; their partial sums are added in chunk order, so results do not depend on the threads.
    """
    loss, C = prob.loss, prob.n_classes
    S, d1, _ = th.shape
    Gp, Lp = lay.G, lay.L
    dt, dev = th.dtype, device_of(th)
    n = int(lay.Hg.shape[-2])
    # Theta^T per group: (G', L' C, d1); rows are (label set, class)
    ThT = xp.reshape(xp.permute_dims(xp.reshape(th, (Gp, Lp, d1, C)), (0, 1, 3, 2)), (Gp, Lp * C, d1))
    shift = False
    if loss == "softmax":
        # |z_ik| <= ||h~_i|| ||theta_k|| (Cauchy-Schwarz): skip the row-max pass when exp cannot overflow
        limit = 0.45 * math.log(float(xp.finfo(dt).max))
        colmax = xp.max(xp.sqrt(xp.sum(th * th, axis=-2)), axis=-1)  # (S,)
        shift = not bool(xp.all(lay.hmax * colmax < limit))
    ch = max(_MINROWS, min(n, _CHUNK_ELEMENTS // max(1, Gp * Lp * C)))
    err = np.geterr()  # worker threads run the chunks under the caller's floating-point error handling
    ys = None if lay.ys is None else xp.reshape(lay.ys, (Gp, Lp, n))
    cls = None if lay.ys is None else xp.reshape(xp.arange(C, dtype=lay.ys.dtype, device=dev), (C, 1))

    def chunk(a: int) -> tuple[Any, Any]:
        with np.errstate(**err):
            return _chunk(a)

    def _chunk(a: int) -> tuple[Any, Any]:
        b = min(n, a + ch)
        m = b - a
        Hc = lay.Hg[:, a:b, :]  # (G', m, d1)
        Z = xp.reshape(xp.matmul(ThT, xp.matrix_transpose(Hc)), (Gp, Lp, C, m))  # scores
        r = (xp.full((1, 1, m), 1.0 / n, dtype=dt, device=dev) if lay.rw is None
             else lay.rw[:, None, a:b])  # (G'|1, 1, m) row weights
        # (G', m, d1): rows scaled by r_i; full-batch softmax folds r into q below and needs none
        Hr = None if (loss == "softmax" and lay.A is not None) else Hc * xp.matrix_transpose(r)
        mask = None
        if loss == "hinge" or lay.A is None:
            mask = xp.astype(ys[:, :, None, a:b] == cls, dt)  # (G', L', C, m) one-hot
        if loss == "softmax":
            # lse_i = log sum_k exp(z_ik) ; dF/dz = r_i (softmax(z_i) - y_i) = E (r / s) - r y
            if shift:
                mx = xp.max(Z, axis=2, keepdims=True)
                E = xp.exp(Z - mx)
            else:
                E = xp.exp(Z)
            s = xp.sum(E, axis=2)  # (G', L', m)
            lse = xp.log(s) if not shift else xp.log(s) + mx[:, :, 0, :]
            fpart = xp.sum(r * lse, axis=-1, dtype=xp.float64)
            q = (r / s)[..., None]  # (G', L', m, 1)
            gpart = xp.matmul(E, Hc[:, None, :, :] * q)  # (G', L', C, d1)
        elif loss == "logistic":
            # sum_k log(1 + exp(-t_k z_k)) = sum_k softplus(z_k) - z_y ; dF/dz = r_i (sigmoid(z) - y)
            e = xp.exp(-xp.abs(Z))
            sp = xp.sum(xp.maximum(Z, xp.zeros_like(Z)) + xp.log1p(e), axis=2)
            fpart = xp.sum(r * sp, axis=-1, dtype=xp.float64)
            sig = xp.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))  # sigmoid, stable on both sides
            gpart = xp.matmul(sig, Hr[:, None, :, :])
        else:
            # squared hinge: sum_k max(0, 1 - t_k z_k)^2 ; dF/dz = -2 r_i t max(0, 1 - t z)
            t = 2.0 * mask - 1.0
            qh = xp.maximum(1.0 - t * Z, xp.zeros_like(Z))
            fpart = xp.sum(r * xp.sum(qh * qh, axis=2), axis=-1, dtype=xp.float64)
            gpart = xp.matmul(-2.0 * t * qh, Hr[:, None, :, :])
        if loss != "hinge" and lay.A is None:  # minibatch: the linear term -z_y from the labels
            fpart = fpart - xp.sum(xp.sum(Z * mask, axis=2) * r, axis=-1, dtype=xp.float64)
            gpart = gpart - xp.matmul(mask, Hr[:, None, :, :])
        return fpart, gpart

    starts = list(range(0, n, ch))
    parts = list(prob.pool.map(chunk, starts)) if (prob.pool is not None and len(starts) > 1) else None
    fsum, G = None, None
    for j, a in enumerate(starts):
        fp, gp = parts[j] if parts is not None else chunk(a)
        fsum, G = (fp, gp) if G is None else (fsum + fp, G + gp)
    g = xp.reshape(xp.permute_dims(G, (0, 1, 3, 2)), (S, d1, C))  # (G', L', C, d1) -> items' (d1, C)
    f = xp.reshape(fsum, (S,))
    if lay.A is not None and loss != "hinge":  # F -= <A, theta> = sum_i r_i z_{i, y_i}; grad -= A
        f = f - _dot(xp, lay.A, th)
        g = g - lay.A
    W = th * prob.pen
    f = f + 0.5 * lay.alpha * _dot(xp, W, W)
    return f, g + xp.astype(lay.alpha, dt)[:, None, None] * W


def _precondition(xp: Any, lay: _Layout, q: Any) -> Any:
    """``Minv @ q`` for items ``q (B, d1, C)``."""
    return xp.matmul(lay.Minv, q)


def _assemble(xp: Any, parts: list, total: int) -> list:
    """Re-order per-chunk results ``(ids, arrays)`` into full arrays indexed ``0..total-1``."""
    ids = np.concatenate([p[0] for p in parts])
    if ids.shape[0] != total:  # pragma: no cover - internal invariant
        raise RuntimeError("internal error: missing problems in assemble")
    inv = np.argsort(ids, kind="stable")
    out = []
    for k in range(len(parts[0][1])):
        cat = xp.concat([p[1][k] for p in parts], axis=0) if len(parts) > 1 else parts[0][1][k]
        out.append(cat if np.array_equal(inv, np.arange(total)) else _sel(xp, cat, inv))
    return out


def _sel(xp: Any, x: Any, idx: np.ndarray) -> Any:
    return xp.take(x, xp.asarray(idx, device=device_of(x)), axis=0)


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x))


# ----------------------------------------------------------------------------------------------
# Solvers
# ----------------------------------------------------------------------------------------------
def _line_search(xp, prob, lay, pids, theta, f, g, d):
    """Batched Armijo backtracking from step 1 (quadratic interpolation, clipped to [0.1, 0.5] t).

    Accept ``F(theta + t d) <= F + c1 t <g, d> + 10 eps |F|`` (the last term absorbs rounding of F in
    float32). Problems still searching are re-laid out on their own. Returns new ``theta, f, g`` and a
    host bool array ``failed`` (no step found in ``_MAX_LS`` trials).
    """
    B = theta.shape[0]
    eps = float(xp.finfo(theta.dtype).eps)
    f_h, gtd = _host(f), _host(_dot(xp, g, d))
    t = np.ones(B)
    pending = np.arange(B)
    parts = []
    for _ in range(_MAX_LS):
        whole = pending.shape[0] == B
        sub = lay if whole else _layout(xp, prob, pids[pending])
        th0 = theta if whole else _sel(xp, theta, pending)
        dd = d if whole else _sel(xp, d, pending)
        tt = xp.asarray(t[pending], dtype=theta.dtype, device=device_of(theta))[:, None, None]
        th = th0 + tt * dd
        ft, gt = _fg(xp, prob, sub, th)
        ft_h = _host(ft)
        f0, s0 = f_h[pending], gtd[pending]
        ok = np.isfinite(ft_h) & (ft_h <= f0 + _C1 * t[pending] * s0 + 10 * eps * np.abs(f0))
        if ok.all():
            parts.append((pending, (th, ft, gt)))
            pending = pending[:0]
            break
        if ok.any():
            k = np.nonzero(ok)[0]
            parts.append((pending[k], (_sel(xp, th, k), _sel(xp, ft, k), _sel(xp, gt, k))))
        bad = np.nonzero(~ok)[0]
        # minimiser of the quadratic through F(0), F'(0) = <g, d>, F(t)
        tb, fb, sb = t[pending[bad]], ft_h[bad], s0[bad]
        denom = 2.0 * (fb - f0[bad] - sb * tb)
        with np.errstate(all="ignore"):
            tq = np.where(np.isfinite(fb) & (denom > 0), -sb * tb * tb / denom, 0.1 * tb)
        t[pending[bad]] = np.clip(tq, 0.1 * tb, 0.5 * tb)
        pending = pending[bad]
    failed = np.zeros(B, dtype=bool)
    if pending.shape[0]:
        failed[pending] = True
        parts.append((pending, (_sel(xp, theta, pending), _sel(xp, f, pending), _sel(xp, g, pending))))
    th, fn, gn = _assemble(xp, parts, B)
    return th, fn, gn, failed


def _finish(xp, parts, ids, k, theta, f, it, conv, dev):
    parts.append((ids[k], (_sel(xp, theta, k), _sel(xp, f, k),
                           xp.asarray(np.full(k.shape[0], it, dtype=np.int64), device=dev),
                           xp.asarray(conv[k], device=dev))))


def _lbfgs(xp, prob, theta, *, max_iter, tol, memory, kappa, init=None):
    """Batched L-BFGS (two-loop recursion, Nocedal & Wright Alg. 7.4) with initial inverse Hessian
    ``gamma Minv``, ``gamma = s^T y / y^T Minv y`` (first step ``1/kappa``). Returns per-problem
    ``theta, f, n_iter, converged`` in the original order."""
    P = theta.shape[0]
    dt, dev = theta.dtype, device_of(theta)
    shape = tuple(theta.shape[1:])
    Dsz = math.prod(shape)
    ids = np.arange(P)
    lay = _layout(xp, prob, ids)
    f, g = _fg(xp, prob, lay, theta) if init is None else init
    S = xp.zeros((P, memory, Dsz), dtype=dt, device=dev)
    Yh = xp.zeros((P, memory, Dsz), dtype=dt, device=dev)
    rho = xp.zeros((P, memory), dtype=xp.float64, device=dev)
    gamma = np.full(P, 1.0 / kappa)
    failed = np.zeros(P, dtype=bool)
    parts: list = []
    it = 0
    while True:
        gmax = _host(xp.max(xp.abs(xp.reshape(g, (g.shape[0], -1))), axis=-1))
        conv = gmax <= tol
        done = conv | failed | (it >= max_iter)
        if done.any():
            _finish(xp, parts, ids, np.nonzero(done)[0], theta, f, it, conv, dev)
            keep = np.nonzero(~done)[0]
            if keep.shape[0] == 0:
                break
            ids, gamma, failed = ids[keep], gamma[keep], failed[keep]
            theta, f, g = _sel(xp, theta, keep), _sel(xp, f, keep), _sel(xp, g, keep)
            S, Yh, rho = _sel(xp, S, keep), _sel(xp, Yh, keep), _sel(xp, rho, keep)
            lay = _layout(xp, prob, ids)
        B = theta.shape[0]
        # two-loop recursion: r = H_k g with H_k^0 = gamma Minv
        q = xp.reshape(g, (B, Dsz))
        order = [(it - 1 - j) % memory for j in range(min(it, memory))]  # newest first
        alphas = {}
        for j in order:
            a = rho[:, j] * xp.sum(S[:, j, :] * q, axis=-1, dtype=xp.float64)
            alphas[j] = a
            q = q - xp.astype(a, dt)[:, None] * Yh[:, j, :]
        gam = xp.asarray(gamma, dtype=dt, device=dev)[:, None, None]
        r = xp.reshape(gam * _precondition(xp, lay, xp.reshape(q, (B,) + shape)), (B, Dsz))
        for j in reversed(order):
            beta = rho[:, j] * xp.sum(Yh[:, j, :] * r, axis=-1, dtype=xp.float64)
            r = r + xp.astype(alphas[j] - beta, dt)[:, None] * S[:, j, :]
        d = -xp.reshape(r, (B,) + shape)
        # safeguard: not a descent direction -> preconditioned steepest descent, history cleared
        notdesc = _host(_dot(xp, g, d)) >= 0
        if notdesc.any():
            nd = xp.asarray(notdesc, device=dev)
            d0 = -(1.0 / kappa) * _precondition(xp, lay, g)
            d = xp.where(nd[:, None, None], d0, d)
            rho = xp.where(nd[:, None], xp.zeros_like(rho), rho)
            gamma = np.where(notdesc, 1.0 / kappa, gamma)
        theta_n, f_n, g_n, ls_failed = _line_search(xp, prob, lay, ids, theta, f, g, d)
        s = xp.reshape(theta_n - theta, (B, Dsz))
        yv = xp.reshape(g_n - g, (B, Dsz))
        sy = xp.sum(s * yv, axis=-1, dtype=xp.float64)
        yy = xp.sum(yv * yv, axis=-1, dtype=xp.float64)
        ss = xp.sum(s * s, axis=-1, dtype=xp.float64)
        good = sy > 1e-10 * xp.sqrt(yy * ss)  # curvature pair usable (always for strictly convex F)
        slot = it % memory
        S[:, slot, :] = s
        Yh[:, slot, :] = yv
        rho[:, slot] = xp.where(good, 1.0 / xp.where(good, sy, xp.ones_like(sy)), xp.zeros_like(sy))
        yPy = _dot(xp, yv, xp.reshape(_precondition(xp, lay, xp.reshape(yv, (B,) + shape)), (B, Dsz)))
        good_h, sy_h, yPy_h = _host(good), _host(sy), _host(yPy)
        with np.errstate(all="ignore"):
            gamma = np.where(good_h & (yPy_h > 0), sy_h / yPy_h, gamma)
        theta, f, g = theta_n, f_n, g_n
        failed = failed | ls_failed
        it += 1
    return _assemble(xp, parts, P)


class Diverged(ArithmeticError):
    """Gradient descent diverged for problem ``problem``: its objective went from ``f0`` to ``f`` (more than
    doubled, or not finite) after ``iteration`` iterations; :func:`sims.engine.sgd.fit_sgd` turns it into
    a ValueError naming ``lr``."""

    def __init__(self, problem: int, iteration: int, f0: float, f: float) -> None:
        super().__init__(f"problem {problem}: objective {f0:.3g} -> {f:.3g} after {iteration} iterations")
        self.problem, self.iteration, self.f0, self.f = problem, iteration, f0, f


def _gd(xp, prob, theta, *, max_iter, tol, lr, batch_size, seed, init=None):
    """Gradient descent ``theta <- theta - lr grad`` (full batch), or minibatch SGD with step
    ``lr / sqrt(1 + epoch)`` and unbiased minibatch gradients ``(n/|b|) sum_{i in b} r_i grad loss_i
    + alpha W``; convergence is checked on the full gradient after each iteration / epoch.

    Divergence is an error, never NaN coefficients: a step size below ``2 / Lipschitz`` decreases the
    (convex, L-smooth) full-batch objective at every iteration, so an objective that is no longer finite or
    more than doubles (``F > 2 F_0 + 1``, ``F >= 0`` for every loss) raises :class:`Diverged`. Minibatch
    steps are noisy and may raise ``F`` for a while: there the bound is ``F > 10^6 (F_0 + 1)``."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is checked below
        return _gd_loop(xp, prob, theta, max_iter=max_iter, tol=tol, lr=lr, batch_size=batch_size, seed=seed,
                        init=init)


def _gd_loop(xp, prob, theta, *, max_iter, tol, lr, batch_size, seed, init=None):
    P = theta.shape[0]
    dt, dev = theta.dtype, device_of(theta)
    n = int(prob.Hg.shape[-2])
    ids = np.arange(P)
    lay = _layout(xp, prob, ids)
    parts: list = []
    f, g = _fg(xp, prob, lay, theta) if init is None else init
    f_start = _host(f).astype(np.float64)  # (P,) the objective at the start, per problem
    grow, extra = (2.0, 1.0) if batch_size is None else (1e6, 1e6)
    it = 0
    while True:
        f_h = _host(f)
        bad = ~np.isfinite(f_h) | (f_h > grow * f_start[ids] + extra)
        if bad.any():
            k = int(np.nonzero(bad)[0][0])
            raise Diverged(int(ids[k]), it, float(f_start[ids[k]]), float(f_h[k]))
        gmax = _host(xp.max(xp.abs(xp.reshape(g, (g.shape[0], -1))), axis=-1))
        conv = gmax <= tol
        done = conv | (it >= max_iter)
        if done.any():
            _finish(xp, parts, ids, np.nonzero(done)[0], theta, f, it, conv, dev)
            keep = np.nonzero(~done)[0]
            if keep.shape[0] == 0:
                break
            ids = ids[keep]
            theta, g = _sel(xp, theta, keep), _sel(xp, g, keep)
            lay = _layout(xp, prob, ids)
        step = xp.asarray(lr[ids], dtype=dt, device=dev)[:, None, None]
        if batch_size is None:
            theta = theta - step * g
        else:
            perm = rng(seed, "sgd", it).permutation(n)
            step = step / math.sqrt(1.0 + it)
            rw_full = lay.rw if lay.rw is not None else xp.full((lay.G, n), 1.0 / n, dtype=dt, device=dev)
            for lo in range(0, n, batch_size):
                idx = xp.asarray(perm[lo:lo + batch_size], device=dev)
                m = int(idx.shape[0])
                sub = replace(lay, Hg=xp.take(lay.Hg, idx, axis=1), ys=xp.take(lay.ys, idx, axis=1),
                              rw=xp.take(rw_full, idx, axis=1) * (n / m), A=None)
                _, gb = _fg(xp, prob, sub, theta)
                theta = theta - step * gb
        f, g = _fg(xp, prob, lay, theta)
        it += 1
    return _assemble(xp, parts, P)
