"""Benchmark P2: the batched toy-model trainer (sims.engine.toy_model) vs PyTorch on the CPU.

Workload P2 (paper §4.2 / Fig. 5 scale): 32 instances x 1000 Adam steps x batch 1024, 40 features in
20 dimensions, importance 0.9^i, sparsity linspace(0, 0.99, 32) per instance.

Both trainers start from the same initial W (``sims.engine.toy_model.init_params``), b = 0, and consume the
same batches (``sims.engine.toy_model.SyntheticBatches``, one shared stream across instances), so their
final losses are comparable. PyTorch: autograd + torch.optim.Adam (defaults: lr 1e-3, betas
(0.9, 0.999), eps 1e-8, the foreach implementation), batched over instances with torch.bmm, thread
count left at its default (reported). Both run in this process, alternating, after a short warm-up.

What is timed (wall clock, per run):
  * "total"   — the whole training loop including drawing the batches (data generation is the same
                numpy code for both);
  * "train"   — total minus the time spent inside the batch iterator (measured by a wrapper), i.e.
                the training arithmetic alone;
  * "data"    — drawing the batches alone (one pass over the iterator).
Medians over --repeats runs; the process CPU time and the machine load average are printed too,
because a shared machine skews wall-clock timings (busy-waiting BLAS / OpenMP threads suffer most).

Usage: python benchmarks/p2_toy_model.py [--repeats R] [--steps N] [--instances I] [--batch B]
                                         [--torch-threads K ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from sims.engine import toy_model as T
from sims.engine.generators import FeatureSpec
from sims.engine.validation import Interval, check_number


class TimedIter:
    """Wraps an iterable and accumulates the seconds spent inside ``next``."""

    def __init__(self, iterable):
        self.it = iter(iterable)
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self):
        t0 = time.perf_counter()
        try:
            return next(self.it)
        finally:
            self.seconds += time.perf_counter() - t0


def torch_train(torch, W0: np.ndarray, imp: np.ndarray, batches, cfg: T.ToyModelConfig) -> np.ndarray:
    """The same model in PyTorch (autograd + torch.optim.Adam); returns the loss per instance at the
    last step (before its update), as ``ToyModelResult.final_loss``."""
    I, m, n = W0.shape
    W = torch.tensor(W0, dtype=torch.float32, requires_grad=True)       # (I, m, n)
    b = torch.zeros((I, n), dtype=torch.float32, requires_grad=True)    # (I, n)
    opt = torch.optim.Adam([W, b], lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    imp_t = torch.as_tensor(imp, dtype=torch.float32)[:, None, :]       # (I, 1, n)
    last = None
    for t, x in zip(range(cfg.steps), batches):
        xt = torch.from_numpy(x)                                        # (I, B, n), no copy
        h = torch.bmm(xt, W.transpose(1, 2))                            # (I, B, m)  h = W x
        xhat = torch.relu(torch.bmm(h, W) + b[:, None, :])              # (I, B, n)
        loss = ((xhat - xt) ** 2 * imp_t).sum(-1).mean(-1)              # (I,)  eq. (1)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        if t == cfg.steps - 1:
            last = loss.detach().numpy().astype(np.float64)
    return last


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--instances", type=int, default=32)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, nargs="*", default=[],
                    help="also time torch with these thread counts (extra rows; default thread count always)")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="also write the result for the report (e.g. benchmarks/results/p2_toy_model.json)")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("error: torch is not installed (realdata extra)", file=sys.stderr)
        return 2
    I, n, m = args.instances, 40, 20
    imp = 0.9 ** np.arange(n)
    S = np.linspace(0.0, 0.99, I)
    try:
        cfg = T.ToyModelConfig(n, m, n_instances=I, importance=imp, steps=args.steps, log_every=100,
                               seed=args.seed, dtype="float32")
        check_number("repeats", args.repeats, Interval(1, None), integer=True)
        if args.json is not None:
            from reports import benchjson

            benchjson.check_path(args.json)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = FeatureSpec(n)

    def source(steps=args.steps):
        return T.SyntheticBatches(spec, S, args.batch, args.seed, steps=steps, dtype="float32")

    W0 = np.asarray(T.init_params(cfg)[0])
    imp_I = cfg.importance_array()
    print(f"P2: {I} instances x {args.steps} steps x batch {args.batch}, n={n}, m={m}, float32")
    print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()} (default); "
          f"numpy {np.__version__}; cores {os.cpu_count()}; load avg {os.getloadavg()[0]:.2f}")

    # warm-up (first calls of BLAS / torch kernels, allocator), not timed
    warm = T.ToyModelConfig.from_dict({**cfg.to_dict(), "steps": 20})
    T.train_toy_model(warm, source(20))
    torch_train(torch, W0, imp_I, source(20), warm)

    default_threads = torch.get_num_threads()
    extra = [k for k in args.torch_threads if k != default_threads and k >= 1]
    rows = {"ours": [], "torch": [], "data": [], **{f"torch{k}": [] for k in extra}}
    out = {}

    def timed(key, fn):
        """Run ``fn(batches)`` on a fresh source; record (wall total, wall train-only, CPU total)."""
        it = TimedIter(source())
        t0, c0 = time.perf_counter(), time.process_time()
        out[key] = fn(it)
        tot = time.perf_counter() - t0
        rows[key].append((tot, tot - it.seconds, time.process_time() - c0))

    for r in range(args.repeats):
        timed("data", lambda it: [None for _ in it])
        timed("ours", lambda it: T.train_toy_model(cfg, it))
        timed("torch", lambda it: torch_train(torch, W0, imp_I, it, cfg))
        for k in extra:
            torch.set_num_threads(k)
            timed(f"torch{k}", lambda it: torch_train(torch, W0, imp_I, it, cfg))
            torch.set_num_threads(default_threads)
        print(f"  repeat {r}: " + " | ".join(
            f"{k} {v[-1][0]:.2f}s (" + ("" if k == "data" else f"train {v[-1][1]:.2f}s, ") + f"cpu {v[-1][2]:.2f}s)"
            for k, v in rows.items())
              + f" | load {os.getloadavg()[0]:.2f}", flush=True)

    med = {k: np.median(np.asarray(v), axis=0) for k, v in rows.items()}
    res, loss_t = out["ours"], out["torch"]
    print(f"\nmedian over {args.repeats} repeats (solver {res.solver!r}); wall seconds, CPU seconds of the "
          f"process (all threads, spinning included):")
    print(f"  data generation alone : {med['data'][0]:.3f} s   (cpu {med['data'][2]:.3f} s)")
    for k in rows:
        if k == "data":
            continue
        name = {"ours": "ours", "torch": f"torch ({default_threads} threads, default)"}.get(k, f"torch ({k[5:]} thread)")
        line = f"  {name:28s}: total {med[k][0]:.3f} s   train-only {med[k][1]:.3f} s   cpu {med[k][2]:.3f} s"
        if k != "ours":
            line += (f"   -> speed-up of ours: total {med[k][0] / med['ours'][0]:.2f}x, "
                     f"train-only {med[k][1] / med['ours'][1]:.2f}x")
        print(line)
    ours = res.final_loss
    rel = np.abs(ours - loss_t) / np.maximum(np.abs(loss_t), 1e-12)
    print(f"  final loss (last batch, mean over instances): ours {ours.mean():.6f}, torch {loss_t.mean():.6f}")
    print(f"  worst relative difference per instance: {rel.max():.2e} (instance {int(rel.argmax())}, "
          f"S = {S[int(rel.argmax())]:.3f})")
    if args.json is not None:
        benchjson.write(args.json, benchmark="p2_toy_model",
                        workload=f"{I} toy models x {args.steps} Adam steps x batch {args.batch}, n={n}, m={m}, float32",
                        ours_s=float(med["ours"][0]), peer=f"PyTorch {torch.__version__} ({default_threads} threads)",
                        peer_s=float(med["torch"][0]),
                        details={k: {"total_s": float(v[0]), "train_s": float(v[1]), "cpu_s": float(v[2])}
                                 for k, v in med.items()} | {"repeats": args.repeats,
                                                             "max_rel_final_loss_diff": float(rel.max())},
                        note=f"train-only: ours {med['ours'][1]:.3f} s, torch {med['torch'][1]:.3f} s; "
                             f"final losses agree to {rel.max():.1e} (relative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
