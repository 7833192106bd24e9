"""Tests written against surviving mutants of the claim checks (benchmarks/mutation.py): each pins a behaviour the other tests left free."""
from __future__ import annotations

import math

import numpy as np
import pytest

from theory import two_feature as TF
from theory import two_feature_claims as TC
from theory.claims import CheckResult

_REAL = {name: getattr(TF, name) for name in ("separation", "transition_order", "transition_reversal_level",
                                              "class_moments")}
_REAL_DOMAIN = TC._random_domain


def _ok(evidence="stub", **numbers) -> CheckResult:
    return CheckResult(True, evidence, numbers)


def _fail(evidence="stub", **numbers) -> CheckResult:
    return CheckResult(False, evidence, numbers)


# ============================================================================== _check_transition_order
def _mc_stub(inside_z=10.0, w1_z=-10.0):
    """_mc_difference without its 10^6 samples: the point inside the region (w = 3) reports inside_z, the w = 1
    control w1_z."""
    def mc(p, rng, n=TC.N_MC):
        return {"mono": 1.0, "poly": 1.0, "se": 1.0, "z": inside_z if p["w"] == 3.0 else w1_z}
    return mc


def _array_world(monkeypatch, *, lam_factor=1.0, w_shift=0.0):
    """A self-consistent stand-in model for the check's random domain: J, R and q* all evaluated at input noise
    lam_factor * lam and weight w + w_shift (array calls only; the check's fixed scalar points stay real)."""
    def shifted(real):
        def fn(*args, input_noise=0.0, weight=1.0, **kw):
            if np.ndim(weight) == 0:  # the fixed points (boundary tie, lam*) pass a scalar weight
                return real(*args, input_noise=input_noise, weight=weight, **kw)
            return real(*args, input_noise=lam_factor * np.asarray(input_noise), weight=np.asarray(weight) + w_shift,
                        **kw)
        return fn
    for name in ("separation", "transition_order", "transition_reversal_level"):
        monkeypatch.setattr(TC.tf, name, shifted(_REAL[name]))


def _outside_bound(d, region):
    """Points of the region where the documented non-emptiness bound 2 S^2 (1+w) > 3S + 1 + 12 lam^2/(1-S) fails."""
    S, w, lam = d["S"], d["w"], d["lam"]
    return region & ~(2 * S**2 * (1 + w) > 3 * S + 1 + 12 * lam**2 / (1 - S))


def test_transition_order_passes_on_its_domain_with_stand_in_monte_carlo(monkeypatch):
    """With the two Monte Carlo confirmations stood in (passing), the closed-form part of the check holds on its
    random domain, and it reports the region's size, the boundary tie and lam*^2 = -R(0)/(4 w)."""
    monkeypatch.setattr(TC, "_mc_difference", _mc_stub())
    r = TC._check_transition_order(np.random.default_rng(0))
    assert r.passed, r.evidence
    assert r.numbers["points_in_region"] > 0 and r.numbers["tie"] < 1e-9
    R0 = float(TF.transition_order(0.9, (0.0, 0.9), weight=3.0))
    assert r.numbers["lam_star"] ** 2 == pytest.approx(-R0 / 12.0, rel=1e-9)


def test_transition_order_accepts_region_points_with_w_just_above_one(monkeypatch):
    """The reversal region needs only w > 1 (E14): near S = 1 it holds points with 1 < w <= 2 (here
    S = 0.99, w = 1.5, (a, b) = (0, 0.95), lam = 0, added to the random domain), and those do not fail the
    check."""
    monkeypatch.setattr(TC, "_mc_difference", _mc_stub())

    def domain(rng, k, **kw):
        d = _REAL_DOMAIN(rng, k, **kw)
        extra = {"S": 0.99, "lam": 0.0, "w": 1.5, "a": 0.0, "b": 0.95}
        return {key: np.append(v, extra[key]) for key, v in d.items()}

    monkeypatch.setattr(TC, "_random_domain", domain)
    assert float(TF.transition_one_minus_A(0.0, 0.95)) > float(TF.transition_reversal_level(0.99, weight=1.5))
    r = TC._check_transition_order(np.random.default_rng(0))
    assert r.passed, r.evidence


@pytest.mark.parametrize("world", [dict(lam_factor=0.5), dict(w_shift=0.5)],
                         ids=["input_noise_understated", "weight_overstated"])
def test_transition_order_rejects_a_region_beyond_the_documented_bound(monkeypatch, world):
    """A model whose J, R and q* agree with each other (so signs and region match) but whose reversal region
    reaches past the documented non-emptiness bound 2 S^2 (1+w) > 3S + 1 + 12 lam^2/(1-S) (here: input noise
    taken at half its size, or the weight taken 0.5 too large) fails the check."""
    monkeypatch.setattr(TC, "_mc_difference", _mc_stub())
    _array_world(monkeypatch, **world)
    d = _REAL_DOMAIN(np.random.default_rng(0), 20000)
    q = TC.tf.transition_reversal_level(d["S"], input_noise=d["lam"], weight=d["w"])
    region = TF.transition_one_minus_A(d["a"], d["b"]) > q
    assert _outside_bound(d, region).any() and np.all(d["w"][region] > 1.0)  # the stand-in does what it says
    r = TC._check_transition_order(np.random.default_rng(0))
    assert not r.passed, r.evidence


def test_transition_order_ties_are_relative_to_J(monkeypatch):
    """|J_poly - J_mono| <= 1e-12 max(J) is a tie, whose sign is not compared with R or the region, at any scale
    of J: a stand-in where both J are 1e6 times the real J_mono and differ by 1e-13 of it (poly ahead everywhere,
    against R inside the region) does not fail the check."""
    monkeypatch.setattr(TC, "_mc_difference", _mc_stub())

    def sep(code, S, **kw):
        J = _REAL["separation"]("mono", S, **kw)
        if np.ndim(S) == 0:
            return J
        return 1e6 * J * (1.0 + 1e-13 if code == "poly" else 1.0)

    monkeypatch.setattr(TC.tf, "separation", sep)
    r = TC._check_transition_order(np.random.default_rng(0))
    assert r.passed, r.evidence


def test_transition_order_needs_the_tie_on_the_boundary(monkeypatch):
    """On the boundary 1 - A = q* (S = 0.9, w = 2.5, lam = 0.05, a = 0) the two J are equal: a stand-in J_poly
    1e-6 off there (and only there) fails the check."""
    monkeypatch.setattr(TC, "_mc_difference", _mc_stub())

    def sep(code, S, **kw):
        J = _REAL["separation"](code, S, **kw)
        return J * (1.0 + 1e-6) if code == "poly" and np.ndim(S) == 0 else J

    monkeypatch.setattr(TC.tf, "separation", sep)
    r = TC._check_transition_order(np.random.default_rng(0))
    assert not r.passed
    assert r.numbers["tie"] == pytest.approx(1e-6, rel=1e-3)


@pytest.mark.parametrize("inside_z, w1_z", [(3.0, -10.0), (10.0, -3.0), (-10.0, 10.0)])
def test_transition_order_needs_both_monte_carlo_confirmations(monkeypatch, inside_z, w1_z):
    """Monte Carlo must show mono ahead inside the region (z > 5) and poly ahead at the w = 1 point (z < -5)."""
    monkeypatch.setattr(TC, "_mc_difference", _mc_stub(inside_z, w1_z))
    r = TC._check_transition_order(np.random.default_rng(0))
    assert not r.passed
    assert (r.numbers["z_inside"], r.numbers["z_w1"]) == (inside_z, w1_z)


def test_transition_order_simulates_its_two_documented_points(monkeypatch):
    """The two simulations are at S = 0.9, lam = 0, Gaussian noise, under the class-conditional transitions
    named in the evidence: (0, 0.9) at w = 3 (inside the region) and (0, 0.6) at w = 1; each z reported is that
    point's (here from a stand-in: the closed-form J difference over 1e-3)."""
    def mc(p, rng, n=TC.N_MC):
        kw = dict(task=p["task"], input_noise=p["lam"], weight=p["w"], **TC._label_kw(p))
        Jm, Jp = (float(TF.separation(c, p["S"], **kw)) for c in ("mono", "poly"))
        return {"mono": Jm, "poly": Jp, "se": 1e-3, "z": (Jm - Jp) / 1e-3}

    monkeypatch.setattr(TC, "_mc_difference", mc)
    r = TC._check_transition_order(np.random.default_rng(0))
    assert r.passed, r.evidence
    for key, w, ab in (("z_inside", 3.0, (0.0, 0.9)), ("z_w1", 1.0, (0.0, 0.6))):
        Jm, Jp = (float(TF.separation(c, 0.9, transition=ab, weight=w)) for c in ("mono", "poly"))
        assert r.numbers[key] == pytest.approx((Jm - Jp) / 1e-3, rel=1e-12), key


# ============================================================================== _check_margin_poly_wins
def _small_domain(rng, k, **kw):
    return _REAL_DOMAIN(rng, min(k, 2000), **kw)


def test_margin_poly_wins_rejects_a_ratio_formula_one_percent_off(monkeypatch):
    """(E17) gives J_poly / J_mono from mono's class moments to round-off (rel < 1e-9): with mono's class
    variances stood in 1% too large the formula is off by far more than that, and the check fails (on a 2000-point
    domain, with its Monte Carlo stood in)."""
    monkeypatch.setattr(TC, "_random_domain", _small_domain)
    monkeypatch.setattr(TC, "_mc_difference", lambda p, rng, n=TC.N_MC: {"mono": 0.1, "poly": 0.2, "se": 0.01,
                                                                       "z": -10.0})
    r = TC._check_margin_poly_wins(np.random.default_rng(0))
    assert r.passed, r.evidence
    assert r.numbers["rel"] < 1e-9

    def cm(code, S, **kw):
        m = dict(_REAL["class_moments"](code, S, **kw))
        m["var1"], m["var2"] = 1.01 * m["var1"], 1.01 * m["var2"]
        return m

    monkeypatch.setattr(TC.tf, "class_moments", cm)
    r = TC._check_margin_poly_wins(np.random.default_rng(0))
    assert not r.passed
    assert 1e-9 < r.numbers["rel"] < 0.1


# ============================================================================== _check_paper_label_noise
def _label_noise_parts(monkeypatch, **fail):
    """Stand-ins for the sub-checks of _check_paper_label_noise; ``fail`` names those that fail."""
    parts = {"_check_argmax_label_noise_order": {}, "_check_probe_label_noise_invariant": {},
             "_check_finite_no_crossover": {"min_z": 3.0}, "_check_transition_order": {"points_in_region": 7},
             "_check_margin_poly_wins": {}}
    for name, nums in parts.items():
        res = (_fail if fail.get(name) else _ok)(name, **nums)
        monkeypatch.setattr(TC, name, lambda rng, res=res: res)
    ratio = 0.9 if fail.get("_presence_mono_ahead") else 1.1
    monkeypatch.setattr(TC, "_presence_mono_ahead", lambda rng: {"symmetric": ratio, "transition": 1.2})


@pytest.mark.parametrize("failing", [None, "_check_argmax_label_noise_order", "_check_probe_label_noise_invariant",
                                     "_check_finite_no_crossover", "_check_transition_order",
                                     "_check_margin_poly_wins", "_presence_mono_ahead"])
def test_paper_label_noise_needs_every_part(monkeypatch, failing):
    """The paper's label-noise claim is checked through all its parts (symmetric J, probe, finite n, presence,
    class-conditional J, margin J, and the empty w = 1 region): it passes only when every one does."""
    _label_noise_parts(monkeypatch, **({failing: True} if failing else {}))
    r = TC._check_paper_label_noise(np.random.default_rng(0))
    assert r.passed == (failing is None)
    assert r.numbers["finite_min_z"] == 3.0 and r.numbers["transition_points_in_region"] == 7
    assert r.numbers["J_ratio_min_S0"] >= 2.0


# ============================================================================== _check_finite_no_crossover
_ROW = {"S": 0.9, "lam": 0.0, "w": 1.0, "n": 1000, "eta": 0.4, "mono": 0.30, "poly": 0.20, "diff": 0.1, "z": 3.0}


def _crossover_stub(normal_at=None, expansion=()):
    """tf.crossover stand-in: the resummed (normal) theory finds eta* = 0.3 only at the cell ``normal_at``
    (S, n); the bare expansion returns ``expansion``."""
    def cr(measure, axis, S, *, n=None, method="expansion", **kw):
        if method == "normal":
            return {"points": [0.3] if (S, n) == normal_at else []}
        return {"points": list(expansion)}
    return cr


@pytest.mark.parametrize("cell", [(S, n) for S in (0.0, 0.3, 0.6, 0.9) for n in (50, 200, 1000)])
def test_finite_no_crossover_fails_on_a_resummed_crossover_in_any_documented_cell(monkeypatch, cell):
    """The resummed theory is scanned at S in {0, .3, .6, .9}, n in {50, 200, 1000} (as the evidence says): an
    eta* in any of these cells fails the check (simulation stood in: mono never better)."""
    monkeypatch.setattr(TC, "_finite_sample_scan", lambda rng: {"rows": [_ROW], "min_z": 3.0})
    monkeypatch.setattr(TC.tf, "crossover", _crossover_stub())
    assert TC._check_finite_no_crossover(np.random.default_rng(0)).passed
    monkeypatch.setattr(TC.tf, "crossover", _crossover_stub(normal_at=cell))
    assert not TC._check_finite_no_crossover(np.random.default_rng(0)).passed


def test_finite_no_crossover_reports_nan_when_the_expansion_finds_no_eta_star(monkeypatch):
    """The bare expansion's spurious eta*(0.9, 1000) is reported when it exists and as nan when it does not; the
    verdict rests on the simulation and the resummed theory only; a simulated z <= -5 fails the check."""
    monkeypatch.setattr(TC, "_finite_sample_scan", lambda rng: {"rows": [_ROW], "min_z": 3.0})
    monkeypatch.setattr(TC.tf, "crossover", _crossover_stub(expansion=(0.25,)))
    r = TC._check_finite_no_crossover(np.random.default_rng(0))
    assert r.passed and "eta*(0.9, 1000) = 0.250" in r.evidence and r.numbers["spurious_expansion_eta"] == [0.25]
    monkeypatch.setattr(TC.tf, "crossover", _crossover_stub())
    r = TC._check_finite_no_crossover(np.random.default_rng(0))
    assert r.passed and "eta*(0.9, 1000) = nan" in r.evidence
    monkeypatch.setattr(TC, "_finite_sample_scan", lambda rng: {"rows": [dict(_ROW, z=-6.0)], "min_z": -6.0})
    assert not TC._check_finite_no_crossover(np.random.default_rng(0)).passed


# ============================================================================== _check_paper_input_noise
def _bayes_stub(uniform_poly_loses_above=math.inf):
    """tf.bayes_error stand-in (the exact one takes a minute on the check's grid): mono 0.3, poly 0.2 (poly
    better); under uniform noise poly's error becomes 0.4 where the input noise is >= ``uniform_poly_loses_above``."""
    def bayes(code, S, *, task="argmax", label_noise=0.0, input_noise=0.0, weight=1.0, noise="gaussian", **kw):
        shape = np.broadcast(np.asarray(S), np.asarray(input_noise), np.asarray(weight)).shape
        if code == "mono":
            return np.full(shape, 0.3)
        lam = np.broadcast_to(np.asarray(input_noise, dtype=float), shape)
        loses = (noise == "uniform") & (lam >= uniform_poly_loses_above)
        return np.where(loses, 0.4, 0.2)
    return bayes


def _input_noise_world(monkeypatch, *, bayes=None, crossover=None, mc=None):
    monkeypatch.setattr(TC.tf, "bayes_error", bayes or _bayes_stub())
    monkeypatch.setattr(TC.tf, "crossover", crossover or (lambda *a, **k: {"points": []}))
    monkeypatch.setattr(TC, "_presence_probe_window", lambda rng: _ok("window"))
    means = mc or {"mono": (0.30, 0.01), "poly": (0.20, 0.02)}
    monkeypatch.setattr(TC.sm, "finite_sample_mc", lambda task, code, *a, **k: {"mean": means[code][0],
                                                                                  "se": means[code][1]})


def test_paper_input_noise_passes_in_a_world_where_poly_stays_ahead(monkeypatch):
    """With the slow parts stood in (Bayes error, finite-sample theory and simulation, presence window) the
    check passes; the simulated n = 20 cell is reported as z = (mean_mono - mean_poly) / sqrt(se_mono^2 +
    se_poly^2), a difference of two independent means."""
    _input_noise_world(monkeypatch)
    r = TC._check_paper_input_noise(np.random.default_rng(0))
    assert r.passed, r.evidence
    assert r.numbers["finite_z"] == pytest.approx(0.1 / math.hypot(0.01, 0.02), rel=1e-12)
    assert r.numbers["J"] > 0 and r.numbers["probe"] > 0
    assert r.numbers["bayes"] == pytest.approx(0.1) and r.numbers["bayes_uniform"] == pytest.approx(0.1)


def test_paper_input_noise_fails_where_poly_separates_worse(monkeypatch):
    """J is higher-is-better: a stand-in J_poly at half the real one (below J_mono) fails the check."""
    _input_noise_world(monkeypatch)
    real = _REAL["separation"]
    monkeypatch.setattr(TC.tf, "separation", lambda code, S, **kw: real(code, S, **kw) * (0.5 if code == "poly"
                                                                                          else 1.0))
    r = TC._check_paper_input_noise(np.random.default_rng(0))
    assert not r.passed and r.numbers["J"] < 0


def test_paper_input_noise_compares_uniform_noise_over_the_input_noise_grid(monkeypatch):
    """The uniform-noise Bayes comparison runs over the check's input-noise levels: a poly deficit under uniform
    noise at lam >= 1 fails the check (reported as the smallest mono - poly, negative)."""
    _input_noise_world(monkeypatch, bayes=_bayes_stub(uniform_poly_loses_above=1.0))
    r = TC._check_paper_input_noise(np.random.default_rng(0))
    assert not r.passed
    assert r.numbers["bayes_uniform"] == pytest.approx(-0.1) and r.numbers["bayes"] == pytest.approx(0.1)


@pytest.mark.parametrize("cell", [(S, n, w) for S in (0.0, 0.5, 0.9) for n in (20, 200) for w in (0.3, 1.0)])
def test_paper_input_noise_fails_on_a_finite_sample_crossover_in_any_documented_cell(monkeypatch, cell):
    """The resummed finite-sample theory (label noise 0.2) is scanned over lam at S in {0, .5, .9}, n in
    {20, 200}, w in {.3, 1} (as the evidence says): a lam* in any of these cells fails the check."""
    def cr(measure, axis, S, *, n=None, weight=1.0, method="expansion", label_noise=0.0, **kw):
        assert (measure, axis, method, label_noise) == ("finite_sample_error", "input_noise", "normal", 0.2)
        return {"points": [0.7] if (S, n, weight) == cell else []}

    _input_noise_world(monkeypatch, crossover=cr)
    assert not TC._check_paper_input_noise(np.random.default_rng(0)).passed


def test_paper_input_noise_fails_when_the_simulated_cell_has_mono_ahead(monkeypatch):
    _input_noise_world(monkeypatch, mc={"mono": (0.20, 0.01), "poly": (0.30, 0.02)})
    r = TC._check_paper_input_noise(np.random.default_rng(0))
    assert not r.passed and r.numbers["finite_z"] == pytest.approx(-0.1 / math.hypot(0.01, 0.02), rel=1e-12)
