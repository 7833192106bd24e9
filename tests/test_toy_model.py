"""Tests of sims.engine.toy_model: gradients, solvers, backends, batching, known toy-model facts, validation."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from hypothesis import given, strategies as st

from sims.engine import backend as B
from sims.engine import toy_model as T
from sims.engine.generators import FeatureSpec, sample_features


def _cfg(**kw) -> T.ToyModelConfig:
    base = dict(n_features=8, n_hidden=3, n_instances=4, steps=40, lr=1e-2, log_every=5,
                importance=tuple(0.9 ** np.arange(8)), dtype="float64")
    base.update(kw)
    return T.ToyModelConfig(**base)


def _src(cfg: T.ToyModelConfig, sparsity=None, batch=64, seed=7, xp=None):
    S = np.linspace(0.0, 0.9, cfg.n_instances) if sparsity is None else sparsity
    return T.SyntheticBatches(cfg.n_features, S, batch, seed, xp=xp, dtype=cfg.dtype)


# -- gradients -------------------------------------------------------------------------------------
def test_gradients_match_finite_differences():
    """(4)-(5) against central differences of (1), float64, with active and inactive ReLUs."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2, 3, 6))
    b = rng.standard_normal((2, 6)) * 0.5
    x = np.where(rng.random((2, 32, 6)) < 0.5, rng.random((2, 32, 6)), 0.0)
    imp = rng.random(6) + 0.1
    loss, dW, db = T.toy_gradients(W, b, x, imp)
    np.testing.assert_allclose(loss, T.toy_loss(W, b, x, imp), rtol=1e-12)
    pre = np.einsum("ibn,inm->ibm", x, np.swapaxes(W, -1, -2) @ W) + b[:, None, :]
    assert 0.1 < np.mean(pre > 0) < 0.9  # both branches of the ReLU are exercised
    h = 1e-6
    for P, grad in ((W, dW), (b, db)):
        num = np.empty_like(P)
        for idx in np.ndindex(P.shape):
            up, dn = P.copy(), P.copy()
            up[idx] += h
            dn[idx] -= h
            args_up = (up, b) if P is W else (W, up)
            args_dn = (dn, b) if P is W else (W, dn)
            num[idx] = (T.toy_loss(*args_up, x, imp) - T.toy_loss(*args_dn, x, imp))[idx[0]] / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_loss_matches_the_definition():
    """(1) against a direct loop: x̂ = ReLU(WᵀW x + b), mean over rows of Σ_i I_i (x_i − x̂_i)²."""
    rng = np.random.default_rng(2)
    W, b, x, imp = rng.standard_normal((3, 7)), rng.standard_normal(7) * 0.3, rng.random((10, 7)), rng.random(7)
    want = np.mean([np.sum(imp * (xi - np.maximum(W.T @ (W @ xi) + b, 0.0)) ** 2) for xi in x])
    np.testing.assert_allclose(T.toy_loss(W, b, x, imp), want, rtol=1e-13)
    assert T.toy_loss(W, b, x) > 0 and T.toy_loss(np.zeros((3, 7)), np.zeros(7), np.zeros((4, 7))) == 0


def test_gradient_of_a_single_unbatched_model():
    rng = np.random.default_rng(1)
    W, b, x = rng.standard_normal((2, 5)), rng.standard_normal(5) * 0.1, rng.random((16, 5))
    loss, dW, db = T.toy_gradients(W, b, x)
    assert dW.shape == (2, 5) and db.shape == (5,) and np.ndim(loss) == 0
    loss2, dW2, _ = T.toy_gradients(W[None], b[None], x[None])
    np.testing.assert_allclose(dW2[0], dW, rtol=1e-13)


# -- solvers, backends, batching -------------------------------------------------------------------
@pytest.mark.parametrize("threads,chunk", [(1, None), (2, None), (2, 1), (3, 3)])
def test_numpy_solver_is_bitwise_generic(threads, chunk):
    cfg = _cfg()
    ref = T.train_toy_model(T.ToyModelConfig.from_dict({**cfg.to_dict(), "solver": "generic"}), _src(cfg))
    fast = T.train_toy_model(T.ToyModelConfig.from_dict({**cfg.to_dict(), "solver": "numpy"}), _src(cfg),
                             threads=threads, chunk=chunk)
    assert (ref.solver, fast.solver) == ("generic", "numpy")
    np.testing.assert_array_equal(fast.W, ref.W)
    np.testing.assert_array_equal(fast.b, ref.b)
    np.testing.assert_array_equal(fast.loss_history, ref.loss_history)
    assert threading.active_count() == 1 or not any(t.name.startswith("toy-model") for t in threading.enumerate())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shared_batch_equals_repeated_batch(dtype):
    """A (B, n) batch is broadcast to every instance."""
    cfg = _cfg(dtype=dtype, steps=15)
    shared = [B.to_numpy(x) for x in T.SyntheticBatches(8, None, 32, 3, steps=15, dtype=dtype)]
    assert shared[0].shape == (32, 8)
    a = T.train_toy_model(cfg, shared)
    c = T.train_toy_model(cfg, [np.broadcast_to(x, (4, 32, 8)).copy() for x in shared])
    np.testing.assert_array_equal(a.W, c.W)
    assert a.W.dtype == np.dtype(dtype)


def test_backends_agree(xp):
    """Generic solver on numpy / array_api_strict / CuPy vs the numpy solver: tight tolerance."""
    cfg = _cfg(steps=20, solver="auto")
    ref = T.train_toy_model(cfg, _src(cfg))
    res = T.train_toy_model(cfg, _src(cfg, xp=xp), xp=xp)
    assert res.backend == B.backend_name(xp)
    assert res.solver == ("numpy" if res.backend == "numpy" else "generic")
    np.testing.assert_allclose(B.to_numpy(res.W), ref.W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(B.to_numpy(res.b), ref.b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.loss_history, ref.loss_history, rtol=1e-10)


def test_batched_equals_each_instance_alone():
    cfg = _cfg(n_instances=3, importance=[list(0.9 ** np.arange(8)), [1.0] * 8, list(0.7 ** np.arange(8))],
               dtype="float32", steps=50)
    S = np.array([0.0, 0.5, 0.9])
    full = T.train_toy_model(cfg, _src(cfg, S))
    imp = cfg.importance_array()
    for j in range(3):
        one = T.ToyModelConfig.from_dict({**cfg.to_dict(), "n_instances": 1, "importance": imp[j].tolist(),
                                          "instance_keys": [j]})
        alone = T.train_toy_model(one, _src(one, S[j:j + 1]))
        np.testing.assert_allclose(alone.W[0], full.W[j], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(alone.final_loss[0], full.final_loss[j], rtol=1e-5)
    assert not np.allclose(full.W[0], full.W[1])  # the instances are different models


def test_deterministic_under_seed_and_seed_matters():
    cfg = _cfg(steps=10)
    a, b = T.train_toy_model(cfg, _src(cfg)), T.train_toy_model(cfg, _src(cfg))
    np.testing.assert_array_equal(a.W, b.W)
    c = T.train_toy_model(T.ToyModelConfig.from_dict({**cfg.to_dict(), "seed": 1}), _src(cfg))
    assert not np.allclose(a.W, c.W)


def test_init_is_xavier_normal_and_per_instance():
    cfg = T.ToyModelConfig(40, 20, n_instances=3, instance_keys=(5, 6, 7))
    W, b = T.init_params(cfg)
    assert W.shape == (3, 20, 40) and W.dtype == np.float32 and not np.any(b)
    # std sqrt(2/(m+n)); 2400 draws: relative standard error of the std ~ 1.5%
    assert abs(np.std(W) / np.sqrt(2 / 60) - 1) < 0.06
    W5, _ = T.init_params(T.ToyModelConfig(40, 20, n_instances=1, instance_keys=(5,)))
    np.testing.assert_array_equal(W5[0], W[0])


def test_history_evaluator_and_result_fields():
    cfg = _cfg(steps=23, log_every=10)
    seen = []

    def evaluator(step, W, b):
        seen.append(step)
        return {"norm": float(np.linalg.norm(W))}

    res = T.train_toy_model(cfg, _src(cfg), evaluator=evaluator, eval_every=7)
    np.testing.assert_array_equal(res.loss_steps, [0, 10, 20, 22])
    assert res.loss_history.shape == (4, 4)
    np.testing.assert_array_equal(res.final_loss, res.loss_history[-1])
    assert seen == [7, 14, 21, 23] and [s for s, _ in res.evals] == seen
    # final_loss is the loss (1) of the last batch under the parameters before the last update
    assert res.W.shape == (4, 3, 8) and res.b.shape == (4, 8)
    last = _src(cfg).batch(22)
    assert np.all(res.final_loss > 0) and np.all(np.isfinite(res.final_loss))
    assert T.toy_loss(res.W, res.b, last, cfg.importance).shape == (4,)


def test_batches_source_matches_generators_and_chunking():
    S = np.array([0.0, 0.5, 0.99])
    src = T.SyntheticBatches(FeatureSpec(5), S, 1000, 11, steps=9, dtype="float64")  # 1000 ∤ 4096
    got = [np.asarray(x) for x in src]
    assert len(got) == 9 and got[0].shape == (3, 1000, 5)
    ref = sample_features(FeatureSpec(5), 9000, 11, sparsity=S)
    np.testing.assert_array_equal(np.concatenate(got, axis=1), ref)
    np.testing.assert_array_equal(src.batch(4), got[4])
    # common random numbers: an entry active at S = 0.99 is active (same value) at S = 0.5 and 0
    act = got[0][2] > 0
    np.testing.assert_array_equal(got[0][1][act], got[0][2][act])
    # empirical firing rate within 5 standard errors of 1 - S
    n = 9000 * 5
    rate = (ref > 0).reshape(3, -1).mean(axis=1)
    assert np.all(np.abs(rate - (1 - S)) <= 5 * np.sqrt(S * (1 - S) / n) + 1e-12)


def test_config_roundtrip_json():
    cfg = _cfg(instance_keys=(3, 1, 4, 1), betas=(0.8, 0.99))
    back = T.ToyModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    with pytest.raises(ValueError, match=r"keys \['bogus'\] unknown"):
        T.ToyModelConfig.from_dict({**cfg.to_dict(), "bogus": 1})


# -- known toy-model facts (Elhage et al. 2022) ----------------------------------------------------
def _cosines(W):
    Wh = W / np.linalg.norm(W, axis=-2, keepdims=True)
    return np.swapaxes(Wh, -1, -2) @ Wh


def test_dense_features_keep_the_m_most_important_orthogonally():
    """S = 0, importance 0.9^i, n = 20, m = 5: the top-5 features on orthonormal axes, the rest dropped."""
    n, m, I = 20, 5, 4
    cfg = T.ToyModelConfig(n, m, n_instances=I, importance=tuple(0.9 ** np.arange(n)), steps=2000, lr=1e-2,
                           log_every=500, seed=0)
    res = T.train_toy_model(cfg, T.SyntheticBatches(n, np.zeros(I), 256, 1))
    W = np.asarray(res.W, dtype=np.float64)
    met = T.feature_metrics(W)
    norms = met["norms"]
    np.testing.assert_array_equal(met["represented"], np.broadcast_to(np.arange(n) < m, (I, n)))
    assert np.all(np.abs(norms[:, :m] - 1) < 0.05), norms[:, :m]
    assert np.all(norms[:, m:] < 0.1), norms[:, m:].max()
    cos = _cosines(W[:, :, :m])
    assert np.all(np.abs(cos - np.eye(m)) < 0.05)
    np.testing.assert_allclose(met["dimensionality"][:, :m], 1.0, atol=0.02)
    np.testing.assert_array_equal(met["superposition_ratio"], 1.0)
    assert np.all(res.loss_history[-1] < 0.5 * res.loss_history[0])


@pytest.mark.parametrize("n,m", [(4, 2), (6, 3)])
def test_sparse_equal_importance_forms_antipodal_pairs(n, m):
    """S = 0.9, equal importance, n = 2m: all n features kept, in m antipodal pairs on orthogonal axes."""
    I = 4
    cfg = T.ToyModelConfig(n, m, n_instances=I, steps=2000, lr=1e-2, log_every=1000, seed=3)
    res = T.train_toy_model(cfg, T.SyntheticBatches(n, np.full(I, 0.9), 256, 4))
    W = np.asarray(res.W, dtype=np.float64)
    met = T.feature_metrics(W)
    assert np.all(met["n_represented"] == n)
    np.testing.assert_allclose(met["norms"], 1.0, atol=0.05)
    cos = _cosines(W)
    partner = np.argmin(cos, axis=-1)                                    # (I, n)
    assert np.all(np.take_along_axis(cos, partner[..., None], -1) < -0.99)
    for i in range(I):
        assert np.array_equal(partner[i][partner[i]], np.arange(n))     # a perfect matching
        others = np.ones((n, n), bool)
        others[np.arange(n), np.arange(n)] = False
        others[np.arange(n), partner[i]] = False
        assert np.all(np.abs(cos[i][others]) < 0.05)                     # pairs on orthogonal axes
    np.testing.assert_allclose(met["dimensionality"], 0.5, atol=0.03)   # each pair shares one dimension


def test_high_sparsity_superposes_more_than_m_features():
    n, m, I = 20, 5, 4
    S = np.array([0.0, 0.0, 0.95, 0.95])
    cfg = T.ToyModelConfig(n, m, n_instances=I, importance=tuple(0.9 ** np.arange(n)), steps=2000, lr=1e-2,
                           log_every=1000)
    met = T.train_toy_model(cfg, T.SyntheticBatches(n, S, 256, 2)).metrics()
    k = met["n_represented"]
    assert np.all(k[:2] == m) and np.all(k[2:] >= 2 * m), k
    assert np.all(met["superposition_ratio"][2:] >= 2)


# -- metrics known answers -------------------------------------------------------------------------
def test_feature_metrics_known_answers(xp):
    mono = np.zeros((3, 5))
    mono[np.arange(3), np.arange(3)] = 1.0
    anti = np.array([[1.0, -1.0, 0.0]])                                  # two features on one axis, one dropped
    met = T.feature_metrics(B.asarray(mono, xp))
    np.testing.assert_array_equal(B.to_numpy(met["n_represented"]), 3)
    np.testing.assert_allclose(B.to_numpy(met["dimensionality"]), [1, 1, 1, 0, 0])
    np.testing.assert_allclose(B.to_numpy(met["superposition_ratio"]), 1.0)
    np.testing.assert_allclose(B.to_numpy(met["features_per_dimension"]), 1.0)
    np.testing.assert_allclose(B.to_numpy(met["max_abs_cos"]), 0.0)
    met = T.feature_metrics(B.asarray(anti, xp))
    np.testing.assert_allclose(B.to_numpy(met["dimensionality"]), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(B.to_numpy(met["superposition_ratio"]), 2.0)
    np.testing.assert_allclose(B.to_numpy(met["features_per_dimension"]), 2.0)
    np.testing.assert_allclose(B.to_numpy(met["max_abs_cos"]), 1.0)
    # batched over a leading axis
    both = np.stack([mono, np.concatenate([np.zeros((3, 5 - 3)), np.eye(3)], axis=1)])
    assert tuple(T.feature_metrics(B.asarray(both, xp))["norms"].shape) == (2, 5)


# -- validation ------------------------------------------------------------------------------------
_BAD_CONFIG = st.one_of(
    st.tuples(st.just("n_features"), st.sampled_from([0, -3, 2.5, "8", None])),
    st.tuples(st.just("n_hidden"), st.sampled_from([0, -1, 1.5])),
    st.tuples(st.just("n_instances"), st.sampled_from([0, -2])),
    st.tuples(st.just("steps"), st.integers(max_value=0)),
    st.tuples(st.just("log_every"), st.integers(max_value=0)),
    st.tuples(st.just("lr"), st.one_of(st.floats(max_value=0.0), st.just(float("nan")))),
    st.tuples(st.just("eps"), st.floats(max_value=0.0)),
    st.tuples(st.just("betas"), st.tuples(st.floats(min_value=1.0, allow_infinity=False), st.just(0.9))),
    st.tuples(st.just("betas"), st.just((0.9,))),
    st.tuples(st.just("seed"), st.integers(max_value=-1)),
    st.tuples(st.just("dtype"), st.sampled_from(["float16", "int32", ""])),
    st.tuples(st.just("solver"), st.text(max_size=5).filter(lambda s: s not in T.SOLVERS)),
    st.tuples(st.just("importance"), st.lists(st.floats(max_value=-1e-3), min_size=8, max_size=8)),
    st.tuples(st.just("importance"), st.lists(st.floats(0, 1), min_size=1, max_size=7)),
    st.tuples(st.just("instance_keys"), st.lists(st.integers(0, 5), min_size=1, max_size=3)),
    st.tuples(st.just("instance_keys"), st.just((0, 1, 2, -1))),
)


@given(_BAD_CONFIG)
def test_bad_config_raises_naming_the_argument(case):
    name, value = case
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        _cfg(**{name: value})


@given(st.sampled_from(["shape", "instances", "features", "runs_out", "evaluator", "threads", "chunk",
                        "eval_every", "nan", "config", "not_array", "init"]))
def test_bad_training_input_raises(kind):
    cfg = _cfg(steps=3)
    good = [np.full((4, 16, 8), 0.5)] * 3
    kw, batches, c = {}, good, cfg
    match = {"shape": "batch at step 0", "instances": "batch at step 0", "features": "batch at step 0",
             "runs_out": "batches ran out", "evaluator": "^evaluator", "threads": "^threads",
             "chunk": "^chunk", "eval_every": "^eval_every", "nan": "batches\\[0\\] contains NaN",
             "config": "^config", "not_array": "batches yielded", "init": r"^init\[0\]"}[kind]
    if kind == "shape":
        batches = [np.zeros((4, 1, 16, 8))] * 3
    elif kind == "instances":
        batches = [np.zeros((3, 16, 8))] * 3
    elif kind == "features":
        batches = [np.zeros((16, 7))] * 3
    elif kind == "runs_out":
        batches = good[:2]
    elif kind == "evaluator":
        kw = {"evaluator": 3}
    elif kind == "threads":
        kw = {"threads": 0}
    elif kind == "chunk":
        kw = {"chunk": -1}
    elif kind == "eval_every":
        kw = {"eval_every": 0}
    elif kind == "nan":
        batches = [np.full((4, 16, 8), np.nan)] * 3
    elif kind == "config":
        c = {"n_features": 8}
    elif kind == "not_array":
        batches = [[0.5] * 8] * 3
    elif kind == "init":
        kw = {"init": (np.zeros((4, 8, 3)), np.zeros((4, 8)))}
    with pytest.raises(ValueError, match=match):
        T.train_toy_model(c, batches, **kw)


@given(st.one_of(
    st.tuples(st.just("sparsity"), st.sampled_from([1.0, -0.1, [0.2, 1.5], np.zeros((2, 3))])),
    st.tuples(st.just("batch_size"), st.integers(max_value=0)),
    st.tuples(st.just("seed"), st.integers(max_value=-1)),
    st.tuples(st.just("steps"), st.integers(max_value=0)),
    st.tuples(st.just("dtype"), st.sampled_from(["float16", "f8"])),
    st.tuples(st.just("spec"), st.sampled_from([0, "x", 2.5])),
))
def test_bad_synthetic_source_raises(case):
    name, value = case
    kw = dict(spec=5, sparsity=[0.1, 0.2], batch_size=8, seed=0, steps=2, dtype="float64")
    kw[name] = value
    with pytest.raises(ValueError, match=rf"^{name}\b|n_features"):
        T.SyntheticBatches(kw.pop("spec"), kw.pop("sparsity"), kw.pop("batch_size"), kw.pop("seed"), **kw)


@given(st.floats(max_value=-1e-9) | st.just(float("nan")))
def test_bad_threshold_and_model_arrays(thr):
    with pytest.raises(ValueError, match="^threshold"):
        T.feature_metrics(np.eye(2), threshold=thr)
    with pytest.raises(ValueError, match=r"^x.shape"):
        T.toy_loss(np.eye(2), np.zeros(2), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"^b.shape"):
        T.toy_gradients(np.eye(2), np.zeros(3), np.zeros((4, 2)))


def test_divergence_is_reported():
    cfg = _cfg(steps=3, log_every=1, dtype="float32")
    with pytest.raises(FloatingPointError, match="non-finite at step"):
        T.train_toy_model(cfg, [np.full((4, 16, 8), 3e38, dtype=np.float32)] * 3)


def test_numpy_solver_refused_on_other_backends():
    cfg = _cfg(solver="numpy")
    with pytest.raises(ValueError, match="^solver == 'numpy'"):
        T.train_toy_model(cfg, _src(cfg), xp="array_api_strict")
