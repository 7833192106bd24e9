"""Real data: bundled datasets and ONE entry point for any arrays, of three modalities.

Every dataset enters the pipeline through :func:`prepare_dataset` (raw inputs: images, 1-D signals or
vectors) or :func:`prepare_features` (precomputed representations: a network's activations, an SAE's
latents); nothing downstream knows where the data came from.

Modalities (:mod:`realdata.modalities`) and the shapes they are stored in:

* ``image``: float32 ``(N, C, H, W)``, pixels min-max scaled to ``[0, 1]`` (the image shifts, e.g. contrast
  inversion ``1 - x``, assume that range);
* ``signal``: float32 ``(N, C, L)``, standardized per channel (mean 0, sd 1 over the training split);
* ``vector``: float32 ``(N, d)``, standardized per feature over the training split (features constant on
  it stay 0); precomputed features are instead centred and divided by one global scale (mean variance 1
  per coordinate), which keeps their geometry (rare, sparse latents are not blown up).

The modality is never guessed by reshaping: 4-D and 3-D ``X`` are images unless ``modality`` says
otherwise, 2-D ``X`` is a vector unless ``modality="signal"`` or an ``image_shape`` is given.
Labels are int64 ``(N,)`` with values ``0..n_classes-1`` (``Dataset.classes`` keeps the original values).

Bundled datasets (:data:`BUNDLED`, no download): scikit-learn's handwritten ``digits`` (images 8 x 8),
``wine`` and ``breast_cancer`` (tabular vectors), ``tabular`` (``make_classification``, 2000 x 32,
4 classes) and ``signals`` (synthetic 1-D waveforms of 6 shapes, :func:`synthetic_signals`).
"""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sims.engine.backend import rng
from sims.engine.generators import few_shot_indices as _engine_few_shot
from sims.engine.validation import Interval, check_array, check_number, check_option, check_seed

__all__ = ["Dataset", "MODALITIES", "BUNDLED", "load_digits_dataset", "load_bundled", "synthetic_signals",
           "prepare_dataset", "prepare_features", "digits", "few_shot_indices", "check_labels", "load_npz",
           "array_digest"]

MODALITIES = ("image", "signal", "vector")
_F32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Dataset:
    """A stratified train/test split (or a given one) of one modality.

    Attributes: ``X_train`` / ``X_test`` float32 ``(n, *input_shape)``; ``y_train`` / ``y_test`` int64 in
    ``0..n_classes-1``; ``classes`` the original label values (``classes[k]`` became ``k``); ``name``;
    ``seed``; ``train_index`` / ``test_index`` the rows of the input arrays in each split (sorted; for a
    given test set, the rows of that array); ``modality``; ``X_ood`` / ``y_ood``: an optional
    out-of-distribution test set (prepared like ``X_test``); ``precomputed``: the inputs are features
    (``prepare_features``), not raw data.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    name: str
    seed: int
    train_index: np.ndarray
    test_index: np.ndarray
    modality: str = "image"
    X_ood: np.ndarray | None = None
    y_ood: np.ndarray | None = None
    precomputed: bool = False

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(C, H, W)``, ``(C, L)`` or ``(d,)``."""
        return tuple(int(s) for s in self.X_train.shape[1:])

    @property
    def image_shape(self) -> tuple[int, ...]:
        return self.input_shape

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Samples per class, ``(n_classes,)``, of the ``"train"`` or ``"test"`` split."""
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes)


# --------------------------------------------------------------------------- bundled data
def load_digits_dataset() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits (UCI optdigits test set; no download).

    Returns ``X (1797, 1, 8, 8)`` float32 in ``[0, 1]`` (the raw 0..16 grey levels divided by 16)
    and ``y (1797,)`` int64 in ``0..9``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0))[:, None, :, :]  # (N, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)
    return X, y


def synthetic_signals(n: int = 2000, length: int = 64, *, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1-D signals of six waveform classes: sine, square, sawtooth, triangle, an upward chirp and a train of
    Gaussian pulses, each with a random frequency (1.5-4 cycles per window), phase, amplitude (0.5-1.5) and
    offset (±0.5), plus white Gaussian noise of standard deviation ``noise``. ``X (n, 1, length)`` float32,
    ``y (n,)`` int64 in ``0..5`` (balanced). Deterministic under ``seed``; the class is a shape, invariant to
    where the wave starts and how loud it is, which is what time-shift and amplitude views teach."""
    n = check_number("n", n, Interval(12, 10**7), integer=True)
    length = check_number("length", length, Interval(8, 10**5), integer=True)
    noise = check_number("noise", noise, Interval(0.0, 100.0))
    g = rng(check_seed("seed", seed), "synthetic_signals")
    y = np.arange(n) % 6
    g.shuffle(y)
    t = np.linspace(0.0, 1.0, length, endpoint=False)[None, :]
    f = g.uniform(1.5, 4.0, (n, 1))
    ph = g.uniform(0.0, 1.0, (n, 1))
    u = (f * t + ph) % 1.0  # phase in cycles
    waves = np.stack([
        np.sin(2 * np.pi * u),
        np.where(u < 0.5, 1.0, -1.0),
        2.0 * u - 1.0,
        1.0 - 4.0 * np.abs(u - 0.5),
        np.sin(2 * np.pi * (ph + f * 0.5 * t + f * t * t)),  # frequency rising from f/2 to 5f/2
        2.0 * np.exp(-0.5 * (np.minimum(u, 1.0 - u) / 0.06) ** 2) - 0.5,
    ])  # (6, n, length)
    x = waves[y, np.arange(n)] * g.uniform(0.5, 1.5, (n, 1)) + g.uniform(-0.5, 0.5, (n, 1))
    x = x + noise * g.standard_normal((n, length))
    return x[:, None, :].astype(np.float32), y.astype(np.int64)


def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "tabular":
        X, y = datasets.make_classification(n_samples=2000, n_features=32, n_informative=12, n_redundant=8,
                                            n_classes=4, n_clusters_per_class=2, class_sep=1.0, random_state=0)
    else:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)


#: bundled dataset -> (loader, modality)
BUNDLED = {
    "digits": (load_digits_dataset, "image"),
    "signals": (synthetic_signals, "signal"),
    "tabular": (lambda: _sklearn("tabular"), "vector"),
    "wine": (lambda: _sklearn("wine"), "vector"),
    "breast_cancer": (lambda: _sklearn("breast_cancer"), "vector"),
}


def load_bundled(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, modality)`` of a bundled dataset (:data:`BUNDLED`)."""
    check_option("data", name, tuple(BUNDLED))
    loader, modality = BUNDLED[name]
    X, y = loader()
    return X, y, modality


# --------------------------------------------------------------------------- files
def load_npz(path: Any, required: Sequence[str], optional: Sequence[str] = (), *, flag: str = "data") -> dict[str, np.ndarray]:
    """The arrays ``required`` (and those of ``optional`` present) of the ``.npz`` file ``path``.

    Every way a file can be wrong is one ValueError naming ``flag`` and the file: not a file, not an
    ``.npz`` (e.g. an ``.npy``), empty, truncated or corrupt, missing keys, object or non-numeric arrays.
    Arrays are loaded without pickle (an object array cannot run code)."""
    p = Path(path)
    where = f"{flag} == {str(path)!r}"
    if not p.is_file():
        raise ValueError(f"{where} is not an existing file")
    if p.stat().st_size == 0:
        raise ValueError(f"{where} is an empty file, must be a .npz archive with arrays {', '.join(required)}")
    if not zipfile.is_zipfile(p):
        hint = " (an .npy file holds one array: save X and y together with numpy.savez)" if p.read_bytes()[:6] == b"\x93NUMPY" else ""
        raise ValueError(f"{where} is not a .npz archive{hint}")
    out: dict[str, np.ndarray] = {}
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = set(z.files)
            missing = [k for k in required if k not in keys]
            if missing:
                raise ValueError(f"{where} lacks array {missing[0]!r} (it holds {', '.join(sorted(keys)) or 'nothing'}; "
                                 f"required: {', '.join(required)})")
            for k in (*required, *[o for o in optional if o in keys]):
                out[k] = np.asarray(z[k])
    except ValueError as exc:
        msg = str(exc)
        if msg.startswith(where):
            raise
        if "allow_pickle" in msg or "Object arrays" in msg:
            raise ValueError(f"{where} holds object arrays, must hold numeric arrays (save them with numpy.savez "
                             "from numeric ndarrays)") from None
        raise ValueError(f"{where} cannot be read as a .npz archive ({msg})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{where} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    for k, a in out.items():
        if a.dtype.kind not in "iufb":
            hint = (" (class names: save numpy.unique(y, return_inverse=True)[1] as integer labels)"
                    if k.startswith("y") and a.dtype.kind in "US" else "")
            raise ValueError(f"{where}: array {k!r} has dtype {a.dtype}, must be numeric{hint}")
    return out


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 (hex, 16 digits) of the arrays' dtypes, shapes and bytes: the identity of a dataset's content."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- validation
def check_labels(name: str, y: Any, n_samples: int | None = None) -> np.ndarray:
    """Validate a 1-D integer label vector (integral floats are accepted); returns int64 numpy."""
    arr = _numeric_array(name, y, allow_float_labels=True)
    check_array(name, arr, ndim=1, finite=False)
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name}.shape == {arr.shape}, must be ({n_samples},) to match the samples of X")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and bool(np.all(np.isfinite(arr))) and bool(np.all(arr == np.round(arr))):
        return arr.astype(np.int64)
    raise ValueError(f"{name}.dtype == {arr.dtype}, must hold integer class labels")


def _numeric_array(name: str, X: Any, *, allow_float_labels: bool = False) -> np.ndarray:
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # a torch tensor
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # numpy >= 1.24: inhomogeneous nested sequences
        raise ValueError(f"{name} is ragged: every sample must have the same shape ({type(exc).__name__})") from None
    if arr.dtype == object:
        raise ValueError(f"{name}.dtype == object, must be a real numeric array (ragged rows or mixed types?)")
    if arr.dtype.kind not in "iufb":
        raise ValueError(f"{name}.dtype == {arr.dtype}, must be a real numeric type")
    return arr


def _check_values(name: str, arr: np.ndarray) -> np.ndarray:
    """Finite, within float32 range, not constant; returns float64."""
    if arr.size == 0:
        raise ValueError(f"{name}.shape == {arr.shape}, must hold at least one value per sample")
    a = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN or infinite values, must be finite")
    big = float(np.abs(a).max())
    if big > _F32_MAX:
        raise ValueError(f"{name} contains {big:.3g}, must be within the float32 range ±{_F32_MAX:.3g}")
    if float(a.max()) == float(a.min()):
        raise ValueError(f"{name} is constant (every value == {float(a.min()):g}): there is nothing to learn")
    return a


def _shape_for(X: np.ndarray, modality: str | None, image_shape: Sequence[int] | None) -> tuple[np.ndarray, str]:
    """``X`` in its modality's layout, and the modality (resolved as the module docstring says)."""
    nd = X.ndim
    if image_shape is not None and modality not in (None, "image"):
        raise ValueError(f"image_shape == {tuple(image_shape)} is given with modality == {modality!r}; "
                         "image_shape only applies to images")
    if modality is None:
        if nd < 2 or nd > 4:
            raise ValueError(f"X.ndim == {nd}, must be 2 (vectors), 3 or 4 (images); pass modality= for signals")
        modality = "image" if (nd >= 3 or image_shape is not None) else "vector"
    check_option("modality", modality, MODALITIES)
    n = X.shape[0]
    if modality == "image":
        if image_shape is not None:
            shp = tuple(int(s) for s in image_shape)
            shp = (1,) + shp if len(shp) == 2 else shp
            if len(shp) != 3 or any(s < 1 for s in shp):
                raise ValueError(f"image_shape == {tuple(image_shape)}, must be (H, W) or (C, H, W) of positive ints")
            if int(np.prod(X.shape[1:])) != int(np.prod(shp)):
                raise ValueError(f"image_shape == {tuple(image_shape)}, must have {int(np.prod(X.shape[1:]))} pixels "
                                 f"to match X.shape == {X.shape}")
            return X.reshape((n,) + shp), modality
        if nd == 2:
            raise ValueError(f"X.shape == {X.shape} is flat: images need image_shape=(H, W) (CLI: --image-shape H,W); "
                             "for tabular rows use modality 'vector', for 1-D signals 'signal'")
        if nd == 3:
            return X[:, None, :, :], modality
        if nd == 4:
            return X, modality
        raise ValueError(f"X.ndim == {nd}, images must be (N, H, W) or (N, C, H, W)")
    if modality == "signal":
        if nd == 2:
            return X[:, None, :], modality
        if nd == 3:
            return X, modality
        raise ValueError(f"X.ndim == {nd}, signals must be (N, L) or (N, C, L)")
    if nd < 2:
        raise ValueError(f"X.ndim == {nd}, vectors must be (N, d)")
    return X.reshape(n, -1), modality


def _split(y_idx: np.ndarray, n_classes: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Within each class, a permutation from ``rng(seed, "split", class)`` sends ``round(test_fraction * n_c)``
    samples (clipped to ``[1, n_c - 1]``) to the test set."""
    train_idx, test_idx = [], []
    for c in range(n_classes):
        members = np.flatnonzero(y_idx == c)
        perm = members[rng(seed, "split", c).permutation(members.shape[0])]
        n_test = int(np.clip(round(test_fraction * members.shape[0]), 1, members.shape[0] - 1))
        test_idx.append(perm[:n_test])
        train_idx.append(perm[n_test:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))


def _classes(y: np.ndarray, *, split: bool) -> tuple[np.ndarray, np.ndarray]:
    classes, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
    if classes.shape[0] < 2:
        raise ValueError(f"y has {classes.shape[0]} distinct class (labels {classes.tolist()}), must have at least 2")
    if split and counts.min() < 2:
        bad = classes[counts < 2].tolist()
        raise ValueError(f"y has classes {bad} with fewer than 2 samples, must have >= 2 per class to split")
    return classes, y_idx.astype(np.int64)


def _standardize(X: np.ndarray, train: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``(X - mean) / sd`` with the statistics of the training rows over ``axes`` (sd 0 -> 1)."""
    Xt = X[train]
    mean = Xt.mean(axis=axes, keepdims=True)
    sd = Xt.std(axis=axes, keepdims=True)
    sd = np.where(sd > 0, sd, 1.0)
    return (X - mean) / sd


def prepare_dataset(
    X: Any,
    y: Any,
    *,
    modality: str | None = None,
    image_shape: Sequence[int] | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "custom",
    rescale: bool = True,
) -> Dataset:
    """Validate any ``(X, y)`` arrays and split them into a stratified, deterministic train/test set.

    ``X``: images ``(N, C, H, W)`` / ``(N, H, W)`` (or flat ``(N, D)`` with ``image_shape=(H, W)``), signals
    ``(N, L)`` / ``(N, C, L)`` with ``modality="signal"``, or vectors ``(N, d)``; finite real values within
    the float32 range, not all equal. ``modality``: ``"image"``, ``"signal"``, ``"vector"`` or None (4-D and
    3-D: image; 2-D: vector, or image with ``image_shape``). ``y``: ``(N,)`` integer labels with at least 2
    distinct values, each present at least twice; mapped to ``0..C-1`` in sorted order.
    ``rescale``: images min-max scaled to ``[0, 1]`` by the global min / max; signals standardized per
    channel, vectors per feature, with training-split statistics (module docstring).

    Split: within each class, a permutation from ``sims.engine.backend.rng(seed, "split", class)`` sends
    ``round(test_fraction * n_c)`` samples (clipped to ``[1, n_c - 1]``) to the test set, so the split
    depends only on ``seed`` and the labels.
    """
    arr = _numeric_array("X", X)
    if arr.ndim < 2:
        raise ValueError(f"X.ndim == {arr.ndim}, must be >= 2 (samples first)")
    if modality is not None:
        check_option("modality", modality, MODALITIES)
    shaped, modality = _shape_for(arr, modality, image_shape)
    y_arr = check_labels("y", y, shaped.shape[0])
    vals = _check_values("X", shaped)
    test_fraction = check_number("test_fraction", test_fraction, Interval(0.0, 1.0, "()"))
    seed = check_seed("seed", seed)
    classes, y_idx = _classes(y_arr, split=True)
    tr, te = _split(y_idx, classes.shape[0], test_fraction, seed)
    if rescale:
        if modality == "image":
            lo, hi = float(vals.min()), float(vals.max())
            if lo != 0.0 or hi != 1.0:
                vals = (vals - lo) / (hi - lo)
        elif modality == "signal":
            vals = _standardize(vals, tr, (0, 2))
        else:
            vals = _standardize(vals, tr, (0,))
    X32 = vals.astype(np.float32)
    return Dataset(X_train=np.ascontiguousarray(X32[tr]), y_train=y_idx[tr], X_test=np.ascontiguousarray(X32[te]),
                   y_test=y_idx[te], classes=classes, name=str(name), seed=seed, train_index=tr, test_index=te,
                   modality=modality)


def prepare_features(
    H: Any,
    y: Any,
    *,
    H_test: Any = None,
    y_test: Any = None,
    H_ood: Any = None,
    y_ood: Any = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "features",
) -> Dataset:
    """Precomputed representations ``H (N, d)`` (any trailing shape is flattened) with labels ``y (N,)``.

    Without ``H_test`` the rows are split as in :func:`prepare_dataset`; with it (and ``y_test``) ``H`` is
    the training set. ``H_ood`` / ``y_ood``: an out-of-distribution test set. Labels of every set are mapped
    with the classes of ``y``; a test or OOD label unseen in training is an error. Features are centred on
    the training mean and divided by one global scale ``sqrt(tr Cov / d)`` (mean variance 1 per
    coordinate), which keeps their geometry; noise levels are then in units of a typical coordinate's
    standard deviation. The result has ``modality == "vector"`` and ``precomputed == True``.
    """
    def flat(label: str, A: Any) -> np.ndarray:
        a = _numeric_array(label, A)
        if a.ndim < 2:
            raise ValueError(f"{label}.ndim == {a.ndim}, must be >= 2 (samples first, then features)")
        return a.reshape(a.shape[0], -1)

    Htr = flat("H", H)
    y_arr = check_labels("y", y, Htr.shape[0])
    vals = _check_values("H", Htr)
    seed = check_seed("seed", seed)
    if (H_test is None) != (y_test is None):
        raise ValueError("H_test and y_test must be given together")
    if (H_ood is None) != (y_ood is None):
        raise ValueError("H_ood and y_ood must be given together")
    extra = {}
    for label, A, B in (("H_test", H_test, y_test), ("H_ood", H_ood, y_ood)):
        if A is None:
            continue
        a = flat(label, A)
        if a.shape[1] != Htr.shape[1]:
            raise ValueError(f"{label}.shape == {a.shape}, must have {Htr.shape[1]} features like H")
        extra[label] = (np.asarray(_check_finite(label, a)), check_labels("y" + label[1:], B, a.shape[0]))
    if "H_test" in extra:
        classes, y_idx = _classes(y_arr, split=False)
        tr = np.arange(Htr.shape[0])
        Xtr = vals
        Hte, yte_raw = extra["H_test"]
        te = np.arange(Hte.shape[0])
    else:
        test_fraction = check_number("test_fraction", test_fraction, Interval(0.0, 1.0, "()"))
        classes, y_idx = _classes(y_arr, split=True)
        tr, te = _split(y_idx, classes.shape[0], test_fraction, seed)
        Xtr, Hte, yte_raw = vals[tr], vals[te], y_arr[te]
    mean = Xtr.mean(axis=0)
    scale = float(np.sqrt(np.mean(Xtr.var(axis=0))))
    scale = scale if scale > 0 else 1.0

    def tf(A: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(((A - mean) / scale).astype(np.float32))

    def mapped(label: str, yy: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(classes, yy)
        ok = (pos < classes.shape[0]) & (classes[np.minimum(pos, classes.shape[0] - 1)] == yy)
        if not ok.all():
            raise ValueError(f"{label} contains {yy[~ok][0].item()!r}, a class that y (training) does not have: "
                             f"must be one of {classes.tolist()}")
        return pos.astype(np.int64)

    ytr = y_idx[tr] if "H_test" not in extra else y_idx
    yte = mapped("y_test", yte_raw)
    X_ood = y_ood_m = None
    if "H_ood" in extra:
        X_ood, y_ood_m = tf(extra["H_ood"][0]), mapped("y_ood", extra["H_ood"][1])
    return Dataset(X_train=tf(Xtr), y_train=ytr, X_test=tf(Hte), y_test=yte, classes=classes, name=str(name),
                   seed=seed, train_index=tr, test_index=te, modality="vector", X_ood=X_ood, y_ood=y_ood_m,
                   precomputed=True)


def _check_finite(label: str, a: np.ndarray) -> np.ndarray:
    f = a.astype(np.float64, copy=False)
    bad = ~np.isfinite(f)
    if bad.any():
        raise ValueError(f"{label} contains {int(bad.sum())} NaN or infinite values, must be finite")
    if f.size and float(np.abs(f).max()) > _F32_MAX:
        raise ValueError(f"{label} contains {float(np.abs(f).max()):.3g}, must be within the float32 range ±{_F32_MAX:.3g}")
    return f


def digits(test_fraction: float = 0.3, seed: int = 0) -> Dataset:
    """The digits set through :func:`prepare_dataset` (``name="digits"``)."""
    X, y = load_digits_dataset()
    return prepare_dataset(X, y, test_fraction=test_fraction, seed=seed, name="digits")


def few_shot_indices(y: Any, k: int | None, seed: int, *, n_classes: int | None = None) -> np.ndarray:
    """Indices of ``k`` samples per class (sorted): ``sims.engine.generators.few_shot_indices`` on numpy labels.

    ``k=None`` keeps every sample. Raises ValueError naming ``k`` when a class has fewer than ``k``
    samples (or is absent), instead of silently returning an unbalanced subset.
    """
    y_arr = check_labels("y", y)
    seed = check_seed("seed", seed)
    if n_classes is None:
        n_classes = int(y_arr.max()) + 1 if y_arr.size else 0
    n_classes = check_number("n_classes", n_classes, Interval(2, None, "[)"), integer=True)
    if k is None:
        if y_arr.size and (y_arr.min() < 0 or y_arr.max() >= n_classes):
            raise ValueError(f"y contains {int(y_arr.max())}, must be in [0, {n_classes - 1}]")
        return np.arange(y_arr.shape[0])
    return np.asarray(_engine_few_shot(y_arr, k, seed, n_classes=n_classes))
