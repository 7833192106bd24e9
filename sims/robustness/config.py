"""Toy models of superposition, trained and stress-tested: the paper's §4.2 / Fig. 5 with error bars, and
the phase diagram of where monosemantic codes win.

``python -m sims.robustness_sweep [--quick] [--out DIR] ...``. Grid (cells): data sparsity S x hidden
dimensions m (n = --n-features planted features, so n/m = superposition pressure). In every cell,
--reps replicates (each: its own trained codes and its own data), for every comparator of
``sims.robustness.comparators`` (trained "superposed" at the code sparsity, trained "dense" = monosemantic
comparator, trained "nonneg", planted "random" and "mono"), the four scenarios of ``sims.robustness.scenarios``:

* label noise (symmetric and pair/asymmetric, rates --label-noise, every --n-train; noise on the
  TRAINING labels, accuracy on clean test labels; opt in: classcond = one-sided class-conditional 2k+1 -> 2k,
  margin = flips near the decision boundary with scale --margin-tau, as in theory.two_feature);
* input noise (Gaussian and uniform of std --input-noise on the planted features x, added at --noise-at:
  "test" = probe trained clean, "both" = training and test inputs noisy; training sizes --noise-n-train);
* few-shot (--few-shot k per class; 0 = all max(--n-train) training samples);
* out of distribution (--ood test-time shifts of density, amplitude or feature frequencies).

Task: y = argmax of the n planted features (C = n classes). The probe reads the hidden layer h = W x
(--readout hidden, default) or the toy model's output ReLU(WᵀW x + b) (--readout output); it is the
closed-form least-squares probe (--probe ls, one factorization per training set shared by all label-noise
rates) or a softmax probe (--probe softmax). With --theory (default) every replicate's dense and
superposed codes also get the predictions of ``theory.robustness`` for the LS probe: (R7) under symmetric
label noise (per-point moments with the skewness correction) and (R7') under test-time Gaussian input
noise (joint draws of the probe error), from which the predicted boundaries come.

results.csv (tidy; one row per replicate x comparator x scenario x kind x level x training size):
sparsity, m, cell_seed, record ("accuracy" simulated | "theory" predicted), rep, comparator, role (mono |
poly | reference), scenario (label_noise | input_noise | few_shot | ood), kind (symmetric | pair;
gaussian | uniform; density | amplitude | frequency | none; for few_shot "k"), at (test | train | both;
"" otherwise), level (eta, lam, k, or the shift value), n_train (training samples used), acc, and the
code's monosemanticity next to every number: n_represented, frac_represented, superposition_ratio,
features_per_dimension, dimensionality, coherence, neuron_pr, train_sparsity, code_loss, plus ratio
(n/m) and n_features. Derived tables: summary.csv (mean and 95% t-interval over replicates, with the mean
metrics), differences.csv (paired dense - superposed differences, winner), boundaries.csv (empirical vs
predicted crossings, gap), verdict.json (the Fig.-5 pattern at --fig-sparsity, --fig-m, max n_train).
Figures (PNG + PDF): Fig.-5 style curves, few-shot, OOD and the phase diagram with the theory boundary.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sims.engine.generators import NOISE_KINDS
from sims.engine.validation import UNIT, UNIT_OPEN_RIGHT, Interval, check_number, check_values
from sims.robustness.schema import SCHEMA as _SCHEMA
from sims.sweep.config import SweepConfig, fixed

__all__ = ["RobustnessConfig", "ROLES", "COMPARATORS", "memory_need"]

ROLES = {"dense": "mono", "superposed": "poly"}
#: input-noise laws of the engine (sims.engine.generators.NOISE_KINDS)
NoiseKind = Literal[NOISE_KINDS]  # type: ignore[valid-type]
COMPARATORS = ("superposed", "dense", "nonneg", "random", "mono")


@dataclass(frozen=True)
class RobustnessConfig(SweepConfig):
    """Grid: sparsity x m (cells). Inside a cell: reps x comparators x scenarios (see the module doc)."""

    name: ClassVar[str] = "robustness_sweep"
    version: ClassVar[str] = "2"
    schema: ClassVar[Any] = _SCHEMA  # every column of every CSV (docs/RESULTS.md)
    former_names: ClassVar[tuple[str, ...]] = ("sims.robustness_sweep.RobustnessConfig",)  # before the studies became packages

    sparsity: tuple[float, ...] = (0.7, 0.8, 0.9, 0.95)
    m: tuple[int, ...] = (10, 20, 30)
    comparators: tuple[Literal["superposed", "dense", "nonneg", "random", "mono"], ...] = fixed(COMPARATORS)
    n_train: tuple[int, ...] = fixed((100, 200, 500, 1000, 2000, 5000, 10000))
    label_noise: tuple[float, ...] = fixed((0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))
    label_noise_kind: tuple[Literal["symmetric", "pair", "classcond", "margin"], ...] = fixed(("symmetric", "pair"))
    input_noise: tuple[float, ...] = fixed((0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0))
    input_noise_kind: tuple[NoiseKind, ...] = fixed(("gaussian", "uniform"))
    noise_at: tuple[Literal["test", "train", "both"], ...] = fixed(("test", "both"))
    noise_n_train: tuple[int, ...] = fixed((200, 1000, 10000))
    few_shot: tuple[int, ...] = fixed((1, 2, 5, 10, 50, 0))
    ood: tuple[str, ...] = fixed(("density=0.5", "density=2", "amplitude=0.5", "amplitude=2",
                                   "frequency=0.25", "frequency=4"))
    n_features: int = 40
    n_test: int = 4096
    reps: int = 5
    code_sparsity: float | None = None
    importance_decay: float = 0.9
    train_steps: int = 2000
    train_batch: int = 512
    train_lr: float = 0.01
    readout: Literal["hidden", "output"] = "hidden"
    probe: Literal["ls", "softmax"] = "ls"
    alpha: float = 0.0
    theory: bool = True
    theory_pop: int = 50000
    theory_test: int = 2000
    fig_sparsity: float = 0.9
    fig_m: int = 20
    margin_tau: float = 0.1  # tau of label_noise_kind "margin" (opt in)
    memory_budget: float = 4.0  # GB of arrays per cell; a config that needs more is refused up front

    def validate(self) -> None:
        check_values("sparsity", self.sparsity, UNIT_OPEN_RIGHT)
        n = check_number("n_features", self.n_features, Interval(2, 256), integer=True)
        check_values("m", self.m, Interval(1, n))
        if len(self.comparators) == 0:
            raise ValueError("comparators == (), must list at least one comparator")
        for name in ("comparators", "n_train", "label_noise", "label_noise_kind", "input_noise",
                     "input_noise_kind", "noise_at", "noise_n_train", "few_shot", "ood"):
            vals = getattr(self, name)
            if len(vals) == 0:
                raise ValueError(f"{name} == (), must hold at least one value")
            if len(set(vals)) != len(vals):
                raise ValueError(f"{name} == {vals!r}, values must be distinct")
        check_values("n_train", self.n_train, Interval(2, 10**6))
        check_values("label_noise", self.label_noise, UNIT)
        check_values("input_noise", self.input_noise, Interval(0.0, 100.0))
        nmax = max(self.n_train)
        check_values("noise_n_train", self.noise_n_train, Interval(2, nmax))
        check_values("few_shot", self.few_shot, Interval(0, 10**6))
        for k in self.few_shot:  # the training pool must hold k samples of every class (with room)
            if k > 0 and 2 * k * n > nmax:
                raise ValueError(f"few_shot contains {k}, needs max(n_train) >= 2 * {k} * n_features == "
                                 f"{2 * k * n} (now {nmax}): every class must have k training samples")
        from sims.robustness.scenarios import parse_shift, shifted_spec
        from sims.engine.generators import FeatureSpec

        for text in self.ood:
            shift = parse_shift(text)
            for S in self.sparsity:
                try:
                    shifted_spec(FeatureSpec(n, sparsity=S), shift)
                except ValueError as exc:
                    raise ValueError(f"ood contains {text!r}, invalid at sparsity {S:g}: {exc}") from None
        check_number("n_test", self.n_test, Interval(100, 10**6), integer=True)
        check_number("reps", self.reps, Interval(2, 100), integer=True)
        if self.code_sparsity is not None:
            check_number("code_sparsity", self.code_sparsity, UNIT_OPEN_RIGHT)
        check_number("importance_decay", self.importance_decay, Interval(0.0, 1.0, "(]"))
        check_number("train_steps", self.train_steps, Interval(1, 10**6), integer=True)
        check_number("train_batch", self.train_batch, Interval(1, 10**5), integer=True)
        check_number("train_lr", self.train_lr, Interval(0.0, 1.0, "(]"))
        check_number("alpha", self.alpha, Interval(0.0, 1e6))
        check_number("margin_tau", self.margin_tau, Interval(0.0, 1e6, "(]"))
        check_number("theory_pop", self.theory_pop, Interval(1000, 10**7), integer=True)
        check_number("theory_test", self.theory_test, Interval(100, 10**6), integer=True)
        if self.theory and self.theory_pop < 4 * nmax:
            raise ValueError(f"theory_pop == {self.theory_pop}, must be >= 4 * max(n_train) == {4 * nmax} "
                             "(the population probe must be far more precise than the probes studied)")
        if not any(abs(self.fig_sparsity - S) < 1e-12 for S in self.sparsity):
            raise ValueError(f"fig_sparsity == {self.fig_sparsity:g}, must be one of the sparsity values "
                             f"{', '.join(f'{S:g}' for S in self.sparsity)}")
        if self.fig_m not in self.m:
            raise ValueError(f"fig_m == {self.fig_m}, must be one of the m values {', '.join(map(str, self.m))}")
        budget = check_number("memory_budget", self.memory_budget, Interval(0.05, 1024.0, "[]"))
        need = memory_need(self)
        total = sum(need.values())
        if total > budget * 1e9:
            flag = max(need, key=need.get)
            value = {"--n-test": self.n_test, "--n-train": max(self.n_train), "--ood": len(self.ood),
                     "--theory-pop": self.theory_pop}[flag]
            raise ValueError(
                f"{flag} == {value} needs about {total / 1e9:.3g} GB per cell ({need[flag] / 1e9:.3g} GB of it), over "
                f"--memory-budget == {budget:g} GB; lower {flag} or raise --memory-budget")

    @classmethod
    def quick(cls) -> "RobustnessConfig":
        """A small grid for smoke tests (well under 40 s on 2 cores, figures included)."""
        return cls(sparsity=(0.8, 0.9), m=(20,), n_train=(200, 1000, 3000), label_noise=(0.0, 0.4, 0.8, 0.9),
                   input_noise=(0.0, 0.2, 0.4, 0.6), noise_n_train=(1000, 3000), few_shot=(1, 5, 0),
                   ood=("density=2", "frequency=4"), n_test=2048, reps=5, train_steps=1000, train_batch=256,
                   train_lr=0.01, theory_pop=20000, theory_test=600)


def memory_need(cfg: RobustnessConfig) -> dict[str, float]:
    """Upper estimates of the bytes of a cell's largest arrays, by the flag that sizes them (checked against
    tracemalloc in tests/test_robustness_sweep.py). The data of a replicate (training and test sets, their
    noise, the OOD test sets, their codes) are held whole; test rows are scored in chunks of 4096; the theory's
    population model holds ``--theory-pop`` samples."""
    f8 = 8.0
    n, N, nmax = cfg.n_features, cfg.n_test, max(cfg.n_train)
    d = max(cfg.m) if cfg.readout == "hidden" else n
    R = len(cfg.label_noise)
    need = {
        # test set, its input noise, its codes (clean, noise, one level) and the scores of a chunk
        "--n-test": f8 * N * (3 * n + 4 * d + 4) + f8 * 4096 * R * n * 2,
        # training set, its noise and codes, the one-hot targets of every label-noise rate, the probes
        "--n-train": f8 * nmax * (3 * n + 5 * d + 4) + f8 * 4 * R * nmax * n + f8 * 2 * R * (d + 1) * n,
        # the OOD test sets (all drawn before scoring) and their codes
        "--ood": f8 * len(cfg.ood) * N * (n + 1) + f8 * N * d,
        "--theory-pop": 0.0,
    }
    if cfg.theory and cfg.probe == "ls":
        pop, mom, tt = cfg.theory_pop, min(5000, cfg.theory_pop), cfg.theory_test
        need["--theory-pop"] = (f8 * pop * (2 * n + 3 * n + 2 * (d + 1)) + f8 * n ** 3 + f8 * 256 * mom * 3
                                + f8 * mom * (10 * n + d) + f8 * tt * (10 * n + d) + f8 * pop * (n + d) + 4.0 * pop * n)
    return need

