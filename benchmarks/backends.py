"""Each study's cell on every array backend present: wall time (median of repeats) and the number of
host <-> device transfers per cell.

    python benchmarks/backends.py [--repeats 3] [--json benchmarks/results/backends.json]

Backends: numpy (always), array-api-strict on its second device (the standard-only check of the same
code; it wraps numpy, so its times show the cost of the standard's stricter forms, not an accelerator),
and CuPy when it is installed with a GPU. Cells: one cell of the main job (the default grid's random code
at ratio 2, S = 0.9), one of the robustness sweep (a small grid: 5 comparators, 2 replicates) and one
replicate of the real-data study on a small precomputed-features file (probes only; the encoders are
torch). Transfers are counted at ``sims.engine.backend.asarray`` (a host numpy array moved to a non-numpy
backend) and ``sims.engine.backend.to_numpy`` (a device array brought back); on numpy both are no-ops and
count 0. Run by hand, never as a timed test.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sims.engine import backend as B  # noqa: E402


class Counter:
    """Counts host->device and device->host moves through sims.engine.backend while active."""

    def __init__(self) -> None:
        self.to_device = 0
        self.to_host = 0
        self._asarray, self._to_numpy = B.asarray, B.to_numpy

    def __enter__(self) -> "Counter":
        def asarray(x: Any, xp: Any, dtype: Any = None, device: Any = None) -> Any:
            if isinstance(x, np.ndarray) and B.backend_name(xp) != "numpy":
                self.to_device += 1
            return self._asarray(x, xp, dtype, device)

        def to_numpy(x: Any) -> np.ndarray:
            if not isinstance(x, (np.ndarray, np.generic, int, float, bool)):
                self.to_host += 1
            return self._to_numpy(x)

        B.asarray, B.to_numpy = asarray, to_numpy
        return self

    def __exit__(self, *exc: Any) -> None:
        B.asarray, B.to_numpy = self._asarray, self._to_numpy


def backends() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = [("numpy", None)]
    try:
        import array_api_strict  # noqa: F401

        out.append(("array_api_strict", "device1"))
    except ImportError:
        pass
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            out.append(("cupy", None))
    except Exception:  # noqa: BLE001 - no CuPy / driver / GPU
        pass
    return out


def studies(tmp: Path) -> dict[str, Callable[[], Any]]:
    from sims.margins.cell import cell_fn as margin_cell
    from sims.margins.config import MarginConfig
    from sims.robustness.cell import cell_fn as robustness_cell
    from sims.robustness.config import RobustnessConfig

    mc = MarginConfig()
    mcell = next(c for c in mc.cells() if c["code"] == "random" and c["ratio"] == 2.0 and c["sparsity"] == 0.9)
    rc = RobustnessConfig(sparsity=(0.9,), m=(20,), reps=2, train_steps=300, n_train=(200, 1000),
                          label_noise=(0.0, 0.3, 0.6), input_noise=(0.0, 0.2, 0.4), noise_n_train=(1000,),
                          few_shot=(1, 0), ood=("density=2",), n_test=1024, theory=False)
    rcell = rc.cells()[0]
    out = {"margins (main job cell)": lambda: margin_cell(mcell, mc.cell_seed(mcell)),
           "robustness (cell)": lambda: robustness_cell(rcell, rc.cell_seed(rcell))}
    try:
        import torch  # noqa: F401

        from realdata.run import RealDataConfig
        from realdata.run import cell_fn as real_cell

        g = np.random.default_rng(0)
        y = np.arange(600) % 6
        np.savez(tmp / "f.npz", H=g.normal(size=(600, 32)) + 2 * np.eye(6, 32)[y], y=y)
        cfg = RealDataConfig(features=str(tmp / "f.npz"), data="", replicate=(0,), epochs=2, sae_epochs=5,
                             representations=("raw", "pca")).resolved()
        cell = cfg.cells()[0]
        out["realdata (replicate, probes)"] = lambda: real_cell(cell, cfg.cell_seed(cell))
    except ImportError:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None, help="write the results here (benchmarks/results/backends.json)")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for study, fn in studies(Path(tmp)).items():
            for name, device in backends():
                times = []
                for _ in range(args.repeats):
                    with B.using(name, device), Counter() as c:
                        t0 = time.perf_counter()
                        fn()
                        times.append(time.perf_counter() - t0)
                row = {"study": study, "backend": name if device is None else f"{name} ({device})",
                       "median_s": statistics.median(times), "to_device": c.to_device, "to_host": c.to_host}
                rows.append(row)
                print(f"{study:32s} {row['backend']:28s} {row['median_s']:8.3f} s   "
                      f"to device {c.to_device:5d}   to host {c.to_host:5d}", flush=True)
    if args.json:
        from reports import benchjson

        ours = next(r["median_s"] for r in rows if r["backend"] == "numpy")
        benchjson.write(args.json, benchmark="backends", workload="one cell of each study on every backend present",
                        ours_s=ours, peer=None, peer_s=None, details={"rows": rows, "repeats": args.repeats},
                        note="No GPU was present: CuPy was not measured." if not any(
                            r["backend"].startswith("cupy") for r in rows) else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
