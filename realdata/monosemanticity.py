"""Monosemanticity and class geometry of a feature matrix, measured on data (numpy only, no torch).

Inputs everywhere: features ``H (N, d)`` (rows = samples) and integer labels ``y (N,)`` in ``0..C-1``.

Definitions (per representation):

- **zero threshold** ``tol = rel_tol · max|H|`` (default ``rel_tol = 1e-3``): an entry with ``|h| <= tol``
  counts as zero. ReLU / SAE features are exactly zero when off, so any small ``rel_tol`` gives the same
  answer for them; for linear (CL) features the threshold decides what "near zero" means, so it is
  reported with the result.
- **dead dimension**: constant on the data up to ``tol`` (``max_i h_ij − min_i h_ij <= tol``); for
  non-negative features this is "never active".
- **activation sparsity**: share of entries of ``H`` with ``|h| <= tol`` (all dimensions, dead included),
  plus the scale-free Hoyer sparsity ``(√d − ‖h‖₁/‖h‖₂)/(√d − 1)`` averaged over samples (0 = all
  entries equal in magnitude, 1 = one non-zero).
- **semantic consistency** of dimension j (Wang et al. 2024, NCL §5): take the ``q`` samples with the
  largest ``h_ij`` among those *active* in j (``h_ij > min_i h_ij + tol``, i.e. above the dimension's floor,
  which is 0 for ReLU features; for linear features nearly every sample is active); the score is the
  share of them in their majority class (samples tied at the cut-off value share the remaining weight,
  so sample order never matters; with fewer than ``q`` active samples all active ones are used). Default ``q`` = the smallest class count, so a dimension that
  fires on one class only scores 1. Chance level is about the largest class share (≈ 1/C). The
  representation's score is the mean over non-dead dimensions. ``direction="both"`` also scores ``−h``
  and keeps the better of the two per dimension (fairer to signed, linear features).
- **class geometry** (the quantities the theory uses): class means ``μ_c``, priors ``p_c``, within-class
  scatter ``S_W = Σ_c p_c Cov(h | c)``, between-class scatter ``S_B = Σ_c p_c (μ_c − μ)(μ_c − μ)ᵀ``.
  *separation* = ``min_{a≠b} ‖μ_a − μ_b‖ / √tr S_W`` (also the mean over pairs); *coherence* =
  ``max_{a≠b} |cos(μ_a − μ̄, μ_b − μ̄)|`` with ``μ̄`` the unweighted mean of the class means (its floor is
  the simplex value ``1/(C−1)``); *Fisher ratio* ``tr S_B / tr S_W`` (for two equiprobable classes on a
  scalar code this is ``J/2`` with DESIGN's ``J``); *Fisher discriminant* ``tr((S_W + εI)⁻¹ S_B)``,
  ``ε = 1e-6 · tr S_W / d``, which is invariant to invertible linear maps of ``H`` (what a linear probe sees).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sims.engine.validation import Interval, check_array, check_number, check_option

__all__ = [
    "zero_threshold",
    "dead_dimensions",
    "activation_sparsity",
    "hoyer_sparsity",
    "semantic_consistency",
    "class_geometry",
    "monosemanticity_report",
]

DEFAULT_REL_TOL = 1e-3


def _features(H: Any) -> np.ndarray:
    arr = np.asarray(H)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"H.dtype == {arr.dtype}, must be a real numeric type")
    check_array("H", arr, ndim=2)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"H.shape == {arr.shape}, must have at least one sample and one dimension")
    return arr.astype(np.float64, copy=False)


def _labels(y: Any, n: int) -> tuple[np.ndarray, int]:
    from realdata.data import check_labels

    y_arr = check_labels("y", y, n)
    if y_arr.min() < 0:
        raise ValueError(f"y contains {int(y_arr.min())}, must be >= 0 (classes 0..C-1)")
    counts = np.bincount(y_arr)
    present = int(np.sum(counts > 0))
    if present < 2:
        raise ValueError(f"y has {present} distinct class, must have at least 2")
    return y_arr, counts.shape[0]


def _rel_tol(rel_tol: float) -> float:
    return check_number("rel_tol", rel_tol, Interval(0.0, 1.0, "[)"))


def zero_threshold(H: Any, rel_tol: float = DEFAULT_REL_TOL) -> float:
    """``rel_tol · max|H|``: entries at or below it (in magnitude) count as zero."""
    Hn = _features(H)
    return _rel_tol(rel_tol) * float(np.max(np.abs(Hn)))


def dead_dimensions(H: Any, rel_tol: float = DEFAULT_REL_TOL) -> np.ndarray:
    """Boolean ``(d,)``: dimensions constant on the data up to the zero threshold."""
    Hn = _features(H)
    tol = zero_threshold(Hn, rel_tol)
    return (Hn.max(axis=0) - Hn.min(axis=0)) <= tol


def activation_sparsity(H: Any, rel_tol: float = DEFAULT_REL_TOL) -> float:
    """Share of entries with ``|h| <= rel_tol · max|H|``."""
    Hn = _features(H)
    tol = zero_threshold(Hn, rel_tol)
    return float(np.mean(np.abs(Hn) <= tol))


def hoyer_sparsity(H: Any) -> float:
    """Mean over samples of ``(√d − ‖h‖₁/‖h‖₂)/(√d − 1)``; all-zero rows are skipped (NaN if all are)."""
    Hn = _features(H)
    d = Hn.shape[1]
    if d == 1:
        return 1.0
    l2 = np.linalg.norm(Hn, axis=1)
    ok = l2 > 0
    if not np.any(ok):
        return float("nan")
    ratio = np.abs(Hn[ok]).sum(axis=1) / l2[ok]
    return float(np.mean((np.sqrt(d) - ratio) / (np.sqrt(d) - 1.0)))


def _consistency_one_direction(Hn: np.ndarray, y: np.ndarray, C: int, q: int, tol: float) -> np.ndarray:
    """Per-dimension majority share among the top-``q`` active samples; ties at the cut-off value share
    the remaining weight equally, so the result never depends on sample order."""
    N, d = Hn.shape
    out = np.full(d, np.nan)
    floor = Hn.min(axis=0)  # (d,)
    for j in range(d):
        col = Hn[:, j]
        active = col > floor[j] + tol
        n_act = int(active.sum())
        if n_act == 0:
            continue
        vals, labs = col[active], y[active]
        q_eff = min(q, n_act)
        cut = np.partition(vals, n_act - q_eff)[n_act - q_eff]  # the q_eff-th largest value
        above, tied = vals > cut, vals == cut
        w = above.astype(np.float64)
        w[tied] = (q_eff - above.sum()) / tied.sum()
        out[j] = np.bincount(labs, weights=w, minlength=C).max() / q_eff
    return out


def semantic_consistency(
    H: Any,
    y: Any,
    *,
    top_q: int | None = None,
    direction: str = "positive",
    rel_tol: float = DEFAULT_REL_TOL,
) -> dict:
    """Semantic consistency (see module docstring).

    Returns ``{"mean": float, "per_dim": (d,) float (NaN for dead dims), "top_q": q, "n_alive": int,
    "chance": largest class share}``.
    """
    Hn = _features(H)
    y_arr, C = _labels(y, Hn.shape[0])
    check_option("direction", direction, ("positive", "both"))
    counts = np.bincount(y_arr, minlength=C)
    if top_q is None:
        q = int(counts[counts > 0].min())
    else:
        q = check_number("top_q", top_q, Interval(1, Hn.shape[0]), integer=True)
    tol = zero_threshold(Hn, rel_tol)
    per_dim = _consistency_one_direction(Hn, y_arr, C, q, tol)
    if direction == "both":
        neg = _consistency_one_direction(-Hn, y_arr, C, q, tol)
        per_dim = np.fmax(per_dim, neg)
    dead = dead_dimensions(Hn, rel_tol)
    per_dim[dead] = np.nan
    alive = ~np.isnan(per_dim)
    mean = float(np.mean(per_dim[alive])) if np.any(alive) else float("nan")
    return {
        "mean": mean,
        "per_dim": per_dim,
        "top_q": q,
        "n_alive": int(np.sum(alive)),
        "chance": float(counts.max() / counts.sum()),
    }


def class_geometry(H: Any, y: Any, *, discriminant: bool = True) -> dict:
    """Class-mean separation, coherence of centred class means, Fisher ratio and (if ``discriminant``)
    the Fisher discriminant, which needs a ``d × d`` solve; the rest costs ``O(N d)``."""
    Hn = _features(H)
    y_arr, C = _labels(y, Hn.shape[0])
    classes = np.flatnonzero(np.bincount(y_arr, minlength=C) > 0)
    N, d = Hn.shape
    means = np.stack([Hn[y_arr == c].mean(axis=0) for c in classes])  # (K, d)
    priors = np.array([np.mean(y_arr == c) for c in classes])  # (K,)
    mu = priors @ means  # (d,)
    resid = Hn - means[np.searchsorted(classes, y_arr)]  # (N, d): h_i - mu_{y_i}
    tr_w = float(np.sum(resid * resid) / N)  # tr S_W = sum_c p_c E||h - mu_c||^2
    D = means - mu
    tr_b = float(priors @ np.sum(D * D, axis=1))  # tr S_B
    iu = np.triu_indices(len(classes), k=1)
    dist = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=2)[iu]
    Mc = means - means.mean(axis=0)  # centred by the unweighted mean of class means
    norms = np.linalg.norm(Mc, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (Mc @ Mc.T) / np.outer(norms, norms)
    coh = float(np.nanmax(np.abs(cos[iu]))) if np.all(norms > 0) else float("nan")
    sq = np.sqrt(tr_w) if tr_w > 0 else np.nan
    out = {
        "separation_min": float(dist.min() / sq),
        "separation_mean": float(dist.mean() / sq),
        "coherence": coh,
        "coherence_floor": 1.0 / (len(classes) - 1),
        "fisher_ratio": tr_b / tr_w if tr_w > 0 else float("inf"),
    }
    if discriminant:
        S_W = resid.T @ resid / N  # pooled within-class scatter, (d, d)
        S_B = (D * priors[:, None]).T @ D
        eps = 1e-6 * tr_w / d if tr_w > 0 else 1e-12
        out["fisher_discriminant"] = float(np.trace(np.linalg.solve(S_W + eps * np.eye(d), S_B)))
    return out


def monosemanticity_report(
    H: Any, y: Any, *, top_q: int | None = None, rel_tol: float = DEFAULT_REL_TOL
) -> dict[str, float]:
    """All scalar metrics of one representation as a flat dict (for a tidy results row)."""
    Hn = _features(H)
    sc = semantic_consistency(Hn, y, top_q=top_q, rel_tol=rel_tol)
    sc_both = semantic_consistency(Hn, y, top_q=top_q, direction="both", rel_tol=rel_tol)
    dead = dead_dimensions(Hn, rel_tol)
    out = {
        "dim": float(Hn.shape[1]),
        "semantic_consistency": sc["mean"],
        "semantic_consistency_both": sc_both["mean"],
        "consistency_chance": sc["chance"],
        "top_q": float(sc["top_q"]),
        "sparsity": activation_sparsity(Hn, rel_tol),
        "hoyer_sparsity": hoyer_sparsity(Hn),
        "dead_dims": float(np.sum(dead)),
        "dead_fraction": float(np.mean(dead)),
        "zero_threshold": zero_threshold(Hn, rel_tol),
    }
    out.update(class_geometry(Hn, y))
    return out
