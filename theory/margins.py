"""Margins and separation of superposed vs monosemantic codes: runtime numeric functions.

Setting (theory/derive/margins.py, docs/DESIGN.md "n features in m dimensions"): features ``x in R^n``
(spike-and-uniform: 0 w.p. S, else Uniform(a, b), 0 <= a < b), a code ``W`` ``(m, n)`` whose first
``r = n_rep`` columns are unit vectors and the rest zero (dropped), ``G = W^T W``. The matched filter
scores ``s = G x`` and predicts ``argmax_{j < r} s_j``; the label is ``y = argmax_i x_i``. A sample is
*covered* when ``y < r`` and ``x_y > 0``; its margin is ``s_y - max_{j < r, j != y} s_j``.

What is here (equation numbers (M1)-(M11) of the derivation):

* :func:`welch_bound` (M1); :func:`matched_filter_margins`; the per-sample margin bound
  :func:`margin_bound_sample` (M3) and its worst case over samples with ``k`` active features
  :func:`margin_bound_worst` (M4).
* :func:`readout_noise_variance`, :func:`pair_noise_variance` (M5): ``lam^2 ||W^T w_j||^2``.
* :func:`error_bounds` (M6): per-sample pairwise lower / union upper bounds on the error under noise.
* :func:`argmax_moments` (M8), :func:`fisher_separation_code` (exact pooled Fisher separation of a given
  code), :func:`expected_fisher_separation` (M9, random codes in expectation, and mono).
* :func:`orthogonal_accuracy` (M7, exact quadrature), :func:`drop_loss` / :func:`dropping_loss` (the
  accuracy mono loses by dropping n - m features), :func:`meanfield_accuracy` and
  :func:`interference_loss` (M10, an approximation: the accuracy a superposed code loses to
  interference), :func:`balance_noise` (M11: where the two losses balance, a certified root of the model).
* ``MARGIN_CLAIMS``: the claims of this module, each with a numeric ``check(rng)``.

The numbers come from the generated module ``theory._cache.margins_generated``; this file never imports
sympy. Every public function validates its inputs (``ValueError`` naming the argument).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from sims.engine.validation import (
    NONNEG,
    UNIT_OPEN_RIGHT,
    Interval,
    check_array,
    check_number,
    check_option,
    check_values,
)
from theory._cache import margins_generated as _gen

__all__ = [
    "welch_bound",
    "gram",
    "coherence",
    "matched_filter_scores",
    "matched_filter_margins",
    "sample_structure",
    "margin_bound_sample",
    "margin_bound_worst",
    "readout_noise_variance",
    "pair_noise_variance",
    "error_bounds",
    "argmax_moments",
    "fisher_separation_code",
    "fisher_parts",
    "expected_fisher_separation",
    "accuracy_clean",
    "drop_loss",
    "orthogonal_accuracy",
    "meanfield_accuracy",
    "interference_nu",
    "dropping_loss",
    "interference_loss",
    "balance_noise",
    "Balance",
]

SPACES = ("x", "h")
_TOL = 1e-9  # relative slack for float round-off in "bound holds" comparisons


# --------------------------------------------------------------------------------------------- validation
def _count(name: str, value: Any, lo: int = 1) -> int:
    return check_number(name, value, Interval(lo, None), integer=True)


def _amplitude(amplitude: Any) -> tuple[float, float]:
    amp = check_values("amplitude", amplitude, Interval(0.0, math.inf, "[)"))
    if amp.shape != (2,) or not amp[0] < amp[1]:
        raise ValueError(f"amplitude == {tuple(np.ravel(amp))!r}, must be a pair (a, b) with 0 <= a < b")
    return float(amp[0]), float(amp[1])


def _W(W: Any) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    check_array("W", W, ndim=2)
    return W


def _n_rep(n_rep: Any, n: int) -> int:
    return check_number("n_rep", n_rep, Interval(2, n), integer=True)


def _xy(x: Any, y: Any, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    check_array("x", x, ndim=2)
    if n is not None and x.shape[1] != n:
        raise ValueError(f"x.shape == {x.shape}, last axis must equal n_features == {n}")
    if np.any(x < 0):
        raise ValueError(f"x contains {float(x[x < 0].flat[0])}, must be >= 0 (amplitudes in [a, b], a >= 0)")
    y = np.asarray(y)
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"y.shape == {y.shape} (dtype {y.dtype}), must be integer labels of shape ({x.shape[0]},)")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise ValueError(f"y contains {int(y.max() if y.max() >= x.shape[1] else y.min())}, must be in [0, {x.shape[1] - 1}]")
    return x, y.astype(np.int64)


def _covered(x: np.ndarray, y: np.ndarray, n_rep: int) -> np.ndarray:
    """``(y < n_rep) & (x_y > 0)``: the samples whose label is represented and active."""
    return (y < n_rep) & (x[np.arange(len(y)), y] > 0)


# --------------------------------------------------------------------------------------------- (M1)
def welch_bound(n_rep: Any, m: Any) -> np.ndarray:
    """(M1) ``sqrt((r - m) / (m (r - 1)))`` for ``r > m`` unit vectors in ``R^m``, 0 for ``r <= m``.

    Broadcasts over array ``n_rep`` and ``m`` (integers >= 1)."""
    r = check_values("n_rep", n_rep, Interval(1, math.inf, "[)"))
    mm = check_values("m", m, Interval(1, math.inf, "[)"))
    r, mm = np.broadcast_arrays(r, mm)
    out = np.zeros(r.shape)
    big = r > mm
    out[big] = _gen.welch(r[big], mm[big])
    return out if out.ndim else out[()]


def gram(W: Any) -> np.ndarray:
    """``G = W^T W`` ``(n, n)``."""
    W = _W(W)
    return W.T @ W


def coherence(W: Any, n_rep: int | None = None) -> float:
    """``max_{i != j < r} |G_ij|`` over the represented columns (the first ``n_rep``; all nonzero ones
    when ``None``). Columns must be unit vectors: they are used as given (``sims.engine.codes.coherence``
    renormalises them, which moves the value by an ulp)."""
    W = _W(W)
    if n_rep is None:
        Wr = W[:, np.linalg.norm(W, axis=0) > 1e-12]
    else:
        Wr = W[:, : _n_rep(n_rep, W.shape[1])]
    if Wr.shape[1] < 2:
        return 0.0
    G = np.abs(Wr.T @ Wr)
    np.fill_diagonal(G, 0.0)
    return float(G.max())


# --------------------------------------------------------------------------------------------- margins
def matched_filter_scores(x: Any, G: Any, n_rep: int) -> np.ndarray:
    """``s_j = (G x)_j`` for the represented features ``j < n_rep``: ``(..., N, n_rep)``."""
    G = np.asarray(G, dtype=np.float64)
    return np.asarray(x, dtype=np.float64) @ G[:, :n_rep]


def _true_and_rest(scores: np.ndarray, y: np.ndarray, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s_y`` and ``max_{j != y} s_j`` over the last axis (``y`` clipped where not covered)."""
    yc = np.where(covered, y, 0)
    true = np.take_along_axis(scores, yc[..., None], axis=-1)[..., 0]
    masked = scores.copy()
    np.put_along_axis(masked, yc[..., None], -np.inf, axis=-1)
    return true, masked.max(axis=-1)


def matched_filter_margins(x: Any, y: Any, G: Any, n_rep: int, *, scores: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Margins ``s_y - max_{j < r, j != y} s_j`` of the covered samples (NaN elsewhere) and the
    boolean ``covered = (y < n_rep) & (x_y > 0)``. ``x (N, n) >= 0``, ``y (N,)``, ``G (n, n)``;
    ``scores``: :func:`matched_filter_scores` ``(x, G, n_rep)`` when the caller has them already."""
    x, y = _xy(x, y)
    n_rep = _n_rep(n_rep, x.shape[1])
    covered = _covered(x, y, n_rep)
    if scores is None:
        s = matched_filter_scores(x, G, n_rep)
    else:
        s = np.asarray(scores, dtype=np.float64)
        if s.shape != (x.shape[0], n_rep):
            raise ValueError(f"scores.shape == {s.shape}, must be ({x.shape[0]}, {n_rep}) (samples, n_rep)")
    true, rest = _true_and_rest(s, y, covered)
    return np.where(covered, true - rest, np.nan), covered


def sample_structure(x: Any, y: Any, n_rep: int) -> dict[str, np.ndarray]:
    """Per-sample quantities of the bounds: ``k`` (active represented features), ``gap`` ``x_y - x_hi``,
    ``x_hi``, ``x_lo`` (largest / smallest ``x_j``, ``j < r``, ``j != y``), ``T`` (sum over ``j < r``),
    ``covered``."""
    x, y = _xy(x, y)
    n_rep = _n_rep(n_rep, x.shape[1])
    N = len(y)
    covered = _covered(x, y, n_rep)
    xr = x[:, :n_rep]
    yc = np.where(covered, y, 0)
    xy = xr[np.arange(N), yc]
    hi = xr.copy()
    hi[np.arange(N), yc] = -np.inf
    lo = xr.copy()
    lo[np.arange(N), yc] = np.inf
    x_hi, x_lo = hi.max(axis=1), lo.min(axis=1)
    return {
        "covered": covered,
        "k": (xr > 0).sum(axis=1),
        "x_y": xy,
        "x_hi": x_hi,
        "x_lo": x_lo,
        "gap": xy - x_hi,
        "T": xr.sum(axis=1),
    }


def margin_bound_sample(x: Any, y: Any, mu: Any, n_rep: int) -> np.ndarray:
    """(M3) Per-sample lower bound on the matched-filter margin of a code with coherence ``mu``:

        margin >= min(L(x_hi), L(x_lo)),   L(t) = (1 + mu) x_y + (3 mu - 1) t - 2 mu T.

    ``x (N, n) >= 0``; NaN for samples that are not covered. ``mu`` in [0, 1] (scalar)."""
    mu = check_number("mu", mu, Interval(0.0, 1.0, "[]"))
    st = sample_structure(x, y, n_rep)
    b = np.minimum(_gen.pair_form(mu, st["x_y"], st["x_hi"], st["T"]),
                   _gen.pair_form(mu, st["x_y"], st["x_lo"], st["T"]))
    return np.where(st["covered"], b, np.nan)


def margin_bound_worst(mu: Any, k: Any, gap: Any, amplitude: Any = (0.0, 1.0)) -> np.ndarray:
    """(M4) Worst case of (M3) over covered samples with ``k`` active represented features (the true
    one included), amplitudes in ``[a, b]`` and gap ``x_y - x_hi = gap``:

        k = 1:             (1 - mu) gap
        k >= 2, mu < 1/3:  (1 - mu) gap - 2 mu (k - 2) (b - gap)
        k >= 2, mu >= 1/3: (1 - mu) gap + c u*,  c = 1 - (2k - 1) mu,  u* = a if c >= 0 else b - gap.

    Broadcasts over ``mu``, ``k`` (int >= 1) and ``gap`` (in [0, b])."""
    a, b = _amplitude(amplitude)
    mu = check_values("mu", mu, Interval(0.0, 1.0, "[]"))
    kk = check_values("k", k, Interval(1, math.inf, "[)"))
    g = check_values("gap", gap, Interval(0.0, b, "[]"))
    k1, low, c_a, c_b, c = _gen.worst_pieces(mu, kk, a, b, g)
    high = np.where(c >= 0, c_a, c_b)
    out = np.where(kk <= 1, k1, np.where(mu < 1.0 / 3.0, low, high))
    return out if np.ndim(out) else out[()]


# --------------------------------------------------------------------------------------------- (M5)
def readout_noise_variance(W: Any, lam: Any = 1.0, *, space: str = "x") -> np.ndarray:
    """(M5) Variance of the noise on each matched-filter score ``s_j = w_j^T h``.

    ``space="x"``: noise ``N(0, lam^2 I_n)`` on the features (read through the code):
    ``lam^2 ||W^T w_j||^2 = lam^2 (G^2)_jj`` (``lam^2`` mono, ``2 lam^2`` antipodal pairs).
    ``space="h"``: noise ``N(0, lam^2 I_m)`` on the code: ``lam^2 ||w_j||^2``.
    Returns ``(..., n)`` for ``lam`` of shape ``(...)``; dropped features give 0."""
    W = _W(W)
    check_option("space", space, SPACES)
    lam = check_values("lam", lam, NONNEG)
    if space == "x":
        G = W.T @ W
        base = np.einsum("ij,ij->j", G, G)
    else:
        base = np.einsum("ij,ij->j", W, W)
    return lam[..., None] ** 2 * base


def pair_noise_variance(W: Any, lam: Any = 1.0, *, space: str = "x") -> np.ndarray:
    """(M5) ``Var[s_y - s_j]``: ``lam^2 ||W^T (w_y - w_j)||^2`` (``space="x"``) or
    ``lam^2 ||w_y - w_j||^2`` (``space="h"``); ``(..., n, n)``."""
    W = _W(W)
    check_option("space", space, SPACES)
    lam = check_values("lam", lam, NONNEG)
    G = W.T @ W
    M = G @ G if space == "x" else G
    d = np.diag(M)
    base = np.maximum(d[:, None] + d[None, :] - 2.0 * M, 0.0)
    return lam[..., None, None] ** 2 * base


def error_bounds(
    x: Any, y: Any, W: Any, n_rep: int, lam: Any, *, space: str = "x", pair_var: Any = None, scores: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """(M6) Bounds on ``P(error | x)`` of the matched filter under Gaussian noise of scale ``lam``:

        max_j Phi(-d_j / sigma_j) <= P(error | x) <= min(1, sum_j Phi(-d_j / sigma_j)),

    ``j`` over the represented features other than ``y``, ``d_j = s_y - s_j`` (clean scores),
    ``sigma_j^2`` from :func:`pair_noise_variance`. Returns ``(lower, upper)`` of shape ``(L, N)`` for
    ``lam`` of shape ``(L,)`` (NaN for samples that are not covered). With ``sigma_j = 0`` the pairwise
    event is deterministic (``d_j < 0`` for the lower bound, ``d_j <= 0`` for the upper bound).
    ``pair_var``: ``pair_noise_variance(W, 1.0, space=space)[:n_rep, :n_rep]`` when the caller has it
    (it costs ``O(n^3)``; callers bounding many chunks of samples compute it once); ``scores``:
    :func:`matched_filter_scores` ``(x, W^T W, n_rep)`` when the caller has them."""
    x, y = _xy(x, y)
    W = _W(W)
    n_rep = _n_rep(n_rep, x.shape[1])
    lam = np.atleast_1d(check_values("lam", lam, NONNEG))
    if lam.ndim != 1:
        raise ValueError(f"lam.shape == {lam.shape}, must be a scalar or 1-D")
    N = len(y)
    covered = _covered(x, y, n_rep)
    yc = np.where(covered, y, 0)
    if scores is None:
        s = matched_filter_scores(x, W.T @ W, n_rep)  # (N, r)
    else:
        s = np.asarray(scores, dtype=np.float64)
        if s.shape != (N, n_rep):
            raise ValueError(f"scores.shape == {s.shape}, must be ({N}, {n_rep}) (samples, n_rep)")
    d = s[np.arange(N), yc][:, None] - s  # (N, r)
    if pair_var is None:
        V = pair_noise_variance(W, 1.0, space=space)[:n_rep, :n_rep]  # (r, r), unit lam
    else:
        V = np.asarray(pair_var, dtype=np.float64)
        if V.shape != (n_rep, n_rep):
            raise ValueError(f"pair_var.shape == {V.shape}, must be ({n_rep}, {n_rep}) (n_rep, n_rep)")
    sig = np.sqrt(V[yc])  # (N, r)
    own = np.zeros((N, n_rep), dtype=bool)  # the term j = y is left out
    own[np.arange(N), yc] = True
    neg_d = -d
    det_lo, det_up = (d < 0).astype(float), (d <= 0).astype(float)  # sigma_j = 0: deterministic events
    det_lo[own] = det_up[own] = 0.0
    pos_sig = sig[sig > 0]
    sig_min = float(pos_sig.min()) if pos_sig.size else 0.0
    noisy0 = (sig > 0) & ~own
    only_own = int(noisy0.sum()) == N * (n_rep - 1)  # every term but j = y is noisy
    sig1 = np.where(noisy0, sig, 1.0)
    lows, ups = [], []
    rows = np.arange(N)
    for lv in lam:
        if lv > 0 and lv * sig_min > 0 and only_own:  # the common case: only the own term to replace (by 0)
            with np.errstate(over="ignore"):  # |d| / (lam sigma) beyond the float range: Phi is 0 or 1 there
                t = ndtr(neg_d / (lv * sig1))
            t[rows, yc] = 0.0
            lows.append(t.max(axis=1))
            ups.append(np.minimum(1.0, t.sum(axis=1)))
            continue
        if lv * sig_min > 0 or not pos_sig.size:  # sd = lv sig > 0 exactly where sig > 0 (no underflow)
            noisy = noisy0 if lv > 0 else np.zeros_like(noisy0)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # lam = 0: every term replaced
                t = ndtr(neg_d / (lv * sig1))  # the same quotients as below where noisy; elsewhere replaced
        else:  # lv sig underflows to 0 for some sig > 0: the entrywise test
            sd = lv * sig
            noisy = (sd > 0) & ~own
            with np.errstate(divide="ignore", invalid="ignore"):
                t = ndtr(np.where(noisy, neg_d / np.where(noisy, sd, 1.0), 0.0))
        lows.append(np.where(noisy, t, det_lo).max(axis=1))
        ups.append(np.minimum(1.0, np.where(noisy, t, det_up).sum(axis=1)))
    lo = np.where(covered, np.stack(lows), np.nan)
    up = np.where(covered, np.stack(ups), np.nan)
    return lo, up


# --------------------------------------------------------------------------------------------- (M8)-(M9)
def argmax_moments(n: Any, sparsity: Any) -> dict[str, np.ndarray]:
    """(M8) Moments of ``x`` given its argmax class ``a`` (amplitude U(0, 1)): ``alpha = E[x_a|a]``,
    ``beta = E[x_i|a]``, ``sM = Var[x_a|a]``, ``sO = Var[x_i|a]``, ``kappa = Cov[x_a, x_i|a]``,
    ``rho = Cov[x_i, x_j|a]`` (NaN for n < 3), and ``ex2_other = E[x_i^2|a] = sO + beta^2``.

    Closed forms for ``sparsity <= 0.9``; above, where the closed form cancels badly (powers of 1/(1-S)),
    the same integrals by Gauss-Legendre quadrature (exact for these polynomial integrands)."""
    nn = check_values("n", n, Interval(2, math.inf, "[)"))
    S = check_values("sparsity", sparsity, UNIT_OPEN_RIGHT)
    if nn.ndim == 0 and S.ndim == 0:
        return dict(_moments_scalar(float(nn), float(S)))
    return _moments(nn, S)


@functools.lru_cache(maxsize=256)
def _moments_scalar(n: float, S: float) -> dict[str, float]:
    return {k_: float(v) for k_, v in _moments(np.asarray(n), np.asarray(S)).items()}


def _moments(nn: np.ndarray, S: np.ndarray) -> dict[str, np.ndarray]:
    nn, S = np.broadcast_arrays(nn, S)
    closed = _gen.argmax_moments(nn, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_c = np.where(nn >= 3, _gen.argmax_rho(np.maximum(nn, 3), S), np.nan)
    out = dict(zip(("alpha", "beta", "sM", "sO", "kappa"), closed))
    out["rho"] = rho_c
    hard = S > 0.9
    if np.any(hard):
        q = _moments_quadrature(nn[hard], S[hard])
        for key in out:
            v = np.array(out[key], dtype=float, copy=True)
            v[hard] = q[key]
            out[key] = v
    out = {k_: np.asarray(v, dtype=float) for k_, v in out.items()}
    out["ex2_other"] = out["sO"] + out["beta"] ** 2
    return {k_: (v if v.ndim else v[()]) for k_, v in out.items()}


def _moments_quadrature(n: np.ndarray, S: np.ndarray) -> dict[str, np.ndarray]:
    """(M8) by Gauss-Legendre in t (degree <= n + 2: exact with ceil((n + 3) / 2) nodes)."""
    deg = int(np.max(n)) + 4
    tt, ww = np.polynomial.legendre.leggauss(deg // 2 + 2)
    t = (tt + 1) / 2
    w = ww / 2
    n = n[:, None]
    S_ = S[:, None]
    p = 1 - S_
    F = S_ + p * t
    top1 = (w * p * t * F ** (n - 1)).sum(1)
    top2 = (w * p * t**2 * F ** (n - 1)).sum(1)
    o1 = (w * p * F ** (n - 2) * p * t**2 / 2).sum(1)
    o2 = (w * p * F ** (n - 2) * p * t**3 / 3).sum(1)
    cr = (w * p * t * F ** (n - 2) * p * t**2 / 2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pr = (w * p * F ** np.maximum(n - 3, 0) * (p * t**2 / 2) ** 2).sum(1)
    nn = n[:, 0]
    alpha, beta = nn * top1, nn * o1
    return {
        "alpha": alpha,
        "beta": beta,
        "sM": nn * top2 - alpha**2,
        "sO": nn * o2 - beta**2,
        "kappa": nn * cr - alpha * beta,
        "rho": np.where(nn >= 3, nn * pr - beta**2, np.nan),
    }


def fisher_separation_code(
    G: Any, n_rep: int, sparsity: float, lam: Any = 0.0, *, amplitude_max: float = 1.0
) -> np.ndarray:
    """(M9) Exact population pooled Fisher separation of the argmax classes ``a != b`` among the
    represented features of a given code (``G`` ``(n, n)``, first ``n_rep`` represented), through the
    matched-filter differences ``v_ab = s_a - s_b``, with Gaussian input noise ``lam`` on ``x``:

        J = mean_{a != b} Delta_ab^2 / mean_{a != b} (V_a + V_b),   Delta_ab = 2 (1 - G_ab)(alpha - beta),
        V_c = Var[v_ab | y = c] + lam^2 ||c_ab||^2,  c_ab = G_a - G_b.

    Amplitude ``U(0, amplitude_max)`` (moments scale with it). Returns shape of ``lam``."""
    G = np.asarray(G, dtype=np.float64)
    check_array("G", G, ndim=2)
    if G.shape[0] != G.shape[1]:
        raise ValueError(f"G.shape == {G.shape}, must be square (n, n)")
    r = _n_rep(n_rep, G.shape[0])
    S = check_number("sparsity", sparsity, UNIT_OPEN_RIGHT)
    hi = check_number("amplitude_max", amplitude_max, Interval(0.0, math.inf, "()"))
    lam = check_values("lam", lam, NONNEG) / hi
    num, den_clean, den_noise = fisher_parts(G, r, S)
    out = num / (den_clean + den_noise * lam**2)
    return out if np.ndim(out) else out[()]


def fisher_parts(G: np.ndarray, n_rep: int, sparsity: float) -> tuple[float, float, float]:
    """(M9) for a given code (amplitude U(0, 1)): ``(mean Delta^2, mean (V_a + V_b) without noise,
    mean 2 ||c_ab||^2)`` over ordered pairs ``a != b < n_rep``; ``J = num / (den + lam^2 noise)``."""
    G = np.asarray(G, dtype=np.float64)
    n = G.shape[0]
    r = int(n_rep)
    mo = argmax_moments(n, sparsity)
    Gr = G[:r, :r]
    Q = Gr @ Gr  # (r, r): sum_{i in R} G_ai G_ib
    dq = np.diag(Q)
    sq = dq[:, None] + dq[None, :] - 2.0 * Q  # ||c_ab||^2
    rs = Gr.sum(axis=1)
    tot = rs[:, None] - rs[None, :]  # sum_i c_ab[i]
    c_a = 1.0 - Gr  # c_ab[a] = G_aa - G_ba
    c_b = Gr - 1.0  # c_ab[b] = G_ab - G_bb
    off = ~np.eye(r, dtype=bool)
    rho = float(mo["rho"]) if n >= 3 else 0.0

    def var_given(cc: np.ndarray) -> np.ndarray:
        s_sq = sq - cc**2  # sum over R minus the class's own coordinate
        s_lin = tot - cc
        return cc**2 * mo["sM"] + mo["sO"] * s_sq + 2 * mo["kappa"] * cc * s_lin + rho * (s_lin**2 - s_sq)

    Va, Vb = var_given(c_a), var_given(c_b)
    delta2 = (2.0 * (1.0 - Gr) * (mo["alpha"] - mo["beta"])) ** 2
    return delta2[off].mean(), (Va + Vb)[off].mean(), 2.0 * sq[off].mean()


def expected_fisher_separation(
    n: Any, n_rep: Any, m: Any, sparsity: Any, lam: Any = 0.0, *, code: str = "random"
) -> np.ndarray:
    """(M9) Pooled Fisher separation of argmax classes, amplitude U(0, 1):

    ``code="random"``: in expectation over codes with i.i.d. uniform unit columns (ratio of
    expectations), ``r = n_rep`` represented features in ``m`` dimensions;
    ``code="mono"``: an orthogonal code (exact; ``m`` is ignored). Broadcasts."""
    check_option("code", code, ("random", "mono"))
    nn = check_values("n", n, Interval(2, math.inf, "[)"))
    r = check_values("n_rep", n_rep, Interval(2, math.inf, "[)"))
    mm = check_values("m", m, Interval(1, math.inf, "[)"))
    lam = check_values("lam", lam, NONNEG)
    if np.any(r > nn):
        raise ValueError(f"n_rep contains {float(np.max(r))}, must be <= n == {float(np.min(nn))}")
    mo = argmax_moments(nn, sparsity)
    args = (mo["alpha"], mo["beta"], mo["sM"], mo["sO"], mo["kappa"])
    out = _gen.fisher_random(*args, r, mm, lam) if code == "random" else _gen.fisher_mono(*args, lam)
    out = np.asarray(out, dtype=float)
    return out if out.ndim else out[()]


# --------------------------------------------------------------------------------------------- (M7), (M10), (M11)
def accuracy_clean(n: Any, n_rep: Any, sparsity: Any) -> np.ndarray:
    """(M7) Noise-free matched-filter accuracy of an orthogonal code keeping ``r`` of ``n`` features:
    ``(r/n)(1 - S^n) + S^n/n``."""
    nn = check_values("n", n, Interval(1, math.inf, "[)"))
    r = check_values("n_rep", n_rep, Interval(1, math.inf, "[)"))
    S = check_values("sparsity", sparsity, UNIT_OPEN_RIGHT)
    out = np.asarray(_gen.accuracy_clean(nn, r, S), dtype=float)
    return out if out.ndim else out[()]


def drop_loss(n: Any, m: Any, sparsity: Any) -> np.ndarray:
    """(M7) Accuracy lost by dropping ``n - m`` features (mono vs all ``n`` orthogonal, no noise):
    ``(1 - m/n)(1 - S^n)``."""
    nn = check_values("n", n, Interval(1, math.inf, "[)"))
    mm = check_values("m", m, Interval(1, math.inf, "[)"))
    S = check_values("sparsity", sparsity, UNIT_OPEN_RIGHT)
    out = np.asarray(_gen.drop_loss(nn, mm, S), dtype=float)
    return out if out.ndim else out[()]


_T_PANELS = np.array([0.0, 0.02, 0.06, 0.15, 0.3, 0.5, 0.75, 1.0])
_GL = np.polynomial.legendre.leggauss(12)
_GH = np.polynomial.hermite_e.hermegauss(32)  # probabilists' Hermite: weight exp(-z^2/2)


def _t_nodes() -> tuple[np.ndarray, np.ndarray]:
    x, w = _GL
    lo, hi = _T_PANELS[:-1, None], _T_PANELS[1:, None]
    t = (lo + (hi - lo) * (x + 1) / 2).ravel()
    wt = ((hi - lo) / 2 * w).ravel()
    return t, wt


_T_NODES = _t_nodes()  # composite Gauss-Legendre nodes / weights on [0, 1]


def _gf(z: np.ndarray) -> np.ndarray:
    return z * ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def orthogonal_accuracy(n: int, n_rep: int, sparsity: float, noise_sd: Any) -> np.ndarray:
    """(M7) Accuracy of the argmax readout of an orthogonal code keeping ``r = n_rep`` of ``n`` features
    (amplitude U(0, 1)) when every represented score carries i.i.d. ``N(0, noise_sd^2)`` noise (mono
    under input noise ``lam``: ``noise_sd = lam``). Composite Gauss-Legendre in ``t`` (7 panels x 12
    nodes) x Gauss-Hermite in the noise (32 nodes): within 3e-5 of a 40 x 120-node rule on the default
    grid; exact closed form at ``noise_sd = 0``. Vectorized over ``noise_sd``."""
    n = _count("n", n)
    r = check_number("n_rep", n_rep, Interval(1, n), integer=True)
    S = check_number("sparsity", sparsity, UNIT_OPEN_RIGHT)
    sd = check_values("noise_sd", noise_sd, NONNEG)
    flat = np.atleast_1d(sd).ravel()
    p = 1.0 - S
    t, wt = _T_NODES
    z, wz = _GH
    wz = wz / math.sqrt(2 * math.pi)
    F = S + p * t  # (T,)
    out = np.full(flat.shape, float(accuracy_clean(n, r, S)))
    pos = flat > 0
    if pos.any():
        s = flat[pos][:, None, None]  # (L, 1, 1)
        tt = t[None, :, None]
        u = tt + s * z[None, None, :]  # (L, T, Z): x_a + e
        # q(t, u) = S Phi(u/s) + p s [Gf(u/s) - Gf((u - t)/s)], and (u - t)/s = z
        q = S * ndtr(u / s) + p * s * (_gf(u / s) - _gf(z)[None, None, :])
        q = np.clip(q, 0.0, 1.0)
        inner = (wz * q ** (r - 1)).sum(axis=-1)  # (L, T)
        out[pos] = r * (inner * (wt * p * F ** (n - r))).sum(axis=-1) + S**n / n
    out = out.reshape(np.shape(sd))
    return out if out.ndim else out[()]


def interference_nu(G: Any, n_rep: int) -> float:
    """(M10) ``nu = mean_{j < r} sum_{i < r, i != j} G_ji^2`` (mean squared interference per score)."""
    G = np.asarray(G, dtype=np.float64)
    r = _n_rep(n_rep, G.shape[0])
    Gr = G[:r, :r]
    return max(0.0, float((np.sum(Gr * Gr) - np.sum(np.diag(Gr) ** 2)) / r))  # >= 0 up to round-off


def meanfield_accuracy(n: int, n_rep: int, sparsity: float, lam: Any, nu: float) -> np.ndarray:
    """(M10) Mean-field *approximation* of the matched-filter accuracy of a superposed code with
    interference ``nu`` (:func:`interference_nu`; ``(r - 1)/m`` for random codes in expectation):
    ``orthogonal_accuracy(n, r, S, sqrt(lam^2 (1 + nu) + nu E[x_i^2 | y != i]))``."""
    n = _count("n", n)
    r = check_number("n_rep", n_rep, Interval(1, n), integer=True)
    nu = check_number("nu", nu, NONNEG)
    lam = check_values("lam", lam, NONNEG)
    ex2 = float(argmax_moments(max(n, 2), sparsity)["ex2_other"])
    sd = np.sqrt(lam**2 * (1.0 + nu) + nu * ex2)
    return orthogonal_accuracy(n, r, sparsity, sd)


def dropping_loss(n: int, m: int, sparsity: float, lam: Any = 0.0) -> np.ndarray:
    """(M7) Accuracy lost by dropping ``n - m`` features: ``A(n, n, S, lam) - A(n, m, S, lam)`` (mono vs
    all ``n`` features on orthogonal axes, both under input noise ``lam``; exact quadrature). At
    ``lam = 0`` it is :func:`drop_loss`."""
    n = _count("n", n)
    m = check_number("m", m, Interval(1, n), integer=True)
    return orthogonal_accuracy(n, n, sparsity, lam) - orthogonal_accuracy(n, m, sparsity, lam)


def interference_loss(n: int, n_rep: int, sparsity: float, lam: Any, nu: float) -> np.ndarray:
    """(M10) Accuracy lost to interference by a superposed code representing ``n_rep`` features:
    ``A(n, n_rep, S, lam) - A_sup(lam)`` (mean-field approximation). For ``n_rep = n`` mono and the
    superposed code balance (M11) where this equals :func:`dropping_loss`."""
    n = _count("n", n)
    r = check_number("n_rep", n_rep, Interval(1, n), integer=True)
    return orthogonal_accuracy(n, r, sparsity, lam) - meanfield_accuracy(n, r, sparsity, lam, nu)


@dataclass(frozen=True)
class Balance:
    """(M11) A certified root ``lam_star`` of ``f(lam) = A_mono(lam) - A_sup(lam)`` (mean-field model):
    ``f(bracket[0]) <= 0 <= f(bracket[1])`` (both evaluated). ``lam_star`` is NaN when ``f`` has no
    sign change on the scanned range; ``sign_at_zero`` tells who wins without noise (-1: superposed)."""

    lam_star: float
    bracket: tuple[float, float]
    f_bracket: tuple[float, float]
    sign_at_zero: int
    lam_max: float


def balance_noise(
    n: int, m: int, n_rep: int, sparsity: float, nu: float, *, lam_max: float = 3.0, n_grid: int = 61
) -> Balance:
    """(M11) Noise level where mono (``m`` of ``n`` features on orthogonal axes) and a superposed code
    (``n_rep`` features, interference ``nu``) have equal matched-filter accuracy under the models (M7) /
    (M10). Scans ``[0, lam_max]`` for the first sign change of ``f = A_mono - A_sup`` and refines it with
    Brent's method to ``1e-6``; the returned bracket ``root -+ 1e-6`` has verified opposite signs of ``f``."""
    n = _count("n", n)
    m = check_number("m", m, Interval(1, n), integer=True)
    r = check_number("n_rep", n_rep, Interval(1, n), integer=True)
    lam_max = check_number("lam_max", lam_max, Interval(0.0, math.inf, "()"))
    n_grid = _count("n_grid", n_grid, 3)

    def f(lv: Any) -> np.ndarray:
        return orthogonal_accuracy(n, m, sparsity, lv) - meanfield_accuracy(n, r, sparsity, lv, nu)

    grid = np.linspace(0.0, lam_max, n_grid)
    vals = f(grid)
    s0 = int(np.sign(vals[0]))
    change = np.nonzero(np.sign(vals[1:]) != np.sign(vals[:-1]))[0]
    change = [i for i in change if vals[i] != 0 or i == 0]
    if not len(change):
        return Balance(float("nan"), (float("nan"), float("nan")), (float("nan"), float("nan")), s0, lam_max)
    i = int(change[0])
    lo, hi = float(grid[i]), float(grid[i + 1])
    from scipy.optimize import brentq

    xtol = 1e-6
    root = brentq(lambda v: float(f(v)), lo, hi, xtol=xtol)
    a_, b_ = max(lo, root - xtol), min(hi, root + xtol)
    fa, fb = (float(v) for v in f(np.array([a_, b_])))
    if np.sign(fa) == np.sign(fb) and fa != 0 and fb != 0:  # round-off at the root: keep the scan's bracket
        a_, b_, fa, fb = lo, hi, float(vals[i]), float(vals[i + 1])
    return Balance(float(root), (float(a_), float(b_)), (fa, fb), s0, lam_max)
