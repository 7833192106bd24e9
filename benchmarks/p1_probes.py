"""Benchmark P1: the batched softmax probe (``sims.engine.sgd.fit_sgd``) against scikit-learn, run by hand.

Workload P1: 40 features, sparsity 0.9, argmax labels (40 classes); codes ``mono`` (features 0..19 on
20 axes) and ``poly`` (random unit columns, m = 20, one code per seed); 10,000 train / 10,000 test
rows; symmetric label noise eta in {0, 0.1, ..., 0.8} on the training labels; 3 seeds -> 54
multinomial logistic fits, all with scikit-learn's objective at C = 1.0
(``C sum_i logloss_i + ||W||^2 / 2``, intercept unpenalised).

* ours: ONE call ``fit_sgd(H, y, 40, C=1.0)``; ``H (2 codes, 3 seeds, n, 20)`` float32 and labels
  ``(1, 3 seeds, 9 noise levels, n)``, i.e. the 9 noise levels share each code matrix.
* scikit-learn: ``LogisticRegression(C=1.0)`` (lbfgs, tol 1e-4, max_iter 100), float64 inputs, fitted
  one by one in this process.

Both use the same gradient tolerance (``max |grad| <= 1e-4`` on the mean objective). Threads: BLAS /
OpenMP are limited to ``--threads`` for scikit-learn (threadpoolctl); ours runs ``threads=--threads``
(its own pool over row chunks, BLAS single-threaded). Runs are interleaved; prints wall and process-CPU
medians over ``--repeats`` (CPU time is the steadier number on a shared machine; with several threads
it counts all of them), their ratios, per-configuration test accuracy differences and objective gaps.

    python benchmarks/p1_probes.py [--repeats R] [--threads T] [--n-train N] [--seeds S]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sims.engine.probes import LinearProbe  # noqa: E402
from sims.engine.sgd import fit_sgd  # noqa: E402

N_FEATURES, M, SPARSITY, N_CLASSES, C_REG = 40, 20, 0.9, 40, 1.0
ETAS = tuple(round(0.1 * k, 1) for k in range(9))
CODES = ("mono", "poly")


def make_data(n_train: int, n_test: int, seeds: int):
    """``H_tr (2, S, n, 20)``, ``y_tr (S, 9, n)`` noisy, ``H_te (2, S, n_te, 20)``, ``y_te (S, n_te)`` clean."""
    from sims.engine.codes import encode, make_code
    from sims.engine.generators import FeatureSpec, flip_labels, make_labels, sample_features

    spec = FeatureSpec(N_FEATURES, sparsity=SPARSITY)
    rate = np.asarray(ETAS)[:, None]
    H_tr, H_te, y_tr, y_te = [], [], [], []
    for s in range(seeds):
        x = sample_features(spec, n_train + n_test, seed=s)
        y = make_labels(x, "argmax", seed=s)
        y_tr.append(flip_labels(y[:n_train], N_CLASSES, rate, seed=1000 + s))  # (9, n)
        y_te.append(y[n_train:])
        codes = [make_code("mono", N_FEATURES, M), make_code("random", N_FEATURES, M, seed=s)]
        h = np.stack([encode(W, x) for W in codes])  # (2, n_tr + n_te, m)
        H_tr.append(h[:, :n_train])
        H_te.append(h[:, n_train:])
    return (np.stack(H_tr, axis=1), np.stack(y_tr), np.stack(H_te, axis=1), np.stack(y_te))


def objective(H: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, C: float) -> float:
    """scikit-learn's objective divided by ``C n``: mean cross-entropy + ||W||^2 / (2 C n), in float64."""
    H, W, b = H.astype(np.float64), W.astype(np.float64), b.astype(np.float64)
    Z = H @ W + b
    mx = Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z - mx).sum(axis=1)) + mx[:, 0]
    return float(np.mean(lse - Z[np.arange(len(y)), y]) + (W * W).sum() / (2 * C * len(y)))


def _timed(fn):
    """``(wall seconds, process CPU seconds, result)``; CPU time is less sensitive to other load."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def run_ours(H_tr, y_tr, threads: int) -> LinearProbe:
    return fit_sgd(H_tr.astype(np.float32), y_tr[None], N_CLASSES, C=C_REG, label_sets=True, threads=threads)


def run_sklearn(H_tr, y_tr):
    from sklearn.linear_model import LogisticRegression

    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs may stop at max_iter; we report n_iter instead
        for c in range(H_tr.shape[0]):
            for s in range(H_tr.shape[1]):
                for e in range(len(ETAS)):
                    models[c, s, e] = LogisticRegression(C=C_REG).fit(H_tr[c, s], y_tr[s, e])
    return models


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both (default 1)")
    ap.add_argument("--n-train", type=int, default=10_000)
    ap.add_argument("--n-test", type=int, default=10_000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sklearn-repeats", type=int, default=None, help="default: same as --repeats")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="also write the result for the report (e.g. benchmarks/results/p1_probes.json)")
    args = ap.parse_args(argv)
    from sims.engine.validation import Interval, check_number

    try:
        for name, lo in (("repeats", 1), ("threads", 1), ("seeds", 1), ("n_train", N_CLASSES), ("n_test", 1)):
            check_number(f"--{name.replace('_', '-')}", getattr(args, name), Interval(lo, None), integer=True)
        if args.sklearn_repeats is not None:
            check_number("--sklearn-repeats", args.sklearn_repeats, Interval(1, None), integer=True)
        if args.json is not None:
            from reports import benchjson

            benchjson.check_path(args.json)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import sklearn.linear_model  # noqa: F401  (load its OpenMP runtime before limiting threads)
    from threadpoolctl import threadpool_info, threadpool_limits

    H_tr, y_tr, H_te, y_te = make_data(args.n_train, args.n_test, args.seeds)
    n_fits = H_tr.shape[0] * H_tr.shape[1] * len(ETAS)
    with threadpool_limits(args.threads):
        ours, sk = [], []  # (wall, cpu) pairs, runs interleaved so both see the same machine load
        for r in range(max(args.repeats, args.sklearn_repeats or 0)):
            if r < args.repeats:
                w, c, probe = _timed(lambda: run_ours(H_tr, y_tr, args.threads))
                ours.append((w, c))
            if r < (args.sklearn_repeats or args.repeats):
                w, c, models = _timed(lambda: run_sklearn(H_tr, y_tr))
                sk.append((w, c))
    pools = sorted({f"{p['internal_api']}" for p in threadpool_info()})
    print(f"P1: {n_fits} multinomial fits, n_train={args.n_train}, n_test={args.n_test}, "
          f"threads={args.threads} (limited: {', '.join(pools)})")
    for k, what in ((0, "wall"), (1, "CPU")):
        mo, ms = statistics.median(t[k] for t in ours), statistics.median(t[k] for t in sk)
        print(f"{what:>4}: ours (one batched fit_sgd, float32) median {mo:.3f} s {[round(t[k], 2) for t in ours]}; "
              f"sklearn x{n_fits} median {ms:.3f} s {[round(t[k], 2) for t in sk]}; "
              f"speed-up {ms / mo:.1f}x")
    pred = np.asarray(probe.predict(H_te.astype(np.float32)))  # (2, S, 9, n_te): H shared by label sets
    it = np.asarray(probe.n_iter)
    print(f"ours: n_iter min/median/max {it.min()}/{int(np.median(it))}/{it.max()}, "
          f"all converged: {bool(np.all(probe.converged))}")
    sk_iter = [int(m.n_iter_[0]) for m in models.values()]
    print(f"sklearn: n_iter min/median/max {min(sk_iter)}/{int(np.median(sk_iter))}/{max(sk_iter)}")
    print("\ntest accuracy difference ours - sklearn, in points (rows: code/seed, columns: eta)")
    print("           " + " ".join(f"{e:>6.1f}" for e in ETAS))
    diffs, gaps = [], []
    for c, code in enumerate(CODES):
        for s in range(H_tr.shape[1]):
            row = []
            for e in range(len(ETAS)):
                model = models[c, s, e]
                acc_sk = float(np.mean(model.predict(H_te[c, s]) == y_te[s]))
                acc_us = float(np.mean(pred[c, s, e] == y_te[s]))
                row.append(100 * (acc_us - acc_sk))
                W, b = np.asarray(probe.coef[c, s, e]), np.asarray(probe.intercept[c, s, e])
                gaps.append(objective(H_tr[c, s], y_tr[s, e], W, b, C_REG)
                            - objective(H_tr[c, s], y_tr[s, e], model.coef_.T, model.intercept_, C_REG))
            diffs.extend(row)
            print(f"{code:>5} s{s:<3}  " + " ".join(f"{v:+6.2f}" for v in row))
    diffs = np.asarray(diffs)
    print(f"\nmean accuracy difference: {diffs.mean():+.3f} points (mean |diff| {np.abs(diffs).mean():.3f}, "
          f"max |diff| {np.abs(diffs).max():.3f})")
    print(f"objective ours - sklearn (float64): max {max(gaps):+.2e}, mean {np.mean(gaps):+.2e}")
    if args.json is not None:
        import sklearn

        med = {f"{who}_{what}_median_s": statistics.median(t[k] for t in ts)
               for who, ts in (("ours", ours), ("sklearn", sk)) for k, what in ((0, "wall"), (1, "cpu"))}
        benchjson.write(args.json, benchmark="p1_probes",
                        workload=f"{n_fits} multinomial logistic fits, n_train={args.n_train}, threads={args.threads}",
                        ours_s=med["ours_wall_median_s"], peer=f"scikit-learn {sklearn.__version__} LogisticRegression",
                        peer_s=med["sklearn_wall_median_s"],
                        details={**med, "n_fits": n_fits, "repeats": args.repeats, "threads": args.threads,
                                 "mean_abs_accuracy_diff_points": float(np.abs(diffs).mean()),
                                 "max_abs_accuracy_diff_points": float(np.abs(diffs).max()),
                                 "max_objective_gap": float(max(gaps))},
                        note=f"CPU seconds: ours {med['ours_cpu_median_s']:.3f}, scikit-learn "
                             f"{med['sklearn_cpu_median_s']:.3f}; mean |accuracy difference| "
                             f"{np.abs(diffs).mean():.3f} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
