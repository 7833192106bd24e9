"""sims.margin_sweep (the main job) and sims.margins.report: --quick end to end, bounds hold in the
output, reruns are cached and byte-identical, bad input is one line / exit 2 / nothing written, --help
lists every flag, captions come from the config, codes and the pooled Fisher estimate are right."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pypdf

import sims.margin_sweep as MS
from sims.margins import cell as margin_cell
from theory import margins as T
from theory import margins_claims as TC

FIGS = ("margins", "accuracy", "crossover")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("margin_sweep") / "run"
    assert MS.main(["--quick", "--out", str(out), "--quiet"]) == 0
    return out


def _text(pdf: Path, page: int = 0) -> str:
    return " ".join(pypdf.PdfReader(str(pdf)).pages[page].extract_text().split())


# ------------------------------------------------------------------------------------------ end to end
def test_quick_writes_every_output(quick_run):
    cfg = MS.MarginConfig.quick()
    df = pd.read_csv(quick_run / "results.csv")
    assert {"code", "ratio", "sparsity", "cell_seed", "record", "rep", "n_rep", "mu"} <= set(df.columns)
    assert set(df["record"]) == {"readout", "check", "theory"}
    assert set(df["code"]) == set(cfg.code)
    man = json.loads((quick_run / "manifest.json").read_text())
    assert man["config"] == cfg.to_dict() and man["cells"]["computed"] == cfg.n_cells
    for what in FIGS:
        png = quick_run / f"margin_sweep_{what}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(pypdf.PdfReader(str(quick_run / f"margin_sweep_{what}.pdf")).pages) == 1
        assert f"margin_sweep_{what}.png" in man["files"]["figures"]
    report = pypdf.PdfReader(str(quick_run / "margin_sweep_report.pdf"))
    assert len(report.pages) == 4
    assert "/CreationDate" not in (report.metadata or {})
    first = _text(quick_run / "margin_sweep_report.pdf")
    assert "Checks of the theory" in first and "Where mono overtakes" in first
    assert " ".join(cfg.caption().split()) in first


def test_quick_bounds_hold_and_identities(quick_run):
    df = pd.read_csv(quick_run / "results.csv")
    ch = df[df.record == "check"]
    bounds = ch[ch.kind.isin(["lower_bound", "upper_bound"])]
    assert len(bounds) and (bounds.holds == 1.0).all(), bounds[bounds.holds != 1.0]
    margins = ch[ch.check.isin(["margin_sample", "margin_worst"])]
    ok = margins.value.notna()
    assert (margins.empirical[ok] >= margins.value[ok] - 1e-12).all()  # quantiles of a per-sample bound
    assert set(margins.stat) == {"q01", "q05", "q50"}
    cfg = MS.MarginConfig.quick()
    ident = ch[(ch.check == "acc_theory") & (ch.kind == "identity")]
    se = np.sqrt(ident.value * (1 - ident.value) / cfg.n_test)
    assert len(ident) and (np.abs(ident.empirical - ident.value) <= 5 * se + 1e-12).all()
    rv = ch[ch.check == "readout_var"]
    assert (np.abs(rv.empirical - 1) <= 5 * math.sqrt(2 / cfg.n_test)).all()
    rd = df[df.record == "readout"]
    assert rd.acc.between(0, 1).all() and rd.covered.between(0, 1).all()
    # common random numbers: an orthonormal frame at ratio 1 is mono up to a rotation -> same matched filter
    mf = rd[(rd.readout == "matched_filter")].set_index(["code", "ratio", "rep", "level"]).sort_index()
    mono = mf.loc["mono", 1.0]
    frame = mf.loc["frame", 1.0]
    assert np.allclose(mono.acc, frame.acc) and np.allclose(mono.margin_q50, frame.margin_q50)
    th = df[df.record == "theory"]
    assert len(th) and th.sign_at_zero.isin([-1, 0, 1]).all()


def test_rerun_is_cached_and_byte_identical(quick_run, tmp_path):
    before = {p: (quick_run / p).read_bytes() for p in ("results.csv", "margin_sweep_report.pdf",
                                                       "margin_sweep_margins.pdf")}
    assert MS.main(["--quick", "--out", str(quick_run), "--quiet"]) == 0
    man = json.loads((quick_run / "manifest.json").read_text())
    assert man["cells"]["cached"] == man["cells"]["total"] and man["cells"]["computed"] == 0
    for p, data in before.items():
        assert (quick_run / p).read_bytes() == data, p


@pytest.mark.parametrize("args", [
    ["--m", "30"],  # m > n (quick: n = 24): mono cannot keep m of n features
    ["--sparsity", "1.0"],
    ["--sparsity", "0.5,1.2"],
    ["--input-noise", "-0.1"],
    ["--ratio="],  # empty grid axis
    ["--input-noise="],  # empty in-cell grid
    ["--code", "foo"],
    ["--code", "mono", "--ratio", "2"],  # no valid cell
    ["--ratio", "1.3"],
    ["--n-train", "1"],
])
def test_bad_input_one_line_exit_2_nothing_written(args, tmp_path, capsys):
    out = tmp_path / "out"
    assert MS.main(["--quick", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m sims.margin_sweep: error: "), err
    assert not out.exists()


def test_help_lists_every_flag(capsys):
    assert MS.main(["--help"]) == 0
    text = capsys.readouterr().out
    parser = MS.build_parser()
    flags = [s for a in parser._actions for s in a.option_strings]
    assert len(flags) > 20
    for flag in flags:
        assert flag in text, flag
    for f in dataclasses.fields(MS.MarginConfig):
        assert "--" + f.name.replace("_", "-") in text, f.name


def test_captions_from_config_and_workers_equal_serial(tmp_path):
    """A non-default config shows up in the figures' titles / captions; 2 worker processes give the same
    results.csv as the serial engine."""
    args = ["--quick", "--m", "6", "--n-features", "18", "--sparsity", "0.85", "--seed", "5",
            "--code", "mono,random", "--input-noise", "0,0.2", "--quiet"]
    assert MS.main([*args, "--out", str(tmp_path / "serial")]) == 0
    assert MS.main([*args, "--out", str(tmp_path / "workers"), "--workers", "2"]) == 0
    a = (tmp_path / "serial" / "results.csv").read_bytes()
    assert a == (tmp_path / "workers" / "results.csv").read_bytes()
    # with workers the figure files are drawn in the worker processes: the same bytes, the same manifest list
    drawn = sorted(p.name for p in (tmp_path / "serial").iterdir() if p.suffix in (".png", ".pdf"))
    assert len(drawn) == 7  # 3 figures x (PNG, PDF) + the report
    for name in drawn:
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "workers" / name).read_bytes(), name
    man = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("serial", "workers")]
    assert man[0]["files"]["figures"] == man[1]["files"]["figures"] and man[1]["executor"]["kind"] == "processes"
    cfg = MS.MarginConfig.from_dict(json.loads((tmp_path / "serial" / "manifest.json").read_text())["config"])
    txt = _text(tmp_path / "serial" / "margin_sweep_margins.pdf")
    assert "n = 18 features, m = 6 dimensions" in txt and "sparsity S = 0.85" in txt
    assert " ".join(cfg.caption().split()) in txt  # the caption is the config's own
    acc = _text(tmp_path / "serial" / "margin_sweep_accuracy.pdf")
    assert f"over {cfg.reps} replicates of {cfg.n_test} test samples" in acc


# ------------------------------------------------------------------------------------------ units
@pytest.mark.parametrize("code,n_rep", [("mono", 6), ("random", 12), ("antipodal", 9), ("antipodal", 12),
                                        ("frame", 18), ("trained", 12)])
def test_build_code(code, n_rep):
    n, m = 20, 6
    W = MS.build_code(code, n, m, n_rep, 3, frame_iter=50, sparsity=0.9, toy=(300, 128, 0.02))
    norms = np.linalg.norm(W, axis=0)
    if code == "trained":  # what the toy model represents: unit columns first, at most n_rep of them
        n_rep = MS.represented_count(W)
        assert 2 <= n_rep <= 12
    assert np.allclose(norms[:n_rep], 1.0) and np.all(norms[n_rep:] == 0)
    mu = T.coherence(W, n_rep)
    assert mu >= float(T.welch_bound(n_rep, m)) - 1e-12
    if code == "mono":
        assert np.array_equal(W[:, :m], np.eye(m))
    if code == "antipodal":
        assert np.all(np.abs(W).sum(axis=1) >= 1)  # every neuron used
        assert np.allclose(W[:, 0], -W[:, 1]) and mu == (1.0 if n_rep > m else 0.0)
        assert np.allclose(T.readout_noise_variance(W, 1.0)[: 2 * (n_rep - m)], 2.0)


def test_trained_code_end_to_end(tmp_path):
    out = tmp_path / "trained"
    assert MS.main(["--quick", "--code", "mono,trained", "--toy-steps", "300", "--out", str(out), "--quiet"]) == 0
    df = pd.read_csv(out / "results.csv")
    tr = df[(df.code == "trained") & (df.record == "readout")]
    assert len(tr) and (tr.n_rep <= tr.ratio * MS.MarginConfig.quick().m).all()
    ch = df[(df.record == "check") & df.kind.isin(["lower_bound", "upper_bound"])]
    assert (ch.holds == 1.0).all()


def test_amplitude_away_from_zero_end_to_end(tmp_path):
    """Amplitude U(lo, hi) with lo > 0: the closed forms are for U(0, hi), so their columns are NaN; the figures
    and the report are drawn without them (an all-NaN theory column once broke the Fisher panel)."""
    out = tmp_path / "amp"
    assert MS.main(["--quick", "--amplitude", "0.5,1", "--reps", "2", "--n-test", "200", "--code", "mono,random",
                    "--sparsity", "0.9", "--out", str(out), "--quiet"]) == 0
    df = pd.read_csv(out / "results.csv")
    rd = df[df.record == "readout"]
    assert rd["acc"].notna().all() and rd["fisher_exact"].isna().all()
    for name in FIGS:
        assert (out / f"margin_sweep_{name}.png").stat().st_size > 0


def test_invalid_cells_are_empty_and_codes_refused():
    cell = {**MS.MarginConfig.quick().cells()[0]}
    assert MS.cell_fn({**cell, "code": "mono", "ratio": 2.0}, 1) == []
    assert MS.cell_fn({**cell, "code": "antipodal", "ratio": 3.0, "n_features": 24}, 1) == []
    with pytest.raises(ValueError, match="code"):
        MS.build_code("antipodal", 30, 5, 11, 0)


def test_pooled_fisher_estimate_matches_exact():
    rng = np.random.default_rng(2)
    n, m, r, S = 16, 6, 12, 0.8
    W = MS.build_code("random", n, m, r, 4)
    G = W.T @ W
    x, y = TC._sample(n, S, 200000, rng)
    z = rng.standard_normal(x.shape)
    lams = np.array([0.0, 0.3])
    est = margin_cell._pooled_fisher(x @ G[:, :r], z @ G[:, :r], y, lams)
    exact = T.fisher_separation_code(G, r, S, lams)
    assert np.allclose(est, exact, rtol=0.03)


def test_workers_default_is_auto_serial_for_small_grids(tmp_path, monkeypatch):
    """The main job's --workers defaults to auto: the --quick grid (about 2e6 multiply-adds) stays serial, the
    default grid (about 4e8) and anything larger start one process per core; an explicit value wins."""
    from sims.sweep import executors

    assert MS.build_parser().parse_args([]).workers == "auto"
    assert MS.build_parser().parse_args(["--workers", "serial"]).workers == "serial"
    quick, default = MS.MarginConfig.quick(), MS.MarginConfig()
    assert quick.work_estimate(quick.cells()) < executors.AUTO_MIN_WORK <= default.work_estimate(default.cells())
    # empty cells (mono at ratio > 1, antipodal at ratio > 2) cost nothing; trained codes add their training
    both = MS.MarginConfig(code=("mono", "random"), ratio=(2.0,))
    rnd2 = dataclasses.replace(both, code=("random",))
    assert both.work_estimate(both.cells()) == rnd2.work_estimate(rnd2.cells()) > 0
    tr = MS.MarginConfig(code=("trained",), ratio=(1.0,), sparsity=(0.9,))
    rnd = dataclasses.replace(tr, code=("random",))
    assert tr.work_estimate(tr.cells()) > rnd.work_estimate(rnd.cells()) > 0
    assert MS.MarginConfig().worker_bytes() > 0
    assert MS.main(["--quick", "--quiet", "--out", str(tmp_path / "q")]) == 0
    eng = json.loads((tmp_path / "q" / "manifest.json").read_text())["executor"]
    assert eng["kind"] == "serial" and eng["auto"] is True
    with pytest.raises(SystemExit):
        MS.build_parser().parse_args(["--workers", "many"])
