"""The paper's four robustness scenarios (label noise, input noise, few-shot, out-of-distribution) on any
code, read out by the engine's probes. Reusable: any ``W`` (planted, trained, from real data).

Task (docs/DESIGN.md): planted spike-and-uniform features ``x in R^n`` (:class:`sims.engine.generators.FeatureSpec`),
label ``y = argmax_i x_i`` (``C = n`` classes; tied maxima, e.g. all-zero rows, broken uniformly at
random). Codes ``W`` of shape ``(m, n)`` or a batch ``(K, m, n)`` sharing the same data (common random
numbers: every code sees the same samples, flips, noise draws and subsets). Readout (what the probe
reads): ``"hidden"``: ``h = x Wᵀ`` (default); ``"output"``: the toy model's output
``ReLU(x WᵀW + b)``. Probe: ``"ls"`` least squares on one-hot targets (``sims.engine.probes.fit_linear``,
ridge ``alpha``, default 0 = minimum-norm least squares by SVD) or ``"softmax"`` (``sims.engine.sgd.fit_sgd``,
L-BFGS, ``alpha`` or 1e-4 when ``alpha == 0``). **Accuracy is always measured against the clean test
labels.**

Scenarios (each returns accuracies with a leading code axis ``K``):

* :func:`label_noise`: the training labels are flipped with probability ``eta`` (``"symmetric"``: to a
  uniformly chosen other class; ``"pair"``, asymmetric: ``c -> c+1 mod C``; ``"classcond"``, one-sided
  class-conditional: ``2k+1 -> 2k`` at ``eta``, class ``2k`` never (theory.two_feature ``transition=(0, eta)``
  on each feature pair); ``"margin"``, near the decision boundary: with probability ``eta exp(-margin / tau)``
  to the runner-up class, margin = top minus runner-up planted feature (``margin_noise=(eta, tau)``)); flips are nested in
  ``eta`` and shared by the nested training subsets ``[:n_train]``; one factorization of the training
  code per ``n_train`` serves every ``eta`` (label sets).
* :func:`input_noise`: ``x + lam z`` on the planted features, before the code, ``z`` i.i.d. ``N(0, 1)``
  (``"gaussian"``) or ``U(-√3, √3)`` (``"uniform"``; std ``lam`` either way), at ``"test"`` (probe
  trained on clean codes), ``"train"`` (test clean) or ``"both"``; one noise draw per sample shared by
  every ``lam``.
* :func:`few_shot`: ``k`` training samples per class (stratified, nested in ``k``), ``k = 0`` = the whole
  training set.
* :func:`ood`: the probe is trained in distribution (``n_train`` clean samples); each test set is drawn
  from a shifted law (:class:`Shift`: ``density=f`` multiplies firing probabilities by ``f``,
  ``amplitude=v`` makes active features ``U(lo, v)``, ``frequency=g`` tilts firing weights
  log-linearly, ``f_i = g^(i/(n-1))``: ``g > 1`` moves firing mass to the high-index (least important)
  features, ``g < 1`` to the low-index ones).

Array backend: data are drawn on the host (numpy Generators) and the scenarios compute on the active
backend of ``sims.engine.backend`` (the runner's ``using`` block: numpy, CuPy, array-api-strict): the
codes, encodings, probes and accuracies stay on its device; :func:`to_backend` moves a task's arrays
there once. Each scenario returns its accuracies to the host once, as one numpy array. Host steps, said
where they are: the runner-up feature of the margin noise (a stable sort by key) and the shifted test
laws of :func:`ood` (drawn on the host like all data).

Random streams: every scenario draws from ``sims.engine.backend.seed_sequence(data.seed, <scenario key>)``,
so a scenario's draws do not depend on which other scenarios ran.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sims.engine import backend as B
from sims.engine.codes import READOUTS, code_features as features
from sims.engine.generators import (
    NOISE_KINDS,
    FeatureSpec,
    add_input_noise,
    few_shot_indices,
    flip_labels,
    make_labels,
    sample_features,
    shift_spec,
)
from sims.engine.validation import (
    NONNEG,
    UNIT,
    Interval,
    check_array,
    check_number,
    check_option,
    check_values,
)

__all__ = [
    "READOUTS",
    "PROBES",
    "LABEL_NOISE_KINDS",
    "INPUT_NOISE_KINDS",
    "NOISE_AT",
    "SHIFT_KINDS",
    "TaskData",
    "Shift",
    "make_task",
    "features",
    "noisy_labels",
    "label_noise",
    "input_noise",
    "few_shot",
    "few_shot_pool",
    "ood",
    "ood_test_set",
    "parse_shift",
    "shifted_spec",
]

PROBES = ("ls", "softmax")
LABEL_NOISE_KINDS = ("symmetric", "pair", "classcond", "margin")
INPUT_NOISE_KINDS = NOISE_KINDS
NOISE_AT = ("test", "train", "both")
SHIFT_KINDS = ("density", "amplitude", "frequency")
_SOFTMAX_ALPHA = 1e-4  # used by the softmax probe when alpha == 0 (separable data would diverge)
_CHUNK = 4096  # test rows scored at once


# ---------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskData:
    """Clean training and test data of the argmax task (host numpy, float64 / int64).

    x_train (N, n), y_train (N,), x_test (T, n), y_test (T,); spec : the law they were drawn from;
    seed : the root of every scenario's random stream.
    """

    spec: FeatureSpec
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: Any
    #: the same arrays on a backend's device (:func:`to_backend`): ``(backend name, {field: array})``
    device: tuple[str, dict] | None = None

    @property
    def n_classes(self) -> int:
        return self.spec.n_features

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])


def to_backend(data: TaskData) -> TaskData:
    """``data`` with a mirror of its arrays on the active backend's device (one move per array)."""
    xp = B.resolve_backend()
    name = B.backend_name(xp)
    if data.device is not None and data.device[0] == name:
        return data
    mirror = {f: B.asarray(getattr(data, f), xp) for f in ("x_train", "y_train", "x_test", "y_test")}
    return dataclasses.replace(data, device=(name, mirror))


def _on(data: TaskData, field: str) -> Any:
    """A field of ``data`` on the active backend (its mirror, else moved now)."""
    xp = B.resolve_backend()
    if data.device is not None and data.device[0] == B.backend_name(xp):
        return data.device[1][field]
    return B.asarray(getattr(data, field), xp)


def _dev(a: Any, dtype: Any = None) -> Any:
    """A host array on the active backend (arrays already there pass)."""
    xp = B.resolve_backend()
    if _is_on(a, xp):
        return a
    return B.asarray(np.asarray(a), xp, dtype=dtype)


def make_task(spec: FeatureSpec, n_train: int, n_test: int, seed: Any) -> TaskData:
    """Draw ``n_train`` training and ``n_test`` test samples of ``spec`` with argmax labels.

    The training rows are one stream, so ``[:k]`` of a larger draw equals a draw of ``k`` rows (nested
    training sets); test rows are an independent stream.
    """
    if not isinstance(spec, FeatureSpec):
        raise ValueError(f"spec == {spec!r}, must be a FeatureSpec")
    n_train = check_number("n_train", n_train, Interval(2, 10**8), integer=True)
    n_test = check_number("n_test", n_test, Interval(1, 10**8), integer=True)
    ss = B.seed_sequence(seed) if not isinstance(seed, np.random.SeedSequence) else seed
    tr, te = B.seed_sequence(ss, "train"), B.seed_sequence(ss, "test")
    x_tr = np.asarray(B.to_numpy(sample_features(spec, n_train, tr)), dtype=np.float64)
    x_te = np.asarray(B.to_numpy(sample_features(spec, n_test, te)), dtype=np.float64)
    y_tr = np.asarray(B.to_numpy(make_labels(x_tr, "argmax", tr)), dtype=np.int64)
    y_te = np.asarray(B.to_numpy(make_labels(x_te, "argmax", te)), dtype=np.int64)
    return TaskData(spec, x_tr, y_tr, x_te, y_te, ss)


def _codes(W: Any, b: Any, n: int) -> tuple[Any, Any, bool]:
    """``W`` as ``(K, m, n)`` float64 on the active backend (and whether it was a single code), ``b`` as
    ``(K, n)`` or None. Host arrays move once; arrays already on the backend stay."""
    xp = B.resolve_backend()
    on = _is_on(W, xp)
    check_array("W", W if on else np.asarray(B.to_numpy(W)), ndim=(2, 3))
    single = len(W.shape) == 2
    if W.shape[-1] != n:
        raise ValueError(f"W.shape == {tuple(W.shape)}, last axis must equal n_features == {n}")
    W = xp.astype(W, xp.float64) if on else _dev(np.asarray(B.to_numpy(W), dtype=np.float64))
    W = W[None, ...] if single else W
    if b is not None:
        on_b = _is_on(b, xp)
        check_array("b", b if on_b else np.asarray(B.to_numpy(b)), ndim=(1, 2))
        if b.shape[-1] != n or (len(b.shape) == 2 and b.shape[0] not in (1, W.shape[0])):
            raise ValueError(f"b.shape == {tuple(b.shape)}, must be ({n},) or ({W.shape[0]}, {n})")
        b = xp.astype(b, xp.float64) if on_b else _dev(np.asarray(B.to_numpy(b), dtype=np.float64))
        b = xp.broadcast_to(b, (W.shape[0], n))
    return W, b, single


def _is_on(a: Any, xp: Any) -> bool:
    return hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray) and \
        B.backend_name(B.get_namespace(a)) == B.backend_name(xp)


def _check_common(readout: str, probe: str, alpha: float) -> float:
    check_option("readout", readout, READOUTS)
    check_option("probe", probe, PROBES)
    return check_number("alpha", alpha, NONNEG)


def _n_trains(data: TaskData, n_train: Any) -> tuple[int, ...]:
    if n_train is None:
        return (data.n_train,)
    vals = np.atleast_1d(np.asarray(n_train))
    if vals.ndim != 1 or vals.size == 0:
        raise ValueError(f"n_train == {n_train!r}, must be an int or a non-empty 1-D sequence of ints")
    out = tuple(check_number("n_train", v, Interval(2, data.n_train), integer=True) for v in vals.tolist())
    return out


def _fit(H: Any, y: Any, C: int, probe: str, alpha: float, label_sets: bool) -> tuple[Any, Any]:
    """Fitted ``(coef (..., d, C), intercept (..., C))`` on the backend of ``H``."""
    if probe == "ls":
        from sims.engine.probes import fit_linear

        pr = fit_linear(H, y, C, alpha=alpha, label_sets=label_sets)
    else:
        import warnings

        from sims.engine.sgd import ConvergenceWarning, fit_sgd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported accuracy is what it is
            pr = fit_sgd(H, y, C, loss="softmax", alpha=alpha if alpha > 0 else _SOFTMAX_ALPHA,
                         label_sets=label_sets)
    return pr.coef, pr.intercept


def _accuracy(H: Any, coef: Any, icpt: Any, y: Any) -> Any:
    """Accuracy of probes ``coef (..., d, C)`` on ``H (N, d)`` (or ``(..., N, d)``) against ``y (N,)``;
    rows scored in chunks, on the backend of ``H``. Returns ``(...)`` there."""
    xp = B.get_namespace(H)
    N = y.shape[0]
    hits = None
    for lo in range(0, N, _CHUNK):
        hi = min(N, lo + _CHUNK)
        s = xp.matmul(H[..., lo:hi, :], coef) + icpt[..., None, :]
        h = xp.sum(xp.astype(xp.argmax(s, axis=-1) == y[lo:hi], xp.int64), axis=-1)
        hits = h if hits is None else hits + h
    return xp.astype(hits, xp.float64) / N


def _host(parts: list, shape: tuple[int, ...]) -> np.ndarray:
    """Accuracies computed on the backend (a list of arrays of equal shape), brought to the host in one
    transfer, as ``shape``."""
    xp = B.get_namespace(parts[0])
    return np.reshape(B.to_numpy(xp.stack(parts)), shape)


# ---------------------------------------------------------------------------------------------------
# label noise
# ---------------------------------------------------------------------------------------------------
def noisy_labels(data: TaskData, rates: Any, *, kind: str = "symmetric", n_train: int | None = None,
                 tau: float = 0.1) -> np.ndarray:
    """The noisy training labels used by :func:`label_noise`: ``(R, n_train)`` for ``R`` rates, on the
    active backend (flips nested in the rate; rows ``[:k]`` are the labels of the first ``k`` samples).
    ``tau``: the scale of ``kind="margin"``."""
    check_option("kind", kind, LABEL_NOISE_KINDS)
    r = check_values("rates", rates, UNIT)
    r = np.atleast_1d(r)
    N = data.n_train if n_train is None else check_number("n_train", n_train, Interval(1, data.n_train), integer=True)
    ss = B.seed_sequence(data.seed, "scenario", "label-noise", kind)
    y, C = _on(data, "y_train")[:N], data.n_classes
    if kind == "classcond":
        T = np.eye(C)
        for k in range(1, C, 2):
            T[k, k], T[k, k - 1] = 0.0, 1.0
        return flip_labels(y, C, r[:, None], ss, kind="matrix", matrix=T)
    if kind == "margin":
        tau = check_number("tau", tau, Interval(0.0, 1e6, "(]"))
        x, yh = data.x_train[:N], data.y_train[:N]  # host: the runner-up is a stable sort by key
        order = np.argsort(-x, axis=1, kind="stable")
        rows = np.arange(N)
        runner = np.where(order[:, 1] == yh, order[:, 0], order[:, 1])  # ties at the top: the other tied feature
        return flip_labels(y, C, r[:, None], ss, kind="margin", margin=x[rows, order[:, 0]] - x[rows, runner],
                           scale=tau, target=runner)
    return flip_labels(y, C, r[:, None], ss, kind=kind)


def label_noise(W: Any, data: TaskData, rates: Any, *, kind: str = "symmetric", n_train: Any = None,
                readout: str = "hidden", b: Any = None, probe: str = "ls", alpha: float = 0.0,
                tau: float = 0.1) -> np.ndarray:
    """Clean-test accuracy of probes trained on noisy labels.

    Returns ``(K, len(n_train), len(rates))`` for a batch of codes, ``(len(n_train), len(rates))`` for one.
    """
    alpha = _check_common(readout, probe, alpha)
    rates = np.atleast_1d(check_values("rates", rates, UNIT))
    ns = _n_trains(data, n_train)
    W, b, single = _codes(W, b, data.n_classes)
    Y = noisy_labels(data, rates, kind=kind, n_train=max(ns), tau=tau)  # (R, N)
    C = data.n_classes
    x_tr, x_te, y_te = _on(data, "x_train")[: max(ns), ...], _on(data, "x_test"), _on(data, "y_test")
    parts = []
    for k in range(W.shape[0]):
        bk = None if b is None else b[k, ...]
        H_tr = features(W[k, ...], x_tr, readout=readout, b=bk)
        H_te = features(W[k, ...], x_te, readout=readout, b=bk)
        for nt in ns:
            coef, icpt = _fit(H_tr[:nt, ...], Y[:, :nt], C, probe, alpha, True)  # (R, d, C)
            parts.append(_accuracy(H_te, coef, icpt, y_te))  # (R,)
    out = _host(parts, (W.shape[0], len(ns), len(rates)))
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------------
# input noise
# ---------------------------------------------------------------------------------------------------
def _noise(data: TaskData, x: Any, kind: str, which: str) -> Any:
    """Unit-variance noise ``z`` for the rows of ``x`` (stream per kind and train/test), on ``x``'s device."""
    ss = B.seed_sequence(data.seed, "scenario", "input-noise", which)
    xp = B.get_namespace(x)
    return add_input_noise(xp.zeros_like(x), 1.0, ss, kind=kind)


def input_noise(W: Any, data: TaskData, scales: Any, *, kind: str = "gaussian", at: str = "test",
                n_train: Any = None, readout: str = "hidden", b: Any = None, probe: str = "ls",
                alpha: float = 0.0) -> np.ndarray:
    """Clean-label test accuracy with input noise ``x + lam z`` at ``at`` ("test", "train", "both").

    Returns ``(K, len(n_train), len(scales))`` for a batch of codes (without ``K`` for one).
    """
    alpha = _check_common(readout, probe, alpha)
    check_option("kind", kind, INPUT_NOISE_KINDS)
    check_option("at", at, NOISE_AT)
    lams = np.atleast_1d(check_values("scales", scales, Interval(0.0, 1e6, "[]")))
    ns = _n_trains(data, n_train)
    W, b, single = _codes(W, b, data.n_classes)
    C, N = data.n_classes, max(ns)
    x_tr, x_te = _on(data, "x_train")[:N, ...], _on(data, "x_test")
    y_tr, y_te = _on(data, "y_train"), _on(data, "y_test")
    z_tr = _noise(data, x_tr, kind, "train") if at in ("train", "both") else None
    z_te = _noise(data, x_te, kind, "test") if at in ("test", "both") else None
    xp = B.get_namespace(x_tr)
    linear = readout == "hidden"
    acc: dict[tuple[int, int, int], Any] = {}
    for k in range(W.shape[0]):
        bk = None if b is None else b[k, ...]

        def enc(x: Any) -> Any:
            return features(W[k, ...], x, readout=readout, b=bk)

        if linear:  # h(x + lam z) = h(x) + lam h(z): no re-encoding per level
            Wt = xp.matrix_transpose(W[k, ...])
            H_tr, H_te = xp.matmul(x_tr, Wt), xp.matmul(x_te, Wt)
            Z_tr = None if z_tr is None else xp.matmul(z_tr, Wt)
            Z_te = None if z_te is None else xp.matmul(z_te, Wt)
        # the probe of every training size: trained once on clean inputs ("test"), per level otherwise
        clean = [_fit(H_tr[:nt, ...] if linear else enc(x_tr[:nt, ...]), y_tr[:nt], C, probe, alpha, False)
                 for nt in ns] if at == "test" else None
        Hte = (H_te if linear else enc(x_te)) if at == "train" else None
        for i, lv in enumerate(lams.tolist()):  # test codes of a level serve every training size
            if at != "train":
                Hte = (H_te + lv * Z_te) if linear else enc(x_te + lv * z_te)
            for j, nt in enumerate(ns):
                coef, icpt = clean[j] if at == "test" else _fit(
                    (H_tr[:nt, ...] + lv * Z_tr[:nt, ...]) if linear else enc(x_tr[:nt, ...] + lv * z_tr[:nt, ...]),
                    y_tr[:nt], C, probe, alpha, False)
                acc[(k, j, i)] = _accuracy(Hte, coef, icpt, y_te)
    K = W.shape[0]
    out = _host([acc[(k, j, i)] for k in range(K) for j in range(len(ns)) for i in range(len(lams))],
                (K, len(ns), len(lams)))
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------------
# few-shot
# ---------------------------------------------------------------------------------------------------
#: the few-shot pool grows by at most this many times max(n_train, n_classes * k) rows
_POOL_GROWTH = 50


def few_shot_pool(data: TaskData, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The training rows of ``data`` followed by the next rows of its training stream (``make_task``'s rows are
    one stream), as many as needed for every class to have ``k`` samples; ``None`` when the training set already
    has them (``k = 0`` included). Host ``(x, y)``. ValueError naming ``few_shot`` when a class stays short after
    ``_POOL_GROWTH`` times the rows (a class that almost never wins the argmax)."""
    C, n0 = data.n_classes, data.n_train
    counts = np.bincount(data.y_train, minlength=C)[:C]
    if k <= 0 or counts.min() >= k:
        return None
    tr = B.seed_sequence(data.seed, "train")
    step = max(n0, C * k)
    limit = n0 + _POOL_GROWTH * step
    xs, ys, start = [data.x_train], [data.y_train], n0
    while counts.min() < k:
        if start >= limit:
            c = int(np.argmin(counts))
            raise ValueError(f"few_shot contains {k}, but class {c} has {int(counts[c])} samples in {start} rows of "
                             f"the training stream; lower few_shot or the number of features")
        x = np.asarray(B.to_numpy(sample_features(data.spec, step, tr, start=start)), dtype=np.float64)
        y = np.asarray(B.to_numpy(make_labels(x, "argmax", tr, start=start)), dtype=np.int64)
        xs.append(x)
        ys.append(y)
        counts += np.bincount(y, minlength=C)[:C]
        start += step
    return np.concatenate(xs), np.concatenate(ys)


def few_shot(W: Any, data: TaskData, ks: Sequence[int], *, readout: str = "hidden", b: Any = None,
             probe: str = "ls", alpha: float = 0.0) -> np.ndarray:
    """Clean-test accuracy of probes trained on ``k`` samples per class (``k = 0``: all ``n_train``).

    Subsets are stratified and nested in ``k`` (``sims.engine.generators.few_shot_indices``). When a class of
    the training set has fewer than ``max(ks)`` samples (many classes, few rows: argmax classes are equally
    likely but their counts vary), the pool goes on with the next rows of the same training stream until every
    class has them (:func:`few_shot_pool`); ``k = 0`` always means the training set itself. Returns
    ``(K, len(ks))`` (``(len(ks),)``).
    """
    alpha = _check_common(readout, probe, alpha)
    ks = tuple(check_number("k", k, Interval(0, 10**8), integer=True) for k in np.atleast_1d(np.asarray(ks)).tolist())
    if not ks:
        raise ValueError("ks == (), must list at least one k (0 = all training samples)")
    W, b, single = _codes(W, b, data.n_classes)
    C = data.n_classes
    ss = B.seed_sequence(data.seed, "scenario", "few-shot")
    x_tr, y_tr = _on(data, "x_train"), _on(data, "y_train")
    x_te, y_te = _on(data, "x_test"), _on(data, "y_test")
    xp = B.get_namespace(x_tr)
    pool = few_shot_pool(data, max(ks))
    x_pool, y_pool = (x_tr, y_tr) if pool is None else (_dev(pool[0]), _dev(pool[1]))
    idx = {k: None if k == 0 else few_shot_indices(y_pool, k, ss, n_classes=C) for k in ks}
    parts = []
    for kk in range(W.shape[0]):
        bk = None if b is None else b[kk, ...]
        H_tr = features(W[kk, ...], x_tr, readout=readout, b=bk)
        H_pool = H_tr if pool is None else features(W[kk, ...], x_pool, readout=readout, b=bk)
        H_te = features(W[kk, ...], x_te, readout=readout, b=bk)
        for k in ks:
            i = idx[k]
            Hs, ys = (H_tr, y_tr) if i is None else (xp.take(H_pool, i, axis=0), xp.take(y_pool, i, axis=0))
            coef, icpt = _fit(Hs, ys, C, probe, alpha, False)
            parts.append(_accuracy(H_te, coef, icpt, y_te))
    out = _host(parts, (W.shape[0], len(ks)))
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------------
# out of distribution
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shift:
    """A test-time change of the feature law: ``kind`` in :data:`SHIFT_KINDS`, ``value`` > 0."""

    kind: str
    value: float

    def __post_init__(self) -> None:
        check_option("shift kind", self.kind, SHIFT_KINDS)
        object.__setattr__(self, "value", check_number(f"{self.kind}", self.value, Interval(0.0, 1e6, "(]")))

    def label(self) -> str:
        return f"{self.kind}={self.value:g}"


def parse_shift(text: str) -> Shift:
    """``"density=2"`` → ``Shift("density", 2.0)`` (see :data:`SHIFT_KINDS`)."""
    if not isinstance(text, str) or text.count("=") != 1:
        raise ValueError(f"shift == {text!r}, must look like 'density=2', 'amplitude=0.5' or 'frequency=4'")
    kind, val = (p.strip() for p in text.split("="))
    check_option("shift kind", kind, SHIFT_KINDS)
    try:
        v = float(val)
    except ValueError:
        raise ValueError(f"shift == {text!r}: {val!r} is not a number") from None
    return Shift(kind, v)


def shifted_spec(spec: FeatureSpec, shift: Shift) -> FeatureSpec:
    """The test law after ``shift`` (see the module docstring); refuses shifts leaving the valid range."""
    if not isinstance(shift, Shift):
        raise ValueError(f"shift == {shift!r}, must be a Shift (see parse_shift)")
    n = spec.n_features
    if shift.kind == "density":
        S = spec.sparsity_array()
        S_new = 1.0 - shift.value * (1.0 - S)
        if np.any(S_new < 0):
            raise ValueError(f"density == {shift.value:g} makes a firing probability exceed 1 "
                             f"(sparsity {float(S.min()):g}); must be <= {1.0 / (1.0 - float(S.min())):g}")
        S_new = float(S_new[0]) if np.all(S_new == S_new[0]) else tuple(S_new)
        return shift_spec(spec, sparsity=S_new)
    if shift.kind == "amplitude":
        lo = spec.amplitude[0]
        if not shift.value > lo:
            raise ValueError(f"amplitude == {shift.value:g}, must exceed the lower amplitude {lo:g}")
        return shift_spec(spec, amplitude=(lo, shift.value))
    f = shift.value ** (np.arange(n) / max(n - 1, 1))
    base = np.ones(n) if spec.frequency is None else np.asarray(spec.frequency)
    return shift_spec(spec, frequency=tuple(base * f))


def ood_test_set(data: TaskData, shift: Any, n_test: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test set :func:`ood` scores for ``shift`` (a :class:`Shift` or a string): ``n_test`` rows
    (default: as many as ``data.x_test``) of the shifted law from the stream ``(data.seed, "ood",
    shift)``, with clean argmax labels. Returns ``(x (T, n), y (T,))``."""
    s = shift if isinstance(shift, Shift) else parse_shift(shift)
    sp = shifted_spec(data.spec, s)
    T = data.x_test.shape[0] if n_test is None else check_number("n_test", n_test, Interval(1, 10**8), integer=True)
    ss = B.seed_sequence(data.seed, "scenario", "ood", s.label())
    x = np.asarray(B.to_numpy(sample_features(sp, T, ss)), dtype=np.float64)
    return x, np.asarray(B.to_numpy(make_labels(x, "argmax", ss)), dtype=np.int64)


def ood(W: Any, data: TaskData, shifts: Sequence[Any], *, n_train: int | None = None, n_test: int | None = None,
        readout: str = "hidden", b: Any = None, probe: str = "ls", alpha: float = 0.0) -> np.ndarray:
    """Accuracy of the in-distribution probe (``n_train`` clean samples) on test sets of shifted laws.

    ``shifts``: :class:`Shift` objects or strings (:func:`parse_shift`); each test set has ``n_test``
    rows (default: as many as ``data.x_test``), its own stream, and clean argmax labels.
    Returns ``(K, len(shifts))`` (``(len(shifts),)`` for one code).
    """
    alpha = _check_common(readout, probe, alpha)
    sh = [s if isinstance(s, Shift) else parse_shift(s) for s in shifts]
    if not sh:
        raise ValueError("shifts == (), must list at least one shift")
    nt = _n_trains(data, n_train)[0]
    tests = [tuple(_dev(a) for a in ood_test_set(data, s, n_test)) for s in sh]  # drawn on the host, moved once
    W, b, single = _codes(W, b, data.n_classes)
    x_tr, y_tr = _on(data, "x_train")[:nt, ...], _on(data, "y_train")[:nt]
    parts = []
    for k in range(W.shape[0]):
        bk = None if b is None else b[k, ...]
        coef, icpt = _fit(features(W[k, ...], x_tr, readout=readout, b=bk), y_tr, data.n_classes, probe, alpha, False)
        for x, y in tests:
            parts.append(_accuracy(features(W[k, ...], x, readout=readout, b=bk), coef, icpt, y))
    out = _host(parts, (W.shape[0], len(sh)))
    return out[0] if single else out
