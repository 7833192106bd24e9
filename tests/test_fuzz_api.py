"""Bad calls to every public function of docs/INTERFACES.md's engine (``from sims import ...``) end in a
``ValueError`` whose one-line message names the argument - never numpy's own error, a TypeError, a
warning, NaN or inf.

Each example replaces ONE argument of a valid call by a generated bad value (wrong type, NaN, +-inf,
out of range, wrong shape or dtype, complex, empty, inconsistent with another argument). The default
run makes ``PER_FUNCTION`` = 60 examples per function (about 2500 bad calls, >= 300 counted over the
parametrization by the last test); ``HYPOTHESIS_PROFILE=deep`` makes 1000 per function.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sims
from sims import (
    FeatureSpec, LinearProbe, SyntheticBatches, ToyModelConfig, accuracy, add_input_noise, code_features, coherence,
    confusion_matrix, dimensionality, encode, feature_metrics, features_per_dimension, few_shot_indices,
    fisher_ratio, fisher_separation, fit_lda, fit_linear, fit_sgd, flip_labels, init_params, interference,
    make_code, make_labels, represented, sample_features, shift_spec, signed_margins, toy_gradients,
    toy_loss, train_toy_model, welch_bound,
)
from sims.engine import backend as B
from sims.engine.metrics import margins  # `from sims import margins` is the study package once it is imported

#: examples per function: the profile's max_examples (default 60: ~2500 bad calls in ~8 s; deep: 1000 each)
PER_FUNCTION = settings.default.max_examples
#: at least this many bad calls over the whole parametrization in the default run
MIN_TOTAL = 300
COUNTS: dict[str, int] = {}

NAN, INF = math.nan, math.inf

# ------------------------------------------------------------------------------------------------
# a valid pipeline: every case replaces one argument of a call built from these

SPEC = FeatureSpec(6, sparsity=0.5)
X = sample_features(SPEC, 40, 0)  # (40, 6)
Y = make_labels(X, "argmax", 1)  # (40,) in 0..5
Y2 = Y % 2
W = make_code("random", 6, 3, 0)  # (3, 6)
H = encode(W, X)  # (40, 3)
SCORES = X @ B.rng(0, "fuzz").standard_normal((6, 6))  # (40, 6)
PROBE = fit_linear(H, Y, 6)
TOY = ToyModelConfig(n_features=6, n_hidden=3, steps=2, log_every=1)
TOY_W, TOY_B = init_params(TOY)
BATCHES = [X[:8]] * 4


# ------------------------------------------------------------------------------------------------
# bad values

NOT_A_NUMBER = [None, "1", "abc", b"1", [1.0], (2,), {}, 1 + 2j, np.complex128(1j), np.array([1.0, 2.0]),
                np.str_("3"), object()]
NOT_AN_ARRAY = [None, "abc", 3, 2.5, {"a": 1}, object(), (1, 2)]


def bad_real(lo: float | None = None, hi: float | None = None, closed: str = "[]", *, arrays_ok: bool = False,
             extra=()) -> st.SearchStrategy:
    """Non-numbers, NaN, +-inf, and reals just outside ``[lo, hi]`` (open or closed ends). ``arrays_ok``: the
    argument takes arrays of reals too (so a list or array of valid values is not bad)."""
    plain = [v for v in NOT_A_NUMBER if not (arrays_ok and isinstance(v, (list, tuple, np.ndarray)))]
    parts = [st.sampled_from(plain + [NAN, INF, -INF, True, False, *extra])]
    if lo is not None:
        parts.append(st.floats(max_value=lo, exclude_max=closed[0] == "[", allow_nan=False, allow_infinity=False))
        parts.append(st.just(lo - 1) | st.just(np.float64(lo) - 0.5))
    if hi is not None:
        parts.append(st.floats(min_value=hi, exclude_min=closed[1] == "]", allow_nan=False, allow_infinity=False))
        parts.append(st.just(np.float32(hi) + np.float32(1.0)))
    return st.one_of(*parts)


def bad_int(lo: int | None = None, hi: int | None = None) -> st.SearchStrategy:
    """Non-integers (2.5, NaN, inf, bool, strings) and integers just outside ``[lo, hi]``."""
    parts = [st.sampled_from(NOT_A_NUMBER + [NAN, INF, -INF, True, 2.5, np.float64(1.5), np.float32(0.5)])]
    if lo is not None:
        parts.append(st.integers(max_value=lo - 1) | st.just(np.int64(lo - 1)))
    if hi is not None:
        parts.append(st.integers(min_value=hi + 1))
    return st.one_of(*parts)


def bad_seed() -> st.SearchStrategy:
    return st.sampled_from([-1, -(2**70), 1.5, "0", None, True, NAN, INF, [0], np.float64(0.5), 1j])


def bad_option(options) -> st.SearchStrategy:
    return st.sampled_from([None, 1, 1.5, True, b"x", ["a"], ("a",), "", " ", "AUTO", "nonsense"]).filter(
        lambda v: not _member(v, options)) | st.text(max_size=6).filter(lambda v: v not in options)


def _member(v, options) -> bool:
    try:
        return v in options
    except TypeError:
        return False


def _with(arr: np.ndarray, value: float, where: int | None = None) -> np.ndarray:
    out = np.array(arr, dtype=np.float64, copy=True)
    out.flat[len(out.flat) // 2 if where is None else where % len(out.flat)] = value
    return out


def bad_float_array(good: np.ndarray, *, ndims=None, list_ok: bool = False, finite: bool = True) -> st.SearchStrategy:
    """Non-arrays, NaN / inf entries (anywhere), complex, strings, object arrays, and arrays of a wrong ndim
    (any sizes)."""
    vals: list[Any] = list(NOT_AN_ARRAY)
    if not list_ok:
        vals.append(good.tolist())
    vals += [good.astype(np.complex128) + 1j, np.full(good.shape, "a"), np.empty(good.shape, dtype=object)]
    ndims = (good.ndim,) if ndims is None else ndims
    wrong = [k for k in range(0, 5) if k not in ndims and k <= max(ndims)]
    parts = [st.sampled_from(vals)]
    if wrong:
        parts.append(st.sampled_from(wrong).flatmap(
            lambda k: st.lists(st.integers(1, 4), min_size=k, max_size=k).map(lambda shp: np.ones(tuple(shp)))))
    if finite:
        parts.append(st.tuples(st.sampled_from([NAN, INF, -INF]), st.integers(0, good.size - 1)).map(
            lambda vw: _with(good, *vw)))
    return st.one_of(*parts)


def bad_labels(good: np.ndarray, n_classes: int | None, *, list_ok: bool = False) -> st.SearchStrategy:
    """Non-arrays, float / complex / string labels, negative labels, labels >= n_classes, wrong ndim."""
    vals: list[Any] = list(NOT_AN_ARRAY) + [good.astype(np.float64) + 0.5, good.astype(np.complex128),
                                            np.full(good.shape, "a"), np.zeros(())]
    if not list_ok:
        vals.append(good.tolist())
    def put(value: int, where: int) -> np.ndarray:
        out = good.copy()
        out[where % good.size] = value
        return out

    parts = [st.sampled_from(vals),
             st.tuples(st.integers(-(2**40), -1), st.integers(0, good.size - 1)).map(lambda vw: put(*vw))]
    if n_classes is not None:
        parts.append(st.tuples(st.integers(n_classes, n_classes + 1000), st.integers(0, good.size - 1)).map(
            lambda vw: put(*vw)))
    return st.one_of(*parts)


# ------------------------------------------------------------------------------------------------
# the cases: one function, its valid call, and bad values per argument


@dataclass
class Case:
    name: str
    call: Callable[[dict], Any]  # call(overrides) runs the function with one argument replaced
    bad: dict[str, st.SearchStrategy]
    #: the argument names the message may mention, when they differ from the key: a value inconsistent with
    #: another argument may be reported under either name (e.g. W's columns vs x's features)
    names: dict[str, tuple[str, ...]] | None = None

    def expected(self, arg: str) -> tuple[str, ...]:
        return (self.names or {}).get(arg, (arg.split(":")[0],))


def _kw(defaults: dict, over: dict) -> dict:
    return {**defaults, **over}


def _spec_call(o):
    return FeatureSpec(**_kw(dict(n_features=6, sparsity=0.5, amplitude=(0.0, 1.0), importance=None,
                                  frequency=None), o))


def _shape_bad(n: int) -> st.SearchStrategy:
    return st.sampled_from([np.full(n + 1, 0.5), np.full((2, n + 1), 0.5), np.full((2, 2, n), 0.5), np.zeros(0)])


CASES = [
    Case("FeatureSpec", _spec_call, {
        "n_features": bad_int(1),
        "sparsity": bad_real(0, 1, "[)") | _shape_bad(6) | st.just([0.1] * 5 + [1.0]) | st.just(np.array([])),
        "amplitude": st.sampled_from([(1.0, 0.0), (0.5, 0.5), (0.0, INF), (NAN, 1.0), (0.0,), (0.0, 1.0, 2.0), None,
                                      "ab", (0.0, 1j), 3.0]),
        "importance": st.sampled_from([[1.0] * 5, [0.0] * 6, [-1.0] + [1.0] * 5, [INF] * 6, "x", [1j] * 6]),
        "frequency": st.sampled_from([[0.0] * 6, [1.0] * 5, [-1.0] + [1.0] * 5, [NAN] * 6, "x", [1j] * 6]),
    }),
    Case("sample_features", lambda o: sample_features(**_kw(dict(spec=SPEC, n_samples=10, seed=0, start=0,
                                                                   sparsity=None, xp=None, dtype="float64"), o)), {
        "spec": st.sampled_from([None, 6, "spec", {"n_features": 6}]),
        "n_samples": bad_int(1),
        "seed": bad_seed(),
        "start": bad_int(0),
        "sparsity": bad_real(0, 1, "[)").filter(lambda v: v is not None)
        | st.sampled_from([np.array([]), np.zeros((2, 5)), np.zeros((2, 2, 6)), 0.5 + 3j, np.array([0.5 + 1j]),
                           [0.1, 1.0]]),
        "xp": st.sampled_from(["torch", "np", "", 3, "numpy ", object()]),
        "dtype": bad_option(("float64", "float32")).filter(lambda v: v is not None) | st.sampled_from(["int64", "float16"]),
    }, names={"xp": ("xp", "backend")}),
    Case("make_labels", lambda o: make_labels(**_kw(dict(x=X, task="argmax", seed=0, feature=0, start=0), o)), {
        "x": bad_float_array(X, ndims=(2, 3, 4)),
        "task": bad_option(("argmax", "presence", "detect")),
        "seed": bad_seed(),
        "start": bad_int(0),
    }),
    Case("make_labels(presence)", lambda o: make_labels(**_kw(dict(x=X, task="presence", feature=0), o)), {
        "feature": bad_int(0, 5),
    }),
    Case("flip_labels", lambda o: flip_labels(**_kw(dict(y=Y, n_classes=6, rate=0.2, seed=0, kind="symmetric",
                                                         matrix=None, start=0), o)), {
        "y": bad_labels(Y, 6),
        "n_classes": bad_int(2) | st.just(3),  # 3: y holds labels up to 5
        "rate": bad_real(0, 1, arrays_ok=True) | st.sampled_from([np.full((2, 3), 0.1), [0.1, 1.5], 0.2 + 1j]),
        "seed": bad_seed(),
        "kind": bad_option(("symmetric", "symmetric_all", "pair", "matrix")),
        "start": bad_int(0),
    }, names={"n_classes": ("n_classes", "y")}),
    Case("flip_labels(matrix)", lambda o: flip_labels(**_kw(dict(y=Y, n_classes=6, rate=1.0, seed=0, kind="matrix",
                                                                 matrix=np.full((6, 6), 1 / 6)), o)), {
        "matrix": st.sampled_from([None, np.full((6, 6), 0.5), np.full((5, 5), 0.2), np.full((6, 6), NAN),
                                   -np.eye(6), "m", np.eye(6) * (1 + 1j)])
        | st.lists(st.floats(0, 1), min_size=36, max_size=36).map(lambda v: np.reshape(v, (6, 6))).filter(
            lambda T: not np.allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-9)),
    }),
    Case("add_input_noise", lambda o: add_input_noise(**_kw(dict(x=X, scale=0.5, seed=0, kind="gaussian",
                                                                 start=0), o)), {
        "x": bad_float_array(X, ndims=(2, 3, 4)) | st.just(Y.reshape(8, 5)),
        "scale": bad_real(0, arrays_ok=True) | st.sampled_from([1e308, 1e200, np.full((3, 1, 7), 0.1), [0.1, -0.1],
                                                                 0.1 + 1j]),
        "seed": bad_seed(),
        "kind": bad_option(("gaussian", "uniform")),
        "start": bad_int(0),
    }),
    Case("add_input_noise(float32)", lambda o: add_input_noise(**_kw(dict(x=X.astype(np.float32), scale=0.5,
                                                                          seed=0), o)), {
        "scale": st.floats(1.9e19, 1e300) | st.sampled_from([1e39, 3e38, np.float64(1e20), INF]),
    }),
    Case("few_shot_indices", lambda o: few_shot_indices(**_kw(dict(y=Y, k=1, seed=0, n_classes=None), o)), {
        "y": bad_labels(Y, None) | st.just(Y.reshape(5, 8)) | st.just(np.zeros(0, dtype=np.int64)),
        "k": bad_int(1) | st.just(1000),
        "seed": bad_seed(),
        "n_classes": bad_int(1).filter(lambda v: v is not None) | st.just(3),
    }, names={"n_classes": ("n_classes", "y")}),
    Case("shift_spec", lambda o: shift_spec(**_kw(dict(spec=SPEC, sparsity=None, amplitude=None, frequency=None), o)), {
        "spec": st.sampled_from([None, 6, "spec"]),
        "sparsity": bad_real(0, 1, "[)").filter(lambda v: v is not None),
        "amplitude": st.sampled_from([(1.0, 0.0), (0.0, INF), "x", (0.0,)]),
        "frequency": st.sampled_from([[0.0] * 6, [1.0] * 5, [-1.0] * 6, "x"]),
    }),
    Case("make_code", lambda o: make_code(**_kw(dict(family="random", n_features=6, m=3, seed=0, xp=None,
                                                     dtype="float64"), o)), {
        "family": bad_option(("mono", "random", "antipodal", "frame")),
        "n_features": bad_int(1),
        "m": bad_int(1),
        "seed": bad_seed(),
        "dtype": bad_option(("float64", "float32")).filter(lambda v: v is not None) | st.just("int8"),
        "n_iter": bad_int(1),
    }),
    Case("make_code(mono, antipodal)", lambda o: make_code(**_kw(dict(family="mono", n_features=6, m=3), o)), {
        "m": st.integers(7, 100),
        "n_features": st.sampled_from([None, "6", -6]),
    }),
    Case("encode", lambda o: encode(**_kw(dict(W=W, x=X), o)), {
        "W": bad_float_array(W, ndims=(2, 3)) | st.just(np.zeros((3, 5))) | st.just(np.zeros((3, 6), dtype=np.int64)),
        "x": bad_float_array(X, ndims=(2, 3)) | st.just(np.zeros((4, 5))),
    }, names={"W": ("W", "x")}),
    Case("code_features", lambda o: code_features(**_kw(dict(W=W, x=X, readout="output", b=None), o)), {
        "W": st.sampled_from([None, "abc", np.zeros((3,)), np.zeros((2, 3, 6)), _with(W, NAN), W.astype(complex) + 1j]),
        "x": st.sampled_from([None, "abc", np.zeros((6,)), _with(X, INF), np.zeros((4, 5)), X.astype(complex) + 1j]),
        "readout": bad_option(("hidden", "output")),
        "b": st.sampled_from([np.zeros(5), np.full(6, NAN), "b", np.zeros((2, 2, 6)), np.zeros(6) + 1j]),
    }),
    Case("coherence", lambda o: coherence(**_kw(dict(W=W, tol=1e-6), o)), {
        "W": bad_float_array(W, ndims=(2, 3, 4)) | st.just(np.zeros((3, 6), dtype=np.int64)),
        "tol": bad_real(0),
    }),
    Case("welch_bound", lambda o: welch_bound(**_kw(dict(n=6, m=3), o)), {"n": bad_int(1), "m": bad_int(1)}),
    Case("features_per_dimension", lambda o: features_per_dimension(**_kw(dict(W=W), o)), {
        "W": bad_float_array(W, ndims=(2, 3, 4)),
    }),
    Case("dimensionality", lambda o: dimensionality(**_kw(dict(W=W, tol=1e-6), o)), {
        "W": bad_float_array(W, ndims=(2, 3, 4)), "tol": bad_real(0),
    }),
    Case("interference", lambda o: interference(**_kw(dict(W=W), o)), {"W": bad_float_array(W, ndims=(2, 3, 4))}),
    Case("represented", lambda o: represented(**_kw(dict(W=W, tol=1e-6), o)), {
        "W": bad_float_array(W, ndims=(2, 3, 4)), "tol": bad_real(0),
    }),
    Case("accuracy", lambda o: accuracy(**_kw(dict(scores=SCORES, y=Y), o)), {
        "scores": bad_float_array(SCORES, ndims=(2, 3)) | st.just(np.zeros((41, 6))),
        "y": bad_labels(Y, None) | st.just(np.zeros(41, dtype=np.int64)),
    }, names={"scores": ("scores", "y")}),
    Case("margins", lambda o: margins(**_kw(dict(scores=SCORES), o)), {
        "scores": bad_float_array(SCORES, ndims=(2, 3)) | st.just(np.zeros((40, 1))),
    }),
    Case("signed_margins", lambda o: signed_margins(**_kw(dict(scores=SCORES, y=Y), o)), {
        "scores": bad_float_array(SCORES, ndims=(2, 3)) | st.just(np.zeros((40, 1))),
        "y": bad_labels(Y, 6),
        "y:shape": st.just(np.zeros(41, dtype=np.int64)),
    }),
    Case("fisher_separation", lambda o: fisher_separation(**_kw(dict(v=H[:, 0], y=Y2, classes=(0, 1)), o)), {
        "v": bad_float_array(H[:, 0], ndims=(1, 2)) | st.just(np.zeros(41)),
        "y": bad_labels(Y2, None),
        "classes": st.sampled_from([(0, 0), (0,), (0, 1, 2), (-1, 0), (0.5, 1), "ab", None, (0, NAN)]),
    }),
    Case("fisher_ratio", lambda o: fisher_ratio(**_kw(dict(H=H, y=Y, n_classes=6), o)), {
        "H": bad_float_array(H, ndims=(2, 3)) | st.just(np.zeros((41, 3))),
        "y": bad_labels(Y, 6),
        "n_classes": bad_int(2) | st.just(3),
    }, names={"H": ("H", "y"), "n_classes": ("n_classes", "y")}),
    Case("confusion_matrix", lambda o: confusion_matrix(**_kw(dict(y_true=Y, y_pred=Y, n_classes=6), o)), {
        "y_true": bad_labels(Y, 6),
        "y_pred": bad_labels(Y, 6) | st.just(np.zeros(41, dtype=np.int64)),
        "n_classes": bad_int(1) | st.just(2),
    }, names={"n_classes": ("n_classes", "y_true", "y_pred")}),
    Case("fit_linear", lambda o: fit_linear(**_kw(dict(H=H, y=Y, n_classes=6, alpha=0.0, solver="auto",
                                                       fit_intercept=True, targets="onehot", sample_weight=None,
                                                       label_sets=None), o)), {
        "H": bad_float_array(H, ndims=(2, 3)) | st.sampled_from([np.zeros((40, 0)), np.zeros((0, 3)), H * 1e200,
                                                                np.zeros((41, 3))]),
        "y": bad_labels(Y, 6) | st.just(np.zeros(41, dtype=np.int64)),
        "n_classes": bad_int(2) | st.just(3),
        "alpha": bad_real(0),
        "solver": bad_option(("auto", "cholesky", "qr", "svd")),
        "fit_intercept": st.sampled_from([None, "yes", 2, "True", [True]]),
        "targets": bad_option(("onehot", "signed")),
        "sample_weight": st.sampled_from([np.full(40, -1.0), np.zeros(40), np.full(41, 1.0), _with(np.ones(40), NAN),
                                          "w", np.ones(40) + 1j]),
        "label_sets": st.sampled_from([1, "yes", 0.5]),
    }, names={"n_classes": ("n_classes", "y"), "H": ("H", "y")}),
    Case("fit_linear(float32 ridge, qr, cholesky)", lambda o: fit_linear(**_kw(dict(
        H=np.repeat(H, 2, axis=1).astype(np.float32), y=Y, n_classes=6, alpha=1e-3, solver="cholesky"), o)), {
        "alpha": st.just(0.0) | bad_real(0),  # 0: a rank-deficient H for Cholesky
        "H": st.floats(1e18, 1e38).map(lambda c: (np.hstack([H, H]) * c).astype(np.float32)),
    }),
    Case("fit_lda", lambda o: fit_lda(**_kw(dict(H=H, y=Y, n_classes=6, shrinkage=0.0, priors="empirical",
                                                 label_sets=None), o)), {
        "H": bad_float_array(H, ndims=(2, 3)) | st.sampled_from([np.zeros((40, 0)), H * 1e200]),
        "y": bad_labels(Y, 6),
        "n_classes": bad_int(2),
        "shrinkage": bad_real(0, 1),
        "priors": bad_option(("empirical", "uniform")),
        "label_sets": st.sampled_from([1, "yes", 0.5]),
    }, names={"n_classes": ("n_classes", "y")}),
    Case("fit_sgd", lambda o: fit_sgd(**_kw(dict(H=H, y=Y, n_classes=6, max_iter=5, warn=False), o)), {
        "H": bad_float_array(H, ndims=(2, 3)) | st.sampled_from([np.zeros((40, 0)), H * 1e200, H * 1e160]),
        "y": bad_labels(Y, 6),
        "n_classes": bad_int(2) | st.just(3),
        "loss": bad_option(("softmax", "logistic", "hinge")),
        "alpha": bad_real(0).filter(lambda v: v is not None),
        "C": bad_real(0, None, "(]").filter(lambda v: v is not None),
        "solver": bad_option(("auto", "lbfgs", "gd")),
        "batch_size": bad_int(1, 40).filter(lambda v: v is not None),
        "max_iter": bad_int(0).filter(lambda v: v is not None),
        "tol": bad_real(0),
        "seed": bad_seed(),
        "memory": bad_int(1),
        "threads": bad_int(1).filter(lambda v: v is not None),
        "warm_start": st.sampled_from(["hot", 1, None, PROBE.coef]),
        "warn": st.sampled_from([None, 2, "yes", "False"]),
        "lr": bad_real(0, None, "(]").filter(lambda v: not isinstance(v, str)) | st.sampled_from(["fast", ""]),
    }, names={"n_classes": ("n_classes", "y")}),
    Case("fit_sgd(gd, divergence)", lambda o: fit_sgd(**_kw(dict(H=H, y=Y, n_classes=6, solver="gd", lr=1.0,
                                                                 max_iter=20, warn=False), o)), {
        "lr": st.floats(1e3, 1e300) | st.sampled_from([INF, 1e6]),
    }),
    Case("fit_sgd(hinge, huge H)", lambda o: fit_sgd(**_kw(dict(H=H, y=Y, n_classes=6, loss="hinge", warn=False), o)), {
        "H": st.floats(1e155, 1e300).map(lambda s: H * s),
    }),
    Case("LinearProbe.scores/predict", lambda o: (PROBE.predict if o.pop("method", "scores") == "predict"
                                                  else PROBE.scores)(**_kw(dict(H=H), o)), {
        "H": bad_float_array(H, ndims=(2, 3)) | st.just(np.zeros((40, 4))),
    }),
    Case("ProbeClassifier.fit", lambda o: _probe_classifier(o), {
        "loss": bad_option(("squared", "softmax", "logistic", "hinge")),
        "alpha": bad_real(0),
        "tol": bad_real(0, None, "(]"),
        "solver": bad_option(("auto", "lbfgs", "gd")),
        "max_iter": bad_int(0).filter(lambda v: v is not None),
    }),  # X and y go through scikit-learn's own validation (its multi-line messages, by its contract)
    Case("ToyModelConfig", lambda o: ToyModelConfig(**_kw(dict(n_features=6, n_hidden=3, steps=2), o)), {
        "n_features": bad_int(1), "n_hidden": bad_int(1), "n_instances": bad_int(1), "steps": bad_int(1),
        "lr": bad_real(0, None, "(]"), "eps": bad_real(0, None, "(]"), "log_every": bad_int(1), "seed": bad_seed(),
        "betas": st.sampled_from([(1.0, 0.9), (0.9,), (-0.1, 0.9), (NAN, 0.9), "b", None]),
        "importance": st.sampled_from([[1.0] * 5, [-1.0] * 6, [INF] * 6, "i", np.ones((2, 6))]),
        "instance_keys": st.sampled_from([(0, 1), (-1,), ("a",), (1.5,)]),
        "dtype": bad_option(("float32", "float64")),
        "solver": bad_option(("auto", "generic", "numpy")),
    }),
    Case("SyntheticBatches", lambda o: SyntheticBatches(**_kw(dict(spec=SPEC, sparsity=[0.5, 0.9], batch_size=8,
                                                                   seed=0), o)), {
        "spec": st.sampled_from([None, "spec", 0, -3, 2.5]),
        "sparsity": bad_real(0, 1, "[)").filter(lambda v: v is not None)
        | st.sampled_from([np.zeros((2, 5)), np.zeros((2, 2, 6)), np.array([]), [0.5, 1.0]]),
        "batch_size": bad_int(1), "seed": bad_seed(), "steps": bad_int(1).filter(lambda v: v is not None),
        "dtype": bad_option(("float32", "float64")),
    }),
    Case("train_toy_model", lambda o: train_toy_model(**_kw(dict(config=TOY, batches=BATCHES), o)), {
        "config": st.sampled_from([None, {"n_features": 6}, "cfg", 3]),
        "batches": st.sampled_from([None, 3, [X[:8]], [X[:8, :5]] * 4, [_with(X[:8], NAN)] * 4, ["x"] * 4,
                                    [np.zeros((0, 6))] * 4, [np.zeros((2, 8, 6))] * 4]),
        "evaluator": st.sampled_from([1, "f"]),
        "eval_every": bad_int(1).filter(lambda v: v is not None),
        "init": st.sampled_from([(np.zeros((1, 3, 5)), np.zeros((1, 6))), (TOY_W, np.zeros((1, 5))),
                                 (_with(TOY_W, NAN), TOY_B)]),
        "threads": bad_int(1).filter(lambda v: v is not None),
        "chunk": bad_int(1).filter(lambda v: v is not None),
    }),
    Case("toy_loss", lambda o: toy_loss(**_kw(dict(W=W, b=np.zeros(6), x=X, importance=None), o)), {
        "W": bad_float_array(W, ndims=(2, 3)),
        "b": st.sampled_from([np.zeros(5), np.zeros((2, 6)), np.full(6, NAN), "b", None]),
        "x": bad_float_array(X, ndims=(2, 3)) | st.just(np.zeros((4, 5))),
        "importance": st.sampled_from([np.ones(5), -np.ones(6), np.full(6, INF), "i", 1.0]),
    }),
    Case("toy_gradients", lambda o: toy_gradients(**_kw(dict(W=W, b=np.zeros(6), x=X, importance=None), o)), {
        "W": bad_float_array(W, ndims=(2, 3)),
        "x": bad_float_array(X, ndims=(2, 3)) | st.just(np.zeros((4, 5))),
    }),
    Case("feature_metrics", lambda o: feature_metrics(**_kw(dict(W=W, threshold=0.5), o)), {
        "W": bad_float_array(W, ndims=(2, 3, 4)),
        "threshold": bad_real(0),
    }),
    Case("init_params", lambda o: init_params(**_kw(dict(config=TOY, xp=None), o)), {
        "config": st.sampled_from([None, {"n_features": 6}, "cfg", 3]),
        "xp": st.sampled_from(["torch", "", "NUMPY", 3]) | st.text(max_size=8).filter(
            lambda t: t not in ("numpy", "cupy", "array_api_strict", "")),
    }, names={"xp": ("xp", "backend")}),
    Case("backend: resolve_backend / resolve_dtype", lambda o: (
        B.resolve_backend(o["name"]) if "name" in o else B.resolve_dtype(B.resolve_backend("numpy"), o["dtype"])), {
        "name": st.sampled_from(["torch", "", "NUMPY", "jax"]) | st.text(max_size=5).filter(
            lambda s: s not in ("numpy", "cupy", "array_api_strict", "")),
        "dtype": bad_option(("float64", "float32")).filter(lambda v: v is not None) | st.just("int32"),
    }, names={"name": ("backend",)}),
    Case("backend: rng / seed_sequence / draw_rows", lambda o: (
        B.draw_rows(0, o.get("start", 0), o.get("stop", 5), lambda g, k: g.random((k, 2)))
        if ("start" in o or "stop" in o) else B.rng(o["seed"], "key")), {
        "seed": bad_seed(),
        "start": bad_int(0),
        "stop": bad_int(0),
    }),
]


def _probe_classifier(o: dict) -> Any:
    from sims import ProbeClassifier

    return ProbeClassifier(**_kw(dict(loss="softmax", max_iter=5), o)).fit(H, Y)


# ------------------------------------------------------------------------------------------------
# the harness


def _names(msg: str, args: tuple[str, ...]) -> bool:
    """``msg`` names one of ``args`` as a word of its own, possibly with accessors (``y ==``, ``W.shape[-1]``,
    ``init[0].shape``, ``'n_iter'``) - not a letter inside another word."""
    return any(re.search(rf"(?:^|[\s('\"`]){re.escape(a)}(?:\.\w+|\[[^\]]*\])*['\"`]?(?=[\s,:;)]|$)", msg)
               for a in args)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_calls_raise_a_value_error_naming_the_argument(case):
    seen: list[str] = []

    @settings(max_examples=PER_FUNCTION, database=None)
    @given(data=st.data())
    def check(data):
        arg = data.draw(st.sampled_from(sorted(case.bad)), label="argument")
        value = data.draw(case.bad[arg], label="value")
        over = {arg.split(":")[0]: value}
        if case.name.startswith("LinearProbe"):
            over["method"] = data.draw(st.sampled_from(["scores", "predict"]), label="method")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning (e.g. a discarded imaginary part) is not an answer
            with pytest.raises(ValueError) as info:
                case.call(over)
        msg = str(info.value)
        assert "\n" not in msg, msg
        assert _names(msg, case.expected(arg)), f"{case.name}({arg}={value!r}): {msg!r} does not name {arg!r}"
        seen.append(arg)

    check()
    COUNTS[case.name] = len(seen)
    assert len(seen) == PER_FUNCTION  # every strategy space is unbounded: hypothesis stops at max_examples


def test_bad_calls_were_counted_over_the_whole_parametrization():
    """Runs last (file order): the harness made at least MIN_TOTAL bad calls (skipped under ``-k``)."""
    if len(COUNTS) < len(CASES):
        pytest.skip("only part of the parametrization ran")
    assert sum(COUNTS.values()) >= MIN_TOTAL, COUNTS
    assert {c.name for c in CASES} == set(COUNTS)


def test_every_engine_name_of_the_interface_is_covered():
    """Every callable of ``sims.__all__`` (docs/INTERFACES.md) has a case above, or a reason here."""
    covered = {c.name.split("(")[0].split(".")[0].split(":")[0].strip() for c in CASES}
    covered |= {"resolve_backend", "resolve_dtype", "rng", "seed_sequence", "draw_rows", "LinearProbe"}
    reasons = {
        "ConvergenceWarning": "a warning class", "ToyModelResult": "a result record (built by train_toy_model)",
        "Interval": "tested in tests/test_validation_backend.py (the validators themselves)",
        "check_array": "a validator", "check_number": "a validator", "check_option": "a validator",
        "check_seed": "a validator", "check_values": "a validator",
        "get_namespace": "any object's namespace (no argument to validate)",
        "asarray": "a thin wrapper of xp.asarray", "to_numpy": "a thin wrapper of numpy conversion",
        "t_interval": "see test_stats_helpers_refuse_bad_input",
        "t_stats": "see test_stats_helpers_refuse_bad_input",
        "crossing": "see test_stats_helpers_refuse_bad_input",
    }
    missing = sorted(set(sims.__all__) - covered - set(reasons))
    assert missing == []


def test_float32_pipelines_work_where_float64_works():
    """Audit: 18 of 72 float32 pipeline configurations failed with a message about 'alpha == 0' where
    float64 worked (a ridge Gram matrix that is not positive definite in float32): the auto solver now
    falls back to the SVD, and an explicit solver names alpha's real value and the dtype."""
    rng = np.random.default_rng(0)
    for n in (2000, 20000):
        Hd = rng.random((n, 16)) * 10
        Hd = np.hstack([Hd, Hd])  # duplicated features (dead / copied units of an encoder)
        y = rng.integers(0, 4, n)
        for probe in (lambda h: fit_linear(h, y, 4, alpha=1e-3), lambda h: fit_linear(h, y, 4, alpha=1e-2),
                      lambda h: fit_sgd(h, y, 4, max_iter=5, warn=False)):
            p64, p32 = probe(Hd), probe(Hd.astype(np.float32))
            assert p32.coef.dtype == np.float32 and np.all(np.isfinite(p32.coef))
            acc64 = float(accuracy(p64.scores(Hd), y))
            acc32 = float(accuracy(p32.scores(Hd.astype(np.float32)), y))
            assert abs(acc64 - acc32) < 0.02
    with pytest.raises(ValueError, match=r"alpha == 0.001 in float32 .*use solver='svd'"):
        fit_linear(np.hstack([Hd, Hd]).astype(np.float32), y, 4, alpha=1e-3, solver="cholesky")


def test_from_sims_import_margins_is_the_study_package_not_a_shadowed_metric():
    """The metric ``margins`` is not a lazy name of ``sims`` (it collided with the study package
    ``sims.margins``): ``sims.margins`` is the package, the metric lives in sims.engine.metrics."""
    import importlib

    import sims.margin_sweep  # noqa: F401 - imports the study package sims.margins
    from sims.engine.metrics import margins as metric

    assert "margins" not in sims.__all__ and "signed_margins" in sims.__all__
    assert importlib.import_module("sims").margins is importlib.import_module("sims.margins") is not metric


@pytest.mark.parametrize("call, arg", [
    (lambda: sims.t_interval(["a"]), "values"),
    (lambda: sims.t_interval([1.0, 2.0], 1.5), "level"),
    (lambda: sims.t_stats(np.ones((2, 2))), "v"),
    (lambda: sims.crossing("ab", "cd"), "levels"),
])
def test_stats_helpers_refuse_bad_input(call, arg):
    with pytest.raises(ValueError) as info:
        call()
    assert _names(str(info.value), (arg,))


@pytest.mark.parametrize("kw, arg", [
    (dict(weight=1e200), "weight"),
    (dict(label_noise=np.array([0.1, 0.2]), input_noise=np.array([0.1, 0.2, 0.3])), "input_noise"),
])
def test_theory_separation_refuses_bad_input(kw, arg):
    from theory.two_feature import separation

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            separation("poly", 0.5, **kw)
    assert _names(str(info.value), (arg, "label_noise"))


# ------------------------------------------------------------------------------------------------
# the audit's library findings, one by one (each raised no error, the wrong error, or numpy's own before)

_X50 = sample_features(FeatureSpec(3), 50, 0)
_Y50 = make_labels(_X50, "argmax", 1)


@pytest.mark.parametrize("call, needle", [
    (lambda: add_input_noise(X, 1e308, 0), "scale == 1e+308, must be in [0, 1.34"),
    (lambda: add_input_noise(X.astype(np.float32), 1e39, 0), "scale == 1e+39, must be in [0, 1.84"),
    (lambda: fit_sgd(_X50, _Y50, 3, solver="gd", lr=INF), "lr == inf, must be in (0, inf)"),
    (lambda: fit_sgd(_X50, _Y50, 3, solver="gd", lr=1e6), "lr == 1e+06, gradient descent diverged"),
    (lambda: fit_sgd(_X50, _Y50, 3, solver="gd", lr=1e6, batch_size=10), "lr == 1e+06, gradient descent diverged"),
    (lambda: fit_linear(_X50, _Y50, 3, alpha=INF), "alpha == inf, must be in [0, inf)"),
    (lambda: fit_sgd(_X50 * 1e200, _Y50, 3, loss="hinge"), "H contains values up to"),
    (lambda: fit_linear(np.zeros((50, 0)), _Y50, 3), "H.shape == (50, 0), must have at least 1 feature"),
    (lambda: flip_labels([0, 1, 2], 3, 0.2, 0), "y == [0, 1, 2], must be an array"),
    (lambda: sample_features(SPEC, 5, 0, sparsity=0.5 + 3j), "sparsity == (0.5+3j), must be real numbers"),
    (lambda: sample_features(SPEC, 5, 0, sparsity=np.array([])), "sparsity has shape (0,)"),
    (lambda: fit_sgd(_X50, _Y50, 3, alpha=INF), "alpha == inf, must be in [0, inf)"),
])
def test_audit_bad_library_calls_are_value_errors_naming_the_argument(call, needle):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            call()
    assert needle in str(info.value), str(info.value)


def test_gradient_descent_with_a_safe_step_is_unchanged_and_never_nan():
    """The divergence check never fires for lr <= 1 / Lipschitz (the default): the full-batch objective
    decreases at every step."""
    probe = fit_sgd(_X50, _Y50, 3, solver="gd", max_iter=300, warn=False)
    assert np.all(np.isfinite(probe.coef)) and float(probe.objective) < np.log(3)


@pytest.mark.parametrize("kw, names", [
    (dict(transition=(np.array([0.1, 0.2]), 0.1), input_noise=np.array([0.1, 0.2, 0.3])),
     ("transition[0].shape == (2,)", "input_noise.shape == (3,)")),
    (dict(margin_noise=(0.3, np.array([0.1, 0.2])), sparsity=np.array([0.1, 0.2, 0.3])),
     ("margin_noise[1].shape == (2,)", "sparsity.shape == (3,)")),
])
def test_theory_label_models_name_arrays_that_do_not_broadcast(kw, names):
    from theory.two_feature import class_moments, separation

    S = kw.pop("sparsity", 0.5)
    for fn in (separation, class_moments):
        with pytest.raises(ValueError, match="must broadcast together") as info:
            fn("poly", S, **kw)
        assert all(n in str(info.value) for n in names)
