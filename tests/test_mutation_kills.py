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
