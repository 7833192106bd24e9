"""theory.two_feature: known answers, broadcasting, validation, and the exact theorems as property tests.

The Monte Carlo comparisons live in tests/test_theory_claims.py; here everything is exact.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from theory import two_feature as tf

S_ok = st.floats(0.0, 0.999)
S_pos = st.floats(0.02, 0.999)
ETA_ok = st.floats(0.0, 0.5)
ETA_lt = st.floats(0.0, 0.49)
LAM_ok = st.one_of(st.just(0.0), st.floats(1e-4, 20.0))
W_ok = st.floats(0.01, 100.0)


# ----------------------------------------------------------------------------------------- known answers
def test_hand_values_argmax_clean():
    # S = 0: mono D = 1/3, V = 1/9 -> J = 1; poly (w = 1) D = 2/3, V = 1/9 -> J = 4
    assert tf.separation("mono", 0.0) == pytest.approx(1.0, rel=1e-14)
    assert tf.separation("poly", 0.0) == pytest.approx(4.0, rel=1e-14)
    # input noise: J = D^2 / (V + 2 nv), nv = lam^2 (mono), 2 lam^2 (poly, w = 1)
    assert tf.separation("mono", 0.0, input_noise=0.5) == pytest.approx((1 / 9) / (1 / 9 + 2 * 0.25), rel=1e-14)
    assert tf.separation("poly", 0.0, input_noise=0.5) == pytest.approx((4 / 9) / (1 / 9 + 4 * 0.25), rel=1e-14)
    # label noise at S = 0, mono: (1 - 2 eta)^2 / (1 + 2 eta (1 - eta))
    assert tf.separation("mono", 0.0, label_noise=0.2) == pytest.approx(0.36 / 1.32, rel=1e-14)


def test_hand_values_presence_and_limits():
    # presence, mono: class 1 = U(0, 1), class 2 = atom at 0 -> J = (1/4) / (1/12) = 3 for every S > 0
    assert tf.separation("mono", [0.1, 0.5, 0.9], task="presence") == pytest.approx([3, 3, 3], rel=1e-13)
    assert tf.separation("mono", 0.5, task="detect") == tf.separation("mono", 0.5, task="presence")
    assert np.isnan(tf.separation("mono", 0.0, task="presence"))  # no class 2 at all
    assert tf.separation("poly", 0.3, label_noise=0.5) == 0.0
    cm = tf.class_moments("mono", 0.0)
    assert (cm["p1"], cm["mean1"], cm["mean2"], cm["var1"], cm["var2"]) == pytest.approx(
        (0.5, 2 / 3, 1 / 3, 1 / 18, 1 / 18), rel=1e-14)


def test_hand_values_errors():
    assert tf.bayes_error("mono", 0.0) == pytest.approx(0.25, abs=1e-14)  # threshold 1/2 on x1
    S = np.array([0.0, 0.3, 0.7])
    np.testing.assert_allclose(tf.bayes_error("poly", S), S**2 / 2, atol=1e-14)  # only coin-flip ties err
    np.testing.assert_allclose(tf.bayes_error("mono", S[1:], task="presence"), 0.0, atol=1e-15)
    assert tf.probe_error("mono", 0.0) == pytest.approx(0.25, abs=1e-14)  # LS threshold E v = 1/2
    np.testing.assert_allclose(tf.probe_error("poly", S), S**2 / 2, atol=1e-14)
    # mono argmax S = 0.7 without noise: best rule 'class 1 iff v > 0': errs on the class-1 atom and class-2 mass
    assert tf.bayes_error("mono", 0.7) == pytest.approx(0.7**2 / 2 + 0.3**2 / 2, abs=1e-14)


def test_gaussian_piece_vs_quadrature():
    """(E12) closed form against brute-force quadrature, on both sides of the piece and for narrow ones."""
    from scipy import integrate, special

    for a, b, ha, hb, s in [(0.0, 1.0, 0.0, 2.0, 0.3), (-0.5, 0.2, 1.0, 0.4, 0.05), (0.0, 1e-4, 3.0, 1.0, 0.2)]:
        for tau in (a - 0.4, 0.5 * (a + b), b + 0.1, b + 3 * s):
            Q, q, dq = tf._gauss_piece(np.array(tau), np.array(a), np.array(b), np.array(ha), np.array(hb),
                                       np.array(s))
            p = lambda x: ha + (hb - ha) * (x - a) / (b - a)  # noqa: E731
            Qn = integrate.quad(lambda x: p(x) * special.ndtr((tau - x) / s), a, b, epsabs=1e-14)[0]
            qn = integrate.quad(lambda x: p(x) * np.exp(-0.5 * ((tau - x) / s) ** 2) / (s * math.sqrt(2 * math.pi)),
                                a, b, epsabs=1e-14)[0]
            assert float(Q) == pytest.approx(Qn, abs=1e-12)
            assert float(q) == pytest.approx(qn, abs=1e-11)
            h = 1e-5
            dqn = (float(tf._gauss_piece(np.array(tau + h), np.array(a), np.array(b), np.array(ha), np.array(hb),
                                         np.array(s))[1]) - float(tf._gauss_piece(
                np.array(tau - h), np.array(a), np.array(b), np.array(ha), np.array(hb), np.array(s))[1])) / (2 * h)
            assert float(dq) == pytest.approx(dqn, abs=1e-5 * max(1.0, abs(dqn)))


def test_uniform_cdf_is_trapezoid():
    """The uniform-noise CDF against the convolution of two uniform laws computed by quadrature."""
    from scipy import integrate

    c1, c2 = 0.7, 0.3
    for z in (-1.2, -0.9, -0.5, 0.0, 0.35, 0.8, 1.1):
        ref = integrate.quad(lambda e: np.clip((z - e + c1) / (2 * c1), 0, 1) / (2 * c2), -c2, c2,
                             points=[z - c1, z + c1])[0]
        assert float(tf._unif_cdf(np.array(z), c1, c2)) == pytest.approx(ref, abs=1e-12)


def test_bayes_error_matches_brute_force_threshold_scan():
    """The best threshold beats (or ties) every threshold of a fine scan of the exact error."""
    for code, task, S, lam, w, noise in [("poly", "argmax", 0.3, 0.2, 1.7, "gaussian"),
                                         ("mono", "presence", 0.5, 0.1, 1.0, "uniform"),
                                         ("poly", "presence", 0.2, 0.0, 0.6, "gaussian")]:
        best = float(tf.bayes_error(code, S, task=task, input_noise=lam, weight=w, noise=noise))
        t = np.linspace(-3, 3, 60001)
        scan = min(tf.rule_error(code, S, t, o, task=task, input_noise=lam, weight=w, noise=noise).min()
                   for o in (1, -1))
        assert best <= scan + 1e-12
        assert best >= scan - 1e-4  # the scan's spacing 1e-4 bounds how much better the optimum can be


# ----------------------------------------------------------------------------------------- broadcasting
def test_broadcasting_shapes_and_scalars():
    S = np.linspace(0, 0.9, 4)[:, None]
    eta = np.array([0.0, 0.1, 0.3])
    J = tf.separation("poly", S, label_noise=eta, input_noise=0.2, weight=2.0)
    assert J.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert J[i, j] == pytest.approx(tf.separation("poly", S[i, 0], label_noise=eta[j], input_noise=0.2,
                                                          weight=2.0), rel=1e-13)
    assert isinstance(tf.separation("mono", 0.2), np.floating)
    assert tf.separation("mono", 0.2, weight=np.ones((2, 5))).shape == (2, 5)  # weight broadcasts for mono too
    assert tf.bayes_error("poly", [0.1, 0.2], input_noise=[[0.0], [0.1]]).shape == (2, 2)
    big = np.random.default_rng(0).uniform(0, 0.9, 200_000)  # the chunked path equals the direct one
    np.testing.assert_allclose(tf.separation("poly", big, label_noise=0.2, input_noise=0.3, weight=0.7),
                               tf.separation("poly", big[:, None], label_noise=0.2, input_noise=0.3, weight=0.7)[:, 0],
                               rtol=1e-13)


# ----------------------------------------------------------------------------------------- validation
def _bad_floats(lo_ok, hi_ok, lo_closed=True, hi_closed=True):
    below = st.floats(max_value=lo_ok, exclude_max=lo_closed, allow_nan=False) if lo_ok is not None else st.nothing()
    above = st.floats(min_value=hi_ok, exclude_min=hi_closed, allow_nan=False) if hi_ok is not None else st.nothing()
    return st.one_of(below, above, st.just(float("nan")))


FUNCS = [
    lambda **k: tf.separation(**k),
    lambda **k: tf.class_moments(**k),
    lambda **k: tf.bayes_error(**k),
    lambda **k: tf.probe_error(**k),
    lambda **k: tf.finite_sample_error(n=100, **k),
]
BAD = {
    "sparsity": _bad_floats(0.0, 1.0, hi_closed=False),
    "label_noise": _bad_floats(0.0, 0.5),
    "input_noise": st.one_of(st.floats(max_value=0.0, exclude_max=True, allow_nan=False),
                             st.just(float("nan")), st.just(float("inf"))),
    "weight": st.one_of(st.floats(max_value=0.0, allow_nan=False), st.just(float("nan")), st.just(float("inf"))),
}


@pytest.mark.parametrize("fi", range(len(FUNCS)))
@pytest.mark.parametrize("arg", list(BAD))
@settings(max_examples=15)
@given(data=st.data())
def test_bad_numbers_raise_naming_the_argument(fi, arg, data):
    bad = data.draw(BAD[arg])
    as_array = data.draw(st.booleans())
    kw = dict(code="poly", sparsity=0.3, task="argmax", label_noise=0.1, input_noise=0.1, weight=1.0)
    kw[arg] = np.array([0.1 if arg != "weight" else 1.0, bad]) if as_array else bad
    with pytest.raises(ValueError, match=arg):
        FUNCS[fi](**kw)


@pytest.mark.parametrize("fi", range(len(FUNCS)))
@settings(max_examples=15)
@given(name=st.text(max_size=8), which=st.sampled_from(["code", "task", "noise"]))
def test_unknown_options_raise_naming_the_argument(fi, name, which):
    allowed = {"code": tf.CODES, "task": tf.TASKS, "noise": tf.NOISE_KINDS}[which]
    if name in allowed:
        return
    kw = dict(code="mono", sparsity=0.3, task="argmax")
    kw[which] = name
    with pytest.raises(ValueError, match=which):
        FUNCS[fi](**kw)


def test_finite_sample_rejects_uniform_noise_and_bad_n():
    with pytest.raises(ValueError, match="noise"):
        tf.finite_sample_terms("mono", 0.3, input_noise=0.1, noise="uniform")
    with pytest.raises(ValueError, match="n =="):
        tf.finite_sample_error("mono", 0.3, 1)
    with pytest.raises(ValueError, match="method"):
        tf.finite_sample_error("mono", 0.3, 10, method="exact")


# ----------------------------------------------------------------------------------------- theorems (exact)
@settings(max_examples=60)
@given(S=S_ok, eta=ETA_lt, lam=LAM_ok, w=W_ok)
def test_argmax_poly_always_separates_better(S, eta, lam, w):
    """claim tf.J.argmax_poly_wins: no crossover in eta or lam, any w."""
    Jm = tf.separation("mono", S, label_noise=eta, input_noise=lam, weight=w)
    Jp = tf.separation("poly", S, label_noise=eta, input_noise=lam, weight=w)
    assert Jp > Jm
    star, winner = tf.separation_crossover_lambda(S, label_noise=eta, weight=w)
    assert np.isnan(star) and winner == 1


@settings(max_examples=60)
@given(S=S_pos, eta=ETA_lt, lam=LAM_ok, w=W_ok)
def test_presence_mono_always_separates_better(S, eta, lam, w):
    """claim tf.J.presence_mono_wins."""
    assert tf.separation("mono", S, task="presence", label_noise=eta, input_noise=lam, weight=w) > \
        tf.separation("poly", S, task="presence", label_noise=eta, input_noise=lam, weight=w)


@settings(max_examples=60)
@given(S=S_ok, eta=ETA_ok, w=W_ok, code=st.sampled_from(tf.CODES))
def test_argmax_label_noise_formula(S, eta, w, code):
    """claim tf.J.argmax_label_noise_order: J(eta) = (1-2 eta)^2 J0 / (1 + 2 eta (1-eta) J0)."""
    J0 = tf.separation(code, S, weight=w)
    assert tf.separation(code, S, label_noise=eta, weight=w) == pytest.approx(
        (1 - 2 * eta) ** 2 * J0 / (1 + 2 * eta * (1 - eta) * J0), rel=1e-12, abs=1e-300)


@settings(max_examples=60)
@given(S=S_ok, eta=ETA_ok, lam=LAM_ok, w=W_ok)
def test_w_symmetry_of_separation(S, eta, lam, w):
    """claim tf.w_symmetry (exact for J)."""
    assert tf.separation("poly", S, label_noise=eta, input_noise=lam, weight=w) == pytest.approx(
        tf.separation("poly", S, label_noise=eta, input_noise=lam, weight=1 / w), rel=1e-11, abs=1e-300)


@settings(max_examples=12)
@given(S=st.floats(0.0, 0.95), lam=st.one_of(st.just(0.0), st.floats(0.01, 2.0)), w=st.floats(0.2, 5.0),
       noise=st.sampled_from(tf.NOISE_KINDS))
def test_w_symmetry_of_errors(S, lam, w, noise):
    for fn in (tf.bayes_error, tf.probe_error):
        assert float(fn("poly", S, input_noise=lam, weight=w, noise=noise)) == pytest.approx(
            float(fn("poly", S, input_noise=lam, weight=1 / w, noise=noise)), abs=1e-9)


@settings(max_examples=40)
@given(S=S_pos, eta=ETA_lt, lam=LAM_ok, w=st.floats(0.05, 20.0), code=st.sampled_from(tf.CODES),
       task=st.sampled_from(["argmax", "presence"]))
def test_probe_ignores_symmetric_label_noise(S, eta, lam, w, code, task):
    """claim tf.probe.label_noise_invariant: the population LS rule does not depend on eta < 1/2."""
    a = tf.probe_threshold(code, S, task=task, input_noise=lam, weight=w)
    b = tf.probe_threshold(code, S, task=task, label_noise=eta, input_noise=lam, weight=w)
    assert b["orientation"] == a["orientation"]
    assert float(b["threshold"]) == pytest.approx(float(a["threshold"]), rel=1e-9, abs=1e-12)


@settings(max_examples=12)
@given(S=st.floats(0.05, 0.95), lam=st.one_of(st.just(0.0), st.floats(0.01, 3.0)), w=st.floats(0.05, 10.0),
       noise=st.sampled_from(tf.NOISE_KINDS))
def test_presence_bayes_mono_never_worse(S, lam, w, noise):
    """claim tf.bayes.presence_mono_wins (data processing)."""
    assert tf.bayes_error("mono", S, task="presence", input_noise=lam, weight=w, noise=noise) <= \
        tf.bayes_error("poly", S, task="presence", input_noise=lam, weight=w, noise=noise) + 1e-10


@settings(max_examples=10)
@given(S=st.floats(0.0, 0.9), w=st.floats(0.1, 10.0))
def test_large_noise_advantage_ratio(S, w):
    """claim tf.argmax.noise_asymptotics at lam = 300 (relative corrections O(1/lam^2))."""
    target = (1 + w) / math.sqrt(1 + w * w)
    for fn in (tf.bayes_error, tf.probe_error):
        m, p = (0.5 - float(fn(c, S, input_noise=300.0, weight=w)) for c in ("mono", "poly"))
        assert p / m == pytest.approx(target, rel=5e-3)


def test_crossover_finds_the_presence_probe_flip_and_nothing_for_argmax():
    r = tf.crossover("probe_error", "input_noise", 0.3, task="presence", weight=0.2)
    assert not r["mono_better_at_start"] and len(r["points"]) == 1
    lam = r["points"][0]
    left = tf.probe_error("mono", 0.3, task="presence", input_noise=lam * 0.99, weight=0.2) - \
        tf.probe_error("poly", 0.3, task="presence", input_noise=lam * 0.99, weight=0.2)
    right = tf.probe_error("mono", 0.3, task="presence", input_noise=lam * 1.01, weight=0.2) - \
        tf.probe_error("poly", 0.3, task="presence", input_noise=lam * 1.01, weight=0.2)
    assert left > 0 > right
    for m in ("separation", "bayes_error", "probe_error"):
        assert tf.crossover(m, "input_noise", 0.4, weight=0.6)["points"] == []
        assert tf.crossover(m, "label_noise", 0.4, input_noise=0.1, weight=0.6)["points"] == []


# ----------------------------------------------------------------------------------------- exact minimisation
AUDIT = dict(task="presence", input_noise=4.683, noise="uniform")  # hardening audit (issue 13)


def _scan_min(code, S, k=40001, **kw):
    """Best error over a dense scan of thresholds (both orientations) and the constant rules."""
    law = tf._law(tf._task(kw.get("task", "argmax")), code, np.array([S]), np.array([kw.get("weight", 1.0)]),
                  np.array([kw.get("input_noise", 0.0)]), kw.get("noise", "gaussian"))
    sp = 0.0 if law.clean[0, 0] else float(law.spread[0, 0])
    t = np.linspace(float(law.knots.min()) - 8 * sp, float(law.knots.max()) + 8 * sp, k)
    e = tf.rule_error(code, S, t, 1, **kw)
    return float(min(e.min(), (1 - e).min(), law.pi1[0, 0], law.pi2[0, 0]))


def test_bayes_error_at_the_audit_point():
    """mono, presence, S = 0.1661, uniform noise lam = 4.683: the grid + golden-section search reported 0.166100
    (the constant rule); the optimum is the rule 'class 1 iff v' > -7.912' with error 0.1650803."""
    e = float(tf.bayes_error("mono", 0.1661, **AUDIT))
    assert e < 0.16509
    assert e <= _scan_min("mono", 0.1661, **AUDIT) + 1e-12


@settings(max_examples=25)
@given(S=st.floats(0.01, 0.99), lam=st.floats(0.01, 10.0), w=st.floats(0.1, 10.0), code=st.sampled_from(tf.CODES),
       task=st.sampled_from(["argmax", "presence"]), noise=st.sampled_from(tf.NOISE_KINDS))
def test_bayes_error_is_the_minimum_of_a_dense_scan(S, lam, w, code, task, noise):
    """No threshold of a 40001-point exact scan beats the reported optimum by more than 1e-12."""
    kw = dict(task=task, input_noise=lam, weight=w, noise=noise)
    assert float(tf.bayes_error(code, S, **kw)) <= _scan_min(code, S, **kw) + 1e-12


def test_rule_error_constant_rule_on_presence():
    """orientation 0 is the constant rule: class 1 everywhere when p1 > 1/2 (errs on class 2, prior S), class 2
    when p1 < 1/2 (errs on class 1, prior 1 - S), a coin when p1 is None or 1/2; presence has unequal priors."""
    S = 0.3
    assert float(tf.rule_error("mono", S, 0.0, 0, task="presence", p1=0.8)) == pytest.approx(S, abs=1e-15)
    assert float(tf.rule_error("mono", S, 0.0, 0, task="presence", p1=0.2)) == pytest.approx(1 - S, abs=1e-15)
    assert float(tf.rule_error("poly", S, 0.0, 0, task="presence", p1=0.5)) == 0.5
    assert float(tf.rule_error("poly", S, 0.0, 0, task="presence")) == 0.5
    # the population probe at eta = 1/2 is that constant rule
    assert float(tf.probe_error("mono", S, task="presence", label_noise=0.5)) == 0.5


def test_crossover_ties_are_not_crossings():
    """Where both codes sit on the same bound (the chance error 1/2 of a constant rule at eta = 1/2, from
    lam = 0 on) the advantage is 0 within atol at every grid point and no crossing is reported."""
    r = tf.crossover("probe_error", "input_noise", 0.3, label_noise=0.5, weight=0.7)
    assert r["points"] == [] and not r["mono_better_at_start"]
    assert np.all(np.abs(r["advantage"]) <= 1e-12)
    # a tie at lam = 0 followed by a definite sign is not a crossing either: presence Bayes error, large S
    r = tf.crossover("bayes_error", "input_noise", 0.5, task="presence", weight=0.5, grid=[0.0, 0.1, 0.3, 1.0])
    assert r["points"] == []


def test_docstrings_cite_registered_claims():
    import re

    from theory import claims as C
    from theory import two_feature_claims  # noqa: F401  (registers the claims)

    text = open(tf.__file__, encoding="utf-8").read()
    cited = set(re.findall(r"claim (tf\.[a-z_.]+[a-z_])", text))
    assert cited, "the docstrings cite claims"
    known = {c.id for c in C.all_claims()}
    assert cited <= known, cited - known
