"""Real data: the bundled handwritten-digits set and ONE entry point for any (X, y) arrays.

Every dataset enters the pipeline through :func:`prepare_dataset`; nothing downstream knows where the
images came from. To plug in another dataset, build ``X`` (images or flat rows) and integer labels ``y``
and call ``prepare_dataset(X, y, image_shape=..., test_fraction=..., seed=...)``.

Shapes: images are float32 ``(N, C, H, W)`` with pixel values in ``[0, 1]`` (the OOD shifts in
:mod:`realdata.augment`, e.g. contrast inversion ``1 - x``, assume that range); labels are int64 ``(N,)``
with values ``0..n_classes-1``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sims.engine.generators import few_shot_indices as _engine_few_shot
from sims.engine.backend import rng
from sims.engine.validation import Interval, check_array, check_number, check_seed

__all__ = ["Dataset", "load_digits_dataset", "prepare_dataset", "digits", "few_shot_indices", "check_labels"]


@dataclass(frozen=True)
class Dataset:
    """A stratified train/test split of images in ``[0, 1]``.

    Attributes: ``X_train (n_train, C, H, W)`` / ``X_test (n_test, C, H, W)`` float32;
    ``y_train (n_train,)`` / ``y_test (n_test,)`` int64 in ``0..n_classes-1``; ``classes (n_classes,)``
    the original label values (``classes[k]`` is the label that became ``k``); ``name``; ``seed``;
    ``train_index`` / ``test_index``: the rows of the input arrays that went to each split (sorted).
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

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.X_train.shape[1:])  # (C, H, W)

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Samples per class, ``(n_classes,)``, of the ``"train"`` or ``"test"`` split."""
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes)


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


def check_labels(name: str, y: Any, n_samples: int | None = None) -> np.ndarray:
    """Validate a 1-D integer label vector (integral floats are accepted); returns int64 numpy."""
    arr = np.asarray(y)
    check_array(name, arr, ndim=1, finite=False)
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name}.shape == {arr.shape}, must be ({n_samples},) to match the samples of X")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and bool(np.all(np.isfinite(arr))) and bool(np.all(arr == np.round(arr))):
        return arr.astype(np.int64)
    raise ValueError(f"{name}.dtype == {arr.dtype}, must hold integer class labels")


def _as_images(X: Any, image_shape: Sequence[int] | None) -> np.ndarray:
    """``X`` as float32 ``(N, C, H, W)``; flat rows are reshaped with ``image_shape``."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"X.dtype == {arr.dtype}, must be a real numeric type")
    check_array("X", arr, ndim=(2, 3, 4), finite=False)
    if arr.dtype.kind == "f" and not bool(np.all(np.isfinite(arr))):
        n_bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"X contains {n_bad} NaN or infinite pixels, must be finite")
    arr = arr.astype(np.float32, copy=False)
    n = arr.shape[0]
    if image_shape is not None:
        shp = tuple(int(s) for s in image_shape)
        if len(shp) == 2:
            shp = (1,) + shp
        if len(shp) != 3 or any(s < 1 for s in shp):
            raise ValueError(f"image_shape == {tuple(image_shape)}, must be (H, W) or (C, H, W) of positive ints")
        if int(np.prod(arr.shape[1:])) != int(np.prod(shp)):
            raise ValueError(
                f"image_shape == {tuple(image_shape)}, must have {int(np.prod(arr.shape[1:]))} pixels "
                f"to match X.shape == {arr.shape}"
            )
        return arr.reshape((n,) + shp)
    if arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(
                f"X.shape == {arr.shape}: flat rows of {arr.shape[1]} pixels are not a square image; "
                "pass image_shape=(H, W) or (C, H, W)"
            )
        return arr.reshape(n, 1, side, side)
    if arr.ndim == 3:
        return arr[:, None, :, :]
    return arr


def prepare_dataset(
    X: Any,
    y: Any,
    *,
    image_shape: Sequence[int] | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    name: str = "custom",
    rescale: bool = True,
) -> Dataset:
    """Validate any ``(X, y)`` arrays and split them into a stratified, deterministic train/test set.

    ``X``: ``(N, C, H, W)``, ``(N, H, W)`` or flat ``(N, D)`` (reshaped with ``image_shape``, or to a
    square single-channel image when ``D`` is a perfect square); finite real values. ``y``: ``(N,)``
    integer labels with at least 2 distinct values, each present at least twice (so both splits see
    every class); labels are mapped to ``0..C-1`` in sorted order (``Dataset.classes`` keeps the map).
    ``rescale``: min-max scale pixels to ``[0, 1]`` using the global min/max of ``X`` (a no-op for
    data already spanning ``[0, 1]``); the augmentations and OOD shifts assume that range.

    Split: within each class, a permutation from ``sims.engine.backend.rng(seed, "split", class)`` sends
    ``round(test_fraction * n_c)`` samples (clipped to ``[1, n_c - 1]``) to the test set, so the split
    depends only on ``seed`` and the labels, never on the order of other classes.
    """
    X_img = _as_images(X, image_shape)
    y_arr = check_labels("y", y, X_img.shape[0])
    test_fraction = check_number("test_fraction", test_fraction, Interval(0.0, 1.0, "()"))
    seed = check_seed("seed", seed)
    classes, y_idx, counts = np.unique(y_arr, return_inverse=True, return_counts=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has {classes.shape[0]} distinct class (labels {classes.tolist()}), must have at least 2"
        )
    if counts.min() < 2:
        bad = classes[counts < 2].tolist()
        raise ValueError(f"y has classes {bad} with fewer than 2 samples, must have >= 2 per class to split")
    if rescale:
        lo, hi = float(X_img.min()), float(X_img.max())
        if hi > lo and (lo != 0.0 or hi != 1.0):
            X_img = ((X_img - lo) / (hi - lo)).astype(np.float32)
    train_idx, test_idx = [], []
    for c in range(classes.shape[0]):
        members = np.flatnonzero(y_idx == c)
        perm = members[rng(seed, "split", c).permutation(members.shape[0])]
        n_test = int(np.clip(round(test_fraction * members.shape[0]), 1, members.shape[0] - 1))
        test_idx.append(perm[:n_test])
        train_idx.append(perm[n_test:])
    tr = np.sort(np.concatenate(train_idx))
    te = np.sort(np.concatenate(test_idx))
    y_idx = y_idx.astype(np.int64)
    return Dataset(
        X_train=np.ascontiguousarray(X_img[tr]),
        y_train=y_idx[tr],
        X_test=np.ascontiguousarray(X_img[te]),
        y_test=y_idx[te],
        classes=classes,
        name=str(name),
        seed=seed,
        train_index=tr,
        test_index=te,
    )


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
