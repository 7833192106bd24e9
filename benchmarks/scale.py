"""Cost curves of the main job at SAE-like sizes: n in {64, 256, 1024, 4096} features in m = n/4 dimensions.

    python benchmarks/scale.py [--sizes 64,256,1024,4096] [--repeats 3] [--parts curve,job,memory]
                               [--json benchmarks/results/scale.json]

Every measurement runs in a fresh child process (nothing cached between measurements; the child reports
its own wall time and peak resident set size, ``ru_maxrss``). Parts:

* ``curve``  per size n: the frame construction ``make_code("frame", n, n/4)`` (default steps; its time
  without the imports, coherence / Welch), the random and antipodal codes, and the main job
  ``python -m sims.margin_sweep --quick --n-features n --m n/4`` (wall time of the process, peak RSS, the
  summed seconds of its cells and of the cells without the frame code). At n = 1024 and 4096 these are the
  acceptance sizes of the frame and of ``--n-features 4096 --m 1024 --quick``. The cost exponent of each
  stage is the slope of log(seconds) on log(n) (least squares over the sizes), likewise for the memory;
* ``job``    the main job on its default grid at n = 1024, m = 256 (``--n-features 1024 --m 256``) as a user
  types it (``--workers auto``, its default: two local processes on 2 cores) and with ``--workers serial``
  (``--parts serial`` / ``--parts auto`` runs one half alone). CPU seconds include the worker processes; the peak RSS is the
  largest of the parent and any one worker;
* ``memory`` ``--quick --n-test 1000000 --reps 100``: the budget check (chunk size, estimated peak), and
  with ``--full-memory-run`` the whole run (about 40 min on 2 cores), its wall time and peak RSS;
* ``dask``   a grid where the cells dominate (``--n-features 512 --m 128``, default grid: 42 cells of about a
  second or more) serial, through ``--scheduler local --workers 1`` and ``--workers 2``: the speed-up from
  one to two Dask workers (the process wall time, Dask's start-up included).

Medians over --repeats runs (each a fresh process). Run by hand, never as a timed test; timings on a shared
machine are noisy: the load average at each run is recorded. ``--json`` writes the result for the report
(``reports.sections``: the Benchmarks table and its log-log figure).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------------------------ children
_CHILD_CODE = r"""
import json, resource, sys, time
family, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from sims.engine import codes as K
K.make_code(family, 8, 4, 1)  # warm-up: first-call imports and set-up are not the construction's cost
t0, c0 = time.perf_counter(), time.process_time()  # the construction alone
W = K.make_code(family, n, m, 0)
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the coherence check below (n x n)
rep = int(K.represented(W).sum())
mu = float(K.coherence(W)) if rep >= 2 else 0.0
print(json.dumps({"seconds": dt, "cpu_s": cpu, "coherence": mu, "welch": K.welch_bound(rep, m) if rep >= 2 else 0.0,
                  "steps": K.frame_steps(n, m) if family == "frame" else None,
                  "peak_rss_mb": peak}))
"""

_CHILD_JOB = r"""
import json, resource, runpy, sys, time
argv = sys.argv[1:]
sys.argv = ["sims.margin_sweep", *argv]
t0 = time.perf_counter()
rc = 0
try:
    runpy.run_module("sims.margin_sweep", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
ru, rc_ = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
# with --workers the cells run in child processes (reaped before the run returns): their CPU counts, and the
# peak RSS is the largest of this process and any one worker (RUSAGE_CHILDREN: the largest reaped child)
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t0,
                  "cpu_s": ru.ru_utime + ru.ru_stime + rc_.ru_utime + rc_.ru_stime,
                  "peak_rss_mb": max(ru.ru_maxrss, rc_.ru_maxrss) / 1024, "peak_rss_parent_mb": ru.ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-2000:]}")
    out = json.loads(lines[-1])
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    out["stderr_tail"] = proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []
    return out


def code_run(family: str, n: int, m: int) -> dict:
    return _child(_CHILD_CODE, family, str(n), str(m))


def job_run(*flags: str) -> dict:
    """``python -m sims.margin_sweep FLAGS`` in a child, into a fresh folder: wall, peak RSS, cell seconds."""
    with tempfile.TemporaryDirectory(prefix="scale_job_") as tmp:
        out = Path(tmp) / "run"
        r = _child(_CHILD_JOB, *flags, "--out", str(out), "--quiet")
        if r["rc"] != 0:
            return r
        cells, frame_cells = 0.0, 0.0
        for f in (out / "cells").glob("*.json"):
            data = json.loads(f.read_text())
            cells += data["seconds"]
            if data["cell"]["code"] == "frame":
                frame_cells += data["seconds"]
        man = json.loads((out / "manifest.json").read_text())
        r.update({"cells_s": cells, "frame_cells_s": frame_cells, "rows": man["rows"],
                  "in_process_s": man["wall_time_s"]})
    return r


def _median_runs(fn, repeats: int, label: str) -> dict:
    runs = []
    for k in range(repeats):
        r = fn()
        runs.append(r)
        extra = "" if "coherence" not in r or not r.get("welch") else f", coherence/Welch {r['coherence'] / r['welch']:.4f}"
        print(f"  {label} run {k + 1}: {r['seconds']:.2f} s (CPU {r.get('cpu_s', float('nan')):.2f} s), peak RSS {r['peak_rss_mb']:.0f} MB{extra}"
              f" (load {r['load_avg_1m']})", flush=True)
    keys = ("seconds", "cpu_s", "peak_rss_mb", "cells_s", "frame_cells_s")
    med = {f"median_{k}": statistics.median(r[k] for r in runs) for k in keys if all(k in r for r in runs)}
    if all(r.get("welch") for r in runs):
        med["coherence_over_welch"] = statistics.median(r["coherence"] / r["welch"] for r in runs)
    return {**med, "runs": runs}


def fit_exponent(ns: list[int], ys: list[float]) -> float | None:
    """Slope of log y on log n (least squares); None with fewer than two positive points."""
    pts = [(math.log(n), math.log(y)) for n, y in zip(ns, ys) if y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


# ------------------------------------------------------------------------------------------------ parts
def curve(sizes: list[int], repeats: int) -> dict:
    stages: dict[str, dict] = {"frame": {}, "random": {}, "antipodal": {}, "main_job_quick": {}, "cells": {},
                               "cells_without_frame": {}}
    for n in sizes:
        m = n // 4
        print(f"n = {n}, m = {m}", flush=True)
        fr = _median_runs(lambda: code_run("frame", n, m), repeats, "make_code frame")
        rd = _median_runs(lambda: code_run("random", n, m), 1, "make_code random")
        ap = _median_runs(lambda: code_run("antipodal", 2 * m, m), 1, "make_code antipodal (n = 2m)")
        job = _median_runs(lambda: job_run("--quick", "--n-features", str(n), "--m", str(m)), repeats,
                           "main job --quick")
        stages["frame"][n] = {"seconds": fr["median_seconds"], "cpu_s": fr["median_cpu_s"],
                              "peak_rss_mb": fr["median_peak_rss_mb"],
                              "coherence_over_welch": fr.get("coherence_over_welch"), "runs": fr["runs"]}
        stages["random"][n] = {"seconds": rd["median_seconds"], "peak_rss_mb": rd["median_peak_rss_mb"]}
        stages["antipodal"][n] = {"seconds": ap["median_seconds"], "peak_rss_mb": ap["median_peak_rss_mb"]}
        stages["main_job_quick"][n] = {"seconds": job["median_seconds"], "cpu_s": job["median_cpu_s"],
                                       "peak_rss_mb": job["median_peak_rss_mb"],
                                       "runs": job["runs"]}
        stages["cells"][n] = {"seconds": job["median_cells_s"]}
        stages["cells_without_frame"][n] = {"seconds": job["median_cells_s"] - job["median_frame_cells_s"]}
    exps = {}
    for name, per in stages.items():
        ns = sorted(per)
        exps[name] = {"time": fit_exponent(ns, [per[k]["seconds"] for k in ns]),
                      "memory": fit_exponent(ns, [per[k].get("peak_rss_mb") for k in ns])
                      if all(per[k].get("peak_rss_mb") for k in ns) else None}
    print("fitted exponents (seconds ~ n^b; peak RSS ~ n^c over " + ", ".join(map(str, sizes)) + "):", flush=True)
    for name, e in exps.items():
        t = "-" if e["time"] is None else f"{e['time']:.2f}"
        mm = "-" if e["memory"] is None else f"{e['memory']:.2f}"
        print(f"  {name:<20} time {t:>6}   memory {mm:>6}", flush=True)
    return {"sizes": sizes, "m": "n/4", "stages": {k: {str(n): v for n, v in per.items()} for k, per in stages.items()},
            "exponents": exps}


def job(repeats: int, workers: str | None = None) -> dict:
    """The main job at n = 1024, m = 256 (default grid): as typed (``--workers auto``), or with ``--workers``."""
    extra = () if workers is None else ("--workers", str(workers))
    return _median_runs(lambda: job_run("--n-features", "1024", "--m", "256", *extra), repeats,
                        "margin_sweep --n-features 1024 --m 256" + "".join(f" {e}" for e in extra))


def memory(full: bool) -> dict:
    """The budget check of --quick --n-test 1000000 --reps 100 (and with ``full`` the whole run)."""
    import dataclasses

    import sims.margin_sweep as MS
    from sims.margins.config import memory_plan

    cfg = dataclasses.replace(MS.MarginConfig.quick(), n_test=1_000_000, reps=100)
    plan = memory_plan(cfg)
    out = {"budget_gb": cfg.memory_budget, "chunk_rows": plan.chunk_rows, "estimated_peak_gb": plan.peak / 1e9}
    print(f"  --quick --n-test 1000000 --reps 100: fits {cfg.memory_budget:g} GB, chunks of {plan.chunk_rows} rows, "
          f"estimated peak {plan.peak / 1e9:.3f} GB", flush=True)
    if full:
        r = job_run("--quick", "--n-test", "1000000", "--reps", "100")
        print(f"  full run: rc {r['rc']}, {r['seconds']:.0f} s, peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        out["full_run"] = r
    return out


def dask(repeats: int) -> dict:
    """Serial vs Dask with 1 and 2 local workers on a grid where cells dominate; the three are run in turn
    (serial, 1 worker, 2 workers, then again), so that a drifting machine load affects them alike."""
    grid = ("--n-features", "512", "--m", "128")
    modes = (("serial", ("--workers", "serial")), ("dask_1", ("--scheduler", "local", "--workers", "1")),
             ("dask_2", ("--scheduler", "local", "--workers", "2")))
    runs: dict[str, list] = {label: [] for label, _ in modes}
    for k in range(repeats):
        for label, extra in modes:
            r = job_run(*grid, *extra)
            runs[label].append(r)
            print(f"  {label} run {k + 1}: {r['seconds']:.2f} s (cells {r.get('cells_s', float('nan')):.1f} s), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB (load {r['load_avg_1m']})", flush=True)
    out: dict = {"grid": "python -m sims.margin_sweep " + " ".join(grid)}
    for label, rs in runs.items():
        out[label] = {"median_seconds": statistics.median(r["seconds"] for r in rs),
                      "median_cells_s": statistics.median(r["cells_s"] for r in rs), "runs": rs}
    out["speedup_1_to_2"] = out["dask_1"]["median_seconds"] / out["dask_2"]["median_seconds"]
    out["speedup_per_round"] = [a["seconds"] / b["seconds"] for a, b in zip(runs["dask_1"], runs["dask_2"])]
    print(f"  Dask speed-up 1 -> 2 workers: {out['speedup_1_to_2']:.2f}x (per round: "
          + ", ".join(f"{v:.2f}" for v in out["speedup_per_round"]) + ")", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,256,1024,4096", help="n values of the cost curve (m = n/4)")
    ap.add_argument("--repeats", type=int, default=3, help="fresh-process runs per measurement (median)")
    ap.add_argument("--parts", default="curve,job,memory,dask",
                    help="comma-separated: curve, job, memory, dask; serial / auto: only that half of job")
    ap.add_argument("--full-memory-run", action="store_true", help="run --n-test 1000000 --reps 100 to the end")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="write the result for the report (e.g. benchmarks/results/scale.json); parts not run "
                         "this time are kept from an existing file")
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.sizes.split(",")]
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in ("curve", "job", "auto", "serial", "memory", "dask")]
    if bad or args.repeats < 1 or any(n < 8 or n % 4 for n in sizes):
        ap.error(f"--parts {bad!r} / --repeats {args.repeats} / --sizes {args.sizes}: parts among curve, "
                 "job, memory, dask; repeats >= 1; sizes multiples of 4, >= 8")
    if args.json is not None:
        from reports import benchjson

        try:
            benchjson.check_path(args.json)
        except ValueError as exc:
            ap.error(str(exc))
    print(f"benchmarks/scale.py: cpu_count {os.cpu_count()}, load avg {os.getloadavg()[0]:.2f}", flush=True)
    old = {}
    if args.json is not None and Path(args.json).is_file():
        old = json.loads(Path(args.json).read_text()).get("details", {})
    details = dict(old)
    t0 = time.perf_counter()
    if "curve" in parts:
        details["curve"] = curve(sizes, args.repeats)
    if "job" in parts or "auto" in parts:
        details["job_1024"] = job(args.repeats)
    if "job" in parts or "serial" in parts:
        details["job_1024_serial"] = job(args.repeats, workers="serial")
    details.pop("job_1024_workers_2", None)  # before --workers auto: serial was the default, 2 workers the option
    if "memory" in parts:
        details["memory"] = memory(args.full_memory_run)
    if "dask" in parts:
        details["dask"] = dask(args.repeats)
    print(f"done in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.json is not None:
        from reports import benchjson

        headline = details.get("job_1024", {}).get("median_seconds")
        if headline is None:
            raise SystemExit("--json needs the 'job' part (now or in the existing file): it is the headline number")
        ser = details.get("job_1024_serial", {}).get("median_seconds")
        note = (f"median of {args.repeats} fresh-process runs of python -m sims.margin_sweep --n-features 1024 --m 256 "
                "(target < 60 s on 2 cores; its default --workers auto runs two processes here)"
                + (f"; with --workers serial: {ser:.1f} s" if ser else "")
                + "; cost curves over n = " + ", ".join(map(str, sizes)) + " in details")
        benchjson.write(args.json, benchmark="scale",
                        workload="python -m sims.margin_sweep --n-features 1024 --m 256 (default grid), fresh process",
                        ours_s=headline, peer=None, peer_s=None, details=details, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
