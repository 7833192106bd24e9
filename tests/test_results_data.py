"""Run folders as data: load_run reads every CSV of every CLI into a typed DataFrame whose values are the
CSV's, every column is documented (docs/RESULTS.md, generated from the schemas, is current), and record
filters keep the columns of their record type."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from sims.sweep import results as R  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One small run of every sweep CLI (in process)."""
    tmp = tmp_path_factory.mktemp("runs")
    from sims.margins.cli import main as margin_main
    from sims.robustness.cli import main as robustness_main

    assert margin_main(["--quick", "--out", str(tmp / "margin"), "--quiet"]) == 0
    assert robustness_main(["--quick", "--out", str(tmp / "robustness"), "--quiet", "--sparsity", "0.9", "--reps", "2",
                            "--n-train", "200,1000", "--label-noise", "0,0.5", "--input-noise", "0,0.3",
                            "--noise-n-train", "1000", "--few-shot", "1,0", "--ood", "density=2", "--train-steps", "200",
                            "--n-test", "512", "--theory-pop", "4000", "--theory-test", "200"]) == 0
    out = {"margin": tmp / "margin", "robustness": tmp / "robustness"}
    if pytest.importorskip("torch"):
        from realdata.run import main as real_main

        g = np.random.default_rng(0)
        y = np.arange(60) % 3
        np.savez(tmp / "f.npz", H=g.normal(size=(60, 5)) + np.eye(3, 5)[y] * 3, y=y)
        assert real_main(["--features", str(tmp / "f.npz"), "--out", str(tmp / "real"), "--quiet", "--replicate", "0,1",
                          "--epochs", "1", "--sae-epochs", "2", "--hidden", "8", "--feature-dim", "4", "--sae-k", "2",
                          "--few-shot", "2,0"]) == 0
        out["real"] = tmp / "real"
    return out


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _same(raw: str, typed) -> bool:
    if raw == "":
        return typed == "" or typed is pd.NA or (isinstance(typed, float) and math.isnan(typed))
    if isinstance(typed, str):
        return typed == raw
    if isinstance(typed, (bool, np.bool_)):
        return str(bool(typed)) == raw
    f = float(raw)
    return (math.isnan(f) and math.isnan(float(typed))) or float(typed) == f


def test_every_csv_of_every_cli_round_trips(runs):
    n_tables = 0
    for name, folder in runs.items():
        for path in sorted(folder.glob("*.csv")):
            df = R.load_run(folder, table=path.name)
            raw = _csv(path)
            assert list(df.columns) == list(raw[0]) and len(df) == len(raw), path
            for i, row in enumerate(raw):
                for col, val in row.items():
                    assert _same(val, df.at[i, col]), (path.name, i, col, val, df.at[i, col])
            assert set(df.attrs["columns"]) == set(df.columns) and df.attrs["config"]
            n_tables += 1
    assert n_tables >= 6


def test_types_and_record_filters(runs):
    df = R.load_run(runs["margin"], record="readout")
    assert set(df["record"]) == {"readout"} and "check" not in df.columns and "acc" in df.columns
    assert str(df["rep"].dtype) == "Int64" and df["acc"].dtype == float and df["code"].dtype == object or \
        str(df["code"].dtype).startswith("str")
    chk = R.load_run(runs["margin"], record="check")
    assert "tightness" in chk.columns and "acc" not in chk.columns
    with pytest.raises(ValueError, match=r"record == 'bogus', must be one of readout, check, theory"):
        R.load_run(runs["margin"], record="bogus")
    with pytest.raises(ValueError, match=r"table == 'x.csv' is not written by python -m sims.margin_sweep"):
        R.load_run(runs["margin"], table="x.csv")
    with pytest.raises(ValueError, match=r"is not a run folder \(no manifest.json\)"):
        R.load_run(runs["margin"] / "cells")


def test_run_result_to_pandas(tmp_path):
    from sims.margins.cell import cell_fn
    from sims.margins.config import MarginConfig
    from sims.sweep.runner import run_sweep

    res = run_sweep(MarginConfig.quick(), cell_fn, out_dir=tmp_path / "r", quiet=True)
    df = res.to_pandas("theory")
    assert len(df) == sum(1 for r in res.rows if r.get("record") == "theory") and "lam_star" in df.columns


def test_undocumented_column_is_an_error(runs, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(runs["margin"], folder)
    text = (folder / "results.csv").read_text().splitlines()
    text = [text[0] + ",surprise"] + [line + ",1" for line in text[1:]]
    (folder / "results.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(ValueError, match=r"column 'surprise' of results.csv is not documented"):
        R.load_run(folder)


def test_results_md_is_current():
    assert (ROOT / "docs/RESULTS.md").read_text(encoding="utf-8") == R.markdown(), \
        "docs/RESULTS.md is stale: run python -m sims.sweep.results --markdown > docs/RESULTS.md"
