"""Tests written against mutants of the engine groups that survived ``benchmarks/mutation.py``: each pins a
behaviour the other tests left free."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sims.engine import codes as KC


# ============================================================================================ sims.engine.codes
def _gram_schmidt(F: np.ndarray) -> np.ndarray:
    """Modified Gram-Schmidt of the columns of F (the Q of QR with a positive diagonal of R)."""
    Q = np.array(F, dtype=np.float64)
    for j in range(Q.shape[1]):
        for i in range(j):
            Q[:, j] -= (Q[:, i] @ Q[:, j]) * Q[:, i]
        Q[:, j] /= np.linalg.norm(Q[:, j])
    return Q


@pytest.mark.parametrize("n,m", [(4, 4), (3, 5), (1, 1)])
def test_frame_with_no_more_features_than_neurons_is_the_orthonormalised_start(n, m):
    """n <= m (n == m included): the frame is the random rotation of the seed's start, i.e. its Gram-Schmidt
    orthonormalisation (QR with a positive R diagonal: a function of the start), orthonormal to rounding."""
    ss = np.random.SeedSequence(7)
    start = KC._frame_start(n, m, ss.entropy, tuple(ss.spawn_key))
    W = np.asarray(KC.build_frame(n, m, 7))
    np.testing.assert_allclose(W, _gram_schmidt(start), rtol=0, atol=1e-12)
    np.testing.assert_allclose(W.T @ W, np.eye(n), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(np.asarray(KC.make_code("frame", n, m, 7)), W)


@pytest.mark.parametrize("n_iter", [1, 2, 5, 7, 10, 33, 100, 1000])
def test_frame_schedule_follows_its_documented_shares_and_exponents(n_iter):
    """Per step (dtype, tight pull, k): the first 30 % of the steps (int(0.3 n_iter)) pull toward a tight frame,
    nothing later; the last 20 % (int(0.2 n_iter)) are the polish, its second half in float64, everything before in
    float32; k rises (non-decreasing) from 2 to 7 over the steps before the polish, then from 7 to 12 over the
    polish (each range reached at both ends when it has at least two steps)."""
    steps = KC._schedule(n_iter)
    n_pol = int(0.2 * n_iter)
    n_bulk = n_iter - n_pol
    n_tight = int(0.3 * n_iter)
    assert len(steps) == n_iter
    assert [t for _, t, _ in steps] == [i < n_tight for i in range(n_iter)]
    assert [d for d, _, _ in steps] == ["float32"] * (n_bulk + n_pol - n_pol // 2) + ["float64"] * (n_pol // 2)
    bulk, polish = [k for _, _, k in steps[:n_bulk]], [k for _, _, k in steps[n_bulk:]]
    assert all(2 <= k <= 7 for k in bulk) and bulk == sorted(bulk) and bulk[0] == 2
    assert all(7 <= k <= 12 for k in polish) and polish == sorted(polish)
    if n_bulk >= 2:
        assert bulk[-1] == 7
    if n_pol >= 1:
        assert polish[0] == 7
    if n_pol >= 2:
        assert polish[-1] == 12


def test_frame_potential_is_summed_in_float64():
    """_potential on a float32 Gram matrix: the sum of |G / ref|^p (p = 2^k + 2, the float32 terms) is accumulated
    in float64 (= the exactly rounded sum of the terms to 1e-13), and Q = |G / ref|^(p - 2) is returned in float32."""
    g = np.random.default_rng(3)
    G = g.uniform(-1.0, 1.0, (400, 400)).astype(np.float32)
    ref = 0.9
    for k in (2, 3, 5):
        val, Q = KC._potential(G.copy(), k, ref, np)
        x2 = (G * np.float32(1.0 / ref)) ** 2  # float32, as the potential computes it
        q = x2 * x2
        for _ in range(k - 2):
            q = q * q
        terms = (x2 * q).astype(np.float64)
        assert Q.dtype == np.float32
        np.testing.assert_array_equal(Q, q)
        assert val == pytest.approx(math.fsum(terms.ravel()), rel=1e-13, abs=0)


# ============================================================================================ sims.engine.toy_model
import json  # noqa: E402
import threading  # noqa: E402

from sims.engine import backend as B  # noqa: E402
from sims.engine import toy_model as T  # noqa: E402
from sims.engine.generators import FeatureSpec, sample_features, shift_spec  # noqa: E402


def _toy_cfg(**kw) -> T.ToyModelConfig:
    base = dict(n_features=6, n_hidden=2, n_instances=3, steps=12, lr=2e-2, log_every=1,
                importance=[list(0.8 ** np.arange(6)), [1.0] * 6, list(0.6 ** np.arange(6))], dtype="float32")
    base.update(kw)
    return T.ToyModelConfig(**base)


def _toy_src(cfg: T.ToyModelConfig, xp=None):
    return T.SyntheticBatches(cfg.n_features, np.linspace(0.0, 0.8, cfg.n_instances), 32, 5, steps=cfg.steps,
                              xp=xp, dtype=cfg.dtype)


@pytest.mark.parametrize("nonneg", [False, True])
def test_float32_numpy_solver_is_bitwise_generic_with_importance_and_projection(nonneg):
    """In float32 too (per-instance importance, projected Adam or not) the numpy solver is bitwise the generic
    one: same W, b (float32) and the same recorded losses; with nonneg=True every W >= 0 after training."""
    runs = {}
    for solver in ("generic", "numpy"):
        cfg = _toy_cfg(solver=solver)
        runs[solver] = T.train_toy_model(cfg, _toy_src(cfg), nonneg=nonneg, threads=1)
    ref, fast = runs["generic"], runs["numpy"]
    assert (ref.solver, fast.solver) == ("generic", "numpy")
    assert ref.W.dtype == fast.W.dtype == np.float32 and ref.b.dtype == fast.b.dtype == np.float32
    np.testing.assert_array_equal(fast.W, ref.W)
    np.testing.assert_array_equal(fast.b, ref.b)
    np.testing.assert_array_equal(fast.loss_history, ref.loss_history)
    if nonneg:
        assert float(np.min(ref.W)) >= 0.0 and float(np.min(fast.W)) >= 0.0
    else:
        assert float(np.min(ref.W)) < 0.0  # the projection is what keeps W >= 0


def test_numpy_solver_threads_run_on_a_pool_of_that_size():
    """threads=2 on the numpy solver: instance chunks run on worker threads ("toy-model" pool), at most 2 of them,
    gone after training; the result is the single-threaded one."""
    cfg = _toy_cfg(n_instances=8, importance=None, steps=6, solver="numpy")
    seen = []

    def evaluator(step, W, b):
        seen.append(sum(t.name.startswith("toy-model") for t in threading.enumerate()))
        return {}

    res = T.train_toy_model(cfg, _toy_src(cfg), evaluator=evaluator, eval_every=1, threads=2, chunk=1)
    one = T.train_toy_model(cfg, _toy_src(cfg), threads=1)
    assert res.solver == "numpy" and len(seen) == 6
    assert all(1 <= k <= 2 for k in seen), seen
    assert not any(t.name.startswith("toy-model") for t in threading.enumerate())
    np.testing.assert_array_equal(res.W, one.W)


def test_evaluator_gets_the_parameters_of_its_step():
    """The evaluator's (W, b) after k updates are those of a training of k steps (copies: later updates do not
    change what it was given), for both solvers."""
    for solver in ("numpy", "generic"):
        cfg = _toy_cfg(solver=solver, steps=6)
        got = {}

        def evaluator(step, W, b):
            got[step] = (W, b)
            return {}

        T.train_toy_model(cfg, _toy_src(cfg), evaluator=evaluator, eval_every=3)
        short = T.train_toy_model(T.ToyModelConfig.from_dict({**cfg.to_dict(), "steps": 3}), _toy_src(cfg))
        np.testing.assert_array_equal(np.asarray(got[3][0]), short.W)
        np.testing.assert_array_equal(np.asarray(got[3][1]), short.b)
        assert not np.array_equal(np.asarray(got[3][0]), np.asarray(got[6][0]))


def test_non_finite_loss_names_the_instances():
    """A batch that makes the loss of some instances non-finite: the error names the step and those instances."""
    cfg = _toy_cfg(n_instances=4, importance=None, steps=3, log_every=1, dtype="float64")
    good = np.full((4, 8, 6), 0.5)
    bad = good.copy()
    bad[1, 0, 0] = np.nan
    bad[3, 2, 1] = np.inf
    with pytest.raises(FloatingPointError, match=r"^loss became non-finite at step 1 \(instances \[1, 3\]\)"):
        T.train_toy_model(cfg, [good, bad, good])


def test_batches_that_are_not_arrays_are_refused_with_the_expected_shapes():
    cfg = _toy_cfg(steps=2)
    with pytest.raises(ValueError, match=r"^batches\[0\]: batches yielded list at step 0, must yield arrays "
                                         r"\(I, B, n\) or \(B, n\)$"):
        T.train_toy_model(cfg, [[0.5] * 6] * 2)


def test_batches_of_another_backend_are_moved_to_the_training_namespace():
    """numpy training on array_api_strict batches (and the reverse) equals training on the same values."""
    xs = pytest.importorskip("array_api_strict")
    cfg = _toy_cfg(steps=4, dtype="float64")
    host = [np.asarray(x) for x in _toy_src(cfg)]
    ref = T.train_toy_model(cfg, host)
    got = T.train_toy_model(cfg, [xs.asarray(x) for x in host])
    np.testing.assert_array_equal(got.W, ref.W)
    gen = T.ToyModelConfig.from_dict({**cfg.to_dict(), "solver": "generic"})
    strict = T.train_toy_model(gen, host, xp="array_api_strict")
    assert strict.backend == "array_api_strict"
    np.testing.assert_allclose(np.asarray(strict.W), ref.W, rtol=1e-12, atol=1e-14)


def test_default_threads_are_the_usable_cores_without_sched_getaffinity(monkeypatch):
    """threads=None: min(usable cores, I); where os.sched_getaffinity is missing, os.cpu_count() cores."""
    pytest.importorskip("threadpoolctl")
    import os

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert T._resolve_threads(None, 8) == 3
    assert T._resolve_threads(None, 2) == 2
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert T._resolve_threads(None, 8) == 1


def test_feature_metrics_coherence_is_among_features_above_the_threshold():
    """max_abs_cos is the coherence of the represented features (norm > threshold): a short column parallel to
    a represented one does not count."""
    W = np.array([[1.0, 0.0, 0.1], [0.0, 1.0, 0.0]])  # column 2 (norm 0.1) is parallel to column 0
    met = T.feature_metrics(W, threshold=0.5)
    np.testing.assert_array_equal(met["represented"], [True, True, False])
    assert float(met["max_abs_cos"]) == 0.0
    assert float(T.feature_metrics(W, threshold=0.05)["max_abs_cos"]) == pytest.approx(1.0)


def test_init_draws_each_instance_from_its_own_key():
    """Instance j: rng(seed, "toy-model-init", keys[j]).standard_normal((m, n)) * sqrt(2 / (m + n))."""
    cfg = T.ToyModelConfig(5, 3, n_instances=3, seed=4, instance_keys=(2, 9, 0), dtype="float64")
    W, b = T.init_params(cfg)
    std = math.sqrt(2.0 / 8)
    for j, k in enumerate((2, 9, 0)):
        np.testing.assert_array_equal(W[j], B.rng(4, "toy-model-init", k).standard_normal((3, 5)) * std)
    assert not np.array_equal(W[0], W[1])
    np.testing.assert_array_equal(b, np.zeros((3, 5)))


def test_training_from_init_params_equals_the_default_start():
    """init=(W0, b0) (host arrays, any float dtype) starts there: from init_params it is the default training."""
    cfg = _toy_cfg(steps=5)
    ref = T.train_toy_model(cfg, _toy_src(cfg))
    W0, b0 = T.init_params(cfg)
    got = T.train_toy_model(cfg, _toy_src(cfg), init=(W0.astype(np.float64), b0.astype(np.float64)))
    np.testing.assert_array_equal(got.W, ref.W)
    np.testing.assert_array_equal(got.b, ref.b)
    with pytest.raises(ValueError, match=r"^init\[1\]\.shape == \(3, 5\), must be \(3, 6\)"):
        T.train_toy_model(cfg, _toy_src(cfg), init=(W0, np.zeros((3, 5))))


def test_generic_solver_names_bad_threads():
    cfg = _toy_cfg(solver="generic", steps=2)
    with pytest.raises(ValueError, match=r"^threads == 0, must be in \[1, inf\)"):
        T.train_toy_model(cfg, _toy_src(cfg), threads=0)


def test_synthetic_batches_namespace_scalar_sparsity_and_refusals():
    """xp= is honoured; a scalar sparsity gives (B, n) batches of the spec shifted to it; sparsity 1 is refused
    ([0, 1)), a bad sparsity shape is named, and batch(t) names a negative t."""
    xs = pytest.importorskip("array_api_strict")
    src = T.SyntheticBatches(4, [0.1, 0.5], 8, 3, steps=2, xp="array_api_strict", dtype="float64")
    x = next(iter(src))
    assert B.backend_name(B.get_namespace(x)) == "array_api_strict"
    assert isinstance(x, type(xs.asarray(0.0)))
    one = T.SyntheticBatches(FeatureSpec(4), 0.3, 8, 3, steps=2, dtype="float64")
    got = [np.asarray(b) for b in one]
    assert got[0].shape == (8, 4)
    np.testing.assert_array_equal(np.concatenate(got), sample_features(shift_spec(FeatureSpec(4), sparsity=0.3), 16, 3))
    for bad in (1.0, [0.2, 1.0]):
        with pytest.raises(ValueError, match=r"^sparsity (==|contains) 1, must be in \[0, 1\)"):
            T.SyntheticBatches(4, bad, 8, 0)
    with pytest.raises(ValueError, match=r"^sparsity has shape \(2, 3\), must be a scalar, \(I,\) or \(I, 4\) "
                                         r"with I >= 1$"):
        T.SyntheticBatches(4, np.zeros((2, 3)), 8, 0)
    with pytest.raises(ValueError, match=r"^t == -1, must be in \[0, inf\)"):
        one.batch(-1)


def test_config_stores_integral_floats_as_ints():
    """steps and log_every given as integral floats are stored as ints (to_dict is the canonical JSON)."""
    cfg = T.ToyModelConfig(4, 2, steps=3.0, log_every=2.0)
    assert type(cfg.steps) is int and type(cfg.log_every) is int
    assert json.loads(json.dumps(cfg.to_dict()))["steps"] == 3
    assert '"steps": 3,' in json.dumps(cfg.to_dict()) and '"log_every": 2,' in json.dumps(cfg.to_dict())
    assert T.ToyModelConfig.from_dict(cfg.to_dict()) == cfg


def test_toy_loss_and_gradients_on_a_non_default_device():
    """toy_loss / toy_gradients of array_api_strict arrays on device1 are computed there (the importance moved
    to that device; same values as on the host)."""
    xs = pytest.importorskip("array_api_strict")
    d = xs.Device("device1")
    g = np.random.default_rng(2)
    W, b, x = g.standard_normal((2, 3, 5)), g.standard_normal((2, 5)), g.random((2, 7, 5))
    host = T.toy_loss(W, b, x)
    got = T.toy_loss(*(xs.asarray(a, device=d) for a in (W, b, x)))
    assert got.device == d
    np.testing.assert_allclose(np.asarray(got.to_device(xs.Device("CPU_DEVICE"))), host, rtol=1e-13)
    imp = g.random(5)
    ref = T.toy_gradients(W, b, x, imp)
    dev = T.toy_gradients(*(xs.asarray(a, device=d) for a in (W, b, x)), imp)
    for r, a in zip(ref, dev):
        assert a.device == d
        np.testing.assert_allclose(np.asarray(a.to_device(xs.Device("CPU_DEVICE"))), r, rtol=1e-12, atol=1e-14)


# ============================================================================================ sims.engine.probes
from sims.engine.probes import fit_linear  # noqa: E402


def test_float_labels_are_refused_by_dtype_even_when_not_finite():
    """y must be integer labels: float labels are refused naming the dtype, NaN or inf among them included (the
    dtype is the defect, not the values)."""
    H = np.random.default_rng(0).standard_normal((4, 2))
    for y in (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, np.nan, 1.0, np.inf])):
        with pytest.raises(ValueError, match=r"^y\.dtype == float64, must be an integer dtype"):
            fit_linear(H, y, 2)


def test_cholesky_failure_signalled_by_nan_is_refused_like_a_raised_one(monkeypatch):
    """A backend whose Cholesky returns NaN for a matrix that is not positive definite (as CuPy does) instead of
    raising (numpy): both refusals name the solver, alpha and the dtype."""
    import array_api_compat.numpy.linalg as la

    g = np.random.default_rng(1)
    H = np.hstack([g.standard_normal((30, 2)), np.zeros((30, 1))])  # Gram matrix with a zero row: not PD
    y = g.integers(0, 3, 30)
    with pytest.raises(ValueError, match=r"solver == 'cholesky' with alpha == 0 in float64 \(Gram matrix"):
        fit_linear(H, y, 3, solver="cholesky")
    real = la.cholesky

    def nan_on_failure(x, **kw):
        try:
            return real(x, **kw)
        except np.linalg.LinAlgError:
            return np.full(x.shape, np.nan, dtype=x.dtype)

    monkeypatch.setattr(la, "cholesky", nan_on_failure)
    with pytest.raises(ValueError, match=r"solver == 'cholesky' with alpha == 0 in float64 \(singular system\)"):
        fit_linear(H, y, 3, solver="cholesky")


# ============================================================================================ sims.engine.sgd
from sims.engine.sgd import ConvergenceWarning, fit_sgd  # noqa: E402


@pytest.mark.parametrize("alpha", [None, 0.1, 0.0])
def test_hinge_in_its_quadratic_region_converges_in_one_preconditioned_newton_step(alpha):
    """Squared hinge where every margin stays active (small codes: |z| < 1 at the optimum): F is quadratic with
    Hessian kappa (H^T diag(r) H + alpha / kappa) (kappa = 2 for the squared hinge), so the first L-BFGS step
    from zero, preconditioned by exactly that inverse (times 1 / kappa), is Newton's step and lands on the
    minimum (up to the preconditioner's 1e-8 relative regularisation): one iteration without intercept."""
    g = np.random.default_rng(0)
    H = 0.05 * g.standard_normal((400, 3))
    y = g.integers(0, 3, 400)
    kw = {} if alpha is None else dict(alpha=alpha)
    p = fit_sgd(H, y, 3, loss="hinge", warm_start="zero", tol=1e-10, fit_intercept=False, **kw)
    T = 2.0 * np.eye(3)[y] - 1.0
    assert float(np.min(1.0 - T * (H @ p.coef))) > 0.0  # every margin active: the quadratic region
    assert bool(p.converged) and int(p.n_iter) == 1
    # the minimum of the quadratic in closed form: (H^T H / n + a I) W = H^T T / n, a = alpha / 1 (no 1/2 factor:
    # F = mean sum_k (1 - t_k z_k)^2 + alpha / 2 |W|^2 -> grad = 2 (H^T H W - H^T T) / n + alpha W)
    a = 1.0 / 400 if alpha is None else alpha  # default C = 1: alpha = 1 / (C n)
    W = np.linalg.solve(H.T @ H / 400 + 0.5 * a * np.eye(3), H.T @ T / 400)
    np.testing.assert_allclose(p.coef, W, rtol=1e-6, atol=1e-9)


def test_convergence_warning_counts_the_problems_that_did_not_converge():
    """One of two problems starts at its optimum (0 iterations), the other cannot converge in one: the warning
    says 1 of 2, and converged / n_iter say which."""
    g = np.random.default_rng(1)
    H = g.standard_normal((120, 3))
    y0, y1 = g.integers(0, 3, 120), g.integers(0, 3, 120)
    start = fit_sgd(H, np.stack([y0, y0]), 3, C=1.0, tol=1e-10)
    with pytest.warns(ConvergenceWarning, match=r"did not converge for 1 of 2 problems: max \|grad\| > tol == "
                                                 r"1e-06 after max_iter == 1 iterations"):
        p = fit_sgd(H, np.stack([y0, y1]), 3, C=1.0, tol=1e-6, max_iter=1, warm_start=start)
    np.testing.assert_array_equal(p.converged, [True, False])
    np.testing.assert_array_equal(p.n_iter, [0, 1])


def test_hinge_quadratic_region_with_an_unpenalised_intercept():
    """With an intercept (not penalised: the preconditioner's penalty is on W only) the preconditioned Newton
    step is exact up to the 1e-8 regularisation relative to the intercept's large second moment: converged in at
    most two iterations, at the closed-form minimum of the quadratic."""
    g = np.random.default_rng(0)
    H = 0.05 * g.standard_normal((400, 3))
    y = g.integers(0, 3, 400)
    p = fit_sgd(H, y, 3, loss="hinge", warm_start="zero", tol=1e-10, alpha=0.1)
    T = 2.0 * np.eye(3)[y] - 1.0
    Ht = np.hstack([H, np.ones((400, 1))])
    pen = np.diag([1.0, 1.0, 1.0, 0.0])
    theta = np.linalg.solve(Ht.T @ Ht / 400 + 0.5 * 0.1 * pen, Ht.T @ T / 400)
    assert float(np.min(1.0 - T * (Ht @ theta))) > 0.0
    assert bool(p.converged) and int(p.n_iter) <= 2
    np.testing.assert_allclose(p.coef, theta[:3], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(p.intercept, theta[3], rtol=1e-6, atol=1e-9)


def _sgd_data(seed=0, n=90, d=3, C=3):
    g = np.random.default_rng(seed)
    H = g.standard_normal((n, d))
    y = np.argmax(H @ g.standard_normal((d, C)) + g.gumbel(size=(n, C)), axis=-1)
    return H, y


@pytest.mark.parametrize("loss,f0", [("softmax", math.log(3)), ("logistic", 3 * math.log(2.0)), ("hinge", 3.0)])
def test_objective_at_zero_is_the_closed_form(loss, f0):
    """Started at zero (max_iter = 0) the objective is F(0) in closed form, exactly: log C (softmax), C log 2
    (one-vs-rest logistic), C (squared hinge); with and without sample weights."""
    H, y = _sgd_data()
    for w in (None, np.linspace(0.5, 2.0, 90)):
        p = fit_sgd(H, y, 3, loss=loss, warm_start="zero", max_iter=0, warn=False, sample_weight=w)
        assert int(p.n_iter) == 0 and float(p.objective) == f0
        np.testing.assert_array_equal(p.coef, 0.0)


@pytest.mark.parametrize("loss", ["softmax", "logistic", "hinge"])
def test_weight_two_is_a_duplicated_row_at_every_iteration(loss):
    """A sample weight of 2 is the row twice, step by step (not only at the optimum): the first iterations from
    zero agree too (the closed-form gradient at zero uses the weighted mean code)."""
    H, y = _sgd_data(1, n=60)
    w = np.ones(60)
    w[:15] = 2.0
    for k in (1, 2):
        kw = dict(loss=loss, warm_start="zero", max_iter=k, warn=False, C=0.5)
        dup = fit_sgd(np.r_[H, H[:15]], np.r_[y, y[:15]], 3, **kw)
        wtd = fit_sgd(H, y, 3, sample_weight=w, **kw)
        np.testing.assert_allclose(wtd.coef, dup.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(wtd.intercept, dup.intercept, rtol=1e-9, atol=1e-12)


def test_auto_warm_start_is_zero_for_softmax_lbfgs_else_lstsq():
    """warm_start='auto': 'zero' for softmax with lbfgs, 'lstsq' otherwise (same iterates, bit for bit)."""
    H, y = _sgd_data(2)
    for loss, solver in (("softmax", "lbfgs"), ("softmax", "gd"), ("logistic", "lbfgs"), ("hinge", "lbfgs")):
        kw = dict(loss=loss, solver=solver, max_iter=3, warn=False)
        auto = fit_sgd(H, y, 3, **kw)
        same = fit_sgd(H, y, 3, warm_start="zero" if (loss, solver) == ("softmax", "lbfgs") else "lstsq", **kw)
        other = fit_sgd(H, y, 3, warm_start="lstsq" if (loss, solver) == ("softmax", "lbfgs") else "zero", **kw)
        np.testing.assert_array_equal(auto.coef, same.coef)
        assert not np.array_equal(auto.coef, other.coef)


@pytest.mark.parametrize("loss", ["softmax", "logistic", "hinge"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lstsq_warm_start_is_the_ridge_probe_mapped_to_scores(loss, fit_intercept):
    """warm_start='lstsq', max_iter = 0: the ridge probe (alpha = 1e-3 n, one-hot targets, signed for the hinge)
    mapped to scores at the uniform prediction p0 = 1/C: softmax C (W, b - 1/C); logistic W / (p0 (1 - p0)),
    logit(p0) + (b - p0) / (p0 (1 - p0)); hinge the probe itself."""
    H, y = _sgd_data(3)
    C, p0 = 3, 1.0 / 3
    ls = fit_linear(H, y, C, alpha=1e-3 * 90, solver="cholesky", fit_intercept=fit_intercept,
                    targets="signed" if loss == "hinge" else "onehot")
    W, b = np.asarray(ls.coef), np.asarray(ls.intercept)
    if loss == "softmax":
        W, b = C * W, C * b - 1.0
    elif loss == "logistic":
        sc = 1.0 / (p0 * (1.0 - p0))
        W, b = sc * W, math.log(p0 / (1.0 - p0)) + sc * (b - p0)
    p = fit_sgd(H, y, C, loss=loss, warm_start="lstsq", max_iter=0, warn=False, fit_intercept=fit_intercept)
    np.testing.assert_allclose(p.coef, W, rtol=1e-12, atol=1e-14)
    if fit_intercept:
        np.testing.assert_allclose(p.intercept, b, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_array_equal(p.intercept, 0.0)


def test_default_max_iter_per_solver():
    """max_iter=None: 100 (lbfgs), 1000 (gd, full batch), 200 (minibatch epochs); tol = 0 runs them all."""
    H, y = _sgd_data(4, n=40)
    for kw, k in ((dict(solver="lbfgs"), 100), (dict(solver="gd"), 1000), (dict(batch_size=10), 200)):
        with pytest.warns(ConvergenceWarning, match=rf"after max_iter == {k} iterations"):
            p = fit_sgd(H, y, 3, tol=0.0, **kw)
        assert int(p.n_iter) == k or (kw.get("solver") == "lbfgs" and int(p.n_iter) <= k)


def test_sgd_messages_and_small_batches():
    """batch_size 1 is a valid minibatch; threads must be an integer; the divergence and non-convergence
    messages end as documented."""
    H, y = _sgd_data(5, n=20)
    p = fit_sgd(H, y, 3, batch_size=1, max_iter=2, warn=False)
    assert p.solver == "gd" and int(p.n_iter) == 2
    with pytest.raises(ValueError, match=r"^threads == 1\.5, must be an integer"):
        fit_sgd(H, y, 3, threads=1.5)
    with pytest.raises(ValueError, match=r"^lr == 1e\+06, gradient descent diverged \(objective .* after \d+ "
                                         r"iterations\), must be in \(0, [0-9.e+-]+\] \(2 / the Lipschitz bound of "
                                         r"the gradient; lr='auto' takes half of it\)$"):
        fit_sgd(H, y, 3, solver="gd", lr=1e6)
    with pytest.raises(ValueError, match=r"lr='auto' takes half of it\) or smaller for minibatches$"):
        fit_sgd(H, y, 3, solver="gd", lr=1e6, batch_size=5)
    with pytest.warns(ConvergenceWarning, match=r"^fit_sgd\('softmax', solver='lbfgs'\) did not converge for 1 of 1 "
                                                 r"problems: max \|grad\| > tol == 1e-12 after max_iter == 1 "
                                                 r"iterations \(or the line search found no decrease\); increase "
                                                 r"max_iter, loosen tol, or rescale H$"):
        fit_sgd(H, y, 3, tol=1e-12, max_iter=1)


def test_float32_without_intercept_gives_a_float32_probe():
    H, y = _sgd_data(6)
    for loss in ("softmax", "hinge"):
        p = fit_sgd(H.astype(np.float32), y, 3, loss=loss, fit_intercept=False, tol=1e-4)
        assert p.coef.dtype == np.float32 and p.intercept.dtype == np.float32
        np.testing.assert_array_equal(p.intercept, 0.0)


def test_sgd_on_a_non_default_device():
    """array_api_strict arrays on device1 are fitted there (every solver), with the host's numbers."""
    xs = pytest.importorskip("array_api_strict")
    d = xs.Device("device1")
    H, y = _sgd_data(7, n=50)
    w = np.linspace(0.5, 1.5, 50)
    for kw in (dict(), dict(solver="gd", max_iter=20), dict(batch_size=10, max_iter=5), dict(loss="hinge"),
               dict(sample_weight=w), dict(fit_intercept=False), dict(loss="logistic", warm_start="zero")):
        kw = dict(kw, warn=False)
        ref = fit_sgd(H, y, 3, **kw)
        kwd = {k: (xs.asarray(v, device=d) if k == "sample_weight" else v) for k, v in kw.items()}
        got = fit_sgd(xs.asarray(H, device=d), xs.asarray(y, device=d), 3, **kwd)
        assert got.coef.device == d and got.intercept.device == d
        cpu = xs.Device("CPU_DEVICE")
        np.testing.assert_allclose(np.asarray(got.coef.to_device(cpu)), ref.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.asarray(got.intercept.to_device(cpu)), ref.intercept, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_softmax_scores_beyond_exp_range_are_shifted(scale):
    """Scores far beyond exp's range (|z| ~ 2100 at the warm start; every row's score bound ||h~|| ||theta_k||
    too, though each row of theta is small; with large codes too): the objective is the stable log-sum-exp value, computed quietly,
    and the descent from there stays finite."""
    import warnings as _w

    from sims.engine.probes import LinearProbe

    g = np.random.default_rng(0)
    n, d = 40, 100
    H = scale * (1.0 + 0.1 * g.random((n, d)))  # scaled codes, scaled-down coefficients: the same scores
    y = g.integers(0, 3, n)
    W = np.zeros((d, 3))
    W[:, 0] = 20.0 / scale
    b = np.array([20.0, 0.0, 0.0])
    Z = H @ W + b
    assert Z.max() > 2000.0
    ref = float(np.mean(np.logaddexp.reduce(Z, axis=1) - Z[np.arange(n), y]))
    with _w.catch_warnings():
        _w.simplefilter("error")
        p = fit_sgd(H, y, 3, warm_start=LinearProbe(W, b, "given"), max_iter=0, warn=False, alpha=0.0)
        assert float(p.objective) == pytest.approx(ref, rel=1e-12)
        q = fit_sgd(H, y, 3, warm_start=LinearProbe(W, b, "given"), max_iter=3, warn=False, alpha=1e-3)
    assert np.isfinite(float(q.objective)) and float(q.objective) < ref


def test_one_minibatch_epoch_by_hand():
    """Minibatch SGD, one epoch from zero: rows in the order rng(seed, "sgd", 0).permutation(n), batches of
    batch_size, step lr / sqrt(1 + 0), each step the unbiased minibatch gradient (1/m) sum_i h~_i (softmax(z_i)
    - y_i)^T + alpha W (the intercept row unpenalised)."""
    g = np.random.default_rng(8)
    n, d, C, m, lr, alpha, seed = 7, 2, 3, 3, 0.4, 0.1, 5
    H = g.standard_normal((n, d))
    y = np.array([0, 1, 2, 0, 1, 2, 1])
    p = fit_sgd(H, y, C, batch_size=m, max_iter=1, lr=lr, alpha=alpha, seed=seed, tol=0.0, warn=False,
                warm_start="zero")
    Ht = np.hstack([H, np.ones((n, 1))])
    Y = np.eye(C)[y]
    theta = np.zeros((d + 1, C))
    perm = B.rng(seed, "sgd", 0).permutation(n)
    for lo in range(0, n, m):
        idx = perm[lo:lo + m]
        Z = Ht[idx] @ theta
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        grad = Ht[idx].T @ (P - Y[idx]) / len(idx)
        grad[:d] += alpha * theta[:d]
        theta = theta - lr * grad
    assert int(p.n_iter) == 1
    np.testing.assert_allclose(p.coef, theta[:d], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.intercept, theta[d], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sc,C,backtracks", [(0.0, 10, 1), (0.3, 10, 1), (0.3, 40, 2)])
def test_first_lbfgs_iteration_by_hand_with_a_backtracking_line_search(sc, C, backtracks):
    """One L-BFGS iteration (softmax, 10 classes, two of them live) from a given start, by hand: direction
    d = -(1/kappa) Minv g with kappa = 1/C and Minv = (M + alpha/kappa pen + 1e-8 tr(M)/d1 I)^-1; Armijo from
    t = 1 (c1 = 1e-4, + 10 eps |F|); a failed trial t is replaced by the minimiser of the quadratic through
    F(0), F'(0) = <g, d>, F(t), clipped to [0.1 t, 0.5 t]. Here step 1 overshoots (the curvature 1/2 of two
    equally likely classes is 5 kappa; 20 kappa with 40 classes: two backtracks), so the accepted step is the
    interpolated one."""
    from sims.engine.probes import LinearProbe

    g = np.random.default_rng(9)
    n, d, alpha = 60, 3, 0.01
    H = g.standard_normal((n, d))
    y = g.integers(0, 2, n)
    Ht, Y = np.hstack([H, np.ones((n, 1))]), np.eye(C)[y]
    pen = np.r_[np.ones(d), 0.0][:, None]

    def F(th):
        Z = Ht @ th
        return float(np.mean(np.logaddexp.reduce(Z, axis=1) - (Z * Y).sum(1)) + 0.5 * alpha * ((th * pen) ** 2).sum())

    def grad(th):
        Z = Ht @ th
        P = np.exp(Z - Z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        return Ht.T @ (P - Y) / n + alpha * pen * th

    th0 = np.zeros((d + 1, C))
    th0[d, 2:] = -30.0
    th0[:d, 0] = sc
    M = Ht.T @ Ht / n
    kappa = 1.0 / C
    Mreg = M + (alpha / kappa) * np.diag(pen[:, 0]) + 1e-8 * (np.trace(M) / (d + 1)) * np.eye(d + 1)
    g0 = grad(th0)
    dv = -(1.0 / kappa) * np.linalg.solve(Mreg, g0)
    f0, s0, t, trials = F(th0), float((g0 * dv).sum()), 1.0, []
    for _ in range(20):
        ft = F(th0 + t * dv)
        trials.append(t)
        if np.isfinite(ft) and ft <= f0 + 1e-4 * t * s0 + 10 * np.finfo(float).eps * abs(f0):
            break
        den = 2.0 * (ft - f0 - s0 * t)
        t = float(np.clip(-s0 * t * t / den if den > 0 else 0.1 * t, 0.1 * t, 0.5 * t))
    assert len(trials) == 1 + backtracks  # interpolated steps strictly inside their clip range:
    assert all(0.1 * a < b < 0.5 * a for a, b in zip(trials, trials[1:]))
    p = fit_sgd(H, y, C, alpha=alpha, warm_start=LinearProbe(th0[:d], th0[d], "given"), max_iter=1, warn=False)
    th = th0 + t * dv
    np.testing.assert_allclose(p.coef, th[:d], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.intercept, th[d], rtol=1e-10, atol=1e-12)
    assert float(p.objective) == pytest.approx(F(th), rel=1e-12)


def test_a_batch_where_only_some_problems_backtrack_equals_each_problem_alone():
    """Label sets sharing a code: two take step 1, two must backtrack (the problems still searching are laid out
    on their own); two converge early, two run to max_iter. Every problem's result is its fit alone."""
    from sims.engine.probes import LinearProbe

    g = np.random.default_rng(9)
    n, d, C = 60, 3, 10
    H = g.standard_normal((n, d))
    yA = g.integers(0, 2, n)
    yB = np.argmax(H @ g.standard_normal((d, C)) + g.gumbel(size=(n, C)), axis=1)
    th0 = np.zeros((d + 1, C))
    th0[d, 2:] = -30.0
    start = LinearProbe(th0[:d], th0[d], "given")
    Y = np.stack([yA, yB, yA, yB])
    for k in (1, 8):
        bat = fit_sgd(H, Y, C, alpha=0.01, warm_start=start, max_iter=k, warn=False)
        for j in range(4):
            one = fit_sgd(H, Y[j], C, alpha=0.01, warm_start=start, max_iter=k, warn=False)
            np.testing.assert_array_equal(bat.coef[j], one.coef)
            np.testing.assert_array_equal(bat.intercept[j], one.intercept)
            assert int(bat.n_iter[j]) == int(one.n_iter) and float(bat.objective[j]) == float(one.objective)
    assert list(bat.n_iter) == [3, 8, 3, 8]


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_objective_at_zero_is_the_closed_form_for_both_solvers(solver):
    H, y = _sgd_data()
    p = fit_sgd(H, y, 3, solver=solver, warm_start="zero", max_iter=0, warn=False)
    assert float(p.objective) == math.log(3)


@pytest.mark.parametrize("loss", ["softmax", "logistic", "hinge"])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_minibatch_epoch_by_hand_every_loss_and_weights(loss, weighted):
    """One minibatch epoch from zero by hand for every loss, with or without sample weights: each step is
    lr times the unbiased minibatch gradient (n/m) sum_{i in b} r_i h~_i (dloss/dz_i)^T + alpha W, r_i = w_i /
    sum w; dloss/dz = softmax(z) - y, sigmoid(z) - y (one-vs-rest), -2 t max(0, 1 - t z) (squared hinge)."""
    g = np.random.default_rng(8)
    n, d, C, m, lr, alpha, seed = 7, 2, 3, 3, 0.3, 0.1, 5
    H = g.standard_normal((n, d))
    y = np.array([0, 1, 2, 0, 1, 2, 1])
    w = np.linspace(0.5, 2.0, n) if weighted else np.ones(n)
    p = fit_sgd(H, y, C, loss=loss, batch_size=m, max_iter=1, lr=lr, alpha=alpha, seed=seed, tol=0.0, warn=False,
                warm_start="zero", sample_weight=w if weighted else None)
    Ht, Y = np.hstack([H, np.ones((n, 1))]), np.eye(C)[y]
    r = w / w.sum()
    theta = np.zeros((d + 1, C))
    perm = B.rng(seed, "sgd", 0).permutation(n)
    for lo in range(0, n, m):
        idx = perm[lo:lo + m]
        Z = Ht[idx] @ theta
        if loss == "softmax":
            P = np.exp(Z - Z.max(axis=1, keepdims=True))
            D = P / P.sum(axis=1, keepdims=True) - Y[idx]
        elif loss == "logistic":
            D = 1.0 / (1.0 + np.exp(-Z)) - Y[idx]
        else:
            T = 2.0 * Y[idx] - 1.0
            D = -2.0 * T * np.maximum(0.0, 1.0 - T * Z)
        grad = Ht[idx].T @ (D * (r[idx] * n / len(idx))[:, None])
        grad[:d] += alpha * theta[:d]
        theta = theta - lr * grad
    np.testing.assert_allclose(p.coef, theta[:d], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.intercept, theta[d], rtol=1e-12, atol=1e-14)


def test_padded_layout_after_some_problems_leave_equals_each_problem_alone():
    """Two codes with 12 label sets each: when problems converge at different iterations, the remaining ones are
    re-laid out in padded groups (a slot order other than the identity); every result is still the fit alone."""
    g = np.random.default_rng(3)
    n, d, C = 30, 2, 3
    H = g.standard_normal((2, n, d))
    Y = g.integers(0, C, (2, 12, n))
    bat = fit_sgd(H, Y, C, tol=1e-6, warm_start="zero")
    assert len(set(np.asarray(bat.n_iter).ravel().tolist())) > 1
    for a in range(2):
        for j in range(12):
            one = fit_sgd(H[a], Y[a, j], C, tol=1e-6, warm_start="zero")
            np.testing.assert_array_equal(bat.coef[a, j], one.coef)
            assert int(bat.n_iter[a, j]) == int(one.n_iter)


def test_layout_width_minimises_the_modelled_cost():
    """_layout: L' minimises slots * (1 + 0.1 / L') (padding against narrow matmuls): 10 + 9 items of two codes
    go to two groups of 10 slots (one padded: 20 x 1.01 < 19 x 1.1), 3 + 1 items to single slots, the identity
    layout (order and pos None, as _Layout documents)."""
    from sims.engine.lbfgs import _layout, _Problems

    def problems(counts):
        group = np.repeat(np.arange(len(counts)), counts)
        P, G, n, d1, C = len(group), len(counts), 4, 2, 3
        z = np.zeros
        return _Problems(Hg=z((G, n, d1)), rw=None, hmax=z(G), Minv=z((G, d1, d1)), A=z((P, d1, C)), alpha=z(P),
                         ys=z((P, n), dtype=np.int64), group=group, loss="softmax", pen=np.ones((d1, 1)), n_classes=C)

    xp = B.get_namespace(np.zeros(1))
    lay = _layout(xp, problems([10, 9]), np.arange(19))
    assert (lay.G, lay.L) == (2, 10) and lay.order is not None
    np.testing.assert_array_equal(np.asarray(lay.order), list(range(10)) + list(range(10, 19)) + [10])
    lay = _layout(xp, problems([3, 1]), np.arange(4))
    assert (lay.G, lay.L) == (4, 1) and lay.order is None and lay.pos is None  # the identity: no gathers
