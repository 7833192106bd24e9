"""Tests of sims.engine.generators: rates within 4 standard errors, chunking / backend invariance, validation."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sims.engine import backend as B
from sims.engine import generators as G
from sims.engine.generators import FeatureSpec

N = 4000  # samples per statistical check (one random block)
Z = 4.0  # tolerance in standard errors


def within(est: float, p: float, se: float) -> bool:
    """|est - p| <= 4 SE (exact when SE == 0)."""
    return abs(est - p) <= Z * se + 1e-12


def rate_ok(count: float, n: int, p: float) -> bool:
    """A binomial proportion ``count / n`` is within 4 SE of ``p``."""
    return within(count / n, p, math.sqrt(p * (1 - p) / n))


np_xp = B.resolve_backend("numpy")
strict = B.resolve_backend("array_api_strict")

probs = st.floats(0.0, 0.95)
rates = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.02, 0.98))
seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- FeatureSpec
def test_featurespec_canonicalises_and_roundtrips():
    s = FeatureSpec(3, sparsity=[0.1, 0.2, 0.3], amplitude=[0, 2], importance=[1, 2, 3], frequency=(1, 0, 2))
    assert s.sparsity == (0.1, 0.2, 0.3) and s.amplitude == (0.0, 2.0)
    assert s.importance == (1.0, 2.0, 3.0) and s.frequency == (1.0, 0.0, 2.0)
    assert FeatureSpec.from_dict(s.to_dict()) == s
    assert FeatureSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert hash(s) == hash(FeatureSpec.from_dict(s.to_dict()))  # frozen and hashable
    with pytest.raises(ValueError, match="unknown"):
        FeatureSpec.from_dict({"n_features": 2, "sparsty": 0.1})


@given(
    n=st.integers(1, 6),
    data=st.data(),
)
def test_featurespec_roundtrip_hypothesis(n, data):
    per = data.draw(st.booleans())
    sp = tuple(data.draw(st.lists(probs, min_size=n, max_size=n))) if per else data.draw(probs)
    lo = data.draw(st.floats(-5, 5))
    hi = lo + data.draw(st.floats(1e-3, 5))
    imp = data.draw(st.none() | st.lists(st.floats(1e-3, 10), min_size=n, max_size=n).map(tuple))
    freq = data.draw(st.none() | st.lists(st.floats(0.1, 10), min_size=n, max_size=n).map(tuple))
    s = FeatureSpec(n, sparsity=sp, amplitude=(lo, hi), importance=imp, frequency=freq)
    assert FeatureSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_firing_probability_definition():
    s = FeatureSpec(4, sparsity=0.5, frequency=(1, 1, 2, 0))  # mean(f) = 1
    assert np.allclose(s.firing_probability(), [0.5, 0.5, 1.0, 0.0])
    # scale-free: (2, 2, 4, 0) is the same law; None is the same as all-equal weights
    assert np.array_equal(replace(s, frequency=(2, 2, 4, 0)).firing_probability(), s.firing_probability())
    assert np.array_equal(replace(s, frequency=None).firing_probability(), replace(s, frequency=(3,) * 4).firing_probability())
    # uncapped weights keep the expected number of active features n (1 - S)
    s2 = FeatureSpec(4, sparsity=0.8, frequency=(1, 2, 3, 2))
    assert math.isclose(s2.firing_probability().sum(), 4 * 0.2)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"n_features": 0}, "n_features"),
        ({"n_features": 2.5}, "n_features"),
        ({"n_features": 2, "sparsity": 1.0}, "sparsity"),
        ({"n_features": 2, "sparsity": -0.1}, "sparsity"),
        ({"n_features": 2, "sparsity": (0.1, 0.2, 0.3)}, "sparsity"),
        ({"n_features": 2, "sparsity": float("nan")}, "sparsity"),
        ({"n_features": 2, "amplitude": (1.0, 1.0)}, "amplitude"),
        ({"n_features": 2, "amplitude": (0.0, float("inf"))}, "amplitude"),
        ({"n_features": 2, "amplitude": (0.0, 1.0, 2.0)}, "amplitude"),
        ({"n_features": 2, "importance": (1.0, 0.0)}, "importance"),
        ({"n_features": 2, "importance": (1.0,)}, "importance"),
        ({"n_features": 2, "frequency": (-1.0, 1.0)}, "frequency"),
        ({"n_features": 2, "frequency": (0.0, 0.0)}, "frequency"),
    ],
)
def test_featurespec_rejects(kw, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        FeatureSpec(**kw)


@given(bad=st.one_of(st.floats(1.0, 1e9), st.floats(-1e9, -1e-9), st.just(float("nan"))))
def test_sparsity_outside_unit_rejected_everywhere(bad):
    with pytest.raises(ValueError, match=r"^sparsity"):
        FeatureSpec(3, sparsity=bad)
    with pytest.raises(ValueError, match=r"sparsity"):
        G.sample_features(FeatureSpec(3), 5, 0, sparsity=[0.1, bad])
    with pytest.raises(ValueError, match=r"^sparsity"):
        G.shift_spec(FeatureSpec(3), sparsity=bad)


# ---------------------------------------------------------------- sample_features: law
@settings(max_examples=30)
@given(n=st.integers(1, 5), data=st.data(), seed=seeds)
def test_sparsity_and_amplitude_law(n, data, seed):
    S = data.draw(st.lists(probs, min_size=n, max_size=n))
    lo = data.draw(st.floats(-2, 2))
    hi = lo + data.draw(st.floats(0.01, 3))
    spec = FeatureSpec(n, sparsity=tuple(S), amplitude=(lo, hi))
    x = G.sample_features(spec, N, seed)
    assert x.shape == (N, n) and x.dtype == np.float64
    active = (x != 0)  # amplitude is continuous: an active value is 0 with probability 0
    for i in range(n):
        assert rate_ok(active[:, i].sum(), N, 1 - S[i]), (i, active[:, i].mean(), 1 - S[i])
        a = x[active[:, i], i]
        assert np.all((a >= lo) & (a < hi))
        if a.size > 30:  # mean of Uniform(lo, hi): SE = (hi - lo) / sqrt(12 k)
            assert within(a.mean(), (lo + hi) / 2, (hi - lo) / math.sqrt(12 * a.size))


@settings(max_examples=20)
@given(seed=seeds, f=st.lists(st.floats(0.0, 4.0), min_size=4, max_size=4).filter(lambda f: sum(f) > 0.5))
def test_frequency_shift_rates(seed, f):
    spec = FeatureSpec(4, sparsity=0.7, frequency=tuple(f))
    p = spec.firing_probability()
    x = G.sample_features(spec, N, seed)
    for i in range(4):
        assert rate_ok((x[:, i] > 0).sum(), N, p[i])


def test_sparsity_rate_check_catches_wrong_law():
    """The 4-SE check has power: data drawn at S = 0.5 fail the check against S = 0.45."""
    x = G.sample_features(FeatureSpec(1, sparsity=0.5), N, 0)
    assert rate_ok((x > 0).sum(), N, 0.5)
    assert not rate_ok((x > 0).sum(), N, 0.55)


# ---------------------------------------------------------------- sample_features: streams
@settings(max_examples=25)
@given(seed=seeds, cuts=st.lists(st.integers(1, 9999), max_size=4), use_override=st.booleans())
def test_sample_features_chunking_invariant(seed, cuts, use_override):
    spec = FeatureSpec(3, sparsity=(0.2, 0.5, 0.9))
    ov = np.array([0.0, 0.5, 0.9]) if use_override else None
    total = 10000  # spans three random blocks
    whole = G.sample_features(spec, total, seed, sparsity=ov)
    edges = sorted({0, total, *cuts})
    parts = [G.sample_features(spec, b - a, seed, start=a, sparsity=ov) for a, b in zip(edges[:-1], edges[1:])]
    assert np.array_equal(np.concatenate(parts, axis=-2), whole)


def test_common_random_numbers_across_instances():
    spec = FeatureSpec(5, sparsity=0.3, amplitude=(0.5, 2.0))
    S = np.array([0.0, 0.3, 0.6, 0.95])
    X = G.sample_features(spec, 3000, 11, sparsity=S)  # (I, N, n)
    assert X.shape == (4, 3000, 5)
    # instance j equals a plain draw with sparsity S_j (same stream)
    for j, s in enumerate(S):
        assert np.array_equal(X[j], G.sample_features(replace(spec, sparsity=float(s)), 3000, 11))
    # nested activity and shared amplitudes: active at S implies active (same value) at S' <= S
    for j in range(1, 4):
        act = X[j] != 0
        assert np.all(X[j - 1][act] == X[j][act])
    # a scalar override is a plain draw at that sparsity
    assert np.array_equal(G.sample_features(spec, 100, 11, sparsity=0.6), X[2, :100])
    # per-(instance, feature) override of shape (I, n)
    S2 = np.tile(np.linspace(0, 0.8, 5), (2, 1))
    X2 = G.sample_features(spec, 100, 11, sparsity=S2)
    assert np.array_equal(X2[0], X2[1]) and np.array_equal(X2[0], G.sample_features(replace(spec, sparsity=tuple(S2[0])), 100, 11))


def test_seed_and_sequence_and_distinct_streams():
    spec = FeatureSpec(4, sparsity=0.5)
    a = G.sample_features(spec, 50, 3)
    assert np.array_equal(a, G.sample_features(spec, 50, np.random.SeedSequence(3)))
    assert not np.array_equal(a, G.sample_features(spec, 50, 4))
    x = np.zeros((50, 4))
    # noise and feature streams differ even for one seed
    assert not np.array_equal(G.add_input_noise(x, 1.0, 3, kind="uniform"), a)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backends_agree_bitwise(xp, dtype):
    spec = FeatureSpec(6, sparsity=(0.1, 0.3, 0.5, 0.7, 0.9, 0.0), frequency=(1, 2, 1, 1, 3, 1))
    ref = G.sample_features(spec, 500, 7, dtype=dtype)
    x = G.sample_features(spec, 500, 7, xp=xp, dtype=dtype)
    assert str(x.dtype).endswith(dtype)
    assert np.array_equal(B.to_numpy(x), ref)
    X = G.sample_features(spec, 200, 7, xp=xp, dtype=dtype, sparsity=[0.2, 0.6])
    assert np.array_equal(B.to_numpy(X), G.sample_features(spec, 200, 7, dtype=dtype, sparsity=[0.2, 0.6]))
    y = G.make_labels(x, "argmax", 5)
    assert np.array_equal(B.to_numpy(y), G.make_labels(ref, "argmax", 5))
    for kind in G.FLIP_KINDS:
        kw = {"matrix": np.full((6, 6), 1 / 6)} if kind == "matrix" else {}
        got = G.flip_labels(y, 6, 0.4, 9, kind=kind, **kw)
        assert np.array_equal(B.to_numpy(got), G.flip_labels(B.to_numpy(y), 6, 0.4, 9, kind=kind, **kw))
    noisy = G.add_input_noise(x, 0.3, 2)
    assert str(noisy.dtype).endswith(dtype)
    assert np.array_equal(B.to_numpy(noisy), G.add_input_noise(ref, 0.3, 2))
    idx = G.few_shot_indices(y, 2, 1, n_classes=6)
    assert np.array_equal(B.to_numpy(idx), G.few_shot_indices(B.to_numpy(y), 2, 1, n_classes=6))
    assert B.to_numpy(y).dtype == np.int64 and B.to_numpy(idx).dtype == np.int64


def test_backend_by_name_and_float32_values():
    spec = FeatureSpec(3, sparsity=0.2)
    x32 = G.sample_features(spec, 10, 1, xp="array_api_strict", dtype="float32")
    x64 = G.sample_features(spec, 10, 1)
    assert np.array_equal(B.to_numpy(x32), x64.astype(np.float32))


# ---------------------------------------------------------------- labels
@settings(max_examples=25)
@given(n=st.integers(2, 5), S=st.floats(0.3, 0.9), seed=seeds)
def test_argmax_ties_rate_and_uniform_break(n, S, seed):
    spec = FeatureSpec(n, sparsity=S)
    x = G.sample_features(spec, N, seed)
    y = G.make_labels(x, "argmax", seed)
    assert y.dtype == np.int64 and y.shape == (N,)
    zero = ~np.any(x > 0, axis=1)
    assert rate_ok(zero.sum(), N, S**n)  # tie rate: all-zero rows, P = S^n
    assert np.array_equal(y[~zero], np.argmax(x[~zero], axis=1))  # no ties elsewhere
    k = int(zero.sum())
    if k >= 50:  # tie-broken labels uniform over the n tied classes
        for c in range(n):
            assert rate_ok((y[zero] == c).sum(), k, 1 / n)
    # by symmetry every class has probability 1/n overall
    for c in range(n):
        assert rate_ok((y == c).sum(), N, 1 / n)


def test_argmax_partial_ties_only_among_maxima():
    x = np.tile(np.array([[1.0, 0.2, 1.0, 1.0]]), (4000, 1))
    y = G.make_labels(x, "argmax", 0)
    assert set(np.unique(y)) == {0, 2, 3}
    for c in (0, 2, 3):
        assert rate_ok((y == c).sum(), 4000, 1 / 3)
    # a deliberately wrong tie-break (numpy's first maximum) would fail the uniformity check
    assert not rate_ok((np.argmax(x, axis=1) == 0).sum(), 4000, 1 / 3)


def test_labels_batched_and_chunked():
    spec = FeatureSpec(3, sparsity=0.8)
    X = G.sample_features(spec, 6000, 2, sparsity=[0.5, 0.9])
    Y = G.make_labels(X, "argmax", 1)
    assert Y.shape == (2, 6000)
    assert np.array_equal(Y[1], G.make_labels(X[1], "argmax", 1))  # shared tie stream
    parts = [G.make_labels(X[:, a:b], "argmax", 1, start=a) for a, b in [(0, 4095), (4095, 6000)]]
    assert np.array_equal(np.concatenate(parts, axis=-1), Y)


@settings(max_examples=20)
@given(S=st.lists(probs, min_size=3, max_size=3), feature=st.integers(0, 2), seed=seeds)
def test_presence_rate(S, feature, seed):
    x = G.sample_features(FeatureSpec(3, sparsity=tuple(S)), N, seed)
    y = G.make_labels(x, "presence", feature=feature)
    assert np.array_equal(y, (x[:, feature] > 0).astype(np.int64))
    assert np.array_equal(G.make_labels(x, "detect", feature=feature), y)
    assert rate_ok(y.sum(), N, 1 - S[feature])


def test_make_labels_rejects():
    x = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"^task == 'max'"):
        G.make_labels(x, "max", 0)
    with pytest.raises(ValueError, match=r"^feature == 3, must be in \[0, 2\]"):
        G.make_labels(x, "presence", feature=3)
    with pytest.raises(ValueError, match=r"^seed == None"):
        G.make_labels(x, "argmax")
    with pytest.raises(ValueError, match=r"^x contains NaN"):
        G.make_labels(np.full((2, 2), np.nan), "argmax", 0)
    with pytest.raises(ValueError, match=r"^x.ndim == 1"):
        G.make_labels(np.zeros(3), "argmax", 0)
    with pytest.raises(ValueError, match=r"^seed == -1"):
        G.make_labels(x, "argmax", -1)


# ---------------------------------------------------------------- label noise
def _flip_stats(kind, C, r, seed, matrix=None):
    y = np.random.default_rng(seed).integers(0, C, N)
    yt = G.flip_labels(y, C, r, seed, kind=kind, matrix=matrix)
    assert yt.dtype == np.int64 and yt.shape == y.shape
    return y, yt


def _effective_T(kind, C, r, T=None):
    """Documented transition matrix P(ỹ = c' | y = c) of each kind."""
    I, J = np.eye(C), np.ones((C, C))
    target = {
        "symmetric": (J - I) / (C - 1),
        "symmetric_all": J / C,
        "pair": np.roll(I, 1, axis=1),  # c -> c + 1 mod C
        "matrix": T,
    }[kind]
    return (1 - r) * I + r * target


def _transitions_ok(y, yt, E):
    C = E.shape[0]
    for c in range(C):
        rows = y == c
        for c2 in range(C):
            if not rate_ok((yt[rows] == c2).sum(), int(rows.sum()), E[c, c2]):
                return False
    return True


@settings(max_examples=30)
@given(C=st.integers(2, 6), r=rates, seed=seeds)
def test_flip_rates_per_kind(C, r, seed):
    for kind in ("symmetric", "symmetric_all", "pair"):
        y, yt = _flip_stats(kind, C, r, seed)
        changed = (yt != y).sum()
        # symmetric / pair change a label with prob r; symmetric_all with prob r (C - 1) / C
        assert rate_ok(changed, N, r * (C - 1) / C if kind == "symmetric_all" else r), kind
        assert _transitions_ok(y, yt, _effective_T(kind, C, r)), kind


@settings(max_examples=15)
@given(r=rates, seed=seeds)
def test_flip_matrix_kind(r, seed):
    C = 3
    T = np.array([[0.0, 0.7, 0.3], [0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    y, yt = _flip_stats("matrix", C, r, seed, matrix=T)
    assert _transitions_ok(y, yt, _effective_T("matrix", C, r, T))  # (1 - r) I + r T


def test_flip_kinds_are_distinguishable():
    """The checks have power: each kind's data fail the other kinds' documented laws (C = 4, r = 0.6)."""
    assert not rate_ok((np.subtract(*_flip_stats("symmetric_all", 2, 0.5, 1)) != 0).sum(), N, 0.5)
    for kind in ("symmetric", "symmetric_all", "pair"):
        y, yt = _flip_stats(kind, 4, 0.6, 1)
        for other in ("symmetric", "symmetric_all", "pair"):
            assert _transitions_ok(y, yt, _effective_T(other, 4, 0.6)) == (kind == other), (kind, other)


def test_flip_nested_in_rate_and_chunked():
    y = np.random.default_rng(0).integers(0, 4, 5000)
    rates_ = np.array([[0.0], [0.1], [0.4], [1.0]])
    Yt = G.flip_labels(y, 4, rates_, 3)  # (4, N)
    assert Yt.shape == (4, 5000) and np.array_equal(Yt[0], y)
    ch = Yt != y
    assert np.all(ch[1] <= ch[2]) and np.all(ch[2] <= ch[3]) and ch[3].all()
    assert np.array_equal(Yt[2], G.flip_labels(y, 4, 0.4, 3))
    parts = [G.flip_labels(y[a:b], 4, 0.4, 3, start=a) for a, b in [(0, 10), (10, 4100), (4100, 5000)]]
    assert np.array_equal(np.concatenate(parts), Yt[2])


@given(bad=st.one_of(st.floats(1.0, 1e6, exclude_min=True), st.floats(-1e6, 0.0, exclude_max=True), st.just(float("nan"))))
def test_flip_rejects_bad_rate(bad):
    with pytest.raises(ValueError, match=r"^rate"):
        G.flip_labels(np.array([0, 1]), 2, bad, 0)


def test_flip_rejects():
    y = np.array([0, 1, 2])
    with pytest.raises(ValueError, match=r"^y contains 3, must be in \[0, 2\]"):
        G.flip_labels(np.array([0, 3]), 3, 0.1, 0)
    with pytest.raises(ValueError, match=r"^y.dtype"):
        G.flip_labels(np.array([0.0, 1.0]), 2, 0.1, 0)
    with pytest.raises(ValueError, match=r"^n_classes == 1"):
        G.flip_labels(np.array([0, 0]), 1, 0.1, 0)
    with pytest.raises(ValueError, match=r"^kind == 'random'"):
        G.flip_labels(y, 3, 0.1, 0, kind="random")
    with pytest.raises(ValueError, match=r"^matrix == None"):
        G.flip_labels(y, 3, 0.1, 0, kind="matrix")
    with pytest.raises(ValueError, match=r"^matrix.shape == \(2, 2\)"):
        G.flip_labels(y, 3, 0.1, 0, kind="matrix", matrix=np.eye(2))
    with pytest.raises(ValueError, match=r"^matrix row 0 sums to"):
        G.flip_labels(y, 3, 0.1, 0, kind="matrix", matrix=np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match=r"^matrix is given"):
        G.flip_labels(y, 3, 0.1, 0, matrix=np.eye(3))
    with pytest.raises(ValueError, match=r"^rate.shape == \(2,\)"):
        G.flip_labels(y, 3, np.array([0.1, 0.2]), 0)


# ---------------------------------------------------------------- input noise
@settings(max_examples=25)
@given(s=st.floats(0.01, 5.0), kind=st.sampled_from(G.NOISE_KINDS), seed=seeds)
def test_input_noise_moments(s, kind, seed):
    n = 3
    x = np.zeros((N, n))
    z = G.add_input_noise(x, s, seed, kind=kind).ravel()
    k = z.size
    assert within(z.mean(), 0.0, s / math.sqrt(k))
    # SE of the sample variance: sqrt((m4 - s^4) / k); m4 = 3 s^4 (gaussian), 9/5 s^4 (uniform)
    m4 = 3.0 if kind == "gaussian" else 1.8
    assert within(np.mean(z**2), s**2, s**2 * math.sqrt((m4 - 1) / k))
    if kind == "uniform":
        assert np.all(np.abs(z) <= math.sqrt(3) * s * (1 + 1e-12))


def test_input_noise_scale_broadcast_float32_and_chunks():
    x = G.sample_features(FeatureSpec(4, sparsity=0.5), 5000, 1, dtype="float32")
    scales = np.array([0.0, 0.5, 2.0]).reshape(3, 1, 1)
    Xn = G.add_input_noise(x, scales, 8)
    assert Xn.shape == (3, 5000, 4) and Xn.dtype == np.float32
    assert np.array_equal(Xn[0], x)
    # common random numbers: noise(2) = 4 * noise(0.5)
    assert np.allclose(Xn[2] - x, 4 * (Xn[1] - x), atol=1e-5)
    parts = [G.add_input_noise(x[a:b], 0.5, 8, start=a) for a, b in [(0, 4097), (4097, 5000)]]
    assert np.array_equal(np.concatenate(parts), Xn[1])


@given(bad=st.one_of(st.floats(-1e6, 0.0, exclude_max=True), st.just(float("inf")), st.just(float("nan"))))
def test_input_noise_rejects_bad_scale(bad):
    with pytest.raises(ValueError, match=r"^scale"):
        G.add_input_noise(np.zeros((3, 2)), bad, 0)


def test_input_noise_rejects():
    with pytest.raises(ValueError, match=r"^kind == 'laplace'"):
        G.add_input_noise(np.zeros((3, 2)), 1.0, 0, kind="laplace")
    with pytest.raises(ValueError, match=r"^x contains NaN"):
        G.add_input_noise(np.array([[np.inf, 0.0]]), 1.0, 0)
    with pytest.raises(ValueError, match=r"^x.dtype"):
        G.add_input_noise(np.zeros((3, 2), dtype=np.int64), 1.0, 0)
    with pytest.raises(ValueError, match=r"^scale.shape"):
        G.add_input_noise(np.zeros((3, 2)), np.ones(3), 0)


# ---------------------------------------------------------------- few-shot, shift
@settings(max_examples=25)
@given(k=st.integers(1, 5), C=st.integers(2, 5), seed=seeds)
def test_few_shot_stratified_sorted_nested(k, C, seed):
    y = np.random.default_rng(seed).integers(0, C, 200)
    y[:C * 5] = np.repeat(np.arange(C), 5)  # every class has >= 5
    idx = G.few_shot_indices(y, k, seed)
    assert idx.dtype == np.int64 and idx.shape == (C * k,)
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(np.bincount(y[idx], minlength=C), np.full(C, k))
    assert np.array_equal(idx, G.few_shot_indices(y, k, seed))
    assert set(G.few_shot_indices(y, 1, seed)) <= set(idx)  # nested in k


def test_few_shot_uniform_over_class():
    y = np.array([0] * 10 + [1] * 30)
    R = 2000
    hits = np.zeros(40)
    for s in range(R):
        hits[G.few_shot_indices(y, 3, s)] += 1
    assert all(rate_ok(h, R, 0.3) for h in hits[:10])
    assert all(rate_ok(h, R, 0.1) for h in hits[10:])


def test_few_shot_rejects():
    y = np.array([0, 0, 0, 1, 1, 2])
    with pytest.raises(ValueError, match=r"^k == 2, must be <= the smallest class size 1 \(class 2\)"):
        G.few_shot_indices(y, 2, 0)
    with pytest.raises(ValueError, match=r"^k == 1, must be <= the smallest class size 0 \(class 3\)"):
        G.few_shot_indices(y, 1, 0, n_classes=4)
    with pytest.raises(ValueError, match=r"^k == 0"):
        G.few_shot_indices(y, 0, 0)
    with pytest.raises(ValueError, match=r"^y contains 2"):
        G.few_shot_indices(y, 1, 0, n_classes=2)
    with pytest.raises(ValueError, match=r"^y.ndim == 2"):
        G.few_shot_indices(y.reshape(2, 3), 1, 0)


def test_shift_spec():
    s = FeatureSpec(3, sparsity=0.5, importance=(1, 2, 3))
    t = G.shift_spec(s, sparsity=0.9, amplitude=(1, 2), frequency=(1, 1, 2))
    assert t == FeatureSpec(3, sparsity=0.9, amplitude=(1, 2), importance=(1, 2, 3), frequency=(1, 1, 2))
    assert s.sparsity == 0.5 and G.shift_spec(s) == s
    with pytest.raises(ValueError, match=r"^amplitude"):
        G.shift_spec(s, amplitude=(2, 1))
    with pytest.raises(ValueError, match=r"^spec"):
        G.shift_spec({"n_features": 3})


def test_sample_features_rejects():
    spec = FeatureSpec(3)
    with pytest.raises(ValueError, match=r"^n_samples == 0"):
        G.sample_features(spec, 0, 0)
    with pytest.raises(ValueError, match=r"^start == -1"):
        G.sample_features(spec, 5, 0, start=-1)
    with pytest.raises(ValueError, match=r"^sparsity has shape \(2, 2\)"):
        G.sample_features(spec, 5, 0, sparsity=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^dtype == 'float16'"):
        G.sample_features(spec, 5, 0, dtype="float16")
    with pytest.raises(ValueError, match=r"^backend == 'jax'"):
        G.sample_features(spec, 5, 0, xp="jax")
    with pytest.raises(ValueError, match=r"^spec"):
        G.sample_features(3, 5, 0)
    with pytest.raises(ValueError, match=r"^seed == 1.5"):
        G.sample_features(spec, 5, 1.5)
