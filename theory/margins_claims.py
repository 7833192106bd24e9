"""Claims about n features in m dimensions (Welch, margin bounds, readout noise, error bounds, Fisher
separation, the dropping loss and the mean-field balance noise), each with its numeric check against an
independent simulation. The closed forms are in :mod:`theory.margins`; registered with
:mod:`theory.claims` at import (``MARGIN_CLAIMS``).
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from theory import margins as _m
from theory.margins import (
    accuracy_clean,
    balance_noise,
    coherence,
    drop_loss,
    error_bounds,
    expected_fisher_separation,
    fisher_parts,
    margin_bound_sample,
    margin_bound_worst,
    matched_filter_margins,
    readout_noise_variance,
    sample_structure,
    welch_bound,
)

__all__ = ["check_welch", "check_margin", "check_readout", "check_error_bounds", "check_fisher", "check_drop",
           "crossing_simulated", "check_balance", "MARGIN_CLAIMS"]


@functools.lru_cache(maxsize=1)
def _cached_expressions() -> dict[str, dict[str, str]]:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parent / "_cache" / "margins.json").read_text(encoding="utf-8"))["expressions"]


def _expressions(*names: str) -> dict[str, str]:
    data = _cached_expressions()
    return {k_: data[k_]["expr"] for k_ in names}


def _sample(n: int, S: float, N: int, rng: np.random.Generator, amplitude=(0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Spike-and-uniform features and argmax labels (ties broken uniformly) for the claim checks
    (drawn here, independently of sims.engine.generators)."""
    a, b = amplitude
    x = np.where(rng.random((N, n)) >= S, a + (b - a) * rng.random((N, n)), 0.0)
    keys = np.where(x == x.max(axis=1, keepdims=True), rng.random((N, n)), -1.0)
    return x, keys.argmax(axis=1)


def _random_code(n_rep: int, n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """``(m, n)``: ``n_rep`` i.i.d. uniform unit columns, the rest zero."""
    W = np.zeros((m, n))
    R = rng.standard_normal((m, n_rep))
    W[:, :n_rep] = R / np.linalg.norm(R, axis=0)
    return W


def check_welch(rng: np.random.Generator):
    """Coherence of random codes of several sizes is never below the Welch bound."""
    from theory.claims import CheckResult

    worst = np.inf
    for n_, m_ in ((8, 3), (20, 5), (64, 16)):
        for _ in range(5):
            worst = min(worst, coherence(_random_code(n_, n_, m_, rng)) - float(welch_bound(n_, m_)))
    return CheckResult(worst >= -1e-12, f"min (mu - Welch) over 15 random codes = {worst:.3g} >= 0", {"min_gap": worst})


def check_margin(rng: np.random.Generator, bound: Callable | None = None):
    """margin >= (M3) >= (M4) on every covered sample of random codes; ``bound(x, y, mu, r)`` replaces
    (M3) (a deliberately wrong bound must fail this check)."""
    from theory.claims import CheckResult

    bound = bound or margin_bound_sample
    viol, covered = 0, 0
    for n_, m_, S in ((16, 6, 0.5), (40, 10, 0.9), (64, 16, 0.97)):
        W = _random_code(n_, n_, m_, rng)
        G = W.T @ W
        x, y = _sample(n_, S, 4000, rng)
        marg, cov = matched_filter_margins(x, y, G, n_)
        mu = coherence(W)
        bs = bound(x, y, mu, n_)
        st = sample_structure(x, y, n_)
        bw = margin_bound_worst(mu, np.maximum(st["k"], 1), np.clip(st["gap"], 0, 1))
        tol = _m._TOL * (1 + np.abs(marg))
        viol += int(np.sum(cov & ((marg < bs - tol) | (bs < bw - tol))))
        covered += int(cov.sum())
    return CheckResult(viol == 0, f"{viol} violations of margin >= (M3) >= (M4) on {covered} covered samples",
                       {"violations": viol, "covered": covered})


def check_readout(rng: np.random.Generator):
    """Score-noise variances of an antipodal code are 2 lam^2 (Monte Carlo, 5 SE per feature)."""
    from theory.claims import CheckResult

    from sims.engine.codes import make_code

    n_, m_, N, lam = 12, 6, 20000, 0.3
    W = np.asarray(make_code("antipodal", n_, m_))
    emp = ((lam * rng.standard_normal((N, n_))) @ (W.T @ W)).var(axis=0, ddof=1)
    th = readout_noise_variance(W, lam)
    rel = float(np.max(np.abs(emp / th - 1)))
    se = math.sqrt(2 / (N - 1))
    ok = rel <= 5 * se and bool(np.allclose(th, 2 * lam**2))
    return CheckResult(ok, f"antipodal score-noise variance 2 lam^2: max rel. error {rel:.3g} (5 SE = {5 * se:.3g})",
                       {"max_rel_err": rel, "se": se})


def check_error_bounds(rng: np.random.Generator):
    """Per-sample P(error | x) by 4000 noise draws lies within the (M6) bounds (5 SE) for 40 samples."""
    from theory.claims import CheckResult

    n_, m_, S, lam, D = 32, 12, 0.9, 0.15, 4000
    W = _random_code(n_, n_, m_, rng)
    G = W.T @ W
    x, y = _sample(n_, S, 400, rng)
    cov = (x[np.arange(len(y)), y] > 0)
    x, y = x[cov][:40], y[cov][:40]
    lo, up = error_bounds(x, y, W, n_, lam)
    worst = 0.0
    for i in range(len(y)):
        s = (x[i] + lam * rng.standard_normal((D, n_))) @ G
        p = float(np.mean(s.argmax(axis=1) != y[i]))
        se = math.sqrt(max(p * (1 - p), 1.0 / D) / D)
        worst = max(worst, (lo[0, i] - p) / se, (p - up[0, i]) / se)
    return CheckResult(worst <= 5.0, f"largest excursion outside [pairwise, union] = {worst:.2f} SE (<= 5) on 40 samples",
                       {"worst_se": worst})


def check_fisher(rng: np.random.Generator):
    """The random-code expectation (M9) vs the mean over 200 random codes of the exact per-code J."""
    from theory.claims import CheckResult

    n_, m_, S, lam, k = 24, 8, 0.8, 0.1, 400
    parts = np.array([fisher_parts((W := _random_code(n_, n_, m_, rng)).T @ W, n_, S) for _ in range(k)])
    num, den = parts[:, 0], parts[:, 1] + lam**2 * parts[:, 2]
    ratio = float(num.mean() / den.mean())  # the ratio of expectations, estimated over k codes
    c = np.cov(num, den)  # delta-method SE of a ratio of means
    se = math.sqrt(max(c[0, 0] - 2 * ratio * c[0, 1] + ratio**2 * c[1, 1], 0.0) / k) / den.mean()
    th = float(expected_fisher_separation(n_, n_, m_, S, lam))
    return CheckResult(abs(ratio - th) <= 5 * se,
                       f"ratio of mean Delta^2 to mean (V_a + V_b) over {k} random codes {ratio:.4f} vs (M9) {th:.4f} "
                       f"(5 SE = {5 * se:.3g})", {"ratio": ratio, "theory": th, "se": se})


def check_drop(rng: np.random.Generator):
    """Mono's clean matched-filter accuracy equals (M7) (Monte Carlo, 5 SE)."""
    from theory.claims import CheckResult

    n_, m_, S, N = 32, 8, 0.85, 100000
    x, y = _sample(n_, S, N, rng)
    acc = float(np.mean(np.argmax(x[:, :m_], axis=1) == y))
    th = float(accuracy_clean(n_, m_, S))
    se = math.sqrt(th * (1 - th) / N)
    return CheckResult(abs(acc - th) <= 5 * se, f"mono clean accuracy {acc:.4f} vs (M7) {th:.4f} (5 SE = {5 * se:.3g})",
                       {"empirical": acc, "theory": th, "se": se, "drop_loss": float(drop_loss(n_, m_, S))})


def crossing_simulated(rng: np.random.Generator, n: int, m: int, S: float, lams: np.ndarray, *, N: int = 20000,
                       codes: int = 4) -> float:
    """Input-noise level where mono's matched-filter accuracy first exceeds that of random codes with all
    ``n`` features (mean over ``codes`` codes; linear interpolation on ``lams``); NaN if never."""
    x, y = _sample(n, S, N, rng)
    z = rng.standard_normal(x.shape)
    mono = np.array([np.mean(np.argmax(x[:, :m] + lv * z[:, :m], axis=1) == y) for lv in lams])
    sup = np.zeros(len(lams))
    for _ in range(codes):
        G = (W := _random_code(n, n, m, rng)).T @ W
        s0, e = x @ G, z @ G
        sup += np.array([np.mean(np.argmax(s0 + lv * e, axis=1) == y) for lv in lams]) / codes
    d = mono - sup
    for i in range(len(lams)):
        if d[i] > 0:
            return float(lams[0]) if i == 0 else float(lams[i - 1] + (lams[i] - lams[i - 1]) * -d[i - 1] / (d[i] - d[i - 1]))
    return float("nan")


def check_balance(rng: np.random.Generator):
    """The mean-field balance level (M11) vs the simulated crossing for random codes (n = 64, m = 16,
    S = 0.9); the model is an approximation: agreement within 20% is what the default sweep shows."""
    from theory.claims import CheckResult

    n_, m_, S = 64, 16, 0.9
    b = balance_noise(n_, m_, n_, S, (n_ - 1) / m_)
    sim = crossing_simulated(rng, n_, m_, S, np.linspace(0.0, 0.4, 17))
    rel = abs(sim - b.lam_star) / b.lam_star if np.isfinite(sim) else float("inf")
    ok = bool(np.isfinite(b.lam_star) and b.f_bracket[0] * b.f_bracket[1] <= 0 and rel <= 0.2)
    return CheckResult(ok, f"mean-field lam* = {b.lam_star:.4f} (bracket {b.bracket[0]:.6f}..{b.bracket[1]:.6f}), "
                           f"simulated crossing {sim:.4f} (rel. diff. {rel:.2f} <= 0.2)",
                       {"lam_star": b.lam_star, "simulated": sim, "rel_diff": rel})


def _make_claims() -> list:
    from theory.claims import Claim

    return [
        Claim("margins.welch",
              "The coherence of r unit vectors in R^m is at least sqrt((r - m)/(m (r - 1))): representing more "
              "features than dimensions forces interference.",
              ("unit columns", "r > m"), _expressions("welch"), check_welch, "holds",
              "Theorem (M1): frame potential between r^2/m and r + r(r-1) mu^2.", "§4.2; Welch (1974)"),
        Claim("margins.matched_filter_bound",
              "Every covered sample's matched-filter margin is at least min(L(x_hi), L(x_lo)) with "
              "L(t) = (1 + mu) x_y + (3 mu - 1) t - 2 mu T, itself at least the worst case (M4) over samples with "
              "k active features and the same gap.",
              ("x >= 0", "unit columns", "y = argmax of x, represented and active"),
              _expressions("pair_form", "worst.k1", "worst.low_mu", "worst.high_mu_a", "worst.high_mu_b"),
              check_margin, "holds",
              "Theorem (M2)-(M4). Informative (> 0) only for low coherence and few active features: vacuous for "
              "random codes beyond ratio 2 at S = 0.97 and for antipodal codes (mu = 1).",
              "§4.3 (superposition shrinks margins)"),
        Claim("margins.readout_noise",
              "Gaussian input noise of scale lam on x gives the matched-filter score j noise of variance "
              "lam^2 ||W^T w_j||^2: lam^2 for mono, 2 lam^2 for antipodal pairs, lam^2 r/m on average at best "
              "for r features in m dimensions (tight frames).",
              ("eps ~ N(0, lam^2 I_n) on x",), _expressions("readout.gain_random", "readout.gain_tight_frame"),
              check_readout, "holds", "Identity (M5); the average bound is Cauchy-Schwarz on the eigenvalues of W W^T.",
              "App. B.3 (lam^2 vs 2 lam^2)"),
        Claim("margins.error_bounds",
              "Under Gaussian input noise the matched filter's error probability of a covered sample lies between "
              "max_j Phi(-d_j/sigma_j) and min(1, sum_j Phi(-d_j/sigma_j)).",
              ("Gaussian noise on x",), {"union": "min(1, sum_j Phi(-d_j / sigma_j))"},
              check_error_bounds, "holds", "One pairwise event; union of the pairwise events (M6).",
              "App. B.3"),
        Claim("margins.fisher_random",
              "For random codes the pooled Fisher separation of argmax classes is, in expectation (ratio of "
              "expectations), J = 4(1+1/m)(alpha-beta)^2 / (2[(1+1/m)(sM+sO-2 kappa) + 2(r-2) sO/m] "
              "+ 2 lam^2 [2(1+1/m) + 2(r-2)/m]); mono is its m -> infinity limit.",
              ("columns i.i.d. uniform on the sphere", "amplitude U(0, 1)"),
              _expressions("fisher.random", "fisher.mono", "moments.alpha", "moments.beta"),
              check_fisher, "holds",
              "Derivation (M8)-(M9); checked against the ratio of means over random codes (the mean of the "
              "per-code ratios is about 1% higher at r = 24, m = 8).", "§4.3 (Fisher separation)"),
        Claim("margins.drop_loss",
              "Without noise a mono code keeping m of n features loses exactly (1 - m/n)(1 - S^n) accuracy to "
              "dropping (the argmax feature is uniform over features).",
              ("exchangeable features", "continuous amplitudes"), _expressions("accuracy.drop_loss"),
              check_drop, "holds", "Exchangeability (M7).", "§4.3 (poly wins on clean data)"),
        Claim("margins.balance_noise",
              "Mono codes are more robust to input noise than superposed codes: beyond a balance noise level lam* "
              "the mono matched filter is more accurate, below it the superposed one is.",
              ("matched-filter readout", "mean-field model (M10) of interference"),
              {"balance": "A(n, m, S, lam) = A(n, r, S, sqrt(lam^2 (1 + nu) + nu E[x_i^2 | y != i]))"},
              check_balance,
              "holds only when the input noise exceeds lam* (about 0.2 of the amplitude range for n = 64, m = 16, "
              "S >= 0.9; at S = 0.8 random codes never beat mono, so mono wins at every noise level)",
              "Mean-field root (M11), certified for the model; within 20% of the simulated crossing for random "
              "codes in the default sweep (python -m sims.margin_sweep).",
              "§4.3 / App. B.3 (mono more robust to input noise)"),
    ]


def _register_all() -> list:
    from theory import claims as C

    return C.register_module(__name__, _make_claims())


MARGIN_CLAIMS: list = _register_all()
