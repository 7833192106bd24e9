"""Exact theory of the paper's two-feature model (docs/DESIGN.md "The two-feature model"; paper §4.3, App. B.3-B.4).

Model. x = (x1, x2) i.i.d., x_i = 0 w.p. S (sparsity) else Uniform(0, 1). Tasks: ``argmax`` (y = 1 iff
x1 > x2, ties at (0, 0) broken by a fair coin) and ``presence`` (alias ``detect``: y = 1 iff x1 > 0).
Codes: ``mono`` v = x1, ``poly`` v = x1 - w x2 (w > 0). Corruptions: symmetric label noise eta (the observed
label y~ is flipped w.p. eta), or one of the two other label-noise models (``transition=(a, b)``:
class-conditional, P(y~ = 2 | y = 1) = a, P(y~ = 1 | y = 2) = b, a + b < 1 (Natarajan et al. 2013);
``margin_noise=(p_max, tau)``: argmax only, each label flips w.p. p_max exp(-|x1 - x2| / tau), the flip
depending on the clean features), and input noise of scale lam: the code reads x + eps with eps_i i.i.d.
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
* :func:`transition_order`, :func:`transition_reversal_level`, :func:`transition_one_minus_A` - the exact
  order of J under class-conditional noise (E14); :func:`margin_flip_level` - the flip rate above which the
  LS probe inverts under margin noise (E17); :func:`probe_transition_level`,
  :func:`probe_transition_reversal` - where the LS probe's clean error favours mono under class-conditional
  noise.

Label-noise models (theory/derive/label_noise.py (E13)-(E18), cache ``theory._cache.label_noise_generated``):
``label_noise=eta`` is ``transition=(eta, eta)``; at most one of ``label_noise`` (non-zero), ``transition``
and ``margin_noise`` may be given. The Bayes error is defined against the clean label and does not depend on
any of them (they are validated and broadcast only).

Numbers come from the generated module ``theory._cache.generated`` (``python -m theory.derive``); this file
never imports sympy. Conventions: classes are 1 and 2 as in the paper; "error" is against the clean label.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from sims.engine.validation import Interval, check_number, check_option, check_values
from theory._cache import generated as _gen
from theory._cache import label_noise_generated as _lgen

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
    "transition_order",
    "transition_one_minus_A",
    "transition_reversal_level",
    "margin_flip_level",
    "probe_transition_level",
    "probe_transition_reversal",
]

CODES = ("mono", "poly")
TASKS = ("argmax", "presence", "detect")
NOISE_KINDS = ("gaussian", "uniform")
SPARSITY = Interval(0.0, 1.0, "[)")
LABEL_NOISE = Interval(0.0, 0.5, "[]")
INPUT_NOISE = Interval(0.0, math.inf, "[)")
#: the poly code's weight: beyond 1e8 the float64 closed forms (terms up to w^4, differences of them) lose their
#: digits (an audit found NaN at 1e200); below, J and the errors have reached their w -> inf limits to 1e-7
WEIGHT = Interval(0.0, 1e8, "(]")
FLIP_RATE = Interval(0.0, 1.0, "[)")  # each entry of transition=(a, b)
P_MAX = Interval(0.0, 1.0, "[]")
TAU = Interval(0.0, None, "()")  # and tau = inf: the constant-rate limit (symmetric noise eta = p_max)

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


# ----------------------------------------------------------------------------------------- label models
class _Labels:
    """A validated label-noise model: ``kind`` "symmetric" (``eta``), "transition" (``a``, ``b``) or "margin"
    (``pm``, ``tau``); ``arrays`` its parameters (numpy float64, not yet broadcast)."""

    def __init__(self, kind: str, **arrays: np.ndarray):
        self.kind = kind
        self.names = tuple(arrays)
        self.arrays = tuple(arrays.values())
        for k, v in arrays.items():
            setattr(self, k, v)

    def reshaped(self, shape: tuple[int, ...]) -> "_Labels":
        """Every parameter broadcast to ``shape`` and flattened."""
        return _Labels(self.kind, **{k: np.broadcast_to(v, shape).reshape(-1) for k, v in zip(self.names, self.arrays)})

    def take(self, sl) -> "_Labels":
        return _Labels(self.kind, **{k: v[sl] for k, v in zip(self.names, self.arrays)})


def _pair(name: str, value: Any, what: str) -> tuple[Any, Any]:
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} == {value!r}, must be a pair {what}") from None
    return first, second


def _labels(task: str, eta: np.ndarray, transition: Any, margin_noise: Any) -> _Labels:
    """Validate the label-noise model (``eta`` already checked against [0, 1/2])."""
    if transition is not None and margin_noise is not None:
        raise ValueError(f"transition == {transition!r} and margin_noise == {margin_noise!r} are both given, "
                         "must give at most one label-noise model")
    if transition is None and margin_noise is None:
        return _Labels("symmetric", eta=eta)
    other = "transition" if transition is not None else "margin_noise"
    if np.any(eta != 0):
        raise ValueError(f"label_noise == {_short(eta)} and {other} are both given, must give one label-noise "
                         "model (label_noise = eta is transition = (eta, eta))")
    if transition is not None:
        a, b = _pair("transition", transition, "(a, b) of flip rates in [0, 1) with a + b < 1")
        a = check_values("transition a (P(y~=2 | y=1))", a, FLIP_RATE)
        b = check_values("transition b (P(y~=1 | y=2))", b, FLIP_RATE)
        tot = a + b
        if np.any(tot >= 1.0):
            i = np.unravel_index(int(np.argmax(tot >= 1.0)), tot.shape) if tot.ndim else ()
            raise ValueError(f"transition == ({_short(a)}, {_short(b)}) has a + b == {float(tot[i])!r}, "
                             "must be < 1 (labels must stay informative: a + b = 1 makes y~ independent of y)")
        return _Labels("transition", a=a, b=b)
    pm, tau = _pair("margin_noise", margin_noise, "(p_max, tau) with p_max in [0, 1], tau > 0")
    pm = check_values("margin_noise p_max", pm, P_MAX)
    tau = _check_tau(tau)
    if task != "argmax":
        raise ValueError(f"margin_noise == {margin_noise!r} with task == {task!r}, must be used with task "
                         "'argmax' (the flip probability depends on the margin |x1 - x2| of the argmax task)")
    return _Labels("margin", pm=pm, tau=tau)


def _check_tau(tau: Any) -> np.ndarray:
    """tau in (0, inf] (``Interval`` never contains inf, so inf is let through here explicitly)."""
    try:
        raw = np.asarray(tau, dtype=np.float64)
    except (TypeError, ValueError):
        raw = None
    try:
        check_values("margin_noise tau", tau if raw is None else np.where(raw == np.inf, 1.0, raw), TAU)
    except ValueError as exc:
        raise ValueError(str(exc).replace(str(TAU), "(0, inf]")) from None
    return raw


def _short(x: Any) -> str:
    x = np.asarray(x)
    return repr(float(x)) if x.ndim == 0 else np.array2string(x, threshold=6)


_EXP_SERIES = 26


def _exp_basis(tau) -> tuple[np.ndarray, ...]:
    """I_j(z) = int_0^1 u^j exp(-z u) du, j = 0..5, at z = 1/tau (tau = inf: z = 0), to full precision:
    the Taylor series sum_n (-z)^n / (n! (n + j + 1)) for z <= 1 (26 terms: remainder < 1/26! < 1e-26),
    j! P(j + 1, z) / z^(j+1) with the regularised incomplete gamma function P for z > 1."""
    from scipy.special import gammainc

    tau = np.asarray(tau, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = np.where(np.isinf(tau), 0.0, 1.0 / tau)
    small = z <= 1.0
    zs, zl = np.where(small, z, 0.0), np.where(small, 1.0, z)
    out = []
    for j in range(6):
        term = np.ones_like(zs)
        ser = np.full_like(zs, 1.0 / (j + 1))
        for n in range(1, _EXP_SERIES):
            term = term * (-zs) / n
            ser = ser + term / (n + j + 1)
        with np.errstate(over="ignore"):
            big = math.factorial(j) * gammainc(j + 1, zl) / zl ** (j + 1)
        out.append(np.where(small, ser, big))
    return tuple(out)


def _all_params(sparsity, label_noise, input_noise, weight, task, transition, margin_noise):
    """Validated (S, lam, w, labels) with their broadcast shape."""
    S, eta, lam, w = _params(sparsity, label_noise, input_noise, weight)
    lab = _labels(task, eta, transition, margin_noise)
    try:
        shape = np.broadcast_shapes(S.shape, lam.shape, w.shape, *(x.shape for x in lab.arrays))
    except ValueError:
        arg = {"eta": "label_noise", "a": "transition[0]", "b": "transition[1]", "pm": "margin_noise[0]",
               "tau": "margin_noise[1]"}
        named = (("sparsity", S), ("input_noise", lam), ("weight", w),
                 *((arg.get(k, k), x) for k, x in zip(lab.names, lab.arrays)))
        shapes = ", ".join(f"{name}.shape == {x.shape}" for name, x in named if x.ndim)
        raise ValueError(f"{shapes}: the array arguments must broadcast together") from None
    return S, lam, w, lab, shape


def _label_moments(code, task, S, w, lab: _Labels, nv) -> tuple:
    """(p1, mean1, mean2, var1, var2) against y~ for a transition or margin model ((E13), (E16))."""
    if lab.kind == "transition":
        pi1, D, mu2, s1, s2 = getattr(_gen, f"clean_stats_{task}_{code}")(S, w)
        return _lgen.transition_moments(pi1, D, mu2, s1, s2, lab.a, lab.b, nv)
    return getattr(_lgen, f"margin_moments_argmax_{code}")(S, w, lab.pm, nv, *_exp_basis(lab.tau))


def _label_J(code, task, S, w, lab: _Labels, nv):
    if lab.kind == "transition":
        pi1, D, _, s1, s2 = getattr(_gen, f"clean_stats_{task}_{code}")(S, w)
        return _lgen.transition_J(pi1, D, s1, s2, lab.a, lab.b, nv)
    return getattr(_lgen, f"margin_J_argmax_{code}")(S, w, lab.pm, nv, *_exp_basis(lab.tau))


# ----------------------------------------------------------------------------------------- moments / J
def class_moments(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                  noise="gaussian", transition=None, margin_noise=None) -> dict[str, Any]:
    """Class-conditional moments of v' given the observed label y~ (E5; (E13) under ``transition``, (E16)
    under ``margin_noise``), in closed form.

    Returns a dict of arrays: ``p1`` = P(y~ = 1), ``mean1``, ``mean2``, ``var1``, ``var2``. They depend on
    the input noise only through its variance, so ``noise`` is validated but does not change them.
    Classes with probability zero (presence task, S = 0, eta = 0: no y = 2) give NaN moments.
    """
    code, task, _ = _code(code), _task(task), _noise(noise)
    S, lam, w, lab, shape = _all_params(sparsity, label_noise, input_noise, weight, task, transition, margin_noise)
    nv = _noise_var(code, lam, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        if lab.kind == "symmetric":
            pi1, D, mu2, s1, s2 = getattr(_gen, f"clean_stats_{task}_{code}")(S, w)
            p1, m1, m2, v1, v2 = _gen.mix_moments(pi1, D, mu2, s1, s2, lab.eta, nv)
        else:
            p1, m1, m2, v1, v2 = _label_moments(code, task, S, w, lab, nv)
    keys = ("p1", "mean1", "mean2", "var1", "var2")
    return {k: _out(np.asarray(v, dtype=np.float64), shape) for k, v in zip(keys, (p1, m1, m2, v1, v2))}


def separation(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
               noise="gaussian", transition=None, margin_noise=None):
    """Fisher separation J = (E[v'|y~=1] - E[v'|y~=2])^2 / (Var[v'|y~=1] + Var[v'|y~=2])  (E7).

    **contract** (docs/INTERFACES.md). ``code`` in {"mono", "poly"}; ``sparsity`` S in [0, 1);
    ``task`` in {"argmax", "presence", "detect"}; ``label_noise`` eta in [0, 1/2]; ``input_noise``
    lam >= 0; ``weight`` w in (0, 1e8] (poly only). Broadcasts over array arguments. J depends on the input noise
    only through its variance, so Gaussian and uniform noise give the same J. For argmax (balanced classes)
    J = (1 - 2 eta)^2 D^2 / (V + 2 eta (1 - eta) D^2 + 2 nv) (E8). Presence with S = 0 and eta = 0 has
    no class 2 and gives NaN.

    ``transition=(a, b)``: class-conditional noise, P(y~=2|y=1) = a, P(y~=1|y=2) = b, a, b in [0, 1),
    a + b < 1 (E13); ``(eta, eta)`` is ``label_noise=eta``. ``margin_noise=(p_max, tau)``: each label flips
    w.p. p_max exp(-|x1 - x2| / tau), p_max in [0, 1], tau in (0, inf] (argmax only; (E16)). At most one
    label-noise model; each composes with input noise and the weight as above.
    """
    code, task, _ = _code(code), _task(task), _noise(noise)
    if transition is not None or margin_noise is not None:
        S, lam, w, lab, shape = _all_params(sparsity, label_noise, input_noise, weight, task, transition,
                                            margin_noise)
        with np.errstate(divide="ignore", invalid="ignore"):
            J = _label_J(code, task, S, w, lab, _noise_var(code, lam, w))
        return _out(np.asarray(J, dtype=np.float64), shape)
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
        shapes = ", ".join(f"{name}.shape == {np.shape(v)}" for (name, _), v in zip(_PARAMS, values) if np.ndim(v))
        raise ValueError(f"{shapes}: the array arguments must broadcast together") from None
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


def separation_crossover_lambda(sparsity, *, task="argmax", label_noise=0.0, weight=1.0, transition=None,
                                margin_noise=None):
    """Input-noise level lam* at which J(mono) = J(poly), in closed form; NaN where the order never flips.

    J = D~^2 / (V~ + 2 nv) with D~, V~ the gap and variance sum of the label-noisy classes without input
    noise (any of the label-noise models) and nv = c lam^2 (c_mono = 1, c_poly = 1 + w^2), so J_poly >
    J_mono iff 2 lam^2 (D_p^2 - c_p D_m^2) > D_m^2 V~_p - D_p^2 V~_m:
    lam*^2 = (D_m^2 V~_p - D_p^2 V~_m) / (2 (D_p^2 - c_p D_m^2)), a flip only where lam*^2 > 0.
    Returns (lam_star, winner_above) where winner_above is +1 if poly wins for lam > lam*, -1 if mono.

    Under symmetric or margin noise lam* never exists (argmax: D_p = (1+w) D_m and c_p < (1+w)^2; presence:
    D_p = D_m and V~_p > V~_m); under class-conditional noise it does, inside the reversal region of
    (E14): lam*^2 = -R / (4 w), below which mono separates better.
    """
    task = _task(task)
    S, _, w, lab, shape = _all_params(sparsity, label_noise, 0.0, weight, task, transition, margin_noise)
    kw = {"label_noise": lab.eta} if lab.kind == "symmetric" else (
        {"transition": (lab.a, lab.b)} if lab.kind == "transition" else {"margin_noise": (lab.pm, lab.tau)})
    st = {}
    for code in CODES:  # noise-free class moments
        cm = class_moments(code, S, task=task, weight=w, **kw)
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
_WINDOW = np.linspace(-8.0, 8.0, 129)  # Gaussian noise: grid around each knot, in noise scales (spacing s/8)
_GRID = 257  # Gaussian noise: uniform grid over the support +- 8 noise scales
_BISECT = 60
_CHUNK = 256
_CHEB5 = np.cos((2 * np.arange(5) + 1) * np.pi / 10)  # interpolation nodes of a quartic on [-1, 1]
_VINV5 = np.linalg.inv(np.vander(_CHEB5, 5, increasing=True))


def _bisect(fn: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, iters: int = _BISECT):
    """Vectorised bisection for a sign change of ``fn`` on each bracket [lo, hi] (fn(lo) fn(hi) <= 0)."""
    flo = fn(lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        fm = fn(mid)
        left = np.sign(fm) == np.sign(flo)
        lo, flo = np.where(left, mid, lo), np.where(left, fm, flo)
        hi = np.where(left, hi, mid)
    return 0.5 * (lo + hi)


def _best_of(law: _Law, cands: np.ndarray):
    """Best rule of both orientations among the thresholds ``cands`` (N, K), errors evaluated exactly."""
    cands = np.where(np.isfinite(cands), cands, law.knots[:, :1])
    e = law.err_up(cands)
    best = None
    rows = np.arange(law.N)
    for orient, val in ((1, e), (-1, 1.0 - e)):
        i = np.argmin(val, axis=1)
        best = _keep_best(best, val[rows, i], cands[rows, i], orient)
    return best


def _best_threshold_uniform(law: _Law):
    """Uniform input noise: err_up is a piecewise polynomial of degree <= 4 in the threshold with breakpoints
    at knot + {+-(c1 + c2), +-(c1 - c2)} (each atom's sub-CDF is the trapezoid CDF of the noise, each
    linear piece integrates it once more). On every interval between consecutive breakpoints the quartic
    is interpolated exactly at 5 Chebyshev nodes; the roots of its derivative (a cubic, split into
    monotone pieces at the roots of its own derivative) are bisected to machine precision. The minimum
    over these stationary points and the breakpoints is the exact minimum (both orientations)."""
    c1, c2 = law.c1, law.c2
    ks = (-(c1 + c2), -np.abs(c1 - c2), np.abs(c1 - c2), c1 + c2)
    B = np.sort(np.concatenate([law.knots + k for k in ks], axis=1), axis=1)  # (N, 4k)
    lo, hi = B[:, :-1], B[:, 1:]
    half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
    N, M = lo.shape
    vals = law.err_up((mid[:, :, None] + half[:, :, None] * _CHEB5).reshape(N, -1)).reshape(N, M, 5)
    c = vals @ _VINV5.T  # monomial coefficients in u in [-1, 1]
    d = c[..., 1:] * np.arange(1, 5)  # p'(u) = d0 + d1 u + d2 u^2 + d3 u^3

    # roots of p''(u) = d1 + 2 d2 u + 3 d3 u^2 split [-1, 1] into pieces where p' is monotone
    A2, B2, C2 = 3 * d[..., 3], 2 * d[..., 2], d[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = B2 * B2 - 4 * A2 * C2
        sq = np.sqrt(np.where(disc > 0, disc, 0.0))
        quad = np.abs(A2) > 1e-300
        r1 = np.where(quad, (-B2 - sq) / (2 * A2), np.where(B2 != 0, -C2 / B2, np.nan))
        r2 = np.where(quad, (-B2 + sq) / (2 * A2), np.nan)
        r1 = np.where(quad & (disc < 0), np.nan, r1)
        r2 = np.where(quad & (disc < 0), np.nan, r2)
    splits = np.sort(np.stack([np.full_like(r1, -1.0), np.clip(np.nan_to_num(r1, nan=-1.0), -1, 1),
                               np.clip(np.nan_to_num(r2, nan=1.0), -1, 1), np.full_like(r1, 1.0)], -1), -1)
    a_, b_ = splits[..., :-1], splits[..., 1:]  # (N, M, 3)
    da = d[..., None, :]

    def dpp(u):
        return da[..., 0] + u * (da[..., 1] + u * (da[..., 2] + u * da[..., 3]))

    fa, fb = dpp(a_), dpp(b_)
    has = (fa * fb <= 0) & (b_ > a_)
    root = _bisect(dpp, np.where(has, a_, 0.0), np.where(has, b_, 0.0))
    root = np.where(has, root, a_)
    tau = mid[..., None] + half[..., None] * root
    cands = np.concatenate([tau.reshape(N, -1), B], axis=1)
    return _best_of(law, cands)


def _unique_knots(law: _Law) -> np.ndarray:
    """The distinct knots of each row (N, U), padded with the row's largest knot."""
    K = np.sort(law.knots, axis=1)
    dup = np.concatenate([np.zeros((law.N, 1), bool), np.diff(K, axis=1) == 0], axis=1)
    K = np.where(dup, np.inf, K)
    K = np.sort(K, axis=1)[:, : int((~dup).sum(1).max())]
    return np.where(np.isfinite(K), K, np.nanmax(np.where(np.isfinite(K), K, -np.inf), 1, keepdims=True))


def _best_threshold_gaussian(law: _Law):
    """Gaussian input noise: err_up is smooth with derivative g = f1 - f2 (sub-densities, (E12)). Thresholds
    on a grid: each distinct knot + s * [-8, 8] at spacing s/8, and 257 points over the support +- 8 s (away
    from the knots g is affine up to exp(-32)). Every sign change of g between grid points is a root,
    bisected to machine precision; where g keeps its sign across a grid interval but turns back towards 0
    inside (g' changes sign, a possible pair of roots), the extremum is bisected first (on g') and both
    halves are searched. The minimum over the roots and the grid is the exact minimum (both orientations),
    given that g' changes sign at most once between grid points."""
    s = law.s
    K = _unique_knots(law)
    kmin, kmax = K[:, :1], K.max(1, keepdims=True)
    u = np.linspace(0.0, 1.0, _GRID)[None, :]
    grid = np.sort(np.concatenate([kmin - 8 * s + u * (kmax - kmin + 16 * s),
                                   (K[:, :, None] + s[:, :, None] * _WINDOW).reshape(law.N, -1)], 1), 1)
    f1, f2, d1, d2 = law.sub_pdf(grid)
    g, dg = f1 - f2, d1 - d2

    def bisect(rows, lo, hi, which):
        sub = law.take(rows)

        def fn(t):
            a1, a2, b1, b2 = sub.sub_pdf(t[:, None])
            return (a1 - a2)[:, 0] if which == 0 else (b1 - b2)[:, 0]
        return _bisect(fn, lo, hi)

    sg = np.sign(g)
    r, i = np.nonzero(sg[:, :-1] * sg[:, 1:] < 0)
    found = [(r, bisect(r, grid[r, i], grid[r, i + 1], 0))]
    turn = (sg[:, :-1] == sg[:, 1:]) & (sg[:, :-1] != 0) & (np.sign(dg[:, :-1]) == -sg[:, :-1]) & (
        np.sign(dg[:, 1:]) == sg[:, :-1])
    r2, i2 = np.nonzero(turn)
    if r2.size:
        lo, hi = grid[r2, i2], grid[r2, i2 + 1]
        te = bisect(r2, lo, hi, 1)
        sub = law.take(r2)
        a1, a2, _, _ = sub.sub_pdf(te[:, None])
        cross = np.sign((a1 - a2)[:, 0]) != sg[r2, i2]
        rc = r2[cross]
        found.append((r2, te))
        if rc.size:
            found.append((rc, bisect(rc, lo[cross], te[cross], 0)))
            found.append((rc, bisect(rc, te[cross], hi[cross], 0)))
    rows = np.concatenate([f[0] for f in found])
    ts = np.concatenate([f[1] for f in found])
    if rows.size == 0:
        return _best_of(law, grid)
    order = np.argsort(rows, kind="stable")
    rows, ts = rows[order], ts[order]
    extra = np.full((law.N, np.bincount(rows, minlength=law.N).max()), np.nan)
    extra[rows, np.arange(rows.size) - np.searchsorted(rows, rows)] = ts
    return _best_of(law, np.concatenate([grid, extra], 1))


def _best_threshold_noisy(law: _Law):
    return _best_threshold_gaussian(law) if law.noise == "gaussian" else _best_threshold_uniform(law)


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


def _prepare(code, sparsity, task, label_noise, input_noise, weight, noise, transition=None, margin_noise=None):
    """Validated, broadcast and flattened parameters: (code, task, noise, S, labels, lam, w, shape)."""
    code, task, noise = _code(code), _task(task), _noise(noise)
    S, lam, w, lab, shape = _all_params(sparsity, label_noise, input_noise, weight, task, transition, margin_noise)
    S, lam, w = (np.broadcast_to(x, shape).reshape(-1) for x in (S, lam, w))
    return code, task, noise, S, lab.reshaped(shape), lam, w, shape


def bayes_threshold(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                    noise="gaussian", transition=None, margin_noise=None) -> dict[str, Any]:
    """Best threshold rule on v' against the clean label: dict with ``error``, ``threshold`` and
    ``orientation`` (+1: class 1 iff v' > threshold; -1: class 1 iff v' < threshold).

    By definition the rule is chosen with the clean labels (it is the best rule on v' for y), so the
    label-noise parameters (``label_noise``, ``transition``, ``margin_noise``) are validated and broadcast
    but cannot change it. Without input noise a threshold sitting on an atom may send the atom either way;
    the reported error is the better of the two.
    """
    code, task, noise, S, _, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                       weight, noise, transition, margin_noise)
    e, t, o = _best_threshold(_law(task, code, S, w, lam, noise))
    return {"error": _out(e.reshape(shape), shape), "threshold": _out(t.reshape(shape), shape),
            "orientation": _out(o.reshape(shape), shape)}


def bayes_error(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                noise="gaussian", transition=None, margin_noise=None):
    """Error of the best threshold rule on v' against the clean label y (the Bayes error of v' whenever the
    likelihood ratio is monotone, e.g. mono on presence). See :func:`bayes_threshold`."""
    return bayes_threshold(code, sparsity, task=task, label_noise=label_noise, input_noise=input_noise,
                           weight=weight, noise=noise, transition=transition, margin_noise=margin_noise)["error"]


# ----------------------------------------------------------------------------------------- LS probe
def _moments(task, code, S, lab: _Labels, lam, w, noise):
    """(E4)+(E6) sub-moments M'_c^k against y~, shape (2, 5, N); (E13) under a transition, (E15) under margin
    noise."""
    nv, n4 = getattr(_gen, f"noise_{noise}_{code}")(lam, w)
    if lab.kind == "symmetric":
        vals = getattr(_gen, f"submoments_{task}_{code}")(S, w, lab.eta, nv, n4)
    elif lab.kind == "transition":
        vals = getattr(_lgen, f"transition_submoments_{task}_{code}")(S, w, lab.a, lab.b, nv, n4)
    else:
        vals = getattr(_lgen, f"margin_submoments_argmax_{code}")(S, w, lab.pm, nv, n4, *_exp_basis(lab.tau))
    return np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), S.shape) for v in vals]).reshape(2, 5, -1)


def _probe_population(task, code, S, lab, lam, w, noise):
    M = _moments(task, code, S, lab, lam, w, noise)
    m1 = M[0, 1] + M[1, 1]
    m2 = M[0, 2] + M[1, 2]
    m3 = M[0, 0]
    m4 = M[0, 1]
    cov = m4 - m1 * m3
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = _gen.probe_tau(m1, m2, m3, m4)
    return np.asarray(tau, dtype=np.float64), np.sign(cov), M, (m1, m2, m3, m4)


def probe_threshold(code, sparsity, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0,
                    noise="gaussian", transition=None, margin_noise=None) -> dict[str, Any]:
    """Population least-squares probe on (v', r = 1{y~ = 1}) with intercept (E10): it predicts class 1 iff
    alpha + beta v' > 1/2, i.e. v' > tau (beta > 0) or v' < tau (beta < 0). Returns ``threshold`` (tau)
    and ``orientation`` (sign of beta; 0 at eta = 1/2, where the fit is the constant 1/2). Any label-noise
    model (see :func:`separation`)."""
    code, task, noise, S, lab, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise, transition, margin_noise)
    tau, o, _, _ = _probe_population(task, code, S, lab, lam, w, noise)
    return {"threshold": _out(tau.reshape(shape), shape), "orientation": _out(o.reshape(shape), shape)}


def _rules_error(law: _Law, tau: np.ndarray, orient: np.ndarray, p1: np.ndarray | None = None) -> np.ndarray:
    """Error against y of 'class 1 iff v' > tau' (orient > 0) or 'iff v' < tau' (orient < 0); ``tau``,
    ``orient`` and ``p1`` are (N, K): K rules on each of the law's N rows. With orient == 0 the fit is the
    constant p1 = P(y~ = 1): class 1 everywhere if p1 > 1/2, class 2 if p1 < 1/2, a fair coin if p1 is
    None or 1/2. An infinite threshold is a constant rule ('v' > -inf' is class 1 everywhere)."""
    t = np.where(np.isfinite(tau), tau, 0.0)
    up = law.err_up(t)
    down = 1.0 - law.err_up(t, left=True)
    up = np.where(tau == -np.inf, law.pi2, np.where(tau == np.inf, law.pi1, up))
    down = np.where(tau == np.inf, law.pi2, np.where(tau == -np.inf, law.pi1, down))
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
                noise="gaussian", transition=None, margin_noise=None):
    """Clean-label error of the population least-squares probe trained on noisy labels (E10).

    At eta = 1/2 the labels carry no information, the fit is constant and ties are broken by a fair coin
    (error 1/2). Symmetric noise never moves the rule (claim tf.probe.label_noise_invariant); for argmax
    P(y~ = 1) = 1/2, so tau = E v' for every eta < 1/2, and also under margin noise, where the orientation
    is sign(Dt) (E17). A transition (a, b) moves the rule to where the clean LS fit equals
    (1/2 - b)/(1 - a - b) (:func:`probe_transition_level`)."""
    code, task, noise, S, lab, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise, transition, margin_noise)
    tau, o, _, m = _probe_population(task, code, S, lab, lam, w, noise)
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
                        noise="gaussian", transition=None, margin_noise=None) -> dict[str, Any]:
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
    return _finite_terms(code, sparsity, task, label_noise, input_noise, weight, noise, transition,
                         margin_noise)[0]


def _finite_terms(code, sparsity, task, label_noise, input_noise, weight, noise, transition=None,
                  margin_noise=None):
    """(public dict of finite_sample_terms, the law, P(y~ = 1)) - the last two for the normal resummation."""
    code, task, noise, S, lab, lam, w, shape = _prepare(code, sparsity, task, label_noise, input_noise,
                                                         weight, noise, transition, margin_noise)
    if noise != "gaussian" and np.any(lam > 0):
        raise ValueError("noise == 'uniform', must be 'gaussian' for finite_sample_terms (or input_noise == 0)")
    tau, o, M, m = _probe_population(task, code, S, lab, lam, w, noise)
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
                        noise="gaussian", method="expansion", transition=None, margin_noise=None):
    """Expected clean error of the least-squares probe fitted on ``n`` noisy samples.

    ``method="expansion"``: leading order, err_pop + a / sqrt(n) + c / n (:func:`finite_sample_terms`).
    ``method="normal"``: the same normal approximation of the fitted threshold, with the error function
    kept exact instead of Taylor-expanded (see ``_normal_approx``); better at small n when atoms or kinks
    of the error lie within a few sigma/sqrt(n) of tau. ``n`` is a scalar (>= 2)."""
    check_option("method", method, ("expansion", "normal"))
    nn = check_number("n", n, Interval(2.0, math.inf, "[)"))
    T, law, p1 = _finite_terms(code, sparsity, task, label_noise, input_noise, weight, noise, transition,
                               margin_noise)
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
              noise="gaussian", n=None, method="expansion", grid=None, tol=1e-10, atol=1e-9, transition=None,
              margin_noise=None) -> dict[str, Any]:
    """Where mono and poly swap along ``axis`` ("label_noise" or "input_noise"), the other parameters fixed
    (scalars). ``measure``: "separation" (higher is better), "bayes_error", "probe_error",
    "finite_sample_error" (needs ``n``, uses ``method``; lower is better).

    The advantage A = (mono better) is evaluated on ``grid`` (default 201 points over [0, 1/2] for eta,
    0 and a log grid 1e-3..1e2 for lam); each sign change is refined by bisection to ``tol`` with exact
    evaluations at both ends, so every reported root is certified by the intermediate value theorem
    (where A is continuous; a jump, e.g. at lam = 0 when a probe threshold sits on an atom, shows up as a
    root at the jump). Differences with |A| <= ``atol`` count as ties (both codes reach the same limit,
    e.g. the constant rule at large lam) and never make a sign change. Absence of a sign change on the grid is evidence, not proof; the claims give
    the proofs where one exists. ``transition`` / ``margin_noise`` (fixed) pass through to the measure
    (axis "input_noise" only). Returns dict(points, mono_better_at_start, advantage, grid).
    """
    check_option("measure", measure, tuple(_MEASURES) + ("finite_sample_error",))
    check_option("axis", axis, ("label_noise", "input_noise"))
    base = dict(task=task, label_noise=label_noise, input_noise=input_noise, weight=weight, noise=noise)
    for k in ("label_noise", "input_noise", "weight"):
        check_number(k, base[k])
    if transition is not None or margin_noise is not None:
        if axis != "input_noise":
            raise ValueError(f"axis == {axis!r} with transition / margin_noise given, must be 'input_noise'")
        _labels(_task(task), np.asarray(check_number("label_noise", label_noise, LABEL_NOISE)), transition,
                margin_noise)
        base.update(transition=transition, margin_noise=margin_noise)
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


# ----------------------------------------------------------------------------------------- label-noise models
def transition_one_minus_A(a, b):
    """(E14) 1 - A = b / (1 - a + b) - a / (1 + a - b) for argmax (P(y = 1) = 1/2), where A = alpha_1 +
    alpha_2 is the sum of the shares of true class 1 in the two observed classes. In (-1/2, 1/2) on the domain,
    > 0 iff b > a; it tends to 1/2 only at the corner a -> 0, b -> 1."""
    lab = _labels("argmax", np.asarray(0.0), (a, b), None)
    return _out(np.asarray(_lgen.transition_one_minus_A(lab.a, lab.b), dtype=np.float64),
                np.broadcast_shapes(lab.a.shape, lab.b.shape))


def transition_order(sparsity, transition, *, input_noise=0.0, weight=1.0):
    """(E14) argmax: R + 4 w lam^2, which has the sign of J_poly - J_mono under class-conditional noise
    ``transition=(a, b)`` (zero exactly where they tie), R = w (1 - S)/3 (3S + 1 - 4 S^2 (1 + w)(1 - A))."""
    S, lam, w, lab, shape = _all_params(sparsity, 0.0, input_noise, weight, "argmax", transition, None)
    return _out(np.asarray(_lgen.transition_order_argmax(S, w, lab.a, lab.b, lam), dtype=np.float64), shape)


def transition_reversal_level(sparsity, *, input_noise=0.0, weight=1.0):
    """(E14) argmax: q* = (3S + 1 + 12 lam^2 / (1 - S)) / (4 S^2 (1 + w)); J_mono > J_poly exactly where
    1 - A(a, b) > q* (:func:`transition_one_minus_A`). Since 1 - A < 1/2, the reversal region is empty iff
    q* >= 1/2, i.e. iff 2 S^2 (1 + w) <= 3S + 1 + 12 lam^2 / (1 - S) (always for w <= 1). inf at S = 0."""
    S, _, lam, w = _params(sparsity, 0.0, input_noise, weight)
    with np.errstate(divide="ignore", over="ignore"):
        q = (3.0 * S + 1.0 + 12.0 * lam * lam / (1.0 - S)) / (4.0 * S * S * (1.0 + w))
    return _out(np.asarray(q, dtype=np.float64), np.broadcast_shapes(S.shape, lam.shape, w.shape))


def margin_flip_level(sparsity, tau):
    """(E17) p* = E|x1 - x2| / (2 E[|x1 - x2| exp(-|x1 - x2| / tau)]) (>= 1/2): under margin noise
    (p_max, tau) the gap Dt of both codes is positive for p_max < p*, zero at p*, negative above, where
    the population LS probe (argmax) predicts the inverted rule. p* <= 1 only for tau large enough."""
    S = check_values("sparsity", sparsity, SPARSITY)
    tau = _check_tau(tau)
    Ed, Edz = _lgen.margin_gap_argmax(S, *_exp_basis(tau))
    with np.errstate(divide="ignore"):
        p = Ed / (2.0 * Edz)
    return _out(np.asarray(p, dtype=np.float64), np.broadcast_shapes(S.shape, tau.shape))


def probe_transition_level(a, b):
    """The level c = (1/2 - b) / (1 - a - b) at which the clean LS fit of r = 1{y = 1} on v' is cut by the
    LS probe trained under the transition (a, b): E[r~ | v', y] = b + (1 - a - b) r, so the fit on r~ is
    b + (1 - a - b) x (the fit on r), and it crosses 1/2 where the clean fit crosses c. Constant-c lines
    in the (a, b) square all pass through (1/2, 1/2); c = 1/2 on the diagonal a = b (symmetric noise)."""
    lab = _labels("argmax", np.asarray(0.0), (a, b), None)
    c = (0.5 - lab.b) / (1.0 - lab.a - lab.b)
    return _out(np.asarray(c, dtype=np.float64), np.broadcast_shapes(lab.a.shape, lab.b.shape))


def _probe_level_errors(code, task, S, lam, w, noise, c):
    """Clean errors of the LS probe cutting the clean fit at levels ``c`` (1-d), one parameter point."""
    lab = _Labels("symmetric", eta=np.zeros(1))
    tau0, o, _, (m1, m2, m3, m4) = _probe_population(task, code, np.array([S]), lab, np.array([lam]),
                                                      np.array([w]), noise)
    tau = m1 + (c - m3) * (m2 - m1 * m1) / (m4 - m1 * m3)  # (E10) with 1/2 -> c
    law = _law(task, code, np.array([S]), np.array([w]), np.array([lam]), noise)
    return _rules_error(law, tau[None, :], np.full((1, c.size), float(o[0])))[0], tau


def probe_transition_reversal(sparsity, *, task="argmax", input_noise=0.0, weight=1.0, noise="gaussian",
                              c_range=None, n_grid=4001, tol=1e-12, atol=1e-12) -> dict[str, Any]:
    """Where the population LS probe's clean error favours mono under class-conditional noise, exactly.

    Both codes' probes cut their clean LS fit at the same level c = (1/2 - b)/(1 - a - b)
    (:func:`probe_transition_level`), so at one (S, w, lam) the question is one-dimensional in c. The
    difference err_mono(c) - err_poly(c) is evaluated exactly on ``n_grid`` levels spanning every c at
    which either threshold lies within the support of v' widened by 10 noise scales (outside, both rules
    are constant and tie), plus the levels at which a threshold meets a knot of the noise-free law
    (kinks and jumps without input noise); each sign change is bisected to ``tol`` with exact evaluations
    at both ends (certified by the intermediate value theorem). Differences within ``atol`` are ties.
    Returns dict(intervals=[(c_lo, c_hi), ...] where mono is better, c_range, grid, diff).
    """
    code_task = _task(task)
    S = check_number("sparsity", sparsity, SPARSITY)
    lam = check_number("input_noise", input_noise, INPUT_NOISE)
    w = check_number("weight", weight, WEIGHT)
    noise = _noise(noise)
    if code_task == "presence" and S == 0.0:
        raise ValueError("sparsity == 0 with task 'presence', must be > 0 (class 2 is empty)")
    if c_range is None:
        lo, hi = math.inf, -math.inf
        for code in CODES:
            lab = _Labels("symmetric", eta=np.zeros(1))
            _, _, _, (m1, m2, m3, m4) = _probe_population(code_task, code, np.array([S]), lab, np.array([lam]),
                                                          np.array([w]), noise)
            law = _law(code_task, code, np.array([S]), np.array([w]), np.array([lam]), noise)
            spread = float(law.spread[0, 0]) if not law.clean[0, 0] else 0.0
            t_lo = float(law.knots.min()) - 10 * spread - 1e-9
            t_hi = float(law.knots.max()) + 10 * spread + 1e-9
            slope = float(((m2 - m1 * m1) / (m4 - m1 * m3))[0])  # d tau / d c
            for t in (t_lo, t_hi):
                c = float((m3 + (t - m1) / slope)[0])
                lo, hi = min(lo, c), max(hi, c)
        c_range = (lo, hi)
    c_lo, c_hi = (float(v) for v in c_range)
    grid = [np.linspace(c_lo, c_hi, int(n_grid))]
    for code in CODES:  # levels at which this code's threshold meets a knot
        lab = _Labels("symmetric", eta=np.zeros(1))
        _, _, _, (m1, m2, m3, m4) = _probe_population(code_task, code, np.array([S]), lab, np.array([lam]),
                                                      np.array([w]), noise)
        law = _law(code_task, code, np.array([S]), np.array([w]), np.array([lam]), noise)
        slope = float(((m2 - m1 * m1) / (m4 - m1 * m3))[0])
        kc = m3 + (law.knots[0] - m1) / slope
        grid.append(kc[(kc > c_lo) & (kc < c_hi)])
    grid = np.unique(np.concatenate(grid))

    def diff(c):
        c = np.atleast_1d(np.asarray(c, dtype=np.float64))
        em, _ = _probe_level_errors("mono", code_task, S, lam, w, noise, c)
        ep, _ = _probe_level_errors("poly", code_task, S, lam, w, noise, c)
        return em - ep

    d = diff(grid)
    sig = np.where(np.abs(d) > atol, np.sign(d), 0.0)
    # bisect every change of state between consecutive grid levels (better <-> tie <-> worse)
    edges = []
    for i in np.flatnonzero(sig[:-1] != sig[1:]):
        lo_c, hi_c, s_lo = grid[i], grid[i + 1], sig[i]
        while hi_c - lo_c > tol * max(1.0, abs(hi_c)):
            mid = 0.5 * (lo_c + hi_c)
            dm = float(diff(mid)[0])
            sm_ = np.sign(dm) if abs(dm) > atol else 0.0
            if sm_ == s_lo:
                lo_c = mid
            else:
                hi_c = mid
        edges.append((0.5 * (lo_c + hi_c), s_lo, sig[i + 1]))
    intervals, start = [], (grid[0] if sig[0] < 0 else None)
    for x, before, after in edges:
        if after < 0 and before >= 0:
            start = x
        elif before < 0 and after >= 0 and start is not None:
            intervals.append((float(start), float(x)))
            start = None
    if start is not None:
        intervals.append((float(start), float(grid[-1])))
    return {"intervals": intervals, "c_range": (c_lo, c_hi), "grid": grid, "diff": d}
