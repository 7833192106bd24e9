"""Real-data bridge (part B): scenarios, aggregation / theory check, and the ``python -m realdata.run`` CLI.

The ``--quick`` run is a subprocess (as CI runs it); the .npz plug-in runs in-process on a tiny
synthetic dataset with one-epoch MLP encoders.
"""
from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from realdata import summary  # noqa: E402
from realdata.run import DEFAULT_REPRESENTATIONS, RealDataConfig, main  # noqa: E402
from realdata.scenarios import fit_readout  # noqa: E402
from sims.sweep.io import read_csv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- scenario pieces
def test_readout_is_invariant_to_global_scale_and_shift(host_rng):
    H = host_rng.normal(size=(200, 6)) + np.repeat(np.eye(4, 6) * 3, 50, axis=0)
    y = np.repeat(np.arange(4), 50)
    a = fit_readout(H, y, 4, ridge=0.1).predict(H)
    b = fit_readout(7.5 * H + 3.0, y, 4, ridge=0.1).predict(7.5 * H + 3.0)
    np.testing.assert_array_equal(a, b)
    assert np.mean(a == y) > 0.9
    with pytest.raises(ValueError, match=r"ridge == -1, must be in \[0, inf\)"):
        fit_readout(H, y, 4, ridge=-1.0)


# --------------------------------------------------------------------------- aggregation
def test_mean_ci_known_answer():
    s = summary.mean_ci([1.0, 2.0, 3.0])
    assert s["n"] == 3 and s["mean"] == 2.0 and s["sd"] == 1.0
    assert s["ci"] == pytest.approx(4.302652729911275 / math.sqrt(3))
    assert math.isnan(summary.mean_ci([5.0])["ci"])


def _rows(acc: dict[str, list[float]], scen="rotation", level=30.0, geo=None):
    rows = []
    for rep, vals in acc.items():
        for i, v in enumerate(vals):
            rows.append({"replicate": i, "representation": rep, "scenario": scen, "level": level, "metric": "accuracy", "value": v})
            rows.append({"replicate": i, "representation": rep, "scenario": scen, "level": 0.0, "metric": "accuracy", "value": 0.99})
            rows.append({"replicate": i, "representation": rep, "scenario": "label_noise", "level": 0.0, "metric": "accuracy", "value": 0.99})
            for metric, value in (geo or {}).get(rep, {}).items():
                sc = "monosemanticity" if metric == "semantic_consistency" else "geometry"
                rows.append({"replicate": i, "representation": rep, "scenario": sc, "level": 0.0, "metric": metric, "value": value})
    return rows


def test_paired_differences_and_theory_check_on_constructed_rows():
    # NCL beats CL by exactly 0.1 in every replicate (zero variance of the paired difference is not
    # informative, so add a little replicate-specific spread); SAE is level with CL (+0.002 on average)
    acc = {"cl": [0.50, 0.60, 0.55, 0.40, 0.45],
           "ncl": [0.61, 0.69, 0.66, 0.49, 0.55],
           "sae": [0.52, 0.58, 0.57, 0.38, 0.46]}
    geo = {"cl": {"fisher_ratio": 3.0, "separation_min": 1.0, "coherence": 0.5, "semantic_consistency": 0.5},
           "ncl": {"fisher_ratio": 2.0, "separation_min": 2.0, "coherence": 0.3, "semantic_consistency": 0.8},
           "sae": {"fisher_ratio": 1.0, "separation_min": 1.5, "coherence": 0.4, "semantic_consistency": 0.7}}
    rows = _rows(acc, geo=geo)
    diffs = {(d["scenario"], d["representation"], d["quantity"]): d for d in summary.paired_differences(rows)}
    ncl = diffs[("rotation", "ncl", "robustness")]
    assert ncl["mean"] == pytest.approx(0.1) and ncl["verdict"] == "better"
    assert diffs[("rotation", "sae", "robustness")]["verdict"] == "no significant difference"
    assert diffs[("clean", "ncl", "clean_accuracy")]["mean"] == pytest.approx(0.0)
    check = {c["scenario"]: c for c in summary.theory_check(rows)}["rotation"]
    assert check["observed"] == "ncl > sae > cl"
    assert check["resolved"] is False  # sae vs cl is not significant
    assert check["pred_monosemanticity"] == "ncl > sae > cl" and check["match_monosemanticity"] is True
    assert check["pred_fisher_J"] == "cl > ncl > sae" and check["match_fisher_J"] is False
    assert check["pred_coherence"] == "ncl > sae > cl" and check["match_coherence"] is True
    report = summary.markdown_report(rows)
    assert "| rotation | 30 |" in report and "NCL − CL" in report


# --------------------------------------------------------------------------- CLI
def _run(*args, timeout=300):
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "realdata.run", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return p, time.perf_counter() - t0


def test_cli_help():
    p, _ = _run("--help")
    assert p.returncode == 0
    for flag in ("--quick", "--replicate", "--label-noise", "--few-shot", "--data", "--out"):
        assert flag in p.stdout


@pytest.mark.slow
def test_cli_quick_end_to_end(tmp_path):
    out = tmp_path / "q"
    p, seconds = _run("--quick", "--out", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    print(f"realdata.run --quick took {seconds:.1f} s (budget 60 s)")
    for name in ("results.csv", "summary.csv", "differences.csv", "theory_check.csv", "report.md",
                 "manifest.json", "realdata_accuracy.png", "realdata_accuracy.pdf"):
        assert (out / name).is_file(), name
    rows = read_csv(out / "results.csv")
    cfg = RealDataConfig.quick()
    assert {r["replicate"] for r in rows} == {"0", "1"}
    assert {r["representation"] for r in rows} == set(DEFAULT_REPRESENTATIONS)  # raw and supervised baselines too
    scen = {r["scenario"] for r in rows}
    assert scen >= {"label_noise", "gaussian_noise", "uniform_noise", "few_shot", "rotation", "inversion",
                    "blur", "translation", "monosemanticity", "geometry", "training"}
    acc = [float(r["value"]) for r in rows if r["metric"] == "accuracy"]
    assert all(0.0 <= a <= 1.0 for a in acc)
    clean = [float(r["value"]) for r in rows
             if r["scenario"] == "label_noise" and float(r["level"]) == 0 and r["metric"] == "accuracy"]
    assert min(clean) > 0.5  # even 4-epoch encoders are far above chance (0.1) on clean digits
    n_levels = len(cfg.label_noise)
    n_reps = len(DEFAULT_REPRESENTATIONS)
    assert sum(1 for r in rows if r["scenario"] == "label_noise" and r["metric"] == "accuracy") == 2 * n_reps * n_levels
    assert "Theory check" in (out / "report.md").read_text(encoding="utf-8")
    assert "Theory check" in p.stdout or p.stdout == ""
    # a rerun into the same folder computes nothing and rewrites results.csv byte for byte
    before = (out / "results.csv").read_bytes()
    p2, _ = _run("--quick", "--out", str(out), "--quiet")
    assert p2.returncode == 0 and (out / "results.csv").read_bytes() == before


@pytest.mark.parametrize(
    "args, match",
    [
        (["--few-shot", "1,500"], "few_shot contains 500, must be <= "),
        (["--label-noise", "0,1.5"], "label_noise contains 1.5"),
        (["--representations", "cl,bogus"], "representations contains 'bogus'"),
        (["--data", "no/such/file.npz"], "data == 'no/such/file.npz', must be one of digits, signals"),
        (["--sae-k", "1000"], "sae_k contains 1000, must be <= sae_expansion * d == 256"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args, match, capsys, tmp_path):
    rc = main(["--quick", "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and match in err, err
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.parametrize(
    "X, y, extra, match",
    [
        (np.arange(320.0).reshape(20, 1, 4, 4), np.zeros(20, dtype=int), [], "y has 1 distinct class"),
        (np.full((20, 16), np.nan), np.repeat([0, 1], 10), [], "X contains 320 NaN or infinite values"),
        (np.arange(300.0).reshape(20, 15), np.repeat([0, 1], 10), ["--modality", "image"], "is flat: images need image_shape"),
        (np.arange(300.0).reshape(20, 15), np.repeat([0, 1], 10), ["--image-shape", "4,4"], "must have 15 pixels"),
    ],
)
def test_cli_bad_npz_data(X, y, extra, match, capsys, tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=X, y=y)
    rc = main(["--quick", "--data", str(path), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_another_dataset_plugs_in_through_npz(tmp_path, capsys):
    """A synthetic 3-class set of 6x6 bar images, flat rows, labels 5/6/9: no code changes needed."""
    r = np.random.default_rng(0)
    n = 60
    y = np.repeat([5, 6, 9], n)
    X = r.uniform(0, 0.2, size=(3 * n, 6, 6))
    X[y == 5, 2, :] += 0.8  # horizontal bar
    X[y == 6, :, 2] += 0.8  # vertical bar
    X[y == 9] += 0.8 * np.eye(6)  # diagonal
    path = tmp_path / "bars.npz"
    np.savez(path, X=X.reshape(3 * n, 36), y=y)
    out = tmp_path / "run"
    rc = main(["--data", str(path), "--image-shape", "6,6", "--out", str(out), "--quiet", "--replicate", "0,1",
               "--arch", "mlp", "--epochs", "2", "--sae-epochs", "5", "--feature-dim", "8", "--sae-k", "2",
               "--label-noise", "0,0.5", "--input-noise", "0,0.2", "--few-shot", "2,0",
               "--rotation", "0,90", "--inversion", "0,1", "--blur", "0,1", "--translation", "0,1"])
    assert rc == 0, capsys.readouterr().err
    rows = read_csv(out / "results.csv")
    acc = {(r["representation"], r["replicate"]): float(r["value"]) for r in rows
           if r["scenario"] == "label_noise" and float(r["level"]) == 0 and r["metric"] == "accuracy"}
    assert len(acc) == 2 * len(DEFAULT_REPRESENTATIONS) and min(acc.values()) > 0.9  # bars are trivially separable
    assert (out / "report.md").is_file()
