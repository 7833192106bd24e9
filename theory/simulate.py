"""Independent Monte Carlo of the two-feature model: the ground truth the closed forms are checked against.

Nothing here uses the derived expressions: samples are drawn from the definition (docs/DESIGN.md), and every
estimate comes with a standard error computed from the sample (binomial, jackknife over blocks, or the
spread over replications). Randomness only through the ``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sims.engine.validation import Interval, check_number, check_option

__all__ = ["Sample", "sample", "fisher_mc", "fisher_signed_mc", "fisher_difference_mc", "rule_error_mc", "ls_probe", "finite_sample_mc"]


@dataclass(frozen=True)
class Sample:
    """n draws: the observed score ``v`` (with input noise), clean label ``y`` and observed label
    ``y_obs`` (both in {1, 2})."""

    v: np.ndarray
    y: np.ndarray
    y_obs: np.ndarray


def sample(task: str, code: str, sparsity: float, n: int, rng: np.random.Generator, *, label_noise=0.0,
           input_noise=0.0, weight=1.0, noise="gaussian", shape: tuple[int, ...] = (), transition=None,
           margin_noise=None) -> Sample:
    """Draw ``shape + (n,)`` samples of (v', y, y~) straight from the model's definition.

    Label noise: ``label_noise`` eta (each label flips w.p. eta), or ``transition=(a, b)`` (a label 1 flips
    w.p. a, a label 2 w.p. b; a + b < 1), or ``margin_noise=(p_max, tau)`` (argmax; each label flips w.p.
    p_max exp(-|x1 - x2| / tau) with the clean features, tau = inf allowed). At most one of them."""
    check_option("task", task, ("argmax", "presence", "detect"))
    check_option("code", code, ("mono", "poly"))
    check_option("noise", noise, ("gaussian", "uniform"))
    S = check_number("sparsity", sparsity, Interval(0.0, 1.0, "[)"))
    eta = check_number("label_noise", label_noise, Interval(0.0, 0.5, "[]"))
    lam = check_number("input_noise", input_noise, Interval(0.0, math.inf, "[)"))
    w = check_number("weight", weight, Interval(0.0, math.inf, "()"))
    n = check_number("n", n, Interval(1, None), integer=True)
    if sum(x is not None for x in (transition, margin_noise)) + (eta != 0) > 1:
        raise ValueError("label_noise, transition and margin_noise: give at most one label-noise model")
    if transition is not None:
        ta = check_number("transition a", transition[0], Interval(0.0, 1.0, "[)"))
        tb = check_number("transition b", transition[1], Interval(0.0, 1.0, "[)"))
        if ta + tb >= 1:
            raise ValueError(f"transition == {tuple(transition)!r}, must have a + b < 1")
    if margin_noise is not None:
        if task != "argmax":
            raise ValueError(f"margin_noise with task == {task!r}, must be 'argmax'")
        p_max = check_number("margin_noise p_max", margin_noise[0], Interval(0.0, 1.0, "[]"))
        tau = float(margin_noise[1])
        if not tau > 0:
            raise ValueError(f"margin_noise tau == {tau!r}, must be in (0, inf]")
    size = tuple(shape) + (n, 2)
    active = rng.random(size) >= S
    x = np.where(active, rng.random(size), 0.0)
    x1, x2 = x[..., 0], x[..., 1]
    if task == "argmax":
        coin = rng.random(size[:-1]) < 0.5
        y = np.where(x1 > x2, 1, np.where(x2 > x1, 2, np.where(coin, 1, 2)))
    else:
        y = np.where(x1 > 0, 1, 2)
    if margin_noise is not None:  # flip probability from the clean features
        p_flip = p_max * np.exp(-np.abs(x1 - x2) / tau)
    if lam > 0:
        if noise == "gaussian":
            eps = rng.normal(0.0, lam, size)
        else:
            a = math.sqrt(3.0) * lam
            eps = rng.uniform(-a, a, size)
        x = x + eps
    v = x[..., 0] if code == "mono" else x[..., 0] - w * x[..., 1]
    u = rng.random(size[:-1])
    if transition is not None:
        flip = u < np.where(y == 1, ta, tb)
    elif margin_noise is not None:
        flip = u < p_flip
    else:
        flip = u < eta
    y_obs = np.where(flip, 3 - y, y)
    return Sample(v=v, y=y.astype(np.int8), y_obs=y_obs.astype(np.int8))


def _fisher_blocks(v: np.ndarray, y_obs: np.ndarray, B: int, signed: bool = False) -> tuple[float, np.ndarray]:
    """Plug-in J of the whole sample and its B delete-one-block values (``signed``: the signed standardized
    gap G = (mu_1 - mu_2) / sqrt(s2_1 + s2_2) instead, J = G^2)."""
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    y_obs = np.asarray(y_obs).reshape(-1)
    n = (v.size // B) * B
    vb, yb = v[:n].reshape(B, -1), y_obs[:n].reshape(B, -1)
    stats = []
    for c in (1, 2):
        m = yb == c
        stats.append((m.sum(1).astype(np.float64), np.where(m, vb, 0.0).sum(1), np.where(m, vb * vb, 0.0).sum(1)))

    def J(tot):  # noqa: N802
        (n1, s1, q1), (n2, s2, q2) = tot
        mu1, mu2 = s1 / n1, s2 / n2
        den = q1 / n1 - mu1**2 + q2 / n2 - mu2**2
        return (mu1 - mu2) / np.sqrt(den) if signed else (mu1 - mu2) ** 2 / den

    full = [tuple(a.sum() for a in st) for st in stats]
    loo = [tuple(a.sum() - a for a in st) for st in stats]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(J(full)), J(loo)


def fisher_signed_mc(v: np.ndarray, y_obs: np.ndarray, blocks: int = 100) -> tuple[float, float]:
    """Plug-in signed standardized gap G = (mu_1 - mu_2) / sqrt(s2_1 + s2_2) (J = G^2) with a delete-one-block
    jackknife SE. Unlike J, G is smooth through 0: its jackknife SE stays valid when the gap is only a few
    SE from 0, where the plug-in J is skewed and its linearised SE collapses."""
    g, loo = _fisher_blocks(v, y_obs, blocks, signed=True)
    return g, math.sqrt((blocks - 1) / blocks * np.sum((loo - loo.mean()) ** 2))


def fisher_difference_mc(v_a: np.ndarray, v_b: np.ndarray, y_obs: np.ndarray,
                         blocks: int = 100) -> tuple[float, float, float]:
    """Plug-in J of two scores on the same samples (common random numbers) and the delete-one-block
    jackknife standard error of their difference: (J_a, J_b, se(J_a - J_b))."""
    ja, la = _fisher_blocks(v_a, y_obs, blocks)
    jb, lb = _fisher_blocks(v_b, y_obs, blocks)
    d = la - lb
    return ja, jb, math.sqrt((blocks - 1) / blocks * np.sum((d - d.mean()) ** 2))


def fisher_mc(v: np.ndarray, y_obs: np.ndarray, blocks: int = 100) -> tuple[float, float]:
    """Plug-in Fisher J on a 1-d sample with a delete-one-block jackknife standard error."""
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    y_obs = np.asarray(y_obs).reshape(-1)
    B = blocks
    n = (v.size // B) * B
    vb, yb = v[:n].reshape(B, -1), y_obs[:n].reshape(B, -1)
    stats = []
    for c in (1, 2):
        m = yb == c
        stats.append((m.sum(1).astype(np.float64), np.where(m, vb, 0.0).sum(1), np.where(m, vb * vb, 0.0).sum(1)))

    def J(tot):  # noqa: N802
        (n1, s1, q1), (n2, s2, q2) = tot
        mu1, mu2 = s1 / n1, s2 / n2
        return (mu1 - mu2) ** 2 / (q1 / n1 - mu1**2 + q2 / n2 - mu2**2)

    full = [tuple(a.sum() for a in st) for st in stats]
    loo = [tuple(a.sum() - a for a in st) for st in stats]
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty class gives NaN, like the theory
        j_full, j_loo = J(full), J(loo)
    se = math.sqrt((B - 1) / B * np.sum((j_loo - j_loo.mean()) ** 2))
    return float(j_full), se


def rule_error_mc(v: np.ndarray, y: np.ndarray, tau: float, orientation: float) -> tuple[float, float]:
    """Empirical clean error of 'class 1 iff v > tau' (orientation +1) or '< tau' (-1), binomial SE."""
    pred = np.where(v > tau, 1, 2) if orientation > 0 else np.where(v < tau, 1, 2)
    err = float(np.mean(pred != y))
    return err, math.sqrt(max(err * (1 - err), 1e-300) / v.size)


def ls_probe(v: np.ndarray, y_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of r = 1{y~ = 1} on (1, v) along the last axis (centred normal equations).

    Returns (tau, orientation, p1): the rule is class 1 iff alpha + beta v > 1/2, i.e. v > tau when
    beta > 0, v < tau when beta < 0; beta == 0 means the constant fit p1 = mean(r)."""
    v = np.asarray(v, dtype=np.float64)
    r = (np.asarray(y_obs) == 1).astype(np.float64)
    vbar, rbar = v.mean(-1), r.mean(-1)
    vc = v - vbar[..., None]
    sxy = np.einsum("...i,...i->...", vc, r - rbar[..., None])
    sxx = np.einsum("...i,...i->...", vc, vc)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
        alpha = rbar - beta * vbar
        tau = np.where(beta != 0, (0.5 - alpha) / np.where(beta != 0, beta, 1.0), np.nan)
    return tau, np.sign(beta), rbar


def finite_sample_mc(task: str, code: str, sparsity: float, n: int, reps: int, rng: np.random.Generator, *,
                     label_noise=0.0, input_noise=0.0, weight=1.0, noise="gaussian",
                     exact_error: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
                     test_size: int = 0, chunk: int = 2_000_000, transition=None,
                     margin_noise=None) -> dict[str, float]:
    """Expected clean error of the least-squares probe fitted on ``n`` noisy samples, over ``reps`` draws.

    Each replication fits the probe on its own training set; its clean error is then either computed
    exactly by ``exact_error(tau, orientation, p1)`` (variance reduction: no test-set noise) or measured on
    ``test_size`` fresh samples. Returns mean, se (spread over replications / sqrt(reps)) and the mean
    fitted threshold."""
    if exact_error is None and test_size <= 0:
        raise ValueError("test_size == 0, must be > 0 when exact_error is None")
    per = max(1, chunk // max(n, 1))
    errs, taus = [], []
    done = 0
    while done < reps:
        k = min(per, reps - done)
        s = sample(task, code, sparsity, n, rng, label_noise=label_noise, input_noise=input_noise,
                   weight=weight, noise=noise, shape=(k,), transition=transition, margin_noise=margin_noise)
        tau, o, p1 = ls_probe(s.v, s.y_obs)
        if exact_error is not None:
            e = exact_error(tau, o, p1)
        else:
            t = sample(task, code, sparsity, test_size, rng, input_noise=input_noise, weight=weight,
                       noise=noise, shape=(k,))
            tt = np.where(np.isfinite(tau), tau, 0.0)[:, None]
            pred = np.where(o[:, None] > 0, np.where(t.v > tt, 1, 2),
                            np.where(o[:, None] < 0, np.where(t.v < tt, 1, 2),
                                     np.where(p1[:, None] > 0.5, 1, 2)))
            e = np.mean(pred != t.y, axis=1)
        errs.append(np.asarray(e, dtype=np.float64))
        taus.append(tau)
        done += k
    e = np.concatenate(errs)
    return {"mean": float(e.mean()), "se": float(e.std(ddof=1) / math.sqrt(e.size)),
            "tau_mean": float(np.nanmean(np.concatenate(taus))), "reps": int(e.size)}
