"""Tests of sims.robustness.comparators: monosemanticity metrics on known codes, the trained comparators' known
regimes (small models), seeding, validation."""
from __future__ import annotations

import numpy as np
import pytest

from sims.robustness import comparators as K
from sims.engine.codes import make_code


def rotation(m, seed):
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((m, m)))
    return Q * np.sign(np.diag(R))


# ---------------------------------------------------------------- metrics: known answers
def test_metrics_of_planted_mono():
    W = np.asarray(make_code("mono", 12, 4))
    met = K.monosemanticity(W)
    assert set(met) == set(K.METRIC_KEYS)
    assert met == {"n_represented": 4, "frac_represented": 4 / 12, "superposition_ratio": 1.0,
                   "features_per_dimension": 1.0, "dimensionality": 1.0, "coherence": 0.0, "neuron_pr": 1.0}


def test_metrics_of_antipodal_pairs():
    W = np.asarray(make_code("antipodal", 8, 4))  # neuron k reads x_2k - x_2k+1
    met = K.monosemanticity(W)
    assert met["n_represented"] == 8 and met["frac_represented"] == 1.0 and met["superposition_ratio"] == 2.0
    assert met["features_per_dimension"] == pytest.approx(2.0)
    assert met["dimensionality"] == pytest.approx(0.5)  # each pair shares one dimension
    assert met["coherence"] == pytest.approx(1.0)
    assert met["neuron_pr"] == pytest.approx(2.0)  # two features per neuron


def test_rotation_changes_neurons_not_features():
    """Feature metrics are rotation invariant; the neuron participation ratio is not."""
    W = np.asarray(make_code("mono", 10, 5))
    Wr = rotation(5, 1) @ W
    a, b = K.monosemanticity(W), K.monosemanticity(Wr)
    for key in ("n_represented", "superposition_ratio", "features_per_dimension", "dimensionality"):
        assert a[key] == pytest.approx(b[key])
    assert b["coherence"] == pytest.approx(0.0, abs=1e-12)
    assert b["neuron_pr"] > 1.5


def test_neuron_participation_known_answers_and_batch():
    W = np.array([[1.0, 0, 0, 0], [1, 1, 0, 0], [1, -1, 1, 1], [0, 0, 0, 0]])
    np.testing.assert_allclose(K.neuron_participation(W), [1, 2, 4, 1])
    Ws = np.stack([np.asarray(make_code("mono", 6, 3)), np.asarray(make_code("antipodal", 6, 3))])
    met = K.monosemanticity(Ws)
    np.testing.assert_array_equal(met["n_represented"], [3, 6])
    np.testing.assert_allclose(met["dimensionality"], [1.0, 0.5])


def test_dropped_and_small_columns_do_not_count():
    W = np.zeros((3, 5))
    W[0, 0], W[1, 1], W[2, 2] = 1.0, 1.0, 0.3  # feature 2 below the 0.5 threshold
    met = K.monosemanticity(W)
    assert met["n_represented"] == 2 and met["frac_represented"] == 0.4
    assert K.monosemanticity(W, threshold=0.2)["n_represented"] == 3


# ---------------------------------------------------------------- trained comparators (small)
SET = K.TrainSettings(steps=600, batch=256, lr=2e-2)


@pytest.fixture(scope="module")
def small_codes():
    return K.build_codes(K.COMPARATORS, 10, 4, sparsity=0.95, reps=2, seed=5, settings=SET)


def test_dense_keeps_the_most_important_features_orthogonally(small_codes):
    for c in small_codes["dense"]:
        norms = np.linalg.norm(c.W, axis=0)
        assert np.all(norms[:4] > 0.9) and np.all(norms[4:] < 0.2), norms
        assert c.metrics["superposition_ratio"] == 1.0
        assert c.metrics["dimensionality"] > 0.95 and c.metrics["coherence"] < 0.1
        assert c.train_sparsity == 0.0 and np.isfinite(c.final_loss)


def test_superposed_represents_more_features_than_dimensions(small_codes):
    for c in small_codes["superposed"]:
        assert c.metrics["n_represented"] > 4
        assert c.metrics["dimensionality"] < 0.9
        assert c.train_sparsity == 0.95


def test_nonneg_is_nonnegative_and_neuron_aligned(small_codes):
    for c in small_codes["nonneg"]:
        assert np.all(c.W >= 0)
        assert c.metrics["superposition_ratio"] <= 1.5
        assert c.metrics["neuron_pr"] < 1.5


def test_planted_references(small_codes):
    for c in small_codes["mono"]:
        assert c.metrics["n_represented"] == 4 and np.all(c.b == 0) and np.isnan(c.final_loss)
    r0, r1 = small_codes["random"]
    assert r0.metrics["n_represented"] == 10 and not np.array_equal(r0.W, r1.W)


def test_replicates_do_not_depend_on_the_other_replicates_or_comparators(small_codes):
    one = K.build_codes(("superposed", "nonneg", "random"), 10, 4, sparsity=0.95, reps=1, seed=5, settings=SET)
    for nm in ("superposed", "nonneg", "random"):
        np.testing.assert_allclose(one[nm][0].W, small_codes[nm][0].W, rtol=1e-5, atol=1e-6)
    again = K.build_codes(("random",), 10, 4, sparsity=0.95, reps=1, seed=6, settings=SET)
    assert not np.array_equal(again["random"][0].W, small_codes["random"][0].W)


def test_uniform_importance_dense_model_is_not_feature_aligned():
    """Dense data with equal importance: no reason to keep particular features; the model learns a
    projection spread over more than m features (the metric reports it)."""
    s = K.TrainSettings(steps=600, batch=256, lr=2e-2, importance_decay=1.0)
    c = K.build_codes(("dense",), 10, 4, sparsity=0.0, reps=1, seed=1, settings=s)["dense"][0]
    assert c.metrics["n_represented"] > 4 or c.metrics["dimensionality"] < 0.9


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kw,match", [
    (dict(names=("poly",)), r"^comparator == 'poly', must be one of"),
    (dict(names=("mono", "mono")), r"^names == .* must be distinct"),
    (dict(names=()), r"^names == \(\)"),
    (dict(m=11), r"^m == 11, must be in \[1, 10\]"),
    (dict(sparsity=1.0), r"^sparsity == 1, must be in \[0, 1\)"),
    (dict(reps=0), r"^reps == 0"),
    (dict(seed=-1), r"^seed == -1"),
    (dict(settings="fast"), r"^settings == 'fast', must be a TrainSettings"),
])
def test_bad_arguments_raise_naming_them(kw, match):
    args = dict(names=("mono",), n=10, m=4, sparsity=0.9, reps=1, seed=0)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        K.build_codes(args.pop("names"), args.pop("n"), args.pop("m"), **args)


@pytest.mark.parametrize("kw,match", [
    (dict(steps=0), r"^steps == 0"), (dict(lr=0.0), r"^lr == 0"), (dict(importance_decay=1.5), r"^importance_decay"),
    (dict(dtype="int8"), r"^dtype == 'int8'"), (dict(batch=2.5), r"^batch == 2.5, must be an integer"),
])
def test_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        K.TrainSettings(**kw)


def test_bad_metric_input():
    with pytest.raises(ValueError, match=r"^W.ndim == 1"):
        K.monosemanticity(np.ones(3))
    with pytest.raises(ValueError, match=r"^threshold == -1"):
        K.monosemanticity(np.eye(3), threshold=-1)
