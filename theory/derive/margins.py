"""Symbolic derivation of margins and separation for n features in m dimensions (docs/DESIGN.md,
"n features in m dimensions").

Setting. x in R^n, x_i = 0 w.p. S, else Uniform(a, b) (0 <= a < b; the moment results use (0, 1), and
scale with b for a = 0). A code W (m x n) has unit columns w_j for the *represented* features j in R
(|R| = r) and zero columns for the dropped ones; G = W^T W (unit diagonal on R). The matched filter
scores s_j = w_j^T h = (G x)_j, h = W x, and predicts argmax_{j in R} s_j. Label y = argmax_i x_i
(ties, i.e. x = 0, broken uniformly). A sample is *covered* when y in R and x_y > 0; its margin is
s_y - max_{j in R, j != y} s_j. Coherence mu = max_{i != j in R} |G_ij|.

Equations (numbers are cited by theory/margins.py, the cache and the claims):

(M1)  Welch. ||G||_F^2 >= (tr G)^2 / rank G >= r^2/m and ||G||_F^2 <= r + r(r-1) mu^2, hence
      mu >= sqrt((r - m) / (m (r - 1)))  (r > m). Equality iff W is an equiangular tight frame.
(M2)  Margin identity (G symmetric, unit diagonal): for j != y,
      s_y - s_j = (1 - G_yj)(x_y - x_j) + sum_{i not in {y, j}} (G_yi - G_ji) x_i.
(M3)  Per-sample bound (x >= 0, covered sample, T = sum_{i in R} x_i): |G_yj| <= mu and x_y >= x_j give
      s_y - s_j >= L(x_j),  L(t) = (1 - mu)(x_y - t) - 2 mu (T - x_y - t) = (1 + mu) x_y + (3 mu - 1) t - 2 mu T.
      L is affine in t, so margin >= min(L(x_hi), L(x_lo)) with x_hi, x_lo the largest and smallest x_j,
      j in R \\ {y}.  (For mu = 0 this is the exact mono margin x_y - x_hi.)
(M4)  Worst case over covered samples with k active represented features (y included), amplitudes in
      [a, b] and gap delta = x_y - x_hi (x_hi = 0 if k = 1):
        k = 1:            B = (1 - mu) delta
        k >= 2, mu < 1/3: B = (1 - mu) delta - 2 mu (k - 2) (b - delta)
        k >= 2, mu >= 1/3: B = (1 - mu) delta + c u*,  c = 1 - (2k - 1) mu,  u* = a if c >= 0 else b - delta
      (From (M3) with u = x_hi in [a, b - delta], the other k - 2 active values in [a, u]: L(x_hi) >=
      (1 - mu) delta - 2 mu (k - 2) u; for mu >= 1/3, L(x_lo) >= L(0) >= (1 - mu) delta + c u and
      L(0) - [(1 - mu) delta - 2 mu (k - 2) u] = (1 - 3 mu) u <= 0; both affine in u.)
(M5)  Readout noise, input noise eps ~ N(0, lam^2 I_n) on x: s(x + eps) - s(x) = G eps, so
      Var[s_j] = lam^2 (G^2)_jj = lam^2 ||W^T w_j||^2 = lam^2 (1 + sum_{i != j} G_ji^2)   (mono: lam^2;
      antipodal pair: 2 lam^2);  Var[s_y - s_j] = lam^2 ||W^T (w_y - w_j)||^2
      = lam^2 ((G^2)_yy + (G^2)_jj - 2 (G^2)_yj).  Mean over R: ||G||_F^2 / r >= r / m (equality iff
      tight frame); random unit columns: E (G^2)_jj = 1 + (r - 1)/m since E G_ij^2 = 1/m.
      Noise xi ~ N(0, lam^2 I_m) added to h instead: Var[s_j] = lam^2 ||w_j||^2 = lam^2 (no amplification).
(M6)  Error bounds under (M5) noise, conditional on a covered x, with d_j = s_y(x) - s_j(x) and
      sigma_j = lam ||W^T (w_y - w_j)||:  max_j Phi(-d_j / sigma_j) <= P(error | x)
      <= min(1, sum_{j in R \\ {y}} Phi(-d_j / sigma_j))  (one pairwise event; union of pairwise events).
(M7)  Orthogonal code keeping r of n features (mono: r = m), scores x_j + z_j, z_j i.i.d. N(0, s^2), j in R:
      A(n, r, S, s) = r int_0^1 p int phi_s(e) F(t)^{n-r} q(t, t + e)^{r-1} de dt + S^n / n,
      p = 1 - S, F(t) = S + p t (= P(x_i < t), t > 0),
      q(t, u) = P(x_i < t, x_i + z_i < u) = S Phi(u/s) + p s [Gf(u/s) - Gf((u - t)/s)],  Gf(z) = z Phi(z) + phi(z).
      At s = 0: A = (r/n)(1 - S^n) + S^n/n; the accuracy lost by dropping n - m features (mono vs all n on
      orthogonal axes) is (1 - m/n)(1 - S^n): the argmax is uniform over features by exchangeability.
(M8)  Moments given the argmax class a (amplitude U(0, 1)), P(y = a) = 1/n:
      E[x_a^k 1{y=a}] = int_0^1 p t^k F^{n-1} dt,  E[x_i^k 1{y=a}] = int_0^1 p F^{n-2} p t^{k+1}/(k+1) dt,
      E[x_a x_i 1{y=a}] = int_0^1 p t F^{n-2} p t^2/2 dt,  E[x_i x_j 1{y=a}] = int_0^1 p F^{n-3} (p t^2/2)^2 dt
      (i, j, a distinct), each in closed form through u = S + p t:
      int_0^1 t^k F^N dt = p^{-k-1} sum_{l=0}^k C(k, l) (-S)^{k-l} (1 - S^{N+l+1}) / (N + l + 1).
      alpha = E[x_a|a], beta = E[x_i|a], sM = Var[x_a|a], sO = Var[x_i|a], kappa = Cov[x_a, x_i|a],
      rho = Cov[x_i, x_j|a].
(M9)  Fisher separation of argmax classes a, b in R through the matched-filter difference
      v_ab = s_a - s_b = c . x, c = G_a - G_b:  J_ab = Delta_ab^2 / (V_a + V_b), Delta_ab = E[v|a] - E[v|b]
      = 2 (1 - G_ab)(alpha - beta) (interference cancels in the mean gap), V_c = Var[v | y = c] + lam^2 ||c||^2
      with Var[v|a] = c_a^2 sM + sO sum' c_i^2 + 2 kappa c_a sum' c_i + rho ((sum' c_i)^2 - sum' c_i^2),
      sum' over R \\ {a}. The *pooled* separation of a code is J = mean_{a != b} Delta^2 / mean_{a != b} (V_a + V_b).
      Random codes (columns uniform on the sphere: E G_ij = 0, E G_ij^2 = 1/m, other products 0), in
      expectation over W (ratio of expectations):
        J_rand = 4 (1 + 1/m)(alpha - beta)^2 / (2 [(1 + 1/m)(sM + sO - 2 kappa) + 2 (r - 2) sO / m]
                 + 2 lam^2 [2 (1 + 1/m) + 2 (r - 2)/m]);
      mono (G = I on R): J_mono = 4 (alpha - beta)^2 / (2 (sM + sO - 2 kappa) + 4 lam^2) = lim_{m -> oo} J_rand.
(M10) Mean-field model of a superposed code (an approximation, not a bound): interference
      sum_{i != j} G_ji x_i and the amplified input noise are replaced by i.i.d. Gaussian score noise,
      A_sup(lam) ~ A(n, r, S, s_eff),  s_eff^2 = lam^2 (1 + nu) + nu E[x_i^2 | y != i],
      nu = mean_{j in R} sum_{i != j} G_ji^2  ((r - 1)/m for random codes, r/m - 1 for tight frames),
      E[x_i^2 | y != i] = sO + beta^2 (M8).
(M11) Balance noise level: lam* solves A(n, m, S, lam) = A_sup(lam) (mono vs superposed); found as a root
      of a bracketed sign change of the quadrature (M7)/(M10) (certified for the model, not for the data).

Run ``python -m theory.derive.margins`` to regenerate theory/_cache/margins.json and
theory/_cache/margins_generated.py (``--check``: compare, write nothing). Every identity is checked with
``simplify(lhs - rhs) == 0`` first; the script stops on the first failure.
"""
from __future__ import annotations

import json
import sys

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from theory.derive import model as _model
from theory.derive.cachefiles import run, stale_files  # noqa: F401  (stale_files re-exported)
from theory.derive.codegen import emit_source

# symbols (all real; n, r, m, k counts)
n, r, m, k = sp.symbols("n r m k", positive=True)
S = sp.Symbol("S", nonnegative=True)
lam, mu = sp.symbols("lam mu", nonnegative=True)
a, b, delta = sp.symbols("a b delta", nonnegative=True)
xy, xj, T, t_, u_, e_ = sp.symbols("xy xj T t u e", real=True)
p = 1 - S


IdentityError = _model.IdentityError
CHECKED: list[str] = []


def check_identity(label: str, lhs, rhs) -> None:
    """Stop unless ``simplify(lhs - rhs) == 0`` (``theory.derive.model.check_identity``); record the label."""
    _model.check_identity(label, sp.sympify(lhs), sp.sympify(rhs))
    CHECKED.append(label)


# ---------------------------------------------------------------------------------------------- (M1)
def welch() -> sp.Expr:
    """(M1) mu_W^2 from the two bounds on the frame potential ||G||_F^2."""
    mu2 = sp.Symbol("mu2", nonnegative=True)
    # r + r (r - 1) mu^2 >= r^2 / m  <=>  mu^2 >= (r^2/m - r) / (r (r - 1))
    sol = sp.solve(sp.Eq(r + r * (r - 1) * mu2, r**2 / m), mu2)[0]
    check_identity("M1 Welch from frame potential", sol, (r - m) / (m * (r - 1)))
    return sp.sqrt((r - m) / (m * (r - 1)))


# ---------------------------------------------------------------------------------------------- (M2)-(M4)
def margin_identity(size: int = 5) -> None:
    """(M2) on a symbolic symmetric Gram matrix with unit diagonal (y = 0, j = 1)."""
    g = {(i, j): sp.Symbol(f"g{min(i, j)}{max(i, j)}", real=True) for i in range(size) for j in range(size) if i != j}
    G = sp.Matrix(size, size, lambda i, j: 1 if i == j else g[(i, j)])
    x = sp.Matrix(sp.symbols(f"x0:{size}", real=True))
    s = G * x
    y, j = 0, 1
    rhs = (1 - G[y, j]) * (x[y] - x[j]) + sum((G[y, i] - G[j, i]) * x[i] for i in range(size) if i not in (y, j))
    check_identity("M2 margin decomposition", s[y] - s[j], rhs)


def pair_form() -> sp.Expr:
    """(M3) L(t) in expanded form."""
    L = (1 - mu) * (xy - xj) - 2 * mu * (T - xy - xj)
    Lx = (1 + mu) * xy + (3 * mu - 1) * xj - 2 * mu * T
    check_identity("M3 pair form", L, Lx)
    return Lx


def worst_case_pieces() -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """(M4) the worst-case bound pieces (k = 1, mu < 1/3, mu >= 1/3 with u* = a, u* = b - delta)."""
    uu = sp.Symbol("uu", nonnegative=True)  # x_hi
    rr = sp.Symbol("rr", nonnegative=True)  # sum of the other k - 2 active values
    x_top = delta + uu
    Tt = x_top + uu + rr
    L = (1 + mu) * x_top + (3 * mu - 1) * xj - 2 * mu * Tt
    L_hi = sp.expand(L.subs(xj, uu))
    check_identity("M4 L(x_hi)", L_hi, (1 - mu) * delta - 2 * mu * rr)
    L_zero = sp.expand(L.subs(xj, 0))
    A = (1 - mu) * delta - 2 * mu * (k - 2) * uu  # L(x_hi) at rr = (k - 2) uu
    C = (1 - mu) * delta + (1 - (2 * k - 1) * mu) * uu  # L(0) at rr = (k - 2) uu
    check_identity("M4 L(0) at rr=(k-2)u", L_zero.subs(rr, (k - 2) * uu), C)
    check_identity("M4 C - A = (1 - 3 mu) u", C - A, (1 - 3 * mu) * uu)
    k1 = (1 - mu) * delta
    # k = 1: x_hi = 0, T = x_y = delta: L(0) = (1 - mu) delta
    check_identity("M4 k=1", L.subs({uu: 0, rr: 0, xj: 0}), k1)
    low = A.subs(uu, b - delta)
    c_a = C.subs(uu, a)
    c_b = C.subs(uu, b - delta)
    # continuity at mu = 1/3 (c = 1 - (2k - 1)/3 <= 0 for k >= 2, so u* = b - delta there)
    check_identity("M4 continuity at mu=1/3", low.subs(mu, sp.Rational(1, 3)), c_b.subs(mu, sp.Rational(1, 3)))
    return k1, low, c_a, c_b


# ---------------------------------------------------------------------------------------------- (M5)
def readout_identities() -> None:
    """(M5) noise variances on a symbolic 2 x 3 code, and the antipodal / mono values."""
    Wsym = sp.Matrix(2, 3, sp.symbols("w0:6", real=True))
    G = Wsym.T * Wsym
    eps = sp.Matrix(sp.symbols("e0:3", real=True))
    for j in range(3):
        noise = (G * eps)[j]
        # Var of a linear form in i.i.d. N(0, lam^2): lam^2 * sum of squared coefficients
        var = lam**2 * sum(sp.diff(noise, ei) ** 2 for ei in eps)
        check_identity(f"M5 Var s_{j} = lam^2 (G^2)_jj", var, lam**2 * (G * G)[j, j])
        check_identity("M5 (G^2)_jj = ||W^T w_j||^2", (G * G)[j, j], (Wsym.T * Wsym[:, j]).dot(Wsym.T * Wsym[:, j]))
    diff = (G * eps)[0] - (G * eps)[1]
    var = lam**2 * sum(sp.diff(diff, ei) ** 2 for ei in eps)
    check_identity("M5 pair variance", var, lam**2 * ((G * G)[0, 0] + (G * G)[1, 1] - 2 * (G * G)[0, 1]))
    Wa = sp.Matrix([[1, -1, 0], [0, 0, 1]])  # an antipodal pair and a lone feature
    Ga = Wa.T * Wa
    check_identity("M5 antipodal 2 lam^2", lam**2 * (Ga * Ga)[0, 0], 2 * lam**2)
    check_identity("M5 lone feature lam^2", lam**2 * (Ga * Ga)[2, 2], lam**2)
    check_identity("M5 antipodal pair 8 lam^2",
                   lam**2 * ((Ga * Ga)[0, 0] + (Ga * Ga)[1, 1] - 2 * (Ga * Ga)[0, 1]), 8 * lam**2)


# ---------------------------------------------------------------------------------------------- (M7)-(M8)
def power_integral(kk: int, N) -> sp.Expr:
    """(M8) int_0^1 t^kk (S + p t)^N dt by u = S + p t (valid for symbolic N, N + l + 1 != 0)."""
    terms = [sp.binomial(kk, j) * (-S) ** (kk - j) * (1 - S ** (N + j + 1)) / (N + j + 1) for j in range(kk + 1)]
    return sp.Add(*terms) / p ** (kk + 1)


def _check_power_integral() -> None:
    t = sp.Symbol("t", nonnegative=True)
    for kk in range(4):
        for N in range(0, 5):
            direct = sp.integrate(t**kk * (S + p * t) ** N, (t, 0, 1))
            check_identity(f"M8 power integral k={kk} N={N}", power_integral(kk, N), direct)


def argmax_moments():
    """(M8) (P(y=a), alpha, beta, sM, sO, kappa, rho) in n, S for amplitude U(0, 1)."""
    _check_power_integral()
    top = [p * power_integral(j, n - 1) for j in range(3)]  # E[x_a^j 1{y=a}] w/o the x = 0 atom
    # P(y = a) = int p F^{n-1} dt + S^n / n (the all-zero row, tie broken uniformly)
    P_a = top[0] + S**n / n
    other1 = p * p * power_integral(2, n - 2) / 2  # E[x_i 1{y=a}]
    other2 = p * p * power_integral(3, n - 2) / 3  # E[x_i^2 1{y=a}]
    cross = p * p * power_integral(3, n - 2) / 2  # E[x_a x_i 1{y=a}]
    pair = p**3 * power_integral(4, n - 3) / 4  # E[x_i x_j 1{y=a}]
    for nn in (2, 3, 5):
        check_identity(f"M8 P(y=a) = 1/n at n={nn}", P_a.subs(n, nn), sp.Rational(1, nn))
    # independent route for n = 3 (a = 0): integrate over the cube with the indicator spelled out
    t0, t1, t2 = sp.symbols("t0 t1 t2", nonnegative=True)

    def cube3(f_top, f_other, with_pair=False):
        # x0 = t0 active (prob p); x1, x2 each either 0 (prob S) or active below t0 (prob p, density 1)
        def part(f, var):
            return S * f.subs(var, 0) + p * sp.integrate(f, (var, 0, t0))

        g = f_top * f_other
        inner = part(part(g, t1), t2)
        return sp.integrate(p * inner, (t0, 0, 1))

    check_identity("M8 alpha numerator n=3", top[1].subs(n, 3), cube3(t0, 1))
    check_identity("M8 E[x_a^2] n=3", top[2].subs(n, 3), cube3(t0**2, 1))
    check_identity("M8 E[x_i] n=3", other1.subs(n, 3), cube3(1, t1))
    check_identity("M8 E[x_i^2] n=3", other2.subs(n, 3), cube3(1, t1**2))
    check_identity("M8 E[x_a x_i] n=3", cross.subs(n, 3), cube3(t0, t1))
    check_identity("M8 E[x_i x_j] n=3", pair.subs(n, 3), cube3(1, t1 * t2))
    Pa = 1 / n  # (M8) P(y = a)
    alpha = top[1] / Pa
    beta = other1 / Pa
    sM = top[2] / Pa - alpha**2
    sO = other2 / Pa - beta**2
    kappa = cross / Pa - alpha * beta
    rho = pair / Pa - beta**2
    # n = 2, S = 0: x_a = max of two uniforms: E = 2/3, Var = 1/18; the other = min: E = 1/3, Var = 1/18
    check_identity("M8 alpha(n=2,S=0)", alpha.subs({n: 2, S: 0}), sp.Rational(2, 3))
    check_identity("M8 sM(n=2,S=0)", sM.subs({n: 2, S: 0}), sp.Rational(1, 18))
    check_identity("M8 beta(n=2,S=0)", beta.subs({n: 2, S: 0}), sp.Rational(1, 3))
    check_identity("M8 sO(n=2,S=0)", sO.subs({n: 2, S: 0}), sp.Rational(1, 18))
    check_identity("M8 kappa(n=2,S=0)", kappa.subs({n: 2, S: 0}), sp.Rational(1, 36))
    return alpha, beta, sM, sO, kappa, rho


# ---------------------------------------------------------------------------------------------- (M9)
def fisher_expressions():
    """(M9) expected pooled J for random codes and for mono, in (alpha, beta, sM, sO, kappa, r, m, lam)."""
    al, be, sM, sO, ka, rh = sp.symbols("alpha beta sM sO kappa rho", real=True)
    # expectation rules for random unit columns: E g = 0, E g^2 = 1/m, cross products 0
    Ec_a2 = 1 + 1 / m  # E (1 - g)^2
    Ec_i2 = 2 / m  # E (G_ai - G_bi)^2, i not in {a, b}
    Ecacb = -(1 + 1 / m)  # E c_a c_b, c_b = -(1 - g)
    E_sum_sq = Ec_a2 + (r - 2) * Ec_i2  # E sum'_{i != a} c_i^2 (c_b included)
    E_sq_sum = E_sum_sq  # E (sum' c_i)^2: cross terms vanish
    EV = Ec_a2 * sM + sO * E_sum_sq + 2 * ka * Ecacb + rh * (E_sq_sum - E_sum_sq)
    E_norm = 2 * Ec_a2 + (r - 2) * Ec_i2  # E ||c||^2
    num = 4 * Ec_a2 * (al - be) ** 2
    J_rand = num / (2 * EV + 2 * lam**2 * E_norm)
    J_rand_stated = 4 * (1 + 1 / m) * (al - be) ** 2 / (
        2 * ((1 + 1 / m) * (sM + sO - 2 * ka) + 2 * (r - 2) * sO / m) + 2 * lam**2 * (2 * (1 + 1 / m) + 2 * (r - 2) / m))
    check_identity("M9 random-code J as stated", J_rand, J_rand_stated)
    J_mono = 4 * (al - be) ** 2 / (2 * (sM + sO - 2 * ka) + 4 * lam**2)
    check_identity("M9 mono = m -> oo limit", sp.limit(J_rand_stated, m, sp.oo), J_mono)
    # direct mono: c = e_a - e_b, Var[v|a] = sM + sO - 2 kappa, ||c||^2 = 2
    ca, cb = 1, -1
    Vmono = ca**2 * sM + sO * cb**2 + 2 * ka * ca * cb
    check_identity("M9 mono direct", 4 * (al - be) ** 2 / (2 * Vmono + 2 * lam**2 * 2), J_mono)
    return (al, be, sM, sO, ka), J_rand_stated, J_mono


# ---------------------------------------------------------------------------------------------- (M7)
def orthogonal_accuracy_clean():
    """(M7) A(n, r, S, 0) and the drop loss."""
    A0 = r * p * power_integral(0, n - 1) + S**n / n
    check_identity("M7 A(s=0)", A0, (r / n) * (1 - S**n) + S**n / n)
    full = A0.subs(r, n)
    drop = sp.simplify(full - A0.subs(r, m))
    check_identity("M7 drop loss", drop, (1 - m / n) * (1 - S**n))
    return (r / n) * (1 - S**n) + S**n / n, (1 - m / n) * (1 - S**n)


def smoothing_identities():
    """(M7) q(t, u): d/dt q = p Phi((u - t)/s) and q(0, u) = S Phi(u/s) (x_i = 0 < t always)."""
    s = sp.Symbol("s", positive=True)
    z = sp.Symbol("z", real=True)
    Phi = lambda v: (1 + sp.erf(v / sp.sqrt(2))) / 2  # noqa: E731
    phi = lambda v: sp.exp(-v**2 / 2) / sp.sqrt(2 * sp.pi)  # noqa: E731
    Gf = lambda v: v * Phi(v) + phi(v)  # noqa: E731
    check_identity("M7 Gf' = Phi", sp.diff(Gf(z), z), Phi(z))
    q = S * Phi(u_ / s) + p * s * (Gf(u_ / s) - Gf((u_ - t_) / s))
    check_identity("M7 dq/dt", sp.diff(q, t_), p * Phi((u_ - t_) / s))
    check_identity("M7 q(0,u)", q.subs(t_, 0), S * Phi(u_ / s))


# ---------------------------------------------------------------------------------------------- codegen
class _Printer(NumPyPrinter):
    """NumPyPrinter writing small integer powers as parenthesised products (numpy's pow is slow).

    The product is always parenthesised: ``a / (b*b)`` must not print as ``a / b*b``."""

    def _print_Pow(self, expr, rational=False):
        base, ex = expr.as_base_exp()
        if ex.is_Integer and 2 <= abs(int(ex)) <= 4:
            txt = self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Atom"])
            prod = "(" + "*".join([txt] * abs(int(ex))) + ")"
            return prod if ex > 0 else f"(1/{prod})"
        return super()._print_Pow(expr, rational=rational)


_PRINTER = _Printer({"fully_qualified_modules": True, "inline": True})


def emit_function(name: str, args, exprs, doc: str, points) -> str:
    """Source of ``def name(*args)`` returning ``exprs`` (a tuple when several), with common
    subexpressions eliminated; checked against the sympy expressions at ``points`` (tuples of
    rationals, one value per argument): a round trip of the codegen."""
    text = emit_source(name, args, exprs, doc, printer=_PRINTER)
    _check_emitted(name, text, args, exprs, points)
    return text


def _check_emitted(name: str, text: str, args, exprs, points) -> None:
    import numpy

    ns: dict = {"numpy": numpy}
    exec(text, ns)  # noqa: S102 - our own generated source
    fn = ns[name]
    for vals in points:
        pt = dict(zip(args, [sp.nsimplify(v) for v in vals]))
        got = fn(*[float(v) for v in vals])
        got = got if isinstance(got, tuple) else (got,)
        for g, e in zip(got, exprs):
            want = float(sp.sympify(e).subs(pt))
            if not abs(float(g) - want) <= 1e-9 * max(1.0, abs(want)):
                raise IdentityError(f"codegen of {name}: {float(g)!r} != {want!r} at {vals}")
    CHECKED.append(f"codegen {name}")


# ---------------------------------------------------------------------------------------------- build
HEADER = '''"""GENERATED by `python -m theory.derive.margins` from theory/derive/margins.py - do not edit.

Numpy evaluation of the margin / separation expressions (equation numbers (M1)-(M11) refer to
theory/derive/margins.py). All functions broadcast over their array arguments.
"""
# fmt: off
# flake8: noqa
import numpy
'''


def build() -> tuple[str, str]:
    """Run every derivation (checking its identities) and return (json_text, python_source)."""
    CHECKED.clear()
    exprs: dict[str, dict[str, str]] = {}
    src = [HEADER]

    def record(name: str, expr, eq: str) -> None:
        exprs[name] = {"expr": str(expr), "eq": eq}

    mw = welch()
    record("welch", mw, "M1")
    src.append(emit_function("welch", (r, m), (mw,), "(M1) Welch bound on the coherence of r unit vectors in R^m (r > m).",
                             [(64, 16), (7, 3)]))

    margin_identity()
    Lx = pair_form()
    record("pair_form", Lx, "M3")
    src.append(emit_function("pair_form", (mu, xy, xj, T), (Lx,),
                             "(M3) L(x_j) = (1 + mu) x_y + (3 mu - 1) x_j - 2 mu T, a lower bound on s_y - s_j.",
                             [("0.3", "0.9", "0.4", "2.5"), ("0.7", "0.6", "0.1", "1.1")]))
    k1, low, c_a, c_b = worst_case_pieces()
    for nm, e in (("worst.k1", k1), ("worst.low_mu", low), ("worst.high_mu_a", c_a), ("worst.high_mu_b", c_b)):
        record(nm, e, "M4")
    src.append(emit_function("worst_pieces", (mu, k, a, b, delta), (k1, low, c_a, c_b, 1 - (2 * k - 1) * mu),
                             "(M4) (k=1, mu<1/3, mu>=1/3 at u=a, mu>=1/3 at u=b-delta, slope c) pieces.",
                             [("0.2", 4, "0.1", 1, "0.3"), ("0.6", 7, 0, 2, "0.5")]))

    readout_identities()
    gain_rand = 1 + (r - 1) / m
    record("readout.gain_random", gain_rand, "M5")
    record("readout.gain_tight_frame", r / m, "M5")

    alpha, beta, sM, sO, kappa, rho = argmax_moments()
    names = ("alpha", "beta", "sM", "sO", "kappa", "rho")
    for nm, e in zip(names, (alpha, beta, sM, sO, kappa, rho)):
        record(f"moments.{nm}", e, "M8")
    src.append(emit_function("argmax_moments", (n, S), (alpha, beta, sM, sO, kappa),
                             "(M8) (alpha, beta, sM, sO, kappa) given the argmax class, amplitude U(0, 1) (n >= 2, S < 1).",
                             [(7, "0.4"), (64, "0.9"), (2, 0)]))
    src.append(emit_function("argmax_rho", (n, S), (rho,),
                             "(M8) rho = Cov[x_i, x_j | y = a], i, j, a distinct (n >= 3, S < 1).",
                             [(7, "0.4"), (64, "0.9")]))

    syms, J_rand, J_mono = fisher_expressions()
    record("fisher.random", J_rand, "M9")
    record("fisher.mono", J_mono, "M9")
    src.append(emit_function("fisher_random", (*syms, r, m, lam), (J_rand,),
                             "(M9) E-pooled Fisher separation of argmax classes for random codes (r represented, m dims).",
                             [("0.6", "0.2", "0.05", "0.04", "0.01", 32, 16, "0.1")]))
    src.append(emit_function("fisher_mono", (*syms, lam), (J_mono,),
                             "(M9) pooled Fisher separation of argmax classes for an orthogonal (mono) code.",
                             [("0.6", "0.2", "0.05", "0.04", "0.01", "0.3")]))

    A0, drop = orthogonal_accuracy_clean()
    smoothing_identities()
    record("accuracy.clean", A0, "M7")
    record("accuracy.drop_loss", drop, "M7")
    src.append(emit_function("accuracy_clean", (n, r, S), (A0,), "(M7) clean matched-filter accuracy of an orthogonal code keeping r of n features.",
                             [(64, 16, "0.9"), (5, 2, 0)]))
    src.append(emit_function("drop_loss", (n, m, S), (drop,), "(M7) accuracy lost by dropping n - m features (mono, no noise).",
                             [(64, 16, "0.9")]))

    meta = {
        "generator": "python -m theory.derive.margins",
        "sympy": sp.__version__,
        "equations": "theory/derive/margins.py docstring (M1)-(M11)",
        "identities": list(CHECKED),
    }
    payload = {"meta": meta, "expressions": exprs}
    return json.dumps(payload, indent=1, sort_keys=True) + "\n", "\n\n".join(src)


def fresh() -> dict[str, str]:
    js, py = build()
    return {"margins.json": js, "margins_generated.py": py}


def main(argv: list[str] | None = None) -> int:
    return run("python -m theory.derive.margins", __doc__.splitlines()[0], fresh, argv,
               detail=lambda: f" ({len(CHECKED)} identities)")


if __name__ == "__main__":
    sys.exit(main())
