"""Symbolic derivation of the two-feature model under class-conditional and margin-dependent label noise.

Extends theory/derive/model.py ((E1)-(E12), same symbols S, w, nv, n4, lam) with

    ca, cb   class-conditional flip rates: P(y~ = 2 | y = 1) = ca, P(y~ = 1 | y = 2) = cb, ca, cb in [0, 1),
             ca + cb < 1 (symmetric noise eta is ca = cb = eta)
    pm, z    margin-dependent noise: each label flips independently w.p. pm exp(-z |x1 - x2|), z = 1/tau
             (argmax task; pm in [0, 1], tau in (0, oo])
    I0..I5   I_j(z) = int_0^1 u^j exp(-z u) du, the only functions of tau that appear (evaluated stably at
             run time by theory.two_feature._exp_basis)

Equations (cited by number in the code, the cache and the claims):

(E13) Class-conditional noise: M~_1^k = (1-ca) M_1^k + cb M_2^k,  M~_2^k = ca M_1^k + (1-cb) M_2^k.
      With pi1 = P(y = 1): p~1 = pi1 (1-ca) + (1-pi1) cb,  alpha_1 = pi1 (1-ca)/p~1,  alpha_2 = pi1 ca/(1-p~1)
      (share of true class 1 in each observed class); mu~_c = mu_2 + alpha_c D,
      s2~_c = alpha_c s2_1 + (1-alpha_c) s2_2 + alpha_c (1-alpha_c) D^2 + nv;  J = (alpha_1 - alpha_2)^2 D^2 /
      (A s2_1 + (2-A) s2_2 + B D^2 + 2 nv),  A = alpha_1 + alpha_2,  B = alpha_1 (1-alpha_1) + alpha_2 (1-alpha_2).
      Checked against the sub-moment route for every task and code, and against (E8') at ca = cb = eta.
(E14) Order under class-conditional noise, argmax. The weights alpha_c do not depend on the code, the B D^2
      terms cancel in J_poly - J_mono (D_poly = (1+w) D_mono, (E9)), and
          J_poly - J_mono = (alpha_1 - alpha_2)^2 D_mono^2 (R + 4 w lam^2) / (den_mono den_poly),
          R(S, w, A) = w (1-S)/3 (3S + 1 - 4 S^2 (1+w) (1-A)),
      den the positive denominators of (E13). Hence J_mono > J_poly iff
          4 S^2 (1+w) (1 - A) > 3S + 1 + 12 lam^2/(1-S),   1 - A = cb/(1-ca+cb) - ca/(1+ca-cb),
      and since 1 - A < 1/2 on the domain (A -> 1/2 only at ca -> 0, cb -> 1), a reversal needs
      2 S^2 (1+w) > 3S + 1 + 12 lam^2/(1-S): never for w <= 1 (then 2 S^2 (1+w) <= 4 S^2 < 3S + 1).
(E15) Margin-dependent noise, argmax. P_c^k = E[v^k exp(-z|x1-x2|) 1{y=c}] by regions (E1): the atom (0, 0)
      has weight 1, the segments give I_k, the triangles, in (d = |x1 - x2|, s = min) coordinates, a polynomial
      in d against exp(-z d): a combination of I_0..I_{k+1}. Checked against direct integration in (x1, x2).
      M~_1^k = M_1^k - pm P_1^k + pm P_2^k,  M~_2^k = M_2^k + pm P_1^k - pm P_2^k; then (E6).
(E16) P_1^0 = P_2^0 (the flip probability is symmetric in x1, x2), so P(y~ = 1) = 1/2 and
      J = Dt^2 / (2 (Var v + nv) - Dt^2 / 2),  Dt = mu~_1 - mu~_2  (Var v: the unconditional variance).
(E17) Exchangeability: Dt_mono = E[|x1 - x2| (1 - 2 pm exp(-z|x1 - x2|))], Dt_poly = (1+w) Dt_mono and
      Var v_poly = (1+w^2) Var v_mono (as identities in I0..I5), so with r = Dt_mono^2/(Var x1 + lam^2)
      and rho = (1+w)^2/(1+w^2):  J_mono = 2r/(4-r),  J_poly = 2 rho r/(4 - rho r),
          J_poly / J_mono = rho (4 - r)/(4 - rho r) >= rho > 1   (whenever Dt != 0).
      The same holds for any flip probability p(x1, x2) = p(x2, x1). The population LS probe of argmax has
      threshold E v' for every (pm, tau) and orientation sign(Dt): it predicts the inverted rule when
      pm > p* = E|x1-x2| / (2 E[|x1-x2| exp(-z|x1-x2|)]).
(E18) Limits: tau -> oo (I_j -> 1/(j+1)) gives symmetric noise eta = pm; tau -> 0 (I_j -> 0) gives the clean
      moments (only the tie atom, whose label is a fair coin, keeps flip probability pm).

Run ``python -m theory.derive.label_noise`` (or ``python -m theory.derive``) to regenerate
theory/_cache/label_noise.json and theory/_cache/label_noise_generated.py; ``--check`` compares only.
"""
from __future__ import annotations

import json
import sys
from functools import lru_cache

import sympy as sp

from theory.derive import model as M
from theory.derive.cachefiles import run
from theory.derive.codegen import emit_source

S, w, nv, n4, lam, eta = M.S, M.w, M.nv, M.n4, M.lam, M.eta
ca, cb = sp.symbols("ca cb", nonnegative=True)
pm = sp.Symbol("pm", nonnegative=True)
z = sp.Symbol("z", positive=True)
IB = sp.symbols("I0:6", real=True)  # I_j(z) = int_0^1 u^j exp(-z u) du
d_, s_ = sp.symbols("d s", nonnegative=True)
KMAX = M.KMAX

CHECKED: list[str] = []


def check_identity(label: str, lhs, rhs) -> None:
    M.check_identity(label, sp.sympify(lhs), sp.sympify(rhs))
    CHECKED.append(label)


def I_closed(j: int) -> sp.Expr:
    """I_j(z) in closed form (exp and powers of z), for the independent checks."""
    u = sp.Symbol("u", nonnegative=True)
    return sp.integrate(u**j * sp.exp(-z * u), (u, 0, 1))


# ----------------------------------------------------------------------------------------------- (E13)
def transition_submoments(M1, M2):
    """(E13) sub-moments against y~ under the 2 x 2 transition (ca, cb)."""
    return (tuple((1 - ca) * a + cb * b for a, b in zip(M1, M2)),
            tuple(ca * a + (1 - cb) * b for a, b in zip(M1, M2)))


pi1_, D_, mu2_, s1_, s2_ = M.pi1_, M.D_, M.mu2_, M.s1_, M.s2_


def transition_weights(pi1=pi1_):
    """(E13) (p~1, alpha_1, alpha_2)."""
    p1 = pi1 * (1 - ca) + (1 - pi1) * cb
    return p1, pi1 * (1 - ca) / p1, pi1 * ca / (1 - p1)


def transition_mixing():
    """(E13) (p~1, mu~1, mu~2, s2~1, s2~2) in the generic clean statistics."""
    p1, a1, a2 = transition_weights()
    v1 = a1 * s1_ + (1 - a1) * s2_ + a1 * (1 - a1) * D_**2 + nv
    v2 = a2 * s1_ + (1 - a2) * s2_ + a2 * (1 - a2) * D_**2 + nv
    out = (p1, mu2_ + a1 * D_, mu2_ + a2 * D_, v1, v2)
    sym = {ca: eta, cb: eta}
    for name, e, ref in zip(("p1", "mu1", "mu2", "s2_1", "s2_2"), out, M.mixing_formula()):
        check_identity(f"E13 reduces to E8' at ca = cb = eta: {name}", e.subs(sym, simultaneous=True), ref)
    return out


def transition_J():
    """(E13) J in the generic statistics, in the A, B form (checked against (E7) with the mixed moments)."""
    _, a1, a2 = transition_weights()
    A, B = a1 + a2, a1 * (1 - a1) + a2 * (1 - a2)
    J = (a1 - a2) ** 2 * D_**2 / (A * s1_ + (2 - A) * s2_ + B * D_**2 + 2 * nv)
    _, m1, m2, v1, v2 = transition_mixing()
    check_identity("E13 J in the A, B form", J, (m1 - m2) ** 2 / (v1 + v2))
    return J


@lru_cache(maxsize=None)
def transition_class_moments(task: str, code: str):
    """(E13) class moments by the mixing formula, checked against the sub-moment route."""
    M1, M2 = M.clean_submoments(task, code)
    N1, N2 = (M.input_noisy(x) for x in transition_submoments(M1, M2))
    pi1, D, mu2, s1, s2 = M.clean_class_stats(task, code)
    sub = {pi1_: pi1, D_: D, mu2_: mu2, s1_: s1, s2_: s2}
    mixed = tuple(e.subs(sub) for e in transition_mixing())
    direct = (N1[0], N1[1] / N1[0], N2[1] / N2[0], N1[2] / N1[0] - (N1[1] / N1[0]) ** 2,
              N2[2] / N2[0] - (N2[1] / N2[0]) ** 2)
    for name, x, y in zip(("p1", "mu1", "mu2", "s2_1", "s2_2"), mixed, direct):
        check_identity(f"E13[{task},{code}] {name} (mixing = sub-moments)", x, y)
    return mixed, (N1, N2)


# ----------------------------------------------------------------------------------------------- (E14)
A_ = sp.Symbol("A", real=True)


def reversal_R():
    """(E14) R(S, w, A) and the check J_poly - J_mono = (a1-a2)^2 D_m^2 (R + 4 w lam^2)/(den_m den_p)."""
    R = w * (1 - S) / 3 * (3 * S + 1 - 4 * S**2 * (1 + w) * (1 - A_))
    _, a1, a2 = transition_weights(sp.Rational(1, 2))
    A, B = a1 + a2, a1 * (1 - a1) + a2 * (1 - a2)
    st = {c: M.clean_class_stats("argmax", c) for c in ("mono", "poly")}
    nvs = {"mono": lam**2, "poly": (1 + w**2) * lam**2}
    den = {c: A * st[c][3] + (2 - A) * st[c][4] + B * st[c][1] ** 2 + 2 * nvs[c] for c in st}
    J = {c: (a1 - a2) ** 2 * st[c][1] ** 2 / den[c] for c in st}
    for c in st:  # the same J as (E13) with this code's statistics
        gen = transition_J().subs({pi1_: st[c][0], D_: st[c][1], s1_: st[c][3], s2_: st[c][4], nv: nvs[c]})
        check_identity(f"E14 J[{c}] = E13", J[c], gen)
    rhs = (a1 - a2) ** 2 * st["mono"][1] ** 2 * (R.subs(A_, A) + 4 * w * lam**2) / (den["mono"] * den["poly"])
    check_identity("E14 J_poly - J_mono", J["poly"] - J["mono"], rhs)
    one_minus_A = cb / (1 - ca + cb) - ca / (1 + ca - cb)
    check_identity("E14 1 - A", 1 - A, one_minus_A)
    # reversal iff 4 S^2 (1+w)(1-A) > 3S + 1 + 12 lam^2/(1-S)  (R + 4 w lam^2 < 0, w (1-S)/3 > 0)
    check_identity("E14 reversal inequality", (R + 4 * w * lam**2) * 3 / (w * (1 - S)),
                   3 * S + 1 + 12 * lam**2 / (1 - S) - 4 * S**2 * (1 + w) * (1 - A_))
    # the corner ca -> 0, cb -> 1: 1 - A -> 1/2
    check_identity("E14 corner 1 - A at ca = 0, cb = 1", one_minus_A.subs({ca: 0, cb: 1}), sp.Rational(1, 2))
    return R, one_minus_A


# ----------------------------------------------------------------------------------------------- (E15)
def _poly_in_d_to_basis(expr) -> sp.Expr:
    """int_0^1 q(d) exp(-z d) dd for a polynomial q: sum_j q_j I_j."""
    q = sp.Poly(sp.expand(expr), d_)
    out = sp.Integer(0)
    for (j,), c in q.terms():
        out += c * IB[j]
    return out


def _region_weighted(R: M.Region, code: str, k: int) -> sp.Expr:
    """E[v^k exp(-z|x1-x2|) | region] in the basis I_j (E15), and checked by direct integration."""
    c1, c2 = M.code_vector(code)
    x1, x2 = sp.symbols("x1 x2", nonnegative=True)
    v = lambda a, b: (c1 * a + c2 * b) ** k  # noqa: E731
    if R.name == "00":
        basis = v(0, 0)
        direct = basis
    elif R.name == "10":
        basis = _poly_in_d_to_basis(v(d_, 0))
        direct = sp.integrate(v(x1, 0) * sp.exp(-z * x1), (x1, 0, 1))
    elif R.name == "01":
        basis = _poly_in_d_to_basis(v(0, d_))
        direct = sp.integrate(v(0, x2) * sp.exp(-z * x2), (x2, 0, 1))
    elif R.name == "11>":  # x1 = s + d, x2 = s, density 2 on the triangle
        basis = _poly_in_d_to_basis(2 * sp.integrate(v(s_ + d_, s_), (s_, 0, 1 - d_)))
        direct = 2 * sp.integrate(sp.integrate(v(x1, x2) * sp.exp(-z * (x1 - x2)), (x2, 0, x1)), (x1, 0, 1))
    else:  # "11<": x1 = s, x2 = s + d
        basis = _poly_in_d_to_basis(2 * sp.integrate(v(s_, s_ + d_), (s_, 0, 1 - d_)))
        direct = 2 * sp.integrate(sp.integrate(v(x1, x2) * sp.exp(-z * (x2 - x1)), (x1, 0, x2)), (x2, 0, 1))
    closed = basis.subs({IB[j]: I_closed(j) for j in range(len(IB))})
    check_identity(f"E15[{code},{R.name},k={k}] basis = direct integral", closed, direct)
    return basis


@lru_cache(maxsize=None)
def margin_weighted_submoments(code: str):
    """(E15) P_c^k, k = 0..KMAX, c = 1, 2 (argmax)."""
    out = {1: [sp.Integer(0)] * (KMAX + 1), 2: [sp.Integer(0)] * (KMAX + 1)}
    for R in M.regions("argmax"):
        for k in range(KMAX + 1):
            e = _region_weighted(R, code, k)
            out[1][k] += R.prob * R.p_y1 * e
            out[2][k] += R.prob * (1 - R.p_y1) * e
    return tuple(sp.expand(e) for e in out[1]), tuple(sp.expand(e) for e in out[2])


@lru_cache(maxsize=None)
def margin_submoments(code: str):
    """(E15)+(E6) M'~_c^k against y~ with input noise."""
    M1, M2 = M.clean_submoments("argmax", code)
    P1, P2 = margin_weighted_submoments(code)
    N1 = tuple(a - pm * p + pm * q for a, p, q in zip(M1, P1, P2))
    N2 = tuple(b + pm * p - pm * q for b, p, q in zip(M2, P1, P2))
    return M.input_noisy(N1), M.input_noisy(N2)


def _basis_limit(j: int, which: str):
    return sp.Rational(1, j + 1) if which == "inf" else sp.Integer(0)


@lru_cache(maxsize=None)
def margin_class_moments(code: str):
    """(E16) (p1, mu1, mu2, s2_1, s2_2, Dt, mean v, Var v) and J; identities and limits (E17)-(E18) checked."""
    P1, P2 = margin_weighted_submoments(code)
    check_identity(f"E16[{code}] P_1^0 = P_2^0", P1[0], P2[0])
    N1, N2 = margin_submoments(code)
    p1 = N1[0]
    check_identity(f"E16[{code}] P(y~=1) = 1/2", p1, sp.Rational(1, 2))
    half = sp.Rational(1, 2)
    mu1, mu2 = N1[1] / half, N2[1] / half
    v1, v2 = N1[2] / half - mu1**2, N2[2] / half - mu2**2
    Dt = sp.expand(mu1 - mu2)
    mean = sp.expand(N1[1] + N2[1])
    var = sp.expand((N1[2] + N2[2] - mean**2).subs(nv, 0))
    J = Dt**2 / (2 * (var + nv) - Dt**2 / 2)
    check_identity(f"E16[{code}] J = Dt^2/(2(Var v + nv) - Dt^2/2)", J, (mu1 - mu2) ** 2 / (v1 + v2))
    # (E18) limits
    clean = M.noisy_submoments("argmax", code)
    for which, ref in (("inf", {eta: pm}), ("zero", {eta: 0})):
        lim = {IB[j]: _basis_limit(j, which) for j in range(len(IB))}
        for c, (Nc, Rc) in enumerate(zip((N1, N2), clean), start=1):
            for k in range(KMAX + 1):
                check_identity(f"E18[{code}] tau -> {'oo' if which == 'inf' else '0'}: c={c}, k={k}",
                               Nc[k].subs(lim), Rc[k].subs(ref))
    return (p1, mu1, mu2, v1, v2), Dt, mean, var, J


def margin_theorem():
    """(E17) Dt_poly = (1+w) Dt_mono, Var v_poly = (1+w^2) Var v_mono, Dt_mono = E[|d|(1 - 2 pm e^{-z d})],
    and J_poly / J_mono = rho (4 - r)/(4 - rho r)."""
    _, Dm, _, Vm, Jm = margin_class_moments("mono")
    _, Dp, _, Vp, Jp = margin_class_moments("poly")
    check_identity("E17 Dt_poly = (1+w) Dt_mono", Dp, (1 + w) * Dm)
    check_identity("E17 Var v_poly = (1+w^2) Var v_mono", Vp, (1 + w**2) * Vm)
    Ed, Edz = margin_gap_moments()
    check_identity("E17 Dt_mono = E|d| - 2 pm E[|d| e^{-z|d|}]", Dm, Ed - 2 * pm * Edz)
    r = Dm**2 / (Vm + lam**2)
    rho = (1 + w) ** 2 / (1 + w**2)
    nvs = {nv: lam**2}
    check_identity("E17 J_mono = 2r/(4-r)", Jm.subs(nvs), 2 * r / (4 - r))
    check_identity("E17 J_poly/J_mono", Jp.subs(nv, (1 + w**2) * lam**2) * (4 - rho * r),
                   Jm.subs(nvs) * rho * (4 - r))
    return Ed, Edz


@lru_cache(maxsize=None)
def margin_gap_moments():
    """(E17) (E|x1-x2|, E[|x1-x2| exp(-z|x1-x2|)]) in the basis (argmax regions, both classes)."""
    tot = sp.Integer(0)
    for R in M.regions("argmax"):
        if R.name == "00":
            continue
        e = _poly_in_d_to_basis(d_) if R.name in ("10", "01") else _poly_in_d_to_basis(
            2 * sp.integrate(d_, (s_, 0, 1 - d_)))
        tot += R.prob * e
    Edz = sp.expand(tot)
    Ed = sp.factor(Edz.subs({IB[j]: _basis_limit(j, "inf") for j in range(len(IB))}))
    return Ed, Edz


# ----------------------------------------------------------------------------------------------- build
HEADER = '''"""GENERATED by `python -m theory.derive.label_noise` from theory/derive/label_noise.py - do not edit.

Numpy evaluation of the two-feature model under class-conditional (E13)-(E14) and margin-dependent
(E15)-(E17) label noise. I0..I5 are I_j(1/tau) = int_0^1 u^j exp(-u/tau) du (theory.two_feature._exp_basis).
All functions broadcast over their array arguments.
"""
# fmt: off
# flake8: noqa
import numpy
'''


def build(return_specs: bool = False):
    exprs: dict[str, dict[str, str]] = {}
    src = [HEADER]
    specs: list[tuple[str, tuple, tuple]] = []

    def emit(name, args, ex, doc):
        specs.append((name, tuple(args), tuple(ex)))
        src.append(emit_source(name, args, ex, doc))

    def record(name, e, eq):
        exprs[name] = {"expr": str(e), "eq": eq}

    # (E13) generic mixing and J
    mix = transition_mixing()
    emit("transition_moments", (pi1_, D_, mu2_, s1_, s2_, ca, cb, nv), mix,
         "(E13) (P(y~=1), mu~_1, mu~_2, s2~_1, s2~_2) under the transition (ca, cb).")
    for n_, e in zip(("p1", "mu1", "mu2", "s2_1", "s2_2"), mix):
        record(f"transition.{n_}", e, "E13")
    J = transition_J()
    record("transition.J", J, "E13")
    emit("transition_J", (pi1_, D_, s1_, s2_, ca, cb, nv), (J,), "(E13) Fisher J under the transition (ca, cb).")
    for task in M.TASKS:
        for code in M.CODES:
            _, (N1, N2) = transition_class_moments(task, code)
            emit(f"transition_submoments_{task}_{code}", (S, w, ca, cb, nv, n4), tuple(N1) + tuple(N2),
                 f"(E13)+(E6) E[v'^k 1{{y~=c}}], k = 0..{KMAX}, c = 1 then 2, task={task}, code={code}.")
    # (E14)
    R, one_minus_A = reversal_R()
    record("reversal.R", R, "E14")
    record("reversal.one_minus_A", one_minus_A, "E14")
    record("reversal.condition", sp.StrictGreaterThan(4 * S**2 * (1 + w) * (1 - A_),
                                                       3 * S + 1 + 12 * lam**2 / (1 - S)), "E14")
    emit("transition_order_argmax", (S, w, ca, cb, lam), (R.subs(A_, 1 - one_minus_A) + 4 * w * lam**2,),
         "(E14) R + 4 w lam^2: the sign of J_poly - J_mono under the transition (ca, cb), argmax.")
    emit("transition_one_minus_A", (ca, cb), (one_minus_A,), "(E14) 1 - A = 1 - alpha_1 - alpha_2 (argmax).")
    # (E15)-(E17)
    for code in M.CODES:
        N1, N2 = margin_submoments(code)
        emit(f"margin_submoments_argmax_{code}", (S, w, pm, nv, n4, *IB), tuple(N1) + tuple(N2),
             f"(E15)+(E6) E[v'^k 1{{y~=c}}], k = 0..{KMAX}, c = 1 then 2, argmax, code={code}.")
        mom, Dt, mean, var, Jm = margin_class_moments(code)
        emit(f"margin_moments_argmax_{code}", (S, w, pm, nv, *IB), mom,
             f"(E16) (P(y~=1), mu~_1, mu~_2, s2~_1, s2~_2), argmax, code={code}.")
        emit(f"margin_J_argmax_{code}", (S, w, pm, nv, *IB), (Jm,), f"(E16) Fisher J, argmax, code={code}.")
        record(f"margin.Dt.{code}", Dt, "E16")
        record(f"margin.var.{code}", sp.factor(var), "E16")
    Ed, Edz = margin_theorem()
    record("margin.E_gap", Ed, "E17")
    record("margin.E_gap_weighted", Edz, "E17")
    record("margin.J_ratio", sp.sympify("rho*(4 - r)/(4 - rho*r)"), "E17")
    emit("margin_gap_argmax", (S, *IB), (Ed, Edz),
         "(E17) (E|x1-x2|, E[|x1-x2| exp(-|x1-x2|/tau)]): Dt_mono = first - 2 pm second.")
    meta = {"generator": "python -m theory.derive.label_noise", "sympy": sp.__version__,
            "equations": "theory/derive/label_noise.py docstring (E13)-(E18)",
            "identities": list(dict.fromkeys(CHECKED))}
    out = json.dumps({"meta": meta, "expressions": exprs}, indent=1, sort_keys=True) + "\n", "\n\n".join(src)
    return (*out, specs) if return_specs else out


def fresh() -> dict[str, str]:
    js, py = build()
    return {"label_noise.json": js, "label_noise_generated.py": py}


def main(argv: list[str] | None = None) -> int:
    return run("python -m theory.derive.label_noise", __doc__.splitlines()[0], fresh, argv,
               detail=lambda: f" ({len(CHECKED)} identities)")


if __name__ == "__main__":
    sys.exit(main())
