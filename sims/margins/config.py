"""Margins and separation of superposed vs monosemantic codes, with symbolic bounds overlaid.

``python -m sims.margin_sweep`` (the main job). Planted spike-and-uniform features ``x in R^n`` (n =
--n-features), argmax labels, and codes ``h = W x`` in m = --m dimensions. A code at superposition
ratio q represents the first ``n_rep = q m`` features (unit columns) and drops the rest (zero columns):

* mono: features 0..m-1 on the axes (q = 1 only: n_rep = m by definition);
* random: i.i.d. uniform unit columns; frame: a low-coherence frame (p-frame-potential descent, fixed
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

Memory: the test samples of a replicate are drawn and evaluated in chunks of rows that fit --memory-budget
(sims.margins.config.memory_plan: whole when they fit, as at the default sizes; the random streams are
indexed by row, so chunks concatenate to the same samples); a config whose code, bounds or training set
alone exceed the budget is refused before anything runs, naming the flag that needs the most.

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
from typing import Any, ClassVar, Literal

from sims.engine.codes import FAMILIES
from sims.engine.validation import NONNEG, UNIT, UNIT_OPEN_RIGHT, Interval, check_number, check_values
from sims.margins.schema import SCHEMA as _SCHEMA
from sims.sweep.config import SweepConfig, fixed

__all__ = ["MarginConfig", "CODES", "DEFAULT_CODES", "QUANTILES", "ORTHONORMAL_TOL", "n_rep_of", "cell_is_valid",
           "MAX_FEATURES", "GB", "MemoryPlan", "memory_plan"]

#: every code family of the engine (sims.engine.codes.FAMILIES), then toy models trained per cell
CODES = (*FAMILIES, "trained")
CodeName = Literal[CODES]  # type: ignore[valid-type] - the options of the --code axis
#: the codes of the default grid ("trained" trains toy models: opt in with --code)
DEFAULT_CODES = ("mono", "random", "antipodal", "frame")
#: margin quantiles reported per cell (fixed: part of the meaning of the columns)
QUANTILES = (0.01, 0.05, 0.5)
#: a code whose coherence (or interference) is below this is orthonormal: mono up to a rotation
ORTHONORMAL_TOL = 1e-9
#: largest --n-features (SAE-sized dictionaries; the memory budget decides what fits)
MAX_FEATURES = 65536
#: bytes of the --memory-budget unit
GB = 1e9


@dataclass(frozen=True)
class MarginConfig(SweepConfig):
    """Grid: code x ratio x sparsity (cells); inside each cell: input noise x label noise x training size
    (vectorized) and ``reps`` replicates. Fixed: n_features, m, n_test, amplitude, frame_iter, code_seed."""

    name: ClassVar[str] = "margin_sweep"
    version: ClassVar[str] = "2"  # 2: frames by p-potential descent, frame_iter 0 = automatic, memory budget
    schema: ClassVar[Any] = _SCHEMA  # every column of every CSV (docs/RESULTS.md)
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
    frame_iter: int = 0  # 0: sims.engine.codes.frame_steps(n_rep, m)
    code_seed: int = 0
    toy_steps: int = 2000
    toy_batch: int = 256
    toy_lr: float = 0.01
    #: label-noise model of the probes' training labels (opt in; rows then read noise = label_<kind>):
    #: symmetric (to a uniformly chosen other class), classcond (one-sided class-conditional: class 2k+1 -> 2k at
    #: the rate, class 2k never; theory.two_feature transition=(0, rate)), margin (flip w.p. rate exp(-margin /
    #: margin_tau) to the runner-up class, margin = top minus runner-up feature; margin_noise=(rate, tau))
    label_noise_kind: Literal["symmetric", "classcond", "margin"] = "symmetric"
    margin_tau: float = 0.1
    memory_budget: float = 4.0  # GB of arrays per cell (test samples are evaluated in chunks that fit)

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
        n = check_number("n_features", self.n_features, Interval(2, MAX_FEATURES, "[]"), integer=True)
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
        check_number("frame_iter", self.frame_iter, Interval(0, 100_000, "[]"), integer=True)
        check_number("code_seed", self.code_seed, NONNEG, integer=True)
        check_number("toy_steps", self.toy_steps, Interval(1, 1_000_000, "[]"), integer=True)
        check_number("toy_batch", self.toy_batch, Interval(1, 1_000_000, "[]"), integer=True)
        check_number("toy_lr", self.toy_lr, Interval(0.0, 10.0, "(]"))
        check_number("margin_tau", self.margin_tau, Interval(0.0, 1e6, "(]"))
        if not any(cell_is_valid(c, n_rep_of(q, m), m) for c in self.code for q in self.ratio):
            raise ValueError(
                f"code == {self.code!r} with ratio == {self.ratio!r} has no valid cell: mono needs ratio 1, "
                "antipodal ratio <= 2")
        check_number("memory_budget", self.memory_budget, Interval(0.05, 1024.0, "[]"))
        memory_plan(self)  # raises when even the smallest chunk of test samples does not fit

    def work_estimate(self, cells: list[dict]) -> float:
        """Rough multiply-adds of ``cells`` (``--workers auto`` starts processes above
        ``sims.sweep.executors.AUTO_MIN_WORK``): per valid cell and replicate, the test and training samples
        through the ``m x n`` code and readouts, plus a trained code's steps."""
        n, m = self.n_features, self.m
        total = 0.0
        for c in cells:
            if not cell_is_valid(c["code"], n_rep_of(c["ratio"], m), m):
                continue
            total += self.reps * (self.n_test + max(self.n_train)) * n * m
            if c["code"] == "trained":
                total += 4.0 * self.toy_steps * self.toy_batch * n * m
        return total

    def worker_bytes(self) -> float:
        """One process's estimated peak: :func:`memory_plan`'s over the grid's ratios, plus its data cache."""
        plan = memory_plan(self)
        return plan.peak + CACHE_SHARE * plan.budget

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


# ------------------------------------------------------------------------------------------- memory budget
#: most test rows in one chunk (a chunk of this size keeps the working arrays of one noise level within a
#: few MB at n = 1024; the default n_test = 2000 is one chunk: the results do not depend on the budget there)
MAX_CHUNK = 4096
#: fewest test rows of a chunk; a budget that cannot hold them is refused up front
MIN_CHUNK = 64
#: share of the budget the process may keep as cached data of earlier cells (sims.margins.cell._DATA)
CACHE_SHARE = 0.2


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes a cell needs (upper estimates of its largest numpy arrays, measured against tracemalloc in
    tests/test_margin_scale.py): ``fixed`` per flag (code, Gram matrices, bounds; training set and probes),
    ``retained`` per test row kept for the whole replicate (per-sample margins and hits, for the quantiles),
    ``per_row`` working bytes per test row of a chunk; ``chunk_rows`` test rows per chunk (all ``n_test``
    when they fit, else as many as the budget leaves) and ``peak`` the estimate at that chunk size."""

    budget: float
    fixed: dict
    retained: float
    per_row: float
    chunk_rows: int
    peak: float


def _field(p: "MarginConfig | dict", name: str) -> object:
    return p[name] if isinstance(p, dict) else getattr(p, name)


def memory_plan(p: "MarginConfig | dict") -> MemoryPlan:
    """The chunking of a cell's test samples under ``memory_budget`` (``p``: a MarginConfig, or a cell dict
    whose ``ratio`` and ``code`` are one value). Raises ValueError naming the flag that needs the most
    memory when even ``MIN_CHUNK`` test rows (or all of them, if fewer) do not fit the budget."""
    f8 = 8.0
    n, m, N = int(_field(p, "n_features")), int(_field(p, "m")), int(_field(p, "n_test"))
    ratios = _field(p, "ratio")
    ratios = tuple(ratios) if isinstance(ratios, (tuple, list)) else (ratios,)
    r = min(n, max(n_rep_of(q, m) for q in ratios))
    L = len(_field(p, "input_noise"))
    J = sum(1 for v in _field(p, "input_noise") if v > 0)
    E = len(set(_field(p, "label_noise")) | {0.0})
    n_trains = tuple(_field(p, "n_train"))
    T, nt = len(n_trains), max(n_trains)
    budget = float(_field(p, "memory_budget")) * GB
    fixed = {
        # the code, its Gram matrix and the bounds on it: G, G @ G and the pair variances (n x n)
        "--n-features": f8 * (7.0 * n * n + 4.0 * m * n),
        # n_rep x n_rep blocks: the frame's descent, coherence, interference, exact Fisher separation (M9)
        "--m": f8 * 16.0 * r * r,
        # training set, its code, one-hot targets of every label-noise rate and the probes
        "--n-train": f8 * (nt * (n + m) + 4.0 * E * nt * n + 3.0 * E * m * n + 4.0 * T * E * m * n / max(T, 1)),
    }
    retained = 1.3 * (f8 * (8 + L + 2 * J + T * (E + L)) + (2 + L + T * (E + L)))
    per_row = f8 * (5.0 * n + 24.0 * r + 4.0 * m)
    free = budget * (1.0 - CACHE_SHARE) - sum(fixed.values()) - retained * N
    rows = min(N, MAX_CHUNK, int(free // per_row)) if free > 0 else 0
    need_rows = min(N, MIN_CHUNK)
    if rows < need_rows:
        parts = {**fixed, "--n-test": retained * N + per_row * need_rows}
        flag = max(parts, key=parts.get)
        value = {"--n-features": n, "--m": m, "--n-train": nt, "--n-test": N}[flag]
        total = sum(parts.values()) / (1.0 - CACHE_SHARE)
        what = {"--n-features": f"the {n} x {n} Gram matrices", "--m": f"the {r} x {r} blocks of n_rep = ratio x m",
                "--n-train": f"{nt} training samples x {E} label sets x {n} classes",
                "--n-test": f"{N} test samples"}[flag]
        raise ValueError(
            f"{flag} == {value} needs about {total / GB:.3g} GB per cell ({what}: {parts[flag] / GB:.3g} GB), over "
            f"--memory-budget == {budget / GB:g} GB; lower {flag} or raise --memory-budget")
    peak = sum(fixed.values()) + retained * N + per_row * rows
    return MemoryPlan(budget, fixed, retained, per_row, rows, peak)

