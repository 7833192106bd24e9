"""Toy models of superposition, trained and stress-tested: the paper's §4.2 / Fig. 5 with error bars, and
the phase diagram of where monosemantic codes win.

``python -m sims.robustness_sweep [--quick] [--out DIR] ...``. Grid (cells): data sparsity S x hidden
dimensions m (n = --n-features planted features, so n/m = superposition pressure). In every cell,
--reps replicates (each: its own trained codes and its own data), for every comparator of
``sims.comparators`` (trained "superposed" at the code sparsity, trained "dense" = monosemantic
comparator, trained "nonneg", planted "random" and "mono"), the four scenarios of ``sims.scenarios``:

* label noise (symmetric and pair/asymmetric, rates --label-noise, every --n-train; noise on the
  TRAINING labels, accuracy on clean test labels);
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

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from sims import backend as B
from sims import cli
from sims.phase import wrap
from sims.runner import SweepConfig, fixed
from sims.validation import UNIT, UNIT_OPEN_RIGHT, Interval, check_number, check_values

__all__ = ["RobustnessConfig", "cell_fn", "figures", "build_parser", "make_config", "main", "ROLES"]

ROLES = {"dense": "mono", "superposed": "poly"}
_COMPARATORS = ("superposed", "dense", "nonneg", "random", "mono")


@dataclass(frozen=True)
class RobustnessConfig(SweepConfig):
    """Grid: sparsity x m (cells). Inside a cell: reps x comparators x scenarios (see the module doc)."""

    name: ClassVar[str] = "robustness_sweep"
    version: ClassVar[str] = "2"

    sparsity: tuple[float, ...] = (0.7, 0.8, 0.9, 0.95)
    m: tuple[int, ...] = (10, 20, 30)
    comparators: tuple[Literal["superposed", "dense", "nonneg", "random", "mono"], ...] = fixed(_COMPARATORS)
    n_train: tuple[int, ...] = fixed((100, 200, 500, 1000, 2000, 5000, 10000))
    label_noise: tuple[float, ...] = fixed((0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))
    label_noise_kind: tuple[Literal["symmetric", "pair"], ...] = fixed(("symmetric", "pair"))
    input_noise: tuple[float, ...] = fixed((0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0))
    input_noise_kind: tuple[Literal["gaussian", "uniform"], ...] = fixed(("gaussian", "uniform"))
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
        from sims.scenarios import parse_shift, shifted_spec
        from sims.generators import FeatureSpec

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

    @classmethod
    def quick(cls) -> "RobustnessConfig":
        """A small grid for smoke tests (well under 40 s on 2 cores, figures included)."""
        return cls(sparsity=(0.8, 0.9), m=(20,), n_train=(200, 1000, 3000), label_noise=(0.0, 0.4, 0.8, 0.9),
                   input_noise=(0.0, 0.2, 0.4, 0.6), noise_n_train=(1000, 3000), few_shot=(1, 5, 0),
                   ood=("density=2", "frequency=4"), n_test=2048, reps=5, train_steps=1000, train_batch=256,
                   train_lr=0.01, theory_pop=20000, theory_test=600)


# ------------------------------------------------------------------------------------------------ cell
def cell_fn(cell: dict, seed: int) -> list[dict]:
    """One (sparsity, m) cell: ``reps`` replicates of every comparator and scenario (module doc)."""
    with B.one_blas_thread():
        return _cell(cell, seed)


def _cell(cell: dict, seed: int) -> list[dict]:
    from sims import scenarios as sc
    from sims.comparators import TrainSettings, build_codes
    from sims.generators import FeatureSpec

    n, m, S = cell["n_features"], cell["m"], cell["sparsity"]
    S_code = S if cell["code_sparsity"] is None else cell["code_sparsity"]
    settings = TrainSettings(cell["train_steps"], cell["train_batch"], cell["train_lr"], cell["importance_decay"])
    names = tuple(cell["comparators"])
    codes = build_codes(names, n, m, sparsity=S_code, reps=cell["reps"], seed=seed, settings=settings, threads=1)
    spec = FeatureSpec(n, sparsity=S)
    ns = tuple(sorted(cell["n_train"]))
    kw = dict(readout=cell["readout"], probe=cell["probe"], alpha=cell["alpha"])
    rows: list[dict] = []
    for r in range(cell["reps"]):
        data = sc.make_task(spec, max(ns), cell["n_test"], B.seed_sequence(seed, "data", r))
        W = np.stack([codes[nm][r].W for nm in names])
        b = np.stack([codes[nm][r].b for nm in names])
        base = [_code_columns(codes[nm][r], n, m, r) for nm in names]

        def emit(scenario, kind, at, levels, ntrains, acc, record="accuracy", only=None):
            for k, nm in enumerate(names):
                if only is not None and nm not in only:
                    continue
                for j, nt in enumerate(ntrains):
                    for i, lv in enumerate(levels):
                        rows.append({"record": record, **base[k], "scenario": scenario, "kind": kind, "at": at,
                                     "level": float(lv), "n_train": int(nt), "acc": float(acc[k][j][i])})

        for kind in cell["label_noise_kind"]:
            acc = sc.label_noise(W, data, cell["label_noise"], kind=kind, n_train=ns, b=b, **kw)
            emit("label_noise", kind, "", cell["label_noise"], ns, acc)
        nn = tuple(sorted(cell["noise_n_train"]))
        for kind in cell["input_noise_kind"]:
            for at in cell["noise_at"]:
                acc = sc.input_noise(W, data, cell["input_noise"], kind=kind, at=at, n_train=nn, b=b, **kw)
                emit("input_noise", kind, at, cell["input_noise"], nn, acc)
        ks = tuple(cell["few_shot"])
        acc = sc.few_shot(W, data, ks, b=b, **kw)
        for k, nm in enumerate(names):
            for j, kk in enumerate(ks):
                rows.append({"record": "accuracy", **base[k], "scenario": "few_shot", "kind": "k", "at": "",
                             "level": float(kk), "n_train": int(kk * n if kk > 0 else max(ns)), "acc": float(acc[k, j])})
        shifts = tuple(cell["ood"])
        acc = sc.ood(W, data, shifts, b=b, **kw)
        clean = sc.label_noise(W, data, [0.0], n_train=(max(ns),), b=b, **kw)[:, 0, 0]
        for k, nm in enumerate(names):
            rows.append({"record": "accuracy", **base[k], "scenario": "ood", "kind": "none", "at": "",
                         "level": 1.0, "n_train": max(ns), "acc": float(clean[k])})
            for j, text in enumerate(shifts):
                sh = sc.parse_shift(text)
                rows.append({"record": "accuracy", **base[k], "scenario": "ood", "kind": sh.kind, "at": "",
                             "level": sh.value, "n_train": max(ns), "acc": float(acc[k, j])})
        if cell["theory"] and cell["probe"] == "ls":
            rows += _theory_rows(cell, seed, r, names, codes, base, ns, nn, S)
    return rows


def _code_columns(code: Any, n: int, m: int, rep: int) -> dict:
    return {"rep": rep, "comparator": code.name, "role": ROLES.get(code.name, "reference"),
            **code.metrics, "train_sparsity": code.train_sparsity, "code_loss": code.final_loss,
            "ratio": n / m, "n_features": n}


def _theory_rows(cell: dict, seed: int, r: int, names: tuple, codes: dict, base: list, ns: tuple, nn: tuple,
                 S: float) -> list[dict]:
    """Predictions of theory.robustness for the dense and superposed codes of replicate ``r`` (the same
    population and test points for both: common random numbers)."""
    from theory import robustness as T

    rows = []
    etas = np.asarray(cell["label_noise"], dtype=np.float64)
    lams = np.asarray(cell["input_noise"], dtype=np.float64)
    for k, nm in enumerate(names):
        if nm not in ROLES:
            continue
        c = codes[nm][r]
        model = T.population_model(c.W, S, b=c.b, readout=cell["readout"], n_pop=cell["theory_pop"],
                                   n_moments=min(5000, cell["theory_pop"]), n_test=cell["theory_test"],
                                   n_ref=cell["theory_pop"], seed=int(B.rng(seed, "theory", r).integers(2**62)))
        acc = T.predicted_accuracy(model, np.asarray(ns)[:, None], etas[None, :], seed=r)
        for j, nt in enumerate(ns):
            for i, ev in enumerate(etas):
                rows.append({"record": "theory", **base[k], "scenario": "label_noise", "kind": "symmetric", "at": "",
                             "level": float(ev), "n_train": int(nt), "acc": float(acc[j, i])})
        if cell["readout"] == "hidden" and "gaussian" in cell["input_noise_kind"] and "test" in cell["noise_at"]:
            acc = T.predicted_accuracy_draws(model, np.asarray(nn)[:, None], 0.0, input_noise=lams[None, :], seed=r)
            for j, nt in enumerate(nn):
                for i, lv in enumerate(lams):
                    rows.append({"record": "theory", **base[k], "scenario": "input_noise", "kind": "gaussian",
                                 "at": "test", "level": float(lv), "n_train": int(nt), "acc": float(acc[j, i])})
    return rows


# ------------------------------------------------------------------------------------------------ figures
_STYLE = {"superposed": ("tab:red", "-"), "dense": ("tab:blue", "-"), "nonneg": ("tab:green", "--"),
          "random": ("tab:orange", ":"), "mono": ("tab:purple", ":")}


def _label(agg_rows: list[dict], comparator: str, n: int) -> str:
    """Legend entry with the comparator's monosemanticity (means over replicates)."""
    r = next((a for a in agg_rows if a["comparator"] == comparator), None)
    if r is None:
        return comparator
    return (f"{comparator}: {r['n_represented']:.1f}/{n} features, {r['superposition_ratio']:.2f} per dim, "
            f"dimensionality {r['dimensionality']:.2f}, neuron PR {r['neuron_pr']:.1f}")


def _curve(ax, agg, comparator, xs_key="level", **sel):
    pts = sorted((a for a in agg if a["comparator"] == comparator and a["record"] == "accuracy" and all(
        (abs(a[k] - v) < 1e-12 if isinstance(v, float) else a[k] == v) for k, v in sel.items())),
        key=lambda a: a[xs_key])
    if not pts:
        return None
    x = np.array([p[xs_key] for p in pts], dtype=float)
    y = np.array([p["acc_mean"] for p in pts])
    lo = np.array([p["acc_lo"] for p in pts])
    hi = np.array([p["acc_hi"] for p in pts])
    col, ls = _STYLE.get(comparator, ("gray", "-"))
    ax.plot(x, y, ls, color=col, lw=1.4 if comparator in ROLES else 0.9, marker="o", ms=2.5)
    ax.fill_between(x, lo, hi, color=col, alpha=0.2, lw=0)
    return pts


def _fig5(agg: list[dict], diffs: list[dict], out_dir: Path, config: RobustnessConfig) -> list[Path]:
    from sims.io import new_figure, save_figure

    S, m, nmax = config.fig_sparsity, config.fig_m, max(config.n_train)
    nn = max(config.noise_n_train)
    panels = [("label_noise", k, "", nmax, f"{k} label noise rate eta (training labels)") for k in config.label_noise_kind]
    panels += [("input_noise", k, at, nn, f"{k} input noise lam ({'test only' if at == 'test' else at})")
               for k in config.input_noise_kind for at in config.noise_at]
    ncol = 2
    nrow = math.ceil(len(panels) / ncol)
    fig = new_figure(figsize=(5.2 * ncol, 3.4 * nrow + 0.8))
    sel_agg = [a for a in agg if abs(a["sparsity"] - S) < 1e-12 and a["m"] == m]
    for i, (scen, kind, at, nt, xl) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        for comp in config.comparators:
            _curve(ax, sel_agg, comp, scenario=scen, kind=kind, at=at, n_train=nt)
        ds = sorted((d for d in diffs if d["record"] == "accuracy" and d["scenario"] == scen and d["kind"] == kind
                     and d["at"] == at and abs(d["sparsity"] - S) < 1e-12 and d["m"] == m and d["n_train"] == nt),
                    key=lambda d: d["level"])
        for d in ds:  # who wins at each level (paired 95% interval of dense - superposed)
            if d["winner"] in ("mono", "poly"):
                ax.annotate("M" if d["winner"] == "mono" else "P", (d["level"], 0.0), xycoords=("data", "axes fraction"),
                            fontsize=6, ha="center", va="bottom", color="tab:blue" if d["winner"] == "mono" else "tab:red")
        ax.set_xlabel(xl, fontsize=8)
        ax.set_ylabel(f"clean test accuracy (n_train = {nt})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=_STYLE.get(c, ("gray", "-"))[0], ls=_STYLE.get(c, ("gray", "-"))[1], marker="o",
                      ms=2.5) for c in config.comparators]
    fig.legend(handles, [_label(sel_agg, c, config.n_features) for c in config.comparators], loc="lower center",
               ncol=2, fontsize=7, frameon=False)
    fig.suptitle(wrap(
        f"Fig. 5 of the paper, with 95% CIs over {config.reps} seeds: S = {S:g}, n = {config.n_features}, m = {m}; "
        "bottom letters: M / P = dense (mono) / superposed (poly) ahead (paired CI)\n" + config.caption(), fig, 26),
        fontsize=7)
    fig.subplots_adjust(bottom=0.1 + 0.05 * math.ceil(len(config.comparators) / 2) / nrow, hspace=0.35)
    return save_figure(fig, out_dir / config.figure_stem("fig5"))


def _few_shot(agg: list[dict], out_dir: Path, config: RobustnessConfig) -> list[Path]:
    from sims.io import new_figure, save_figure

    Ss = list(config.sparsity)
    fig = new_figure(figsize=(3.3 * len(Ss) + 1.2, 3.9), layout="constrained")
    nmax = max(config.n_train)
    for i, S in enumerate(Ss):
        ax = fig.add_subplot(1, len(Ss), i + 1)
        sel = [dict(a, level=a["level"] if a["level"] > 0 else nmax / config.n_features)
               for a in agg if abs(a["sparsity"] - S) < 1e-12 and a["m"] == config.fig_m and a["scenario"] == "few_shot"]
        for comp in config.comparators:
            _curve(ax, sel, comp, scenario="few_shot")
        ax.set_xscale("log")
        ax.set_xlabel("training samples per class k (rightmost: all)", fontsize=7)
        ax.set_ylabel("clean test accuracy", fontsize=7)
        ax.set_title(f"S = {S:g}, m = {config.fig_m}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    fig.legend([Line2D([], [], color=_STYLE.get(c, ("gray", "-"))[0], ls=_STYLE.get(c, ("gray", "-"))[1])
                for c in config.comparators], list(config.comparators), loc="outside right upper", fontsize=6)
    fig.suptitle(wrap("Few-shot: probe on k samples per class, 95% CIs\n" + config.caption(), fig, 24), fontsize=6)
    return save_figure(fig, out_dir / config.figure_stem("few_shot"))


def _ood(agg: list[dict], out_dir: Path, config: RobustnessConfig) -> list[Path]:
    from sims.io import new_figure, save_figure

    Ss = list(config.sparsity)
    fig = new_figure(figsize=(3.6 * len(Ss), 4.0), layout="constrained")
    labels = ["none"] + list(config.ood)
    comps = list(config.comparators)
    w = 0.8 / len(comps)
    for i, S in enumerate(Ss):
        ax = fig.add_subplot(1, len(Ss), i + 1)
        sel = [a for a in agg if abs(a["sparsity"] - S) < 1e-12 and a["m"] == config.fig_m and a["scenario"] == "ood"
               and a["record"] == "accuracy"]
        for c, comp in enumerate(comps):
            ys, es = [], []
            for lab in labels:
                kind, val = ("none", 1.0) if lab == "none" else (lab.split("=")[0], float(lab.split("=")[1]))
                a = next((a for a in sel if a["comparator"] == comp and a["kind"] == kind and abs(a["level"] - val) < 1e-12), None)
                ys.append(a["acc_mean"] if a else np.nan)
                es.append((a["acc_hi"] - a["acc_mean"]) if a else np.nan)
            ax.bar(np.arange(len(labels)) + (c - (len(comps) - 1) / 2) * w, ys, w, yerr=es, label=comp,
                   color=_STYLE.get(comp, ("gray",))[0], error_kw={"lw": 0.6})
        ax.set_xticks(range(len(labels)), ["in-dist."] + labels[1:], rotation=40, fontsize=6)
        ax.set_ylabel("clean test accuracy", fontsize=7)
        ax.set_title(f"S = {S:g}, m = {config.fig_m}", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.axes[0].legend(fontsize=6)
    fig.suptitle(wrap("Out of distribution: probe trained in distribution, tested on shifted laws (95% CIs)\n"
                      + config.caption(), fig, 24), fontsize=6)
    return save_figure(fig, out_dir / config.figure_stem("ood"))


def figures(rows: list[dict], out_dir: Any, config: RobustnessConfig) -> list[Path]:
    """Tables (summary, differences, boundaries, verdict) and figures beside results.csv."""
    from sims import phase

    out_dir = Path(out_dir)
    paths, res = phase.make_outputs(rows, out_dir, config)
    agg = res["summary"]
    paths += _fig5(agg, res["differences"], out_dir, config)
    paths += _few_shot(agg, out_dir, config)
    paths += _ood(agg, out_dir, config)
    return paths


# ------------------------------------------------------------------------------------------------ CLI
def _opt_float(text: str) -> float | None:
    if text.lower() in ("none", "match"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'match'") from None


def _bool(text: str) -> bool:
    t = text.lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} must be true or false")


def build_parser() -> cli.ArgumentParser:
    d = RobustnessConfig()
    p = cli.ArgumentParser(prog="python -m sims.robustness_sweep", description=__doc__.splitlines()[0],
                           epilog="Every grid value is a comma-separated list. Outputs are described in the "
                                  "module docstring (python -c 'import sims.robustness_sweep as m; help(m)').")
    g = p.add_argument_group("grid (cells)")
    g.add_argument("--sparsity", type=cli.floats, help=f"grid axis: data sparsity S in [0, 1) (default {_j(d.sparsity)})")
    g.add_argument("--m", type=cli.ints, help=f"grid axis: hidden dimensions m in [1, n_features] (default {_j(d.m)})")
    c = p.add_argument_group("codes")
    c.add_argument("--comparators", type=cli.strings,
                   help=f"codes to compare, of {_j(_COMPARATORS)} (default: all); the Fig.-5 pair is dense vs superposed")
    c.add_argument("--n-features", type=int, help=f"planted features n = number of classes (default {d.n_features})")
    c.add_argument("--code-sparsity", type=_opt_float,
                   help="sparsity the superposed / nonneg codes are trained at; 'match' (default) = the cell's S")
    c.add_argument("--importance-decay", type=float, help=f"toy-model importance I_i = decay^i, in (0, 1] (default {d.importance_decay})")
    c.add_argument("--train-steps", type=int, help=f"Adam steps of the toy models (default {d.train_steps})")
    c.add_argument("--train-batch", type=int, help=f"rows per Adam step (default {d.train_batch})")
    c.add_argument("--train-lr", type=float, help=f"Adam step size (default {d.train_lr})")
    s = p.add_argument_group("scenarios")
    s.add_argument("--n-train", type=cli.ints, help=f"training sizes of the label-noise scenario; the largest is the pool of few-shot and OOD (default {_j(d.n_train)})")
    s.add_argument("--label-noise", type=cli.floats, help=f"label-noise rates eta in [0, 1] (default {_j(d.label_noise)})")
    s.add_argument("--label-noise-kind", type=cli.strings, help=f"of symmetric, pair (default {_j(d.label_noise_kind)})")
    s.add_argument("--input-noise", type=cli.floats, help=f"input-noise std lam >= 0 (default {_j(d.input_noise)})")
    s.add_argument("--input-noise-kind", type=cli.strings, help=f"of gaussian, uniform (default {_j(d.input_noise_kind)})")
    s.add_argument("--noise-at", type=cli.strings, help=f"where input noise is added, of test, train, both (default {_j(d.noise_at)})")
    s.add_argument("--noise-n-train", type=cli.ints, help=f"training sizes of the input-noise scenario (default {_j(d.noise_n_train)})")
    s.add_argument("--few-shot", type=cli.ints, help=f"samples per class k; 0 = all (default {_j(d.few_shot)})")
    s.add_argument("--ood", type=cli.strings, help=f"test-time shifts density=f | amplitude=v | frequency=g (default {_j(d.ood)})")
    s.add_argument("--n-test", type=int, help=f"test samples per replicate (default {d.n_test})")
    s.add_argument("--reps", type=int, help=f"replicates (seeds) per cell, >= 2 (default {d.reps})")
    s.add_argument("--readout", choices=("hidden", "output"), default=None,
                   help="what the probe reads: hidden = h = W x; output = ReLU(WᵀW x + b) (default hidden)")
    s.add_argument("--probe", choices=("ls", "softmax"), default=None, help="least squares (closed form) or softmax (default ls)")
    s.add_argument("--alpha", type=float, help="ridge / L2 strength of the probe (default 0)")
    t = p.add_argument_group("theory and figures")
    t.add_argument("--theory", type=_bool, help="predictions of theory.robustness for dense and superposed: true/false (default true)")
    t.add_argument("--theory-pop", type=int, help=f"population samples of the theory (default {d.theory_pop})")
    t.add_argument("--theory-test", type=int, help=f"test points of the theory (default {d.theory_test})")
    t.add_argument("--fig-sparsity", type=float, help=f"sparsity of the Fig.-5 figure and verdict, one of the "
                   f"--sparsity values (default {d.fig_sparsity}, or the largest grid value when it is not in the grid)")
    t.add_argument("--fig-m", type=int, help=f"m of the Fig.-5 figure, verdict and phase panels, one of the --m values "
                   f"(default {d.fig_m}, or the middle grid value)")
    cli.add_run_arguments(p, quick_help="a small grid (2 sparsities, m = 20, 5 seeds, short training): ~30 s")
    return p


def _j(vals: Any) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals)


def make_config(args: argparse.Namespace) -> RobustnessConfig:
    """The config of the command line: --quick or the defaults, with every given flag replaced. When the
    grid lacks the default --fig-sparsity / --fig-m (and they were not given), the largest sparsity and
    the middle m of the grid are used."""
    import dataclasses

    base = RobustnessConfig.quick() if args.quick else RobustnessConfig()
    changes = {k: v for k, v in vars(args).items() if v is not None and k in {f.name for f in dataclasses.fields(base)}}
    grid_S = changes.get("sparsity", base.sparsity)
    grid_m = changes.get("m", base.m)
    if "fig_sparsity" not in changes and not any(abs(base.fig_sparsity - S) < 1e-12 for S in grid_S):
        changes["fig_sparsity"] = max(grid_S)
    if "fig_m" not in changes and base.fig_m not in grid_m:
        changes["fig_m"] = sorted(grid_m)[len(grid_m) // 2]
    return dataclasses.replace(base, **changes) if changes else base


def _report(result: Any) -> None:
    """One paragraph on stdout: the Fig.-5 verdict and the boundary gaps."""
    import json

    try:
        v = json.loads((Path(result.out_dir) / "verdict.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not v.get("available"):
        return
    print(f"Fig. 5 pattern at S = {v['sparsity']:g}, m = {v['m']}, n_train = {v['n_train']} (dense - superposed, 95% CI):")
    c = v["clean"]
    print(f"  clean: {c['diff']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}] -> {c['winner']} "
          f"({'reproduces' if c['reproduces'] else 'does not reproduce'} 'poly wins')")
    for part in ("label_noise", "input_noise"):
        if part in v:
            q = v[part]
            print(f"  {part}: mono ahead at {q['mono_wins_at'] or 'no level'}, poly ahead at {q['poly_wins_at'] or 'no level'} "
                  f"-> {'reproduces' if q['reproduces'] else 'does not reproduce'} 'mono wins'")
    for name, g in v.get("gap_summary", {}).items():
        med = g["resolved_median_gap"]
        print(f"  boundary along {name}: {g['emp_crosses']} of {g['settings']} settings cross in simulation "
              f"({g['resolved']} beyond doubt), {g['pred_crosses']} in theory; resolved and predicted: "
              f"{g['resolved_with_pred']}, median relative gap "
              f"{'n/a' if med is None else f'{med:.3f}'}, {g['resolved_within_10pct']} within 10%")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return cli.sweep_main(argv, parser, make_config, cell_fn, figures_fn=figures, on_result=_report)


if __name__ == "__main__":
    raise SystemExit(main())
