"""Symbolic derivation of the two-feature model (docs/DESIGN.md, "The two-feature model"; paper §4.3, App. B.3-B.4).

Everything here is exact sympy in the symbols

    S    sparsity, P(x_i = 0), 0 <= S < 1
    w    weight of feature 2 in the superposed code, w > 0
    eta  symmetric label-noise rate, 0 <= eta <= 1/2
    nv   variance of the input noise *as seen by the code*: lam**2 (mono), (1 + w**2) lam**2 (poly)  (E6)
    n4   fourth moment of that noise (Gaussian: 3 nv**2; uniform: see ``noise_moments``)

Equations (cited by number in the code, the cache and the claims):

(E1)  Regions. x_i = 0 w.p. S, else U(0, 1). The square [0,1]^2 splits into five regions on each of which
      (x1, x2) is uniform on a simplex (a point, a segment or a triangle):
          00: (0,0)            prob S^2
          10: x1 ~ U, x2 = 0   prob S(1-S)        01: x1 = 0, x2 ~ U   prob S(1-S)
          11>: 0 < x2 < x1     prob (1-S)^2/2     11<: 0 < x1 < x2     prob (1-S)^2/2
      Labels: argmax  y=1 on 10, 11>;  y=2 on 01, 11<;  00 -> y=1 or 2 w.p. 1/2 (tie).
              presence (alias detect) y=1 iff x1 > 0: 10, 11>, 11<;  y=2 on 00, 01.
(E2)  The code v = c . x is linear (mono c = (1, 0); poly c = (1, -w)), so on each region v is a linear
      functional of a uniform simplex: its law is a "simplex spline" with knots at the vertex values.
      Sub-moments  M_c^k = E[v^k 1{y=c}]  are sums over regions of prob * P(y=c|region) * E[v^k|region].
(E3)  Hermite-Genocchi: for V = linear functional of a uniform d-simplex with vertex values t_0..t_d,
      E[V^k] = k! d! / (k+d)! * h_k(t_0, ..., t_d)   (h_k = complete homogeneous symmetric polynomial).
      Checked against direct integration (E2) and against iterated integrals over the square (E1).
(E4)  Symmetric label noise: M~_1^k = (1-eta) M_1^k + eta M_2^k,  M~_2^k = eta M_1^k + (1-eta) M_2^k.
(E5)  Class moments: P(y~=c) = M~_c^0, mu_c = M~_c^1 / M~_c^0, s2_c = M~_c^2 / M~_c^0 - mu_c^2.
(E6)  Input noise: v' = v + xi, xi independent of (x, y, y~), E xi = E xi^3 = 0, E xi^2 = nv, E xi^4 = n4,
      M'_c^k = sum_j binom(k, j) M~_c^(k-j) E[xi^j].  For the code, xi = eps_1 (mono) or eps_1 - w eps_2 (poly).
(E7)  Fisher separation J = (mu_1 - mu_2)^2 / (s2_1 + s2_2)   (with the noisy moments of E5-E6).
(E8)  Balanced classes (argmax, P(y=1) = 1/2): with D = clean mean gap and V = sum of clean class variances,
      J = (1 - 2 eta)^2 D^2 / (V + 2 eta (1 - eta) D^2 + 2 nv).
(E9)  Code identities: argmax D_poly = (1 + w) D_mono; presence: D_poly = D_mono and every class variance of
      poly equals that of mono plus w^2 Var(x2) (x2 is independent of (x1, y)).
(E10) Population least-squares probe on (v', r = 1{y~=1}) with intercept; predicts class 1 iff fit > 1/2:
      threshold tau(m) = m1 + (1/2 - m3) (m2 - m1^2) / (m4 - m1 m3),  m = (E v', E v'^2, E r, E v' r);
      orientation sign(m4 - m1 m3) (class 1 above tau when positive).
(E11) Delta method: the n-sample probe uses the sample means m^; tau(m^) - tau(m) has mean b/n + O(n^-2),
      b = tr(H Sigma)/2, and variance g' Sigma g / n + O(n^-2), g = grad tau, H = Hessian of tau,
      Sigma = Cov(v', v'^2, r, v' r) per sample (needs E v'^k, k <= 4, and E[r v'^k], k <= 3).
(E12) Gaussian smoothing of a linear-density piece p(x) = ha + (hb - ha)(x - a)/(b - a) on [a, b]:
      Q(tau) = int_a^b p(x) Phi((tau - x)/s) dx, with Phi' = phi; its tau-derivatives q = Q', dq = Q''
      in closed form through G(z) = z Phi(z) + phi(z) and K(z) = ((z^2 - 1) Phi(z) + z phi(z)) / 2,
      the first two antiderivatives of Phi and z Phi.

Run ``python -m theory.derive`` to regenerate the cache (theory/_cache/); every identity above is checked
with ``simplify(lhs - rhs) == 0`` first, and the script stops on the first failure.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import factorial

import sympy as sp

S, w, eta, nv, n4 = sp.symbols("S w eta nv n4", real=True)
lam = sp.Symbol("lam", nonnegative=True)
u, t = sp.symbols("u t", real=True)  # x1, x2 inside a region

TASKS = ("argmax", "presence")
CODES = ("mono", "poly")
KMAX = 4  # sub-moments up to E[v^4 1{y=c}] are needed by (E11)


class IdentityError(AssertionError):
    """A derivation identity failed: the cache must not be written."""


def check_identity(label: str, lhs, rhs) -> None:
    """Stop the derivation unless ``simplify(lhs - rhs) == 0`` (rational identities via ``cancel``)."""
    diff = sp.cancel(sp.together(lhs - rhs))
    if diff != 0:
        diff = sp.simplify(diff)
    if diff != 0:
        raise IdentityError(f"identity {label} failed: lhs - rhs = {diff}")


@dataclass(frozen=True)
class Region:
    """(E1) A region of feature space on which (x1, x2) is uniform on a simplex."""

    name: str
    prob: sp.Expr
    p_y1: sp.Expr  # P(y = 1 | region)
    vertices: tuple[tuple[int, int], ...]


def regions(task: str) -> tuple[Region, ...]:
    """(E1) The five regions with their probabilities and label probabilities for ``task``."""
    half = sp.Rational(1, 2)
    geometry = {
        "00": (S**2, ((0, 0),)),
        "10": (S * (1 - S), ((0, 0), (1, 0))),
        "01": (S * (1 - S), ((0, 0), (0, 1))),
        "11>": ((1 - S) ** 2 / 2, ((0, 0), (1, 0), (1, 1))),
        "11<": ((1 - S) ** 2 / 2, ((0, 0), (0, 1), (1, 1))),
    }
    if task == "argmax":
        p1 = {"00": half, "10": 1, "01": 0, "11>": 1, "11<": 0}
    elif task == "presence":
        p1 = {"00": 0, "10": 1, "01": 0, "11>": 1, "11<": 1}
    else:
        raise ValueError(f"task == {task!r}, must be one of 'argmax', 'presence'")
    return tuple(Region(k, g[0], sp.sympify(p1[k]), g[1]) for k, g in geometry.items())


def code_vector(code: str) -> tuple[sp.Expr, sp.Expr]:
    """(E2) v = c . x."""
    if code == "mono":
        return (sp.Integer(1), sp.Integer(0))
    if code == "poly":
        return (sp.Integer(1), -w)
    raise ValueError(f"code == {code!r}, must be one of 'mono', 'poly'")


def vertex_values(region: Region, code: str) -> tuple[sp.Expr, ...]:
    c1, c2 = code_vector(code)
    return tuple(sp.expand(c1 * a + c2 * b) for a, b in region.vertices)


def _simplex_expectation(f, verts) -> sp.Expr:
    """E[f(x1, x2)] for (x1, x2) uniform on the simplex ``verts``, by direct integration."""
    P = [sp.Matrix(v) for v in verts]
    a_, b_ = sp.symbols("alpha beta", nonnegative=True)
    if len(P) == 1:
        pt = P[0]
        return f(pt[0], pt[1])
    if len(P) == 2:
        pt = P[0] + a_ * (P[1] - P[0])
        return sp.integrate(f(pt[0], pt[1]), (a_, 0, 1))
    pt = P[0] + a_ * (P[1] - P[0]) + b_ * (P[2] - P[0])
    return 2 * sp.integrate(sp.integrate(f(pt[0], pt[1]), (b_, 0, 1 - a_)), (a_, 0, 1))


def hermite_genocchi_moment(values, k: int) -> sp.Expr:
    """(E3) E[V^k] for V uniform-simplex spline with vertex values ``values``."""
    d = len(values) - 1
    xs = sp.symbols(f"z0:{d + 1}")
    h = sp.Add(*sp.itermonomials(xs, k, k)) if k > 0 else sp.Integer(1)
    h = h.subs(dict(zip(xs, values)), simultaneous=True)
    return sp.Rational(factorial(k) * factorial(d), factorial(k + d)) * h


@lru_cache(maxsize=None)
def clean_submoments(task: str, code: str) -> tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]]:
    """(E2) M_c^k = E[v^k 1{y = c}], k = 0..KMAX, for c = 1, 2 (clean labels, no input noise)."""
    c1, c2 = code_vector(code)
    out = {1: [sp.Integer(0)] * (KMAX + 1), 2: [sp.Integer(0)] * (KMAX + 1)}
    for R in regions(task):
        vals = vertex_values(R, code)
        for k in range(KMAX + 1):
            direct = _simplex_expectation(lambda a, b, k=k: (c1 * a + c2 * b) ** k, R.vertices)
            hg = hermite_genocchi_moment(vals, k)
            check_identity(f"E3[{task},{code},{R.name},k={k}]", direct, hg)
            out[1][k] += R.prob * R.p_y1 * direct
            out[2][k] += R.prob * (1 - R.p_y1) * direct
    for c in (1, 2):
        check_identity(f"E1[{task},{code}] sub-moments sum to a probability", out[1][0] + out[2][0], 1)
        for k in range(KMAX + 1):
            check_identity(f"E1=E2[{task},{code},c={c},k={k}] iterated integrals",
                           out[c][k], _iterated_submoment(task, code, c, k))
    return tuple(sp.factor(e) for e in out[1]), tuple(sp.factor(e) for e in out[2])


def _iterated_submoment(task: str, code: str, c: int, k: int) -> sp.Expr:
    """(E1) The same sub-moment by iterated integrals over the square (independent route)."""
    c1, c2 = code_vector(code)
    f = (c1 * u + c2 * t) ** k
    atom = f.subs({u: 0, t: 0})
    x1_only = sp.integrate(f.subs(t, 0), (u, 0, 1))
    x2_only = sp.integrate(f.subs(u, 0), (t, 0, 1))
    below = sp.integrate(sp.integrate(f, (t, 0, u)), (u, 0, 1))  # x2 < x1
    above = sp.integrate(sp.integrate(f, (u, 0, t)), (t, 0, 1))  # x1 < x2
    A, B = S * (1 - S), (1 - S) ** 2
    if task == "argmax":
        if c == 1:
            return S**2 * atom / 2 + A * x1_only + B * below
        return S**2 * atom / 2 + A * x2_only + B * above
    if c == 1:
        return A * x1_only + B * (below + above)
    return S**2 * atom + A * x2_only


def label_noisy(M1, M2):
    """(E4) Sub-moments against the observed label y~."""
    return (
        tuple((1 - eta) * a + eta * b for a, b in zip(M1, M2)),
        tuple(eta * a + (1 - eta) * b for a, b in zip(M1, M2)),
    )


def input_noisy(M):
    """(E6) Sub-moments of v' = v + xi; xi symmetric with E xi^2 = nv, E xi^4 = n4."""
    xi = {0: sp.Integer(1), 1: sp.Integer(0), 2: nv, 3: sp.Integer(0), 4: n4}
    return tuple(sum(sp.binomial(k, j) * M[k - j] * xi[j] for j in range(k + 1)) for k in range(len(M)))


@lru_cache(maxsize=None)
def noisy_submoments(task: str, code: str):
    """(E4)+(E6) M'_c^k against y~ with input noise, k = 0..KMAX, c = 1, 2."""
    M1, M2 = clean_submoments(task, code)
    N1, N2 = label_noisy(M1, M2)
    return input_noisy(N1), input_noisy(N2)


@lru_cache(maxsize=None)
def clean_class_stats(task: str, code: str):
    """Clean (eta = 0, nv = 0) class statistics: (pi_1, D = mu_1 - mu_2, mu_2, s2_1, s2_2)."""
    M1, M2 = clean_submoments(task, code)
    pi1 = sp.factor(M1[0])
    mu1, mu2 = M1[1] / M1[0], M2[1] / M2[0]
    s1, s2 = M1[2] / M1[0] - mu1**2, M2[2] / M2[0] - mu2**2
    return pi1, sp.factor(mu1 - mu2), sp.factor(mu2), sp.factor(s1), sp.factor(s2)


# symbols of the generic mixing formula (E8')
pi1_, D_, mu2_, s1_, s2_ = sp.symbols("pi1 D mu2 s1 s2", real=True)


def mixing_formula():
    """(E8') Symmetric label noise on two classes with prior pi1: with p~_1 = pi1 (1-eta) + (1-pi1) eta,
    a_1 = pi1 (1-eta) / p~_1 and a_2 = pi1 eta / (1 - p~_1) (share of true class 1 in each observed class),
        mu~_c = mu_2 + a_c D,   s2~_c = a_c s2_1 + (1 - a_c) s2_2 + a_c (1 - a_c) D^2 + nv,
        D~ = (a_1 - a_2) D = pi1 (1 - pi1) (1 - 2 eta) D / (p~_1 p~_2).
    Returns (p~_1, mu~_1, mu~_2, s2~_1, s2~_2) in the generic symbols pi1, D, mu2, s1, s2, eta, nv."""
    p1 = pi1_ * (1 - eta) + (1 - pi1_) * eta
    a1 = pi1_ * (1 - eta) / p1
    a2 = pi1_ * eta / (1 - p1)
    check_identity("E8' gap", a1 - a2, pi1_ * (1 - pi1_) * (1 - 2 * eta) / (p1 * (1 - p1)))
    v1 = a1 * s1_ + (1 - a1) * s2_ + a1 * (1 - a1) * D_**2 + nv
    v2 = a2 * s1_ + (1 - a2) * s2_ + a2 * (1 - a2) * D_**2 + nv
    return p1, mu2_ + a1 * D_, mu2_ + a2 * D_, v1, v2


def check_code_identities() -> None:
    """(E9) argmax: D_poly = (1 + w) D_mono; presence: D_poly = D_mono and s2_c(poly) = s2_c(mono) + w^2 Var(x2)."""
    var_x2 = (1 - S) / 3 - ((1 - S) / 2) ** 2
    _, Dm, _, _, _ = clean_class_stats("argmax", "mono")
    _, Dp, _, _, _ = clean_class_stats("argmax", "poly")
    check_identity("E9 argmax D_poly = (1+w) D_mono", Dp, (1 + w) * Dm)
    _, Dm, _, s1m, s2m = clean_class_stats("presence", "mono")
    _, Dp, _, s1p, s2p = clean_class_stats("presence", "poly")
    check_identity("E9 presence D_poly = D_mono", Dp, Dm)
    check_identity("E9 presence s2_1(poly) = s2_1(mono) + w^2 Var x2", s1p, s1m + w**2 * var_x2)
    check_identity("E9 presence s2_2(poly) = s2_2(mono) + w^2 Var x2", s2p, s2m + w**2 * var_x2)


@lru_cache(maxsize=None)
def class_moments(task: str, code: str):
    """(E5) (P(y~=1), mu~_1, mu~_2, s2~_1, s2~_2) in S, w, eta, nv.

    Built from (E8') with the clean statistics and checked, moment by moment, against the sub-moment
    route (E4)-(E6)."""
    N1, N2 = noisy_submoments(task, code)
    pi1, D, mu2, s1, s2 = clean_class_stats(task, code)
    sub = {pi1_: pi1, D_: D, mu2_: mu2, s1_: s1, s2_: s2}
    mixed = tuple(e.subs(sub) for e in mixing_formula())
    direct = (
        N1[0],
        N1[1] / N1[0],
        N2[1] / N2[0],
        N1[2] / N1[0] - (N1[1] / N1[0]) ** 2,
        N2[2] / N2[0] - (N2[1] / N2[0]) ** 2,
    )
    for name, a, b in zip(("p1", "mu1", "mu2", "s2_1", "s2_2"), mixed, direct):
        check_identity(f"E5/E8'[{task},{code}] {name}", a, b)
    return mixed


def separation_generic() -> sp.Expr:
    """(E7) with (E8'): J in the generic symbols pi1, D, s1, s2, eta, nv."""
    _, mu1, mu2, v1, v2 = mixing_formula()
    return (mu1 - mu2) ** 2 / (v1 + v2)


def separation_balanced() -> sp.Expr:
    """(E8) pi1 = 1/2: J = (1 - 2 eta)^2 D^2 / (V + 2 eta (1 - eta) D^2 + 2 nv), V = s1 + s2."""
    J = (1 - 2 * eta) ** 2 * D_**2 / (s1_ + s2_ + 2 * eta * (1 - eta) * D_**2 + 2 * nv)
    check_identity("E8 balanced J", J, separation_generic().subs(pi1_, sp.Rational(1, 2)))
    return J


@lru_cache(maxsize=None)
def separation_fast(task: str, code: str) -> sp.Expr:
    """(E7) in a compact form for fast evaluation (fewest array operations), checked equal to (E7).

    argmax (E8) times 9 / (1 - S):  J = (1 - 2 eta)^2 A / (Q + 2 eta (1 - eta) A + 18 nv / (1 - S)),
        A = 9 D^2 / (1 - S),  Q = 9 V / (1 - S)  (polynomials, Horner form in S).
    presence (E8') with pi1 = 1 - S, D = 1/2:  J = (a1 - a2)^2 / 4 / (a+ s2_1 + (2 - a+) s2_2
        + (a+ - a1^2 - a2^2) / 4 + 2 nv),  a1 = (1-S)(1-eta)/p1, a2 = (1-S) eta/(1-p1), a+ = a1 + a2.
    """
    pi1, D, mu2, s1, s2 = clean_class_stats(task, code)
    pre: list[tuple[sp.Symbol, sp.Expr]] = []
    if task == "argmax":
        A = sp.factor(sp.cancel(9 * D**2 / (1 - S)))
        Q = sp.horner(sp.expand(sp.cancel(9 * (s1 + s2) / (1 - S))), wrt=S)
        J = (1 - 2 * eta) ** 2 * A / (Q + 2 * eta * (1 - eta) * A + 18 * nv / (1 - S))
    else:
        check_identity(f"presence D = 1/2 [{code}]", D, sp.Rational(1, 2))
        check_identity(f"presence pi1 = 1 - S [{code}]", pi1, 1 - S)
        q, p1, a1, a2, ap, v1, v2 = sp.symbols("q_ p1_ a1_ a2_ ap_ v1_ v2_", real=True)
        pre = [(q, (1 - S) * (1 - eta)), (p1, q + S * eta), (a1, q / p1), (a2, (1 - S) * eta / (1 - p1)),
               (ap, a1 + a2), (v1, sp.factor(s1)), (v2, sp.factor(s2))]
        J = (a1 - a2) ** 2 / (4 * ap * v1 + 4 * (2 - ap) * v2 + ap - a1**2 - a2**2 + 8 * nv)
    full = J
    for sym, e in reversed(pre):
        full = full.subs(sym, e)
    check_identity(f"E7 fast form [{task},{code}]", full, separation(task, code))
    return J, tuple(pre)


@lru_cache(maxsize=None)
def separation(task: str, code: str) -> sp.Expr:
    """(E7) Fisher J in S, w, eta, nv."""
    _, m1, m2, s1, s2 = class_moments(task, code)
    return (m1 - m2) ** 2 / (s1 + s2)


def noise_moments(kind: str, code: str) -> tuple[sp.Expr, sp.Expr]:
    """(E6) (nv, n4) of the code's input noise xi = c . eps for eps_i i.i.d. with variance lam^2.

    gaussian: eps ~ N(0, lam^2);  uniform: eps ~ U(-sqrt(3) lam, sqrt(3) lam) (same variance, E eps^4 = 9/5 lam^4).
    """
    c1, c2 = code_vector(code)
    if kind == "gaussian":
        m4 = 3 * lam**4
    elif kind == "uniform":
        a = sp.sqrt(3) * lam
        e = sp.Symbol("e", real=True)
        m4 = sp.integrate(e**4 / (2 * a), (e, -a, a))
    else:
        raise ValueError(f"noise == {kind!r}, must be one of 'gaussian', 'uniform'")
    var = (c1**2 + c2**2) * lam**2
    # E (c1 e1 + c2 e2)^4 = c1^4 m4 + 6 c1^2 c2^2 lam^4 + c2^4 m4
    fourth = (c1**4 + c2**4) * m4 + 6 * c1**2 * c2**2 * lam**4
    return sp.expand(var), sp.expand(fourth)


# ---------------------------------------------------------------------------------------------
# (E10)-(E11): least-squares probe threshold as a function of the population moments m1..m4
m1, m2, m3, m4 = sp.symbols("m1 m2 m3 m4", real=True)
MVEC = (m1, m2, m3, m4)


def probe_threshold() -> sp.Expr:
    """(E10) tau(m) from the normal equations of least squares on (1, v') with target r."""
    alpha, beta = sp.symbols("alpha beta", real=True)
    # normal equations: E r = alpha + beta E v';  E v' r = alpha E v' + beta E v'^2
    sol = sp.solve([sp.Eq(m3, alpha + beta * m1), sp.Eq(m4, alpha * m1 + beta * m2)], [alpha, beta], dict=True)[0]
    tau_normal = (sp.Rational(1, 2) - sol[alpha]) / sol[beta]
    tau = m1 + (sp.Rational(1, 2) - m3) * (m2 - m1**2) / (m4 - m1 * m3)
    check_identity("E10 threshold from normal equations", tau_normal, tau)
    return tau


def probe_gradient_hessian():
    """(E11) gradient and Hessian of tau(m)."""
    tau = probe_threshold()
    g = [sp.diff(tau, x) for x in MVEC]
    H = [[sp.diff(tau, x, y) for y in MVEC] for x in MVEC]
    return tau, g, H


# ---------------------------------------------------------------------------------------------
# (E12): Gaussian smoothing of one linear-density piece
class Phi(sp.Function):
    """Standard normal CDF as a sympy function (derivative phi)."""

    def fdiff(self, argindex=1):
        return phi(self.args[0])


class phi(sp.Function):
    """Standard normal density as a sympy function (derivative -z phi)."""

    def fdiff(self, argindex=1):
        return -self.args[0] * phi(self.args[0])


def to_elementary(e: sp.Expr) -> sp.Expr:
    """Replace Phi, phi by their erf / exp definitions."""
    e = e.replace(Phi, lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2)
    return e.replace(phi, lambda z: sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi))


tau_, a_, b_, ha_, hb_, s_ = sp.symbols("tau a b ha hb s", real=True)
z_ = sp.Symbol("z", real=True)


def gaussian_piece() -> dict[str, sp.Expr]:
    """(E12) Q, q = dQ/dtau, dq = d2Q/dtau2 in tau, a, b, ha, hb, s and Phi, phi at z_a, z_b.

    Q(b) is pinned down by Q(b = a) = 0 and Leibniz' rule dQ/db = p(b) Phi((tau - b)/s) (slope held
    fixed), both checked symbolically; likewise q(b = a) = 0, dq/db = p(b) phi((tau - b)/s)/s.
    """
    G = z_ * Phi(z_) + phi(z_)
    K = ((z_**2 - 1) * Phi(z_) + z_ * phi(z_)) / 2
    check_identity("E12 G' = Phi", sp.diff(G, z_), Phi(z_))
    check_identity("E12 K' = z Phi", sp.diff(K, z_), z_ * Phi(z_))
    check_identity("E12 Phi' = phi (elementary)", sp.diff(to_elementary(Phi(z_)), z_), to_elementary(phi(z_)))
    mslope = sp.Symbol("mslope", real=True)
    c0 = ha_ + mslope * (tau_ - a_)  # p(tau - s z) = c0 - mslope s z
    za, zb = (tau_ - a_) / s_, (tau_ - b_) / s_
    Q = s_ * c0 * (G.subs(z_, za) - G.subs(z_, zb)) - mslope * s_**2 * (K.subs(z_, za) - K.subs(z_, zb))
    q = sp.diff(Q, tau_)
    p_b = ha_ + mslope * (b_ - a_)
    check_identity("E12 Q(b=a) = 0", Q.subs(b_, a_), 0)
    check_identity("E12 dQ/db = p(b) Phi((tau-b)/s)", sp.diff(Q, b_), p_b * Phi(zb))
    check_identity("E12 q(b=a) = 0", q.subs(b_, a_), 0)
    check_identity("E12 dq/db = p(b) phi((tau-b)/s)/s", sp.diff(q, b_), p_b * phi(zb) / s_)
    dq = sp.diff(q, tau_)
    slope = (hb_ - ha_) / (b_ - a_)
    return {k: sp.simplify(e.subs(mslope, slope)) for k, e in (("Q", Q), ("q", q), ("dq", dq))}
