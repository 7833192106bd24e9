"""Iterative probes (sims.engine.sgd): scikit-learn equivalence, stationarity, solvers, batching, validation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import minimize

from sims.engine import backend as B
from sims.engine.probes import LinearProbe, fit_linear
from sims.engine.sgd import ConvergenceWarning, fit_sgd

LOSSES = ("softmax", "logistic", "hinge")


def _data(rng, n=150, d=4, C=3, batch=(), noise=1.0):
    """Gaussian codes with labels from a noisy linear teacher (not separable)."""
    H = rng.standard_normal(batch + (n, d))
    T = rng.standard_normal((d, C))
    y = np.argmax(H @ T + noise * rng.gumbel(size=batch + (n, C)), axis=-1)
    return H, y


def ref_objective(H, y, W, b, loss, alpha, w=None):
    """Independent numpy reference: weighted mean loss + alpha/2 ||W||^2 (float64)."""
    H, W, b = (np.asarray(a, dtype=np.float64) for a in (H, W, b))
    Z = H @ W + b
    C = W.shape[1]
    t = 2.0 * np.eye(C)[y] - 1.0
    if loss == "softmax":
        per = np.logaddexp.reduce(Z, axis=1) - Z[np.arange(len(y)), y]
    elif loss == "logistic":
        per = np.logaddexp(0.0, -t * Z).sum(1)
    else:
        per = (np.maximum(0.0, 1.0 - t * Z) ** 2).sum(1)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    return float((w * per).sum() / w.sum() + 0.5 * alpha * (W * W).sum())


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error", ConvergenceWarning)
    return ctx


# ---------------------------------------------------------------------------- scikit-learn
@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
def test_softmax_matches_sklearn_logistic_regression(host_rng, C):
    from sklearn.linear_model import LogisticRegression

    H, y = _data(host_rng, n=200, d=5, C=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        probe = fit_sgd(H, y, 4, C=C, tol=1e-9)
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=5000).fit(H, y)
    assert probe.solver == "lbfgs" and bool(probe.converged)
    np.testing.assert_allclose(probe.coef, ref.coef_.T, atol=2e-6)
    np.testing.assert_allclose(probe.intercept, ref.intercept_, atol=2e-6)
    alpha = 1.0 / (C * len(y))
    ours = ref_objective(H, y, probe.coef, probe.intercept, "softmax", alpha)
    assert ours <= ref_objective(H, y, ref.coef_.T, ref.intercept_, "softmax", alpha) + 1e-12
    assert abs(float(probe.objective) - ours) < 1e-12


def test_softmax_default_tolerances_accuracy_and_objective_vs_sklearn(host_rng):
    """Both at their defaults (tol 1e-4 on the max gradient): accuracy within 1 point, objective <= sklearn's."""
    from sklearn.linear_model import LogisticRegression

    H, y = _data(host_rng, n=6000, d=8, C=10, noise=2.0)
    Htr, ytr, Hte, yte = H[:3000], y[:3000], H[3000:], y[3000:]
    ytr = np.where(host_rng.random(3000) < 0.3, host_rng.integers(0, 10, 3000), ytr)  # label noise
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        probe = fit_sgd(Htr.astype(np.float32), ytr, 10, C=1.0)
    ref = LogisticRegression(C=1.0).fit(Htr, ytr)
    acc = np.mean(probe.predict(Hte.astype(np.float32)) == yte)
    acc_ref = np.mean(ref.predict(Hte) == yte)
    assert abs(acc - acc_ref) <= 0.01
    alpha = 1.0 / 3000
    ours = ref_objective(Htr, ytr, probe.coef, probe.intercept, "softmax", alpha)
    assert ours <= ref_objective(Htr, ytr, ref.coef_.T, ref.intercept_, "softmax", alpha) + 1e-6


def test_two_class_softmax_is_sklearn_binary_with_half_C(host_rng):
    from sklearn.linear_model import LogisticRegression

    H, y = _data(host_rng, C=2)
    probe = fit_sgd(H, y, 2, C=0.5, tol=1e-10)  # softmax with C/2 == binary logistic with C
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=5000).fit(H, y)
    np.testing.assert_allclose(probe.coef[:, 1] - probe.coef[:, 0], ref.coef_[0], atol=1e-6)
    np.testing.assert_allclose(probe.intercept[1] - probe.intercept[0], ref.intercept_[0], atol=1e-6)


def test_logistic_is_one_vs_rest_sklearn(host_rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    H, y = _data(host_rng, n=200, C=3)
    probe = fit_sgd(H, y, 3, loss="logistic", C=2.0, tol=1e-10)
    ref = OneVsRestClassifier(LogisticRegression(C=2.0, tol=1e-12, max_iter=5000)).fit(H, y)
    coef = np.stack([e.coef_[0] for e in ref.estimators_], axis=1)
    icpt = np.array([e.intercept_[0] for e in ref.estimators_])
    np.testing.assert_allclose(probe.coef, coef, atol=1e-6)
    np.testing.assert_allclose(probe.intercept, icpt, atol=1e-6)


def test_no_intercept_matches_sklearn(host_rng):
    from sklearn.linear_model import LogisticRegression

    H, y = _data(host_rng, n=120, C=3)
    probe = fit_sgd(H, y, 3, C=1.0, fit_intercept=False, tol=1e-10)
    ref = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12, max_iter=5000).fit(H, y)
    np.testing.assert_allclose(probe.coef, ref.coef_.T, atol=1e-6)
    assert np.all(probe.intercept == 0)


# ---------------------------------------------------------------------------- known answers
@pytest.mark.parametrize("loss", LOSSES)
def test_minimum_matches_scipy_on_reference_objective(host_rng, loss):
    """scipy's L-BFGS on the independent numpy objective reaches the same minimum."""
    H, y = _data(host_rng, n=90, d=3, C=3)
    alpha = 0.02
    probe = fit_sgd(H, y, 3, loss=loss, alpha=alpha, tol=1e-10)

    def f(v):
        return ref_objective(H, y, v[:9].reshape(3, 3), v[9:], loss, alpha)

    res = minimize(f, np.zeros(12), method="L-BFGS-B", options=dict(ftol=1e-15, gtol=1e-10, maxiter=5000))
    ours = f(np.r_[probe.coef.ravel(), probe.intercept])
    assert ours <= res.fun + 1e-9
    assert abs(float(probe.objective) - ours) < 1e-12
    np.testing.assert_allclose(np.r_[probe.coef.ravel(), probe.intercept], res.x, atol=2e-4)


@pytest.mark.parametrize("loss", LOSSES)
def test_stationary_point_by_finite_differences(host_rng, loss):
    """At the returned solution the central-difference gradient of the reference objective vanishes:
    the solver's analytic gradient is the true gradient."""
    H, y = _data(host_rng, n=100, d=3, C=3)
    w = host_rng.uniform(0.5, 2.0, 100)
    probe = fit_sgd(H, y, 3, loss=loss, alpha=0.05, tol=1e-11, sample_weight=w)
    v = np.r_[probe.coef.ravel(), probe.intercept]

    def f(u):
        return ref_objective(H, y, u[:9].reshape(3, 3), u[9:], loss, 0.05, w)

    eps = 1e-6
    grad = np.array([(f(v + eps * e) - f(v - eps * e)) / (2 * eps) for e in np.eye(12)])
    assert np.max(np.abs(grad)) < 1e-7


@pytest.mark.parametrize("loss", LOSSES)
def test_solvers_reach_the_same_minimum(host_rng, loss):
    H, y = _data(host_rng, n=80, d=3, C=3)
    a = fit_sgd(H, y, 3, loss=loss, C=1.0, solver="lbfgs", tol=1e-9)
    b = fit_sgd(H, y, 3, loss=loss, C=1.0, solver="gd", tol=1e-8, max_iter=100_000)
    assert b.solver == "gd" and bool(b.converged) and int(b.n_iter) > int(a.n_iter)
    np.testing.assert_allclose(b.coef, a.coef, atol=1e-6)
    np.testing.assert_allclose(b.intercept, a.intercept, atol=1e-6)


def test_minibatch_sgd_seeded_and_close_to_optimum(host_rng):
    H, y = _data(host_rng, n=200, d=3, C=3)
    best = fit_sgd(H, y, 3, C=1.0, tol=1e-10)
    kw = dict(C=1.0, batch_size=20, max_iter=60, tol=0.0, warn=False)
    a = fit_sgd(H, y, 3, seed=1, **kw)
    assert a.solver == "gd" and int(a.n_iter) == 60
    np.testing.assert_array_equal(a.coef, fit_sgd(H, y, 3, seed=1, **kw).coef)  # reproducible
    assert not np.array_equal(a.coef, fit_sgd(H, y, 3, seed=2, **kw).coef)  # seed matters
    assert float(best.objective) <= float(a.objective) < float(best.objective) + 2e-3


# ---------------------------------------------------------------------------- invariances
@pytest.mark.parametrize("loss", LOSSES)
def test_duplicated_rows_equal_weight_two(host_rng, loss):
    H, y = _data(host_rng, n=60, C=3)
    w = np.ones(60)
    w[:15] = 2.0
    dup = fit_sgd(np.r_[H, H[:15]], np.r_[y, y[:15]], 3, loss=loss, C=0.5, tol=1e-10)
    wtd = fit_sgd(H, y, 3, loss=loss, C=0.5, tol=1e-10, sample_weight=w)
    np.testing.assert_allclose(wtd.coef, dup.coef, atol=1e-7)
    np.testing.assert_allclose(wtd.intercept, dup.intercept, atol=1e-7)
    np.testing.assert_allclose(float(wtd.objective), float(dup.objective), rtol=1e-10)


@pytest.mark.parametrize("c", [0.1, 5.0])
def test_scaling_invariance(host_rng, c):
    H, y = _data(host_rng, n=80)
    base = fit_sgd(H, y, 3, alpha=0.03, tol=1e-10)
    scaled = fit_sgd(c * H, y, 3, alpha=0.03 * c * c, tol=1e-10)  # W -> W / c, same scores
    np.testing.assert_allclose(scaled.coef * c, base.coef, atol=1e-6)
    np.testing.assert_allclose(scaled.intercept, base.intercept, atol=1e-6)


# ---------------------------------------------------------------------------- batching
@pytest.mark.parametrize("loss", LOSSES)
def test_label_sets_and_batch_equal_loop(host_rng, loss):
    H = host_rng.standard_normal((2, 1, 70, 3))
    Y = host_rng.integers(0, 3, size=(3, 2, 70))
    probe = fit_sgd(H, Y, 3, loss=loss, C=1.0, tol=1e-10, label_sets=True)
    assert probe.coef.shape == (2, 3, 2, 3, 3) and probe.n_iter.shape == (2, 3, 2)
    assert probe.converged.dtype == np.bool_ and probe.objective.dtype == np.float64
    for i in range(2):
        for j in range(3):
            for l in range(2):
                one = fit_sgd(H[i, 0], Y[j, l], 3, loss=loss, C=1.0, tol=1e-10)
                np.testing.assert_allclose(probe.coef[i, j, l], one.coef, atol=1e-7)
                np.testing.assert_allclose(probe.intercept[i, j, l], one.intercept, atol=1e-7)
    assert probe.predict(H).shape == (2, 3, 2, 70)  # H (2, 1, n, d) shared by the label sets


def test_problem_does_not_depend_on_its_batch_companions(host_rng):
    H, _ = _data(host_rng, n=90)
    Y = host_rng.integers(0, 3, size=(5, 90))
    together = fit_sgd(H, Y, 3, C=1.0)
    for l in (0, 4):
        alone = fit_sgd(H, Y[l], 3, C=1.0)
        assert int(alone.n_iter) == int(together.n_iter[l])
        np.testing.assert_allclose(alone.coef, together.coef[l], atol=1e-12)


def test_threads_do_not_change_results(host_rng, monkeypatch):
    import sims.engine.lbfgs

    monkeypatch.setattr(sims.engine.lbfgs, "_CHUNK_ELEMENTS", 1024)  # many row chunks -> the pool is used
    H, _ = _data(host_rng, n=1000, d=4, batch=(2,))
    Y = host_rng.integers(0, 3, size=(2, 3, 1000))
    one = fit_sgd(H.astype(np.float32), Y, 3, C=1.0, threads=1)
    two = fit_sgd(H.astype(np.float32), Y, 3, C=1.0, threads=2)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.n_iter, two.n_iter)
    assert int(np.asarray(fit_sgd(H, Y, 3, threads=None).n_iter).sum()) > 0


# ---------------------------------------------------------------------------- dtypes, backends
@pytest.mark.parametrize("loss", LOSSES)
def test_float32_in_float32_out(host_rng, loss):
    H, y = _data(host_rng, n=100)
    p32 = fit_sgd(H.astype(np.float32), y, 3, loss=loss, C=1.0, tol=1e-5)
    p64 = fit_sgd(H, y, 3, loss=loss, C=1.0, tol=1e-8)
    assert p32.coef.dtype == np.float32 and p32.intercept.dtype == np.float32
    assert p32.objective.dtype == np.float64
    np.testing.assert_allclose(p32.coef, p64.coef, atol=1e-3)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("solver,batch_size", [("lbfgs", None), ("gd", None), ("gd", 16)])
def test_backends_agree(xp, host_rng, loss, solver, batch_size):
    H, _ = _data(host_rng, n=50, batch=(2,))
    Y = host_rng.integers(0, 3, size=(2, 2, 50))
    kw = dict(loss=loss, solver=solver, batch_size=batch_size, C=0.7, max_iter=30, warn=False)
    ref = fit_sgd(H, Y, 3, **kw)
    got = fit_sgd(B.asarray(H, xp), B.asarray(Y, xp), 3, **kw)
    assert B.backend_name(B.get_namespace(got.coef)) == B.backend_name(xp)
    np.testing.assert_allclose(np.asarray(B.to_numpy(got.coef)), ref.coef, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.asarray(B.to_numpy(got.objective)), ref.objective, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(B.to_numpy(got.n_iter)), ref.n_iter)


# ---------------------------------------------------------------------------- warm start, warnings
def test_warm_start_at_the_optimum_needs_no_iteration(host_rng):
    H, y = _data(host_rng)
    best = fit_sgd(H, y, 3, C=1.0, tol=1e-8)
    again = fit_sgd(H, y, 3, C=1.0, tol=1e-8, warm_start=best)
    assert int(again.n_iter) == 0 and bool(again.converged)
    for start in ("zero", "lstsq"):
        other = fit_sgd(H, y, 3, C=1.0, tol=1e-8, warm_start=start)
        np.testing.assert_allclose(other.coef, best.coef, atol=1e-6)
    with pytest.raises(ValueError, match=r"warm_start probe has \(d, C\) == \(4, 2\)"):
        fit_sgd(H, y, 3, warm_start=fit_linear(H, y % 2, 2))
    batch = fit_linear(np.stack([H, H]), np.stack([y, y]), 3)
    with pytest.raises(ValueError, match=r"warm_start probe batch shape \(2,\) does not broadcast"):
        fit_sgd(np.stack([H, H, H]), np.stack([y, y, y]), 3, warm_start=batch)


def test_non_convergence_warns_quoting_tol_and_max_iter(host_rng):
    H, y = _data(host_rng)
    with pytest.warns(ConvergenceWarning, match=r"tol == 1e-12 after max_iter == 2"):
        probe = fit_sgd(H, y, 3, C=1.0, tol=1e-12, max_iter=2)
    assert not bool(probe.converged) and int(probe.n_iter) == 2
    assert issubclass(ConvergenceWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_sgd(H, y, 3, C=1.0, tol=1e-12, max_iter=2, warn=False)


def test_line_search_failure_stops_the_problem_only(host_rng, monkeypatch):
    import sims.engine.lbfgs

    H, _ = _data(host_rng)
    Y = np.stack([host_rng.integers(0, 3, 150), np.zeros(150, dtype=int)])
    monkeypatch.setattr(sims.engine.lbfgs, "_C1", 1.0)  # Armijo with c1 = 1 cannot hold for a convex F
    with pytest.warns(ConvergenceWarning, match="line search found no decrease"):
        probe = fit_sgd(H, Y, 3, C=1.0, tol=1e-6)
    assert not np.any(probe.converged) and np.all(probe.n_iter == 1)
    np.testing.assert_array_equal(probe.coef, 0.0)  # the start (softmax: zero) is kept


# ---------------------------------------------------------------------------- validation
def test_error_messages_name_the_argument(host_rng):
    H, y = _data(host_rng, n=20)
    cases = [
        (dict(loss="squared"), r"loss == 'squared', must be one of 'softmax', 'logistic', 'hinge'"),
        (dict(solver="newton"), r"solver == 'newton', must be one of 'auto', 'lbfgs', 'gd'"),
        (dict(alpha=-0.5), r"alpha == -0.5, must be in \[0, inf\)"),
        (dict(C=0.0), r"C == 0, must be in \(0, inf\)"),
        (dict(alpha=1.0, C=1.0), r"alpha == 1.0 and C == 1.0: give at most one"),
        (dict(tol=-1.0), r"tol == -1, must be in \[0, inf\)"),
        (dict(max_iter=-1), r"max_iter == -1, must be in \[0, inf\)"),
        (dict(batch_size=0), r"batch_size == 0, must be in \[1, 20\]"),
        (dict(batch_size=21), r"batch_size == 21, must be in \[1, 20\]"),
        (dict(batch_size=5, solver="lbfgs"), r"batch_size == 5, must be None for solver == 'lbfgs'"),
        (dict(lr=0.0, solver="gd"), r"lr == 0, must be in \(0, inf\)"),
        (dict(lr="fast"), r"lr == 'fast', must be one of 'auto'"),
        (dict(seed=-3), r"seed == -3, must be in \[0, inf\)"),
        (dict(memory=0), r"memory == 0, must be in \[1, inf\)"),
        (dict(warm_start="ls"), r"warm_start == 'ls', must be one of 'auto', 'lstsq', 'zero'"),
        (dict(warm_start=3), r"warm_start == 3, must be one of"),
        (dict(label_sets="yes"), r"label_sets == 'yes'"),
        (dict(threads=0), r"threads == 0, must be in \[1, inf\)"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fit_sgd(H, y, 3, **kw)


@settings(max_examples=25)
@given(
    n=st.integers(2, 10),
    d=st.integers(1, 3),
    C=st.integers(2, 4),
    defect=st.sampled_from(["short_y", "label_high", "label_neg", "nan", "n_classes", "weights"]),
    loss=st.sampled_from(LOSSES),
)
def test_bad_inputs_raise_value_error_naming_argument(n, d, C, defect, loss):
    rng = np.random.default_rng(n * 100 + d * 10 + C)
    H = rng.standard_normal((n, d))
    y = rng.integers(0, C, n)
    kw, name, ncls = {}, "y", C
    if defect == "short_y":
        y = y[1:]
    elif defect == "label_high":
        y[rng.integers(n)] = C + rng.integers(0, 4)
    elif defect == "label_neg":
        y[rng.integers(n)] = -1
    elif defect == "nan":
        H[rng.integers(n), rng.integers(d)] = np.nan
        name = "H"
    elif defect == "n_classes":
        ncls, name = int(rng.integers(-2, 2)), "n_classes"
    else:
        kw, name = dict(sample_weight=np.full(n, -1.0)), "sample_weight"
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        fit_sgd(H, y, ncls, loss=loss, **kw)


def test_empty_batch(host_rng):
    H, y = _data(host_rng, n=20)
    probe = fit_sgd(np.zeros((0, 20, 4)), np.zeros((0, 20), dtype=int), 3)
    assert probe.coef.shape == (0, 4, 3) and probe.n_iter.shape == (0,)
    assert fit_sgd(H, np.zeros((0, 20), dtype=int), 3).coef.shape == (0, 4, 3)


def test_absent_class_converges_with_low_intercept(host_rng):
    H, y = _data(host_rng, n=60, C=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        probe = fit_sgd(H, y, 5, C=1.0)  # classes 3, 4 never seen
    assert bool(probe.converged) and np.all(probe.predict(H) < 3)
    assert np.all(probe.intercept[3:] < probe.intercept[:3].min() - 5)


def test_returns_linear_probe(host_rng):
    H, y = _data(host_rng, n=30)
    probe = fit_sgd(H, y, 3, loss="hinge")
    assert isinstance(probe, LinearProbe) and probe.loss == "hinge" and not probe.label_axis
    assert probe.scores(H).shape == (30, 3)
