"""Integrity of the sweep cache (``cells/<key>.json``): every cached cell is checked (key, seed, schema,
checksum of its rows) before it is used. A file that fails is named and recomputed, or refused with
``--strict``; results.csv is never assembled from it."""
from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sims.sweep.runner import run_sweep  # noqa: E402
from tests.apps import tiny_sweep as tiny  # noqa: E402
from tests.apps.tiny_sweep import TinyConfig, cell_fn  # noqa: E402

SMALL = dict(size=(3, 5), noise=(0.0, 0.2), code=("mono", "poly"), n_samples=40, reps=2)


@pytest.fixture
def run(tmp_path):
    """A finished run of 8 cells; returns (out folder, results.csv bytes, the cell files in order)."""
    out = tmp_path / "run"
    res = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    return out, res.results_csv.read_bytes(), sorted((out / "cells").glob("*.json"))


def _edit(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _one_digit(data):
    """Change one digit of a float (what a hand edit or bit rot does)."""
    old = data["rows"][0]["mean"]
    text = repr(old)
    i = [k for k, ch in enumerate(text) if ch.isdigit()][4]  # the 5th digit (the 17th may not change the double)
    data["rows"][0]["mean"] = float(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:])
    assert data["rows"][0]["mean"] != old


EDITS = {
    "one_digit": _one_digit,
    "acc_value": lambda d: d["rows"][1].update(positive=d["rows"][1]["positive"] + 1),
    "extra_column": lambda d: [r.update(extra=1.0) for r in d["rows"]],
    "rows_emptied": lambda d: d.update(rows=[]),
    "row_dropped": lambda d: d["rows"].pop(),
    "rows_wrong_structure": lambda d: d.update(rows=[[1, 2, 3], [4, 5, 6]]),
    "row_values_nested": lambda d: d["rows"][0].update(mean=[1.0, 2.0]),
    "row_has_axis_column": lambda d: d["rows"][0].update(size=99),
    "no_checksum": lambda d: d.pop("checksum"),
    "checksum_edited": lambda d: d.update(checksum="0" * 32),
    "seed_edited": lambda d: d.update(seed=d["seed"] + 1),
    "schema_and_rows_edited_together": lambda d: (d["rows"].pop(), d["schema"].update(n_rows=len(d["rows"]))),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_cell_is_named_and_recomputed_never_assembled(run, edit, capsys):
    out, ref, files = run
    _edit(files[2], EDITS[edit])
    res = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out)
    err = capsys.readouterr().err
    assert res.results_csv.read_bytes() == ref  # the edited value / shape never reaches results.csv
    assert (res.n_computed, res.n_cached) == (1, 7)
    assert res.invalid_cells == [f"cells/{files[2].name}"]
    assert str(files[2]) in err and "recomputing the cell" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["file"] for c in manifest["invalid_cells"]] == [f"cells/{files[2].name}"]
    # the recomputed file is valid again: the next rerun uses every cell as it is
    again = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True)
    assert (again.n_computed, again.n_cached, again.invalid_cells) == (0, 8, [])


def test_the_summary_line_does_not_count_a_failed_cell_as_cached(run, capsys):
    out, ref, files = run
    _edit(files[0], EDITS["rows_emptied"])
    rc = tiny.main(["--size", "3,5", "--noise", "0,0.2", "--n-samples", "40", "--out", str(out), "--no-figures"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "1 computed, 1 of them recomputed because their cache file failed validation, 7 cached" in err
    assert (out / "results.csv").read_bytes() == ref


@pytest.mark.parametrize("edit", ["one_digit", "rows_emptied", "rows_wrong_structure"])
def test_strict_refuses_with_one_line_naming_the_file_and_writes_nothing(run, edit):
    out, ref, files = run
    _edit(files[3], EDITS[edit])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = tiny.main(["--size", "3,5", "--noise", "0,0.2", "--n-samples", "40", "--out", str(out),
                        "--no-figures", "--strict", "--quiet"])
    text = err.getvalue()
    assert rc == 2 and text.count("\n") == 1 and text.startswith("tiny_sweep: error: --strict: ")
    assert str(files[3]) in text
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_strict_accepts_an_intact_cache(run):
    out, ref, _ = run
    res = run_sweep(TinyConfig(**SMALL), cell_fn, out_dir=out, quiet=True, strict=True)
    assert (res.n_computed, res.n_cached) == (0, 8) and res.results_csv.read_bytes() == ref


def test_a_cell_file_records_its_schema_and_checksum(run):
    _, _, files = run
    data = json.loads(files[0].read_text())
    assert data["schema"] == {
        "n_rows": 2,
        "columns": [["rep", ["int"]], ["mean", ["float"]], ["std", ["float"]], ["positive", ["int"]], ["ok", ["bool"]]],
    }
    assert isinstance(data["checksum"], str) and len(data["checksum"]) == 32
