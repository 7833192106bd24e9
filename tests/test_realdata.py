"""Real-data bridge (part A): data entry point, augmentations / shifts, encoders, monosemanticity metrics.

Known-answer fixtures where possible; training tests use tiny MLPs on a slice of the digits so the file
runs in well under a minute on two cores.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from realdata import augment as A  # noqa: E402
from realdata.data import digits, few_shot_indices, load_digits_dataset, prepare_dataset  # noqa: E402
from realdata.encoders import (  # noqa: E402
    EncoderConfig,
    SAEConfig,
    build_encoder,
    encode,
    encode_torch,
    nt_xent,
    train_encoder,
    train_sae,
)
from realdata.monosemanticity import (  # noqa: E402
    activation_sparsity,
    class_geometry,
    dead_dimensions,
    hoyer_sparsity,
    monosemanticity_report,
    semantic_consistency,
)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small():
    """A 300-sample stratified slice of the digits (train 210 / test 90)."""
    X, y = load_digits_dataset()
    idx = few_shot_indices(y, 30, seed=1)
    return prepare_dataset(X[idx], y[idx], test_fraction=0.3, seed=0, name="digits-300")


TINY = dict(arch="mlp", hidden=32, feature_dim=16, epochs=3, batch_size=64)


@pytest.fixture(scope="module")
def trained(small):
    cl, _ = train_encoder(small.X_train, EncoderConfig(variant="cl", **TINY), seed=3)
    ncl, _ = train_encoder(small.X_train, EncoderConfig(variant="ncl", **TINY), seed=3)
    return cl, ncl


# --------------------------------------------------------------------------- data
def test_load_digits_shapes_and_range():
    X, y = load_digits_dataset()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_prepare_dataset_split_is_stratified_disjoint_and_deterministic():
    d1, d2 = digits(seed=5), digits(seed=5)
    np.testing.assert_array_equal(d1.X_train, d2.X_train)
    np.testing.assert_array_equal(d1.y_test, d2.y_test)
    assert d1.X_train.shape[0] + d1.X_test.shape[0] == 1797
    X, y = load_digits_dataset()
    counts = np.bincount(y)
    np.testing.assert_array_equal(d1.class_counts("test"), np.round(0.3 * counts).astype(int))
    # disjoint, covering, and faithful to the input rows
    assert np.intersect1d(d1.train_index, d1.test_index).size == 0
    np.testing.assert_array_equal(np.union1d(d1.train_index, d1.test_index), np.arange(1797))
    np.testing.assert_array_equal(d1.X_test, X[d1.test_index])
    np.testing.assert_array_equal(d1.classes[d1.y_train], y[d1.train_index])
    assert not np.array_equal(digits(seed=6).test_index, d1.test_index)  # the seed matters


def test_prepare_dataset_accepts_any_arrays_flat_and_odd_labels():
    r = np.random.default_rng(0)
    X = r.uniform(0, 255, size=(40, 12)).astype(np.float64)  # flat rows, 3x4 images
    y = np.repeat([7.0, 3.0], 20)  # integral floats, labels not 0..C-1
    d = prepare_dataset(X, y, image_shape=(3, 4), test_fraction=0.25, seed=0)
    assert d.image_shape == (1, 3, 4)
    assert d.X_train.dtype == np.float32 and d.X_train.min() >= 0 and d.X_train.max() <= 1
    np.testing.assert_array_equal(d.classes, [3, 7])
    assert set(np.unique(d.y_train)) == {0, 1}
    assert d.class_counts("test").tolist() == [5, 5]
    # flat rows are vectors unless told otherwise (never a silent reshape into a square image);
    # (N, H, W) gets a channel axis
    flat = prepare_dataset(np.zeros((6, 16)) + np.arange(16), [0, 1] * 3, seed=0)
    assert flat.modality == "vector" and flat.input_shape == (16,)
    assert prepare_dataset(np.ones((6, 2, 5)) * np.arange(5), [0, 1] * 3, seed=0).image_shape == (1, 2, 5)


def _X(*shape: int) -> np.ndarray:
    """A non-constant array (constant data is rejected before other checks)."""
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


@pytest.mark.parametrize(
    "X, y, kw, match",
    [
        (np.zeros(10), [0, 1] * 5, {}, r"X\.ndim == 1"),
        (np.zeros((10, 1, 2, 2, 1)), [0, 1] * 5, {}, r"X\.ndim == 5"),
        (_X(10, 4), [0, 1] * 4, {}, r"y\.shape == \(8,\)"),
        (_X(10, 5), [0, 1] * 5, {"modality": "image"}, r"X\.shape == \(10, 5\) is flat: images need image_shape"),
        (_X(10, 6), [0, 1] * 5, {"image_shape": (2, 2)}, r"image_shape == \(2, 2\)"),
        (_X(10, 4), [0] * 10, {}, r"y has 1 distinct class"),
        (_X(10, 4), [0] * 9 + [1], {}, r"classes \[1\] with fewer than 2"),
        (_X(10, 4), np.linspace(0, 1, 10), {}, r"y\.dtype == float64, must hold integer"),
        (_X(10, 4), [0, 1] * 5, {"test_fraction": 1.0}, r"test_fraction == 1, must be in \(0, 1\)"),
        (_X(10, 4), [0, 1] * 5, {"seed": -1}, r"seed == -1"),
    ],
)
def test_prepare_dataset_bad_input(X, y, kw, match):
    with pytest.raises(ValueError, match=match):
        prepare_dataset(X, y, **kw)


def test_prepare_dataset_nan_pixels_named():
    X = np.zeros((10, 1, 2, 2), dtype=np.float32)
    X[3, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite values"):
        prepare_dataset(X, [0, 1] * 5)


def test_few_shot_indices_balanced_deterministic_and_errors():
    y = np.repeat(np.arange(3), [4, 6, 5])
    idx = few_shot_indices(y, 4, seed=0)
    assert np.bincount(y[idx]).tolist() == [4, 4, 4]
    np.testing.assert_array_equal(idx, few_shot_indices(y, 4, seed=0))
    assert few_shot_indices(y, None, seed=0).shape == (15,)
    with pytest.raises(ValueError, match=r"k == 5, must be <= the smallest class size 4 \(class 0\)"):
        few_shot_indices(y, 5, seed=0)
    with pytest.raises(ValueError, match=r"k == 0, must be in \[1, inf\)"):
        few_shot_indices(y, 0, seed=0)


# --------------------------------------------------------------------------- augmentations and shifts
def _lit(r=2, c=3, shape=(1, 1, 8, 8)):
    x = np.zeros(shape, dtype=np.float32)
    x[..., r, c] = 1.0
    return x


def test_inversion_twice_is_identity_and_blend():
    x = np.random.default_rng(0).uniform(size=(3, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(A.invert(A.invert(x)), x, atol=1e-6)
    np.testing.assert_allclose(A.invert(x), 1.0 - x, atol=1e-7)
    np.testing.assert_allclose(A.invert(x, 0.5), np.full_like(x, 0.5), atol=1e-6)
    np.testing.assert_array_equal(A.invert(x, 0.0), x)


def test_rotation_known_answers():
    x = np.random.default_rng(1).uniform(size=(2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(A.rotate(x, 0.0), x, atol=1e-6)
    # +90 degrees is counter-clockwise as displayed, i.e. numpy.rot90 on the (H, W) axes
    np.testing.assert_allclose(A.rotate(x, 90.0), np.rot90(x, 1, axes=(2, 3)), atol=1e-5)
    np.testing.assert_allclose(A.rotate(x, -90.0), np.rot90(x, -1, axes=(2, 3)), atol=1e-5)
    np.testing.assert_allclose(A.rotate(x, 360.0), x, atol=1e-5)


def test_translation_moves_a_single_lit_pixel():
    x = _lit(2, 3)
    assert np.argwhere(A.translate(x, 1)[0, 0] == 1.0).tolist() == [[2, 4]]
    assert np.argwhere(A.translate(x, 0, 1)[0, 0] == 1.0).tolist() == [[3, 3]]
    assert np.argwhere(A.translate(x, -3, -2)[0, 0] == 1.0).tolist() == [[0, 0]]
    assert A.translate(x, 5)[0, 0].sum() == 0.0  # pushed off the edge, zero fill
    assert np.argwhere(A.apply_shift(x, "translation", 2)[0, 0] == 1.0).tolist() == [[4, 5]]
    # the interpolating affine warp agrees with exact slicing on integer shifts
    xt = torch.from_numpy(x)
    warped = A.affine(xt, torch.zeros(1), torch.tensor([[2.0, -1.0]]), torch.ones(1)).numpy()
    np.testing.assert_allclose(warped, A.translate(x, 2, -1), atol=1e-6)


def test_blur_preserves_constants_and_mass_and_spreads():
    c = np.full((1, 1, 8, 8), 0.3, dtype=np.float32)
    np.testing.assert_allclose(A.blur(c, 1.5), c, atol=1e-6)
    x = _lit(4, 4)
    np.testing.assert_array_equal(A.blur(x, 0.0), x)
    b = A.blur(x, 0.7)
    assert b[0, 0, 4, 4] < 1.0 and b[0, 0, 4, 5] > 0 and b[0, 0, 3, 4] > 0
    np.testing.assert_allclose(b.sum(), 1.0, atol=1e-5)  # kernel normalized; far from the edges
    np.testing.assert_allclose(b[0, 0], b[0, 0].T, atol=1e-7)  # isotropic about a central point


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_pixel_noise_has_the_requested_std(kind):
    x = np.zeros((100, 1, 32, 32), dtype=np.float32)  # n = 102400 entries
    std = 0.3
    e = A.add_noise(x, std, A.make_generator(0, kind), kind=kind)
    n = e.size
    # std of the sample std is about std / sqrt(2n) (Gaussian; smaller for uniform); allow 6 of them
    assert abs(e.std() - std) < 6 * std / math.sqrt(2 * n)
    assert abs(e.mean()) < 6 * std / math.sqrt(n)
    if kind == "uniform":
        assert np.abs(e).max() <= math.sqrt(3) * std + 1e-6
    same = A.add_noise(x, std, A.make_generator(0, kind), kind=kind)
    np.testing.assert_array_equal(e, same)
    assert A.add_noise(x, 0.5, A.make_generator(0), kind=kind, clip=True).min() >= 0.0


def test_numpy_in_numpy_out_and_torch_in_torch_out():
    x = _lit()
    assert isinstance(A.rotate(x, 10), np.ndarray)
    assert isinstance(A.rotate(torch.from_numpy(x), 10), torch.Tensor)
    for kind in A.SHIFTS:
        np.testing.assert_allclose(A.apply_shift(x, kind, 0), x, atol=1e-6)  # level 0 = no shift


def test_random_views_deterministic_in_range_and_distinct():
    x = torch.from_numpy(load_digits_dataset()[0][:32])
    cfg = A.AugmentConfig()
    v1, v2 = A.simclr_views(x, cfg, A.make_generator(4, "views"))
    w1, w2 = A.simclr_views(x, cfg, A.make_generator(4, "views"))
    assert torch.equal(v1, w1) and torch.equal(v2, w2)
    assert v1.shape == x.shape and float(v1.min()) >= 0.0 and float(v1.max()) <= 1.0
    assert not torch.equal(v1, v2)
    # a zero-strength config changes nothing
    still = A.AugmentConfig(rotation=0, shift=0, scale=(1, 1), contrast=(1, 1), noise_std=0, erase_size=0)
    np.testing.assert_allclose(A.random_augment(x, still, A.make_generator(0)).numpy(), x.numpy(), atol=1e-6)


def test_augment_bad_input():
    with pytest.raises(ValueError, match=r"kind == 'shear', must be one of"):
        A.apply_shift(_lit(), "shear", 1)
    with pytest.raises(ValueError, match=r"x\.ndim == 3, must be 4"):
        A.rotate(np.zeros((1, 8, 8)), 5)
    with pytest.raises(ValueError, match=r"std == -0.1, must be in \[0, inf\)"):
        A.add_noise(_lit(), -0.1, A.make_generator(0))
    with pytest.raises(ValueError, match=r"amount == 2, must be in \[0, 1\]"):
        A.invert(_lit(), 2.0)
    with pytest.raises(ValueError, match=r"scale == \(1.2, 0.8\)"):
        A.AugmentConfig(scale=(1.2, 0.8))


# --------------------------------------------------------------------------- encoders
def test_nt_xent_known_answer():
    tau = 0.5
    z = torch.eye(4)  # B = 4 orthonormal features; both views identical
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 6 * math.exp(0.0)))
    assert abs(float(nt_xent(z, z, tau)) - expected) < 1e-5


def test_cl_and_ncl_share_initial_weights():
    cl = build_encoder(EncoderConfig(variant="cl", **TINY), (1, 8, 8), seed=9)
    ncl = build_encoder(EncoderConfig(variant="ncl", **TINY), (1, 8, 8), seed=9)
    other = build_encoder(EncoderConfig(variant="cl", **TINY), (1, 8, 8), seed=10)
    for (k, a), b in zip(cl.state_dict().items(), ncl.state_dict().values()):
        assert torch.equal(a, b), k
    assert not torch.equal(cl.projector[-1].weight, other.projector[-1].weight)


def test_training_is_deterministic_under_seed(small, trained):
    cl, _ = trained
    again, log = train_encoder(small.X_train, EncoderConfig(variant="cl", **TINY), seed=3)
    np.testing.assert_array_equal(encode(cl, small.X_test), encode(again, small.X_test))
    assert len(log.losses) == TINY["epochs"] and all(np.isfinite(log.losses)) and log.seconds > 0


def test_features_shapes_dtype_and_dlpack(small, trained):
    cl, ncl = trained
    F = encode(cl, small.X_test)
    assert F.shape == (small.X_test.shape[0], TINY["feature_dim"]) and F.dtype == np.float32
    t = encode_torch(cl, small.X_test)
    shared = np.from_dlpack(t)  # zero-copy view of the tensor's memory
    t[0, 0] = 123.0
    assert shared[0, 0] == 123.0
    np.testing.assert_array_equal(encode(cl, small.X_test, batch_size=7), F)  # batch size does not matter
    assert not cl.training  # encode leaves the model in eval mode


def test_ncl_features_nonnegative_and_sparse(small, trained):
    _, ncl = trained
    F = encode(ncl, small.X_test)
    assert F.min() >= 0.0
    assert 0.0 < np.mean(F == 0.0) < 1.0
    assert np.all(encode(trained[0], small.X_test) != 0.0)  # CL features are dense


def test_supervised_variants(small):
    cfg = EncoderConfig(variant="nce", **TINY)
    m, log = train_encoder(small.X_train, cfg, seed=0, y=small.y_train)
    assert m.head.out_features == small.n_classes and encode(m, small.X_test).min() >= 0.0
    with pytest.raises(ValueError, match=r"y == None, must be given for variant == 'ce'"):
        train_encoder(small.X_train, EncoderConfig(variant="ce", **TINY), seed=0)


def test_topk_sae_exactly_k_active(small, trained):
    cl, _ = trained
    H = encode(cl, small.X_train)
    k = 4
    sae, log = train_sae(H, SAEConfig(k=k, expansion=4, epochs=30, batch_size=64), seed=0)
    assert log.losses[-1] < log.losses[0]
    np.testing.assert_allclose(sae.W_dec.detach().norm(dim=1).numpy(), 1.0, atol=1e-5)
    Ht = encode(cl, small.X_test)
    Z = encode(sae, Ht)
    assert Z.shape == (Ht.shape[0], 4 * TINY["feature_dim"]) and Z.min() >= 0.0
    assert sae.support(torch.from_numpy(Ht)).sum(dim=1).tolist() == [k] * Ht.shape[0]
    assert ((Z > 0).sum(axis=1) == k).all()  # every kept pre-activation is positive on these data
    # off-support latents are exactly zero
    assert not np.any(Z[~sae.support(torch.from_numpy(Ht)).numpy()])


def test_encoder_bad_input(small):
    with pytest.raises(ValueError, match=r"variant == 'pca', must be one of"):
        EncoderConfig(variant="pca")
    with pytest.raises(ValueError, match=r"temperature == 0, must be in \(0, inf\)"):
        EncoderConfig(temperature=0.0)
    X = small.X_train.copy()
    X[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN"):
        train_encoder(X, EncoderConfig(**TINY), seed=0)
    with pytest.raises(ValueError, match=r"X\.ndim == 5, must be 2 or 3 or 4"):
        train_encoder(small.X_train[..., None], EncoderConfig(**TINY), seed=0)
    flat = small.X_train.reshape(len(small.X_train), -1)  # vectors: an MLP, never a CNN
    with pytest.raises(ValueError, match=r"arch == 'cnn', must be one of 'mlp'"):
        train_encoder(flat, EncoderConfig(**{**TINY, "arch": "cnn"}), seed=0)
    with pytest.raises(ValueError, match=r"augment == AugmentConfig.* does not suit vectors, must be a VectorAugmentConfig"):
        train_encoder(flat, EncoderConfig(**{**TINY, "arch": "mlp"}, augment=A.AugmentConfig()), seed=0)
    with pytest.raises(ValueError, match=r"k == 100, must be <= expansion \* d == 8"):
        train_sae(np.ones((10, 2)), SAEConfig(k=100), seed=0)
    with pytest.raises(ValueError, match=r"H\.ndim == 3"):
        train_sae(np.ones((10, 2, 1)), SAEConfig(k=1), seed=0)


def test_config_round_trip():
    cfg = EncoderConfig(variant="ncl", arch="mlp", augment=A.AugmentConfig(rotation=5.0))
    assert EncoderConfig.from_dict(cfg.to_dict()) == cfg


# --------------------------------------------------------------------------- monosemanticity
def _aligned(n_per=6, C=4, extra_dead=0):
    """Each class lights exactly its own dimension with a positive amplitude; optional dead columns."""
    y = np.repeat(np.arange(C), n_per)
    amp = np.linspace(0.5, 1.5, y.size)
    H = np.zeros((y.size, C + extra_dead))
    H[np.arange(y.size), y] = amp
    return H, y


def test_perfectly_aligned_features_score_one():
    H, y = _aligned(extra_dead=2)
    sc = semantic_consistency(H, y)
    assert sc["mean"] == 1.0 and sc["n_alive"] == 4 and sc["top_q"] == 6
    assert np.isnan(sc["per_dim"][4:]).all()
    assert dead_dimensions(H).tolist() == [False] * 4 + [True] * 2
    assert activation_sparsity(H) == pytest.approx(1 - 1 / 6)
    assert hoyer_sparsity(H) == pytest.approx(1.0)


def test_signed_features_need_direction_both():
    H, y = _aligned()
    sc_pos = semantic_consistency(-H, y)["mean"]
    assert sc_pos < 0.5  # top of -H is the floor-free "off" mass of the other classes
    assert semantic_consistency(-H, y, direction="both")["mean"] == 1.0


def test_shared_dimension_is_half_consistent():
    y = np.repeat([0, 1, 2, 3], 5)
    H = np.zeros((20, 2))
    H[:, 0] = np.where(y < 2, 1.0 + 0.01 * np.arange(20), 0.0)  # fires on classes 0 and 1
    H[:, 1] = np.where(y == 3, 1.0, 0.0)
    sc = semantic_consistency(H, y, top_q=10)
    np.testing.assert_allclose(sc["per_dim"], [0.5, 1.0])


def test_random_features_near_chance(host_rng):
    C, n = 5, 2000
    y = np.repeat(np.arange(C), n // C)
    H = host_rng.normal(size=(n, 30))
    sc = semantic_consistency(H, y, top_q=200)
    # the majority share of 200 draws from 5 equal classes is about 0.2 + O(sqrt(0.16/200)) ≈ 0.2..0.27
    assert 0.2 <= sc["mean"] < 0.3


def test_class_geometry_known_answers():
    C = 4
    H, y = _aligned(n_per=5, C=C)
    H = np.where(H > 0, 1.0, 0.0) + 0.0  # exact one-hot rows: no within-class spread in the means
    H = H + 1e-3 * np.random.default_rng(0).normal(size=H.shape)
    g = class_geometry(H, y)
    assert g["coherence"] == pytest.approx(1 / (C - 1), abs=5e-3)  # centred one-hot means: cos = -1/(C-1)
    assert g["coherence_floor"] == pytest.approx(1 / (C - 1))
    # scalar two-class code with means ±m and equal spread sigma: tr S_B / tr S_W = m^2 / sigma^2
    m, s = 2.0, 0.5
    v = np.concatenate([m + s * np.array([-1, 1, -1, 1]), -m + s * np.array([-1, 1, -1, 1])])[:, None]
    yy = np.repeat([0, 1], 4)
    g2 = class_geometry(v, yy)
    assert g2["fisher_ratio"] == pytest.approx(m**2 / s**2)
    assert g2["separation_min"] == pytest.approx(2 * m / s)
    # the Fisher discriminant is invariant to invertible linear maps; the trace ratio is not
    r = np.random.default_rng(1)
    Hr = r.normal(size=(60, 3)) + np.repeat(np.eye(3), 20, axis=0) * 3
    yr = np.repeat(np.arange(3), 20)
    M = np.array([[3.0, 1.0, 0.0], [0.0, 0.2, 0.0], [1.0, 0.0, 1.0]])
    a, b = class_geometry(Hr, yr), class_geometry(Hr @ M, yr)
    assert a["fisher_discriminant"] == pytest.approx(b["fisher_discriminant"], rel=1e-4)
    assert a["fisher_ratio"] != pytest.approx(b["fisher_ratio"], rel=1e-2)


def test_report_is_flat_floats(small, trained):
    rep = monosemanticity_report(encode(trained[1], small.X_test), small.y_test)
    assert all(isinstance(v, float) for v in rep.values())
    assert 0.0 <= rep["semantic_consistency"] <= 1.0 and rep["sparsity"] > 0.0


@pytest.mark.parametrize(
    "H, y, kw, match",
    [
        (np.array([[np.nan, 1.0], [0.0, 1.0]]), [0, 1], {}, r"H contains NaN"),
        (np.ones((4, 2)), [0, 0, 0, 0], {}, r"y has 1 distinct class"),
        (np.ones((4, 2)), [0, 1, 0], {}, r"y\.shape == \(3,\), must be \(4,\)"),
        (np.ones((4, 2)), [0, 1, 0, 1], {"top_q": 5}, r"top_q == 5, must be in \[1, 4\]"),
        (np.ones((4, 2)), [0, 1, 0, 1], {"direction": "neg"}, r"direction == 'neg'"),
        (np.ones(4), [0, 1, 0, 1], {}, r"H\.ndim == 1, must be 2"),
    ],
)
def test_monosemanticity_bad_input(H, y, kw, match):
    with pytest.raises(ValueError, match=match):
        semantic_consistency(H, y, **kw)
