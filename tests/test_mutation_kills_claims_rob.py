"""Tests written against surviving mutants of the claim checks (benchmarks/mutation.py): each pins a behaviour the
other tests left free."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sims.engine import codes as engine_codes
from sims.engine.codes import make_code
from sims.robustness import claims as RC
from sims.robustness import scenarios as SC
from theory import margins_claims as MC


# ============================================================================================ robustness claims
# ---------------------------------------------------------------- _sim_label_noise
def test_sim_label_noise_is_mean_and_se_of_the_fits_at_the_given_noise(monkeypatch):
    """Mean and SE (sample SD with ddof = 1 over sqrt(reps)) of the clean-test accuracies of ``reps`` LS fits,
    each trained on a task of the code's ``n`` features at the given sparsity with label noise ``eta``."""
    W = np.asarray(make_code("random", 8, 4, 3))
    tasks, rates, accs = [], [], []
    real_task, real_noise = SC.make_task, SC.label_noise

    def task_spy(spec, n_train, n_test, seed):
        tasks.append((spec.n_features, spec.sparsity, n_train, n_test))
        return real_task(spec, n_train, n_test, seed)

    def noise_spy(W_, data, rates_, **kw):
        rates.append(list(rates_))
        out = real_noise(W_, data, rates_, **kw)
        accs.append(float(out[0, 0]))
        return out

    monkeypatch.setattr(SC, "make_task", task_spy)
    monkeypatch.setattr(SC, "label_noise", noise_spy)
    mean, se = RC._sim_label_noise(W, 0.7, 60, 0.3, 5, 300, np.random.default_rng(0))
    assert tasks == [(8, 0.7, 60, 300)] * 5 and rates == [[0.3]] * 5
    a = np.asarray(accs)
    assert np.all((a >= 0) & (a <= 1)) and a.std() > 0
    assert mean == pytest.approx(a.mean(), rel=1e-15)
    assert se == pytest.approx(a.std(ddof=1) / math.sqrt(5), rel=1e-12)
    assert se != pytest.approx(a.std() / math.sqrt(5), rel=1e-6)  # not the ddof = 0 SD


def test_sim_label_noise_fits_are_on_independent_tasks(monkeypatch):
    """The SE treats the ``reps`` fits as independent: each is trained on its own task, drawn from a distinct
    seed of the generator (60 fits, the default of verify_finite_sample)."""
    seeds = []
    monkeypatch.setattr(SC, "make_task", lambda spec, n_train, n_test, seed: seeds.append(seed) or len(seeds))
    monkeypatch.setattr(SC, "label_noise", lambda W, data, rates, **kw: np.array([[0.5 + 0.001 * data]]))
    RC._sim_label_noise(np.eye(4, 8), 0.9, 200, 0.5, 60, 100, np.random.default_rng(1))
    assert len(seeds) == 60 and len(set(seeds)) == 60


# ---------------------------------------------------------------- verify_finite_sample
def _truth(nt, eta):
    return 0.9 - 0.5 * eta - 10.0 / nt


def _finite_sample_stand_ins(monkeypatch, offset=lambda nt, eta: 0.0):
    """Stand-ins for the code, the population model, the prediction and the simulation: records what each got."""
    seen = {"codes": [], "models": [], "pred": [], "sim": []}

    def code_spy(name, n, m, seed=0, **kw):
        W = make_code(name, n, m, seed, **kw)
        seen["codes"].append((name, n, m, seed, np.asarray(W)))
        return W

    def model(W, sparsity, **kw):
        seen["models"].append((np.asarray(W), sparsity, kw))
        return SimpleNamespace(W=np.asarray(W))

    def predict(model_, nt, eta, return_se=False):
        seen["pred"].append((model_, nt, eta, return_se))
        return _truth(nt, eta), 0.003

    def sim(W, sparsity, nt, eta, reps, n_test, rng):
        seen["sim"].append((np.asarray(W), sparsity, nt, eta, reps))
        return _truth(nt, eta) + offset(nt, eta), 0.004

    monkeypatch.setattr(engine_codes, "make_code", code_spy)
    monkeypatch.setattr(RC, "population_model", model)
    monkeypatch.setattr(RC, "predicted_accuracy", predict)
    monkeypatch.setattr(RC, "_sim_label_noise", sim)
    return seen


def test_finite_sample_default_prediction_is_the_model_at_each_points_noise(monkeypatch):
    """Every code named is drawn (make_code(name, n, m, seed from the generator)) and both the population model
    and the simulation get that code; the default prediction is predicted_accuracy(model, n_train, eta) with its
    SE at each point, and a check whose simulation agrees with it passes."""
    seen = _finite_sample_stand_ins(monkeypatch)
    points = ((200, 0.8), (1000, 0.5))
    r = RC.verify_finite_sample(np.random.default_rng(0), points, reps=7, n=12, m=6, sparsity=0.8,
                                codes=("mono", "random"), n_pop=5000, n_test=300)
    assert r.passed, r.evidence
    assert [c[:3] for c in seen["codes"]] == [("mono", 12, 6), ("random", 12, 6)]
    for (name, n, m, seed, W), (Wm, S, kw) in zip(seen["codes"], seen["models"]):
        assert isinstance(seed, int) and W.shape == (6, 12)
        np.testing.assert_array_equal(Wm, W)
        assert S == 0.8 and kw["n_pop"] == 5000 and kw["n_test"] == 300 and kw["n_ref"] == 5000
    assert [(p[1], p[2], p[3]) for p in seen["pred"]] == [(200, 0.8, True), (1000, 0.5, True)] * 2
    assert [s[2:] for s in seen["sim"]] == [(200, 0.8, 7), (1000, 0.5, 7)] * 2
    for k, s in enumerate(seen["sim"]):
        np.testing.assert_array_equal(s[0], seen["codes"][k // 2][4])
        np.testing.assert_array_equal(seen["pred"][k][0].W, seen["codes"][k // 2][4])


def test_finite_sample_draws_the_population_seed_from_its_generator(monkeypatch):
    """Checks draw their parameters from the generator they are given (theory.claims): the population model's
    seed is an integer drawn from it, equal for equal generators and different for different ones."""
    seeds = []
    for s in (0, 0, 1):
        seen = _finite_sample_stand_ins(monkeypatch)
        RC.verify_finite_sample(np.random.default_rng(s), ((200, 0.5),), reps=3, n=8, m=4, codes=("random",))
        seeds.append(seen["models"][0][2]["seed"])
    assert all(isinstance(s, int) for s in seeds)
    assert seeds[0] == seeds[1] != seeds[2]


def test_finite_sample_rejects_a_point_six_combined_se_off(monkeypatch):
    """The prediction must lie within Z = 5 combined SE (hypot of the two SEs) of the simulation at every point."""
    se = math.hypot(0.003, 0.004)
    for k, ok in ((4.5, True), (6.0, False)):
        _finite_sample_stand_ins(monkeypatch, offset=lambda nt, eta, k=k: k * se if nt == 1000 else 0.0)
        r = RC.verify_finite_sample(np.random.default_rng(0), ((200, 0.8), (1000, 0.5)), reps=3, n=8, m=4)
        assert r.passed is ok, r.evidence


# ---------------------------------------------------------------- verify_input_noise_boundary
_LAMS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def _boundary_stand_ins(monkeypatch, reps):
    """Stand-ins: trained codes (tokens), tasks, the simulated accuracies (dense - superposed = lam - 0.25 plus a
    per-replicate offset) and a population model whose prediction crosses at 0.25 with the noise on x and never
    with the noise on the code (as for the real trained pair)."""
    seen = {"pair": [], "models": []}

    def trained_pair(rng, sparsity, reps_, steps=1000):
        seed = int(rng.integers(2**62))  # as the real one: the codes are trained from a seed of the generator
        seen["pair"].append((seed, sparsity, reps_, steps))
        return {nm: [SimpleNamespace(W=np.full((20, 40), float(i)), r=r) for r in range(reps_)]
                for i, nm in enumerate(("dense", "superposed"))}

    def input_noise(W, data, lv, n_train=None):
        lv = np.asarray(lv, dtype=np.float64)
        off = 0.02 * (data - (reps - 1) / 2)
        return np.stack([0.6 + 0.5 * (lv - 0.25 + off), 0.6 + 0 * lv])[:, None, :]

    tasks = iter(range(10**6))
    monkeypatch.setattr(SC, "make_task", lambda spec, n_train, n_test, seed: next(tasks) % reps)

    def model(W, sparsity, *, n_pop, n_test, n_ref, seed, noise_on="x"):
        seen["models"].append({"code": float(W[0, 0]), "n_pop": n_pop, "n_test": n_test, "n_ref": n_ref,
                               "seed": seed, "noise_on": noise_on})
        return SimpleNamespace(dense=W[0, 0] == 0.0, noise_on=noise_on)

    def draws(model_, n_train, eta, *, input_noise, seed):
        lv = np.asarray(input_noise, dtype=np.float64)
        if model_.dense or model_.noise_on == "h":
            return 0.6 + 0.4 * (lv - 0.25) + 0.01 * (seed - (reps - 1) / 2)
        return 0.6 + 0.0 * lv

    monkeypatch.setattr(RC, "_trained_pair", trained_pair)
    monkeypatch.setattr(SC, "input_noise", input_noise)
    monkeypatch.setattr(RC, "population_model", model)
    monkeypatch.setattr(RC, "predicted_accuracy_draws", draws)
    return seen


def test_input_noise_boundary_passes_the_noise_model_and_sizes_to_the_population_model(monkeypatch):
    """The codes come from _trained_pair(generator, S, reps, steps); each replicate's two population models get
    the check's n_pop (also as n_ref), n_test, one seed drawn from the generator and noise_on; with agreeing
    crossings (0.25) the check passes."""
    seen = _boundary_stand_ins(monkeypatch, reps=4)
    r = RC.verify_input_noise_boundary(np.random.default_rng(0), reps=4, n_train=300, sparsity=0.9, lams=_LAMS,
                                       n_pop=1234, n_test=567, steps=11)
    assert r.passed, r.evidence
    assert len(seen["pair"]) == 1 and seen["pair"][0][1:] == (0.9, 4, 11)
    assert r.numbers["sim"] == pytest.approx(0.25, abs=1e-12) and r.numbers["pred"] == pytest.approx(0.25, abs=1e-12)
    assert len(seen["models"]) == 8
    for k, mo in enumerate(seen["models"]):
        assert mo["code"] == float(k % 2)  # dense, then superposed
        assert (mo["n_pop"], mo["n_test"], mo["n_ref"], mo["noise_on"]) == (1234, 567, 1234, "x")
        assert isinstance(mo["seed"], int) and mo["seed"] == seen["models"][k - k % 2]["seed"]


@pytest.mark.filterwarnings("ignore:Degrees of freedom <= 0:RuntimeWarning")  # nanstd of all-NaN bootstraps
def test_input_noise_boundary_with_noise_on_the_code_predicts_no_crossing_and_fails(monkeypatch):
    """noise_on="h" reaches the population model (a deliberately wrong model): it predicts no crossing, so the
    check fails with a NaN prediction."""
    seen = _boundary_stand_ins(monkeypatch, reps=4)
    r = RC.verify_input_noise_boundary(np.random.default_rng(0), noise_on="h", reps=4, n_train=300, lams=_LAMS,
                                       n_pop=1000, n_test=100, steps=5)
    assert {mo["noise_on"] for mo in seen["models"]} == {"h"}
    assert not r.passed and math.isnan(r.numbers["pred"]) and r.numbers["sim"] == pytest.approx(0.25, abs=1e-12)


# ---------------------------------------------------------------- verify_eta_invariance
def test_eta_invariance_draws_its_random_code_from_the_generator(monkeypatch):
    """Checks draw their parameters from the generator they are given (theory.claims): the random code is
    make_code("random", n, m, seed from the generator): the same for equal generators, another for another."""
    got = []

    def code_spy(name, n, m, seed=0, **kw):
        W = np.asarray(make_code(name, n, m, seed, **kw))
        got.append((name, n, m, W))
        return W

    monkeypatch.setattr(engine_codes, "make_code", code_spy)
    for s in (0, 0, 1):
        assert RC.verify_eta_invariance(np.random.default_rng(s), 0.3, n=6, m=3, N=2000, batches=4).numbers["se"] > 0
    assert [g[:3] for g in got] == [("random", 6, 3)] * 3
    np.testing.assert_array_equal(got[0][3], got[1][3])
    assert not np.allclose(got[0][3], got[2][3])


# ============================================================================================ margins claims
def test_readout_check_uses_the_unbiased_sample_variance():
    """The empirical score-noise variance is the sample variance with ddof = 1 (its SE sqrt(2/(N-1)) is that of
    this estimator): with noise whose sample covariance (ddof = 1) is exactly the identity, the empirical variances
    equal the closed form 2 lam^2 to round-off."""
    N, n = 20000, 12
    z = np.random.default_rng(0).standard_normal((N, n))
    z -= z.mean(axis=0)
    L = np.linalg.cholesky(np.cov(z, rowvar=False))
    z = np.linalg.solve(L, z.T).T  # sample covariance exactly I
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(n), atol=1e-12)

    class Noise:
        def standard_normal(self, shape):
            assert shape == (N, n)
            return z

    r = MC.check_readout(Noise())
    assert r.passed and r.numbers["max_rel_err"] < 1e-9, r.numbers


class _NoiselessDraws:
    """A generator whose (D, n) noise draws of check_error_bounds are all zero (other draws pass through)."""

    def __init__(self, seed, shape):
        self._rng, self._shape = np.random.default_rng(seed), shape

    def __getattr__(self, name):
        return getattr(self._rng, name)

    def standard_normal(self, shape):
        return np.zeros(shape) if tuple(shape) == self._shape else self._rng.standard_normal(shape)


@pytest.mark.parametrize("k, ok", [(4.5, True), (5.5, False)])
def test_error_bounds_check_allows_five_se_not_more(monkeypatch, k, ok):
    """The per-sample error rate must lie within the bounds up to 5 SE: an excursion of 4.5 SE passes, 5.5 SE
    fails. Without noise every rate is 0 or 1 (SE floor sqrt(1/D)/sqrt(D) = 1/D, D = 4000 draws), and bounds
    set k SE past the first sample's rate give an excursion of exactly k SE."""
    D = 4000

    def bounds(x, y, W, n, lam):
        p = (np.argmax(x @ (W.T @ W), axis=1) != y).astype(float)
        lo, up = np.zeros(len(y)), np.ones(len(y))
        if p[0] == 0.0:
            lo[0] = k / D
        else:
            up[0] = 1.0 - k / D
        return lo[None], up[None]

    monkeypatch.setattr(MC, "error_bounds", bounds)
    r = MC.check_error_bounds(_NoiselessDraws(3, (D, 32)))
    assert r.numbers["worst_se"] == pytest.approx(k, rel=1e-9)
    assert bool(r.passed) is ok


def test_fisher_check_se_is_the_delta_method_se_of_a_ratio_of_means(monkeypatch):
    """SE of mean(num) / mean(den) over k = 400 codes: sqrt((var num - 2 R cov + R^2 var den) / k) / mean(den)
    (sample covariances), with den = V + lam^2 N (lam = 0.1)."""
    g = np.random.default_rng(5)
    parts = np.column_stack([2.0 + g.random(400) * 3.0, 1.0 + g.random(400), 4.0 + 2.0 * g.random(400)])
    it = iter(parts)
    monkeypatch.setattr(MC, "fisher_parts", lambda G, n, S: next(it))
    r = MC.check_fisher(np.random.default_rng(0))
    num, den = parts[:, 0], parts[:, 1] + 0.01 * parts[:, 2]
    R = num.mean() / den.mean()
    var = (np.var(num, ddof=1) - 2 * R * np.cov(num, den)[0, 1] + R**2 * np.var(den, ddof=1)) / 400
    assert r.numbers["ratio"] == pytest.approx(R, rel=1e-12)
    assert r.numbers["se"] == pytest.approx(math.sqrt(var) / den.mean(), rel=1e-9)


def test_crossing_simulated_interpolates_linearly_between_the_bracketing_levels(monkeypatch):
    """The crossing is the linear interpolation of mono - random between the last level where it is <= 0 and the
    first where it is > 0. Stand-in: n = 2, m = 1 (mono always says class 0), code W = I; 2 of 10 samples are class
    1 (mono wrong), 8 are class 0 whose noise flips the random code's argmax at known levels, so the difference
    at lams 0, .1, .2, .3, .4 is -0.2, -0.1, 0.1, 0.4, 0.6: lam* = 0.1 + 0.1 * 0.1 / 0.2 = 0.15."""
    x = np.array([[0.0, 1.0]] * 2 + [[1.0, 0.0]] * 8)
    y = np.array([1] * 2 + [0] * 8)
    thresholds = [0.05, 0.15, 0.15, 0.25, 0.25, 0.25, 0.35, 0.35]  # row flips once lam exceeds its threshold
    z = np.array([[0.0, 0.0]] * 2 + [[0.0, 1.0 / t] for t in thresholds])

    class Noise:
        def standard_normal(self, shape):
            assert shape == x.shape
            return z

    monkeypatch.setattr(MC, "_sample", lambda n, S, N, rng: (x, y))
    monkeypatch.setattr(MC, "_random_code", lambda n_rep, n, m, rng: np.eye(2))
    lam = MC.crossing_simulated(Noise(), 2, 1, 0.5, np.array([0.0, 0.1, 0.2, 0.3, 0.4]))
    assert lam == pytest.approx(0.15, rel=1e-9)
    # first positive difference at the second level: between lams[0] and lams[1]
    lam = MC.crossing_simulated(Noise(), 2, 1, 0.5, np.array([0.1, 0.2, 0.3]))
    assert lam == pytest.approx(0.1 + 0.1 * 0.1 / 0.2, rel=1e-9)


# ---------------------------------------------------------------- _fig5_sim
def test_fig5_sim_gives_symmetric_95_percent_t_intervals_of_the_paired_differences(monkeypatch):
    """Per level, (mean, mean - half, mean + half) of dense - superposed over the replicates, half the 95%
    Student-t half-width t_{0.975, reps-1} SD / sqrt(reps) (scipy's quantile: 2.7764451 for 5 replicates);
    label noise at eta 0, .4, .8, .9 and input noise at lam 0, .2, .4, .6."""
    reps = 5
    monkeypatch.setattr(RC, "_trained_pair", lambda rng, S, reps_, steps=1000: {
        nm: [SimpleNamespace(W=np.full((20, 40), float(i))) for _ in range(reps_)]
        for i, nm in enumerate(("dense", "superposed"))})
    tasks = iter(range(reps))
    monkeypatch.setattr(SC, "make_task", lambda spec, n_train, n_test, seed: next(tasks))
    seen = {}

    def acc(kind, sign):
        def f(W, data, levels, **kw):
            seen[kind] = np.asarray(levels, dtype=float)
            d = sign * (0.1 * np.asarray(levels) + 0.01 * data**2 - 0.05)  # dense - superposed of replicate `data`
            return np.stack([0.5 + d, 0.5 + 0 * d])[:, None, :]
        return f

    monkeypatch.setattr(SC, "label_noise", acc("label", 1.0))
    monkeypatch.setattr(SC, "input_noise", acc("input", -1.0))
    r = RC._fig5_sim(np.random.default_rng(0), reps=reps)
    np.testing.assert_array_equal(seen["label"], [0.0, 0.4, 0.8, 0.9])
    np.testing.assert_array_equal(seen["input"], [0.0, 0.2, 0.4, 0.6])
    q = 0.01 * np.arange(reps) ** 2
    half = 2.7764451051977934 * q.std(ddof=1) / math.sqrt(reps)
    for kind, sign, lv in (("label", 1.0, seen["label"]), ("input", -1.0, seen["input"])):
        mu, lo, hi = r[kind]
        np.testing.assert_allclose(mu, sign * (0.1 * lv + q.mean() - 0.05), rtol=0, atol=1e-14)
        np.testing.assert_allclose(mu - lo, half, rtol=1e-9)
        np.testing.assert_allclose(hi - mu, half, rtol=1e-9)
