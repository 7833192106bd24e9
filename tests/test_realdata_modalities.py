"""Real data of any kind: images, 1-D signals, vectors and precomputed features, end to end.

Covers ``prepare_dataset`` / ``prepare_features`` (modalities, validation, fuzzing), the signal and
vector views and shifts, the encoders per modality, ``realdata.activations.capture``, and the CLI on a
signal dataset, a vector dataset and a features file (raw and supervised baselines in every table), plus
every bad input of the audit (one line on stderr, exit 2, nothing written) and a cache keyed on content.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from realdata import modalities  # noqa: E402
from realdata import signal as S  # noqa: E402
from realdata import vector as V  # noqa: E402
from realdata.activations import capture, layer_names  # noqa: E402
from realdata.augment import make_generator  # noqa: E402
from realdata.data import (  # noqa: E402
    array_digest,
    load_npz,
    prepare_dataset,
    prepare_features,
    synthetic_signals,
)
from realdata.encoders import EncoderConfig, encode, train_encoder  # noqa: E402
from realdata.run import build_parser, main, make_config  # noqa: E402
from sims.sweep.io import read_csv  # noqa: E402

TINY = ["--replicate", "0,1", "--epochs", "1", "--sae-epochs", "2", "--hidden", "16", "--feature-dim", "8",
        "--sae-k", "2", "--label-noise", "0,0.5", "--few-shot", "2,0", "--quiet"]


def _signals(n: int = 96, length: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = synthetic_signals(n, length, seed=seed)
    return X[:, 0, :], y  # (N, L): flat rows, a signal only when the modality says so


def _vectors(n: int = 90, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = g.normal(size=(n, d)) + 2.0 * np.eye(3, d)[y]
    return X, y


# --------------------------------------------------------------------------- prepare_dataset
def test_modality_follows_the_shape_never_a_silent_reshape():
    X, y = _vectors(40, 16)
    assert prepare_dataset(X, y).modality == "vector"  # 16 = 4 x 4 stays a vector
    assert prepare_dataset(X, y, image_shape=(4, 4)).input_shape == (1, 4, 4)
    assert prepare_dataset(X.reshape(40, 4, 4), y).modality == "image"
    assert prepare_dataset(X.reshape(40, 1, 4, 4), y).input_shape == (1, 4, 4)
    s = prepare_dataset(X, y, modality="signal")
    assert s.modality == "signal" and s.input_shape == (1, 16)
    assert prepare_dataset(X.reshape(40, 2, 8), y, modality="signal").input_shape == (2, 8)
    assert prepare_dataset(X.reshape(40, 2, 8), y, modality="vector").input_shape == (16,)


def test_signals_and_vectors_are_standardized_on_the_training_split():
    X, y = _signals(120, 32)
    d = prepare_dataset(X * 50.0 + 7.0, y, modality="signal", seed=1)
    assert abs(float(d.X_train.mean())) < 1e-5 and abs(float(d.X_train.std()) - 1.0) < 1e-4
    Xv, yv = _vectors(90, 5)
    Xv[:, 2] = 3.0  # a constant feature stays finite (0)
    v = prepare_dataset(Xv * np.arange(1, 6) + 100.0, yv)
    np.testing.assert_allclose(v.X_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(v.X_train.std(axis=0), [1, 1, 0, 1, 1], atol=1e-4)
    assert np.all(np.isfinite(v.X_test))


@pytest.mark.parametrize("X, y, kw, match", [
    (np.arange(40.0).reshape(10, 4), [0, 1] * 5, {"modality": "image"}, r"is flat: images need image_shape"),
    (np.arange(40.0).reshape(10, 4), [0, 1] * 5, {"modality": "signal", "image_shape": (2, 2)}, r"image_shape only applies to images"),
    (np.arange(80.0).reshape(10, 2, 2, 2), [0, 1] * 5, {"modality": "signal"}, r"signals must be \(N, L\) or \(N, C, L\)"),
    (np.ones((10, 4)), [0, 1] * 5, {}, r"X is constant \(every value == 1\)"),
    (np.arange(40.0).reshape(10, 4) * 1e38, [0, 1] * 5, {}, r"X contains 3\.9e\+39, must be within the float32 range"),
    (np.arange(40.0).reshape(10, 4), [0] * 10, {}, r"y has 1 distinct class"),
    (np.arange(40.0).reshape(10, 4), [0, 1] * 5, {"modality": "audio"}, r"modality == 'audio', must be one of"),
    (np.array([[1.0, 2.0], [3.0]], dtype=object), [0, 1], {}, r"X\.dtype == object"),
    (np.arange(40.0).reshape(10, 4) + 1j, [0, 1] * 5, {}, r"X\.dtype == complex128, must be a real numeric type"),
])
def test_prepare_dataset_bad_input(X, y, kw, match):
    with pytest.raises(ValueError, match=match):
        prepare_dataset(X, y, **kw)


def test_ragged_rows_are_named():
    with pytest.raises(ValueError, match=r"X is ragged: every sample must have the same shape"):
        prepare_dataset([[1.0, 2.0], [3.0]], [0, 1])


_dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.int8, np.bool_])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 30), shape=st.lists(st.integers(0, 5), min_size=0, max_size=3), dtype=_dtypes,
       modality=st.sampled_from([None, "image", "signal", "vector"]),
       image_shape=st.one_of(st.none(), st.lists(st.integers(-1, 4), min_size=1, max_size=4)),
       special=st.sampled_from([None, "nan", "inf", "huge", "const"]), n_classes=st.integers(1, 4),
       seed=st.integers(0, 3))
def test_prepare_dataset_fuzz(n, shape, dtype, modality, image_shape, special, n_classes, seed):
    """Any input either gives a valid Dataset or a ValueError naming what is wrong — never another
    exception, never NaN / inf in the result."""
    g = np.random.default_rng(seed)
    X = (g.normal(size=(n, *shape)) * 3).astype(dtype) if n and np.prod(shape or [1]) else np.zeros((n, *shape), dtype)
    X = X.astype(np.float64) if special else X
    if special and X.size:
        X.flat[0] = {"nan": np.nan, "inf": np.inf, "huge": 1e39, "const": 0.0}[special]
        if special == "const":
            X[...] = 2.0
    y = np.arange(n) % n_classes
    try:
        d = prepare_dataset(X, y, modality=modality, image_shape=image_shape, seed=seed)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for A in (d.X_train, d.X_test):
        assert A.dtype == np.float32 and np.all(np.isfinite(A)) and A.shape[1:] == d.input_shape
    assert d.modality in ("image", "signal", "vector") and len(d.input_shape) == modalities.get(d.modality).ndim
    assert sorted(np.concatenate([d.train_index, d.test_index]).tolist()) == list(range(n))
    assert set(np.unique(d.y_train)) == set(range(d.n_classes)) == set(np.unique(d.y_test))


def test_prepare_features_with_given_test_and_ood_sets():
    g = np.random.default_rng(0)
    H, y = g.normal(size=(60, 5)) * 4 + 1, np.repeat([3, 8], 30)
    d = prepare_features(H, y, H_test=g.normal(size=(20, 5)), y_test=np.repeat([8, 3], 10),
                         H_ood=g.normal(size=(7, 5)), y_ood=[3] * 7)
    assert d.precomputed and d.modality == "vector" and d.X_train.shape == (60, 5) and d.X_test.shape == (20, 5)
    assert d.y_test.tolist() == [1] * 10 + [0] * 10 and d.y_ood.tolist() == [0] * 7
    assert abs(float(np.mean(d.X_train.var(axis=0))) - 1.0) < 1e-5  # mean variance 1 per coordinate
    with pytest.raises(ValueError, match=r"y_test contains 5, a class that y \(training\) does not have"):
        prepare_features(H, y, H_test=H[:4], y_test=[5, 3, 3, 3])
    with pytest.raises(ValueError, match=r"H_test\.shape == \(4, 3\), must have 5 features like H"):
        prepare_features(H, y, H_test=H[:4, :3], y_test=[3] * 4)
    with pytest.raises(ValueError, match=r"H_ood and y_ood must be given together"):
        prepare_features(H, y, H_ood=H)


# --------------------------------------------------------------------------- signal / vector views and shifts
def test_signal_shifts_known_answers():
    x = np.zeros((1, 1, 10), np.float32)
    x[0, 0, 2] = 1.0
    assert np.argmax(S.time_shift(x, 0.3)[0, 0]) == 5  # moves 3 samples later
    np.testing.assert_allclose(S.time_scale(x, 0.0), x)
    stretched = S.time_scale(x, 1.0)[0, 0]  # twice as slow: the spike at 2 lands at 4
    assert np.argmax(stretched) == 4 and stretched[4] == pytest.approx(1.0)
    const = np.full((2, 3, 12), 0.7, np.float32)
    np.testing.assert_allclose(S.smooth(const, 2.0), const, atol=1e-6)  # replicate padding
    ramp = S.add_trend(np.zeros((1, 2, 5), np.float32), 2.0)[0]
    np.testing.assert_allclose(ramp, [[0, 0.5, 1, 1.5, 2]] * 2, atol=1e-6)
    with pytest.raises(ValueError, match=r"time_shift contains 0\.01, moves a signal of length 10 by 0 samples"):
        S.check_shift("time_shift", 0.01, (1, 10))
    with pytest.raises(ValueError, match=r"shift == 'rotation', must be one of"):
        S.check_shift("rotation", 10.0, (1, 10))


def test_signal_views_keep_shape_and_are_seeded():
    x = torch.from_numpy(synthetic_signals(32, 40)[0])
    cfg = S.SignalAugmentConfig()
    a = S.random_view(x, cfg, make_generator(0, "v"))
    b = S.random_view(x, cfg, make_generator(0, "v"))
    c = S.random_view(x, cfg, make_generator(1, "v"))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    ident = S.SignalAugmentConfig(crop=(1.0, 1.0), shift=0.0, amplitude=(1.0, 1.0), jitter=0.0, mask=0.0)
    torch.testing.assert_close(S.random_view(x, ident, make_generator(0, "v")), x)  # the identity view
    with pytest.raises(ValueError, match=r"crop == \(0\.5, 1\.2\), must be \(lo, hi\) with 0 < lo <= hi <= 1"):
        S.SignalAugmentConfig(crop=(0.5, 1.2))


def test_vector_views_and_shifts():
    x = torch.arange(40.0).reshape(8, 5)
    mixed = V.random_view(x, V.VectorAugmentConfig(mix=1.0, noise=0.0), make_generator(0, "m"))
    for j in range(5):  # every value comes from the same column of some row (its empirical marginal)
        assert set(mixed[:, j].tolist()) <= set(x[:, j].tolist())
    ident = V.random_view(x, V.VectorAugmentConfig(mix=0.0, mask=0.0, noise=0.0), make_generator(0, "m"))
    assert torch.equal(ident, x)
    xs = x.numpy()
    np.testing.assert_allclose(V.apply_shift(xs, "mean_shift", 0.5), xs + 0.5)
    np.testing.assert_allclose(V.apply_shift(xs, "scaling", 1.0), 2 * xs)
    masked = V.apply_shift(xs, "block_mask", 0.4)
    assert np.all(masked[:, :2] == 0) and np.array_equal(masked[:, 2:], xs[:, 2:])
    with pytest.raises(ValueError, match=r"block_mask contains 0\.05, masks 0 of 5 features"):
        V.check_shift("block_mask", 0.05, (5,))


def test_image_shift_that_cannot_apply_is_named():
    img = modalities.get("image")
    with pytest.raises(ValueError, match=r"translation contains 1, must be in \[0, 0\] for images of 1 x 40 pixels"):
        img.check_shift("translation", 1.0, (1, 1, 40))
    with pytest.raises(ValueError, match=r"rotation cannot apply to images of 1 x 40 pixels"):
        img.check_shift("rotation", 15.0, (1, 1, 40))


# --------------------------------------------------------------------------- encoders per modality
@pytest.mark.parametrize("shape, arch", [((1, 24), "cnn"), ((2, 24), "mlp"), ((6,), "mlp")])
def test_encoders_per_modality(shape, arch):
    g = np.random.default_rng(0)
    X = g.normal(size=(40, *shape)).astype(np.float32)
    y = np.arange(40) % 2
    for variant in ("cl", "ce"):
        model, log = train_encoder(X, EncoderConfig(variant=variant, arch=arch, hidden=16, feature_dim=8, epochs=1,
                                                    batch_size=16), 0, y=y, n_classes=2)
        H = encode(model, X)
        assert H.shape == (40, 8) and np.all(np.isfinite(H)) and len(log.losses) == 1
    with pytest.raises(ValueError, match=r"samples must have the model's input shape"):
        encode(model, X[:, ..., :-1] if len(shape) > 1 else X[:, :-1])


# --------------------------------------------------------------------------- capture
def _tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3))


def test_capture_equals_the_forward_pass_by_hand():
    X, _ = _vectors(50, 6)
    model = _tiny_model()
    model.train()
    H = capture(model, "2", X.astype(np.float32))  # one batch: bit for bit the forward pass
    with torch.no_grad():
        by_hand = model[2](model[1](model[0](torch.from_numpy(X.astype(np.float32))))).numpy()
    np.testing.assert_array_equal(H, by_hand)
    np.testing.assert_allclose(capture(model, "2", X.astype(np.float32), batch_size=7), H, rtol=1e-5, atol=1e-6)
    assert H.dtype == np.float32 and model.training  # the mode is restored
    loader = [(torch.from_numpy(X[i:i + 16].astype(np.float32)), None) for i in range(0, 50, 16)]
    np.testing.assert_allclose(capture(model, "2", loader), H, rtol=1e-5, atol=1e-6)  # DataLoader-style batches
    assert layer_names(model) == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match=r"layer == 'fc' is not a submodule of the model, must be one of '0', '1'"):
        capture(model, "fc", X)
    with pytest.raises(ValueError, match=r"batch_size == 0, must be in \[1, inf\)"):
        capture(model, "2", X, batch_size=0)


# --------------------------------------------------------------------------- CLI end to end
def _acc_table(out: Path) -> dict[tuple[str, str], float]:
    return {(r["representation"], r["replicate"]): float(r["value"]) for r in read_csv(out / "results.csv")
            if r["scenario"] == "label_noise" and float(r["level"]) == 0 and r["metric"] == "accuracy"}


def _check_outputs(out: Path, reps: set[str], scenarios: set[str]) -> list[dict]:
    rows = read_csv(out / "results.csv")
    assert {r["representation"] for r in rows} == reps
    assert scenarios <= {r["scenario"] for r in rows}
    assert all(np.isfinite(float(r["value"])) for r in rows if r["metric"] == "accuracy")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "RAW" in report and "Paired differences vs RAW" in report
    summary = read_csv(out / "summary.csv")
    assert {s["representation"] for s in summary} == reps
    return rows


@pytest.mark.slow
def test_cli_signal_dataset(tmp_path):
    X, y = _signals(120, 24)
    np.savez(tmp_path / "sig.npz", X=X, y=y)
    out = tmp_path / "run"
    assert main(["--data", str(tmp_path / "sig.npz"), "--modality", "signal", "--out", str(out), *TINY]) == 0
    rows = _check_outputs(out, {"raw", "ce", "cl", "ncl", "sae"},
                          {"time_shift", "time_scale", "smoothing", "trend", "gaussian_noise", "few_shot"})
    assert not {"rotation", "translation"} & {r["scenario"] for r in rows}
    cfg = json.loads((out / "config.json").read_text())["identity"]["config"]
    assert cfg["modality"] == "signal" and cfg["time_shift"] == [0.0, 0.05, 0.1, 0.2]


@pytest.mark.slow
def test_cli_vector_dataset(tmp_path):
    X, y = _vectors(90, 6)
    np.savez(tmp_path / "vec.npz", X=X, y=y)
    out = tmp_path / "run"
    assert main(["--data", str(tmp_path / "vec.npz"), "--out", str(out), *TINY]) == 0
    _check_outputs(out, {"raw", "ce", "cl", "ncl", "sae"}, {"mean_shift", "scaling", "block_mask"})


@pytest.mark.slow
def test_capture_feeds_features_like_activations_saved_by_hand(tmp_path):
    """A features run on captured activations equals one on the same activations computed by hand."""
    X, y = _vectors(90, 6)
    model = _tiny_model(1)
    np.savez(tmp_path / "cap.npz", H=capture(model, "2", X.astype(np.float32)), y=y)
    with torch.no_grad():
        H = torch.relu(model[1](torch.from_numpy(X.astype(np.float32)))).numpy()
    np.savez(tmp_path / "hand.npz", H=H, y=y)
    outs = []
    for name in ("cap", "hand"):
        out = tmp_path / f"run_{name}"
        assert main(["--features", str(tmp_path / f"{name}.npz"), "--out", str(out), *TINY[:-1], "--quiet"]) == 0
        outs.append(out)
    assert (outs[0] / "results.csv").read_bytes() == (outs[1] / "results.csv").read_bytes()
    _check_outputs(outs[0], {"raw", "pca", "ce", "ncl", "sae"}, {"label_noise", "gaussian_noise", "few_shot"})


@pytest.mark.slow
def test_cli_features_with_test_and_ood_sets(tmp_path):
    g = np.random.default_rng(3)
    y = np.arange(120) % 3
    H = g.normal(size=(120, 8)) + 3 * np.eye(3, 8)[y]
    np.savez(tmp_path / "f.npz", H=H[:90], y=y[:90], H_test=H[90:], y_test=y[90:],
             H_ood=H[90:] * 0.5 + 1.0, y_ood=y[90:])
    out = tmp_path / "run"
    assert main(["--features", str(tmp_path / "f.npz"), "--out", str(out), *TINY, "--sae-k", "2,4"]) == 0
    rows = _check_outputs(out, {"raw", "pca", "ce", "ncl", "sae_k2", "sae_k4"}, {"ood"})
    ood = [r for r in rows if r["scenario"] == "ood" and r["metric"] == "accuracy"]
    assert len(ood) == 2 * 6 and {float(r["level"]) for r in ood} == {1.0}


# --------------------------------------------------------------------------- bad input
def _write(path: Path, kind: str, xk: str = "X") -> None:
    X, y = _vectors(40, 4)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    arrays = {"missing": {xk: X}, "object": {xk: np.array([X[0], X[1][:2]], dtype=object), "y": y[:2]},
              "overflow": {xk: X * 1e39, "y": y}, "constant": {xk: np.ones_like(X), "y": y},
              "one_class": {xk: X, "y": np.zeros_like(y)}, "nan": {xk: Xn, "y": y}, "good": {xk: X, "y": y}}
    if kind == "npy":
        np.save(path, X)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("X,y\n1,2\n")
    elif kind in ("truncated", "corrupt"):
        np.savez(path, **arrays["good"])
        b = bytearray(path.read_bytes())
        if kind == "truncated":
            b = b[: len(b) // 2]
        else:  # the stored array data overwritten, directory intact: the CRC check fails
            b[80:400] = b"\xff" * 320
        path.write_bytes(bytes(b))
    else:
        np.savez(path, **arrays[kind])


@pytest.mark.parametrize("kind, match", [
    ("npy", "is not a .npz archive (an .npy file holds one array"),
    ("empty", "is an empty file"),
    ("truncated", "is not a .npz archive"),
    ("corrupt", "is truncated or corrupt"),
    ("text", "is not a .npz archive"),
    ("missing", "lacks array 'y'"),
    ("object", "holds object arrays"),
    ("overflow", "must be within the float32 range"),
    ("constant", "X is constant"),
    ("one_class", "y has 1 distinct class"),
    ("nan", "X contains 1 NaN or infinite values"),
])
@pytest.mark.parametrize("flag", ["--data", "--features"])
def test_cli_bad_files_are_one_line_exit_2(kind, match, flag, tmp_path, capsys):
    path = tmp_path / ("bad.npy" if kind == "npy" else "bad.npz")
    _write(path, kind, "X" if flag == "--data" else "H")
    if flag == "--features":
        match = match.replace("X ", "H ")
    out = tmp_path / "o"
    rc = main(["--quick", flag, str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and match in err, err
    assert f"{flag[2:]} == " in err or "X " in err or "H " in err or "y " in err, err  # names the flag or the array
    assert not out.exists()


@pytest.mark.parametrize("args, match", [
    (["--few-shot", "1,1"], "few_shot == 1,1 repeats 1, values must be distinct"),
    (["--label-noise", "0,0.2,0.2"], "label_noise == 0,0.2,0.2 repeats 0.2"),
    (["--data", "signals", "--rotation", "0,15"], "rotation == 0,15 does not apply to signals"),
    (["--data", "tabular", "--arch", "cnn"], "arch == 'cnn', must be one of 'mlp'"),
    (["--data", "digits", "--translation", "0,9"], "translation contains 9, must be in [0, 7]"),
    (["--data", "signals", "--time-shift", "0,1.5"], "time_shift == 1.5, must be in [0, 1)"),
    (["--modality", "audio"], "modality == 'audio', must be one of"),
    (["--data", "tabular", "--modality", "image"], "modality == 'image', but data == 'tabular' is a bundled vector dataset"),
    (["--features", "x.npz", "--data", "wine"], "are both given"),
])
def test_cli_bad_flags_are_one_line_exit_2(args, match, tmp_path, capsys):
    rc = main(["--quick", *args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and match in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cache_keys_on_the_data_content_not_the_path(tmp_path, capsys):
    """Rerunning into the same folder after the file changed never returns the old file's results."""
    path, out = tmp_path / "d.npz", tmp_path / "run"
    X, y = _vectors(90, 6)
    np.savez(path, X=X, y=y)
    args = ["--data", str(path), "--out", str(out), *TINY, "--representations", "raw,pca"]
    assert main(args) == 0
    first = (out / "results.csv").read_bytes()
    assert main(args) == 0 and (out / "results.csv").read_bytes() == first  # same content: cached
    np.savez(path, X=X[::-1].copy(), y=y[::-1].copy())
    capsys.readouterr()
    assert main(args) == 2
    assert "holds results of a different config" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    assert (out / "results.csv").read_bytes() != first
    digest = json.loads((out / "config.json").read_text())["identity"]["config"]["data_digest"]
    assert digest == array_digest(X[::-1].copy(), y[::-1].copy())


# --------------------------------------------------------------------------- fuzzing the data flags
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), n=st.integers(2, 24),
       modality=st.sampled_from([None, "auto", "image", "signal", "vector", "bogus"]),
       image_shape=st.one_of(st.none(), st.lists(st.integers(-1, 6), min_size=1, max_size=4)),
       classes=st.integers(1, 3), feature_file=st.booleans(),
       shift=st.sampled_from([None, ("--rotation", "0,15"), ("--time-shift", "0,0.5"), ("--block-mask", "0,0.5"),
                              ("--translation", "0,1")]))
def test_cli_data_flags_fuzz(tmp_path_factory, shape, n, modality, image_shape, classes, feature_file, shift):
    """Random data files and data flags: the configuration either resolves (and the run could start) or
    stops with one ValueError line naming a flag, and then main() exits 2 writing nothing."""
    tmp = tmp_path_factory.mktemp("fz")
    g = np.random.default_rng(n)
    X = g.normal(size=(n, *shape))
    y = np.arange(n) % classes
    path = tmp / "d.npz"
    np.savez(path, **({"H": X, "y": y} if feature_file else {"X": X, "y": y}))
    argv = ["--quick", "--features" if feature_file else "--data", str(path)]
    if modality is not None:
        argv += ["--modality", modality]
    if image_shape is not None:
        argv += ["--image-shape", ",".join(map(str, image_shape))]
    if shift is not None:
        argv += list(shift)
    argv += ["--few-shot", "1,0"]
    try:
        cfg = make_config(build_parser().parse_args(argv))
    except ValueError as exc:
        assert "\n" not in str(exc)
        out = tmp / "o"
        assert main([*argv, "--out", str(out)]) == 2 and not out.exists()
        return
    except SystemExit as exc:  # argparse: a malformed value (e.g. --image-shape -1,x)
        assert exc.code == 2
        return
    assert cfg.data_digest and len(cfg.representations) >= 3


@pytest.mark.slow
def test_readme_capture_example_runs(tmp_path, monkeypatch):
    """The README's capture example, as written, makes a features file that the CLI takes."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "capture(" in b]
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    exec(compile(snippet, "README.md", "exec"), {})
    z = load_npz(tmp_path / "hidden.npz", ("H", "y"))
    assert z["H"].shape == (1797, 32) and z["H"].min() >= 0  # ReLU activations
    assert main(["--features", "hidden.npz", "--out", str(tmp_path / "run"), *TINY]) == 0
    assert (tmp_path / "run" / "report.md").is_file()


def test_memory_budget_refuses_up_front(tmp_path, capsys):
    from realdata.run import RealDataConfig, load_dataset, memory_need

    cfg = RealDataConfig.quick().resolved()
    need = memory_need(cfg, load_dataset(cfg, 0))
    assert set(need) == {"--data", "--representations", "--sae-expansion"} and all(v > 0 for v in need.values())
    X, y = _vectors(5000, 500)  # about 0.1 GB of arrays per replicate
    np.savez(tmp_path / "big.npz", X=X, y=y)
    rc = main(["--quick", "--data", str(tmp_path / "big.npz"), "--memory-budget", "0.05", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "over --memory-budget == 0.05 GB; lower --" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_probes_run_on_the_array_backend_with_equal_results(tmp_path):
    """The real-data probes under array-api-strict on its second device (any silent mix with host numpy
    would raise) give the numpy run's results.csv, and the manifest records the backend."""
    pytest.importorskip("array_api_strict")
    X, y = _vectors(90, 6)
    np.savez(tmp_path / "f.npz", H=X, y=y)
    outs = {}
    for backend, extra in (("numpy", []), ("array_api_strict", ["--device", "device1"])):
        out = tmp_path / backend
        assert main(["--features", str(tmp_path / "f.npz"), "--out", str(out), "--backend", backend, *extra, *TINY]) == 0
        outs[backend] = out
        assert json.loads((out / "manifest.json").read_text())["backend"]["name"] == backend
    assert (outs["numpy"] / "results.csv").read_bytes() == (outs["array_api_strict"] / "results.csv").read_bytes()
