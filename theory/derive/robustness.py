"""Symbolic checks of the closed forms used by ``theory.robustness`` (R1), (R2'), (R3), (R5), (R7).

``python -m theory.derive.robustness`` derives each identity with sympy for a symbolic number of
classes where possible (else C = 3 and C = 4 with symbolic entries), prints one line per identity and
exits 1 if one fails. Nothing is written: the runtime module hand-codes the resulting formulas and
``tests/test_theory_robustness.py`` compares them with the expressions returned by :func:`expressions`
at random points. The runtime never imports this module.

(R1)  Symmetric transition T = a 11ᵀ + κ I with a = η/(C-1), κ = 1 - ηC/(C-1): rows sum to 1, the
      diagonal is 1 - η, and Tᵀ s = κ s + a (Σ_c s_c) 1 -- for least-squares scores with an intercept
      Σ_c s_c = 1, so Tᵀ s = κ s + a: a common shift.
(R2') Bias of least squares under misspecification: with Σ̂ = Σ + E, Ĉ = C + F (sample means of
      n i.i.d. terms), B̂ = Σ̂⁻¹Ĉ = B + Σ⁻¹(F - E B) - Σ⁻¹ E Σ⁻¹ (F - E B) + O(n^-3/2); the mean of the
      second-order term is -(1/n) Σ⁻¹ E[x xᵀ Σ⁻¹ x rᵀ] (checked here for scalar x with a symbolic law).
(R3)  For one sample with label distribution p = T[y] (a row of T) and residual mean d:
      E[(1{ỹ=c} - p_c + d_c)²] = p_c (1 - p_c) + d_c²; averaging the rows with weights v_k gives
      Σ_k v_k T_kc (1 - T_kc) + E[g² d_c²].
(R5)  Third central moment of a Bernoulli(p) indicator: p (1 - p)(1 - 2p); with a shift d:
      E[(ε + d)³] = μ3 + 3 d Var + d³.
(R7)  Cornish–Fisher: Z + (γ/6)(Z² - 1) with Z ~ N(0, 1) has mean 0, variance 1 + γ²/18 and third
      cumulant γ + O(γ³): the leading skewness is γ.
"""
from __future__ import annotations

import sys

import sympy as sp

__all__ = ["check_all", "expressions", "main"]


def _r1_symbolic() -> bool:
    """(R1) for symbolic C and eta (entry formulas) and for C = 4 (matrix identity)."""
    C, eta = sp.symbols("C eta", positive=True)
    a = eta / (C - 1)
    kap = 1 - eta * C / (C - 1)
    diag = sp.simplify(a + kap - (1 - eta))
    rowsum = sp.simplify((C - 1) * a + (a + kap) - 1)
    e4 = sp.Symbol("eta")
    T = sp.Matrix(4, 4, lambda i, j: e4 / 3 + (1 - e4 * sp.Rational(4, 3)) * (1 if i == j else 0))
    s = sp.Matrix(sp.symbols("s0:4"))
    ident = sp.simplify(T.T * s - ((1 - e4 * sp.Rational(4, 3)) * s + e4 / 3 * sum(s) * sp.ones(4, 1)))
    return diag == 0 and rowsum == 0 and ident == sp.zeros(4, 1)


def _r3_r5() -> tuple[bool, bool]:
    """(R3) second and (R5) third moments of the shifted, centred indicator."""
    p, d = sp.symbols("p d", real=True)
    eps_vals = [(1 - p, p), (-p, 1 - p)]  # ε = 1{ỹ=c} - p_c: value, probability
    m2 = sum(pr * (v + d) ** 2 for v, pr in eps_vals)
    m3 = sum(pr * (v + d) ** 3 for v, pr in eps_vals)
    mu3 = sum(pr * v ** 3 for v, pr in eps_vals)
    ok2 = sp.simplify(m2 - (p * (1 - p) + d ** 2)) == 0
    ok3 = sp.simplify(mu3 - p * (1 - p) * (1 - 2 * p)) == 0 and sp.simplify(m3 - (mu3 + 3 * d * p * (1 - p) + d ** 3)) == 0
    return bool(ok2), bool(ok3)


def _r3_mixture() -> bool:
    """(R3) averaged over y with class weights v_k and T symbolic (C = 3): Σ_k v_k T_kc (1 - T_kc)."""
    T = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"T{i}{j}"))
    v = sp.symbols("v0:3", nonnegative=True)
    for c in range(3):
        lhs = sum(v[k] * (T[k, c] * (1 - T[k, c])) for k in range(3))
        rhs = (sp.Matrix([v]) * T.applyfunc(lambda t: t * (1 - t)))[0, c]
        if sp.simplify(lhs - rhs) != 0:
            return False
    return True


def _r2_bias() -> bool:
    """(R2') for a scalar regressor: the O(1/n) mean of -Σ⁻¹ E Σ⁻¹ (F - E B) is -(1/n) E[x³ r] / Σ²
    (x xᵀ Σ⁻¹ x = x³/Σ for scalar x); checked by expanding the sample means of n = 2 draws."""
    x1, x2, r1, r2, S = sp.symbols("x1 x2 r1 r2 Sigma", real=True)
    n = 2
    E = ((x1 ** 2 - S) + (x2 ** 2 - S)) / n
    F_EB = (x1 * r1 + x2 * r2) / n
    term = -E * F_EB / S ** 2
    # expectation over i.i.d. draws with E[x r] = 0: cross terms i != j vanish (E[(x_i² - S)] E[x_j r_j] = 0)
    expanded = sp.expand(term)
    same = expanded.coeff(x1, 3).coeff(r1, 1) * x1 ** 3 * r1 + expanded.coeff(x2, 3).coeff(r2, 1) * x2 ** 3 * r2
    target = -(x1 ** 3 * r1 + x2 ** 3 * r2) / (n * n * S ** 2)
    return sp.simplify(same - target) == 0


def _r7_cornish_fisher() -> bool:
    """(R7): moments of Y = Z + (γ/6)(Z² - 1), Z ~ N(0, 1) (E Z^k from the normal law)."""
    g = sp.Symbol("gamma", real=True)
    z = sp.Symbol("z", real=True)
    mom = {k: sp.integrate(z ** k * sp.exp(-z ** 2 / 2), (z, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi) for k in range(7)}

    def E(expr):
        poly = sp.Poly(sp.expand(expr), z)
        return sum(c * mom[k[0]] for k, c in zip(poly.monoms(), poly.coeffs()))

    Y = z + g / 6 * (z ** 2 - 1)
    m1 = sp.simplify(E(Y))
    m2 = sp.simplify(E(Y ** 2))
    k3 = sp.simplify(E(Y ** 3) - 3 * m2 * m1 + 2 * m1 ** 3)
    lead = sp.series(k3, g, 0, 2).removeO()
    return m1 == 0 and sp.simplify(m2 - (1 + g ** 2 / 18)) == 0 and sp.simplify(lead - g) == 0


def expressions() -> dict[str, sp.Expr]:
    """The closed forms as sympy expressions (for the tests' numeric comparison with the runtime)."""
    C, eta, p, d = sp.symbols("C eta p d", real=True)
    return {
        "kappa": 1 - eta * C / (C - 1),
        "a": eta / (C - 1),
        "bernoulli_mu3": p * (1 - p) * (1 - 2 * p),
        "shifted_m2": p * (1 - p) + d ** 2,
        "shifted_m3": p * (1 - p) * (1 - 2 * p) + 3 * d * p * (1 - p) + d ** 3,
    }


def check_all() -> dict[str, bool]:
    r3, r5 = _r3_r5()
    return {"R1": _r1_symbolic(), "R2'": _r2_bias(), "R3": r3 and _r3_mixture(), "R5": r5, "R7": _r7_cornish_fisher()}


def main(argv: list[str] | None = None) -> int:
    res = check_all()
    for k, ok in res.items():
        print(f"{k}: {'ok' if ok else 'FAILED'}")
    return 0 if all(res.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
