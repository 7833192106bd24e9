"""The main job at scale: test samples in chunks under --memory-budget (plans that bound the measured peak,
chunked results equal to whole-set results, over-budget configs refused up front with one line), the
factored large-n paths equal to the direct ones, and a grid spread over Dask workers."""
from __future__ import annotations

import dataclasses
import json
import math
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import sims.margin_sweep as MS
from sims.engine import codes as K
from sims.margins import cell as C
from sims.margins import config as MC
from sims.sweep.executors import dask_available
from sims.sweep.runner import run_sweep


def _rows_close(a: list[dict], b: list[dict], rel: float) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k, va in ra.items():
            vb = rb[k]
            if isinstance(va, float) and math.isnan(va):
                assert isinstance(vb, float) and math.isnan(vb), (k, va, vb)
            elif isinstance(va, float):
                assert abs(va - vb) <= rel * max(abs(va), 1e-300), (k, va, vb)
            else:
                assert va == vb, (k, va, vb)


def _clear_caches() -> None:
    C._DATA.items.clear()
    C._DATA.nbytes = 0
    K._frame_host.cache_clear()


def _cells(**kw):
    cfg = dataclasses.replace(MS.MarginConfig.quick(), **kw)
    out = []
    for cell in cfg.cells():
        if MC.cell_is_valid(cell["code"], MC.n_rep_of(cell["ratio"], cell["m"]), cell["m"]):
            out.append((cell, cfg.cell_seed(cell)))
    return out


# ------------------------------------------------------------------------------------------ memory plan
@pytest.mark.parametrize("kw", [
    dict(n_features=64, m=16, code=("random", "frame"), ratio=(4.0,), n_test=2000),
    dict(n_features=256, m=64, code=("random",), ratio=(1.0, 4.0), n_test=1500),
    dict(n_features=24, m=8, code=("random",), ratio=(2.0,), n_test=30000, reps=1),  # several chunks
])
def test_memory_plan_bounds_the_measured_peak(kw):
    """The plan's estimate is above what numpy allocates in the cell (tracemalloc), and not absurdly so."""
    for cell, seed in _cells(**kw):
        plan = MC.memory_plan(cell)
        _clear_caches()
        tracemalloc.start()
        try:
            MS.cell_fn(cell, seed)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= plan.peak, (cell["code"], cell["ratio"], peak, plan.peak)
        assert plan.peak <= 4 * peak + 8e6, (cell["code"], cell["ratio"], peak, plan.peak)
        if cell["n_test"] > MC.MAX_CHUNK:
            assert plan.chunk_rows == MC.MAX_CHUNK


def test_chunked_rows_equal_whole_set(monkeypatch):
    """Chunks of 97 test rows give the rows of the whole set up to rounding (sums in another order)."""
    for cell, seed in _cells(code=("random", "frame", "antipodal"), ratio=(1.0, 2.0)):
        _clear_caches()
        whole = MS.cell_fn(cell, seed)
        with monkeypatch.context() as mp:
            mp.setattr(MC, "MAX_CHUNK", 97)
            assert MC.memory_plan(cell).chunk_rows == 97
            _clear_caches()
            chunked = MS.cell_fn(cell, seed)
        _rows_close(whole, chunked, 1e-12)


def test_large_n_paths_equal_direct_paths(monkeypatch):
    """The factored scores / pair variances and the segment sums of the Fisher estimate (used above 256
    features) give the direct forms' rows up to rounding."""
    for cell, seed in _cells(code=("random", "frame"), ratio=(2.0,)):
        _clear_caches()
        direct = MS.cell_fn(cell, seed)
        with monkeypatch.context() as mp:
            mp.setattr(C, "_LARGE_N", 0)
            mp.setattr(C, "_ONEHOT_MAX_R", 0)
            mp.setattr(C, "_FISHER_POLY_R", 0)
            _clear_caches()
            factored = MS.cell_fn(cell, seed)
        _rows_close(direct, factored, 1e-9)


def test_fisher_segment_sums_equal_onehot_product(monkeypatch):
    rng = np.random.default_rng(0)
    r, lams = 40, np.array([0.0, 0.2, 1.0])
    S0, E = rng.standard_normal((500, r)), rng.standard_normal((500, r))
    y = rng.integers(0, r + 5, 500)
    onehot = C._pooled_fisher(S0, E, y, lams)
    monkeypatch.setattr(C, "_ONEHOT_MAX_R", 0)
    segments = C._pooled_fisher(S0, E, y, lams)
    parts = C._add_sums(C._fisher_sums(S0[:123], E[:123], y[:123]), C._fisher_sums(S0[123:], E[123:], y[123:]))
    assert np.allclose(onehot, segments, rtol=1e-12, atol=0)
    assert np.allclose(onehot, C._fisher_from_sums(parts, lams), rtol=1e-12, atol=0)


@pytest.mark.parametrize("r", [6, 40, 300])
def test_fisher_polynomial_in_lam_equals_level_by_level(monkeypatch, r):
    """The pooled Fisher estimate as a degree-2 polynomial in lam (many features) equals the level-by-level
    form, with classes that have no or a single sample left out of the pairs."""
    rng = np.random.default_rng(r)
    lams = np.array([0.0, 0.05, 0.3, 1.0, 7.0])
    S0, E = rng.random((4 * r, r)) * 3, rng.standard_normal((4 * r, r))
    y = rng.integers(0, r + 2, 4 * r)
    y[y == 1] = 0  # class 1 absent
    y[np.flatnonzero(y == 2)[1:]] = 0  # class 2 has one sample
    sums = C._fisher_sums(S0, E, y)
    monkeypatch.setattr(C, "_FISHER_POLY_R", 10**9)
    levels = C._fisher_from_sums(sums, lams)
    monkeypatch.setattr(C, "_FISHER_POLY_R", 0)
    poly = C._fisher_from_sums(sums, lams)
    assert np.all(np.isfinite(levels))
    assert np.allclose(poly, levels, rtol=1e-11, atol=0)
    one = {k: v.copy() for k, v in sums.items()}
    one["cnt"][:] = 1.0  # no class with two samples: no pair, NaN either way
    assert np.isnan(C._fisher_from_sums(one, lams)).all()


def test_hits_margins_equal_engine_signed_margins():
    from sims.engine.metrics import signed_margins

    rng = np.random.default_rng(1)
    S = rng.standard_normal((300, 7))
    S[:5] = 0.0  # ties
    S[5, 3] = -0.0
    y = rng.integers(0, 7, 300)
    covered = rng.random(300) < 0.8
    yc = np.where(covered, y, 0)
    hits, marg = C._hits_margins(S, y, yc, covered)
    assert np.array_equal(hits, S.argmax(axis=-1) == y)
    ref = np.where(covered, signed_margins(S, yc), np.nan)
    assert np.array_equal(np.signbit(marg), np.signbit(ref)) and np.array_equal(marg, ref, equal_nan=True)


def test_column_moments_of_chunks():
    A = np.random.default_rng(2).standard_normal((1000, 5)) * [1, 10, 100, 1e3, 1e4] + 1e3
    one, many = C._Moments(), C._Moments()
    one.add(A)
    for lo in range(0, 1000, 333):
        many.add(A[lo:lo + 333])
    assert np.array_equal(one.var(), A.var(axis=0, ddof=1))
    assert np.allclose(many.var(), A.var(axis=0, ddof=1), rtol=1e-12)


# ------------------------------------------------------------------------------------------ budget at the CLI
def test_million_test_samples_fit_the_default_budget():
    """--quick --n-test 1000000 --reps 100 is inside the budget: chunks of MAX_CHUNK rows."""
    cfg = dataclasses.replace(MS.MarginConfig.quick(), n_test=1_000_000, reps=100)
    plan = MC.memory_plan(cfg)
    assert plan.chunk_rows == MC.MAX_CHUNK and plan.peak < plan.budget * (1 - MC.CACHE_SHARE)


@pytest.mark.parametrize("args, flag", [
    (["--n-features", "65536", "--m", "8"], "--n-features == 65536"),
    (["--n-test", "1000000", "--memory-budget", "0.1"], "--n-test == 1000000"),
    (["--n-train", "1000000", "--n-features", "2048", "--m", "8"], "--n-train == 1000000"),
    (["--n-features", "4096", "--m", "4096", "--ratio", "1"], "--m == 4096"),
])
def test_over_budget_one_line_exit_2_nothing_written(args, flag, tmp_path, capsys):
    out = tmp_path / "out"
    assert MS.main(["--quick", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"python -m sims.margin_sweep: error: {flag} needs about"), err
    assert "over --memory-budget ==" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-1", "2000", "nan"])
def test_memory_budget_range(value, tmp_path, capsys):
    assert MS.main(["--quick", "--out", str(tmp_path / "o"), "--memory-budget", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "memory_budget" in err


def test_feature_cap_raised():
    cfg = dataclasses.replace(MS.MarginConfig.quick(), n_features=4096, m=1024)
    assert cfg.n_features == 4096
    with pytest.raises(ValueError, match=r"^n_features == 65537, must be in \[2, 65536\]"):
        dataclasses.replace(MS.MarginConfig.quick(), n_features=65537)


# ------------------------------------------------------------------------------------------ Dask
DASK_OK, DASK_WHY = dask_available()


@pytest.mark.slow
@pytest.mark.skipif(not DASK_OK, reason=f"dask.distributed not importable: {DASK_WHY}")
def test_grid_spread_over_dask_workers_same_results(tmp_path):
    """A grid through --scheduler local with 2 workers: the cells run in both worker processes and the
    results are those of the serial run."""
    from tests.apps.margin_pid import cell_fn as pid_cell

    cfg = dataclasses.replace(MS.MarginConfig.quick(), code=("mono", "random", "frame"), ratio=(1.0, 2.0),
                              sparsity=(0.8, 0.9, 0.97), n_features=32, m=8, n_test=300, reps=1)
    serial = run_sweep(cfg, MS.cell_fn, out_dir=tmp_path / "serial", quiet=True)
    dask = run_sweep(cfg, pid_cell, out_dir=tmp_path / "dask", scheduler="local", workers=2, quiet=True,
                     cells_per_task=1)
    assert dask.executor["kind"] == "dask" and dask.executor["workers"] == 2
    a = pd.read_csv(serial.results_csv)
    b = pd.read_csv(dask.results_csv)
    assert b["worker_pid"].nunique() == 2
    pd.testing.assert_frame_equal(a, b.drop(columns="worker_pid"))
    man = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert man["cells"]["computed"] == cfg.n_cells
