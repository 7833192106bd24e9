"""Claims of the robustness study, with their checks: the finite-sample theory of ``theory.robustness``
against simulations of the study's scenarios and trained toy models (paper §4.2 / Fig. 5).

The closed forms live in :mod:`theory.robustness`; the checks need the study's own machinery (trained
comparators, scenario protocols), so they live here and join the registry of :mod:`theory.claims` through
its list of claim modules (``python -m theory`` loads them by name).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from sims.engine.stats import crossing
from theory.robustness import kappa, population_model, predicted_accuracy, predicted_accuracy_draws

__all__ = ["Z", "verify_finite_sample", "verify_input_noise_boundary", "verify_eta_invariance", "FIG5_VERDICTS",
           "ROBUSTNESS_CLAIMS"]


# --------------------------------------------------------------------------------------------- checks
# Each verify_* compares one statement with an independent simulation (the engine's probes on freshly
# drawn data) and passes when they agree within Z combined standard errors; the prediction under test
# is an argument, so the tests feed deliberately wrong variants to the same check.
Z = 5.0


def _sim_label_noise(W: np.ndarray, sparsity: float, n_train: int, eta: float, reps: int, n_test: int,
                     rng: np.random.Generator) -> tuple[float, float]:
    """Mean and SE over ``reps`` fits of the clean-test accuracy of the LS probe (sims.robustness.scenarios)."""
    from sims.robustness import scenarios as sc
    from sims.engine.generators import FeatureSpec

    spec = FeatureSpec(W.shape[1], sparsity=sparsity)
    accs = []
    for _ in range(reps):
        data = sc.make_task(spec, n_train, n_test, int(rng.integers(2**62)))
        accs.append(float(sc.label_noise(W, data, [eta])[0, 0]))
    a = np.asarray(accs)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(reps))


def verify_finite_sample(rng: np.random.Generator, points: Sequence[tuple[int, float]] = ((200, 0.8), (1000, 0.5), (400, 0.0)),
                         *, predict: Any = None, reps: int = 60, n: int = 40, m: int = 20, sparsity: float = 0.9,
                         codes: Sequence[str] = ("mono", "random"), n_pop: int = 60000, n_test: int = 2000) -> Any:
    """(R7) vs simulation for the planted mono code and a random code (``n`` features, ``m`` dims):
    at every ``(n_train, eta)`` point the prediction must lie within Z combined SE of the simulated mean
    over ``reps`` fits. ``predict(model, n_train, eta) -> (value, se)`` defaults to :func:`predicted_accuracy`."""
    from sims.engine.codes import make_code
    from theory.claims import CheckResult

    if predict is None:
        def predict(model, nt, eta):
            return predicted_accuracy(model, nt, eta, return_se=True)
    res, ok = [], True
    for name in codes:
        W = np.asarray(make_code(name, n, m, int(rng.integers(2**31))))
        model = population_model(W, sparsity, n_pop=n_pop, n_test=n_test, n_ref=n_pop, seed=int(rng.integers(2**62)))
        for nt, eta in points:
            sim, se_s = _sim_label_noise(W, sparsity, nt, eta, reps, 2000, rng)
            pred, se_p = predict(model, nt, eta)
            z = (pred - sim) / math.hypot(se_s, se_p)
            ok &= abs(z) <= Z
            res.append(f"{name} n={nt} eta={eta:g}: predicted {pred:.4f} vs simulated {sim:.4f} +- {se_s:.4f} (z = {z:+.1f})")
    return CheckResult(bool(ok), "; ".join(res), {"points": list(points)})


def _trained_pair(rng: np.random.Generator, sparsity: float, reps: int, steps: int = 1000) -> dict:
    """Trained dense and superposed codes (n = 40, m = 20) for ``reps`` replicates (cached per seed)."""
    return _trained_pair_seeded(int(rng.integers(2**62)), float(sparsity), int(reps), int(steps))


@functools.lru_cache(maxsize=8)
def _trained_pair_seeded(seed: int, sparsity: float, reps: int, steps: int) -> dict:
    from sims.robustness.comparators import TrainSettings, build_codes

    return build_codes(("dense", "superposed"), 40, 20, sparsity=sparsity, reps=reps, seed=seed,
                       settings=TrainSettings(steps=steps, batch=256, lr=0.01), threads=1)


def verify_input_noise_boundary(rng: np.random.Generator, *, noise_on: str = "x", reps: int = 6, n_train: int = 5000,
                                sparsity: float = 0.9, lams: Sequence[float] = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
                                n_pop: int = 60000, n_test: int = 1500, steps: int = 1000) -> Any:
    """The predicted input-noise boundary lam* ((R7'): dense overtakes superposed, trained toy models,
    n = 40, m = 20, test-time Gaussian noise) vs the simulated one: |pred - sim| <= Z x (bootstrap SE of the
    simulated crossing + SE of the predicted one over replicates). ``noise_on="h"`` predicts with the
    noise on the code instead of the features (a deliberately wrong model the tests feed to the check)."""
    from sims.robustness import scenarios as sc
    from sims.engine.generators import FeatureSpec
    from theory.claims import CheckResult

    codes = _trained_pair(rng, sparsity, reps, steps)
    lv = np.asarray(lams, dtype=np.float64)
    D_sim, D_pred = [], []
    for r in range(reps):
        data = sc.make_task(FeatureSpec(40, sparsity=sparsity), n_train, 4096, int(rng.integers(2**62)))
        W = np.stack([codes["dense"][r].W, codes["superposed"][r].W])
        acc = sc.input_noise(W, data, lv, n_train=(n_train,))[:, 0, :]
        D_sim.append(acc[0] - acc[1])
        seed = int(rng.integers(2**62))
        pr = []
        for nm in ("dense", "superposed"):
            model = population_model(codes[nm][r].W, sparsity, n_pop=n_pop, n_test=n_test, n_ref=n_pop, seed=seed,
                                     noise_on=noise_on)
            pr.append(predicted_accuracy_draws(model, n_train, 0.0, input_noise=lv, seed=r))
        D_pred.append(pr[0] - pr[1])
    Ds, Dp = np.asarray(D_sim), np.asarray(D_pred)
    sim, _ = crossing(lv, Ds.mean(axis=0))
    pred, _ = crossing(lv, Dp.mean(axis=0))
    boot = [crossing(lv, Ds[rng.integers(0, reps, reps)].mean(axis=0))[0] for _ in range(400)]
    bootp = [crossing(lv, Dp[rng.integers(0, reps, reps)].mean(axis=0))[0] for _ in range(400)]
    se = math.hypot(float(np.nanstd(boot)), float(np.nanstd(bootp)))
    ok = math.isfinite(sim) and math.isfinite(pred) and abs(pred - sim) <= Z * se
    return CheckResult(bool(ok), f"S = {sparsity:g}, n_train = {n_train}, {reps} trained pairs: lam* predicted "
                       f"{pred:.4f}, simulated {sim:.4f} (bootstrap SE {se:.4f}; relative gap "
                       f"{abs(pred - sim) / sim if sim else float('nan'):.3f})",
                       {"pred": pred, "sim": sim, "se": se})


def verify_eta_invariance(rng: np.random.Generator, eta: float = 0.6, *, n: int = 12, m: int = 6, sparsity: float = 0.8,
                          N: int = 200000, batches: int = 10, shrink: Any = None) -> Any:
    """(R1): the LS probe fitted on labels with symmetric noise ``eta`` has h-coefficients ``κ`` times the
    clean ones (plus a constant per class, absorbed by the intercept): the slope of noisy on clean
    coefficients is ``shrink(eta, C)`` (default :func:`kappa`) within Z standard errors (SE from
    ``batches`` independent fits)."""
    from sims.engine import backend as B
    from sims.engine.codes import make_code
    from sims.engine.generators import FeatureSpec, flip_labels, make_labels, sample_features
    from sims.engine.probes import fit_linear
    from theory.claims import CheckResult

    shrink = kappa if shrink is None else shrink
    W = np.asarray(make_code("random", n, m, int(rng.integers(2**31))))
    seed = int(rng.integers(2**62))
    x = np.asarray(B.to_numpy(sample_features(FeatureSpec(n, sparsity=sparsity), N, seed)))
    y = np.asarray(B.to_numpy(make_labels(x, "argmax", seed)))
    yn = np.asarray(B.to_numpy(flip_labels(y, n, eta, seed + 1)))
    H = (x @ W.T).reshape(batches, N // batches, m)
    Y = np.stack([y.reshape(batches, -1), yn.reshape(batches, -1)], axis=1)  # (batches, 2, N/b)
    coef = np.asarray(B.to_numpy(fit_linear(H, Y, n, label_sets=True).coef))  # (batches, 2, m, C)
    c0, c1 = coef[:, 0] - coef[:, 0].mean(axis=-1, keepdims=True), coef[:, 1] - coef[:, 1].mean(axis=-1, keepdims=True)
    slopes = np.sum(c0 * c1, axis=(1, 2)) / np.sum(c0 * c0, axis=(1, 2))
    slope, se = float(slopes.mean()), float(slopes.std(ddof=1) / math.sqrt(batches))
    target = float(shrink(eta, n))
    z = (slope - target) / se
    return CheckResult(bool(abs(z) <= Z), f"C = {n}, eta = {eta:g}: slope of noisy on clean LS coefficients "
                       f"{slope:.4f} +- {se:.4f}, kappa = {target:.4f} (z = {z:+.1f}); 1 - eta would be {1 - eta:.4f}",
                       {"slope": slope, "se": se, "kappa": target})


# --------------------------------------------------------------------------------------------- claims
# The Fig.-5 verdicts below quote the default run of ``python -m sims.robustness_sweep`` (5 seeds,
# 95% t-intervals of paired differences dense - superposed); each check re-derives the direction of the
# evidence with a smaller simulation of its own.
def _fig5_sim(rng: np.random.Generator, sparsity: float = 0.9, reps: int = 5, n_train: int = 3000) -> dict:
    """Paired differences dense - superposed (trained, n = 40, m = 20) with 95% t-intervals."""
    from sims.robustness import scenarios as sc
    from sims.engine.generators import FeatureSpec
    from sims.engine.stats import t_interval

    codes = _trained_pair(rng, sparsity, reps)
    etas, lams = np.array([0.0, 0.4, 0.8, 0.9]), np.array([0.0, 0.2, 0.4, 0.6])
    dl, di = [], []
    for r in range(reps):
        data = sc.make_task(FeatureSpec(40, sparsity=sparsity), n_train, 2048, int(rng.integers(2**62)))
        W = np.stack([codes["dense"][r].W, codes["superposed"][r].W])
        a = sc.label_noise(W, data, etas)[:, 0, :]
        b = sc.input_noise(W, data, lams)[:, 0, :]
        dl.append(a[0] - a[1])
        di.append(b[0] - b[1])

    def ci(D):  # per level, over the replicates
        mu, half = np.array([t_interval(col)[:2] for col in np.asarray(D).T]).T
        return mu, mu - half, mu + half

    return {"etas": etas, "lams": lams, "label": ci(dl), "input": ci(di), "S": sparsity, "n_train": n_train}


def _fmt_ci(mu, lo, hi, levels, name) -> str:
    return ", ".join(f"{name}={lv:g}: {a:+.3f} [{b:+.3f}, {c:+.3f}]" for lv, a, b, c in zip(levels, mu, lo, hi))


def _check_fig5_clean(rng) -> Any:
    from theory.claims import CheckResult

    r = _fig5_sim(rng)
    mu, lo, hi = (v[0] for v in r["label"])
    return CheckResult(bool(hi < 0), f"S = 0.9, n = 40, m = 20, n_train = {r['n_train']}, 5 trained pairs: clean "
                       f"dense - superposed = {mu:+.3f} [{lo:+.3f}, {hi:+.3f}] (poly ahead iff the interval is < 0)",
                       {"diff": mu, "lo": lo, "hi": hi})


def _check_fig5_label(rng) -> Any:
    from theory.claims import CheckResult

    r = _fig5_sim(rng)
    mu, lo, hi = r["label"]
    mono_ahead = bool(np.any(lo[1:] > 0))
    return CheckResult(not mono_ahead, "S = 0.9, n_train = 3000, 5 trained pairs, dense - superposed: "
                       + _fmt_ci(mu, lo, hi, r["etas"], "eta") + " (the verdict needs mono never ahead)",
                       {"diff": mu.tolist(), "lo": lo.tolist(), "hi": hi.tolist()})


def _check_fig5_input(rng) -> Any:
    from theory.claims import CheckResult

    r = _fig5_sim(rng)
    mu, lo, hi = r["input"]
    lam_star, direction = crossing(r["lams"], mu)
    beyond = r["lams"] > lam_star if math.isfinite(lam_star) else np.zeros(mu.shape, dtype=bool)
    ok = bool(hi[0] < 0 and direction == 1 and np.any(lo[beyond] > 0) and not np.any(hi[beyond] < 0))
    return CheckResult(ok, "S = 0.9, n_train = 3000, 5 trained pairs, dense - superposed under test-time Gaussian "
                       "noise: " + _fmt_ci(mu, lo, hi, r["lams"], "lam") + f"; crossing lam* = {lam_star:.3f}",
                       {"lam_star": lam_star, "diff": mu.tolist()})


def _make_claims() -> list:
    from theory.claims import Claim

    dom = ("n = 40 spike-and-uniform features (U(0, 1) when active), label y = argmax_i x_i (C = n classes)",
           "codes: toy models of superposition (sims.robustness.comparators) - superposed: trained at the data sparsity S; "
           "dense: trained at S = 0 (top-m features on orthogonal axes)",
           "probe: least squares on one-hot targets read from h = W x; accuracy on clean test labels")
    return [
        Claim("robust.label_noise.population_invariant",
              "Symmetric label noise multiplies the population least-squares probe's class scores by "
              "kappa = 1 - eta C/(C-1) and adds a constant, so it changes neither its argmax nor its accuracy "
              "while eta < (C-1)/C (any code, any C).",
              dom[:1] + ("symmetric noise: a label is replaced by a uniformly chosen other class w.p. eta",),
              {"R1": "E[y~ | x] = T^T e_y, T = a 11^T + kappa I, a = eta/(C-1), kappa = 1 - eta C/(C-1)"},
              verify_eta_invariance, "holds",
              "(R1): E[y~|x] is affine in e_y; least squares is linear in the targets. The two-feature "
              "result (tf.probe.label_noise_invariant) is the case C = 2.", "§4.3 / Thm 4.1 (label noise)"),
        Claim("robust.finite_sample.accuracy",
              "The expected clean accuracy of the LS probe trained on n noisy samples is that of the "
              "kappa-shrunk population scores plus a probe error with the variance (R3), bias (R2') and "
              "skewness (R5) of the delta method; the Gaussian leading order alone is too optimistic at small "
              "n and high eta.",
              dom[:1] + dom[2:] + ("n >= 200, eta <= 0.9",),
              {"R3": "n Var ds_c = sum_k v_k T_kc (1 - T_kc) + E[g^2 d_c^2]",
               "R5": "n^2 k3_c = E[g^3 (mu3(p_c) + 3 d_c p_c (1 - p_c) + d_c^3)]",
               "R7": "acc = E P(argmax(s* + sd (z + gamma/6 (z^2 - 1))) = y)"},
              verify_finite_sample, "holds only when n >= ~200 (checked at n = 200-1000, eta <= 0.8)",
              "At n = 200, eta = 0.8 the skewness (gamma ~ 0.8) moves the prediction from 0.167 (Gaussian) to "
              "0.109 vs 0.103 simulated for the mono code; within 2 SE at every checked point",
              "§4.2 (finite-sample origin of any crossover)"),
        Claim("robust.boundary.input_noise",
              "The predicted input-noise level lam* at which the trained monosemantic (dense) code overtakes "
              "the trained superposed one (S = 0.9, n = 40, m = 20, test-time Gaussian noise on x) matches the "
              "simulated boundary.",
              dom + ("noise on x at test time; probe trained on clean inputs",),
              {"R6": "score noise covariance lam^2 (T^T M T + E[Delta^T W W^T Delta] + bias terms)"},
              verify_input_noise_boundary,
              "holds only when n_train >= 1000 and n/m <= 2 (relative gap <= 10%); at n_train = 200 or n/m = 4 "
              "the gap is 10-32% (shallow crossings)",
              "default sweep, 21 boundaries resolved beyond doubt: median relative gap 0.015 (max 0.08) over the 8 "
              "with n_train >= 1000 and m >= 20, 0.16 at n_train = 200, 0.18 at m = 10; 13 of 21 predictions "
              "inside the simulated 95% bootstrap interval. The per-point model (R7) misses by up to 35% at "
              "n_train = 200 (it averages away the fit-to-fit mixture of noise gains); noise on h instead of x "
              "predicts no crossing at all", "§4.2 / Fig. 5 (input noise)"),
        Claim("paper.fig5.clean_poly_better",
              "Toy models (Fig. 5): on clean data the superposed (polysemantic) code is more accurate than the "
              "monosemantic one.", dom, {}, _check_fig5_clean, FIG5_VERDICTS["clean"][0], FIG5_VERDICTS["clean"][1],
              "§4.2 / Fig. 5"),
        Claim("paper.fig5.label_noise_mono_better",
              "Toy models (Fig. 5): under label noise the monosemantic code is more accurate than the "
              "superposed one.", dom + ("symmetric label noise on the training labels",), {}, _check_fig5_label,
              FIG5_VERDICTS["label"][0], FIG5_VERDICTS["label"][1], "§4.2 / Fig. 5"),
        Claim("paper.fig5.input_noise_mono_better",
              "Toy models (Fig. 5): under input noise the monosemantic code is more accurate than the "
              "superposed one.", dom + ("Gaussian noise on x at test time",), {}, _check_fig5_input,
              FIG5_VERDICTS["input"][0], FIG5_VERDICTS["input"][1], "§4.2 / Fig. 5"),
    ]


#: verdicts of the Fig.-5 claims from the default run (verdict, reason with its numbers)
FIG5_VERDICTS = {
    "clean": ("holds only when the data are sparse enough for superposition to pay: S >= 0.9 at n/m = 2 and 4 "
              "(S = 0.95 at n/m = 1.33)",
              "default run, n_train = 10000, dense - superposed: S = 0.9, m = 20: -0.135 [-0.165, -0.104]; "
              "S = 0.95, m = 20: -0.295 [-0.332, -0.258]; but S = 0.7, m = 20: +0.071 [+0.057, +0.085] and "
              "S = 0.8, m = 30: +0.094 [+0.079, +0.110] (mono ahead); S = 0.9, m = 30: tie"),
    "label": ("fails",
              "label noise never turns a poly lead into a mono lead: over 756 settings (4 S x 3 m x 7 n_train x "
              "9 eta > 0) poly stays ahead in 363 and ties in 96 of the 459 where it leads on clean data, mono "
              "is ahead only where it already is on clean data (79) or marginally in 4 of 162 clean ties "
              "(|diff| < 0.015, the 5% false-positive rate); at S = 0.9, m = 20, n_train = 10000 poly is "
              "ahead at every eta <= 0.9. Population: order invariant (R1); finite n: noise only shrinks the "
              "gap (R3)-(R5)"),
    "input": ("holds only when the noise exceeds a boundary lam* at which both codes have lost about half "
              "their clean accuracy",
              "S = 0.9, m = 20, n_train = 10000: poly ahead for lam <= 0.2, mono ahead for lam in {0.3, 0.4, "
              "0.6} (e.g. lam = 0.4: +0.023), tie at 1.0; lam* = 0.27 [0.25, 0.28] simulated vs 0.26 "
              "predicted (R7'); the same crossing for every S >= 0.9 and m (lam* = 0.18-0.44 at n_train = "
              "10000, 0.15-0.27 at 200), for uniform noise and for noise at train and test alike"),
}


def _register_all() -> list:
    from theory import claims as C

    return C.register_module(__name__, _make_claims())


ROBUSTNESS_CLAIMS: list = _register_all()
