"""Sweep runner: config grid/seeds, cache and resume (SIGKILL), engines agree bit for bit, outputs."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from hypothesis import given, strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the test app is imported as tests.apps.tiny_sweep (also by workers)
    sys.path.insert(0, str(ROOT))

from sims.sweep import io as sio  # noqa: E402
from sims.sweep.executors import auto_cells_per_task, dask_available, open_executor  # noqa: E402
from sims.sweep.runner import CellError, SweepConfig, SweepInterrupted, run_sweep  # noqa: E402
from tests.apps import tiny_sweep as tiny  # noqa: E402
from tests.apps.tiny_sweep import TinyConfig, cell_fn  # noqa: E402

DASK_OK, DASK_WHY = dask_available()
needs_dask = pytest.mark.skipif(not DASK_OK, reason=f"dask.distributed not importable (the 'dist' extra): {DASK_WHY}")

SMALL = dict(size=(3, 5), noise=(0.0, 0.2), code=("mono", "poly"), n_samples=40, reps=2)


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"*{sio.TEMP_SUFFIX}"))


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


# ---------------------------------------------------------------------------------------------
# config


def test_axes_fixed_and_grid_order():
    c = TinyConfig(**SMALL)
    assert c.axes() == ("size", "noise", "code")
    assert c.fixed() == ("n_samples", "reps")
    cells = c.cells()
    assert c.n_cells == len(cells) == 8
    # row-major: the last axis varies fastest
    assert [(x["size"], x["noise"], x["code"]) for x in cells[:3]] == [(3, 0.0, "mono"), (3, 0.0, "poly"), (3, 0.2, "mono")]
    assert all(x["n_samples"] == 40 and x["reps"] == 2 for x in cells)


def test_normalization_lists_ints_numpy():
    import numpy as np

    c = TinyConfig(size=[3, np.int64(5)], noise=[0, 1], code=["mono"], n_samples=40.0)
    assert c.size == (3, 5) and type(c.size[1]) is int
    assert c.noise == (0.0, 1.0) and all(type(v) is float for v in c.noise)
    assert c.n_samples == 40 and type(c.n_samples) is int
    assert c == TinyConfig(size=(3, 5), noise=(0.0, 1.0), code=("mono",), n_samples=40)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(size=()), "size == (), must hold at least one value"),
        (dict(code=("mono", "bogus")), "code contains 'bogus', must be one of 'mono', 'poly'"),
        (dict(noise=(0.1, 0.1)), "noise contains 0.1 twice"),
        (dict(noise=(float("nan"),)), "noise contains nan, must be a finite real number"),
        (dict(noise=(-1.0,)), "noise contains -1, must be in [0, 10]"),
        (dict(size=(True,)), "size contains True, must be an integer"),
        (dict(n_samples=-(2**63) - 1), "n_samples == -9223372036854775809, must be an integer in [-2**63"),
        (dict(seed=2**63), "seed == 9223372036854775808, must be an integer in [0, 2**63 - 1]"),
        (dict(size=(2.5,)), "size contains 2.5, must be an integer"),
        (dict(noise="0.1"), "noise == '0.1', must be a tuple"),
        (dict(reps=0), "reps == 0, must be in [1, 100]"),
        (dict(seed=-1), "seed == -1, must be an integer in [0, 2**63 - 1]"),
    ],
)
def test_bad_config_values_name_field_value_and_range(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        TinyConfig(**kwargs)
    assert fragment in str(info.value)


def test_from_dict_rejects_unknown_and_missing_keys():
    with pytest.raises(ValueError, match="config key 'sizes' is unknown for TinyConfig"):
        TinyConfig.from_dict({"sizes": [1]})

    @dataclass(frozen=True)
    class Needs(SweepConfig):
        a: tuple[float, ...]

    with pytest.raises(ValueError, match="config key 'a' is missing"):
        Needs.from_dict({"seed": 1})


@given(
    size=st.lists(st.integers(1, 4096), min_size=1, max_size=4, unique=True),
    noise=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=4, unique=True),
    code=st.sampled_from([["mono"], ["poly"], ["mono", "poly"], ["poly", "mono"]]),
    n_samples=st.integers(1, 100_000),
    seed=st.integers(0, 2**63 - 1),
)
def test_to_dict_from_dict_is_lossless_and_json_safe(size, noise, code, n_samples, seed):
    c = TinyConfig(size=size, noise=noise, code=code, n_samples=n_samples, seed=seed)
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    back = TinyConfig.from_dict(d)
    assert back == c
    assert back.config_hash() == c.config_hash() and back.slug() == c.slug()


def test_slug_caption_and_hash_come_from_the_config():
    a, b = TinyConfig(**SMALL), TinyConfig(**SMALL, seed=1)
    assert a.slug().startswith("tiny_sweep-8cells-seed0-") and b.slug().startswith("tiny_sweep-8cells-seed1-")
    assert a.config_hash() != b.config_hash()
    assert a.caption() == (
        "tiny_sweep: size \u2208 {3, 5} \u00d7 noise \u2208 {0, 0.2} \u00d7 code \u2208 {mono, poly}; "
        "n_samples = 40, reps = 2; seed 0"
    )
    assert a.figure_stem("mean") == "tiny_sweep_mean"


def test_cell_seed_depends_on_base_seed_and_values_not_on_position():
    big = TinyConfig(size=(3, 5, 7), noise=(0.0, 0.2, 0.4), code=("poly", "mono"))
    small = TinyConfig(size=(5,), noise=(0.2,), code=("mono",))
    target = dict(small.cells()[0])
    [same] = [c for c in big.cells() if (c["size"], c["noise"], c["code"]) == (5, 0.2, "mono")]
    assert big.cell_seed(same) == small.cell_seed(target)
    seeds = {big.cell_seed(c) for c in big.cells()}
    assert len(seeds) == big.n_cells  # distinct cells, distinct seeds
    assert TinyConfig(**SMALL, seed=1).cell_seed(target) != small.cell_seed(target)
    assert all(0 <= s < 2**63 for s in seeds)


def test_seed_axes_give_common_random_numbers():
    @dataclass(frozen=True)
    class Crn(SweepConfig):
        seed_axes: ClassVar = ("noise",)
        noise: tuple[float, ...] = (0.0, 0.5)
        code: tuple[Literal["mono", "poly"], ...] = ("mono", "poly")

    c = Crn()
    by = {(x["noise"], x["code"]): c.cell_seed(x) for x in c.cells()}
    assert by[(0.0, "mono")] == by[(0.0, "poly")] != by[(0.5, "mono")] == by[(0.5, "poly")]

    with pytest.raises(TypeError, match="seed_axes names"):
        @dataclass(frozen=True)
        class Bad(SweepConfig):
            seed_axes: ClassVar = ("nope",)
            noise: tuple[float, ...] = (0.0,)

        Bad()


# ---------------------------------------------------------------------------------------------
# io helpers


@given(st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_csv_floats_round_trip_exactly(x):
    text = sio.format_value(x)
    y = float(text)
    assert (math.isnan(x) and math.isnan(y)) or y == x and math.copysign(1, y) == math.copysign(1, x)


def test_atomic_write_leaves_old_file_or_new_never_a_temp(tmp_path):
    p = tmp_path / "a.txt"
    sio.atomic_write_text(p, "old")
    with pytest.raises(TypeError):
        sio.atomic_write_bytes(p, "not bytes")  # fails while writing the temporary
    assert p.read_text() == "old" and _temps(tmp_path) == []
    (tmp_path / f".a.txt.zz{sio.TEMP_SUFFIX}").write_text("stale")
    assert sio.remove_stale_temps(tmp_path) == 1 and _temps(tmp_path) == []
    assert oct(p.stat().st_mode & 0o777) != oct(0o600)  # usual permissions, not mkstemp's 0600


def test_check_out_dir_refuses_files_and_paths_under_files(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="--out == .* is an existing file"):
        sio.check_out_dir(f)
    with pytest.raises(ValueError, match="cannot be created: .* is a file"):
        sio.check_out_dir(f / "sub" / "dir")
    assert sio.check_out_dir(tmp_path / "new" / "deep") == tmp_path / "new" / "deep"
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------------------------------
# run_sweep: outputs, cache, refusal


def test_run_writes_tidy_csv_manifest_and_figures_then_reuses_cache(tmp_path, capsys):
    out = tmp_path / "run"
    r = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True, figures_fn=tiny.figures)
    assert (r.n_cells, r.n_computed, r.n_cached) == (8, 8, 0)
    text = r.results_csv.read_text()
    lines = text.splitlines()
    assert lines[0] == "size,noise,code,cell_seed,rep,mean,std,positive,ok"
    assert len(lines) == 1 + 8 * 2 and text.endswith("\n") and "\r" not in text
    assert lines[1].startswith("3,0.0,mono,")
    assert sorted(p.suffix for p in r.figures) == [".pdf", ".png"] and all(p.stat().st_size > 1000 for p in r.figures)
    m = _manifest(out)
    assert m["cells"] == {"total": 8, "computed": 8, "cached": 0}
    assert m["config"] == TinyConfig(**SMALL).to_dict() and m["seed"] == 0
    assert m["executor"]["kind"] == "serial" and m["wall_time_s"] > 0
    assert m["versions"]["numpy"] and "python" in m["versions"]
    assert m["git"] is None or len(m["git"]["commit"]) == 40
    assert sorted(m["files"]["figures"]) == ["tiny_sweep_mean.pdf", "tiny_sweep_mean.png"]
    assert len(list((out / "cells").glob("*.json"))) == 8
    assert capsys.readouterr().err == ""  # --quiet: no progress bar

    r2 = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    assert (r2.n_computed, r2.n_cached) == (0, 8) and r2.executor["used"] is False
    assert r2.results_csv.read_text() == text
    assert _temps(out) == []


def test_progress_bar_on_stderr_counts_cells(tmp_path, capsys):
    run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=tmp_path / "o")
    err = capsys.readouterr().err
    assert "tiny_sweep" in err and "8/8" in err


def test_same_seed_identical_different_seed_differs(tmp_path):
    a = run_sweep(TinyConfig(**SMALL, seed=7), cell_fn, out_dir=tmp_path / "a", quiet=True)
    b = run_sweep(TinyConfig(**SMALL, seed=7), cell_fn, out_dir=tmp_path / "b", quiet=True)
    c = run_sweep(TinyConfig(**SMALL, seed=8), cell_fn, out_dir=tmp_path / "c", quiet=True)
    assert a.results_csv.read_bytes() == b.results_csv.read_bytes()
    ra, rc = a.rows, c.rows
    assert [r["size"] for r in ra] == [r["size"] for r in rc]
    assert all(x["mean"] != y["mean"] for x, y in zip(ra, rc))


def test_other_config_in_same_folder_is_refused_unless_forced(tmp_path):
    out = tmp_path / "run"
    first = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True, figures_fn=tiny.figures)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bigger = TinyConfig(**{**SMALL, "size": (3, 5, 7)})
    with pytest.raises(ValueError, match="holds results of a different config"):
        run_sweep(bigger, cell_fn, out_dir=out, quiet=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    r = run_sweep(bigger, cell_fn, out_dir=out, quiet=True, force=True)
    assert (r.n_cells, r.n_cached, r.n_computed) == (12, 8, 4)  # matching cells are reused
    assert not first.figures[0].exists()  # the old config's figures are gone
    assert r.results_csv.read_text().count("\n") == 1 + 12 * 2


def test_non_run_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a run folder"):
        run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=tmp_path, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_damaged_cache_file_is_recomputed(tmp_path):
    out = tmp_path / "run"
    ref = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True).results_csv.read_bytes()
    files = sorted((out / "cells").glob("*.json"))
    files[0].write_text('{"key": "tru')  # e.g. a machine crash before the data hit the disk
    files[1].write_text(json.dumps({"key": "other", "rows": []}))
    r = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    assert (r.n_computed, r.n_cached) == (2, 6)
    assert r.results_csv.read_bytes() == ref


def test_failing_cell_raises_cell_error_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("TINY_SWEEP_FAIL", "5")
    out = tmp_path / "run"
    with pytest.raises(CellError, match=r"cell .*'size': 5.* failed: RuntimeError: requested failure"):
        run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    assert len(list((out / "cells").glob("*.json"))) == 4  # the size-3 cells came first
    assert not (out / "results.csv").exists() and _temps(out) == []
    monkeypatch.delenv("TINY_SWEEP_FAIL")
    r = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    assert (r.n_computed, r.n_cached) == (4, 4)


def test_interrupt_keeps_cache_and_main_exits_130(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TINY_SWEEP_INTERRUPT", "5")
    out = tmp_path / "run"
    with pytest.raises(SweepInterrupted) as info:
        run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    assert info.value.n_done == 4 and len(list((out / "cells").glob("*.json"))) == 4
    rc = tiny.main(["--size", "3,5", "--noise", "0,0.2", "--n-samples", "40", "--out", str(out), "--quiet", "--no-figures"])
    err = capsys.readouterr().err
    assert rc == 130 and err.count("\n") == 1 and "rerun with --out" in err and "Traceback" not in err


def test_bad_cell_output_is_a_bug_not_bad_input(tmp_path):
    with pytest.raises(CellError, match="column 'size', which the runner writes itself"):
        run_sweep(TinyConfig(**SMALL), _clashing_cell, out_dir=tmp_path / "a", quiet=True)
    with pytest.raises(CellError, match="not a scalar"):
        run_sweep(TinyConfig(**SMALL), _array_cell, out_dir=tmp_path / "b", quiet=True)
    with pytest.raises(TypeError, match="cannot be sent to worker processes"):
        run_sweep(TinyConfig(**SMALL), lambda c, s: [], out_dir=tmp_path / "c", workers=2, quiet=True)
    assert not (tmp_path / "c").exists()


def _clashing_cell(cell, seed):
    return [{"size": 1}]


def _array_cell(cell, seed):
    return [{"v": [1, 2]}]


# ---------------------------------------------------------------------------------------------
# engines agree bit for bit


def test_auto_batching_targets_four_tasks_per_worker():
    assert auto_cells_per_task(18, 1, "serial") == 1
    assert auto_cells_per_task(18, 2, "processes") == 3  # 6 tasks for 2 workers
    assert auto_cells_per_task(1000, 2, "dask") == 125
    assert auto_cells_per_task(3, 8, "processes") == 1


def test_serial_and_two_processes_give_identical_results(tmp_path):
    cfg = TinyConfig()
    serial = run_sweep(cfg, cell_fn, out_dir=tmp_path / "s", quiet=True)
    procs = run_sweep(cfg, cell_fn, out_dir=tmp_path / "p", workers=2, quiet=True)
    one = run_sweep(cfg, cell_fn, out_dir=tmp_path / "p1", workers=2, cells_per_task=1, quiet=True)
    assert procs.executor["kind"] == "processes" and procs.executor["cells_per_task"] == 3
    assert serial.results_csv.read_bytes() == procs.results_csv.read_bytes() == one.results_csv.read_bytes()


@pytest.mark.slow
@needs_dask
def test_dask_local_cluster_gives_identical_results(tmp_path):
    cfg = TinyConfig()
    serial = run_sweep(cfg, cell_fn, out_dir=tmp_path / "s", quiet=True)
    dask = run_sweep(cfg, cell_fn, out_dir=tmp_path / "d", scheduler="local", workers=2, quiet=True)
    assert dask.executor["kind"] == "dask" and dask.executor["scheduler"] == "local"
    assert serial.results_csv.read_bytes() == dask.results_csv.read_bytes()


def test_open_executor_engines_share_one_interface():
    import concurrent.futures as cf

    with open_executor() as h:
        futs = [h.executor.submit(pow, 2, k) for k in range(4)]
        assert sorted(f.result() for f in cf.as_completed(futs)) == [1, 2, 4, 8] and h.kind == "serial"


# ---------------------------------------------------------------------------------------------
# SIGKILL part-way, then resume


def _cli(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tests.apps.tiny_sweep", "--out", str(out), "--quiet", "--no-figures", *extra]


@pytest.mark.parametrize("engine", [pytest.param((), id="serial"), pytest.param(("--workers", "2"), id="processes", marks=pytest.mark.slow)])
def test_sigkill_then_rerun_is_byte_identical_and_computes_only_missing(tmp_path, engine):
    ref = tmp_path / "ref"
    assert tiny.main(["--out", str(ref), "--quiet", "--no-figures"]) == 0
    out = tmp_path / "killed"
    env = {**os.environ, "TINY_SWEEP_SLEEP": "0.15"}
    args = _cli(out, *engine) + (["--cells-per-task", "1"] if engine else [])
    proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cells = out / "cells"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if cells.is_dir() and len(list(cells.glob("*.json"))) >= 4:
                break
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and any worker processes it started
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "results.csv").exists()
    n_before = len(list(cells.glob("*.json")))
    assert 4 <= n_before < 18
    (cells / f".stale.json.x{sio.TEMP_SUFFIX}").write_text("{")  # what a kill mid-write leaves

    assert tiny.main(["--out", str(out), "--quiet", "--no-figures"]) == 0
    assert (out / "results.csv").read_bytes() == (ref / "results.csv").read_bytes()
    assert _manifest(out)["cells"] == {"total": 18, "computed": 18 - n_before, "cached": n_before}
    assert _temps(out) == []


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies excluded); Linux /proc."""
    alive = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(d.name))
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to list processes")
@pytest.mark.parametrize(
    "engine",
    [
        pytest.param(("--workers", "2"), id="processes"),
        pytest.param(("--scheduler", "local", "--workers", "2"), id="dask",
                     marks=[pytest.mark.slow, needs_dask]),
    ],
)
def test_ctrl_c_exits_130_with_one_line_and_no_workers_left(tmp_path, engine):
    out = tmp_path / "run"
    env = {**os.environ, "TINY_SWEEP_SLEEP": "0.4"}
    proc = subprocess.Popen(
        _cli(out, *engine, "--cells-per-task", "1"), cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores it
    )
    cells = out / "cells"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if cells.is_dir() and len(list(cells.glob("*.json"))) >= 2:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and "interrupted" in err and f"rerun with --out {out}" in err, err
    deadline = time.monotonic() + 15
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive_in_group(proc.pid) == []
    assert 2 <= len(list(cells.glob("*.json"))) < 18 and _temps(out) == []


def _children(pid: int) -> dict[int, str]:
    """Running children of ``pid`` with their command lines (zombies excluded); Linux /proc."""
    out = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out[int(d.name)] = cmd
    return out


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to list processes")
def test_workers_and_resource_tracker_exit_when_the_parent_is_killed(tmp_path):
    """kill -9 of a --workers 2 run: its workers (busy with long cells) and multiprocessing's resource
    tracker must not outlive it (audit: both stayed > 60 s at ~50% CPU each)."""
    env = {**os.environ, "TINY_SWEEP_SLEEP": "60"}  # every cell outlasts the test by far
    proc = subprocess.Popen(_cli(tmp_path / "run", "--workers", "2"), cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        kids: dict[int, str] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            kids = _children(proc.pid)
            workers = [p for p, cmd in kids.items() if "spawn_main" in cmd]
            if len(workers) == 2 and any("resource_tracker" in cmd for cmd in kids.values()):
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(kids) >= 3, kids
        time.sleep(1.0)  # the workers are inside their first cell now
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as `kill -9 <pid>` does
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p) for p in kids):
            time.sleep(0.1)
        left = {p: kids[p] for p in kids if _running(p)}
        assert left == {}, f"still running 10 s after the parent was killed: {left}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of this test's own process group
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------------------------------------
# workers="auto"


def test_auto_workers_rule():
    from sims.sweep.executors import AUTO_MAX_WORKERS, AUTO_MIN_WORK, auto_workers

    big = 10 * AUTO_MIN_WORK
    assert auto_workers(10, None, cpus=8) is None  # no estimate: serial
    assert auto_workers(10, AUTO_MIN_WORK / 2, cpus=8) is None  # too little work to repay start-up
    assert auto_workers(10, AUTO_MIN_WORK, cpus=2) == 2
    assert auto_workers(10, big, cpus=64) == AUTO_MAX_WORKERS
    assert auto_workers(3, big, cpus=64) == 3  # at most one per missing cell
    assert auto_workers(1, big, cpus=64) is None
    assert auto_workers(10, big, cpus=1) is None
    # half of the memory holds 2 workers of 5 GB in 24 GB, none of 13 GB
    assert auto_workers(10, big, 5e9, cpus=8, memory=24e9) == 2
    assert auto_workers(10, big, 13e9, cpus=8, memory=24e9) is None
    assert auto_workers(10, float("nan"), cpus=8) is None


@dataclass(frozen=True)
class _BigTiny(TinyConfig):
    """TinyConfig whose work estimate asks for processes under workers='auto'."""

    def work_estimate(self, cells):
        return 1e12 * len(cells)


def test_workers_auto_chooses_by_estimate_and_gives_the_serial_results(tmp_path, monkeypatch):
    from sims.sweep import executors

    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    serial = run_sweep(TinyConfig(), cell_fn, out_dir=tmp_path / "s", quiet=True, workers="serial")
    small = run_sweep(TinyConfig(), cell_fn, out_dir=tmp_path / "a", quiet=True, workers="auto")
    assert serial.executor["kind"] == "serial" and "auto" not in serial.executor
    assert small.executor["kind"] == "serial" and small.executor["auto"] is True  # no estimate: serial
    big = run_sweep(_BigTiny(), cell_fn, out_dir=tmp_path / "b", quiet=True, workers="auto")
    assert big.executor["kind"] == "processes" and big.executor["workers"] == 2 and big.executor["auto"] is True
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["executor"]["workers"] == 2
    assert serial.results_csv.read_bytes() == small.results_csv.read_bytes() == big.results_csv.read_bytes()
    # a cell function that cannot be pickled runs serially under auto (an explicit worker count refuses it)
    local = lambda cell, seed: cell_fn(cell, seed)  # noqa: E731
    lam = run_sweep(_BigTiny(), local, out_dir=tmp_path / "l", quiet=True, workers="auto")
    assert lam.executor["kind"] == "serial"
    with pytest.raises(TypeError, match="cannot be sent to worker processes"):
        run_sweep(_BigTiny(), local, out_dir=tmp_path / "l2", quiet=True, workers=2)


def _figs_seen(rows, out_dir, config, executor=None):
    """figures_fn that records whether it got the run's pool (and uses it)."""
    name = "pool" if executor is not None else "none"
    if executor is not None:
        assert executor.submit(os.getpid).result() != os.getpid()  # a worker process, still up
    path = Path(out_dir) / f"seen_{name}.txt"
    path.write_text(str(len(rows)))
    return [path]


def test_figures_fn_with_an_executor_keyword_draws_in_the_pool(tmp_path):
    serial = run_sweep(TinyConfig.quick(), cell_fn, out_dir=tmp_path / "s", quiet=True, figures_fn=_figs_seen)
    procs = run_sweep(TinyConfig.quick(), cell_fn, out_dir=tmp_path / "p", quiet=True, workers=2,
                      figures_fn=_figs_seen)
    assert [p.name for p in serial.figures] == ["seen_none.txt"]
    assert [p.name for p in procs.figures] == ["seen_pool.txt"]
    # a fully cached rerun starts no pool: figures in this process
    again = run_sweep(TinyConfig.quick(), cell_fn, out_dir=tmp_path / "p", quiet=True, workers=2,
                      figures_fn=_figs_seen)
    assert [p.name for p in again.figures] == ["seen_none.txt"]
