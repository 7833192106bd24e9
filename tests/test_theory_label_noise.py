"""The two-feature model under class-conditional (transition) and margin-dependent label noise.

Exact tests (reductions, limits, the order theorems (E14)/(E17), validation, an independent quadrature of the
generated margin moments) and Monte Carlo property tests over the whole stated domain with tolerances from the
standard error (5 SE, theory.two_feature_claims), each paired with a deliberately wrong formula that the same
check must reject. Deeper runs: HYPOTHESIS_PROFILE=deep.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from theory import simulate as sm
from theory import two_feature as tf
from theory import two_feature_claims as TC

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
N = 1_000_000 if DEEP else 200_000  # Monte Carlo samples per property example

TASK = st.sampled_from(["argmax", "presence"])
CODE = st.sampled_from(["mono", "poly"])
NOISE = st.sampled_from(["gaussian", "uniform"])
S_ANY = st.floats(0.0, 0.995)
LAM = st.one_of(st.just(0.0), st.floats(1e-3, 3.0))
W = st.floats(0.05, 20.0)
TAU = st.one_of(st.just(math.inf), st.floats(1e-3, 1e3))


@st.composite
def transitions(draw):
    """(a, b) over the whole triangle a, b in [0, 1), a + b < 1."""
    a = draw(st.floats(0.0, 1.0, exclude_max=True))
    frac = draw(st.floats(0.0, 1.0, exclude_max=True))
    b = frac * (1.0 - a)
    if a + b >= 1.0:  # round-off at the edge
        b = math.nextafter(1.0 - a, 0.0)
        if a + b >= 1.0:
            b = 0.0
    return (a, b)


@st.composite
def label_points(draw, kind):
    task = "argmax" if kind == "margin" else draw(TASK)
    S = draw(S_ANY)
    if task == "presence":
        S = max(S, 0.01)  # class 2 needs x1 = 0
    p = {"task": task, "code": draw(CODE), "S": S, "eta": 0.0, "lam": draw(LAM), "w": draw(W), "noise": draw(NOISE)}
    if kind == "transition":
        p["transition"] = draw(transitions())
    else:
        p["margin"] = (draw(st.floats(0.0, 1.0)), draw(TAU))
    return p


def rng_for(seed):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------------------- reductions
@settings(max_examples=60)
@given(S=S_ANY, eta=st.floats(0.0, 0.5), lam=LAM, w=W, code=CODE, task=TASK)
def test_transition_eta_eta_is_symmetric_noise(S, eta, lam, w, code, task):
    """transition=(eta, eta) equals label_noise=eta to 1e-12 (J, class moments, probe, finite-sample terms)."""
    if task == "presence":
        S = max(S, 0.01)
    kw = dict(task=task, input_noise=lam, weight=w)
    a = tf.separation(code, S, label_noise=eta, **kw)
    b = tf.separation(code, S, transition=(eta, eta), **kw)
    assert b == pytest.approx(a, rel=1e-12, abs=1e-12)
    ma, mb = tf.class_moments(code, S, label_noise=eta, **kw), tf.class_moments(code, S, transition=(eta, eta), **kw)
    for k in ma:
        assert float(mb[k]) == pytest.approx(float(ma[k]), rel=1e-12, abs=1e-12)
    if eta < 0.5:
        pa, pb = tf.probe_threshold(code, S, label_noise=eta, **kw), tf.probe_threshold(code, S, transition=(eta, eta), **kw)
        assert pa["orientation"] == pb["orientation"]
        assert float(pb["threshold"]) == pytest.approx(float(pa["threshold"]), rel=1e-9, abs=1e-12)


@settings(max_examples=60)
@given(S=S_ANY, tau=TAU, lam=LAM, w=W, code=CODE)
def test_margin_zero_rate_is_clean(S, tau, lam, w, code):
    """margin_noise=(0, tau) equals the clean model (to 1e-12) for every tau."""
    kw = dict(input_noise=lam, weight=w)
    assert tf.separation(code, S, margin_noise=(0.0, tau), **kw) == pytest.approx(
        tf.separation(code, S, **kw), rel=1e-12, abs=1e-12)
    m0, m1 = tf.class_moments(code, S, **kw), tf.class_moments(code, S, margin_noise=(0.0, tau), **kw)
    for k in m0:
        assert float(m1[k]) == pytest.approx(float(m0[k]), rel=1e-12, abs=1e-12)
    assert float(tf.probe_error(code, S, margin_noise=(0.0, tau), **kw)) == pytest.approx(
        float(tf.probe_error(code, S, **kw)), abs=1e-12)


@settings(max_examples=60)
@given(S=S_ANY, pm=st.floats(0.0, 1.0), lam=LAM, w=W, code=CODE)
def test_margin_limits_in_tau(S, pm, lam, w, code):
    """(E18) tau = inf is symmetric noise eta = p_max (J is symmetric in eta <-> 1 - eta); tau -> 0 is clean."""
    kw = dict(input_noise=lam, weight=w)
    assert tf.separation(code, S, margin_noise=(pm, math.inf), **kw) == pytest.approx(
        tf.separation(code, S, label_noise=min(pm, 1.0 - pm), **kw), rel=1e-10, abs=1e-13)
    assert tf.separation(code, S, margin_noise=(pm, 1e-14), **kw) == pytest.approx(
        tf.separation(code, S, **kw), rel=1e-10, abs=1e-13)


def test_exp_basis_against_quadrature():
    """I_j(1/tau) = int_0^1 u^j exp(-u/tau) du on both sides of the series / incomplete-gamma switch (z = 1)."""
    import mpmath

    mpmath.mp.dps = 30
    taus = np.array([1e-6, 1e-3, 0.1, 0.5, 0.999999, 1.0, 1.000001, 2.0, 10.0, 1e3, 1e8, np.inf])
    got = tf._exp_basis(taus)
    for j in range(6):
        for t, g in zip(taus, got[j]):
            if np.isinf(t):
                ref = 1.0 / (j + 1)
            else:  # lower incomplete gamma in 30-digit arithmetic: int_0^1 u^j e^{-zu} du = gamma(j+1, z)/z^(j+1)
                z = 1 / mpmath.mpf(t)
                ref = float(mpmath.gammainc(j + 1, 0, z) / z ** (j + 1))
            assert g == pytest.approx(ref, rel=1e-13, abs=1e-300), (j, t)


@pytest.mark.parametrize("code", ["mono", "poly"])
@pytest.mark.parametrize("S, w, pm, tau, lam", [(0.0, 1.0, 0.4, 0.3, 0.0), (0.6, 2.5, 0.9, 0.05, 0.2),
                                                 (0.95, 0.3, 1.0, 3.0, 0.0)])
def test_margin_moments_against_independent_quadrature(code, S, w, pm, tau, lam):
    """The generated (E15)-(E16) class moments against a numerical integration over the regions of (E1) that
    never uses the basis I_j (scipy quad / dblquad of the flip probability times v^k)."""
    from scipy import integrate

    c2 = 0.0 if code == "mono" else -w
    p = lambda d: pm * math.exp(-d / tau)  # noqa: E731

    def sub(k):  # E[v^k 1{y~ = 1}], E[v^k 1{y~ = 2}] without input noise
        out = np.zeros(2)
        v = lambda x1, x2: (x1 + c2 * x2) ** k  # noqa: E731
        # atom (0, 0): label a fair coin, flips w.p. pm: still a fair coin
        out += S * S * v(0.0, 0.0) * 0.5
        # x1 ~ U, x2 = 0: y = 1
        f = integrate.quad(lambda x: v(x, 0.0) * (1 - p(x)), 0, 1, epsabs=1e-14, epsrel=1e-13)[0]
        g = integrate.quad(lambda x: v(x, 0.0) * p(x), 0, 1, epsabs=1e-14, epsrel=1e-13)[0]
        out += S * (1 - S) * np.array([f, g])
        # x1 = 0, x2 ~ U: y = 2
        f = integrate.quad(lambda x: v(0.0, x) * p(x), 0, 1, epsabs=1e-14, epsrel=1e-13)[0]
        g = integrate.quad(lambda x: v(0.0, x) * (1 - p(x)), 0, 1, epsabs=1e-14, epsrel=1e-13)[0]
        out += S * (1 - S) * np.array([f, g])
        # both active, uniform on the square: y = 1 iff x1 > x2
        for lab, keep in ((0, lambda x1, x2: (x1 > x2) * (1 - p(abs(x1 - x2))) + (x2 > x1) * p(abs(x1 - x2))),
                          (1, lambda x1, x2: (x2 > x1) * (1 - p(abs(x1 - x2))) + (x1 > x2) * p(abs(x1 - x2)))):
            val = 0.0
            for lo, hi in (((lambda x1: 0.0), (lambda x1: x1)), ((lambda x1: x1), (lambda x1: 1.0))):
                val += integrate.dblquad(lambda x2, x1: v(x1, x2) * keep(x1, x2), 0, 1, lo, hi,
                                         epsabs=1e-13, epsrel=1e-12)[0]
            out[lab] += (1 - S) ** 2 * val
        return out

    M0, M1, M2 = sub(0), sub(1), sub(2)
    nv = lam * lam * (1.0 if code == "mono" else 1.0 + w * w)
    mean = M1 / M0
    var = M2 / M0 - mean**2 + nv
    got = tf.class_moments(code, S, margin_noise=(pm, tau), input_noise=lam, weight=w)
    assert float(got["p1"]) == pytest.approx(M0[0], abs=1e-10)
    for k, ref in (("mean1", mean[0]), ("mean2", mean[1]), ("var1", var[0]), ("var2", var[1])):
        assert float(got[k]) == pytest.approx(ref, rel=1e-8, abs=1e-10), k
    J = (mean[0] - mean[1]) ** 2 / (var[0] + var[1])
    assert float(tf.separation(code, S, margin_noise=(pm, tau), input_noise=lam, weight=w)) == pytest.approx(
        J, rel=1e-8, abs=1e-12)


# ----------------------------------------------------------------------------------------- the order theorems
@settings(max_examples=200)
@given(S=S_ANY, ab=transitions(), lam=LAM, w=st.floats(0.01, 100.0))
def test_transition_order_is_the_sign_of_R(S, ab, lam, w):
    """(E14): sign(J_poly - J_mono) = sign(R + 4 w lam^2), and J_mono > J_poly iff 1 - A > q*."""
    Jm = float(tf.separation("mono", S, transition=ab, input_noise=lam, weight=w))
    Jp = float(tf.separation("poly", S, transition=ab, input_noise=lam, weight=w))
    R = float(tf.transition_order(S, ab, input_noise=lam, weight=w))
    if abs(Jp - Jm) > 1e-10 * max(Jp, Jm) and abs(R) > 1e-12:
        assert np.sign(Jp - Jm) == np.sign(R)
        q = float(tf.transition_reversal_level(S, input_noise=lam, weight=w))
        assert (Jm > Jp) == (float(tf.transition_one_minus_A(*ab)) > q)
    if w <= 1.0:  # the region is empty
        assert Jp >= Jm * (1 - 1e-12)


def test_transition_reversal_region_known_points():
    # inside: S = 0.9, w = 3, (0, 0.9) (1 - A = 0.4737 > q* = 0.2855)
    Jm, Jp = (float(tf.separation(c, 0.9, transition=(0.0, 0.9), weight=3.0)) for c in ("mono", "poly"))
    assert Jm > Jp
    assert float(tf.transition_reversal_level(0.9, weight=3.0)) == pytest.approx(3.7 / (4 * 0.81 * 4), rel=1e-14)
    # the region is empty at w = 1 for every S < 1 (2 S^2 * 2 < 3S + 1), and shrinks with input noise
    S = np.linspace(0.0, 0.9999, 10001)
    assert np.all(tf.transition_reversal_level(S, weight=1.0) > 0.5)
    assert float(tf.transition_reversal_level(0.9, weight=3.0, input_noise=0.2)) > 0.5
    # the corner limit a -> 0, b -> 1: 1 - A -> 1/2; the anti-diagonal a + b -> 1: 1 - A -> 0
    assert float(tf.transition_one_minus_A(0.0, 1 - 1e-12)) == pytest.approx(0.5, abs=1e-12)
    assert abs(float(tf.transition_one_minus_A(0.3, 0.7 - 1e-12))) < 1e-11


def test_separation_crossover_lambda_finds_the_transition_crossing():
    """The lam* of separation_crossover_lambda exists under class-conditional noise (so its isnan checks
    elsewhere can fail) and is where the two J meet; under symmetric and margin noise it never exists."""
    star, win = tf.separation_crossover_lambda(0.9, weight=3.0, transition=(0.0, 0.9))
    assert np.isfinite(star) and win == 1.0
    J = lambda c, lam: float(tf.separation(c, 0.9, weight=3.0, transition=(0.0, 0.9), input_noise=lam))  # noqa: E731
    assert J("mono", star) == pytest.approx(J("poly", star), rel=1e-10)
    assert J("mono", 0.9 * star) > J("poly", 0.9 * star) and J("mono", 1.1 * star) < J("poly", 1.1 * star)
    R0 = float(tf.transition_order(0.9, (0.0, 0.9), weight=3.0))
    assert star**2 == pytest.approx(-R0 / 12.0, rel=1e-12)
    S, w = np.linspace(0, 0.99, 34)[:, None], np.exp(np.linspace(-3, 3, 13))[None, :]
    assert np.all(np.isnan(tf.separation_crossover_lambda(S, weight=w, margin_noise=(0.7, 0.2))[0]))
    assert np.all(np.isnan(tf.separation_crossover_lambda(S, weight=w, label_noise=0.3)[0]))


@settings(max_examples=200)
@given(S=S_ANY, pm=st.floats(0.0, 1.0), tau=TAU, lam=LAM, w=st.floats(0.01, 100.0))
def test_margin_noise_never_reverses_J(S, pm, tau, lam, w):
    """(E17): J_poly / J_mono = rho (4 - r)/(4 - rho r) >= rho = (1+w)^2/(1+w^2)."""
    kw = dict(margin_noise=(pm, tau), input_noise=lam, weight=w)
    Jm, Jp = (float(tf.separation(c, S, **kw)) for c in ("mono", "poly"))
    rho = (1 + w) ** 2 / (1 + w * w)
    if Jm > 1e-14:
        assert Jp / Jm >= rho * (1 - 1e-9)
    else:
        assert Jp <= 1e-13 * rho * 4  # both vanish together (Dt = 0)


def test_margin_flip_level_inverts_the_probe():
    ps = float(tf.margin_flip_level(0.3, 5.0))
    assert 0.5 < ps < 1.0
    for code in ("mono", "poly"):
        below = tf.probe_threshold(code, 0.3, margin_noise=(ps - 1e-3, 5.0))
        above = tf.probe_threshold(code, 0.3, margin_noise=(ps + 1e-3, 5.0))
        assert below["orientation"] == 1.0 and above["orientation"] == -1.0
    assert float(tf.margin_flip_level(0.3, math.inf)) == pytest.approx(0.5, rel=1e-14)
    assert float(tf.margin_flip_level(0.3, 0.05)) > 1.0  # no inversion possible for small tau
    e = {c: float(tf.probe_error(c, 0.3, margin_noise=(0.95, 5.0))) for c in ("mono", "poly")}
    assert e["mono"] < e["poly"]  # the inverted rule of the better code errs more


def test_probe_transition_level_and_reversal():
    """The probe under (a, b) cuts the clean fit at c; inside an interval of probe_transition_reversal mono's
    clean error is lower, outside (between intervals) it is not."""
    assert float(tf.probe_transition_level(0.2, 0.2)) == pytest.approx(0.5, abs=1e-15)
    r = tf.probe_transition_reversal(0.9, weight=3.0)
    assert len(r["intervals"]) >= 1

    def errors(c):
        a, b = (1 - 0.5 / c, 0.0) if c > 0.5 else (0.0, (0.5 - c) / (1 - c))
        assert float(tf.probe_transition_level(a, b)) == pytest.approx(c, abs=1e-12)
        return [float(tf.probe_error(code, 0.9, weight=3.0, transition=(a, b))) for code in ("mono", "poly")]

    edges = [x for iv in r["intervals"] for x in iv]
    for lo, hi in r["intervals"]:
        em, ep = errors(0.5 * (lo + hi))
        assert em < ep
    for lo, hi in zip(edges[1:-1:2], edges[2::2]):  # the gaps between intervals
        em, ep = errors(0.5 * (lo + hi))
        assert em >= ep - 1e-12
    assert tf.probe_transition_reversal(0.9, weight=1.0)["intervals"] == []
    # c = 1/2 (symmetric noise) is never inside: the probe ignores symmetric noise and poly is ahead clean
    assert not any(lo < 0.5 < hi for lo, hi in r["intervals"])


# ----------------------------------------------------------------------------------------- validation
def _funcs():
    return [
        lambda **k: tf.separation("mono", 0.3, **k),
        lambda **k: tf.class_moments("poly", 0.3, **k),
        lambda **k: tf.bayes_error("mono", 0.3, **k),
        lambda **k: tf.probe_error("poly", 0.3, **k),
        lambda **k: tf.probe_threshold("mono", 0.3, **k),
        lambda **k: tf.finite_sample_error("poly", 0.3, 100, **k),
    ]


@pytest.mark.parametrize("fn", range(6))
@pytest.mark.parametrize("kw, match", [
    (dict(transition=(0.6, 0.4)), r"transition == \(0\.6, 0\.4\) has a \+ b == 1\.0, must be < 1"),
    (dict(transition=(0.7, 0.9)), r"a \+ b == 1\.6, must be < 1"),
    (dict(transition=(1.0, 0.0)), r"transition a .* == 1, must be in \[0, 1\)"),
    (dict(transition=(0.1, -0.1)), r"transition b .* == -0\.1, must be in \[0, 1\)"),
    (dict(transition=(0.1, float("nan"))), r"transition b .* == nan, must be in \[0, 1\)"),
    (dict(transition=0.2), r"transition == 0\.2, must be a pair"),
    (dict(margin_noise=(1.5, 0.2)), r"margin_noise p_max == 1\.5, must be in \[0, 1\]"),
    (dict(margin_noise=(-0.1, 0.2)), r"margin_noise p_max == -0\.1, must be in \[0, 1\]"),
    (dict(margin_noise=(0.5, 0.0)), r"margin_noise tau == 0, must be in \(0, inf\]"),
    (dict(margin_noise=(0.5, -2.0)), r"margin_noise tau == -2, must be in \(0, inf\]"),
    (dict(margin_noise=(0.5, float("nan"))), r"margin_noise tau == nan, must be in \(0, inf\]"),
    (dict(label_noise=0.1, transition=(0.1, 0.1)), r"label_noise == 0\.1 and transition are both given"),
    (dict(label_noise=0.1, margin_noise=(0.1, 1.0)), r"label_noise == 0\.1 and margin_noise are both given"),
    (dict(transition=(0.1, 0.1), margin_noise=(0.1, 1.0)), r"are both given, must give at most one"),
    (dict(task="presence", margin_noise=(0.1, 1.0)), r"margin_noise == \(0\.1, 1\.0\) with task == 'presence', "
                                                     r"must be used with task 'argmax'"),
])
def test_bad_label_noise_input(fn, kw, match):
    with pytest.raises(ValueError, match=match):
        _funcs()[fn](**kw)


def test_label_noise_arrays_broadcast():
    a = np.array([0.0, 0.1, 0.3])[:, None]
    J = tf.separation("poly", [0.2, 0.5], transition=(a, 0.2), weight=2.0)
    assert J.shape == (3, 2)
    assert J[1, 1] == pytest.approx(float(tf.separation("poly", 0.5, transition=(0.1, 0.2), weight=2.0)), rel=1e-14)
    tau = np.array([0.1, 1.0, np.inf])
    assert tf.separation("mono", 0.3, margin_noise=(0.4, tau)).shape == (3,)
    assert tf.probe_error("mono", [0.1, 0.3, 0.5], margin_noise=(0.4, tau)).shape == (3,)
    assert tf.bayes_error("mono", 0.3, transition=(a, 0.2)).shape == (3, 1)  # validated, broadcast, no effect
    with pytest.raises(ValueError, match=r"transition == .* has a \+ b == 1\.1"):
        tf.separation("poly", 0.3, transition=(np.array([0.1, 0.9]), 0.2))


# ----------------------------------------------------------------------------------------- Monte Carlo properties
PROPS = {"moments": TC.verify_moments, "separation": TC.verify_separation, "probe": TC.verify_probe}


@pytest.mark.parametrize("kind", ["transition", "margin"])
@pytest.mark.parametrize("what", sorted(PROPS))
@settings(max_examples=8 if not DEEP else 200)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_property_against_monte_carlo(kind, what, data, seed):
    """Closed form vs Monte Carlo (5 SE) over the whole domain of each label-noise model. Monte Carlo needs both
    observed classes in the sample: points where one has fewer than 100 expected samples (a or b within ~1e-3
    of 1 with the other near 0) are skipped here; their limits are exact tests above."""
    p = data.draw(label_points(kind))
    kw = {"transition": p["transition"]} if kind == "transition" else {"margin_noise": p["margin"]}
    p1 = float(tf.class_moments(p["code"], p["S"], task=p["task"], weight=p["w"], **kw)["p1"])
    assume(min(p1, 1.0 - p1) * N >= 100)
    r = PROPS[what](p, rng_for(seed), n=N)
    assert r.passed, r.evidence


BAD_T = dict(task="argmax", code="mono", S=0.6, eta=0.0, lam=0.1, w=1.5, noise="gaussian", transition=(0.05, 0.5))
BAD_M = dict(task="argmax", code="poly", S=0.4, eta=0.0, lam=0.1, w=1.5, noise="gaussian", margin=(0.8, 0.15))


def test_wrong_transition_formulas_are_caught():
    """The same checks reject (a, b) applied swapped: in J, in the class moments and in the probe."""
    assert TC.verify_separation(BAD_T, rng_for(1), n=N).passed
    assert not TC.verify_separation(BAD_T, rng_for(1), n=N, J_fn=TC.wrong_transition_separation).passed

    def swapped_moments(code, S, **kw):
        a, b = kw.pop("transition")
        return tf.class_moments(code, S, transition=(b, a), **kw)

    assert TC.verify_moments(BAD_T, rng_for(2), n=N).passed
    assert not TC.verify_moments(BAD_T, rng_for(2), n=N, moments_fn=swapped_moments).passed

    def clean_probe(code, S, **kw):  # ignores the label noise (right only for symmetric noise)
        kw.pop("transition")
        return tf.probe_threshold(code, S, **kw)

    assert TC.verify_probe(BAD_T, rng_for(3), n=N).passed
    assert not TC.verify_probe(BAD_T, rng_for(3), n=N, threshold_fn=clean_probe).passed


def test_wrong_margin_formulas_are_caught():
    """The same checks reject margin noise taken as constant-rate noise p_max (tau = inf)."""
    assert TC.verify_separation(BAD_M, rng_for(4), n=N).passed
    assert not TC.verify_separation(BAD_M, rng_for(4), n=N, J_fn=TC.wrong_margin_separation).passed

    def constant_rate(code, S, **kw):
        pm, _ = kw.pop("margin_noise")
        return tf.class_moments(code, S, margin_noise=(pm, math.inf), **kw)

    assert TC.verify_moments(BAD_M, rng_for(5), n=N).passed
    assert not TC.verify_moments(BAD_M, rng_for(5), n=N, moments_fn=constant_rate).passed
    inv = dict(BAD_M, margin=(0.95, 5.0), lam=0.0)  # p_max > p*: the fit inverts

    def never_inverts(code, S, **kw):
        out = dict(tf.probe_threshold(code, S, **kw))
        out["orientation"] = np.abs(out["orientation"])
        return out

    assert TC.verify_probe(inv, rng_for(6), n=N).passed
    assert not TC.verify_probe(inv, rng_for(6), n=N, threshold_fn=never_inverts).passed


def test_engine_flip_labels_is_the_theory_model():
    """sims.engine.generators.flip_labels(kind='margin') / kind='matrix' on two planted features give the J of
    the closed forms (the sweeps use the same noise models as the theory)."""
    from sims.engine.generators import FeatureSpec, flip_labels, make_labels, sample_features

    S, n = 0.4, 400_000
    x = np.asarray(sample_features(FeatureSpec(2, sparsity=S), n, 11))
    y = np.asarray(make_labels(x, "argmax", 11))
    v = {"mono": x[:, 0], "poly": x[:, 0] - 2.0 * x[:, 1]}
    ym = np.asarray(flip_labels(y, 2, 0.8, 12, kind="margin", margin=np.abs(x[:, 0] - x[:, 1]), scale=0.25))
    yt = np.asarray(flip_labels(y, 2, 1.0, 13, kind="matrix", matrix=[[0.8, 0.2], [0.5, 0.5]]))
    for code in ("mono", "poly"):
        for labels, kw in ((ym, dict(margin_noise=(0.8, 0.25))), (yt, dict(transition=(0.2, 0.5)))):
            J, se = sm.fisher_mc(v[code], labels + 1)
            assert abs(J - float(tf.separation(code, S, weight=2.0, **kw))) <= 5 * se
    # nested in the rate, and the kind's own inputs are validated
    yr = np.asarray(flip_labels(y, 2, np.array([[0.2], [0.9]]), 12, kind="margin", margin=np.abs(x[:, 0] - x[:, 1]),
                                scale=0.25))
    assert np.all((yr[0] != y) <= (yr[1] != y))
    with pytest.raises(ValueError, match=r"margin contains -1, must be in \[0, inf\)"):
        flip_labels(y[:3], 2, 0.5, 0, kind="margin", margin=np.array([0.1, -1.0, 0.2]), scale=1.0)
    with pytest.raises(ValueError, match=r"scale == 0\.0, must be in \(0, inf\]"):
        flip_labels(y[:3], 2, 0.5, 0, kind="margin", margin=np.zeros(3), scale=0.0)
    with pytest.raises(ValueError, match="both must be given for kind='margin'"):
        flip_labels(y[:3], 2, 0.5, 0, kind="margin")
    with pytest.raises(ValueError, match="kind == 'symmetric'; pass kind='margin'"):
        flip_labels(y[:3], 2, 0.5, 0, margin=np.zeros(3), scale=1.0)


# ----------------------------------------------------------------------------------------- sweeps and report
def _task_data(n=8, S=0.7, N=20000, seed=3):
    from sims.engine.generators import FeatureSpec
    from sims.robustness import scenarios as sc

    return sc.make_task(FeatureSpec(n, sparsity=S), N, 100, seed)


def test_sweep_label_noise_kinds():
    """The toy-model sweep's opt-in kinds: classcond moves only odd labels, to label - 1, at the rate; margin
    moves a label to the runner-up feature with probability rate exp(-margin / tau) (5 SE), nested in the rate;
    the margin sweep's cell builds the same labels."""
    from sims.margins import cell as mcell
    from sims.robustness import scenarios as sc

    data = _task_data()
    y = data.y_train
    Y = sc.noisy_labels(data, [0.0, 0.5, 1.0], kind="classcond")
    odd = y % 2 == 1
    assert np.array_equal(Y[0], y) and np.array_equal(Y[2], np.where(odd, y - 1, y))
    moved = Y[1] != y
    assert not np.any(moved & ~odd) and np.all(Y[1][moved] == y[moved] - 1)
    f = moved[odd].mean()
    assert abs(f - 0.5) <= 5 * math.sqrt(0.25 / odd.sum())
    tau = 0.05
    Y = sc.noisy_labels(data, [0.3, 0.9], kind="margin", tau=tau)
    x = data.x_train
    srt = np.sort(x, axis=1)
    p = 0.9 * np.exp(-(srt[:, -1] - srt[:, -2]) / tau)
    moved = Y[1] != y
    assert abs(moved.mean() - p.mean()) <= 5 * math.sqrt(np.sum(p * (1 - p))) / len(p)
    runner = np.argsort(-x, axis=1, kind="stable")
    assert np.all((Y[1][moved] == runner[moved, 1]) | (Y[1][moved] == runner[moved, 0]))
    assert np.all(x[moved, Y[1][moved]] == srt[moved, -2])  # to the runner-up value
    assert np.all((Y[0] != y) <= moved)  # nested in the rate
    cell = {"label_noise_kind": "margin", "n_features": 8, "margin_tau": tau}
    got = mcell._noisy_labels(cell, x, y, np.array([0.3, 0.9]), 5)
    assert np.all(x[got[1] != y, got[1][got[1] != y]] == srt[got[1] != y, -2])
    assert mcell._label_noise_name(cell) == "label_margin" and mcell._label_noise_name({}) == "label"
    with pytest.raises(ValueError, match=r"tau == 0, must be in \(0, 1e\+06\]|tau == 0"):
        sc.noisy_labels(data, [0.3], kind="margin", tau=0.0)


def test_sweep_configs_default_to_symmetric_noise():
    from sims.margins.config import MarginConfig
    from sims.robustness.config import RobustnessConfig

    assert MarginConfig().label_noise_kind == "symmetric" and MarginConfig.quick().label_noise_kind == "symmetric"
    assert RobustnessConfig().label_noise_kind == ("symmetric", "pair")
    with pytest.raises(ValueError, match="margin_tau"):
        MarginConfig(margin_tau=0.0)
    with pytest.raises(ValueError, match="margin_tau"):
        RobustnessConfig(margin_tau=-1.0)


def test_label_noise_models_figure_draws():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reports.figures import label_noise_models_figure

    rows = [{"scenario": "label_noise", "record": "accuracy", "sparsity": 0.9, "m": 20, "n_train": 100, "kind": k,
             "level": lv, "diff_mean": -0.1 + 0.05 * lv, "diff_lo": -0.2, "diff_hi": 0.0}
            for k in ("symmetric", "classcond", "margin") for lv in (0.0, 0.4, 0.8)]
    for args in ((rows, (0.9, 20, 100)), (None, None)):
        fig = plt.figure(figsize=(9, 3))
        label_noise_models_figure(*args)(fig, dict(left=0.06, right=0.98, top=0.85, bottom=0.2))
        assert len(fig.axes) == 3
        if args[0] is not None:
            assert len(fig.axes[2].lines) >= 3  # one curve per kind (and the zero line)
        plt.close(fig)


@pytest.mark.parametrize("p", [
    dict(task="argmax", code="poly", S=0.3, eta=0.0, lam=0.2, w=1.0, noise="gaussian", transition=(0.1, 0.3)),
    dict(task="argmax", code="mono", S=0.3, eta=0.0, lam=0.2, w=1.0, noise="gaussian", margin=(0.4, 0.2)),
], ids=["transition", "margin"])
def test_finite_sample_error_under_label_models(p):
    """The delta-method expected error of the n-sample LS probe (E11) with the sub-moments of (E13) / (E15)
    against simulated probes (each fitted rule scored exactly), as claim tf.finite_sample."""
    r = TC.verify_finite_sample(p, rng_for(5), ns=(200, 1000), reps=3000)
    assert r.passed, r.evidence
