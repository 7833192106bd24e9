"""Tests of theory.robustness: transition matrices and closed forms (against sympy), the crossing
helper, the accuracy model against Monte Carlo with SE tolerances (and deliberately wrong variants
caught by the same checks), the boundary check, claims registration, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sims.engine.codes import make_code
from sims.engine.generators import flip_labels
from sims.robustness import claims as RC
from theory import robustness as R


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("kind", R.KINDS)
@pytest.mark.parametrize("eta", [0.0, 0.3, 0.9])
def test_transition_is_row_stochastic_and_matches_the_generator(kind, eta):
    C = 6
    T = R.transition(kind, eta, C)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(T), 1 - eta)
    y = np.repeat(np.arange(C), 20000)
    yn = np.asarray(flip_labels(y, C, eta, 3, kind=kind))
    emp = np.zeros((C, C))
    np.add.at(emp, (y, yn), 1.0)
    emp /= emp.sum(axis=1, keepdims=True)
    assert np.all(np.abs(emp - T) <= 5 * np.sqrt(T * (1 - T) / 20000) + 1e-12)


def test_symmetric_transition_shrinks_scores_by_kappa():
    C, eta = 7, 0.45
    s = np.random.default_rng(0).random(C)
    s = s / s.sum()  # LS scores with an intercept sum to 1
    T = R.transition("symmetric", eta, C)
    np.testing.assert_allclose(s @ T, R.kappa(eta, C) * s + eta / (C - 1))


def test_runtime_formulas_equal_the_sympy_derivation():
    sp = pytest.importorskip("sympy")
    from theory.derive import robustness as D

    assert all(D.check_all().values())
    ex = D.expressions()
    C, eta, p, d = sp.symbols("C eta p d", real=True)
    rng = np.random.default_rng(1)
    for _ in range(20):
        c, e, pp, dd = int(rng.integers(2, 50)), float(rng.random()), float(rng.random()), float(rng.normal())
        assert float(ex["kappa"].subs({C: c, eta: e})) == pytest.approx(float(R.kappa(e, c)))
        assert float(ex["bernoulli_mu3"].subs(p, pp)) == pytest.approx(float(R.bernoulli_mu3(pp)))
        T = R.transition("symmetric", e, c)
        assert T[0, 1] == pytest.approx(float(ex["a"].subs({C: c, eta: e})))


# ---------------------------------------------------------------- crossing
def test_crossing_known_answers():
    assert R.crossing([0, 1, 2], [-1.0, -0.5, 0.5]) == (1.5, 1)
    assert R.crossing([0, 1, 2], [1.0, -1.0, -2.0]) == (0.5, -1)
    v, d = R.crossing([10, 100, 1000], [-1.0, 1.0, 2.0], log=True)
    assert d == 1 and v == pytest.approx(math.sqrt(10 * 100))
    assert R.crossing([0, 1, 2, 3], [-1.0, 0.0, 0.0, 1.0]) == (1.0, 1)
    v, d = R.crossing([0, 1], [1.0, 2.0])
    assert math.isnan(v) and d == 0
    assert R.crossing([0, 1, 2], [np.nan, -1.0, 1.0]) == (1.5, 1)


@pytest.mark.parametrize("args,match", [
    (([0, 1], [1.0]), r"same length"),
    (([1, 0], [1.0, -1.0]), r"strictly increasing"),
    (([0, 1], [1.0, -1.0], True), r"> 0 with log=True"),
])
def test_crossing_validation(args, match):
    with pytest.raises(ValueError, match=match):
        R.crossing(args[0], args[1], log=len(args) > 2)


# ---------------------------------------------------------------- the model
@pytest.fixture(scope="module")
def model():
    W = np.asarray(make_code("random", 20, 10, 4))
    return R.population_model(W, 0.85, n_pop=30000, n_moments=4000, n_test=800, n_ref=30000, seed=2)


def test_model_shapes_and_population_limit(model):
    C = 20
    assert model.s0.shape == (800, C) and model.R.shape == (C, C, C) and model.M.shape == (C, C)
    assert model.d1 == 11
    assert R.predicted_accuracy(model, math.inf) == pytest.approx(model.population_accuracy())
    # (R1): symmetric noise leaves the population accuracy unchanged
    for eta in (0.3, 0.9):
        assert R.predicted_accuracy(model, math.inf, eta) == pytest.approx(model.population_accuracy())
    # pair noise beyond 1/2 moves the population argmax to the wrong class
    assert R.predicted_accuracy(model, math.inf, 0.7, kind="pair") < 0.3 * model.population_accuracy()


def test_prediction_broadcasts_and_degrades_with_noise_and_small_n(model):
    acc, se = R.predicted_accuracy(model, np.array([200, 2000])[:, None], np.array([0.0, 0.5, 0.9])[None, :],
                                   return_se=True)
    assert acc.shape == se.shape == (2, 3) and np.all(se > 0)
    assert np.all(np.diff(acc, axis=1) < 0)  # more label noise, less accuracy
    assert np.all(acc[0] < acc[1])  # fewer samples, less accuracy
    lam = R.predicted_accuracy(model, 2000, 0.0, input_noise=[0.0, 0.3, 1.0])
    assert lam[0] > lam[1] > lam[2]


def test_joint_draws_agree_with_the_per_point_model_without_input_noise(model):
    """(R7') and (R7) share (R1)-(R3); without input noise and at moderate n they must agree within their
    Monte Carlo errors (the skewness term is small at eta = 0), and input noise must hurt."""
    a, sa = R.predicted_accuracy(model, [500, 5000], 0.0, return_se=True)
    b, sb = R.predicted_accuracy_draws(model, [500, 5000], 0.0, return_se=True, draws=16)
    assert np.all(np.abs(a - b) <= 5 * np.hypot(sa, sb) + 0.01), (a, b)
    c = R.predicted_accuracy_draws(model, 2000, 0.0, input_noise=[0.0, 0.3, 1.0], draws=8)
    assert c[0] > c[1] > c[2]
    with pytest.raises(ValueError, match=r"finite and >= 2"):
        R.predicted_accuracy_draws(model, math.inf)


def test_moments_are_consistent(model):
    for kind in R.KINDS:
        sig, var, k3, cov = R._moments(model, kind, 0.4)
        assert np.all(var >= 0) and np.all(np.isfinite(k3))
        w = np.linalg.eigvalsh(cov[:50])
        assert w.min() > -1e-8 * w.max()  # (R4) is a covariance


def test_finite_sample_model_matches_monte_carlo_and_catches_wrong_variants():
    """(R7) within 5 combined SE of simulated LS probes; two wrong variants fail the same check: the
    Gaussian leading order (no skewness) at n = 200, eta = 0.8, and a model that ignores label noise."""
    rng = np.random.default_rng(11)
    good = RC.verify_finite_sample(rng, points=((200, 0.8), (1000, 0.5)), reps=30, codes=("mono",),
                                  n_pop=40000, n_test=1500)
    assert good.passed, good.evidence
    gauss = RC.verify_finite_sample(np.random.default_rng(11), points=((200, 0.8),), reps=30, codes=("mono",),
                                   n_pop=40000, n_test=1500,
                                   predict=lambda m, n, e: R.predicted_accuracy(m, n, e, order=1, return_se=True))
    assert not gauss.passed, gauss.evidence
    blind = RC.verify_finite_sample(np.random.default_rng(11), points=((1000, 0.5),), reps=30, codes=("mono",),
                                   n_pop=40000, n_test=1500,
                                   predict=lambda m, n, e: R.predicted_accuracy(m, n, 0.0, return_se=True))
    assert not blind.passed, blind.evidence


def test_eta_invariance_check_and_a_wrong_shrinkage():
    assert RC.verify_eta_invariance(np.random.default_rng(3)).passed
    wrong = RC.verify_eta_invariance(np.random.default_rng(3), shrink=lambda eta, C: 1 - eta)  # two-class formula
    assert not wrong.passed, wrong.evidence


def test_input_noise_boundary_check_passes_and_catches_noise_on_the_code():
    kw = dict(reps=4, n_train=3000, n_pop=30000, n_test=800, steps=800)
    good = RC.verify_input_noise_boundary(np.random.default_rng(5), **kw)
    assert good.passed, good.evidence
    wrong = RC.verify_input_noise_boundary(np.random.default_rng(5), noise_on="h", **kw)
    assert not wrong.passed, wrong.evidence


# ---------------------------------------------------------------- claims and validation
def test_claims_are_registered():
    from theory import claims as C

    ids = {c.id for c in C.all_claims()}
    for c in RC.ROBUSTNESS_CLAIMS:
        assert c.id in ids and callable(c.check) and c.verdict_text
    assert "sims.robustness.claims" in C.CLAIM_MODULES


@pytest.mark.parametrize("call,match", [
    (lambda m: R.predicted_accuracy(m, 1), r"^n_train contains 1, must be >= 2"),
    (lambda m: R.predicted_accuracy(m, 100, 1.5), r"^label_noise == 1.5"),
    (lambda m: R.predicted_accuracy(m, 100, kind="asym"), r"^kind == 'asym'"),
    (lambda m: R.predicted_accuracy(m, 100, order=3), r"^order == 3"),
    (lambda m: R.predicted_accuracy(m, 100, input_noise=-1), r"^input_noise == -1"),
    (lambda m: R.population_model(np.ones(3), 0.5), r"^W.ndim == 1"),
    (lambda m: R.population_model(np.eye(4), 1.0), r"^sparsity == 1"),
    (lambda m: R.population_model(np.eye(4), 0.5, readout="relu"), r"^readout == 'relu'"),
    (lambda m: R.population_model(np.eye(4), 0.5, noise_on="y"), r"^noise_on == 'y'"),
    (lambda m: R.population_model(np.eye(4), 0.5, n_pop=1000, n_moments=2000), r"^n_moments == 2000"),
    (lambda m: R.transition("pair", 1.2, 4), r"^eta == 1.2"),
])
def test_bad_input_raises_naming_the_argument(model, call, match):
    with pytest.raises(ValueError, match=match):
        call(model)


def test_output_readout_has_no_input_noise_theory():
    W = np.asarray(make_code("mono", 8, 4))
    m = R.population_model(W, 0.8, readout="output", n_pop=5000, n_moments=1000, n_test=200, n_ref=5000)
    assert 0 < R.predicted_accuracy(m, 500, 0.3) < 1
    with pytest.raises(ValueError, match=r"^input_noise > 0 needs the hidden readout"):
        R.predicted_accuracy(m, 500, input_noise=0.1)


def test_bias_false_drops_only_the_score_bias(model):
    """``bias=False`` leaves out the O(1/n) score bias (R2') only: the fluctuation (R3) still costs accuracy at
    small n (it used to drop both, returning the population accuracy at any n), and at large n the two agree."""
    pop = model.population_accuracy()
    no_bias, se0 = R.predicted_accuracy(model, 20, 0.0, bias=False, return_se=True)
    with_bias, se1 = R.predicted_accuracy(model, 20, 0.0, return_se=True)
    assert no_bias < pop - 10 * se0  # the fluctuation alone lowers the accuracy at n = 20
    assert abs(float(no_bias) - float(with_bias)) < 0.1  # the bias is a correction, not the whole effect
    big = [R.predicted_accuracy(model, 1e6, 0.0, bias=b) for b in (False, True)]
    assert abs(big[0] - big[1]) < 1e-3 and abs(big[0] - pop) < 5e-3
