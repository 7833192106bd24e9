"""Wall time of the main job: ``python -m sims.margin_sweep`` as a whole process, several times.

    python benchmarks/main_job_walltime.py [--repeats 5] [-- extra flags for sims.margin_sweep]

Each repeat runs the command in a fresh subprocess with a new empty ``--out`` folder (nothing cached), so
the time includes interpreter start-up, imports, every cell, the figures and the PDF report. Prints each
wall time, the run's own ``wall_time_s`` from manifest.json, the summed cell seconds and the CPU time of
the child, then the median wall time (the number to quote: the acceptance target is < 30 s on 2 cores).
Run by hand, never as a timed test; timings on a shared machine are noisy: quote the median and the load.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="main_job_") as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "sims.margin_sweep", "--out", str(out), "--quiet", *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
        man = json.loads((out / "manifest.json").read_text())
        cells = 0.0
        for f in (out / "cells").glob("*.json"):
            cells += json.loads(f.read_text())["seconds"]
        return {
            "wall_s": wall,
            "manifest_wall_s": float(man["wall_time_s"]),
            "cells_s": cells,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "rows": int(man["rows"]),
        }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="number of full-process runs (default 5)")
    ap.add_argument("--json", metavar="PATH", default=None,
                    help="also write the result for the report (e.g. benchmarks/results/main_job_walltime.json)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats == {args.repeats}, must be >= 1")
    if args.json is not None:
        from reports import benchjson

        try:
            benchjson.check_path(args.json)
        except ValueError as exc:
            ap.error(str(exc))
    print(f"python -m sims.margin_sweep {' '.join(extra)}  (cpu_count {os.cpu_count()}, "
          f"load avg {os.getloadavg()[0]:.2f})")
    walls, runs = [], []
    for k in range(args.repeats):
        r = run_once(extra)
        walls.append(r["wall_s"])
        runs.append(r)
        print(f"run {k + 1}: wall {r['wall_s']:6.2f} s | in-process {r['manifest_wall_s']:6.2f} s | "
              f"cells {r['cells_s']:6.2f} s | child CPU {r['cpu_s']:6.2f} s | {r['rows']} rows | "
              f"load {os.getloadavg()[0]:.2f}")
    print(f"median wall time over {len(walls)} runs: {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f})")
    if args.json is not None:
        benchjson.write(args.json, benchmark="main_job_walltime",
                        workload=f"python -m sims.margin_sweep {' '.join(extra)}".strip() + ", fresh process, nothing cached",
                        ours_s=statistics.median(walls), peer=None, peer_s=None,
                        details={"repeats": len(walls), "min_s": min(walls), "max_s": max(walls), "runs": runs,
                                 "target_s": 30.0},
                        note=f"median of {len(walls)} runs, min {min(walls):.2f} s, max {max(walls):.2f} s "
                             "(acceptance target < 30 s on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
