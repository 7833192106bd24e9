"""Tests written against mutants that survived ``benchmarks/mutation.py`` (mutmut 3): each pins a behaviour
the other tests left free - a bound, a cutoff, a solver choice, a batch axis."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sims.engine.probes import fit_linear, max_abs_H
from sims.engine.backend import resolve_backend

XP = resolve_backend("numpy")


def _data(n=60, d=4, C=3, seed=0):
    g = np.random.default_rng(seed)
    H = g.standard_normal((n, d))
    y = g.integers(0, C, n)
    y[:C] = np.arange(C)
    return H, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, d", [(50, 3), (7, 40)])
def test_the_largest_accepted_H_is_a_quarter_of_sqrt_max_over_n_d(dtype, n, d):
    top = max_abs_H(XP, XP.float64 if dtype == np.float64 else XP.float32, n, d)
    assert top == pytest.approx(0.25 * math.sqrt(float(np.finfo(dtype).max) / (n * d)), rel=1e-12)
    H, y = _data(n, d, 2)
    H = (H / np.abs(H).max()).astype(dtype)
    fit_linear(H * dtype(top * 0.99), y, 2, alpha=1.0)  # just inside: accepted
    with pytest.raises(ValueError, match=r"H contains values up to .* must be in \[-"):
        fit_linear(H * dtype(top * 1.01), y, 2, alpha=1.0)


def test_auto_solver_is_svd_without_ridge_and_cholesky_with_it():
    H, y = _data()
    assert fit_linear(H, y, 3).solver == "svd"
    assert fit_linear(H, y, 3, alpha=0.5).solver == "cholesky"


def test_auto_falls_back_to_the_svd_ridge_solution_when_cholesky_fails():
    g = np.random.default_rng(1)
    base = g.random((20000, 8)) * 10
    H = np.hstack([base, base]).astype(np.float32)  # duplicated columns: Gram + 1e-3 I not PD in float32
    y = g.integers(0, 3, 20000)
    with pytest.raises(ValueError, match="alpha == 0.001 in float32"):
        fit_linear(H, y, 3, alpha=1e-3, solver="cholesky")
    auto = fit_linear(H, y, 3, alpha=1e-3)
    svd = fit_linear(H, y, 3, alpha=1e-3, solver="svd")
    assert auto.solver == "svd"
    np.testing.assert_array_equal(auto.coef, svd.coef)
    np.testing.assert_array_equal(auto.intercept, svd.intercept)


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e4])
def test_svd_cutoff_is_relative_to_the_largest_singular_value(scale):
    """A rank-deficient H at any scale gives the minimum-norm least-squares probe (numpy's lstsq)."""
    H, y = _data(80, 5)
    H = np.hstack([H, H[:, :2] + H[:, 2:4]]) * scale  # 7 columns, rank 5
    probe = fit_linear(H, y, 3, solver="svd")
    Hc = H - H.mean(axis=0)
    Y = np.eye(3)[y]
    ref = np.linalg.lstsq(Hc, Y - Y.mean(axis=0), rcond=None)[0]
    np.testing.assert_allclose(probe.coef, ref, rtol=1e-6, atol=1e-9 / scale)


def test_batched_svd_probes_equal_one_problem_at_a_time():
    """The singular-value cutoff and the weighted means are per problem of the batch, not over the batch."""
    H1, y = _data(50, 4)
    H1 = np.hstack([H1, H1[:, :1]])
    H = np.stack([H1 * 1e-8, H1 * 1e8, H1])  # scales 1e16 apart in one batch (beyond 1 / (eps n))
    w = np.stack([np.ones(50), np.linspace(0.5, 2, 50), np.linspace(2, 0.5, 50)])
    batch = fit_linear(H, y, 3, solver="svd", sample_weight=w)
    for k in range(3):
        one = fit_linear(H[k], y, 3, solver="svd", sample_weight=w[k])
        np.testing.assert_allclose(batch.coef[k], one.coef, rtol=1e-7, atol=1e-12 * np.abs(one.coef).max())
        np.testing.assert_allclose(batch.intercept[k], one.intercept, rtol=1e-7, atol=1e-9)


def test_float32_svd_cutoff_uses_float32_eps():
    """In float32 a direction at 1e-5 of the largest singular value is noise (below eps32 * n): dropped."""
    g = np.random.default_rng(3)
    base = g.standard_normal((200, 3))
    H = np.hstack([base, base[:, :1] + 1e-5 * g.standard_normal((200, 1))]).astype(np.float32)
    y = g.integers(0, 2, 200)
    coef = fit_linear(H, y, 2, solver="svd").coef
    assert np.abs(coef).max() < 10  # kept, the 1e-5 direction would blow the coefficients up to ~1e4


# ============================================================================================ theory.margins
from fractions import Fraction  # noqa: E402
import re  # noqa: E402

from theory import margins as TM  # noqa: E402


def _exact_argmax_moments(n: int, S: str) -> dict[str, float]:
    """(M8) from first principles, in exact rational arithmetic: class ``a`` is the argmax with ``x_a = t``
    when every other feature is below ``t`` (0 w.p. S, U(0, t) w.p. p t), so ``P(a, x_a in dt) = p F^(n-1) dt``,
    ``F = S + p t``, and ``E[x_i 1{x_i < t}] = p t^2 / 2``, ``E[x_i^2 1{x_i < t}] = p t^3 / 3``."""
    S = Fraction(S)
    p = 1 - S

    def integral(j: int, k: int) -> Fraction:  # int_0^1 t^j F^k dt, F expanded binomially
        return sum(math.comb(k, i) * S ** (k - i) * p**i / Fraction(i + j + 1) for i in range(k + 1))

    alpha = n * p * integral(1, n - 1)
    beta = n * p * (p / 2) * integral(2, n - 2)
    out = {
        "alpha": alpha,
        "beta": beta,
        "sM": n * p * integral(2, n - 1) - alpha**2,
        "sO": n * p * (p / 3) * integral(3, n - 2) - beta**2,
        "kappa": n * p * (p / 2) * integral(3, n - 2) - alpha * beta,
    }
    if n >= 3:
        out["rho"] = n * p * (p / 2) ** 2 * integral(4, n - 3) - beta**2
    return {k: float(v) for k, v in out.items()}


@pytest.mark.parametrize("n", [2, 3, 8, 64])
@pytest.mark.parametrize("S", ["0", "1/2", "9/10", "19/20", "999/1000", "9999/10000"])
def test_argmax_moments_equal_the_exact_integrals(n, S):
    """All six moments, closed form (S <= 0.9) and quadrature (S > 0.9) alike, equal exact rational integrals
    up to round-off, up to S = 0.9999 where the closed form alone would cancel to garbage."""
    exact = _exact_argmax_moments(n, S)
    mo = TM.argmax_moments(n, float(Fraction(S)))
    for key, v in exact.items():
        assert mo[key] == pytest.approx(v, rel=1e-8, abs=1e-300), key
    assert (n >= 3) or math.isnan(mo["rho"])
    assert mo["ex2_other"] == pytest.approx(exact["sO"] + exact["beta"] ** 2, rel=1e-8)


def test_argmax_moments_broadcast_like_scalar_calls():
    """Arrays of n and S (both sides of the S = 0.9 switch) give, elementwise, the scalar results; scalars give
    Python-float-compatible scalars."""
    n = np.array([[3], [8], [40]])
    S = np.array([0.2, 0.9, 0.93, 0.99])
    arr = TM.argmax_moments(n, S)
    for key in ("alpha", "beta", "sM", "sO", "kappa", "rho", "ex2_other"):
        assert arr[key].shape == (3, 4)
        for i in range(3):
            for j in range(4):
                one = TM.argmax_moments(int(n[i, 0]), float(S[j]))[key]
                assert isinstance(one, float)
                assert arr[key][i, j] == pytest.approx(one, rel=1e-12, abs=1e-300), (key, i, j)
    row = TM.argmax_moments(8, S)  # scalar n, array S
    assert row["alpha"].shape == (4,)
    np.testing.assert_allclose(row["alpha"], arr["alpha"][1], rtol=1e-12)


def test_scalar_inputs_give_scalars():
    """The broadcasting closed forms return a float for scalar arguments (usable in f-strings, JSON, dict keys)."""
    for v in (TM.welch_bound(5, 3), TM.welch_bound(3, 3), TM.margin_bound_worst(0.2, 2, 0.1),
              TM.accuracy_clean(8, 4, 0.5), TM.drop_loss(8, 4, 0.5), TM.expected_fisher_separation(8, 8, 3, 0.5),
              TM.orthogonal_accuracy(8, 4, 0.5, 0.1)):
        assert isinstance(v, float) and np.ndim(v) == 0
        json.dumps(v)
    assert TM.welch_bound(np.array([5, 9]), 3).shape == (2,)


def test_fisher_parts_equal_the_quadratic_forms_of_the_class_covariances():
    """(M9) per code: Var[v_ab | y = c] = c_ab^T Sigma_c c_ab with Sigma_c the covariance of x given argmax class c
    (sM on c, sO on the others, kappa between c and another, rho between two others), Delta_ab from the class
    means; checked on a code with large positive overlaps, where the signs of c_ab matter."""
    g = np.random.default_rng(4)
    n, r, m, S = 7, 5, 3, 0.6
    W = np.zeros((m, n))
    W[:, :r] = np.abs(g.standard_normal((m, r))) + 0.3  # positive entries: all overlaps G_ab > 0
    W[:, :r] /= np.linalg.norm(W[:, :r], axis=0)
    G = W.T @ W
    assert G[:r, :r][~np.eye(r, dtype=bool)].min() > 0.2
    mo = TM.argmax_moments(n, S)
    num, den, noise = [], [], []
    for a in range(r):
        for b in range(r):
            if a == b:
                continue
            c = G[a] - G[b]  # v_ab = c . x
            V = 0.0
            for cls in (a, b):
                Sig = np.full((n, n), mo["rho"])
                Sig[cls, :] = Sig[:, cls] = mo["kappa"]
                np.fill_diagonal(Sig, mo["sO"])
                Sig[cls, cls] = mo["sM"]
                V += c @ Sig @ c
            mean = lambda cls: np.where(np.arange(n) == cls, mo["alpha"], mo["beta"])  # noqa: E731
            num.append((c @ (mean(a) - mean(b))) ** 2)
            den.append(V)
            noise.append(2 * c @ c)
    parts = TM.fisher_parts(G, r, S)
    np.testing.assert_allclose(parts, [np.mean(num), np.mean(den), np.mean(noise)], rtol=1e-10)
    lam = 0.3
    assert float(TM.fisher_separation_code(G, r, S, lam)) == pytest.approx(
        np.mean(num) / (np.mean(den) + lam**2 * np.mean(noise)), rel=1e-10)


def test_interference_nu_known_answers():
    """(M10) nu = mean_j sum_{i != j} G_ji^2: 0 on the axes, 1 for antipodal pairs, 1/2 for three unit vectors at
    120 degrees in the plane (G_ij = -1/2)."""
    assert TM.interference_nu(np.eye(6), 6) == 0.0
    W = np.zeros((3, 8))
    for k in range(3):
        W[k, 2 * k], W[k, 2 * k + 1] = 1.0, -1.0
    assert TM.interference_nu(W.T @ W, 6) == pytest.approx(1.0)
    ang = 2 * np.pi * np.arange(3) / 3
    W3 = np.vstack([np.cos(ang), np.sin(ang)])
    assert TM.interference_nu(W3.T @ W3, 3) == pytest.approx(0.5)


def test_error_bounds_two_features_exact_in_both_noise_spaces():
    """(M6) with two represented features the pairwise event is the error event: lower = upper = Phi(-d / sigma).
    For the antipodal pair w = (1, -1): sigma^2 = ||W^T (w_0 - w_1)||^2 lam^2 = 8 lam^2 with noise on x, and
    ||w_0 - w_1||^2 lam^2 = 4 lam^2 with noise on h. A sample whose class is not covered gives NaN in both."""
    from scipy.special import ndtr

    W = np.array([[1.0, -1.0]])
    x = np.array([[0.6, 0.2], [0.0, 0.0]])
    y = np.array([0, 1])  # the second sample is all zero: not covered
    lam = 0.3
    d = 2 * (0.6 - 0.2)
    for space, var in (("x", 8.0), ("h", 4.0)):
        lo, up = TM.error_bounds(x, y, W, 2, lam, space=space)
        want = ndtr(-d / (lam * math.sqrt(var)))
        assert lo[0, 0] == pytest.approx(want, rel=1e-12) and up[0, 0] == pytest.approx(want, rel=1e-12), space
        assert np.isnan(lo[0, 1]) and np.isnan(up[0, 1])
        assert up.dtype == np.float64


def test_margins_from_given_scores_equal_the_computed_ones():
    g = np.random.default_rng(2)
    W = g.standard_normal((3, 6))
    W /= np.linalg.norm(W, axis=0)
    G = W.T @ W
    x = g.random((40, 6)) * (g.random((40, 6)) > 0.5)
    y = x.argmax(axis=1)
    ref, cov = TM.matched_filter_margins(x, y, G, 5)
    got, cov2 = TM.matched_filter_margins(x, y, G, 5, scores=TM.matched_filter_scores(x, G, 5))
    np.testing.assert_array_equal(cov, cov2)
    np.testing.assert_array_equal(got, ref)


def test_balance_noise_root_needs_only_a_coarse_scan_and_reports_it():
    """(M11) one sign change on [0, lam_max]: the smallest scan (3 points) finds the same root; a superposed code
    representing fewer than n features is a valid input; the result states the range scanned."""
    ref = TM.balance_noise(64, 16, 48, 0.9, 47 / 16)
    coarse = TM.balance_noise(64, 16, 48, 0.9, 47 / 16, lam_max=1.0, n_grid=3)
    assert coarse.lam_star == pytest.approx(ref.lam_star, abs=2e-6)
    assert coarse.bracket[0] <= coarse.lam_star <= coarse.bracket[1]
    assert (ref.lam_max, coarse.lam_max) == (3.0, 1.0)
    none = TM.balance_noise(64, 16, 64, 0.8, 63 / 16, lam_max=0.5)
    assert math.isnan(none.lam_star) and none.lam_max == 0.5


_X3 = np.array([[0.9, 0.5, 0.0], [0.1, 0.0, 0.7]])
_Y3 = np.array([0, 2])


@pytest.mark.parametrize("call,name", [
    (lambda: TM.margin_bound_worst(0.2, 2, 0.1, (-0.5, 1.0)), "amplitude"),
    (lambda: TM.margin_bound_worst(0.2, 0, 0.1), "k"),
    (lambda: TM.margin_bound_sample(_X3, _Y3, -0.1, 3), "mu"),
    (lambda: TM.margin_bound_sample(_X3, _Y3, 0.1, 1), "n_rep"),
    (lambda: TM.matched_filter_margins(_X3, _Y3.astype(float), np.eye(3), 3), "y"),
    (lambda: TM.orthogonal_accuracy(0, 1, 0.5, 0.1), "n"),
    (lambda: TM.accuracy_clean(0, 1, 0.5), "n"),
    (lambda: TM.drop_loss(0, 1, 0.5), "n"),
    (lambda: TM.argmax_moments(1, 0.5), "n"),
    (lambda: TM.dropping_loss(4, 5, 0.5), "m"),
    (lambda: TM.dropping_loss(4, 0, 0.5), "m"),
    (lambda: TM.balance_noise(8, 9, 8, 0.9, 1.0), "m"),
    (lambda: TM.balance_noise(8, 4, 9, 0.9, 1.0), "n_rep"),
    (lambda: TM.balance_noise(8, 4, 8, 0.9, 1.0, lam_max=0.0), "lam_max"),
    (lambda: TM.balance_noise(8, 4, 8, 0.9, 1.0, n_grid=2), "n_grid"),
    (lambda: TM.expected_fisher_separation(10, 1, 3, 0.5), "n_rep"),
    (lambda: TM.expected_fisher_separation(10, 12, 3, 0.5), "n_rep"),
    (lambda: TM.fisher_separation_code(np.ones(3), 2, 0.5), "G"),
    (lambda: TM.fisher_separation_code(np.ones((3, 4)), 2, 0.5), "G"),
    (lambda: TM.fisher_separation_code(np.eye(3), 2, 0.5, amplitude_max=0.0), "amplitude_max"),
])
def test_margin_theory_refuses_input_outside_its_domain(call, name):
    """Every public function of theory.margins refuses input outside its documented domain with a ValueError
    that starts with the argument's name."""
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}(\.shape|\.ndim)? (==|contains)"):
        call()


def test_label_out_of_range_message_states_the_range():
    with pytest.raises(ValueError, match=re.escape("y contains 3, must be in [0, 2]")):
        TM.matched_filter_margins(_X3, np.array([0, 3]), np.eye(3), 3)


# ============================================================================================ theory.two_feature
import warnings  # noqa: E402

from theory import two_feature as TF  # noqa: E402


def _constant_rule_error(code, S, task, threshold, orientation, **kw):
    """Error of 'class 1 iff orientation * (v' - threshold) > 0' for an infinite threshold: a constant rule."""
    p1 = float(TF.class_moments(code, S, task=task, **kw)["p1"])  # P(y = 1) (no label noise)
    class1_everywhere = (threshold < 0) == (orientation > 0)
    return 1.0 - p1 if class1_everywhere else p1


@pytest.mark.parametrize("task", ["argmax", "presence"])
@pytest.mark.parametrize("noise", ["gaussian", "uniform"])
def test_bayes_threshold_reports_a_rule_that_achieves_its_error(task, noise):
    """The reported (threshold, orientation) is a rule ('class 1 iff v' > t' for +1, 'iff v' < t' for -1) whose
    exact error is the reported error; an infinite threshold is the constant rule (class 1 everywhere for
    (-inf, +1), e.g. presence at S = 0.3 under lam = 12, where no threshold beats predicting the majority)."""
    S = np.array([0.3, 0.7])[:, None, None]
    lam = np.array([0.05, 0.7, 12.0])[None, :, None]
    w = np.array([0.4, 2.5])[None, None, :]
    seen_infinite = False
    for code in TF.CODES:
        bt = TF.bayes_threshold(code, S, task=task, input_noise=lam, weight=w, noise=noise)
        assert set(np.unique(bt["orientation"])) <= {-1.0, 1.0}
        for idx in np.ndindex(bt["error"].shape):
            t, o = float(bt["threshold"][idx]), float(bt["orientation"][idx])
            kw = dict(input_noise=float(lam[0, idx[1], 0]), weight=float(w[0, 0, idx[2]]))
            Sv = float(S[idx[0], 0, 0])
            if math.isfinite(t):
                want = TF.rule_error(code, Sv, t, o, task=task, noise=noise, **kw)
            else:
                seen_infinite = True
                want = _constant_rule_error(code, Sv, task, t, o, **kw)
            assert float(bt["error"][idx]) == pytest.approx(float(want), abs=1e-12), (code, idx)
    if task == "presence" and noise == "gaussian":
        assert seen_infinite


@pytest.mark.parametrize("S, lam, w", [(0.3, 0.3, 0.4), (0.6, 1.0, 2.5), (0.2, 0.05, 1.0), (0.8, 3.0, 0.3),
                                     (0.2, 0.3, 1.0), (0.15, 0.25, 1.2)])
def test_uniform_noise_bayes_error_is_the_minimum_over_thresholds(S, lam, w):
    """Uniform input noise, poly code, presence task: the exact minimum (stationary points of the piecewise
    quartic and its breakpoints) is at most every threshold of a fine scan of the exact error."""
    kw = dict(task="presence", input_noise=lam, weight=w, noise="uniform")
    best = float(TF.bayes_error("poly", S, **kw))
    t = np.linspace(-w - 2 * math.sqrt(3) * lam * (1 + w), 1 + 2 * math.sqrt(3) * lam * (1 + w), 4001)
    scan = min(float(TF.rule_error("poly", S, t, o, **kw).min()) for o in (1, -1))
    assert best <= min(scan, S, 1 - S) + 1e-12


def test_rules_at_the_atom_of_v():
    """Without noise v = x1 (mono) has an atom at 0 of mass S, all class 2 under presence: 'class 1 iff v < 0'
    predicts class 1 nowhere (error P(y = 1) = 1 - S); 'class 1 iff v > 0' is exact (error 0)."""
    S = 0.3
    assert float(TF.rule_error("mono", S, 0.0, -1, task="presence")) == pytest.approx(1 - S, abs=1e-15)
    assert float(TF.rule_error("mono", S, 0.0, 1, task="presence")) == pytest.approx(0.0, abs=1e-15)
    # argmax, mono: the atom at 0 is x1 = 0 (class 2, unless x2 = 0 too: a coin); 'class 1 iff v < 0' is never
    # class 1: error P(y = 1) = 1/2
    assert float(TF.rule_error("mono", S, 0.0, -1)) == pytest.approx(0.5, abs=1e-15)
    v = TF.rule_error("mono", S, 0.25, 1)
    assert isinstance(v, np.float64)  # scalars in, numpy float64 scalar out


def test_presence_without_sparsity_every_label_is_class_1():
    """Presence at S = 0: every x1 > 0, so y = 1 always; with symmetric label noise eta < 1/2 the LS fit is the
    constant P(y~ = 1) = 1 - eta > 1/2, i.e. class 1 everywhere: clean error 0 (not a coin)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the empty class 2 has 0/0 moments
        for code in TF.CODES:
            for lam in (0.0, 0.4):
                assert float(TF.probe_error(code, 0.0, task="presence", label_noise=0.2, input_noise=lam)) == 0.0
                T = TF.finite_sample_terms(code, 0.0, task="presence", label_noise=0.2, input_noise=lam)
                assert float(T["err_pop"]) == 0.0


def _err(code, S, t, o, **kw):
    return float(TF.rule_error(code, S, t, o, **kw))


@pytest.mark.parametrize("code, task, S, w", [("mono", "argmax", 0.4, 1.0), ("poly", "argmax", 0.3, 1.7),
                                              ("mono", "presence", 0.5, 1.0), ("poly", "presence", 0.4, 0.6)])
def test_finite_sample_slopes_are_the_derivatives_of_the_rule_error(code, task, S, w):
    """(E11) d_minus, d_plus: one-sided slopes of the clean error of the rule at tau; with Gaussian noise both
    equal the derivative and the curvature is the second derivative (central differences of the exact error)."""
    T = TF.finite_sample_terms(code, S, task=task, label_noise=0.1, weight=w)  # no input noise: kinks allowed
    t, o = float(T["tau"]), float(T["orientation"])
    kw = dict(task=task, weight=w)
    h = 1e-6
    e0 = _err(code, S, t, o, **kw)
    assert float(T["d_minus"]) == pytest.approx((e0 - _err(code, S, t - h, o, **kw)) / h, abs=1e-4)
    assert float(T["d_plus"]) == pytest.approx((_err(code, S, t + h, o, **kw) - e0) / h, abs=1e-4)
    lam = 0.2
    T = TF.finite_sample_terms(code, S, task=task, label_noise=0.1, weight=w, input_noise=lam)
    t, o = float(T["tau"]), float(T["orientation"])
    kw = dict(task=task, weight=w, input_noise=lam)
    h = 1e-4
    ep, e0, em = (_err(code, S, t + d, o, **kw) for d in (h, 0.0, -h))
    assert float(T["d_minus"]) == pytest.approx((ep - em) / (2 * h), abs=1e-6)
    assert float(T["d_plus"]) == pytest.approx((ep - em) / (2 * h), abs=1e-6)
    assert float(T["curvature"]) == pytest.approx((ep - 2 * e0 + em) / h**2, abs=1e-3)


def test_finite_sample_terms_accept_uniform_noise_at_zero_level():
    """'Gaussian input noise or none': at input_noise 0 the noise law is irrelevant."""
    g = TF.finite_sample_terms("poly", 0.4, label_noise=0.1, weight=1.5)
    u = TF.finite_sample_terms("poly", 0.4, label_noise=0.1, weight=1.5, noise="uniform")
    for k in g:
        assert float(u[k]) == pytest.approx(float(g[k]), rel=1e-12, abs=1e-15), k


def test_normal_finite_sample_error_tends_to_the_population_error_and_broadcasts():
    """method='normal': as n -> infinity the fitted threshold's spread vanishes and the expected error is the
    population probe's, input noise included; array parameters give the scalar results elementwise."""
    for code in TF.CODES:
        for task in ("argmax", "presence"):
            kw = dict(task=task, label_noise=0.1, input_noise=0.3, weight=1.5)
            big = float(TF.finite_sample_error(code, 0.4, 1e12, method="normal", **kw))
            assert big == pytest.approx(float(TF.probe_error(code, 0.4, **kw)), abs=1e-6)
    S = np.array([0.2, 0.5, 0.8])[:, None]
    lam = np.array([0.0, 0.3])
    arr = TF.finite_sample_error("poly", S, 40, method="normal", input_noise=lam, label_noise=0.1, weight=1.5)
    assert arr.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            one = TF.finite_sample_error("poly", float(S[i, 0]), 40, method="normal", input_noise=float(lam[j]),
                                         label_noise=0.1, weight=1.5)
            assert arr[i, j] == pytest.approx(float(one), rel=1e-12)


def test_large_inputs_are_evaluated_and_validated_in_blocks():
    """More than 8 blocks of 4096 values go through the buffered block loop: same values as small calls, and a
    single bad value anywhere is still refused naming the argument."""
    S = np.linspace(0.0, 0.99, 40000)
    J = TF.separation("poly", S, label_noise=0.1, input_noise=0.2, weight=1.5)
    idx = np.array([0, 123, 20000, 39999])
    np.testing.assert_allclose(J[idx], TF.separation("poly", S[idx], label_noise=0.1, input_noise=0.2, weight=1.5),
                               rtol=1e-13)
    bad = S.copy()
    bad[20000] = -0.1  # its block's max is fine, its min is not
    with pytest.raises(ValueError, match=r"^sparsity contains -0\.1"):
        TF.separation("poly", bad)


def test_crossover_along_input_noise_under_a_transition_is_the_closed_form_lambda():
    """crossover's bisection (transition passed through) lands on separation_crossover_lambda's lam*; the
    advantage it reports is J_mono - J_poly at its grid; under margin noise likewise."""
    kw = dict(weight=3.0, transition=(0.0, 0.4))
    lam_star = float(TF.separation_crossover_lambda(0.9, **kw)[0])
    r = TF.crossover("separation", "input_noise", 0.9, **kw)
    assert len(r["points"]) == 1 and r["points"][0] == pytest.approx(lam_star, rel=1e-8)
    assert r["mono_better_at_start"]  # below lam*, mono separates better (E14)
    m = TF.crossover("separation", "input_noise", 0.7, weight=2.0, margin_noise=(0.7, 0.5))
    direct = (TF.separation("mono", 0.7, weight=2.0, margin_noise=(0.7, 0.5), input_noise=m["grid"])
              - TF.separation("poly", 0.7, weight=2.0, margin_noise=(0.7, 0.5), input_noise=m["grid"]))
    np.testing.assert_allclose(m["advantage"], direct, rtol=1e-12)


def test_crossover_of_the_finite_sample_error_is_certified_on_any_grid():
    """Lower is better for an error: the advantage is fse(poly) - fse(mono); every reported point has opposite
    signs of the advantage within 1e-8 of it (bisected to tol); a two-point grid around it finds the same point
    and says who is better at its start."""
    kw = dict(task="presence", n=30, input_noise=0.1, weight=0.7, method="expansion")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # eta = 1/2 ends the default grid: 0/0 in the expansion
        r = TF.crossover("finite_sample_error", "label_noise", 0.4, **kw)
    fse = lambda code, eta: float(TF.finite_sample_error(code, 0.4, 30, task="presence", input_noise=0.1,  # noqa
                                                         weight=0.7, method="expansion", label_noise=eta))
    A = lambda eta: fse("poly", eta) - fse("mono", eta)  # noqa: E731
    for i in (0, 50, 150):
        assert r["advantage"][i] == pytest.approx(A(r["grid"][i]), abs=1e-15)
    assert r["mono_better_at_start"] == (A(0.0) > 1e-9)
    (p,) = r["points"]
    assert np.sign(A(p - 1e-8)) != np.sign(A(p + 1e-8))
    lo, hi = p - 0.05, p + 0.05
    two = TF.crossover("finite_sample_error", "label_noise", 0.4, grid=[lo, hi], **kw)
    assert two["points"] == [pytest.approx(p, abs=1e-8)]
    assert two["mono_better_at_start"] == (A(lo) > 1e-9)


def _transition_at_level(c: float) -> tuple[float, float]:
    """A transition (a, b) whose level (1/2 - b) / (1 - a - b) is c."""
    return (0.0, (0.5 - c) / (1.0 - c)) if c <= 0.5 else (1.0 - 0.5 / c, 0.0)


@pytest.mark.parametrize("S, task, w, lam", [(0.8, "argmax", 2.0, 0.0), (0.8, "argmax", 2.0, 0.1),
                                             (0.6, "presence", 0.5, 0.0)])
def test_probe_transition_reversal_intervals_are_where_the_mono_probe_errs_less(S, task, w, lam):
    """Every level c inside a reported interval is a transition under which the mono LS probe has the smaller
    clean error, every level outside one is not, and outside c_range the two probes are constant rules and
    tie; 'diff' holds err_mono - err_poly on the grid; a c_range cut inside an interval ends it there."""
    r = TF.probe_transition_reversal(S, task=task, weight=w, input_noise=lam)
    ivs, (c_lo, c_hi) = r["intervals"], r["c_range"]
    assert ivs and r["diff"].shape == r["grid"].shape

    def mono_minus_poly(c):
        kw = dict(task=task, weight=w, input_noise=lam, transition=_transition_at_level(c))
        return float(TF.probe_error("mono", S, **kw)) - float(TF.probe_error("poly", S, **kw))

    inside = [0.5 * (a + b) for a, b in ivs]
    edges = sorted([c_lo, c_hi] + [x for iv in ivs for x in iv])
    outside = [0.5 * (a + b) for a, b in zip(edges[:-1], edges[1:])
               if not any(lo <= 0.5 * (a + b) <= hi for lo, hi in ivs)]
    for c in inside:
        assert mono_minus_poly(c) < -1e-12, c
    for c in outside + [c_lo - 0.05, c_hi + 0.05]:
        assert mono_minus_poly(c) >= -1e-12, c
    for c in (c_lo - 0.05, c_hi + 0.05):
        assert abs(mono_minus_poly(c)) <= 1e-12, c
    g, d = r["grid"], r["diff"]
    for lo, hi in ivs:
        sel = (g > lo + 1e-6) & (g < hi - 1e-6)
        assert np.all(d[sel] < 0)
    a, b = ivs[-1]
    cut = TF.probe_transition_reversal(S, task=task, weight=w, input_noise=lam, c_range=(c_lo, 0.5 * (a + b)))
    assert cut["intervals"][-1][1] == pytest.approx(0.5 * (a + b), abs=1e-12)


def test_two_feature_helpers_broadcast_and_scalar_rule_error():
    np.testing.assert_allclose(TF.probe_transition_level(np.array([0.1, 0.2]), 0.3),
                               [(0.5 - 0.3) / (1 - 0.1 - 0.3), (0.5 - 0.3) / (1 - 0.2 - 0.3)], rtol=1e-15)


@pytest.mark.parametrize("call,pattern", [
    (lambda: TF.separation("mono", 0.5, margin_noise=0.3), r"^margin_noise == 0\.3, must be a pair"),
    (lambda: TF.separation("mono", 0.5, transition=(1.5, 0.1)), r"^transition a \(P\(y~=2 \| y=1\)\) =="),
    (lambda: TF.separation("mono", 0.5, transition=(0.1, 1.5)), r"^transition b \(P\(y~=1 \| y=2\)\) =="),
    (lambda: TF.rule_error("mono", 0.5, 0.1, 1, weight=-1.0), r"^weight =="),
    (lambda: TF.probe_transition_reversal(1.5), r"^sparsity =="),
    (lambda: TF.crossover("separation", "sparsity", 0.5), r"^axis =="),
    (lambda: TF.crossover("finite_sample_error", "input_noise", 0.5, n=30, method="exact"), r"^method =="),
])
def test_two_feature_refuses_bad_input_naming_it(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_two_feature_error_messages_stay_short_for_large_arrays():
    """A message quoting an array argument stays one short line (arrays are summarised), however large."""
    with pytest.raises(ValueError) as exc:
        TF.separation("mono", 0.5, label_noise=np.full(1000, 0.1), transition=(0.1, 0.2))
    assert len(str(exc.value)) < 300 and "\n" not in str(exc.value).strip()


def test_two_feature_computes_quietly_on_its_domain():
    """No RuntimeWarning (division by zero, 0/0) escapes the closed forms on valid input: the Bayes threshold under
    Gaussian noise, the finite-sample terms (argmax), the probe at eta = 1/2 (a constant fit)."""
    S = np.array([0.0, 0.3, 0.7, 0.95])[:, None, None]
    lam = np.array([0.0, 0.003, 0.3, 12.0])[None, :, None]
    w = np.array([0.3, 1.0, 2.5])[None, None, :]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for code in TF.CODES:
            for task in ("argmax", "presence"):
                TF.bayes_threshold(code, S, task=task, input_noise=lam, weight=w)
                TF.probe_error(code, S, task=task, input_noise=lam, weight=w, label_noise=0.5)
            TF.finite_sample_terms(code, S, input_noise=lam, weight=w, label_noise=0.1)


# ============================================================================================ claims registry
def test_claims_registry_fields():
    """Every registered claim carries the fields the report and ``python -m theory`` print, of the documented
    types: a dotted id, a statement, assumptions (a tuple of phrases), expressions (name -> formula), a
    reason for its verdict, and a reference into the paper that cites a section, appendix, theorem or figure."""
    from theory import claims as C

    for c in C.all_claims():
        assert re.fullmatch(r"[a-z]+(\.[A-Za-z0-9_]+)+", c.id), c.id  # as the README cites them
        assert isinstance(c.statement, str) and c.statement.strip(), c.id
        assert isinstance(c.assumptions, tuple) and all(isinstance(a, str) and a.strip() for a in c.assumptions), c.id
        assert all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in c.expressions.items()), c.id
        assert isinstance(c.verdict_text, str) and c.verdict_text.strip(), c.id
        assert isinstance(c.paper_ref, str), c.id
        assert c.paper_ref == "" or re.match(r"(§\d|App\. [A-Z]|Thm \d|Fig\. \d)", c.paper_ref), (c.id, c.paper_ref)


# ============================================================================================ sims.engine.codes
from sims.engine import codes as KC  # noqa: E402


def test_build_frame_defaults_and_namespaces():
    """build_frame with its defaults is make_code's frame (default steps frame_steps(n, m)); the namespace may be
    given by name or as a namespace object."""
    W = np.asarray(KC.make_code("frame", 10, 4, 3))
    np.testing.assert_array_equal(np.asarray(KC.build_frame(10, 4, 3)), W)
    ns = resolve_backend("numpy")
    np.testing.assert_array_equal(np.asarray(KC.build_frame(10, 4, 3, xp=ns)), W)
    np.testing.assert_array_equal(np.asarray(KC.make_code("random", 6, 3, 1, xp="numpy")),
                                  np.asarray(KC.make_code("random", 6, 3, 1)))


@pytest.mark.parametrize("call,name,bad", [
    (lambda: KC.build_frame(0, 3), "n_features", 0),
    (lambda: KC.build_frame(5, 0), "m", 0),
    (lambda: KC.build_frame(5, -1, n_iter=3), "m", -1),
    (lambda: KC.frame_steps(0, 3), "n", 0),
    (lambda: KC.frame_steps(5, 0), "m", 0),
])
def test_codes_refuse_sizes_below_one(call, name, bad):
    with pytest.raises(ValueError, match=rf"^{name} == {bad}, must be in \[1, inf\)"):
        call()


def test_code_features_on_a_device_namespace_matches_the_host():
    """array_api_strict arrays are computed on their namespace: same numbers as the host, ReLU output included;
    a b that is not 1-D is refused on both paths even when unused, and a device W must be real floating (it is
    computed in its own dtype; host input is cast to float64)."""
    xs = pytest.importorskip("array_api_strict")
    g = np.random.default_rng(0)
    W = g.standard_normal((3, 5))
    x = g.standard_normal((7, 5))
    b = g.standard_normal(5)
    for readout in ("hidden", "output"):
        host = KC.code_features(W, x, readout=readout, b=b)
        dev = KC.code_features(xs.asarray(W), xs.asarray(x), readout=readout, b=xs.asarray(b))
        np.testing.assert_allclose(np.asarray(dev), host, rtol=1e-12, atol=1e-14)
    assert np.asarray(KC.code_features(xs.asarray(W), xs.asarray(x), readout="output")).min() >= 0.0
    with pytest.raises(ValueError, match=r"^b"):
        KC.code_features(W, x, b=np.ones((5, 1)))
    with pytest.raises(ValueError, match=r"^b"):
        KC.code_features(xs.asarray(W), xs.asarray(x), b=xs.asarray(np.ones((5, 1))))
    with pytest.raises(ValueError, match=r"^W"):
        KC.code_features(xs.asarray(W.astype(np.int64)), xs.asarray(x))
    for a, c in ((W, xs.asarray(x)), (xs.asarray(W), x)):  # host and device arrays are never mixed silently
        with pytest.raises((TypeError, ValueError)):
            KC.code_features(a, c)


# ============================================================================================ sims.engine.generators
from sims.engine.generators import FeatureSpec, flip_labels, sample_features  # noqa: E402


def test_margin_label_noise_semantics():
    """kind='margin': touched iff u1 < rate exp(-margin / scale); margin 0 (or scale inf) is the symmetric noise
    at that rate with the same draws, a huge margin flips nothing, a target replaces touched labels."""
    g = np.random.default_rng(0)
    y = g.integers(0, 4, 500)
    sym = flip_labels(y, 4, 0.3, 7)
    np.testing.assert_array_equal(flip_labels(y, 4, 0.3, 7, kind="margin", margin=np.zeros(500), scale=0.5), sym)
    np.testing.assert_array_equal(flip_labels(y, 4, 0.3, 7, kind="margin", margin=g.random(500), scale=math.inf),
                                  sym)
    np.testing.assert_array_equal(flip_labels(y, 4, 0.3, 7, kind="margin", margin=np.full(500, 50.0), scale=1.0), y)
    target = (y + 2) % 4
    t = flip_labels(y, 4, 0.3, 7, kind="margin", margin=np.zeros(500), scale=1.0, target=target)
    touched = sym != y
    np.testing.assert_array_equal(t[touched], target[touched])
    np.testing.assert_array_equal(t[~touched], y[~touched])
    # rates fall with the margin: nested flipped sets
    m = g.random(500)
    small, large = (flip_labels(y, 4, 0.5, 7, kind="margin", margin=m, scale=s) != y for s in (0.1, 1.0))
    assert np.all(large | ~small) and large.sum() > small.sum()


@pytest.mark.parametrize("kw,pattern", [
    (dict(kind="margin"), r"^margin == None or scale == None"),
    (dict(kind="margin", margin=-np.ones(4), scale=1.0), r"^margin contains -1"),
    (dict(kind="margin", margin=np.zeros(4), scale=0.0), r"^scale == 0\.0, must be in \(0, inf\]"),
    (dict(kind="margin", margin=np.zeros(3), scale=1.0, rate=np.full(4, 0.2)),
     r"^margin\.shape == \(3,\) does not broadcast against rate\.shape == \(4,\)"),
    (dict(kind="matrix", matrix=[[1, 0, 0], [0.5, 0.4, 0], [0, 0, 1]]), r"^matrix row 1 sums to"),
])
def test_flip_labels_refuses_bad_noise_models(kw, pattern):
    kw = dict(kw)
    rate = kw.pop("rate", 0.3)
    with pytest.raises(ValueError, match=pattern):
        flip_labels(np.array([0, 1, 2, 1]), 3, rate, 0, **kw)


def test_flip_labels_keep_labels_on_their_device():
    """Labels on a non-default device of a namespace (array_api_strict's device1) come back on that device, for
    the margin kind with a target too."""
    xs = pytest.importorskip("array_api_strict")
    d = xs.Device("device1")
    y_h = np.array([0, 1, 2, 1, 0, 2])
    y = xs.asarray(y_h, device=d)
    margin_kw = dict(kind="margin", margin=np.zeros(6), scale=1.0, target=np.ones(6, dtype=np.int64))
    for host_kw in ({}, margin_kw):
        kw = {k: (xs.asarray(v, device=d) if k in ("margin", "target") else v) for k, v in host_kw.items()}
        out = flip_labels(y, 3, 0.5, 4, **kw)
        assert out.device == d
        np.testing.assert_array_equal(np.asarray(out.to_device(xs.Device("CPU_DEVICE"))),
                                      flip_labels(y_h, 3, 0.5, 4, **host_kw))


def test_float64_features_carry_float64_precision():
    """float64 samples are drawn at float64 precision (not float32 values widened); float32 samples are the
    float64 ones rounded."""
    spec = FeatureSpec(n_features=6, sparsity=0.2)
    x64 = np.asarray(sample_features(spec, 200, 3))
    x32 = np.asarray(sample_features(spec, 200, 3, dtype="float32"))
    assert x64.dtype == np.float64 and x32.dtype == np.float32
    assert np.any(x64.astype(np.float32).astype(np.float64) != x64)
    np.testing.assert_array_equal(x32, x64.astype(np.float32))


@pytest.mark.parametrize("kw,pattern", [
    (dict(start=1.5), r"^start == 1\.5, must be an integer"),
    (dict(sparsity=np.full((2, 3, 4), 0.5)), r"^sparsity has shape \(2, 3, 4\)"),
])
def test_sample_features_refuses_bad_rows_and_sparsity_shapes(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        sample_features(FeatureSpec(n_features=4, sparsity=0.5), 5, 0, **kw)


# ============================================================================================ sims.engine.probes (2)
from sims.engine.probes import fit_lda  # noqa: E402


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.uint64])
def test_labels_of_any_integer_dtype_give_the_same_probe_on_a_strict_namespace(dtype):
    xs = pytest.importorskip("array_api_strict")
    H, y = _data(40, 3, 3)
    ref = fit_linear(H, y, 3)
    got = fit_linear(xs.asarray(H), xs.asarray(y.astype(dtype)), 3)
    np.testing.assert_allclose(np.asarray(got.coef), ref.coef, rtol=1e-12, atol=1e-14)


def test_cholesky_without_ridge_refuses_what_it_cannot_resolve():
    """alpha = 0: the Gram matrix squares cond(H), so the Cholesky solver refuses cond(H) beyond about
    1/sqrt(eps max(n, d)) (here 3e7 > 1 / sqrt(eps * 100) = 6.7e6), where the SVD solver still gives the
    least-squares probe."""
    g = np.random.default_rng(5)
    U, _ = np.linalg.qr(g.standard_normal((100, 3)))
    V, _ = np.linalg.qr(g.standard_normal((3, 3)))
    H = U @ np.diag([1.0, 1e-3, 1.0 / 3e7]) @ V.T
    y = g.integers(0, 3, 100)
    with pytest.raises(ValueError, match="rank deficient for solver == 'cholesky'"):
        fit_linear(H, y, 3, solver="cholesky")
    assert np.isfinite(fit_linear(H, y, 3, solver="svd").coef).all()


def test_lda_batched_equals_one_problem_at_a_time():
    """The shrinkage target (trace / d) and the eigenvalue cutoff are per problem of the batch."""
    H1, y = _data(60, 4)
    H = np.stack([H1 * 1e-8, H1 * 1e8, H1])
    for shrink in (0.0, 0.3):
        batch = fit_lda(H, y, 3, shrinkage=shrink)
        for k in range(3):
            one = fit_lda(H[k], y, 3, shrinkage=shrink)
            np.testing.assert_allclose(batch.coef[k], one.coef, rtol=1e-9, atol=1e-12 * np.abs(one.coef).max())
            np.testing.assert_allclose(batch.intercept[k], one.intercept, rtol=1e-9, atol=1e-9)


def test_lda_without_within_class_scatter_is_finite():
    """Every sample at its class prototype: the within-class scatter is 0, its pseudo-inverse 0, so the rule
    falls back to the priors (finite coefficients, log-prior intercepts)."""
    H = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    p = fit_lda(H, np.array([0, 0, 1, 1]), 2)
    assert np.all(np.isfinite(p.coef))
    np.testing.assert_allclose(p.intercept, [math.log(0.5)] * 2)


def test_lda_absent_class_on_a_device():
    """A class absent from the training labels gets intercept -inf (never predicted), on the arrays' device."""
    xs = pytest.importorskip("array_api_strict")
    d = xs.Device("device1")
    H, y = _data(40, 3, 3)
    y = np.where(y == 2, 0, y)
    p = fit_lda(xs.asarray(H, device=d), xs.asarray(y, device=d), 3)
    assert p.intercept.device == d
    host = fit_lda(H, y, 3)
    got = np.asarray(p.intercept.to_device(xs.Device("CPU_DEVICE")))
    assert got[2] == -math.inf and host.intercept[2] == -math.inf
    np.testing.assert_allclose(got[:2], host.intercept[:2], rtol=1e-12)


def test_qr_with_a_vanishing_ridge_names_the_problem_and_its_dtype():
    """float32 H with an all-zero column and alpha so small that sqrt(alpha) is 0 in float32: the triangular
    factor is exactly singular; the refusal names the solver, alpha and float32 (the problem's dtype)."""
    g = np.random.default_rng(0)
    H = np.hstack([g.standard_normal((50, 2)), np.zeros((50, 1))]).astype(np.float32)
    with pytest.raises(ValueError, match=r"solver == 'qr' with alpha == 1e-100 in float32 \(singular system\)"):
        fit_linear(H, g.integers(0, 3, 50), 3, alpha=1e-100, solver="qr")
