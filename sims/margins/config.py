"""Margins and separation of superposed vs monosemantic codes, with symbolic bounds overlaid.

``python -m sims.margin_sweep`` (the main job). Planted spike-and-uniform features ``x in R^n`` (n =
--n-features), argmax labels, and codes ``h = W x`` in m = --m dimensions. A code at superposition
ratio q represents the first ``n_rep = q m`` features (unit columns) and drops the rest (zero columns):

* mono: features 0..m-1 on the axes (q = 1 only: n_rep = m by definition);
* random: i.i.d. uniform unit columns; frame: a low-coherence frame (alternating projection, fixed
  --code-seed, shared by all cells); antipodal (q <= 2): n_rep - m pairs +-e_k, the rest alone on axes;
* trained (opt in: --code ...,trained): a toy model of superposition (sims.engine.toy_model, ReLU output,
  Adam) trained on the first q m features at the cell's sparsity; the features it represents (column
  norm > 0.5) are normalised and kept (n_rep <= q m is what it learned), the rest are dropped.

Per cell (code x ratio x sparsity) and replicate: the matched filter ``s = W^T h`` (argmax over the
represented features) and least-squares probes trained on h (batched over label-noise levels, one
factorization per training size) under input noise lam (Gaussian on x, all levels at once through
common random numbers) and label noise eta; empirical margin quantiles, Fisher separation, accuracy,
and the bounds of theory.margins with tightness (empirical / bound) and the fraction of covered
samples on which each holds. Cells (mono, q != 1) and (antipodal, q > 2) are empty by definition.
Outputs: results.csv, manifest.json, figures (PNG + PDF) and a short PDF report (sims.margins.report).

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

from dataclasses import dataclass
from typing import ClassVar, Literal

from sims.engine.codes import FAMILIES
from sims.engine.validation import NONNEG, UNIT, UNIT_OPEN_RIGHT, Interval, check_number, check_values
from sims.sweep.config import SweepConfig, fixed

__all__ = ["MarginConfig", "CODES", "DEFAULT_CODES", "QUANTILES", "ORTHONORMAL_TOL", "n_rep_of", "cell_is_valid"]

#: every code family of the engine (sims.engine.codes.FAMILIES), then toy models trained per cell
CODES = (*FAMILIES, "trained")
CodeName = Literal[CODES]  # type: ignore[valid-type] - the options of the --code axis
#: the codes of the default grid ("trained" trains toy models: opt in with --code)
DEFAULT_CODES = ("mono", "random", "antipodal", "frame")
#: margin quantiles reported per cell (fixed: part of the meaning of the columns)
QUANTILES = (0.01, 0.05, 0.5)
#: a code whose coherence (or interference) is below this is orthonormal: mono up to a rotation
ORTHONORMAL_TOL = 1e-9


@dataclass(frozen=True)
class MarginConfig(SweepConfig):
    """Grid: code x ratio x sparsity (cells); inside each cell: input noise x label noise x training size
    (vectorized) and ``reps`` replicates. Fixed: n_features, m, n_test, amplitude, frame_iter, code_seed."""

    name: ClassVar[str] = "margin_sweep"
    version: ClassVar[str] = "1"
    former_names: ClassVar[tuple[str, ...]] = ("sims.margin_sweep.MarginConfig",)  # before the studies became packages
    seed_axes: ClassVar[tuple[str, ...]] = ("sparsity",)  # common random numbers across codes and ratios

    code: tuple[CodeName, ...] = DEFAULT_CODES
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
