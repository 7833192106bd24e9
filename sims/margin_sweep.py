"""Margins and separation of superposed vs monosemantic codes, with symbolic bounds overlaid.

``python -m sims.margin_sweep`` (the main job). Planted spike-and-uniform features ``x in R^n`` (n =
--n-features), argmax labels, and codes ``h = W x`` in m = --m dimensions. A code at superposition
ratio q represents the first ``n_rep = q m`` features (unit columns) and drops the rest (zero columns):

* mono: features 0..m-1 on the axes (q = 1 only: n_rep = m by definition);
* random: i.i.d. uniform unit columns; frame: a low-coherence frame (alternating projection, fixed
  --code-seed, shared by all cells); antipodal (q <= 2): n_rep - m pairs +-e_k, the rest alone on axes;
* trained (opt in: --code ...,trained): a toy model of superposition (sims.toy_model, ReLU output,
  Adam) trained on the first q m features at the cell's sparsity; the features it represents (column
  norm > 0.5) are normalised and kept (n_rep <= q m is what it learned), the rest are dropped.

Per cell (code x ratio x sparsity) and replicate: the matched filter ``s = W^T h`` (argmax over the
represented features) and least-squares probes trained on h (batched over label-noise levels, one
factorization per training size) under input noise lam (Gaussian on x, all levels at once through
common random numbers) and label noise eta; empirical margin quantiles, Fisher separation, accuracy,
and the bounds of theory.margins with tightness (empirical / bound) and the fraction of covered
samples on which each holds. Cells (mono, q != 1) and (antipodal, q > 2) are empty by definition.
Outputs: results.csv, manifest.json, figures (PNG + PDF) and a short PDF report (sims.margin_report).

results.csv (tidy): code, ratio, sparsity, cell_seed, then per row rep, n_rep, mu (coherence) and
record = "readout": readout (matched_filter | probe), noise (input | label), level (lam or eta),
  n_train (probes), acc, covered (share of samples with y represented and active), margin_q01/q05/q50
  (signed margins of covered samples, true minus best other score), and for the matched filter fisher
  (pooled Fisher separation, bias-corrected), fisher_exact (its population value for this code, (M9)),
  fisher_random ((M9) in expectation, random codes), acc_theory (exact (M7) or mean-field (M10));
record = "check": check, kind (lower_bound | upper_bound | identity | approximation), stat, level,
  value (theory), empirical, tightness (empirical / bound; bound / empirical for upper bounds; 1 = tight),
  holds (share of covered samples for margin bounds; 0/1 one-sided 4-SE test for the error bounds),
  informative (share of samples where the bound is non-vacuous), covered;
record = "theory" (one per superposed cell): nu, lam_star, lam_lo, lam_hi, f_lo, f_hi, sign_at_zero
  (the mean-field balance noise (M11) with its verified bracket).
"""
from __future__ import annotations

import argparse
import functools
import math
import sys
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from sims import backend as B
from sims import cli
from sims.runner import SweepConfig, fixed
from sims.validation import NONNEG, UNIT, UNIT_OPEN_RIGHT, Interval, check_number, check_values

__all__ = ["MarginConfig", "CODES", "DEFAULT_CODES", "QUANTILES", "n_rep_of", "cell_is_valid", "build_code", "cell_fn",
           "build_parser", "make_config", "main"]

CODES = ("mono", "random", "antipodal", "frame", "trained")
#: the codes of the default grid ("trained" trains toy models: opt in with --code)
DEFAULT_CODES = ("mono", "random", "antipodal", "frame")
#: margin quantiles reported per cell (fixed: part of the meaning of the columns)
QUANTILES = (0.01, 0.05, 0.5)
_QNAMES = tuple(f"q{int(round(100 * q)):02d}" for q in QUANTILES)
#: a code whose coherence (or interference) is below this is orthonormal: mono up to a rotation
ORTHONORMAL_TOL = 1e-9


@dataclass(frozen=True)
class MarginConfig(SweepConfig):
    """Grid: code x ratio x sparsity (cells); inside each cell: input noise x label noise x training size
    (vectorized) and ``reps`` replicates. Fixed: n_features, m, n_test, amplitude, frame_iter, code_seed."""

    name: ClassVar[str] = "margin_sweep"
    version: ClassVar[str] = "1"
    seed_axes: ClassVar[tuple[str, ...]] = ("sparsity",)  # common random numbers across codes and ratios

    code: tuple[Literal["mono", "random", "antipodal", "frame", "trained"], ...] = DEFAULT_CODES
    ratio: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0)
    sparsity: tuple[float, ...] = (0.8, 0.9, 0.97)
    input_noise: tuple[float, ...] = fixed((0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5))
    label_noise: tuple[float, ...] = fixed((0.0, 0.3, 0.6, 0.9))
    n_train: tuple[int, ...] = fixed((128, 1024))
    n_features: int = 64
    m: int = 16
    n_test: int = 2000
    reps: int = 3
    amplitude: tuple[float, float] = (0.0, 1.0)
    frame_iter: int = 300
    code_seed: int = 0
    toy_steps: int = 2000
    toy_batch: int = 256
    toy_lr: float = 0.01

    def validate(self) -> None:
        check_values("sparsity", self.sparsity, UNIT_OPEN_RIGHT)
        for name in ("input_noise", "label_noise", "n_train"):
            if len(getattr(self, name)) == 0:
                raise ValueError(f"{name} == (), must hold at least one value (the grid would be empty)")
            vals = getattr(self, name)
            if len(set(vals)) != len(vals):
                raise ValueError(f"{name} == {vals!r}, values must be distinct")
        check_values("input_noise", self.input_noise, Interval(0.0, 1e6, "[]"))
        check_values("label_noise", self.label_noise, UNIT)
        check_values("n_train", self.n_train, Interval(2, 1_000_000, "[]"))
        n = check_number("n_features", self.n_features, Interval(2, 1024, "[]"), integer=True)
        if isinstance(self.m, int) and not isinstance(self.m, bool) and self.m > n:
            raise ValueError(f"m == {self.m}, must be <= n_features == {n} (mono keeps m of the n features; ratio >= 1)")
        m = check_number("m", self.m, Interval(2, n, "[]"), integer=True)
        check_values("ratio", self.ratio, Interval(1.0, n / m, "[]"))
        for q in self.ratio:
            if abs(q * m - round(q * m)) > 1e-9:
                raise ValueError(f"ratio contains {q:g}, must make ratio * m an integer (m == {m})")
        check_number("n_test", self.n_test, Interval(10, 1_000_000, "[]"), integer=True)
        check_number("reps", self.reps, Interval(1, 100, "[]"), integer=True)
        amp = check_values("amplitude", self.amplitude, Interval(0.0, 1e6, "[]"))
        if not amp[0] < amp[1]:
            raise ValueError(f"amplitude == {self.amplitude!r}, must be (lo, hi) with 0 <= lo < hi")
        check_number("frame_iter", self.frame_iter, Interval(1, 100_000, "[]"), integer=True)
        check_number("code_seed", self.code_seed, NONNEG, integer=True)
        check_number("toy_steps", self.toy_steps, Interval(1, 1_000_000, "[]"), integer=True)
        check_number("toy_batch", self.toy_batch, Interval(1, 1_000_000, "[]"), integer=True)
        check_number("toy_lr", self.toy_lr, Interval(0.0, 10.0, "(]"))
        if not any(cell_is_valid(c, n_rep_of(q, m), m) for c in self.code for q in self.ratio):
            raise ValueError(
                f"code == {self.code!r} with ratio == {self.ratio!r} has no valid cell: mono needs ratio 1, "
                "antipodal ratio <= 2")

    @classmethod
    def quick(cls) -> "MarginConfig":
        """A tiny grid for smoke tests and CI (about a second of compute)."""
        return cls(code=("mono", "random", "frame"), ratio=(1.0, 2.0), sparsity=(0.9,),
                   input_noise=(0.0, 0.1, 0.3), label_noise=(0.0, 0.5), n_train=(256,),
                   n_features=24, m=8, n_test=600, reps=2, frame_iter=100)


# ------------------------------------------------------------------------------------------------ codes
def n_rep_of(ratio: float, m: int) -> int:
    """Number of represented features at superposition ratio ``ratio`` (``round(ratio * m)``)."""
    return int(round(ratio * m))


def cell_is_valid(code: str, n_rep: int, m: int) -> bool:
    """mono is defined at n_rep = m only; antipodal needs n_rep <= 2 m."""
    if code == "mono":
        return n_rep == m
    if code == "antipodal":
        return n_rep <= 2 * m
    return True


def build_code(code: str, n: int, m: int, n_rep: int, seed: Any, *, frame_iter: int = 300,
               sparsity: float = 0.9, amplitude: tuple[float, float] = (0.0, 1.0),
               toy: tuple[int, int, float] = (2000, 256, 0.01)) -> np.ndarray:
    """``W`` ``(m, n)``: the family's code for the first ``n_rep`` features, zero columns after.

    ``"trained"``: a toy model of superposition (``sims.toy_model``: ReLU output, Adam, ``toy`` = (steps,
    batch, lr)) trained on the first ``n_rep`` features at ``sparsity`` / ``amplitude``; the columns it
    represents (norm > 0.5) are normalised and moved to the front (the features are exchangeable), the
    others are zero: the code then represents ``n_eff <= n_rep`` features (its nonzero columns)."""
    from sims.codes import make_code

    if not cell_is_valid(code, n_rep, m):
        raise ValueError(f"code == {code!r} is not defined for n_rep == {n_rep}, m == {m}")
    W = np.zeros((m, n))
    if code == "mono":
        W[:, :m] = np.eye(m)
    elif code == "antipodal":
        pairs = n_rep - m  # features 2k, 2k+1 on +-e_k for k < pairs; then one feature per axis
        for k in range(pairs):
            W[k, 2 * k], W[k, 2 * k + 1] = 1.0, -1.0
        for j, axis in zip(range(2 * pairs, n_rep), range(pairs, m)):
            W[axis, j] = 1.0
    elif code == "random":
        W[:, :n_rep] = B.to_numpy(make_code("random", n_rep, m, seed))
    elif code == "frame":
        W[:, :n_rep] = B.to_numpy(make_code("frame", n_rep, m, seed, n_iter=frame_iter))
    else:
        ss = B.seed_sequence(seed)  # the toy model takes an int seed: a stable digest of the sequence
        toy_seed = B.stable_key((tuple(ss.spawn_key), int(ss.entropy)))
        Wt = _trained(n_rep, m, float(sparsity), tuple(float(a) for a in amplitude), toy_seed, *toy)
        W[:, : Wt.shape[1]] = Wt
    return W


@functools.lru_cache(maxsize=32)
def _trained(n_rep: int, m: int, S: float, amplitude: tuple, seed: int, steps: int, batch: int,
             lr: float) -> np.ndarray:
    """Represented, normalised columns ``(m, n_eff)`` of a toy model trained on ``n_rep`` features."""
    from sims.generators import FeatureSpec
    from sims.toy_model import SyntheticBatches, ToyModelConfig, train_toy_model

    cfg = ToyModelConfig(n_features=n_rep, n_hidden=m, steps=steps, lr=lr, seed=seed, dtype="float64",
                         log_every=steps)
    spec = FeatureSpec(n_rep, sparsity=S, amplitude=amplitude)
    res = train_toy_model(cfg, SyntheticBatches(spec, None, batch, seed, steps=steps), threads=1)
    Wt = np.asarray(B.to_numpy(res.W))[0]  # (m, n_rep)
    norms = np.linalg.norm(Wt, axis=0)
    keep = norms > 0.5
    return Wt[:, keep] / norms[keep]


def represented_count(W: np.ndarray) -> int:
    """Number of nonzero (represented) columns; they come first in every code built here."""
    return int(np.sum(np.linalg.norm(W, axis=0) > 0))


# ------------------------------------------------------------------------------------------------ the cell
def _quantiles(v: np.ndarray) -> dict[str, float]:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {f"margin_{q}": float("nan") for q in _QNAMES}
    return {f"margin_{name}": float(val) for name, val in zip(_QNAMES, np.quantile(v, QUANTILES))}


def _pooled_fisher(S0: np.ndarray, E: np.ndarray, y: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """Empirical pooled Fisher separation (M9) of the matched-filter differences ``s_a - s_b`` between
    argmax classes ``a != b`` of the represented features, for scores ``S0 + lam E`` at every ``lam``.

    Unbiased class variances (ddof 1) and bias-corrected squared mean gaps
    (``Delta^2 - V_a/n_a - V_b/n_b``), so numerator and denominator are unbiased pair averages."""
    r = S0.shape[1]
    sel = y < r
    S0, E, yy = S0[sel], E[sel], y[sel]
    P = np.zeros((len(yy), r))
    P[np.arange(len(yy)), yy] = 1.0
    cnt = P.sum(axis=0)
    ok = cnt >= 2
    safe = np.where(ok, cnt, 1.0)
    t0, tE = S0[np.arange(len(yy)), yy], E[np.arange(len(yy)), yy]  # own-class score
    sums = {k: P.T @ v for k, v in (("s0", S0), ("e", E), ("s0s0", S0 * S0), ("s0e", S0 * E), ("ee", E * E),
                                     ("t0s0", t0[:, None] * S0), ("t0e", t0[:, None] * E + tE[:, None] * S0),
                                     ("tee", tE[:, None] * E))}
    out = np.empty(len(lams))
    off = ~np.eye(r, dtype=bool) & ok[:, None] & ok[None, :]
    if not off.any():
        return np.full(len(lams), np.nan)
    for i, lv in enumerate(lams):
        M = (sums["s0"] + lv * sums["e"]) / safe[:, None]  # (class, feature) means
        sq = sums["s0s0"] + 2 * lv * sums["s0e"] + lv * lv * sums["ee"]
        var_diag = (sq - cnt[:, None] * M * M) / np.maximum(cnt - 1, 1)[:, None]  # Var[s_b | c]
        cross = sums["t0s0"] + lv * sums["t0e"] + lv * lv * sums["tee"]
        own = np.diag(M)
        cov_row = (cross - cnt[:, None] * own[:, None] * M) / np.maximum(cnt - 1, 1)[:, None]  # Cov[s_c, s_b | c]
        vown = np.diag(var_diag)
        Vrow = vown[:, None] + var_diag - 2 * cov_row  # Vrow[c, b] = Var[s_c - s_b | y = c]
        D = own[:, None] - M - M.T + own[None, :]  # D[a, b] = (M_a[a] - M_a[b]) - (M_b[a] - M_b[b])
        num = D * D - Vrow / safe[:, None] - Vrow.T / safe[None, :]
        den = Vrow + Vrow.T
        out[i] = num[off].mean() / den[off].mean()
    return out


def _bound_row(bound: str, stat: str, value: float, empirical: float, *, holds: float = float("nan"),
               informative: float = float("nan"), covered: float = float("nan"), level: float = float("nan"),
               kind: str = "lower_bound") -> dict:
    """One check row (``record="check"``) comparing a theory ``value`` with the ``empirical`` statistic.

    ``kind``: "lower_bound" / "upper_bound" (of the empirical statistic), "identity" (equal in
    expectation) or "approximation" (a model). ``tightness = empirical / value`` except for upper
    bounds, where it is ``value / empirical``: 1 means tight, larger means looser; NaN where undefined
    (a lower bound <= 0 is vacuous)."""
    lower = kind != "upper_bound"
    if lower:
        tight = empirical / value if (np.isfinite(value) and value > 0) else float("nan")
    else:
        tight = value / empirical if (np.isfinite(empirical) and empirical > 0) else float("nan")
    return {"record": "check", "check": bound, "kind": kind, "stat": stat, "level": level, "value": value,
            "empirical": empirical, "tightness": tight, "holds": holds, "informative": informative,
            "covered": covered}


@functools.lru_cache(maxsize=16)
def _data(seed: int, rep: int, n: int, S: float, lo: float, hi: float, n_test: int, n_train: int) -> tuple:
    """Test features / labels, training features / labels and the N(0, 1) input-noise draws of one
    replicate (read-only arrays). The seed depends on the sparsity only, so every code and ratio at a
    sparsity reads the same data; the cache spares regenerating it for each of them in one process."""
    from sims.generators import FeatureSpec, add_input_noise, make_labels, sample_features

    spec = FeatureSpec(n, sparsity=S, amplitude=(lo, hi))
    ss = B.seed_sequence(seed, "rep", rep)
    x = B.to_numpy(sample_features(spec, n_test, B.seed_sequence(ss, "test")))  # (N, n)
    y = B.to_numpy(make_labels(x, "argmax", B.seed_sequence(ss, "test")))  # (N,)
    x_tr = B.to_numpy(sample_features(spec, n_train, B.seed_sequence(ss, "train")))  # (n_train, n)
    y_tr = B.to_numpy(make_labels(x_tr, "argmax", B.seed_sequence(ss, "train")))
    z = B.to_numpy(add_input_noise(np.zeros_like(x), 1.0, B.seed_sequence(ss, "noise")))  # (N, n) ~ N(0, 1)
    out = (x, y, x_tr, y_tr, z)
    for a in out:
        a.flags.writeable = False
    return out


def _cell_code(cell: dict, seed: int, rep: int, n_rep: int) -> np.ndarray:
    """The code of a cell's replicate: random codes are redrawn per replicate (seeded by the cell);
    frames and trained toy models are built once from ``code_seed`` (only the data vary)."""
    code, m = cell["code"], cell["m"]
    if code in ("frame", "trained"):
        code_seed = B.seed_sequence(cell["code_seed"], code, n_rep, m)
    else:
        code_seed = B.seed_sequence(seed, "code", code, n_rep, rep)
    return build_code(code, cell["n_features"], m, n_rep, code_seed, frame_iter=cell["frame_iter"],
                      sparsity=cell["sparsity"], amplitude=tuple(cell["amplitude"]),
                      toy=(cell.get("toy_steps", 2000), cell.get("toy_batch", 256), cell.get("toy_lr", 0.01)))


def _one_rep(cell: dict, seed: int, rep: int, W: np.ndarray) -> list[dict]:
    from sims.generators import flip_labels
    from sims.metrics import signed_margins
    from sims.probes import fit_linear
    from theory import margins as T

    code, S = cell["code"], cell["sparsity"]
    n, m = cell["n_features"], cell["m"]
    lo, hi = cell["amplitude"]
    lams = np.asarray(cell["input_noise"], dtype=float)
    etas = np.asarray(cell["label_noise"], dtype=float)
    n_trains = tuple(int(v) for v in cell["n_train"])
    theory_ok = lo == 0.0  # the accuracy / Fisher theory is for amplitude U(0, hi)

    # ---- code ------------------------------------------------------------------------------------
    n_rep = represented_count(W)  # = round(ratio * m), except for trained codes (what the model kept)
    G = W.T @ W  # (n, n)
    mu = T.coherence(W, n_rep)
    welch = float(T.welch_bound(n_rep, m))
    nu = T.interference_nu(G, n_rep)
    base = {"rep": rep, "n_rep": n_rep, "mu": mu}

    # ---- data (common random numbers across codes and ratios: the seed depends on sparsity only) ----
    ss = B.seed_sequence(seed, "rep", rep)
    x, y, x_tr, y_tr, z = _data(seed, rep, n, S, lo, hi, cell["n_test"], max(n_trains))
    N = len(y)
    rows: list[dict] = []

    # ---- matched filter, clean: margins and the margin bounds (M3), (M4) ---------------------------
    S0 = x @ G[:, :n_rep]  # (N, r) clean scores
    E = z @ G[:, :n_rep]  # (N, r) noise direction: scores at lam are S0 + lam E
    marg, covered = T.matched_filter_margins(x, y, G, n_rep)  # NaN where not covered
    cov_frac = float(covered.mean())
    yc = np.where(covered, y, 0)
    st = T.sample_structure(x, y, n_rep)
    b_s = T.margin_bound_sample(x, y, mu, n_rep)
    b_w = np.full(N, np.nan)
    if covered.any():
        b_w[covered] = T.margin_bound_worst(mu, np.maximum(st["k"][covered], 1),
                                            np.clip(st["gap"][covered], 0.0, hi), (lo, hi))
    tol = 1e-9 * (1.0 + np.abs(S0).max(axis=1))
    for name, bnd in (("margin_sample", b_s), ("margin_worst", b_w)):
        hold = float(np.mean(marg[covered] >= bnd[covered] - tol[covered])) if covered.any() else float("nan")
        inf_ = float(np.mean(bnd[covered] > 0)) if covered.any() else float("nan")
        qb, qm = _quantiles(bnd), _quantiles(marg)
        for qn in _QNAMES:
            rows.append({**base, **_bound_row(name, qn, qb[f"margin_{qn}"], qm[f"margin_{qn}"],
                                              holds=hold, informative=inf_, covered=cov_frac)})
    rows.append({**base, **_bound_row("welch", "mu", welch, mu, holds=float(mu >= welch - 1e-12))})
    th_var = T.readout_noise_variance(W)[:n_rep]  # (M5) at lam = 1: (G^2)_jj
    gain = float(np.mean(th_var))
    rows.append({**base, **_bound_row("frame_gain", "mean_j", n_rep / m, gain, holds=float(gain >= n_rep / m - 1e-9))})
    # (M5) readout noise variance: empirical Var[E_j] vs (G^2)_jj (lam cancels; z is shared by all lam)
    emp_var = E.var(axis=0, ddof=1)
    ratio = float(np.mean(emp_var / th_var))
    # 4 SE of one variance ratio (the mean over j has a smaller SE: a conservative tolerance)
    rows.append({**base, **_bound_row("readout_var", "mean_j", 1.0, ratio, kind="identity",
                                      holds=float(abs(ratio - 1.0) <= 4 * math.sqrt(2.0 / (N - 1))))})

    # ---- matched filter under input noise: accuracy, margins, Fisher, error bounds (M6) ------------
    Sl = S0[None] + lams[:, None, None] * E[None]  # (L, N, r)
    pred = Sl.argmax(axis=-1)
    acc = (pred == y[None]).mean(axis=1)
    err_cov = (pred[:, covered] != y[None, covered]).mean(axis=1) if covered.any() else np.full(len(lams), np.nan)
    marg_l = np.where(covered[None], signed_margins(Sl, yc), np.nan)
    fisher = _pooled_fisher(S0, E, y, lams)
    if theory_ok:
        fisher_th = T.fisher_separation_code(G, n_rep, S, lams, amplitude_max=hi)
        if nu <= ORTHONORMAL_TOL:  # G = I on the represented features (mono up to a rotation): exact (M7)
            acc_th = T.orthogonal_accuracy(n, n_rep, S, lams / hi)
        else:
            acc_th = T.meanfield_accuracy(n, n_rep, S, lams / hi, nu)
        fisher_rand = (T.expected_fisher_separation(n, n_rep, m, S, lams / hi) if code == "random"
                       else np.full(len(lams), np.nan))
    else:
        fisher_th = acc_th = fisher_rand = np.full(len(lams), np.nan)
    for i, lv in enumerate(lams):
        rows.append({**base, "record": "readout", "readout": "matched_filter", "noise": "input", "level": float(lv),
                     "acc": float(acc[i]), "covered": cov_frac, **_quantiles(marg_l[i]),
                     "fisher": float(fisher[i]), "fisher_exact": float(fisher_th[i]),
                     "fisher_random": float(fisher_rand[i]), "acc_theory": float(acc_th[i])})
    pos = lams > 0
    if covered.any() and pos.any():
        low, up = T.error_bounds(x[covered], y[covered], W, n_rep, lams[pos])
        n_cov = int(covered.sum())
        for j, lv in enumerate(lams[pos]):
            e_emp = float(err_cov[pos][j])
            u, l_ = float(np.mean(up[j])), float(np.mean(low[j]))
            # the bounds are on the expected error of the covered samples; the empirical rate has variance
            # <= e (1 - e) / N: a one-sided 4-SE test with e replaced by the bound (upper) or the rate (lower)
            se_u = math.sqrt(max(u * (1 - u), 1.0 / n_cov) / n_cov)
            se_l = math.sqrt(max(e_emp * (1 - e_emp), 1.0 / n_cov) / n_cov)
            rows.append({**base, **_bound_row("err_union", "mean", u, e_emp, level=float(lv), kind="upper_bound",
                                              holds=float(e_emp <= u + 4 * se_u),
                                              informative=float(np.mean(up[j] < 1)), covered=cov_frac)})
            rows.append({**base, **_bound_row("err_pair", "mean", l_, e_emp, level=float(lv),
                                              holds=float(e_emp >= l_ - 4 * se_l),
                                              informative=float(np.mean(low[j] > 0)), covered=cov_frac)})
    if theory_ok:
        exact = nu <= ORTHONORMAL_TOL
        for j, lv in enumerate(lams):
            rows.append({**base, **_bound_row("acc_theory", "mean", float(acc_th[j]), float(acc[j]),
                                              level=float(lv), kind="identity" if exact else "approximation")})
            rows.append({**base, **_bound_row("fisher_exact", "pooled", float(fisher_th[j]), float(fisher[j]),
                                              level=float(lv), kind="identity")})

    # ---- least-squares probes on h: label noise (batched) and input noise ------------------------------
    H_tr = x_tr @ W.T  # (n_train_max, m)
    H = x @ W.T  # (N, m)
    Hz = z @ W.T  # (N, m): h-noise direction
    eta_all = np.unique(np.concatenate([[0.0], etas]))
    for nt in n_trains:
        y_sets = B.to_numpy(flip_labels(y_tr[:nt], n, eta_all[:, None], B.seed_sequence(ss, "flip")))  # (L, nt)
        probe = fit_linear(H_tr[:nt], y_sets, n, label_sets=True)
        coef, icpt = B.to_numpy(probe.coef), B.to_numpy(probe.intercept)  # (L, m, n), (L, n)
        sc = H[None] @ coef + icpt[:, None, :]  # (L, N, n)
        acc_eta = (sc.argmax(axis=-1) == y[None]).mean(axis=1)
        marg_eta = np.where(covered[None], signed_margins(sc, yc), np.nan)
        for i, ev in enumerate(eta_all):
            if ev in etas:
                rows.append({**base, "record": "readout", "readout": "probe", "noise": "label", "level": float(ev),
                             "n_train": nt, "acc": float(acc_eta[i]), "covered": cov_frac, **_quantiles(marg_eta[i])})
        c0 = coef[0]  # eta = 0
        sc_l = sc[0][None] + lams[:, None, None] * (Hz @ c0)[None]  # (L, N, n)
        acc_l = (sc_l.argmax(axis=-1) == y[None]).mean(axis=1)
        marg_p = np.where(covered[None], signed_margins(sc_l, yc), np.nan)
        for i, lv in enumerate(lams):
            rows.append({**base, "record": "readout", "readout": "probe", "noise": "input", "level": float(lv),
                         "n_train": nt, "acc": float(acc_l[i]), "covered": cov_frac, **_quantiles(marg_p[i])})
    return rows


def cell_fn(cell: dict, seed: int) -> list[dict]:
    """One cell (code x ratio x sparsity): ``reps`` replicates, rows as described in the module doc.
    Empty for (mono, ratio != 1) and (antipodal, ratio > 2)."""
    n_rep = n_rep_of(cell["ratio"], cell["m"])
    if not cell_is_valid(cell["code"], n_rep, cell["m"]):
        return []
    with B.one_blas_thread():
        return _cell(cell, seed, n_rep)


def _cell(cell: dict, seed: int, n_rep: int) -> list[dict]:
    from theory import margins as T

    rows: list[dict] = []
    for rep in range(cell["reps"]):
        W = _cell_code(cell, seed, rep, n_rep)
        if represented_count(W) < 2:  # a trained model that kept fewer than two features: no margins
            return []
        rows += _one_rep(cell, seed, rep, W)
    lo, hi = cell["amplitude"]
    if cell["code"] != "mono" and lo == 0.0:
        # (M11) balance noise of this code vs mono (mean-field; random codes: nu in expectation)
        n, m = cell["n_features"], cell["m"]
        if cell["code"] == "random":
            nu = (n_rep - 1) / m  # in expectation over random codes
        else:  # frame, antipodal and trained codes do not depend on the replicate: the last W
            n_rep = represented_count(W)
            nu = T.interference_nu(W.T @ W, n_rep)
        if nu <= ORTHONORMAL_TOL:  # orthonormal (frame / antipodal at ratio 1): the same accuracy as mono
            return rows
        bal = T.balance_noise(n, m, n_rep, cell["sparsity"], nu, lam_max=max(3.0, 3.0 * max(cell["input_noise"]) / hi),
                              n_grid=31)
        rows.append({"record": "theory", "n_rep": n_rep, "nu": nu, "lam_star": bal.lam_star * hi,
                     "lam_lo": bal.bracket[0] * hi, "lam_hi": bal.bracket[1] * hi,
                     "f_lo": bal.f_bracket[0], "f_hi": bal.f_bracket[1], "sign_at_zero": bal.sign_at_zero})
    return rows


# ------------------------------------------------------------------------------------------------ CLI
def figures(rows: list[dict], out_dir: Any, config: MarginConfig) -> list:
    """Figures (PNG + PDF) and the PDF report beside results.csv (see sims.margin_report)."""
    from sims.margin_report import make_figures_and_report

    return make_figures_and_report(rows, out_dir, config)


def build_parser() -> cli.ArgumentParser:
    d = MarginConfig()
    p = cli.ArgumentParser(prog="python -m sims.margin_sweep", description=__doc__.split("\n\n")[0],
                           epilog=__doc__.split("\n\n", 1)[1], formatter_class=_Formatter)
    g = p.add_argument_group("grid (cells)")
    g.add_argument("--code", type=cli.strings, default=None,
                   help=f"grid axis: codes, comma-separated among {', '.join(CODES)} (default: {','.join(d.code)}; "
                        "'trained' trains a toy model per ratio and sparsity: about 0.5 s each)")
    g.add_argument("--ratio", type=cli.floats, default=None,
                   help="grid axis: superposition ratios n_rep/m in [1, n_features/m], ratio*m an integer "
                        f"(default: {','.join(f'{v:g}' for v in d.ratio)})")
    g.add_argument("--sparsity", type=cli.floats, default=None,
                   help=f"grid axis: sparsities S in [0, 1) (default: {','.join(f'{v:g}' for v in d.sparsity)})")
    v = p.add_argument_group("inside each cell (vectorized)")
    v.add_argument("--input-noise", type=cli.floats, default=None,
                   help="Gaussian input-noise scales lam >= 0 on x (default: "
                        f"{','.join(f'{x:g}' for x in d.input_noise)})")
    v.add_argument("--label-noise", type=cli.floats, default=None,
                   help=f"symmetric label-noise rates eta in [0, 1] for the probes (default: {','.join(f'{x:g}' for x in d.label_noise)})")
    v.add_argument("--n-train", type=cli.ints, default=None,
                   help=f"probe training sizes, integers in [2, 1e6] (default: {','.join(str(x) for x in d.n_train)})")
    f = p.add_argument_group("fixed parameters")
    f.add_argument("--n-features", type=int, default=None, help=f"n, features in [2, 1024] (default: {d.n_features})")
    f.add_argument("--m", type=int, default=None, help=f"dimensions of the code, in [2, n_features] (default: {d.m})")
    f.add_argument("--n-test", type=int, default=None, help=f"test samples per replicate, in [10, 1e6] (default: {d.n_test})")
    f.add_argument("--reps", type=int, default=None, help=f"replicates per cell (new data and random codes), in [1, 100] (default: {d.reps})")
    f.add_argument("--amplitude", type=cli.floats, default=None,
                   help=f"LO,HI: active features are Uniform(LO, HI), 0 <= LO < HI (theory columns need LO = 0) (default: {d.amplitude[0]:g},{d.amplitude[1]:g})")
    f.add_argument("--frame-iter", type=int, default=None, help=f"alternating-projection steps of the frame codes, in [1, 100000] (default: {d.frame_iter})")
    f.add_argument("--code-seed", type=int, default=None,
                   help=f"seed of the frame and trained codes (shared by all cells) (default: {d.code_seed})")
    f.add_argument("--toy-steps", type=int, default=None,
                   help=f"trained codes: Adam steps of the toy model, in [1, 1e6] (default: {d.toy_steps})")
    f.add_argument("--toy-batch", type=int, default=None,
                   help=f"trained codes: batch size of the toy model, in [1, 1e6] (default: {d.toy_batch})")
    f.add_argument("--toy-lr", type=float, default=None,
                   help=f"trained codes: Adam learning rate, in (0, 10] (default: {d.toy_lr:g})")
    cli.add_run_arguments(p, quick_help="a tiny grid for CI (seconds): codes mono,random,frame, ratios 1,2, n=24, m=8")
    return p


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the module docstring's layout in the epilog; shows defaults except ``None`` / ``False``
    (the grid flags state the config's defaults in their own text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action)


def make_config(args: Any) -> MarginConfig:
    return cli.config_from_args(MarginConfig.quick() if args.quick else MarginConfig(), args)


def main(argv: list[str] | None = None) -> int:
    return cli.sweep_main(argv, build_parser(), make_config, cell_fn, figures_fn=figures)


if __name__ == "__main__":
    sys.exit(main())
