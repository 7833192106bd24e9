"""Tests written against surviving mutants of the claim checks (benchmarks/mutation.py): each pins a behaviour the other tests left free."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from theory import simulate as SM
from theory import two_feature as TF
from theory import two_feature_claims as TC
from theory.claims import CheckResult


def _stub(passed: bool):
    """A stand-in for a Monte Carlo verifier (verify_separation / verify_probe, 10^6 samples each): records the
    points it is given and reports ``passed``."""
    seen = []

    def fn(p, rng, **kw):
        seen.append(dict(p))
        return CheckResult(passed, "stub", {"mc": 0.0, "error": 0.0})

    fn.seen = seen
    return fn


def _spy(monkeypatch, module, name):
    """Wrap module.name, recording (args, kwargs) of every call."""
    real = getattr(module, name)
    calls = []

    def wrapper(*a, **k):
        calls.append((a, k))
        return real(*a, **k)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _within(count: int, n: int, p: float) -> bool:
    """count of n Bernoulli(p) draws within 5 SE of n p."""
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


# ============================================================================================ drawing helpers
def test_draw_point_input_noise_is_zero_half_the_time_else_uniform_on_005_1():
    """draw_point's lam is 0 with probability 1/2 and otherwise uniform on [0.05, 1]."""
    rng = np.random.default_rng(0)
    lam = np.array([TC.draw_point(rng)["lam"] for _ in range(2000)])
    zero = lam == 0.0
    assert _within(int(zero.sum()), lam.size, 0.5), zero.sum()
    rest = lam[~zero]
    assert np.all((rest >= 0.05) & (rest <= 1.0))
    assert abs(rest.mean() - 0.525) <= 5 * (0.95 / math.sqrt(12)) / math.sqrt(rest.size)


def test_draw_point_keeps_both_presence_classes_populated():
    """Presence points have S >= 0.05 (S = 1 would leave no class 2): a smaller S, drawn or given, becomes 0.05;
    argmax points keep S = 0."""
    rng = np.random.default_rng(1)
    for S in (0.0, 0.01, 0.049):
        assert TC.draw_point(rng, task="presence", S=S)["S"] == 0.05
    assert TC.draw_point(rng, task="presence", S=0.3)["S"] == 0.3
    assert TC.draw_point(rng, task="argmax", S=0.0)["S"] == 0.0
    assert all(TC.draw_point(rng, task="presence")["S"] >= 0.05 for _ in range(200))


def test_draw_label_point_of_a_kind_carries_only_that_label_noise_model():
    """A margin point is a margin-noise point even when ``fixed`` also names a transition (and vice versa): the
    label-noise model of the point is its kind's, never the other one (_label_kw would take a transition first)."""
    rng = np.random.default_rng(2)
    p = TC.draw_label_point(rng, "margin", transition=(0.1, 0.2))
    assert p.get("transition") is None
    assert TC._label_kw(p) == {"margin_noise": tuple(p["margin"])}
    q = TC.draw_label_point(rng, "transition", margin=(0.3, 1.0))
    assert q.get("margin") is None
    assert TC._label_kw(q) == {"transition": tuple(q["transition"])}


def test_random_domain_draws_k_points_over_the_whole_transition_domain():
    """_random_domain(rng, k): k points (the upper triangle is reflected, not dropped), (a, b) uniform on the
    triangle a, b >= 0, a + b < 1 (mean 1/3 each), lam = 0 at 30% of them and positive elsewhere, w on both sides
    of 1 over decades."""
    k = 20000
    d = TC._random_domain(np.random.default_rng(3), k)
    assert all(d[key].shape == (k,) for key in ("S", "lam", "w", "a", "b"))
    a, b = d["a"], d["b"]
    assert np.all((a >= 0) & (b >= 0) & (a + b < 1))
    se = math.sqrt(1 / 18 / k)  # Var a = 1/18 on the triangle
    assert abs(a.mean() - 1 / 3) <= 5 * se and abs(b.mean() - 1 / 3) <= 5 * se
    zero = d["lam"] == 0.0
    assert _within(int(zero.sum()), k, 0.3), zero.sum()
    assert np.all(d["lam"][~zero] > 0)
    assert np.all(d["w"] > 0) and d["w"].min() < 0.1 and d["w"].max() > 10
    assert np.all((d["S"] >= 0) & (d["S"] < 1))


def test_random_domain_margin_tau_is_infinite_at_a_tenth_of_the_points():
    """Margin points: p_max in [0, 1]; tau = inf at 10% of the points (each point its own draw), otherwise in
    [1e-3, 1e3] (draw_label_point's domain)."""
    k = 20000
    d = TC._random_domain(np.random.default_rng(4), k, margin=True)
    assert all(d[key].shape == (k,) for key in ("S", "lam", "w", "pm", "tau"))
    inf = np.isinf(d["tau"])
    assert _within(int(inf.sum()), k, 0.1), inf.sum()
    fin = d["tau"][~inf]
    assert np.all((fin >= 1e-3 * (1 - 1e-12)) & (fin <= 1e3 * (1 + 1e-12)))
    assert np.all((d["pm"] >= 0) & (d["pm"] <= 1))


# ============================================================================================ verifiers
def test_verify_moments_class_probability_se_is_the_larger_of_sample_and_reference(monkeypatch):
    """The SE of P(y~ = 1) is sqrt(max(p(1-p), p_ref(1-p_ref)) / n): a sample where class 1 is rare (1%) while
    the reference closed form says 1/2 is judged with the reference SE (documented: the sample SE may collapse)."""
    p = dict(task="argmax", code="mono", S=0.3, eta=0.0, lam=0.2, w=1.0, noise="gaussian")
    n = 10_000
    y = np.where(np.arange(n) < 100, 1, 2)
    v = np.random.default_rng(5).normal(size=n)
    monkeypatch.setattr(TC, "_sample", lambda q, rng, n_=n: SM.Sample(v=v, y=y, y_obs=y))

    def moments(code, S, **kw):
        return dict(TF.class_moments(code, S, **kw), p1=0.02)

    p1_ref = TC._reference_central(p)[0][0]
    assert p1_ref == pytest.approx(0.5, rel=1e-12)
    r = TC.verify_moments(p, np.random.default_rng(0), n=n, moments_fn=moments)
    want = (0.01 - 0.02) / math.sqrt(max(0.01 * 0.99, p1_ref * (1 - p1_ref)) / n)
    assert r.numbers["z"]["p1"] == pytest.approx(want, rel=1e-9)  # -2, not the -10 of the sample SE


def test_verify_noise_variance_uses_n_samples(monkeypatch):
    calls = _spy(monkeypatch, TC, "_sample")
    p = dict(task="argmax", code="poly", S=0.3, eta=0.2, lam=0.5, w=1.5, noise="gaussian")
    r = TC.verify_noise_variance(p, np.random.default_rng(6), n=20_000)
    assert r.passed, r.evidence
    assert len(calls) == 1
    a, k = calls[0]
    assert (a[2] if len(a) > 2 else k["n"]) == 20_000
    assert a[0]["eta"] == 0.0  # the variance is that of the clean classes


def test_verify_separation_takes_the_sign_of_the_gap_from_the_points_label_noise():
    """Margin noise with p_max > 1/2 flips most labels: the observed gap mean1 - mean2 is negative although the
    clean one is positive. The check compares G = sign * sqrt(J) with the sign of the point's observed gap and
    passes; a wrong-signed G would be ~2 sqrt(J) / se_G away."""
    p = dict(task="argmax", code="mono", S=0.4, eta=0.0, lam=0.2, w=1.0, noise="gaussian", margin=(0.95, math.inf))
    ref = TF.class_moments("mono", 0.4, **TC._kw(p))
    assert float(ref["mean1"] - ref["mean2"]) < 0 < float(TF.class_moments("mono", 0.4)["mean1"]
                                                           - TF.class_moments("mono", 0.4)["mean2"])
    r = TC.verify_separation(p, np.random.default_rng(7), n=200_000)
    assert r.passed and abs(r.numbers["z"]) <= TC.Z, r.evidence


def test_verify_separation_tolerates_an_order_1_over_n_relative_bias(monkeypatch):
    """The plug-in G has an O(1/n) bias: a gap up to 10/n * max(|G|, 1) counts as z = 0 (floor), one beyond it is
    judged by its SE. At J = 16 (|G| = 4), n = 1000: a gap of 0.02 passes, 0.05 fails (SE 1e-6)."""
    p = dict(task="argmax", code="mono", S=0.4, eta=0.0, lam=0.2, w=1.0, noise="gaussian")
    for gap, ok in ((0.02, True), (0.039, True), (0.05, False)):
        monkeypatch.setattr(TC.sm, "fisher_signed_mc", lambda v, y, gap=gap: (4.0 + gap, 1e-6))
        r = TC.verify_separation(p, np.random.default_rng(8), n=1000, J_fn=lambda code, S, **kw: 16.0)
        assert r.passed is ok, (gap, r.evidence)


def test_scan_thresholds_span_the_support_widened_by_8_noise_scales():
    """The scan runs from the smallest knot - 8 noise scales to the largest + 8 (up to a pad of 1e-6 each side);
    without noise exactly over the knots."""
    for p in (dict(task="argmax", code="mono", S=0.3, lam=0.0, w=1.0, noise="gaussian"),
              dict(task="presence", code="poly", S=0.5, lam=0.4, w=2.0, noise="gaussian"),
              dict(task="argmax", code="poly", S=0.2, lam=0.3, w=0.7, noise="uniform")):
        ts = TC._scan_thresholds(p, 101)
        law = TF._law(p["task"], p["code"], np.array([p["S"]]), np.array([p["w"]]), np.array([p["lam"]]),
                      p["noise"])
        spread = 0.0 if p["lam"] == 0 else float(law.spread[0, 0])
        assert ts.size == 101 and np.all(np.diff(ts) > 0)
        assert abs(ts[0] - (law.knots.min() - 8 * spread)) <= 1e-5, p
        assert abs(ts[-1] - (law.knots.max() + 8 * spread)) <= 1e-5, p


@pytest.mark.parametrize("t, o, cls", [(math.inf, 1.0, 2), (-math.inf, -1.0, 2), (-math.inf, 1.0, 1),
                                       (math.inf, -1.0, 1)])
def test_verify_bayes_scores_a_constant_rule_as_constant(t, o, cls):
    """An infinite threshold is a constant rule ('class 1 iff v' > +inf' predicts class 2 everywhere, 'v' < -inf'
    too; the other two class 1 everywhere): its Monte Carlo error is the share of the other class in the sample."""
    p = dict(task="presence", code="mono", S=0.4, eta=0.0, lam=0.3, w=1.0, noise="gaussian")
    n = 20_000
    r = TC.verify_bayes(p, np.random.default_rng(9), n=n,
                        bayes_fn=lambda code, S, **kw: {"error": 0.3, "threshold": t, "orientation": o})
    s = TC._sample(p, np.random.default_rng(9), n)  # the check's sample (it draws nothing before it)
    assert r.numbers["mc"] == float(np.mean(s.y != cls))


def test_verify_bayes_paired_z_is_the_difference_over_its_paired_se():
    """(3): for each of the 798 fixed rules, d = its sample error - the reported rule's; SE^2 = (P(the two predict
    differently) - mean(d)^2) / n (floored at 1/n^2); the reported paired z is the smallest d / SE (or 0).
    Computed here straight from the predictions, for a reported rule off the optimum."""
    p = dict(task="argmax", code="poly", S=0.3, eta=0.0, lam=0.3, w=1.5, noise="gaussian")
    n = 20_000
    best = TF.bayes_threshold("poly", 0.3, input_noise=0.3, weight=1.5)
    t = float(best["threshold"]) + 0.3
    assert float(best["orientation"]) == 1.0
    e = float(TF.rule_error("poly", 0.3, np.array([t]), 1, input_noise=0.3, weight=1.5)[0])
    r = TC.verify_bayes(p, np.random.default_rng(10), n=n,
                        bayes_fn=lambda code, S, **kw: {"error": e, "threshold": t, "orientation": 1.0})
    s = TC._sample(p, np.random.default_rng(10), n)
    one = s.y == 1
    pred_a = s.v > t
    wrong_a = pred_a != one
    q = TC._scan_thresholds(p, 399)
    worst = 0.0
    for oq in (1.0, -1.0):
        pred_b = (s.v[None, :] > q[:, None]) if oq > 0 else (s.v[None, :] < q[:, None])
        d = (pred_b != one[None, :]).astype(float) - wrong_a[None, :]
        md = d.mean(axis=1)
        differ = (pred_b != pred_a[None, :]).mean(axis=1)
        zz = md / np.sqrt(np.maximum(differ - md * md, 1.0 / n) / n)
        worst = min(worst, float(zz.min()))
    assert worst < -TC.Z  # off the optimum by 0.3: beaten on the sample
    assert r.numbers["paired_z"] == pytest.approx(worst, rel=1e-9)
    assert not r.passed


def test_grid_compare_axes_are_S_lam_w():
    """_grid_compare evaluates both codes on the (S, lam, w) grid with axes in that order (indexing 'ij')."""
    Ss, lams, ws = [0.1, 0.5, 0.9], [0.0, 0.3], [0.5, 1.0, 2.0, 4.0]
    g = TC._grid_compare(TF.separation, "argmax", Ss, lams, ws, eta=0.1)
    assert g["S"].shape == g["lam"].shape == g["w"].shape == g["mono"].shape == g["poly"].shape == (3, 2, 4)
    np.testing.assert_array_equal(g["S"][:, 0, 0], Ss)
    np.testing.assert_array_equal(g["lam"][0, :, 0], lams)
    np.testing.assert_array_equal(g["w"][0, 0, :], ws)
    i, j, k = 2, 1, 0
    assert g["poly"][i, j, k] == float(TF.separation("poly", Ss[i], label_noise=0.1, input_noise=lams[j],
                                                     weight=ws[k]))


# ============================================================================================ checks
def test_argmax_label_noise_order_check_needs_its_monte_carlo(monkeypatch):
    """All three parts must hold: the order, (E8) and the Monte Carlo of J at eta = 0.35; a failing Monte Carlo
    fails the check."""
    good = _stub(True)
    monkeypatch.setattr(TC, "verify_separation", good)
    r = TC._check_argmax_label_noise_order(np.random.default_rng(11))
    assert r.passed and r.numbers["same_order"] and r.numbers["rel"] < 1e-10
    assert good.seen[0]["task"] == "argmax" and good.seen[0]["eta"] == 0.35
    monkeypatch.setattr(TC, "verify_separation", _stub(False))
    assert not TC._check_argmax_label_noise_order(np.random.default_rng(11)).passed


def test_argmax_label_noise_order_check_measures_E8_in_relative_error(monkeypatch):
    """(E8) is checked to 1e-10 relative: a J_eta off by 1e-12 absolute is far off relative to the J_eta of
    ~1e-5 near eta = 1/2, and fails the check (an absolute measure would not see it)."""
    monkeypatch.setattr(TC, "verify_separation", _stub(True))
    real = TF.separation

    def off(code, S, **kw):  # the (E8) evaluation: label noise, no input noise
        J = real(code, S, **kw)
        return J + 1e-12 if "label_noise" in kw and "input_noise" not in kw else J

    monkeypatch.setattr(TC.tf, "separation", off)
    r = TC._check_argmax_label_noise_order(np.random.default_rng(11))
    assert r.numbers["same_order"] and r.numbers["rel"] > 1e-10 and not r.passed


def test_argmax_label_noise_order_check_scans_w_on_both_sides_of_1(monkeypatch):
    """The 4000 random points of the order scan cover the domain: w spread over decades below and above 1, input
    noise 0 at about half of them and positive at the rest."""
    monkeypatch.setattr(TC, "verify_separation", _stub(True))
    calls = _spy(monkeypatch, TC.tf, "separation")
    TC._check_argmax_label_noise_order(np.random.default_rng(12))
    a, k = calls[0]
    w, lam = np.asarray(k["weight"]), np.asarray(k["input_noise"])
    assert w.shape == lam.shape == (4000,)
    assert w.min() < 0.1 and w.max() > 10
    assert _within(int(np.sum(lam == 0)), 4000, 0.5) and np.all(lam >= 0)


def test_presence_mono_wins_check_cross_checks_poly_by_monte_carlo(monkeypatch):
    """The Monte Carlo of the check verifies the closed-form J of the code the claim puts behind (poly) on the
    presence task; a failing Monte Carlo fails the check."""
    for seed in range(6):
        good = _stub(True)
        monkeypatch.setattr(TC, "verify_separation", good)
        assert TC._check_presence_mono_wins_J(np.random.default_rng(seed)).passed
        assert [(q["task"], q["code"]) for q in good.seen] == [("presence", "poly")], seed
    monkeypatch.setattr(TC, "verify_separation", _stub(False))
    assert not TC._check_presence_mono_wins_J(np.random.default_rng(0)).passed


def test_probe_label_noise_invariance_is_scanned_with_and_without_input_noise(monkeypatch):
    """The 200 exact points of the invariance scan have input noise 0 at about half and positive at the rest
    (the claim holds with input noise); a failing Monte Carlo LS fit fails the check."""
    monkeypatch.setattr(TC, "verify_probe", _stub(True))
    calls = _spy(monkeypatch, TC.tf, "probe_threshold")
    r = TC._check_probe_label_noise_invariant(np.random.default_rng(13))
    assert r.passed and r.numbers["worst"] < 1e-9
    lam = np.asarray(calls[0][1]["input_noise"])
    assert lam.shape == (200,)
    assert _within(int(np.sum(lam == 0)), 200, 0.5) and np.all(lam >= 0) and lam.max() > 0.5
    monkeypatch.setattr(TC, "verify_probe", _stub(False))
    assert not TC._check_probe_label_noise_invariant(np.random.default_rng(13)).passed


def test_presence_probe_window_check_logic_and_its_window(monkeypatch):
    """Passes with both Monte Carlo LS fits passing; the evidence locates the lam = 0 window where poly's probe
    errs less: a proper part of the grid with S in ~[0.16, 0.48] and w <~ 1.4 (the claim's verdict). A failing
    Monte Carlo fit fails the check."""
    monkeypatch.setattr(TC, "verify_probe", _stub(True))
    r = TC._presence_probe_window(np.random.default_rng(14))
    assert r.passed and r.numbers["poly"] < r.numbers["mono"]
    m = re.search(r"poly wins on (\d+)% of a \(S, w\) grid, S in \[([\d.]+), ([\d.]+)\], w <= ([\d.]+)", r.evidence)
    assert m, r.evidence
    pct, s_lo, s_hi, w_hi = int(m[1]), float(m[2]), float(m[3]), float(m[4])
    assert 0 < pct < 50 and 0.1 <= s_lo < s_hi <= 0.5 and w_hi <= 1.4
    monkeypatch.setattr(TC, "verify_probe", _stub(False))
    assert not TC._presence_probe_window(np.random.default_rng(14)).passed


def test_presence_mono_ahead_gives_each_random_point_its_own_w_and_eta(monkeypatch):
    """_presence_mono_ahead evaluates J at 20000 random points, each with its own S, lam, w and eta (and its own
    transition), with w reaching J."""
    calls = _spy(monkeypatch, TC.tf, "separation")
    out = TC._presence_mono_ahead(np.random.default_rng(15))
    assert set(out) == {"symmetric", "transition"} and all(v > 1 for v in out.values())
    assert len(calls) == 4
    for a, k in calls:
        assert a[0] in ("mono", "poly") and k["task"] == "presence"
        w = np.asarray(k["weight"])
        assert w.shape == (20000,) and w.min() < 0.1 and w.max() > 10
        assert np.asarray(a[1]).shape == np.asarray(k["input_noise"]).shape == (20000,)
    eta = np.asarray(calls[0][1]["label_noise"])
    assert eta.shape == (20000,) and np.all((eta >= 0) & (eta < 0.5)) and eta.std() > 0.1
    ta, tb = calls[2][1]["transition"]
    assert np.shape(ta) == np.shape(tb) == (20000,)


_PROBE_POINT = {"task": "argmax", "code": "poly", "S": 0.6, "eta": 0.2, "lam": 0.3, "w": 1.5, "noise": "gaussian"}


def test_verify_probe_with_the_threshold_given_is_the_default_check():
    """verify_probe's threshold_fn replaces only the threshold formula: handing it tf.probe_threshold itself scores
    the population rule the same way (its error through _rule_error with the point's law and class prior p1)."""
    a = TC.verify_probe(_PROBE_POINT, np.random.default_rng(7), n=20000)
    b = TC.verify_probe(_PROBE_POINT, np.random.default_rng(7), n=20000, threshold_fn=TF.probe_threshold)
    assert a.passed and b.passed, (a.evidence, b.evidence)
    assert b.numbers["error"] == pytest.approx(a.numbers["error"], rel=1e-9, abs=1e-12)
    assert b.numbers["tau"] == a.numbers["tau"] and b.numbers["mc"] == a.numbers["mc"]


def test_verify_probe_z_of_the_threshold_is_the_documented_batch_statistic(monkeypatch):
    """The threshold check: the LS fit of [y~ = 1] on (1, v') over the whole sample, evaluated at the closed-form
    tau (minus 1/2), divided by the SE of the same quantity over 20 equal batches (each fitted with its own means);
    recomputed here from the same sample."""
    sample = TC._sample(_PROBE_POINT, np.random.default_rng(3), 20000)
    monkeypatch.setattr(TC, "_sample", lambda p, rng, n=0: sample)
    r = TC.verify_probe(_PROBE_POINT, np.random.default_rng(3), n=20000)
    tau = r.numbers["tau"]
    assert math.isfinite(tau)

    def fit(v, y):
        beta = np.sum((v - v.mean()) * (y - y.mean())) / np.sum((v - v.mean()) ** 2)
        return y.mean() - beta * v.mean(), beta

    y = (sample.y_obs == 1).astype(float)
    a, b = fit(sample.v, y)
    h_all = a + b * tau - 0.5
    h_b = [aa + bb * tau - 0.5 for aa, bb in (fit(v, yy) for v, yy in zip(sample.v.reshape(20, -1), y.reshape(20, -1)))]
    se = np.std(h_b, ddof=1) / math.sqrt(20)
    assert r.numbers["z_tau"] == pytest.approx(h_all / se, rel=1e-7)


def test_point_label_names_its_label_noise_model():
    """The evidence names the point's label-noise model: a transition, a margin-dependent noise (p_max, tau) or
    the symmetric rate."""
    base = dict(_PROBE_POINT)
    assert "transition=(0.1, 0.3)" in TC._fmt_point({**base, "transition": (0.1, 0.3)})
    assert "margin=(0.4, 2)" in TC._fmt_point({**base, "margin": (0.4, 2.0)})
    assert "eta=0.2" in TC._fmt_point(base) and "argmax/poly S=0.6" in TC._fmt_point(base)


def test_z_with_zero_standard_error():
    """A difference beyond the floor with no sampling error is infinitely significant; within the floor it is 0."""
    assert TC._z(1.0, 0.0, 0.0) == math.inf
    assert TC._z(1.0, 1.0 + 1e-13, 0.0) == 0.0
    assert TC._z(1.5, 1.0, 0.25) == pytest.approx(2.0)
