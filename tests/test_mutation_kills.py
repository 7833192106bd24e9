"""Tests written against mutants that survived ``benchmarks/mutation.py`` (mutmut 3): each pins a behaviour
the other tests left free - a bound, a cutoff, a solver choice, a batch axis."""
from __future__ import annotations

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
