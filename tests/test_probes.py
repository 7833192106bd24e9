"""Closed-form probes (sims.engine.probes): known answers, invariances, batching, backends, validation."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings, strategies as st

from sims.engine import backend as B
from sims.engine.probes import LinearProbe, fit_lda, fit_linear

SOLVERS = ("cholesky", "qr", "svd")


def _data(rng, n=80, d=5, C=4, batch=()):
    H = rng.standard_normal(batch + (n, d)) + 0.3
    y = rng.integers(0, C, size=batch + (n,))
    return H, y


def _onehot(y, C):
    return np.eye(C)[y]


def _np(x):
    return np.asarray(B.to_numpy(x))


# ---------------------------------------------------------------------------- known answers
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("alpha", [0.0, 0.7, 25.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_sklearn_ridge(host_rng, solver, alpha, fit_intercept):
    from sklearn.linear_model import Ridge

    H, y = _data(host_rng)
    probe = fit_linear(H, y, 4, alpha=alpha, solver=solver, fit_intercept=fit_intercept)
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(H, _onehot(y, 4))
    assert probe.solver == solver and probe.loss == "squared"
    np.testing.assert_allclose(probe.coef, ref.coef_.T, rtol=0, atol=1e-8)
    np.testing.assert_allclose(probe.intercept, np.broadcast_to(ref.intercept_, (4,)), rtol=0, atol=1e-8)


@pytest.mark.parametrize("solver", SOLVERS)
def test_least_squares_matches_scipy_lstsq_with_intercept(host_rng, solver):
    H, y = _data(host_rng, n=60, d=6, C=3)
    probe = fit_linear(H, y, 3, solver=solver)
    sol, *_ = scipy.linalg.lstsq(np.c_[H, np.ones(len(H))], _onehot(y, 3))
    np.testing.assert_allclose(probe.coef, sol[:-1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(probe.intercept, sol[-1], rtol=0, atol=1e-8)


def _svd_fixture(rng, n=40, d=5, C=3, s=(5.0, 3.0, 2.0, 1.0, 0.5)):
    """H = U diag(s) V^T + 1 m^T with U orthonormal and orthogonal to 1: centred SVD known exactly."""
    A = rng.standard_normal((n, d + 1))
    A[:, 0] = 1.0
    Q, _ = np.linalg.qr(A)
    U = Q[:, 1:]  # orthonormal columns, each orthogonal to the all-ones vector
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    m = rng.standard_normal(d)
    H = U @ np.diag(s) @ V.T + m
    y = rng.integers(0, C, n)
    return H, y, U, np.asarray(s, dtype=float), V, m


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("alpha", [0.0, 2.0])
def test_exact_solution_from_svd(host_rng, solver, alpha):
    H, y, U, s, V, m = _svd_fixture(host_rng)
    Y = _onehot(y, 3)
    # closed form from the construction: W = V diag(s / (s^2 + alpha)) U^T Y, b = mean(Y) - m W
    W = V @ np.diag(s / (s**2 + alpha)) @ U.T @ Y
    b = Y.mean(axis=0) - m @ W
    probe = fit_linear(H, y, 3, alpha=alpha, solver=solver)
    np.testing.assert_allclose(probe.coef, W, atol=1e-10)
    np.testing.assert_allclose(probe.intercept, b, atol=1e-10)


def test_rank_deficient_min_norm_and_refusals(host_rng):
    H, y, U, s, V, m = _svd_fixture(host_rng, s=(4.0, 2.0, 1.0, 0.0, 0.0))
    Y = _onehot(y, 3)
    W = V[:, :3] @ np.diag(1 / s[:3]) @ U[:, :3].T @ Y  # minimum-norm least squares
    probe = fit_linear(H, y, 3)  # auto -> svd for alpha == 0
    assert probe.solver == "svd"
    np.testing.assert_allclose(probe.coef, W, atol=1e-9)
    for solver in ("cholesky", "qr"):
        with pytest.raises(ValueError, match="rank deficient"):
            fit_linear(H, y, 3, solver=solver)
    assert fit_linear(H, y, 3, alpha=1.0).solver == "cholesky"  # ridge makes it well posed


# ---------------------------------------------------------------------------- invariances
@pytest.mark.parametrize("solver", SOLVERS)
def test_duplicated_rows_equal_weight_two(host_rng, solver):
    H, y = _data(host_rng, n=50)
    w = np.ones(50)
    w[:10] = 2.0
    dup = fit_linear(np.r_[H, H[:10]], np.r_[y, y[:10]], 4, alpha=0.3, solver=solver)
    wtd = fit_linear(H, y, 4, alpha=0.3, solver=solver, sample_weight=w)
    np.testing.assert_allclose(wtd.coef, dup.coef, atol=1e-10)
    np.testing.assert_allclose(wtd.intercept, dup.intercept, atol=1e-10)
    zero = fit_linear(H, y, 4, alpha=0.3, solver=solver, sample_weight=np.r_[np.ones(40), np.zeros(10)])
    drop = fit_linear(H[:40], y[:40], 4, alpha=0.3, solver=solver)
    np.testing.assert_allclose(zero.coef, drop.coef, atol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("c", [0.01, 7.0])
def test_scaling_and_shift_invariance(host_rng, solver, c):
    H, y = _data(host_rng)
    base = fit_linear(H, y, 4, alpha=0.5, solver=solver)
    # scaling H by c and alpha by c^2 scales W by 1/c; shifting H moves only the intercept
    scaled = fit_linear(c * H, y, 4, alpha=0.5 * c * c, solver=solver)
    np.testing.assert_allclose(scaled.coef * c, base.coef, atol=1e-8)
    np.testing.assert_allclose(scaled.intercept, base.intercept, atol=1e-8)
    shift = np.arange(5.0)
    moved = fit_linear(H + shift, y, 4, alpha=0.5, solver=solver)
    np.testing.assert_allclose(moved.coef, base.coef, atol=1e-9)
    np.testing.assert_allclose(moved.scores(H + shift), base.scores(H), atol=1e-9)


def test_signed_targets_double_the_onehot_probe(host_rng):
    H, y = _data(host_rng)
    a = fit_linear(H, y, 4, alpha=1.0)
    b = fit_linear(H, y, 4, alpha=1.0, targets="signed")
    np.testing.assert_allclose(b.coef, 2 * a.coef, atol=1e-12)
    np.testing.assert_allclose(b.intercept, 2 * a.intercept - 1, atol=1e-12)
    np.testing.assert_array_equal(a.predict(H), b.predict(H))


# ---------------------------------------------------------------------------- batching
@pytest.mark.parametrize("solver", SOLVERS)
def test_label_sets_share_one_factorization(host_rng, solver):
    H, _ = _data(host_rng)
    Y = host_rng.integers(0, 4, size=(6, 80))  # 6 label sets on one H
    shared = fit_linear(H, Y, 4, alpha=0.2, solver=solver)
    assert shared.label_axis and shared.coef.shape == (6, 5, 4) and shared.intercept.shape == (6, 4)
    for l in range(6):
        alone = fit_linear(H, Y[l], 4, alpha=0.2, solver=solver)
        np.testing.assert_allclose(shared.coef[l], alone.coef, atol=1e-12)
        np.testing.assert_allclose(shared.intercept[l], alone.intercept, atol=1e-12)
    assert shared.scores(H).shape == (6, 80, 4)
    assert shared.predict(H).shape == (6, 80) and shared.predict(H).dtype == np.int64
    per_set = np.broadcast_to(H, (6, 80, 5))
    np.testing.assert_allclose(shared.scores(per_set, shared=False), shared.scores(H))


@pytest.mark.parametrize("solver", SOLVERS)
def test_batched_equals_loop_with_broadcasting(host_rng, solver):
    H = host_rng.standard_normal((2, 1, 60, 4))
    Y = host_rng.integers(0, 3, size=(3, 5, 60))  # (seed=3, L=5) labels, H shared across seeds
    probe = fit_linear(H, Y, 3, alpha=0.1, solver=solver, label_sets=True)
    assert probe.coef.shape == (2, 3, 5, 4, 3) and probe.batch_shape == (2, 3, 5)
    for i in range(2):
        for j in range(3):
            for l in range(5):
                one = fit_linear(H[i, 0], Y[j, l], 3, alpha=0.1, solver=solver)
                np.testing.assert_allclose(probe.coef[i, j, l], one.coef, atol=1e-12)
                np.testing.assert_allclose(probe.intercept[i, j, l], one.intercept, atol=1e-12)


# ---------------------------------------------------------------------------- dtypes and backends
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_in_float32_out(host_rng, solver):
    H, y = _data(host_rng)
    p32 = fit_linear(H.astype(np.float32), y, 4, alpha=0.5, solver=solver)
    p64 = fit_linear(H, y, 4, alpha=0.5, solver=solver)
    assert p32.coef.dtype == np.float32 and p32.intercept.dtype == np.float32
    assert p32.scores(H.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(p32.coef, p64.coef, atol=1e-4)
    assert fit_linear(np.arange(12).reshape(6, 2), np.arange(6) % 2, 2, alpha=1.0).coef.dtype == np.float64


@pytest.mark.parametrize("solver", SOLVERS)
def test_backends_agree(xp, host_rng, solver):
    H, _ = _data(host_rng, batch=(2,))
    Y = host_rng.integers(0, 4, size=(2, 3, 80))
    ref = fit_linear(H, Y, 4, alpha=0.4, solver=solver)
    got = fit_linear(B.asarray(H, xp), B.asarray(Y, xp), 4, alpha=0.4, solver=solver)
    assert B.backend_name(B.get_namespace(got.coef)) == B.backend_name(xp)
    np.testing.assert_allclose(_np(got.coef), ref.coef, rtol=0, atol=1e-10)
    np.testing.assert_allclose(_np(got.intercept), ref.intercept, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(_np(got.predict(B.asarray(H, xp))), ref.predict(H))
    lda = fit_lda(B.asarray(H, xp), B.asarray(Y, xp), 4, shrinkage=0.1)
    np.testing.assert_allclose(_np(lda.coef), fit_lda(H, Y, 4, shrinkage=0.1).coef, atol=1e-10)


# ---------------------------------------------------------------------------- LDA
def test_lda_matches_sklearn_lsqr(host_rng):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    H, y = _data(host_rng, n=120, d=4, C=3)
    H[y == 1] += 1.0
    probe = fit_lda(H, y, 3)
    ref = LinearDiscriminantAnalysis(solver="lsqr").fit(H, y)
    assert probe.solver == "lda"
    np.testing.assert_allclose(probe.coef, ref.coef_.T, atol=1e-8)
    np.testing.assert_allclose(probe.intercept, ref.intercept_, atol=1e-8)
    np.testing.assert_array_equal(probe.predict(H), ref.predict(H))


def test_lda_full_shrinkage_is_nearest_mean(host_rng):
    H, y = _data(host_rng, n=90, d=3, C=3)
    probe = fit_lda(H, y, 3, shrinkage=1.0, priors="uniform")
    mu = np.stack([H[y == c].mean(0) for c in range(3)])
    resid = H - mu[y]
    sigma2 = np.trace(resid.T @ resid / len(H)) / 3
    # known answer: isotropic covariance sigma2 I -> score_c = (h . mu_c - |mu_c|^2 / 2) / sigma2 + const
    expected = (H @ mu.T - 0.5 * (mu**2).sum(1)) / sigma2
    got = probe.scores(H)
    np.testing.assert_allclose(got - got[:, :1], expected - expected[:, :1], atol=1e-9)
    np.testing.assert_array_equal(probe.predict(H), np.argmin(((H[:, None] - mu) ** 2).sum(-1), axis=1))


def test_lda_absent_class_and_label_sets(host_rng):
    H, _ = _data(host_rng, n=60, d=3)
    Y = np.stack([host_rng.integers(0, 3, 60), host_rng.integers(0, 4, 60)])  # class 3 absent in set 0
    probe = fit_lda(H, Y, 4)
    assert probe.intercept[0, 3] == -np.inf and np.all(probe.coef[0, :, 3] == 0)
    assert np.all(probe.predict(H)[0] != 3)
    np.testing.assert_allclose(probe.coef[1], fit_lda(H, Y[1], 4).coef, atol=1e-12)


# ---------------------------------------------------------------------------- validation
def test_error_messages_name_the_argument(host_rng):
    H, y = _data(host_rng, n=20)
    cases = [
        (dict(alpha=-1.0), r"alpha == -1, must be in \[0, inf\)"),
        (dict(solver="lu"), r"solver == 'lu', must be one of 'auto', 'cholesky', 'qr', 'svd'"),
        (dict(targets="pm"), r"targets == 'pm'"),
        (dict(fit_intercept="yes"), r"fit_intercept == 'yes'"),
        (dict(sample_weight=-np.ones(20)), r"sample_weight contains -1"),
        (dict(sample_weight=np.ones(19)), r"sample_weight.shape == \(19,\)"),
        (dict(sample_weight=np.zeros(20)), r"sample_weight sums to 0"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fit_linear(H, y, 4, **kw)
    with pytest.raises(ValueError, match=r"n_classes == 1, must be in \[2, inf\)"):
        fit_linear(H, y, 1)
    with pytest.raises(ValueError, match=r"y contains 4, must be in \[0, 4\)"):
        fit_linear(H, np.where(y == 0, 4, y), 4)
    with pytest.raises(ValueError, match=r"y.dtype"):
        fit_linear(H, y.astype(float), 4)
    with pytest.raises(ValueError, match=r"shrinkage == 2, must be in \[0, 1\]"):
        fit_lda(H, y, 4, shrinkage=2.0)
    with pytest.raises(ValueError, match=r"priors == 'x'"):
        fit_lda(H, y, 4, priors="x")
    probe = fit_linear(H, y, 4)
    with pytest.raises(ValueError, match=r"H.shape == \(20, 3\), last axis must equal"):
        probe.scores(H[:, :3])


@settings(max_examples=30)
@given(
    n=st.integers(2, 12),
    d=st.integers(1, 4),
    C=st.integers(2, 5),
    defect=st.sampled_from(["short_y", "long_y", "label_high", "label_neg", "nan", "inf", "batch"]),
    fn=st.sampled_from(["linear", "lda"]),
)
def test_bad_inputs_raise_value_error_naming_argument(n, d, C, defect, fn):
    rng = np.random.default_rng(n * 100 + d * 10 + C)
    H = rng.standard_normal((n, d))
    y = rng.integers(0, C, n)
    name = "y"
    if defect == "short_y":
        y = y[:-1]
    elif defect == "long_y":
        y = np.r_[y, 0]
    elif defect == "label_high":
        y[rng.integers(n)] = C + rng.integers(0, 3)
    elif defect == "label_neg":
        y[rng.integers(n)] = -1 - rng.integers(0, 3)
    elif defect in ("nan", "inf"):
        H[rng.integers(n), rng.integers(d)] = np.nan if defect == "nan" else -np.inf
        name = "H"
    else:
        H = np.broadcast_to(H, (2, n, d))
        y = np.broadcast_to(y, (3, n))
    f = fit_linear if fn == "linear" else fit_lda
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        f(H, y, C)


def test_probe_is_frozen(host_rng):
    H, y = _data(host_rng, n=20)
    probe = fit_linear(H, y, 4)
    assert isinstance(probe, LinearProbe) and probe.n_features == 5 and probe.n_classes == 4
    with pytest.raises(Exception):
        probe.solver = "x"  # type: ignore[misc]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 300), d=st.integers(1, 40), extra=st.integers(1, 300), L=st.integers(1, 3),
       intercept=st.booleans(), f32=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_many_classes_use_class_sums_equal_to_the_one_hot_product(n, d, extra, L, intercept, f32, seed):
    """Above CLASS_SUMS_ABOVE classes fit_linear forms U^T Y as per-class sums of U's rows (absent classes: 0):
    the same probe as the product with the one-hot matrix up to rounding, for any shape, label sets, intercept
    and dtype; at or below the threshold (and with weights or a ridge) the product itself."""
    import sims.engine.probes as P

    C = P.CLASS_SUMS_ABOVE + extra
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((n, d)).astype(np.float32 if f32 else np.float64)
    y = rng.integers(0, min(C, max(2, n // 2)), size=(L, n))  # labels < 151: most classes absent
    y[:, 0] = C - 1
    calls = []
    real = P._class_sums
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(P, "_class_sums", lambda *a: calls.append(1) or real(*a))
        fast = fit_linear(H, y, C, label_sets=True, fit_intercept=intercept)
        assert len(calls) == L
        mp.setattr(P, "CLASS_SUMS_ABOVE", 10**9)
        ref = fit_linear(H, y, C, label_sets=True, fit_intercept=intercept)
        assert fast.coef.dtype == ref.coef.dtype and fast.coef.shape == ref.coef.shape == (L, d, C)
        assert fast.intercept.dtype == ref.intercept.dtype and fast.intercept.shape == ref.intercept.shape
        tol = 1e-4 if f32 else 1e-10
        scale = 1.0 + float(np.abs(ref.coef).max())
        np.testing.assert_allclose(fast.coef, ref.coef, rtol=0, atol=tol * scale)
        np.testing.assert_allclose(fast.intercept, ref.intercept, rtol=0, atol=tol * scale)
        assert np.all(fast.coef[:, :, C - 2] == 0)  # an absent class: a zero column
        # at the threshold, and with sample weights or a ridge, the one-hot product runs (the old path, bit for bit)
        calls.clear()
        mp.setattr(P, "CLASS_SUMS_ABOVE", C)
        fit_linear(H, y, C, label_sets=True)
        mp.setattr(P, "CLASS_SUMS_ABOVE", 256)
        fit_linear(H, y, C, label_sets=True, sample_weight=np.ones(n))
        fit_linear(H, y, C, label_sets=True, alpha=1.0)
        assert calls == []


def test_class_sums_are_the_one_hot_product():
    from sims.engine.probes import _class_sums

    U = np.arange(12.0).reshape(6, 2)
    y = np.array([3, 0, 3, 1, 0, 3])
    want = U.T @ (y[:, None] == np.arange(5)).astype(float)
    np.testing.assert_array_equal(_class_sums(U, y, 5), want)
    assert want[:, 2].tolist() == [0.0, 0.0] and want[:, 4].tolist() == [0.0, 0.0]
