"""Exact theory of the paper's two-feature model (docs/DESIGN.md "The two-feature model"; paper §4.3, App. B.3-B.4).

Model. x = (x1, x2) i.i.d., x_i = 0 w.p. S (sparsity) else Uniform(0, 1). Tasks: ``argmax`` (y = 1 iff
x1 > x2, ties at (0, 0) broken by a fair coin) and ``presence`` (alias ``detect``: y = 1 iff x1 > 0).
Codes: ``mono`` v = x1, ``poly`` v = x1 - w x2 (w > 0). Corruptions: symmetric label noise eta (the observed
label y~ is flipped w.p. eta) and input noise of scale lam: the code reads x + eps with eps_i i.i.d.
N(0, lam^2) (``noise="gaussian"``) or U(-sqrt(3) lam, sqrt(3) lam) (``noise="uniform"``, same variance), so
the score gets noise of variance lam^2 (mono) or (1 + w^2) lam^2 (poly) (paper B.3: lam^2 vs 2 lam^2).

Measures (every function broadcasts over array parameters; scalars in -> numpy float64 scalar out):

* :func:`class_moments`, :func:`separation` - Fisher J against y~ (closed form, (E7)-(E8')).
* :func:`bayes_error` - error of the best threshold rule on v' against the clean y. Exact class sub-CDFs:
  closed-form erf/exp terms for Gaussian noise (E12), exact piecewise-polynomial quadrature for uniform
  noise, the piecewise-quadratic CDF without noise; the threshold is found among all knots and stationary
  points (no noise) or by a dense grid refined by golden section (with noise).
* :func:`probe_error` - the population least-squares probe fitted on (v', y~), evaluated against y (E10).
* :func:`finite_sample_terms`, :func:`finite_sample_error` - the same probe fitted on n samples: expected
  error to leading order (delta method (E11)); Gaussian noise or none.
* :func:`separation_crossover_lambda` and :func:`crossover` - where mono and poly swap.

Numbers come from the generated module ``theory._cache.generated`` (``python -m theory.derive``); this file
never imports sympy. Conventions: classes are 1 and 2 as in the paper; "error" is against the clean label.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from sims.engine.validation import Interval, check_number, check_option, check_values
from theory._cache import generated as _gen

__all__ = [
    "CODES",
    "TASKS",
    "NOISE_KINDS",
    "class_moments",
    "separation",
    "bayes_error",
    "bayes_threshold",
    "probe_threshold",
    "probe_error",
    "rule_error",
    "finite_sample_terms",
    "finite_sample_error",
    "separation_crossover_lambda",
    "crossover",
]

CODES = ("mono", "poly")
TASKS = ("argmax", "presence", "detect")
NOISE_KINDS = ("gaussian", "uniform")
SPARSITY = Interval(0.0, 1.0, "[)")
LABEL_NOISE = Interval(0.0, 0.5, "[]")
INPUT_NOISE = Interval(0.0, math.inf, "[)")
WEIGHT = Interval(0.0, math.inf, "()")

_GL8 = np.polynomial.legendre.leggauss(8)
_GL3 = np.polynomial.legendre.leggauss(3)


# ----------------------------------------------------------------------------------------- validation
def _task(task: Any) -> str:
    check_option("task", task, TASKS)
    return "presence" if task == "detect" else task


def _code(code: Any) -> str:
    return check_option("code", code, CODES)


def _noise(noise: Any) -> str:
    return check_option("noise", noise, NOISE_KINDS)


def _params(sparsity, label_noise, input_noise, weight):
    return (
        check_values("sparsity", sparsity, SPARSITY),
        check_values("label_noise", label_noise, LABEL_NOISE),
        check_values("input_noise", input_noise, INPUT_NOISE),
        check_values("weight", weight, WEIGHT),
    )


def _out(x: np.ndarray, shape: tuple[int, ...]) -> Any:
    x = np.broadcast_to(x, shape) if np.shape(x) != shape else x
    return x[()] if x.ndim == 0 else x


def _noise_var(code: str, lam: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(E6) variance of the score noise: lam^2 (mono), (1 + w^2) lam^2 (poly)."""
    return lam * lam if code == "mono" else lam * lam * (1.0 + w * w)


# ----------------------------------------------------------------------------------------- moments / J
def class_moments(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                  noise="gaussian") -> dict[str, Any]:
    """Class-conditional moments of v' given the observed label y~ (E5), in closed form.

    Returns a dict of arrays: ``p1`` = P(y~ = 1), ``mean1``, ``mean2``, ``var1``, ``var2``. They depend on
    the input noise only through its variance, so ``noise`` is validated but does not change them.
    Classes with probability zero (presence task, S = 0, eta = 0: no y = 2) give NaN moments.
    """
    code, task, _ = _code(code), _task(task), _noise(noise)
    S, eta, lam, w = _params(sparsity, label_noise, input_noise, weight)
    shape = np.broadcast_shapes(S.shape, eta.shape, lam.shape, w.shape)
    pi1, D, mu2, s1, s2 = getattr(_gen, f"clean_stats_{task}_{code}")(S, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, m1, m2, v1, v2 = _gen.mix_moments(pi1, D, mu2, s1, s2, eta, _noise_var(code, lam, w))
    keys = ("p1", "mean1", "mean2", "var1", "var2")
    return {k: _out(np.asarray(v, dtype=np.float64), shape) for k, v in zip(keys, (p1, m1, m2, v1, v2))}


def separation(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
               noise="gaussian"):
    """Fisher separation J = (E[v'|y~=1] - E[v'|y~=2])^2 / (Var[v'|y~=1] + Var[v'|y~=2])  (E7).

    **contract** (docs/INTERFACES.md). ``code`` in {"mono", "poly"}; ``sparsity`` S in [0, 1);
    ``task`` in {"argmax", "presence", "detect"}; ``label_noise`` eta in [0, 1/2]; ``input_noise``
    lam >= 0; ``weight`` w > 0 (poly only). Broadcasts over array arguments. J depends on the input noise
    only through its variance, so Gaussian and uniform noise give the same J. For argmax (balanced classes)
    J = (1 - 2 eta)^2 D^2 / (V + 2 eta (1 - eta) D^2 + 2 nv) (E8). Presence with S = 0 and eta = 0 has
    no class 2 and gives NaN.
    """
    code, task, _ = _code(code), _task(task), _noise(noise)
    fn = getattr(_gen, f"J_{task}_{code}")

    def J(S, eta, lam, w):  # (E7) compact generated form
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(S, w, eta, _noise_var(code, lam, w))

    return _chunked(J, (sparsity, label_noise, input_noise, weight))


#: (name, interval) of the four model parameters, in the order of _params
_PARAMS = (("sparsity", SPARSITY), ("label_noise", LABEL_NOISE), ("input_noise", INPUT_NOISE), ("weight", WEIGHT))
_BLOCK = 4096  # elements per chunk: every temporary of the generated code stays in cache


def _chunked(fn: Callable, values: tuple) -> Any:
    """Evaluate fn(S, eta, lam, w) elementwise over the broadcast of ``values``.

    Small inputs: validated by ``check_values`` and evaluated at once. Large ones (the throughput case):
    a buffered ``np.nditer`` hands out blocks of ``_BLOCK`` elements, each validated by its min / max and
    evaluated while it sits in cache; a bad block re-runs ``check_values`` on the whole input for the
    message."""
    try:
        arrs = [np.asarray(v, dtype=np.float64) for v in values]
        shape = np.broadcast_shapes(*(a.shape for a in arrs))
    except (TypeError, ValueError):
        _params(*values)  # raises the ValueError naming the argument
        raise
    size = math.prod(shape)
    if size <= 8 * _BLOCK or max(a.size for a in arrs) < size:
        # small, or a broadcast grid: whole-array evaluation keeps the lower-dimensional subexpressions small
        S, eta, lam, w = _params(*values)
        return _out(np.asarray(fn(S, eta, lam, w), dtype=np.float64), shape)
    it = np.nditer(arrs + [None], flags=["external_loop", "buffered", "zerosize_ok", "grow_inner"],
                   op_flags=[["readonly"]] * 4 + [["writeonly", "allocate"]],
                   op_dtypes=["float64"] * 5, buffersize=_BLOCK)
    with it:
        for S, eta, lam, w, out in it:
            for x, (_, iv) in zip((S, eta, lam, w), _PARAMS):
                if not (iv.contains(x.min()) and iv.contains(x.max())):  # NaN is never inside
                    _params(*values)
                    raise AssertionError("chunk validation disagrees with check_values")  # pragma: no cover
            out[...] = fn(S, eta, lam, w)
        res = it.operands[4]
    return _out(res, shape)


def separation_crossover_lambda(sparsity, *, task="argmax", label_noise=0.0, weight=1.0):
    """Input-noise level lam* at which J(mono) = J(poly), in closed form; NaN where the order never flips.

    With D~ = k D (k the same for both codes), J = k^2 D^2 / (V~ + 2 nv) and nv = c lam^2 (c_mono = 1,
    c_poly = 1 + w^2), so J_poly > J_mono iff 2 lam^2 (D_p^2 - c_p D_m^2) > D_m^2 V~_p - D_p^2 V~_m:
    lam*^2 = (D_m^2 V~_p - D_p^2 V~_m) / (2 (D_p^2 - c_p D_m^2)), a flip only where lam*^2 > 0.
    Returns (lam_star, winner_above) where winner_above is +1 if poly wins for lam > lam*, -1 if mono.
    """
    task = _task(task)
    S, eta, _, w = _params(sparsity, label_noise, 0.0, weight)
    shape = np.broadcast_shapes(S.shape, eta.shape, w.shape)
    st = {}
    for code in CODES:  # noise-free class moments
        cm = class_moments(code, S, task=task, label_noise=eta, weight=w)
        st[code] = (cm["mean1"] - cm["mean2"], cm["var1"] + cm["var2"])
    (Dm, Vm), (Dp, Vp) = st["mono"], st["poly"]
    cp = 1.0 + w * w
    with np.errstate(divide="ignore", invalid="ignore"):
        lam2 = (Dm * Dm * Vp - Dp * Dp * Vm) / (2.0 * (Dp * Dp - cp * Dm * Dm))
        star = np.where(lam2 > 0, np.sqrt(np.where(lam2 > 0, lam2, 0.0)), np.nan)
    winner = np.sign(Dp * Dp - cp * Dm * Dm)
    return _out(star, shape), _out(winner, shape)


# ----------------------------------------------------------------------------------------- laws of v'
class _Law:
    """Exact law of (v', y) at a batch of N parameter points (arrays shaped (K, N, 1) / (N, 1)).

    v = atoms + linear-density pieces (E1-E2); v' = v + xi. ``kind``: "none" (lam = 0), "gaussian" (std s)
    or "uniform" (xi = e1 + e2, e1 ~ U(-c1, c1), e2 ~ U(-c2, c2)). Rows with lam = 0 use the exact
    noise-free formulas whatever ``noise`` says.
    """

    def __init__(self, task: str, code: str, S, w, lam, noise: str):
        S, w, lam = (np.asarray(x, dtype=np.float64).reshape(-1, 1) for x in np.broadcast_arrays(S, w, lam))
        N = S.shape[0]
        flat = [np.broadcast_to(np.asarray(v, dtype=np.float64), (N, 1))
                for v in getattr(_gen, f"pieces_{task}_{code}")(S, w)]
        lay = _gen.PIECE_LAYOUT[f"{task}_{code}"]
        i = 0
        atoms, regions = [], []
        for _ in range(lay["atoms"]):
            atoms.append(flat[i:i + 3]); regions.append(flat[i:i + 3]); i += 3
        lins = []  # (a, b, ha, hb, m1, m2), densities normalised to the region's mass fraction
        for _ in range(lay["segments"]):
            lo, hi, m1, m2 = flat[i:i + 4]; regions.append(flat[i:i + 4]); i += 4
            h = 1.0 / (hi - lo)
            lins.append((lo, hi, h, h, m1, m2))
        for _ in range(lay["triangles"]):
            v0, v1, v2, m1, m2 = flat[i:i + 5]; regions.append(flat[i:i + 5]); i += 5
            A, B, C = np.sort(np.stack([v0, v1, v2]), axis=0)
            h = 2.0 / (C - A)  # tent of unit mass (range >= 1 for every triangle here)
            zero = np.zeros_like(h)
            lins.append((A, B, zero, h, m1, m2))
            lins.append((B, C, h, zero, m1, m2))
        self.N = N
        self.atoms = tuple(np.stack(c) for c in zip(*atoms))  # loc, m1, m2: (Ka, N, 1)
        self.lins = tuple(np.stack(c) for c in zip(*lins))  # (Kl, N, 1) each
        # class priors: each region counted once (a triangle is split into two pieces above)
        self.pi1 = sum(r[-2] for r in regions)
        self.pi2 = sum(r[-1] for r in regions)
        self.noise = noise
        self.lam = lam
        if noise == "gaussian":
            self.s = lam * (1.0 if code == "mono" else np.sqrt(1.0 + w * w))
            self.spread = self.s
        else:
            self.c1 = math.sqrt(3.0) * lam
            self.c2 = math.sqrt(3.0) * lam * (0.0 if code == "mono" else w)
            self.spread = self.c1 + self.c2
        self.clean = lam == 0.0
        self.knots = np.concatenate([self.atoms[0][:, :, 0].T, self.lins[0][:, :, 0].T, self.lins[1][:, :, 0].T],
                                    axis=1)  # (N, k)

    def with_gaussian(self, s_total: np.ndarray) -> "_Law":
        """The same law of v with Gaussian noise of std ``s_total`` (shape (N, 1)) in place of xi."""
        new = object.__new__(_Law)
        new.__dict__.update(self.__dict__)
        new.noise = "gaussian"
        new.s = np.asarray(s_total, dtype=np.float64).reshape(-1, 1)
        new.spread = new.s
        new.clean = new.s == 0.0
        return new

    def take(self, idx) -> "_Law":
        """Rows ``idx`` of the batch (a shallow copy)."""
        new = object.__new__(_Law)
        new.__dict__.update(self.__dict__)
        new.atoms = tuple(a[:, idx] for a in self.atoms)
        new.lins = tuple(a[:, idx] for a in self.lins)
        for k in ("pi1", "pi2", "lam", "spread", "clean", "knots", "s", "c1", "c2"):
            if k in self.__dict__:
                setattr(new, k, self.__dict__[k][idx])
        new.N = new.pi1.shape[0]
        return new

    # -- sub-CDFs F_c(tau) = P(y = c, v' <= tau) (or < tau with left=True, which matters only without noise)
    def sub_cdf(self, tau: np.ndarray, left: bool = False) -> tuple[np.ndarray, np.ndarray]:
        tau = np.asarray(tau, dtype=np.float64)
        loc, am1, am2 = self.atoms
        a, b, ha, hb, lm1, lm2 = self.lins
        # no noise: exact step / piecewise-quadratic CDF
        step = (loc < tau) if left else (loc <= tau)
        Qa0 = step.astype(np.float64)
        Ql0 = _clean_piece_cdf(tau, a, b, ha, hb)
        F1_0 = (am1 * Qa0).sum(0) + (lm1 * Ql0).sum(0)
        F2_0 = (am2 * Qa0).sum(0) + (lm2 * Ql0).sum(0)
        if np.all(self.clean):
            return F1_0, F2_0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.noise == "gaussian":
                s = np.where(self.clean, 1.0, self.s)
                Qa = _ndtr((tau - loc) / s)
                Ql = _gauss_piece(tau, a, b, ha, hb, s)[0]
            else:
                c1 = np.where(self.clean, 1.0, self.c1)
                c2 = self.c2
                Qa = _unif_cdf(tau - loc, c1, c2)
                Ql = _unif_piece_cdf(tau, a, b, ha, hb, c1, c2)
        F1 = (am1 * Qa).sum(0) + (lm1 * Ql).sum(0)
        F2 = (am2 * Qa).sum(0) + (lm2 * Ql).sum(0)
        return np.where(self.clean, F1_0, F1), np.where(self.clean, F2_0, F2)

    def err_up(self, tau, left: bool = False) -> np.ndarray:
        """Error of the rule 'class 1 iff v' > tau' (left=True: 'iff v' >= tau') against y."""
        F1, F2 = self.sub_cdf(tau, left=left)
        return F1 + (self.pi2 - F2)

    # -- sub-densities and their derivatives (Gaussian or no noise), one-sided when side = -1 / +1
    def sub_pdf(self, tau: np.ndarray, side: int = 0):
        loc, am1, am2 = self.atoms
        a, b, ha, hb, lm1, lm2 = self.lins
        q0, dq0 = _clean_piece_pdf(tau, a, b, ha, hb, side)
        out0 = ((lm1 * q0).sum(0), (lm2 * q0).sum(0), (lm1 * dq0).sum(0), (lm2 * dq0).sum(0))
        if np.all(self.clean):
            return out0
        if self.noise != "gaussian":
            raise ValueError("noise == 'uniform' is not supported here, must be 'gaussian' (or input_noise == 0)")
        s = np.where(self.clean, 1.0, self.s)
        z = (tau - loc) / s
        pa = _npdf(z) / s
        dpa = -z * pa / s
        _, q, dq = _gauss_piece(tau, a, b, ha, hb, s)
        out = ((am1 * pa).sum(0) + (lm1 * q).sum(0), (am2 * pa).sum(0) + (lm2 * q).sum(0),
               (am1 * dpa).sum(0) + (lm1 * dq).sum(0), (am2 * dpa).sum(0) + (lm2 * dq).sum(0))
        return tuple(np.where(self.clean, o0, o) for o0, o in zip(out0, out))


def _ndtr(z):
    return _gen._ndtr(z)


def _npdf(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _clean_piece_cdf(tau, a, b, ha, hb):
    """int_a^min(tau, b) p, p linear from ha at a to hb at b (exact; zero-width pieces give 0)."""
    d = b - a
    u = np.clip(tau - a, 0.0, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(d > 0, u / np.where(d > 0, d, 1.0), 0.0)
    return u * (ha + 0.5 * (hb - ha) * r)


def _clean_piece_pdf(tau, a, b, ha, hb, side: int):
    """Density and its derivative of a linear piece at tau (one-sided at the ends when side = -1 / +1)."""
    d = b - a
    dd = np.where(d > 0, d, 1.0)
    if side > 0:
        inside = (a <= tau) & (tau < b)
    elif side < 0:
        inside = (a < tau) & (tau <= b)
    else:
        inside = (a < tau) & (tau < b)
    inside = inside & (d > 0)
    slope = (hb - ha) / dd
    q = np.where(inside, ha + slope * (tau - a), 0.0)
    return q, np.where(inside, slope, 0.0)


def _gauss_piece(tau, a, b, ha, hb, s):
    """(E12) (Q, q, dq) of a linear piece smoothed by N(0, s^2).

    Closed form (generated) for pieces at least s wide, evaluated on the side where the normal CDFs are
    small (tau left of the midpoint; otherwise through the mirrored piece: Q(tau) = mass - Q_mirror(-tau)),
    so no large terms cancel. Pieces narrower than s use 8-point Gauss-Legendre on [a, b]: the integrand is
    analytic with scale s >= width, so the quadrature error is below 1e-17 times the piece mass.
    """
    d = b - a
    mass = 0.5 * (ha + hb) * d
    right = tau > 0.5 * (a + b)
    ta = np.where(right, -tau, tau)
    aa, bb = np.where(right, -b, a), np.where(right, -a, b)
    h1, h2 = np.where(right, hb, ha), np.where(right, ha, hb)
    wide = d >= s
    dsafe = np.where(wide, d, 1.0)
    Q, q, dq = _gen.gauss_piece(ta, aa, np.where(wide, bb, aa + dsafe), h1, h2, s)
    Q = np.where(right, mass - Q, Q)
    dq = np.where(right, -dq, dq)
    if np.any(~wide):
        xg, wg = _GL8
        Qn = qn = dqn = 0.0
        for xi, wi in zip(xg, wg):
            frac = 0.5 * (1.0 + xi)
            x = a + d * frac
            px = (ha + (hb - ha) * frac) * (0.5 * d * wi)
            z = (tau - x) / s
            ph = _npdf(z) / s
            Qn = Qn + px * _ndtr(z)
            qn = qn + px * ph
            dqn = dqn - px * z * ph / s
        Q, q, dq = np.where(wide, Q, Qn), np.where(wide, q, qn), np.where(wide, dq, dqn)
    return Q, q, dq


def _unif_cdf(z, c1, c2):
    """CDF of e1 + e2, e1 ~ U(-c1, c1), e2 ~ U(-c2, c2) (c1 > 0, c2 >= 0): a trapezoid law."""
    al, be = np.maximum(c1, c2), np.minimum(c1, c2)
    inner = (z + al) / (2.0 * al)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_ramp = (z + al + be) ** 2 / (8.0 * al * be)
        hi_ramp = 1.0 - (al + be - z) ** 2 / (8.0 * al * be)
    out = np.where(z <= -(al + be), 0.0,
                   np.where(z < -(al - be), lo_ramp,
                            np.where(z <= al - be, inner,
                                     np.where(z < al + be, hi_ramp, 1.0))))
    return out


def _unif_piece_cdf(tau, a, b, ha, hb, c1, c2):
    """int_a^b p(x) F_xi(tau - x) dx, exact: the integrand is a cubic between the sorted breakpoints
    {a, b} U (tau - knots of F_xi), so 3-point Gauss-Legendre on each sub-interval is exact."""
    al, be = np.maximum(c1, c2), np.minimum(c1, c2)
    d = b - a
    shape = np.broadcast_shapes(np.shape(tau), np.shape(a), np.shape(al))
    cuts = [np.broadcast_to(a, shape), np.broadcast_to(b, shape)]
    for k in (-(al + be), -(al - be), al - be, al + be):
        cuts.append(np.broadcast_to(np.clip(tau - k, a, b), shape))
    pts = np.sort(np.stack(cuts), axis=0)
    xg, wg = _GL3
    total = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(d > 0, (hb - ha) / np.where(d > 0, d, 1.0), 0.0)
    for j in range(pts.shape[0] - 1):
        lo, hi = pts[j], pts[j + 1]
        half = 0.5 * (hi - lo)
        for xi, wi in zip(xg, wg):
            x = lo + half * (1.0 + xi)
            total = total + wi * half * (ha + slope * (x - a)) * _unif_cdf(tau - x, c1, c2)
    return total


def _law(task, code, S, w, lam, noise) -> _Law:
    return _Law(task, code, S, w, lam, noise)


# ----------------------------------------------------------------------------------------- best threshold
_GRID = 257
_GOLDEN_ITERS = 64
_CHUNK = 256


def _golden_min(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray):
    """Vectorised golden-section search for a minimum of f on [lo, hi] (one bracket per row)."""
    g = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(_GOLDEN_ITERS):
        left = f1 <= f2  # minimum in [lo, x2]
        lo, hi = np.where(left, lo, x1), np.where(left, x2, hi)
        new = np.where(left, hi - g * (hi - lo), lo + g * (hi - lo))
        fn = f(new)
        x1, x2, f1, f2 = (np.where(left, new, x2), np.where(left, x1, new),
                          np.where(left, fn, f2), np.where(left, f1, fn))
    best = f1 <= f2
    return np.where(best, x1, x2), np.where(best, f1, f2)


def _best_threshold_clean(law: _Law):
    """No input noise: err_up is piecewise quadratic between knots with jumps at atoms. Candidates: each
    knot (both limits) and the vertex of the quadratic on each knot interval (exact)."""
    K = np.sort(law.knots, axis=1)  # (N, k)
    cands = [(K, False), (K, True)]
    lo, hi = K[:, :-1], K[:, 1:]
    h = 0.25 * (hi - lo)
    mid = 0.5 * (lo + hi)
    f0, f1, f2 = law.err_up(mid - h), law.err_up(mid), law.err_up(mid + h)
    curv = f2 - 2.0 * f1 + f0
    with np.errstate(divide="ignore", invalid="ignore"):
        tv = mid - 0.5 * h * (f2 - f0) / curv
    ok = (hi > lo) & (curv != 0) & (tv > lo) & (tv < hi)
    cands.append((np.where(ok, tv, mid), False))
    best = None
    for tau, left in cands:
        e = law.err_up(tau, left=left)
        for orient, val in ((1, e), (-1, 1.0 - e)):
            i = np.argmin(val, axis=1)
            v = np.take_along_axis(val, i[:, None], 1)[:, 0]
            t = np.take_along_axis(tau, i[:, None], 1)[:, 0]
            best = _keep_best(best, v, t, orient)
    return best


def _keep_best(best, v, t, orient):
    """Elementwise running minimum of the error ``v`` with its threshold ``t`` and orientation."""
    if best is None:
        return v, t, np.full_like(v, orient)
    best_e, best_t, best_o = best
    better = v < best_e
    return np.where(better, v, best_e), np.where(better, t, best_t), np.where(better, orient, best_o)


def _best_threshold_noisy(law: _Law):
    """With input noise: dense grid (257 points over the support +- 8 noise scales, plus the knots and
    knots +- {0.5, 1, 2} scales), then golden-section refinement inside the bracket of the best grid point,
    separately for both orientations. The returned error is the exact error of the returned threshold."""
    sp = law.spread[:, 0:1]
    kmin, kmax = law.knots.min(1, keepdims=True), law.knots.max(1, keepdims=True)
    u = np.linspace(0.0, 1.0, _GRID)[None, :]
    grid = np.concatenate([kmin - 8 * sp + u * (kmax - kmin + 16 * sp), law.knots]
                          + [law.knots + f * sp for f in (-2, -1, -0.5, 0.5, 1, 2)], axis=1)
    grid = np.sort(grid, axis=1)
    e = law.err_up(grid)
    best = None
    rows = np.arange(law.N)
    for orient in (1, -1):
        val = e if orient == 1 else 1.0 - e
        i = np.argmin(val, axis=1)
        gi = grid[rows, i][:, None]  # bracket by the nearest distinct grid values (knots repeat)
        lo = np.where(grid < gi, grid, -np.inf).max(1)
        hi = np.where(grid > gi, grid, np.inf).min(1)
        lo = np.where(np.isfinite(lo), lo, gi[:, 0] - sp[:, 0])
        hi = np.where(np.isfinite(hi), hi, gi[:, 0] + sp[:, 0])

        def f(t, orient=orient):
            v = law.err_up(t[:, None])[:, 0]
            return v if orient == 1 else 1.0 - v

        t, v = _golden_min(f, lo, hi)
        g = val[rows, i]
        use_grid = g < v
        t, v = np.where(use_grid, grid[rows, i], t), np.where(use_grid, g, v)
        best = _keep_best(best, v, t, orient)
    return best


def _best_threshold(law: _Law):
    e, t, o = np.empty(law.N), np.empty(law.N), np.empty(law.N)
    clean = law.clean[:, 0]
    for mask, fn in ((clean, _best_threshold_clean), (~clean, _best_threshold_noisy)):
        idx = np.flatnonzero(mask)
        for start in range(0, idx.size, _CHUNK):
            sl = idx[start:start + _CHUNK]
            e[sl], t[sl], o[sl] = fn(law.take(sl))
    # constant rules (tau = -inf / +inf) are never better than min(pi1, pi2)
    e = np.maximum(e, 0.0)
    const = np.minimum(law.pi1[:, 0], law.pi2[:, 0])
    worse = const < e
    e = np.where(worse, const, e)
    t = np.where(worse, np.where(law.pi1[:, 0] >= law.pi2[:, 0], -np.inf, np.inf), t)
    o = np.where(worse, 1.0, o)
    return e, t, o


def _prepare(code, sparsity, task, label_noise, input_noise, weight, noise):
    code, task, noise = _code(code), _task(task), _noise(noise)
    S, eta, lam, w = _params(sparsity, label_noise, input_noise, weight)
    shape = np.broadcast_shapes(S.shape, eta.shape, lam.shape, w.shape)
    S, eta, lam, w = (np.broadcast_to(x, shape).reshape(-1) for x in (S, eta, lam, w))
    return code, task, noise, S, eta, lam, w, shape


def bayes_threshold(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                    noise="gaussian") -> dict[str, Any]:
    """Best threshold rule on v' against the clean label: dict with ``error``, ``threshold`` and
    ``orientation`` (+1: class 1 iff v' > threshold; -1: class 1 iff v' < threshold).

    The rule is chosen with the clean labels, so ``label_noise`` is validated and broadcast but has no
    effect (claim tf.bayes.label_noise_invariant). Without input noise a threshold sitting on an atom may
    send the atom either way; the reported error is the better of the two.
    """
    code, task, noise, S, eta, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise)
    e, t, o = _best_threshold(_law(task, code, S, w, lam, noise))
    return {"error": _out(e.reshape(shape), shape), "threshold": _out(t.reshape(shape), shape),
            "orientation": _out(o.reshape(shape), shape)}


def bayes_error(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                noise="gaussian"):
    """Error of the best threshold rule on v' against the clean label y (the Bayes error of v' whenever the
    likelihood ratio is monotone, e.g. mono on presence). See :func:`bayes_threshold`."""
    return bayes_threshold(code, sparsity, task=task, label_noise=label_noise, input_noise=input_noise,
                           weight=weight, noise=noise)["error"]


# ----------------------------------------------------------------------------------------- LS probe
def _moments(task, code, S, eta, lam, w, noise):
    """(E4)+(E6) sub-moments M'_c^k, shape (2, 5, N)."""
    nv, n4 = getattr(_gen, f"noise_{noise}_{code}")(lam, w)
    vals = getattr(_gen, f"submoments_{task}_{code}")(S, w, eta, nv, n4)
    return np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), S.shape) for v in vals]).reshape(2, 5, -1)


def _probe_population(task, code, S, eta, lam, w, noise):
    M = _moments(task, code, S, eta, lam, w, noise)
    m1 = M[0, 1] + M[1, 1]
    m2 = M[0, 2] + M[1, 2]
    m3 = M[0, 0]
    m4 = M[0, 1]
    cov = m4 - m1 * m3
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = _gen.probe_tau(m1, m2, m3, m4)
    return np.asarray(tau, dtype=np.float64), np.sign(cov), M, (m1, m2, m3, m4)


def probe_threshold(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                    noise="gaussian") -> dict[str, Any]:
    """Population least-squares probe on (v', r = 1{y~ = 1}) with intercept (E10): it predicts class 1 iff
    alpha + beta v' > 1/2, i.e. v' > tau (beta > 0) or v' < tau (beta < 0). Returns ``threshold`` (tau)
    and ``orientation`` (sign of beta; 0 at eta = 1/2, where the fit is the constant 1/2)."""
    code, task, noise, S, eta, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise)
    tau, o, _, _ = _probe_population(task, code, S, eta, lam, w, noise)
    return {"threshold": _out(tau.reshape(shape), shape), "orientation": _out(o.reshape(shape), shape)}


def _rules_error(law: _Law, tau: np.ndarray, orient: np.ndarray, p1: np.ndarray | None = None) -> np.ndarray:
    """Error against y of 'class 1 iff v' > tau' (orient > 0) or 'iff v' < tau' (orient < 0); ``tau``,
    ``orient`` and ``p1`` are (N, K): K rules on each of the law's N rows. With orient == 0 the fit is the
    constant p1 = P(y~ = 1): class 1 everywhere if p1 > 1/2, class 2 if p1 < 1/2, a fair coin if p1 is
    None or 1/2."""
    t = np.where(np.isfinite(tau), tau, 0.0)
    up = law.err_up(t)
    down = 1.0 - law.err_up(t, left=True)
    const = 0.5 if p1 is None else np.where(p1 > 0.5, law.pi2, np.where(p1 < 0.5, law.pi1, 0.5))
    return np.clip(np.where(orient > 0, up, np.where(orient < 0, down, const)), 0.0, 1.0)


def _rule_error(law: _Law, tau: np.ndarray, orient: np.ndarray, p1: np.ndarray | None = None) -> np.ndarray:
    """:func:`_rules_error` of one rule per row (``tau``, ``orient``, ``p1`` of shape (N,))."""
    return _rules_error(law, tau[:, None], orient[:, None], None if p1 is None else p1[:, None])[:, 0]


def rule_error(code, sparsity, threshold, orientation, *, task="argmax", input_noise=0.0, weight=1.0,
               noise="gaussian", p1=None):
    """Exact clean error of threshold rules at one parameter point (scalars), vectorised over rules.

    ``threshold``/``orientation`` broadcast together: class 1 iff v' > threshold (orientation > 0) or
    v' < threshold (< 0); orientation 0 is a constant rule (class 1 if ``p1`` > 1/2, class 2 if < 1/2,
    a coin if p1 is None or 1/2)."""
    code, task, noise = _code(code), _task(task), _noise(noise)
    S = check_number("sparsity", sparsity, SPARSITY)
    lam = check_number("input_noise", input_noise, INPUT_NOISE)
    w = check_number("weight", weight, WEIGHT)
    tau, o = np.broadcast_arrays(np.asarray(threshold, dtype=np.float64), np.asarray(orientation))
    law = _law(task, code, np.array([S]), np.array([w]), np.array([lam]), noise)
    pp = None if p1 is None else np.broadcast_to(np.asarray(p1, dtype=np.float64), tau.shape).reshape(1, -1)
    out = _rules_error(law, tau.reshape(1, -1), o.reshape(1, -1), pp).reshape(tau.shape)
    return out[()] if out.ndim == 0 else out


def probe_error(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                noise="gaussian"):
    """Clean-label error of the population least-squares probe trained on noisy labels (E10).

    At eta = 1/2 the labels carry no information, the fit is constant and ties are broken by a fair coin
    (error 1/2). For argmax P(y~ = 1) = 1/2, so tau = E v' for every eta < 1/2 (claim
    tf.probe.argmax_label_noise_invariant)."""
    code, task, noise, S, eta, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise)
    tau, o, _, m = _probe_population(task, code, S, eta, lam, w, noise)
    law = _law(task, code, S, w, lam, noise)
    err = np.empty(S.shape)
    for start in range(0, S.size, 4096):
        sl = slice(start, start + 4096)
        err[sl] = _rule_error(law.take(np.arange(S.size)[sl]), tau[sl], o[sl], m[2][sl])
    return _out(err.reshape(shape), shape)


# ----------------------------------------------------------------------------------------- finite n
def _sigma_z(M):
    """Covariance of z = (v', v'^2, r, v' r) per sample from the sub-moments (E11)."""
    mu = [M[0, k] + M[1, k] for k in range(5)]  # E v'^k
    rho = [M[0, k] for k in range(4)]  # E r v'^k
    Ezz = np.array([
        [mu[2], mu[3], rho[1], rho[2]],
        [mu[3], mu[4], rho[2], rho[3]],
        [rho[1], rho[2], rho[0], rho[1]],
        [rho[2], rho[3], rho[1], rho[2]],
    ])
    m = np.array([mu[1], mu[2], rho[0], rho[1]])
    return Ezz - m[:, None] * m[None, :], m


def finite_sample_terms(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                        noise="gaussian") -> dict[str, Any]:
    """Delta-method expansion of the expected clean error of the least-squares probe fitted on n samples.

    tau_n = tau(m_n) with m_n the sample means of (v', v'^2, r, v' r) (E11): E[tau_n - tau] = bias / n,
    Var tau_n = sigma2 / n (to leading order). With err the clean error of the rule as a function of its
    threshold, one-sided slopes d- and d+ at tau, and curvature dd (mean of the one-sided second
    derivatives), E err(tau_n) = err(tau) + a / sqrt(n) + c / n + ..., where
        a = (d+ - d-) sigma / sqrt(2 pi)           (non-zero only at a kink of err, i.e. without noise),
        c = (d+ + d-) bias / 2 + dd sigma2 / 2.
    Valid for fixed eta < 1/2 as n -> oo (the chance that the fitted slope has the wrong sign is
    exponentially small and ignored) and when no atom of v sits at tau. Gaussian input noise or none.
    Returns arrays: err_pop, tau, orientation, sigma2, bias, d_minus, d_plus, curvature, a, c.
    """
    return _finite_terms(code, sparsity, task, label_noise, input_noise, weight, noise)[0]


def _finite_terms(code, sparsity, task, label_noise, input_noise, weight, noise):
    """(public dict of finite_sample_terms, the law, P(y~ = 1)) - the last two for the normal resummation."""
    code, task, noise, S, eta, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise)
    if noise != "gaussian" and np.any(lam > 0):
        raise ValueError("noise == 'uniform', must be 'gaussian' for finite_sample_terms (or input_noise == 0)")
    tau, o, M, m = _probe_population(task, code, S, eta, lam, w, noise)
    Sig, _ = _sigma_z(M)
    g = np.array(_gen.probe_grad(*m), dtype=np.float64)
    hu = _gen.probe_hess(*m)
    H = np.empty((4, 4) + tau.shape)
    it = iter(hu)
    for i in range(4):
        for j in range(i, 4):
            H[i, j] = H[j, i] = next(it)
    sigma2 = np.einsum("i...,ij...,j...->...", g, Sig, g)
    bias = 0.5 * np.einsum("ij...,ij...->...", H, Sig)
    law = _law(task, code, S, w, lam, noise)
    t = tau[:, None]
    out = {}
    for side, name in ((-1, "minus"), (1, "plus")):
        f1, f2, df1, df2 = law.sub_pdf(t, side=side)
        out[f"d_{name}"] = o * (f1 - f2)[:, 0]
        out[f"dd_{name}"] = o * (df1 - df2)[:, 0]
    err = _rule_error(law, tau, o, m[2])
    dm, dp = out["d_minus"], out["d_plus"]
    dd = 0.5 * (out["dd_minus"] + out["dd_plus"])
    sigma = np.sqrt(np.maximum(sigma2, 0.0))
    a = (dp - dm) * sigma / math.sqrt(2.0 * math.pi)
    c = 0.5 * (dp + dm) * bias + 0.5 * dd * sigma2
    res = {"err_pop": err, "tau": tau, "orientation": o, "sigma2": sigma2, "bias": bias,
           "d_minus": dm, "d_plus": dp, "curvature": dd, "a": a, "c": c}
    out = {k: _out(np.asarray(v, dtype=np.float64).reshape(shape), shape) for k, v in res.items()}
    return out, law, m[2]


def _normal_approx(T: dict, law: "_Law", p1: np.ndarray, n: float) -> np.ndarray:
    """E err(tau_n) with tau_n ~ N(tau + bias/n, sigma2/n), computed exactly: averaging the sub-CDFs over
    that normal law is the same as adding independent N(0, sigma2/n) noise to v' (E12), so the answer is
    the exact error of the rule on the law with noise std sqrt(s^2 + sigma2/n) at threshold tau + bias/n.
    Its expansion in 1/n reproduces err_pop + a/sqrt(n) + c/n; unlike the expansion it keeps atoms and
    kinks of err at any distance from tau."""
    tau = np.asarray(T["tau"], dtype=np.float64).reshape(-1)
    o = np.asarray(T["orientation"]).reshape(-1)
    nn = float(n)
    sig2 = np.asarray(T["sigma2"]).reshape(-1) / nn
    base = np.where(law.clean[:, 0], 0.0, law.s[:, 0] if law.noise == "gaussian" else 0.0)
    smoothed = law.with_gaussian(np.sqrt(base**2 + sig2)[:, None])
    return _rule_error(smoothed, tau + np.asarray(T["bias"]).reshape(-1) / nn, o, p1)


def finite_sample_error(code, sparsity, n, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                        noise="gaussian", method="expansion"):
    """Expected clean error of the least-squares probe fitted on ``n`` noisy samples.

    ``method="expansion"``: leading order, err_pop + a / sqrt(n) + c / n (:func:`finite_sample_terms`).
    ``method="normal"``: the same normal approximation of the fitted threshold, with the error function
    kept exact instead of Taylor-expanded (see ``_normal_approx``); better at small n when atoms or kinks
    of the error lie within a few sigma/sqrt(n) of tau. ``n`` is a scalar (>= 2)."""
    check_option("method", method, ("expansion", "normal"))
    nn = check_number("n", n, Interval(2.0, math.inf, "[)"))
    T, law, p1 = _finite_terms(code, sparsity, task, label_noise, input_noise, weight, noise)
    shape = np.shape(T["err_pop"])
    if method == "expansion":
        val = np.asarray(T["err_pop"] + T["a"] / math.sqrt(nn) + T["c"] / nn, dtype=np.float64)
    else:
        val = _normal_approx(T, law, p1, nn).reshape(shape)
    return _out(val, shape)


# ----------------------------------------------------------------------------------------- crossovers
_MEASURES = {
    "separation": (separation, +1),
    "bayes_error": (bayes_error, -1),
    "probe_error": (probe_error, -1),
}


def crossover(measure, axis, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
              noise="gaussian", n=None, method="expansion", grid=None, tol=1e-10, atol=1e-9) -> dict[str, Any]:
    """Where mono and poly swap along ``axis`` ("label_noise" or "input_noise"), the other parameters fixed
    (scalars). ``measure``: "separation" (higher is better), "bayes_error", "probe_error",
    "finite_sample_error" (needs ``n``, uses ``method``; lower is better).

    The advantage A = (mono better) is evaluated on ``grid`` (default 201 points over [0, 1/2] for eta,
    0 and a log grid 1e-3..1e2 for lam); each sign change is refined by bisection to ``tol`` with exact
    evaluations at both ends, so every reported root is certified by the intermediate value theorem
    (where A is continuous; a jump, e.g. at lam = 0 when a probe threshold sits on an atom, shows up as a
    root at the jump). Differences with |A| <= ``atol`` count as ties (both codes reach the same limit,
    e.g. the constant rule at large lam) and never make a sign change. Absence of a sign change on the grid is evidence, not proof; the claims give
    the proofs where one exists. Returns dict(points, mono_better_at_start, advantage, grid).
    """
    check_option("measure", measure, tuple(_MEASURES) + ("finite_sample_error",))
    check_option("axis", axis, ("label_noise", "input_noise"))
    base = dict(task=task, label_noise=label_noise, input_noise=input_noise, weight=weight, noise=noise)
    for k in ("label_noise", "input_noise", "weight"):
        check_number(k, base[k])
    check_number("sparsity", sparsity, SPARSITY)
    if measure == "finite_sample_error":
        if n is None:
            raise ValueError("n == None, must be an integer >= 2 for measure 'finite_sample_error'")
        check_option("method", method, ("expansion", "normal"))
        fn, sign = (lambda code, S, **kw: finite_sample_error(code, S, n, method=method, **kw)), -1
    else:
        fn, sign = _MEASURES[measure]
    if grid is None:
        grid = (np.linspace(0.0, 0.5, 201) if axis == "label_noise"
                else np.concatenate([[0.0], np.logspace(-3, 2, 251)]))
    grid = np.asarray(grid, dtype=np.float64)

    def adv(x):
        kw = dict(base)
        kw[axis] = x
        return sign * (np.asarray(fn("mono", sparsity, **kw)) - np.asarray(fn("poly", sparsity, **kw)))

    A = adv(grid)
    sig = np.where(np.abs(A) > atol, np.sign(A), 0.0)
    nz = np.flatnonzero(sig != 0)
    pts = []
    for i, j in zip(nz[:-1], nz[1:]):
        if sig[i] == sig[j]:
            continue
        lo, hi, alo = grid[i], grid[j], A[i]
        while hi - lo > tol * max(1.0, abs(hi)):
            mid = 0.5 * (lo + hi)
            am = float(adv(np.array(mid)))
            if am == 0:
                lo = hi = mid
                break
            if np.sign(am) == np.sign(alo):
                lo, alo = mid, am
            else:
                hi = mid
        pts.append(0.5 * (lo + hi))
    return {"points": pts, "mono_better_at_start": bool(A[0] > atol), "advantage": A, "grid": grid}
