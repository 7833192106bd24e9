"""Tests of sims.robustness.scenarios on planted codes: known answers (eta = 0 is clean, k = all is the full set,
lam = 0 is clean), realized noise rates, invariances of the least-squares probe, OOD laws, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sims.robustness import scenarios as sc
from sims.engine.codes import make_code
from sims.engine.generators import FeatureSpec
from sims.engine.probes import fit_linear

N, M, S = 12, 6, 0.8


@pytest.fixture(scope="module")
def data():
    return sc.make_task(FeatureSpec(N, sparsity=S), 3000, 2000, 7)


@pytest.fixture(scope="module")
def codes():
    return np.stack([np.asarray(make_code("mono", N, M)), np.asarray(make_code("random", N, M, 3))])


def clean_accuracy(W, data, n=None):
    n = data.n_train if n is None else n
    pr = fit_linear(data.x_train[:n] @ W.T, data.y_train[:n], N)
    return float(np.mean(np.asarray(pr.predict(data.x_test @ W.T)) == data.y_test))


def test_task_data_nested_and_labelled(data):
    assert data.x_train.shape == (3000, N) and data.x_test.shape == (2000, N) and data.n_classes == N
    small = sc.make_task(FeatureSpec(N, sparsity=S), 500, 2000, 7)
    np.testing.assert_array_equal(small.x_train, data.x_train[:500])  # nested training sets
    np.testing.assert_array_equal(small.y_train, data.y_train[:500])
    rows = data.x_train.max(axis=1) > 0
    np.testing.assert_array_equal(data.y_train[rows], data.x_train[rows].argmax(axis=1))


def test_eta_zero_equals_clean_and_accuracy_falls_to_chance(data, codes):
    acc = sc.label_noise(codes, data, [0.0, 0.5, 11 / 12], n_train=(500, 3000))  # (K, 2, 3)
    for k in range(2):
        assert acc[k, 0, 0] == pytest.approx(clean_accuracy(codes[k], data, 500), abs=1e-12)
        assert acc[k, 1, 0] == pytest.approx(clean_accuracy(codes[k], data, 3000), abs=1e-12)
    # eta = (C-1)/C: labels independent of y; accuracy within 4 SE of the majority-class rate at most
    worst = np.bincount(data.y_test, minlength=N).max() / data.y_test.size
    assert np.all(acc[:, :, 2] <= worst + 4 * math.sqrt(worst / data.y_test.size))


def test_single_code_equals_batch(data, codes):
    a = sc.label_noise(codes, data, [0.0, 0.4], n_train=(800,))
    b = sc.label_noise(codes[1], data, [0.0, 0.4], n_train=(800,))
    np.testing.assert_array_equal(a[1], b)


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9])
def test_symmetric_noise_rate_is_realized(data, rate):
    y = sc.noisy_labels(data, [rate])[0]
    changed = np.mean(y != data.y_train)
    assert abs(changed - rate) <= 4 * math.sqrt(max(rate * (1 - rate), 1e-12) / y.size)
    off = (y - data.y_train)[y != data.y_train] % N  # targets uniform over the other classes
    if rate > 0:
        counts = np.bincount(off, minlength=N)[1:]
        assert counts.min() > 0


def test_pair_noise_moves_to_the_next_class_and_flips_are_nested(data):
    Y = sc.noisy_labels(data, [0.2, 0.6], kind="pair")
    moved = Y[1] != data.y_train
    np.testing.assert_array_equal(Y[1][moved], (data.y_train[moved] + 1) % N)
    assert np.all(moved[Y[0] != data.y_train])  # flipped at 0.2 => flipped at 0.6


def test_probe_is_invariant_to_invertible_maps_of_the_code(data, codes):
    """A least-squares probe on h sees only the row space of W: scaling / rotating h changes nothing."""
    Q, R = np.linalg.qr(np.random.default_rng(0).standard_normal((M, M)))
    W = codes[1]
    for f in (sc.label_noise, sc.input_noise):
        lv = [0.0, 0.5] if f is sc.label_noise else [0.0, 0.3]
        a = f(W, data, lv, n_train=(1000,))
        for W2 in (3.0 * W, Q @ W):
            np.testing.assert_allclose(f(W2, data, lv, n_train=(1000,)), a, atol=1e-3)  # ties aside


@pytest.mark.parametrize("at", sc.NOISE_AT)
@pytest.mark.parametrize("kind", sc.INPUT_NOISE_KINDS)
def test_input_noise_zero_is_clean_and_noise_hurts(data, codes, at, kind):
    acc = sc.input_noise(codes, data, [0.0, 0.5, 3.0], kind=kind, at=at, n_train=(1000,))
    for k in range(2):
        assert acc[k, 0, 0] == pytest.approx(clean_accuracy(codes[k], data, 1000), abs=1e-12)
    if at != "train":
        assert np.all(acc[:, 0, 2] < acc[:, 0, 0] - 0.1)


def test_input_noise_output_readout_matches_explicit_encoding(data, codes):
    """The output readout re-encodes x + lam z; with b = -inf-like offsets removed, ReLU(x WᵀW) of the
    mono code is the kept features themselves, so it matches the hidden readout of mono up to ties."""
    W = codes[0]
    h = sc.input_noise(W, data, [0.0, 0.2], n_train=(1000,))
    o = sc.input_noise(W, data, [0.0, 0.2], n_train=(1000,), readout="output")  # ReLU(x_kept + noise)
    assert abs(o[0, 0] - h[0, 0]) < 1e-12  # clean: ReLU(x) = x for x >= 0
    assert o[0, 1] != h[0, 1]  # the ReLU clips negative noise: a different feature map


def test_few_shot_all_equals_full_and_more_shots_help(data, codes):
    acc = sc.few_shot(codes, data, [1, 5, 20, 0])
    for k in range(2):
        assert acc[k, -1] == pytest.approx(clean_accuracy(codes[k], data), abs=1e-12)
    assert np.all(acc[:, 0] < acc[:, -1])


def test_few_shot_pool_continues_the_training_stream(data, codes):
    """More shots than the smallest class holds: the pool goes on with the next rows of the same training
    stream (equal to the first rows of a larger draw), until every class has k; the probe on k = 0 is still
    the training set's."""
    smallest = int(np.bincount(data.y_train, minlength=N).min())
    k = smallest + 3
    assert sc.few_shot_pool(data, smallest) is None and sc.few_shot_pool(data, 0) is None
    x, y = sc.few_shot_pool(data, k)
    assert len(y) > data.n_train and int(np.bincount(y, minlength=N).min()) >= k
    big = sc.make_task(data.spec, len(y), 10, 7)
    assert np.array_equal(x, big.x_train) and np.array_equal(y, big.y_train)
    acc = sc.few_shot(codes[0], data, [k, 0])
    assert acc[1] == pytest.approx(clean_accuracy(codes[0], data), abs=1e-12)
    assert 0.0 < acc[0] <= 1.0


def test_few_shot_pool_names_few_shot_when_a_class_almost_never_wins():
    spec = FeatureSpec(3, sparsity=(0.0, 0.0, 1.0 - 1e-9))  # feature 2 fires once in 1e9 rows, never ties
    data = sc.make_task(spec, 200, 10, 0)
    with pytest.raises(ValueError, match=r"^few_shot contains 2, but class 2 has"):
        sc.few_shot_pool(data, 2)


def test_shift_specs_known_answers():
    spec = FeatureSpec(N, sparsity=0.9)
    assert sc.shifted_spec(spec, sc.parse_shift("density=2")).sparsity == pytest.approx(0.8)
    assert sc.shifted_spec(spec, sc.parse_shift("density=0.5")).sparsity == pytest.approx(0.95)
    assert sc.shifted_spec(spec, sc.parse_shift("amplitude=0.5")).amplitude == (0.0, 0.5)
    f = np.asarray(sc.shifted_spec(spec, sc.parse_shift("frequency=4")).frequency)
    assert f[-1] / f[0] == pytest.approx(4.0) and np.all(np.diff(np.log(f)) > 0)


@pytest.mark.parametrize("shift", ["density=2", "amplitude=0.5", "frequency=4"])
def test_ood_test_set_follows_the_shifted_law(data, shift):
    x, y = sc.ood_test_set(data, shift, n_test=20000)
    spec = sc.shifted_spec(data.spec, sc.parse_shift(shift))
    p = spec.firing_probability()
    rate = (x > 0).mean(axis=0)
    assert np.all(np.abs(rate - p) <= 4 * np.sqrt(p * (1 - p) / x.shape[0]))
    assert x.max() <= spec.amplitude[1]
    rows = x.max(axis=1) > 0
    np.testing.assert_array_equal(y[rows], x[rows].argmax(axis=1))


def test_ood_null_shift_matches_in_distribution(data, codes):
    acc = sc.ood(codes, data, ["density=1", "amplitude=1"], n_test=4000)
    for k in range(2):
        clean = clean_accuracy(codes[k], data)
        assert np.all(np.abs(acc[k] - clean) <= 4 * math.sqrt(clean * (1 - clean) * (1 / 4000 + 1 / 2000)))


def test_ood_frequency_shift_hurts_mono_on_its_dropped_features(data, codes):
    acc = sc.ood(codes[0], data, ["frequency=0.1", "frequency=10"])  # mass to kept / dropped features
    assert acc[0] > acc[1] + 0.1


def test_softmax_probe_runs_and_is_comparable(data, codes):
    a = sc.label_noise(codes[1], data, [0.0], n_train=(1000,), probe="softmax")
    b = sc.label_noise(codes[1], data, [0.0], n_train=(1000,))
    assert abs(a[0, 0] - b[0, 0]) < 0.1


@pytest.mark.parametrize("call,match", [
    (lambda d, W: sc.label_noise(W, d, [1.5]), r"^rates contains 1.5, must be in \[0, 1\]"),
    (lambda d, W: sc.label_noise(W, d, [0.1], kind="asym"), r"^kind == 'asym', must be one of"),
    (lambda d, W: sc.label_noise(W, d, [0.1], n_train=(5000,)), r"^n_train == 5000, must be in \[2, 3000\]"),
    (lambda d, W: sc.label_noise(W, d, [0.1], readout="relu"), r"^readout == 'relu'"),
    (lambda d, W: sc.label_noise(W, d, [0.1], probe="svm"), r"^probe == 'svm'"),
    (lambda d, W: sc.label_noise(W, d, [0.1], alpha=-1), r"^alpha == -1"),
    (lambda d, W: sc.label_noise(W[:, :5], d, [0.1]), r"^W.shape == \(6, 5\), last axis must equal n_features"),
    (lambda d, W: sc.input_noise(W, d, [-0.1]), r"^scales contains -0.1"),
    (lambda d, W: sc.input_noise(W, d, [0.1], at="never"), r"^at == 'never'"),
    (lambda d, W: sc.ood(W, d, ["density"]), r"^shift == 'density', must look like"),
    (lambda d, W: sc.ood(W, d, ["spread=2"]), r"^shift kind == 'spread'"),
    (lambda d, W: sc.ood(W, d, ["density=x"]), r"is not a number"),
    (lambda d, W: sc.ood(W, d, ["density=6"]), r"^density == 6 makes a firing probability exceed 1"),
    (lambda d, W: sc.ood(W, d, ["amplitude=0"]), r"^amplitude == 0, must be in \(0, 1000000\]"),
    (lambda d, W: sc.few_shot(W, d, [-1]), r"^k == -1"),
])
def test_bad_input_raises_naming_the_argument(data, codes, call, match):
    with pytest.raises(ValueError, match=match):
        call(data, codes[0])
