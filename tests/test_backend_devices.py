"""The engine on array-api-strict's second device: every public function keeps its arrays on the device
of its inputs (or of the enclosing ``sims.engine.backend.using`` block) and returns numbers equal to
numpy's. A silent mix with host arrays raises, so these tests would fail on any such slip."""
from __future__ import annotations

import numpy as np
import pytest

strict = pytest.importorskip("array_api_strict")

from sims import (  # noqa: E402
    FeatureSpec,
    SyntheticBatches,
    ToyModelConfig,
    accuracy,
    add_input_noise,
    coherence,
    confusion_matrix,
    encode,
    few_shot_indices,
    fisher_ratio,
    fit_lda,
    fit_linear,
    fit_sgd,
    flip_labels,
    make_code,
    make_labels,
    sample_features,
    signed_margins,
    train_toy_model,
)
from sims.engine import backend as B  # noqa: E402

DEV = strict.Device("device1")
SPEC = FeatureSpec(12, sparsity=0.8)


def _pipeline(xp):
    x = sample_features(SPEC, 300, 0, xp=xp)
    y = make_labels(x, "argmax", 0)
    out = {"x": x, "y": y, "flipped": flip_labels(y, 12, 0.2, 1), "noisy": add_input_noise(x, 0.1, 2)}
    W = make_code("random", 12, 4, 3, xp=xp)
    H = encode(W, x)
    out.update(W=W, H=H, coherence=coherence(W), frame=make_code("frame", 12, 4, 0, xp=xp),
               few=few_shot_indices(y, 2, 0, n_classes=12))
    lin = fit_linear(H, y, 12, alpha=0.1)
    out.update(lin=lin.coef, acc=accuracy(lin.predict(H), y), margins=signed_margins(lin.scores(H), y),
               lda=fit_lda(H, y, 12, shrinkage=0.1).coef, sgd=fit_sgd(H, y, 12, alpha=0.1).coef,
               fisher=fisher_ratio(H, y, 12), confusion=confusion_matrix(lin.predict(H), y, 12))
    toy = train_toy_model(ToyModelConfig(n_features=12, n_hidden=4, steps=20), SyntheticBatches(SPEC, 0.8, 32, 0), xp=xp)
    out["toy_W"] = toy.W
    return out


def test_engine_stays_on_the_second_device_and_equals_numpy():
    with B.using("array_api_strict", DEV) as xp:
        dev = _pipeline(xp)
    host = _pipeline(B.resolve_backend("numpy"))
    for name, a in dev.items():
        assert B.device_of(a) == DEV, name
        np.testing.assert_allclose(B.to_numpy(a), np.asarray(host[name]), rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_host_array_mixed_in_fails_loudly():
    """What the tests above rely on: the strict second device refuses silent mixing with the default one."""
    with B.using("array_api_strict", DEV) as xp:
        x = sample_features(SPEC, 10, 0, xp=xp)
        with pytest.raises(ValueError, match="different devices"):
            x + xp.asarray(np.ones((10, 12)))
        with pytest.raises(RuntimeError):
            np.asarray(x)


def test_using_resolves_the_default_backend_and_device():
    assert B.default_backend_name() in ("numpy", "cupy", "array_api_strict")
    with B.using("array_api_strict", "device1") as xp:
        assert B.default_backend_name() == "array_api_strict" and B.resolve_backend() is xp
        assert B.device_of(B.asarray(np.ones(3), xp)) == DEV
    with pytest.raises(ValueError, match=r"device == 'gpu7', must be one of CPU_DEVICE, device1, device2"):
        with B.using("array_api_strict", "gpu7"):
            pass
    with pytest.raises(ValueError, match=r"backend == 'torch', must be one of"):
        with B.using("torch"):
            pass
