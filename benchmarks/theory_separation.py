"""Throughput of the vectorised closed-form Fisher separation ``theory.two_feature.separation``.

Run by hand: ``.venv/bin/python benchmarks/theory_separation.py [--points 10000000] [--repeat 5]``.
Times ``separation`` (validation included) on broadcast grids of about ``--points`` parameter points, for
both codes and tasks and two broadcasting layouts, and reports points per second (best of ``--repeat``).
Target (issue): >= 1e7 points/s.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from theory.two_feature import separation


def layouts(points: int, rng: np.random.Generator):
    """(name, kwargs) with ``points`` broadcast parameter points each."""
    k = int(round(points ** (1 / 3)))
    S = rng.uniform(0, 0.99, k)[:, None, None]
    eta = rng.uniform(0, 0.5, k)[None, :, None]
    lam = rng.uniform(0, 2, points // (k * k))[None, None, :]
    yield "grid S x eta x lam (w scalar)", dict(sparsity=S, label_noise=eta, input_noise=lam, weight=1.5)
    flat = dict(sparsity=rng.uniform(0, 0.99, points), label_noise=rng.uniform(0, 0.5, points),
                input_noise=rng.uniform(0, 2, points), weight=rng.uniform(0.1, 10, points))
    yield "flat: four arrays of n points", flat


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cpus")
    worst = np.inf
    for name, kw in layouts(args.points, rng):
        n = int(np.broadcast_shapes(*(np.shape(v) for v in kw.values())) and
                np.prod(np.broadcast_shapes(*(np.shape(v) for v in kw.values()))))
        for task in ("argmax", "presence"):
            for code in ("mono", "poly"):
                best = np.inf
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    J = separation(code, task=task, **kw)
                    best = min(best, time.perf_counter() - t0)
                assert J.size == n and np.isfinite(J).all()
                rate = n / best
                worst = min(worst, rate)
                print(f"{name:32s} {task:8s} {code}: {n:.2e} points in {best * 1e3:7.1f} ms -> {rate:.3g} points/s")
    print(f"slowest configuration: {worst:.3g} points/s (target 1e7)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
