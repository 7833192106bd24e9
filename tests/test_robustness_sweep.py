"""End-to-end tests of ``python -m sims.robustness_sweep``: --quick outputs (tidy results.csv read by
pandas, derived tables, figures, verdict), aggregation / boundary helpers on known inputs, bad input
(one line on stderr, exit 2, nothing written) and --help listing every flag."""
from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from sims.robustness import phase
import sims.robustness_sweep as RS

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sims.robustness_sweep", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rob") / "quick"
    res = run_cli("--quick", "--out", str(out))  # not --quiet: the verdict paragraph goes to stdout
    assert res.returncode == 0, res.stderr
    return out, res


def test_quick_outputs(quick_run):
    pd = pytest.importorskip("pandas")
    out, res = quick_run
    df = pd.read_csv(out / "results.csv")
    cfg = RS.RobustnessConfig.quick()
    for col in ("sparsity", "m", "cell_seed", "record", "rep", "comparator", "role", "scenario", "kind", "at",
                "level", "n_train", "acc", "n_represented", "frac_represented", "superposition_ratio",
                "features_per_dimension", "dimensionality", "coherence", "neuron_pr", "train_sparsity", "code_loss"):
        assert col in df.columns, col
    acc = df[df.record == "accuracy"]
    assert set(acc.comparator) == set(cfg.comparators)
    assert set(acc.scenario) == {"label_noise", "input_noise", "few_shot", "ood"}
    assert acc.rep.nunique() == cfg.reps >= 5
    assert acc.acc.between(0, 1).all()
    assert (df[df.record == "theory"].comparator.isin(["dense", "superposed"])).all()
    # every robustness number carries the code's monosemanticity
    assert acc[["n_represented", "superposition_ratio", "dimensionality"]].notna().all().all()
    dense = acc[acc.comparator == "dense"]
    assert (dense.superposition_ratio <= 1.1).all()
    assert (acc[acc.comparator == "superposed"].groupby("sparsity").superposition_ratio.mean() > 1.3).all()
    for name in ("summary.csv", "differences.csv", "boundaries.csv"):
        assert len(pd.read_csv(out / name)) > 0
    for stem in ("fig5", "few_shot", "ood", "phase"):
        for ext in ("png", "pdf"):
            assert (out / f"robustness_sweep_{stem}.{ext}").stat().st_size > 1000
    v = json.loads((out / "verdict.json").read_text())
    assert v["available"] and {"clean", "label_noise", "input_noise", "gap_summary"} <= set(v)
    man = json.loads((out / "manifest.json").read_text())
    assert man["config_class"] == "sims.robustness.config.RobustnessConfig" and man["rows"] == len(df)
    assert "Fig. 5 pattern" in res.stdout


def test_summary_intervals_contain_the_replicate_means(quick_run):
    pd = pytest.importorskip("pandas")
    out, _ = quick_run
    s = pd.read_csv(out / "summary.csv")
    assert (s.acc_lo <= s.acc_mean + 1e-12).all() and (s.acc_mean <= s.acc_hi + 1e-12).all()
    assert (s.n_reps == 5).all()


def test_rerun_reads_the_cache_and_rewrites_identical_results(quick_run):
    out, _ = quick_run
    before = (out / "results.csv").read_bytes()
    res = run_cli("--quick", "--quiet", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""  # --quiet: nothing but errors
    assert (out / "results.csv").read_bytes() == before


# ---------------------------------------------------------------- helpers on known inputs
def _rows(diffs_by_level, comparator_acc=0.5, sweep="level"):
    rows = []
    for rep in range(4):
        for lv, d in diffs_by_level.items():
            for comp, a in (("dense", comparator_acc + d + 0.001 * rep), ("superposed", comparator_acc)):
                rows.append({"sparsity": 0.9, "m": 20, "record": "accuracy", "rep": rep, "comparator": comp,
                             "scenario": "label_noise", "kind": "symmetric", "at": "", "level": lv,
                             "n_train": 1000, "acc": a, "n_represented": 20, "superposition_ratio": 1.0})
    return rows


def test_t_interval_known_answer():
    mean, half, n = phase.t_interval([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3) and half == pytest.approx(4.302652729749464 * 1.0 / math.sqrt(3))
    assert math.isnan(phase.t_interval([1.0])[1])


def test_paired_differences_and_boundary_on_a_known_crossing():
    rows = _rows({0.0: -0.1, 0.5: -0.02, 0.9: 0.06})
    d = phase.paired_differences(rows)
    assert [x["winner"] for x in sorted(d, key=lambda x: x["level"])] == ["poly", "poly", "mono"]
    b = [x for x in phase.boundaries(rows) if x["sweep"] == "eta"]
    assert len(b) == 1
    expect = 0.5 + 0.4 * (0.02 - 0.0015) / (0.08)  # linear interpolation of the mean differences
    assert b[0]["emp"] == pytest.approx(expect, rel=1e-6) and b[0]["emp_dir"] == 1 and b[0]["emp_p"] == 1.0
    assert b[0]["agree"] == "no theory"


# ---------------------------------------------------------------- bad input and help
@pytest.mark.parametrize("args,match", [
    (["--sparsity", "1.5"], "sparsity contains 1.5, must be in [0, 1)"),
    (["--m", "50"], "m contains 50, must be in [1, 40]"),
    (["--comparators", "poly"], "comparators contains 'poly'"),
    (["--label-noise", "0,1.2"], "label_noise contains 1.2"),
    (["--ood", "density=9"], "ood contains 'density=9', invalid at sparsity"),
    (["--ood", "blur=2"], "shift kind == 'blur'"),
    (["--few-shot", "500"], "few_shot contains 500, needs max(n_train) >="),
    (["--fig-sparsity", "0.5"], "fig_sparsity == 0.5, must be one of the sparsity values"),
    (["--reps", "1"], "reps == 1, must be in [2, 100]"),
    (["--noise-at", "never"], "noise_at contains 'never'"),
    (["--n-train", "abc"], "argument --n-train"),
    (["--theory", "maybe"], "argument --theory"),
    (["--theory-pop", "10000000"], "--theory-pop == 10000000 needs about"),
    (["--n-test", "1000000", "--memory-budget", "0.5"], "over --memory-budget == 0.5 GB; lower --n-test"),
    (["--memory-budget", "0"], "memory_budget == 0"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, match):
    out = tmp_path / "never"
    res = run_cli("--quick", "--out", str(out), *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], res.stderr
    assert not out.exists()


def test_help_lists_every_flag():
    res = run_cli("--help")
    assert res.returncode == 0
    fields = [f.name for f in dataclasses.fields(RS.RobustnessConfig) if f.name != "seed"]
    for name in fields:
        assert "--" + name.replace("_", "-") in res.stdout, name
    for flag in ("--quick", "--out", "--seed", "--workers", "--force", "--quiet"):
        assert flag in res.stdout
    parser = RS.build_parser()
    for action in parser._actions:
        for opt in action.option_strings:
            assert opt in res.stdout
        assert action.help, action.option_strings


def test_config_round_trip_and_quick_grid():
    q = RS.RobustnessConfig.quick()
    assert RS.RobustnessConfig.from_dict(json.loads(json.dumps(q.to_dict()))) == q
    assert q.reps >= 5 and q.n_cells == 2
    with pytest.raises(ValueError, match=r"^theory_pop == 1000, must be >= 4 \* max\(n_train\)"):
        dataclasses.replace(q, theory_pop=1000)


def test_memory_need_bounds_the_measured_peak():
    """The up-front estimate of a cell's arrays is above what numpy allocates in it (tracemalloc)."""
    import tracemalloc

    from sims.robustness.cell import cell_fn
    from sims.robustness.config import memory_need

    cfg = dataclasses.replace(RS.RobustnessConfig.quick(), sparsity=(0.9,), m=(20,), fig_m=20, fig_sparsity=0.9,
                              reps=2, train_steps=50, n_test=3000, theory_pop=40000, n_train=(200, 1000, 8000),
                              noise_n_train=(1000,))
    cell = cfg.cells()[0]
    tracemalloc.start()
    try:
        cell_fn(cell, cfg.cell_seed(cell))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = sum(memory_need(cfg).values())
    assert peak <= est <= 4 * peak, (peak, est)

