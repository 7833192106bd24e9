"""Tests written against surviving mutants of theory.robustness (benchmarks/mutation.py): each pins a behaviour the other tests left free."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sims.engine.codes import make_code
from theory import robustness as R

_SMALL = dict(n_pop=2000, n_moments=500, n_test=100, n_ref=2000)


@pytest.fixture(scope="module")
def small():
    """A small hidden-readout model (random code, 6 features in 4 dimensions)."""
    W = np.asarray(make_code("random", 6, 4, 1))
    return R.population_model(W, 0.8, seed=1, **_SMALL)


@pytest.fixture(scope="module")
def mono8():
    """The monosemantic code on 8 features, enough test points for Monte Carlo comparisons."""
    W = np.asarray(make_code("mono", 8, 8))
    return R.population_model(W, 0.8, n_pop=20000, n_moments=4000, n_test=1000, n_ref=20000, seed=1)


# ---------------------------------------------------------------- validation: the message names the argument and range
def test_kappa_refuses_one_class_naming_n_classes():
    with pytest.raises(ValueError, match=r"^n_classes == 1, must be in \[2, inf\)"):
        R.kappa(0.1, 1)


def test_population_model_refuses_a_small_n_pop_naming_it():
    with pytest.raises(ValueError, match=r"^n_pop == 50, must be in \[100, 100000000\]"):
        R.population_model(np.eye(4), 0.5, n_pop=50)


def test_population_model_bounds_n_test_above():
    # train_noise=-1 is invalid too but checked later: the n_test error must come first
    with pytest.raises(ValueError, match=r"^n_test == 10000001, must be in \[10, 10000000\]"):
        R.population_model(np.eye(4), 0.5, n_pop=1000, n_moments=100, n_test=10**7 + 1, train_noise=-1.0)


def test_population_model_bounds_n_ref_above():
    with pytest.raises(ValueError, match=r"^n_ref == 100000001, must be in \[10, 100000000\]"):
        R.population_model(np.eye(4), 0.5, n_pop=1000, n_moments=100, n_ref=10**8 + 1, train_noise=-1.0)


def test_population_model_accepts_two_features_and_refuses_one():
    m = R.population_model(np.eye(2), 0.5, **_SMALL)
    assert m.n_classes == 2 and m.d1 == 3
    assert 0.5 < m.population_accuracy() <= 1.0
    with pytest.raises(ValueError, match=r"must have at least 2 features"):
        R.population_model(np.ones((3, 1)), 0.5, **_SMALL)


def test_noise_on_h_is_accepted_and_uses_the_identity_gain():
    W = np.asarray(make_code("random", 6, 4, 1))
    m = R.population_model(W, 0.8, noise_on="h", **_SMALL)
    assert m.meta["noise_on"] == "h"
    np.testing.assert_array_equal(m.draws_data["A"], np.eye(4))
    Bh = m.draws_data["Bh"]
    np.testing.assert_allclose(m.M, Bh.T @ Bh, rtol=1e-12, atol=1e-15)


def test_output_readout_bias_b_is_used_and_validated_by_name():
    W = np.asarray(make_code("random", 4, 3, 2))
    none = R.population_model(W, 0.8, readout="output", **_SMALL)
    zero = R.population_model(W, 0.8, readout="output", b=np.zeros(4), **_SMALL)
    np.testing.assert_allclose(zero.s0, none.s0, rtol=1e-12, atol=1e-12)  # b = 0 is no bias
    shifted = R.population_model(W, 0.8, readout="output", b=np.full(4, -0.3), **_SMALL)
    assert not np.allclose(shifted.s0, none.s0)
    with pytest.raises(ValueError, match=r"^b\.shape == \(3,\), must be \(4\)"):
        R.population_model(W, 0.8, readout="output", b=np.zeros(3), **_SMALL)


# ---------------------------------------------------------------- training-time input noise
def test_train_noise_with_the_default_gaussian_kind_changes_the_population_probe():
    W = np.asarray(make_code("random", 6, 4, 1))
    clean = R.population_model(W, 0.8, **_SMALL)
    noisy = R.population_model(W, 0.8, train_noise=0.5, **_SMALL)
    assert noisy.meta["noise_kind"] == "gaussian" and noisy.meta["train_noise"] == 0.5
    assert np.all(np.isfinite(noisy.s0))
    assert not np.allclose(noisy.s0, clean.s0, atol=1e-3)  # the probe of noisy training codes


def _training_codes(model):
    """The training codes h̃_i of the moment sample, recovered from u_i = Σ̃⁻¹ h̃_i when n_moments == n_pop
    (then Σ̃⁻¹ = (1/N) Σ_i u_i u_iᵀ)."""
    U = model.draws_data["U"]
    Sig = np.linalg.inv(U.T @ U / U.shape[0])
    return U @ Sig


@pytest.mark.parametrize("kind,bounded", [("uniform", True), ("gaussian", False)])
def test_train_noise_kind_reaches_the_training_codes(kind, bounded):
    """noise_kind="uniform" is U(-√3, √3) per entry: the noisy training codes x + λ z of the identity code
    stay within √3 λ of x in [0, 1]; Gaussian noise of the same variance does not (4000 draws)."""
    lam = 1000.0
    m = R.population_model(np.eye(2), 0.5, n_pop=2000, n_moments=2000, n_test=10, n_ref=10,
                           train_noise=lam, noise_kind=kind)
    Ht = _training_codes(m)
    np.testing.assert_allclose(Ht[:, -1], 1.0, atol=1e-6)  # the intercept column: the recovery is right
    z = Ht[:, :2] / lam
    assert np.std(z) == pytest.approx(1.0, rel=0.1)
    assert (np.max(np.abs(z)) <= math.sqrt(3.0) + 2.0 / lam) == bounded


# ---------------------------------------------------------------- (R6): the finite-sample noise gain
@pytest.mark.parametrize("kind", R.KINDS)
def test_input_noise_cov_first_order_diagonal_is_the_r3_variance_of_the_gain(kind):
    """(R6): d/d(1/n) of the diagonal of the noise covariance at 1/n -> 0 is the exact (R3) variance with the
    gain weights a (Ma[0] = E[a 1{y=c}], Ma[1] = E[a e_c²], Ma[2] = E[a e_c e_{c-1}]) minus twice the
    bias term diag(Tᵀ Qb T)."""
    W = np.asarray(make_code("mono", 6, 6))
    mdl = R.population_model(W, 0.8, n_pop=10000, n_moments=2000, n_test=20, n_ref=100, seed=1)
    C, eta, inv_n = 6, 0.3, 1e-6
    T = R.transition(kind, eta, C)
    va, wa, wpa = mdl.Ma
    var = va @ (T * (1 - T))
    if kind == "symmetric":
        var = var + float(R.kappa(eta, C)) ** 2 * wa
    else:
        var = var + (1 - eta) ** 2 * wa + 2 * eta * (1 - eta) * wpa + eta ** 2 * np.roll(wa, 1)
    expected = var - 2 * np.diag(T.T @ mdl.Qb @ T)
    base = R._input_noise_cov(mdl, T, kind, eta, 0.0)
    np.testing.assert_allclose(base, T.T @ mdl.M @ T, rtol=1e-12, atol=1e-14)
    got = np.diag(R._input_noise_cov(mdl, T, kind, eta, inv_n) - base) / inv_n
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# ---------------------------------------------------------------- (R7'): the joint draws
def test_draws_validation_names_the_argument(small):
    with pytest.raises(ValueError, match=r"^draws == 10001, must be in \[2, 10000\]"):
        R.predicted_accuracy_draws(small, 100, 2.0, draws=10**4 + 1)  # label_noise=2 is checked later
    with pytest.raises(ValueError, match=r"^input_noise == 2000000, must be in \[0, 1000000\]"):
        R.predicted_accuracy_draws(small, 100, input_noise=2e6, draws=2)
    with pytest.raises(ValueError, match=r"^model has no moment sample \(draws_data\)"):
        R.predicted_accuracy_draws(dataclasses.replace(small, draws_data=None), 100, draws=2)


def test_draws_refuse_input_noise_on_the_output_readout():
    W = np.asarray(make_code("mono", 4, 4))
    m = R.population_model(W, 0.8, readout="output", **_SMALL)
    assert 0 < R.predicted_accuracy_draws(m, 500, draws=2) <= 1
    with pytest.raises(ValueError, match=r"^input_noise > 0 needs the hidden readout"):
        R.predicted_accuracy_draws(m, 500, input_noise=0.1, draws=2)


def test_draws_se_is_the_reference_binomial_se_when_the_fits_do_not_move():
    """At n = 1e15 the probe error (~1e-8) moves no argmax: every draw scores the same, so the SE is the
    binomial SE of the reference points alone, sqrt(ref (1 - ref) / n_ref), also with the fewest draws (2)."""
    W = np.asarray(make_code("random", 6, 4, 1))
    m = R.population_model(W, 0.8, n_pop=2000, n_moments=500, n_test=100, n_ref=2001, seed=1)
    ref = m.population_accuracy()
    for draws in (2, 3):
        acc, se = R.predicted_accuracy_draws(m, 1e15, draws=draws, return_se=True)
        assert acc == pytest.approx(ref, abs=1e-12)
        assert se == pytest.approx(math.sqrt(ref * (1 - ref) / 2001), rel=1e-9)


@pytest.mark.parametrize("n", [10, 20])
def test_draws_agree_with_the_per_point_gaussian_model_at_small_n(mono8, n):
    """(R7') and the Gaussian per-point model (R7, order=1) share the sandwich variance (R3) and the bias
    (R2'), with residuals r = onehot(ỹ) - p + d; without input noise they agree within Monte Carlo error at
    small n, where both the variance and the bias matter (a few points of accuracy each)."""
    a, sa = R.predicted_accuracy(mono8, n, 0.0, order=1, draws=16, return_se=True)
    b, sb = R.predicted_accuracy_draws(mono8, n, 0.0, draws=64, return_se=True)
    assert abs(a - b) <= 3 * math.hypot(sa, sb) + 0.01, (a, sa, b, sb)


# ---------------------------------------------------------------- boundary
@pytest.fixture(scope="module")
def pair():
    """The planted mono code and a random code (8 features, 6 dims) at S = 0.9."""
    kw = dict(n_pop=6000, n_moments=1500, n_test=400, n_ref=6000, seed=3)
    mono = R.population_model(np.asarray(make_code("mono", 8, 8)), 0.9, **kw)
    poly = R.population_model(np.asarray(make_code("random", 8, 6, 1)), 0.9, **kw)
    return mono, poly


def test_predicted_boundary_is_the_crossing_of_the_two_predictions(pair):
    mono, poly = pair
    grid = [3, 5, 10, 20, 40, 80, 160, 320, 640, 1280]
    kw = dict(label_noise=0.0, kind="symmetric", order=2, draws=3, seed=7)
    b = R.predicted_boundary(mono, poly, "n_train", grid, **kw)
    assert b.axis == "n_train"
    assert b.grid.dtype == np.float64 and list(b.grid) == [float(v) for v in grid]
    am = R.predicted_accuracy(mono, np.asarray(grid, dtype=float), **kw)
    ap = R.predicted_accuracy(poly, np.asarray(grid, dtype=float), **kw)
    np.testing.assert_array_equal(b.mono, am)  # the same arguments, seed included (common random numbers)
    np.testing.assert_array_equal(b.poly, ap)
    np.testing.assert_array_equal(b.diff, am - ap)
    val, direction = R.crossing(grid, am - ap, log=True)  # interpolated in log n for sample sizes
    assert (b.value == val or (math.isnan(b.value) and math.isnan(val))) and b.direction == direction


# ---------------------------------------------------------------- (R3), (R5) closed forms at the model's moments
@pytest.mark.parametrize("kind", R.KINDS)
def test_moments_follow_r3_and_r5(small, kind):
    """n Var δs_c (R3) and, for symmetric noise, n² κ₃ (R5) from the stored class moments."""
    C, eta = small.n_classes, 0.3
    T = R.transition(kind, eta, C)
    sig, var, k3, cov = R._moments(small, kind, eta)
    np.testing.assert_allclose(sig, small.s0 @ T, rtol=1e-12)
    base = small.v @ (T * (1 - T))
    kap = float(R.kappa(eta, C))
    if kind == "symmetric":
        want = base + kap ** 2 * small.w
        a = eta / (C - 1)
        # E(r_c³|x) = μ₃(p_c) + 3 d_c p_c (1 - p_c) + d_c³, d = κ e, p_c = a (y != c) or 1 - η (y = c)
        want3 = (small.v3 @ R.bernoulli_mu3(T) + 3 * kap * (a * (1 - a) * (small.x3 - small.xy3)
                                                          + eta * (1 - eta) * small.xy3) + kap ** 3 * small.w3)
        np.testing.assert_allclose(k3, want3, rtol=1e-9, atol=1e-12)
    else:
        want = (base + (1 - eta) ** 2 * small.w + 2 * eta * (1 - eta) * small.wp
                + eta ** 2 * np.roll(small.w, 1, axis=-1))
        np.testing.assert_allclose(k3, small.v3 @ R.bernoulli_mu3(T), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(var, np.maximum(want, 0.0), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- more validation and bookkeeping
def test_transition_refuses_one_class():
    with pytest.raises(ValueError, match=r"^n_classes == 1, must be in \[2, inf\)"):
        R.transition("symmetric", 0.1, 1)


def test_predicted_accuracy_validation(small):
    with pytest.raises(ValueError, match=r"^draws == 10001, must be in \[1, 10000\]"):
        R.predicted_accuracy(small, 1, draws=10**4 + 1)  # n_train = 1 is refused later
    with pytest.raises(ValueError, match=r"^n_train contains 1, must be >= 2"):
        R.predicted_accuracy(small, [2, 1])  # 2 is allowed: the message quotes the first bad value


def test_predicted_accuracy_is_reproducible_for_a_seed(small):
    a = R.predicted_accuracy(small, [20, 200], 0.3, draws=2, seed=5)
    b = R.predicted_accuracy(small, [20, 200], 0.3, draws=2, seed=5)
    np.testing.assert_array_equal(a, b)  # common random numbers


def test_meta_and_noise_gain_of_the_default_noise_on_x():
    W = np.asarray(make_code("random", 6, 4, 1))
    m = R.population_model(W, 0.8, **_SMALL)
    assert m.meta["n_pop"] == 2000 and m.meta["noise_kind"] == "gaussian" and m.meta["noise_on"] == "x"
    np.testing.assert_allclose(m.draws_data["A"], W @ W.T, rtol=1e-12)
    assert m.draws_data["m"] == 4 and m.draws_data["U"].shape == (500, 5)


def test_output_readout_test_scores_use_the_bias_b():
    """With b, the test points and the reference points are coded alike: the population probe's accuracy on
    the test points agrees with population_accuracy() on the reference points within binomial error."""
    W = np.asarray(make_code("random", 4, 3, 2))
    m = R.population_model(W, 0.8, readout="output", b=np.full(4, -0.4), n_pop=4000, n_moments=500,
                           n_test=4000, n_ref=4000, seed=2)
    ref = m.population_accuracy()
    hit = float(np.mean(np.argmax(m.s0, axis=1) == m.y))
    assert abs(hit - ref) <= 4 * math.sqrt(2 * ref * (1 - ref) / 4000) + 0.005, (hit, ref)


def _direct_joint_accuracy(model, n, lam, draws, rng):
    """(R7') at eta = 0 by an independent sampler: vec(√n Δ) ~ N(0, (1/N) Σ_i vec(u_i e_iᵀ) vec(u_i e_iᵀ)ᵀ) (the
    sandwich covariance) drawn from its matrix square root, each test point scored as the noisy point
    (h + λ ε̃, 1) by B* + Δ minus the bias/n, ε̃ ~ N(0, A); same control variate as the model."""
    D = model.draws_data
    U, e, Htt, A, Bh, m = D["U"], D["e"], D["Htt"], D["A"], D["Bh"], D["m"]
    N, d1 = U.shape
    C, t = e.shape[1], Htt.shape[0]
    F = (U[:, :, None] * e[:, None, :]).reshape(N, d1 * C)
    w, V = np.linalg.eigh(F.T @ F / N)
    root = V * np.sqrt(np.maximum(w, 0.0))
    LA = np.linalg.cholesky(A + 1e-12 * np.eye(m))
    hits = np.empty(draws)
    for k in range(draws):
        delta = (root @ rng.standard_normal(d1 * C)).reshape(d1, C) / math.sqrt(n)
        eps = rng.standard_normal((t, m)) @ LA.T
        sc = model.s0 + Htt @ delta - model.bias / n + lam * eps @ (Bh + delta[:m])
        hits[k] = np.mean(np.argmax(sc, axis=1) == model.y)
    hit_pop = np.mean(np.argmax(model.s0, axis=1) == model.y)
    return model.population_accuracy() + hits.mean() - hit_pop, hits.std(ddof=1) / math.sqrt(draws)


def test_draws_under_input_noise_score_the_noisy_point_with_the_fitted_probe():
    """(R7'): the same Δ enters the clean score and the noise gain, λ (B* + Δ)_hᵀ ε̃: the model agrees with an
    independent Monte Carlo of that law (random code, n = 20, λ = 0.3)."""
    W = np.asarray(make_code("random", 8, 4, 1))
    mdl = R.population_model(W, 0.8, n_pop=20000, n_moments=4000, n_test=1000, n_ref=20000, seed=1)
    a, sa = _direct_joint_accuracy(mdl, 20, 0.3, 256, np.random.default_rng(5))
    b, sb = R.predicted_accuracy_draws(mdl, 20, 0.0, input_noise=0.3, draws=256, return_se=True)
    assert abs(a - b) <= 4 * math.hypot(sa, sb) + 0.005, (a, sa, b, sb)
