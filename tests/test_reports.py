"""Tests of the generated report (reports/): inputs, formulas, layout, the PDF end to end.

Fixture run folders are made by the real CLIs in-process (``sims.margin_sweep --quick`` and a tiny
``realdata.run``), once per module. The end-to-end build (marked slow, still run in CI) runs the claims'
numeric checks once (~20 s); everything else uses ``--skip-checks``. The PDF is read with pypdf: page
count, section titles, verdicts (equal to the registry), table numbers (equal to the CSVs they came
from); page 1 is rendered with pdftoppm when it is installed (skipped cleanly otherwise).
"""
from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from reports import build as B
from reports import inputs as I
from reports.formulas import formula, mathtext_width, to_mathtext
from reports.layout import Table, _table_lines, wrap

SECTION_TITLES = (  # fixed strings; reports.sections.TITLES must hold exactly these, in report order
    "Two-feature model (paper §4.3): exact theory", "Main sweep: margins and separation",
    "Toy models: Fig. 5 curves, few-shot, OOD and phase diagram",
    "Real data: raw and supervised baselines, CL, NCL and SAE with CIs", "Benchmarks", "Limitations",
    "Appendix A: every claim, its verdict and its numeric check", "Appendix B: key formulas",
    "Appendix C: provenance and package versions",
)
ROBUSTNESS_TINY = ["--quick", "--sparsity", "0.9", "--m", "10", "--reps", "2", "--n-train", "200,1000",
                   "--label-noise", "0,0.5", "--input-noise", "0,0.4", "--noise-n-train", "1000", "--few-shot", "1,0",
                   "--ood", "density=2", "--train-steps", "200", "--n-test", "512", "--theory-pop", "5000",
                   "--theory-test", "200", "--fig-sparsity", "0.9", "--fig-m", "10"]
REALDATA_TINY = ["--quick", "--arch", "mlp", "--epochs", "1", "--sae-epochs", "5", "--feature-dim", "16",
                 "--label-noise", "0,0.4", "--input-noise", "0,0.3", "--few-shot", "1,0"]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _close(cell: str, value: str | float) -> bool:
    """A table cell (4 significant digits) equals the CSV value within rounding."""
    v = float(value)
    if cell in ("nan", "-"):
        return not math.isfinite(v) if cell == "nan" else value in ("", None)
    c = float(cell)
    return math.isclose(c, v, rel_tol=6e-4, abs_tol=1e-12)


def _pdf_text(path: Path) -> tuple[int, str]:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def _flags(root: Path) -> list[str]:
    """The run folders of ``root`` named by their flags (the fixture's runs are not default configs, which
    the report never picks by itself)."""
    out = ["--runs", str(root)]
    for name in ("margin", "realdata", "robustness"):
        if (root / name).is_dir():
            out += [f"--{name}", str(root / name)]
    return out


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    """runs/ with one quick main-sweep run, one tiny real-data run and (when sims.robustness_sweep is part
    of the checkout) one tiny robustness run, made by the CLIs themselves."""
    from realdata.run import main as realdata_main
    from sims.margin_sweep import main as margin_main

    root = tmp_path_factory.mktemp("runs")
    assert margin_main(["--quick", "--out", str(root / "margin"), "--quiet"]) == 0
    assert realdata_main([*REALDATA_TINY, "--out", str(root / "realdata"), "--quiet"]) == 0
    if "robustness" in I.available_sources():
        from sims.robustness_sweep import main as robustness_main

        assert robustness_main([*ROBUSTNESS_TINY, "--out", str(root / "robustness"), "--quiet"]) == 0
    return root


#: claims whose numeric checks the end-to-end build runs for real (fast ones; the rest say "not run")
CHECKED = ("margins.welch", "margins.readout_noise", "tf.w_symmetry", "paper.clean_poly_better")


@pytest.fixture(scope="module")
def built(runs_dir, tmp_path_factory) -> dict:
    """One build from the fixture runs (the checks of CHECKED run in worker processes), and a second one
    for the bytes (its checks come from the cache)."""
    out = tmp_path_factory.mktemp("out")
    argv = [*_flags(runs_dir), "--out", str(out), "--no-run", "--quiet", "--only-checks", ",".join(CHECKED)]
    assert B.main(argv) == 0
    pdf = out / "report.pdf"
    first = pdf.read_bytes()
    pngs = {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert B.main(argv) == 0
    n_pages, text = _pdf_text(pdf)
    return {"out": out, "pdf": pdf, "first": first, "pngs": pngs, "pages": n_pages, "text": text}


def _copy_runs(runs_dir: Path, dest: Path) -> Path:
    shutil.copytree(runs_dir, dest, symlinks=False)
    return dest


def _fails(capsys, argv: list[str], out: Path, *needles: str) -> None:
    """The build exits 2 with one stderr line containing ``needles`` and writes no PDF."""
    rc = B.main([*argv, "--out", str(out), "--skip-checks", "--no-run", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("python -m reports.build: error: ")
    for n in needles:
        assert n in err, err
    assert not (out / "report.pdf").exists()


# ------------------------------------------------------------------------------------------ formulas
def test_every_registry_formula_renders():
    """Each expression of the registry becomes mathtext that matplotlib typesets, or verbatim text."""
    import matplotlib
    from matplotlib.figure import Figure

    from reports.checks import registry

    n_math = 0
    fig = Figure(figsize=(6, 1))
    for c in registry():
        for name, src in c.expressions:
            f = formula(name, src)
            assert f.text
            if f.is_math:
                n_math += 1
                assert f.text.startswith("$") and f.text.endswith("$")
                assert mathtext_width(f.text, 10) > 0
                fig.text(0, 0.5, f.text)
            else:
                assert f.text == src
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig.canvas.draw()  # raises if any mathtext fails to typeset
    assert n_math >= 20


def test_mathtext_converter_known_answers():
    assert to_mathtext("lam**2*w**2 + lam**2") == (r"$\lambda^{2} w^{2} + \lambda^{2}$", True)
    text, ok = to_mathtext("D**2*(1 - 2*eta)**2/(2*nv + s1 + s2)")
    assert ok and r"\eta" in text and r"\frac" in text and r"\sigma_\epsilon^2" in text
    assert to_mathtext("min(1, sum_j Phi(-d_j / sigma_j))") == ("min(1, sum_j Phi(-d_j / sigma_j))", False)
    assert to_mathtext("v'_poly = v'_mono - w (x2 + eps2)")[1] is False
    with pytest.raises(ValueError, match="source"):
        to_mathtext("  ")


# ------------------------------------------------------------------------------------------ layout
def test_wrap_keeps_the_text_and_table_rows_are_single_lines():
    text = "holds only when the input noise exceeds lam* (about 0.2 of the amplitude range for n = 64, m = 16)"
    lines = wrap(text, 2.0, 8.0)
    assert len(lines) > 1 and " ".join(lines) == text
    size, header, rows = _table_lines(Table("t", ["a", "bb"], [["x", "1.5"], ["yy", "nan"]]), 6.0)
    assert header.split() == ["a", "bb"] and [r[0].split() for r in rows] == [["x", "1.5"], ["yy", "nan"]]
    with pytest.raises(ValueError, match="cells"):
        _table_lines(Table("t", ["a"], [["x", "y"]]), 6.0)


# ------------------------------------------------------------------------------------------ inputs
def test_read_table_names_the_file(tmp_path):
    good = tmp_path / "t.csv"
    good.write_text("a,b\n1,2\n3,4\n")
    assert I.read_table(good, ("a",), 2)[1] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    cut = tmp_path / "cut.csv"
    cut.write_text("a,b\n1,2\n3")
    with pytest.raises(ValueError, match=r"cut\.csv.*truncated"):
        I.read_table(cut)
    short = tmp_path / "short.csv"
    short.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match=r"short\.csv: line 3 has 1 fields"):
        I.read_table(short)
    with pytest.raises(ValueError, match=r"t\.csv has 2 rows, expected 3|t\.csv: has 2 rows, expected 3"):
        I.read_table(good, (), 3)
    with pytest.raises(ValueError, match=r"t\.csv: has no column 'c'"):
        I.read_table(good, ("c",))
    with pytest.raises(ValueError, match=r"none\.csv: missing"):
        I.read_table(tmp_path / "none.csv")


def test_load_run_accepts_the_cli_output_and_knows_its_variant(runs_dir):
    run = I.load_run(I.SOURCES["margin"], runs_dir / "margin", "test")
    assert run.variant == "quick" and len(run.rows) == run.manifest["rows"] > 0
    real = I.load_run(I.SOURCES["realdata"], runs_dir / "realdata", "test")
    assert real.variant == "custom" and set(real.tables) == {"summary.csv", "differences.csv", "theory_check.csv"}


@pytest.mark.parametrize("edit, needle", [
    (lambda m: m.update(format_version=0), "format_version == 0"),
    (lambda m: m.update(config_version="0"), "config_version == '0'"),
    (lambda m: m["config"].update(bogus=1), "config does not match"),
    (lambda m: m.update(config_class="sims.other.Config"), "config_class"),
    (lambda m: m.update(rows=m["rows"] + 1), "results.csv: has"),
])
def test_a_run_of_another_version_is_refused_naming_the_file(runs_dir, tmp_path, edit, needle):
    folder = shutil.copytree(runs_dir / "margin", tmp_path / "m")
    man = json.loads((folder / "manifest.json").read_text())
    edit(man)
    (folder / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ValueError, match=re.escape(needle)) as exc:
        I.load_run(I.SOURCES["margin"], folder, "test")
    assert str(folder) in str(exc.value)


def test_find_latest_picks_the_newest_complete_run_of_the_default_config(runs_dir, tmp_path):
    """Only runs of a CLI's default config are picked by themselves (never a custom grid or a user's own
    data); among them the newest complete one; the others are counted as passed over."""
    from sims.margins.config import MarginConfig

    root = tmp_path / "runs"
    old = shutil.copytree(runs_dir / "margin", root / "a-old")
    new = shutil.copytree(runs_dir / "margin", root / "b-new")
    partial = shutil.copytree(runs_dir / "margin", root / "c-partial")
    quick = shutil.copytree(runs_dir / "margin", root / "d-quick")
    (partial / "results.csv").unlink()  # a run in progress: ignored
    for folder, stamp in ((old, "2000-01-01T00:00:00+00:00"), (new, "2001-01-01T00:00:00+00:00"),
                          (partial, "2099-01-01T00:00:00+00:00"), (quick, "2098-01-01T00:00:00+00:00")):
        man = json.loads((folder / "manifest.json").read_text())
        man["finished_utc"] = stamp
        if folder is not quick:
            man["config"] = MarginConfig().to_dict()
        (folder / "manifest.json").write_text(json.dumps(man))
    shutil.copytree(runs_dir / "realdata", root / "z-real")  # a custom config: passed over
    (root / "y-other").mkdir()
    (root / "y-other" / "results.csv").write_text("a\n1\n")
    (root / "y-other" / "manifest.json").write_text(json.dumps({"config_class": "some.other.Config"}))
    found = I.find_latest(root, I.SOURCES)
    assert found["margin"] == (new, 2) and "realdata" not in found
    (new / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match=re.escape(str(new / "manifest.json"))):
        I.find_latest(root, I.SOURCES)


def test_missing_source_gets_its_quick_run_once(tmp_path):
    src = {"margin": I.SOURCES["margin"]}
    out = tmp_path / "out"
    runs = I.resolve_runs(src, {}, tmp_path / "no-runs", out, quiet=True)
    assert runs["margin"].origin == "quick run made by this build" and runs["margin"].variant == "quick"
    assert runs["margin"].path == out / "runs" / "margin"
    again = I.resolve_runs(src, {}, tmp_path / "no-runs", out, quiet=True)
    assert again["margin"].origin == "quick run of an earlier build"
    with pytest.raises(ValueError, match="--no-run"):
        I.resolve_runs(src, {}, tmp_path / "no-runs", tmp_path / "other", allow_run=False)


# ------------------------------------------------------------------------------------------ CLI errors
def test_truncated_results_csv_is_one_line_error(runs_dir, tmp_path, capsys):
    root = _copy_runs(runs_dir, tmp_path / "runs")
    res = root / "margin" / "results.csv"
    data = res.read_bytes()
    res.write_bytes(data[: len(data) // 2])
    _fails(capsys, _flags(root), tmp_path / "out", str(res))


def test_missing_table_and_foreign_version_are_one_line_errors(runs_dir, tmp_path, capsys):
    root = _copy_runs(runs_dir, tmp_path / "runs")
    (root / "realdata" / "summary.csv").unlink()
    _fails(capsys, _flags(root), tmp_path / "out1", str(root / "realdata" / "summary.csv"), "missing")
    root2 = _copy_runs(runs_dir, tmp_path / "runs2")
    man = json.loads((root2 / "margin" / "manifest.json").read_text())
    man["format_version"] = 99
    (root2 / "margin" / "manifest.json").write_text(json.dumps(man))
    _fails(capsys, _flags(root2), tmp_path / "out2", str(root2 / "margin" / "manifest.json"),
           "another version")


def test_bad_flags_and_damaged_benchmark_are_one_line_errors(runs_dir, tmp_path, capsys):
    _fails(capsys, ["--runs", str(runs_dir), "--margin", str(tmp_path / "nope")], tmp_path / "o1", "--margin")
    _fails(capsys, ["--runs", str(tmp_path / "empty")], tmp_path / "o2", "no complete run")
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "p1_probes.json").write_text('{"benchmark": "p1_probes"')
    _fails(capsys, [*_flags(runs_dir), "--benchmarks", str(bench)], tmp_path / "o3", str(bench / "p1_probes.json"))
    _fails(capsys, [*_flags(runs_dir), "--seed", "-1"], tmp_path / "o4", "--seed")
    _fails(capsys, [*_flags(runs_dir), "--only-checks", "no.such.claim"], tmp_path / "o5", "no.such.claim")
    _fails(capsys, [*_flags(runs_dir), "--jobs", "0"], tmp_path / "o6", "--jobs")
    (tmp_path / "file").write_text("x")
    _fails(capsys, _flags(runs_dir), tmp_path / "file", "--out")


def test_missing_benchmark_is_not_measured_never_omitted(tmp_path, capsys):
    from reports.layout import Table
    from reports.sections import BENCHMARKS, benchmarks_section

    (tmp_path / "p2_toy_model.json").write_text(json.dumps({
        "benchmark": "p2_toy_model", "workload": "w", "ours_s": 2.0, "peer": "PyTorch", "peer_s": 5.0,
        "date_utc": "2000-01-02T03:04:05+00:00", "machine": {"cpu_model": "cpu", "cpu_count": 2}}))
    (table,) = [b for b in benchmarks_section(tmp_path) if isinstance(b, Table)]
    rows = {r[0]: r for r in table.rows}
    assert set(rows) == {short for short, _t, _c in BENCHMARKS.values()}
    assert rows["P1 probes"][1] == "not measured" and rows["main job"][1] == "not measured"
    assert rows["P2 toy model"][1:5] == ["2", "PyTorch", "5", "2.5x"] and rows["P2 toy model"][-1] == "2000-01-02"
    assert B.main(["--help"]) == 0 and "--runs" in capsys.readouterr().out


def test_checks_are_cached_and_rerun_when_damaged(tmp_path):
    from reports.checks import load_or_run_checks

    ids = ["margins.welch", "margins.readout_noise"]
    first = load_or_run_checks(tmp_path, ids, quiet=True)
    assert not first.reused and set(first.results) == set(ids)
    assert all(r["passed"] for r in first.results.values())
    second = load_or_run_checks(tmp_path, ids, quiet=True)
    assert second.reused and second.results == first.results
    first.path.write_text("{broken")
    notes: list[str] = []
    third = load_or_run_checks(tmp_path, ids, quiet=True, say=notes.append)
    assert not third.reused and notes and "damaged" in notes[0]
    assert [r["evidence"] for r in third.results.values()] == [r["evidence"] for r in first.results.values()]


# ------------------------------------------------------------------------------------------ the PDF
@pytest.mark.slow
def test_pdf_pages_sections_and_reproducible_bytes(built):
    from reports.sections import TITLES

    assert tuple(TITLES.values()) == SECTION_TITLES
    text = _norm(built["text"])
    for title in SECTION_TITLES:
        assert title in text, title
    m = re.search(r"page 1 of (\d+)", text)
    assert m and int(m.group(1)) == built["pages"] and 8 <= built["pages"] <= 60
    assert built["pdf"].read_bytes() == built["first"], "two builds from the same inputs differ"
    assert {p.name: p.read_bytes() for p in (built["out"] / "figures").glob("*.png")} == built["pngs"]
    assert len(built["pngs"]) >= 6
    import pypdf

    meta = pypdf.PdfReader(str(built["pdf"])).metadata
    assert "/CreationDate" not in meta and "/ModDate" not in meta


@pytest.mark.slow
def test_pdf_verdicts_equal_the_registry(built):
    from reports.checks import registry

    text = _norm(built["text"])
    cache = json.loads((built["out"] / "runs" / "theory" / "checks.json").read_text())
    assert sorted(cache["results"]) == sorted(CHECKED)
    claims = registry(tuple(m for s in I.available_sources().values() for m in s.claim_modules))
    for c in claims:
        assert f"Verdict: {_norm(c.verdict)}" in text, c.id
        if c.verdict != "holds":
            assert f"[{c.id}] {_norm(c.verdict)}" in text, c.id  # in the Limitations section
        appendix = text[text.rindex("Appendix A: every claim, its verdict and its numeric check"):]
        block = appendix[appendix.index(f"[{c.id}]"):]
        if c.id in CHECKED:
            r = cache["results"][c.id]
            said = "the numeric check reproduces the verdict" if r["passed"] else \
                "the numeric check does NOT reproduce the verdict"
            assert f"Check: {said} (seed 0" in block
            assert _norm(r["evidence"])[:60] in text
        else:
            assert "Check: not run for this report (not among --only-checks)" in block[:3000], c.id
    assert f"numeric checks of {len(CHECKED)} of the {len(claims)} claims" in text


@pytest.mark.slow
def test_pdf_table_numbers_equal_the_csvs(built, runs_dir):
    lines = built["text"].splitlines()
    real = runs_dir / "realdata"
    summary = _read_csv(real / "summary.csv")
    reps = list(dict.fromkeys(r["representation"] for r in summary if r["representation"] != "all"))
    # accuracy table: scenario, level, then mean ± ci per representation
    acc = {}
    for ln in lines:
        p = _cells(ln)
        if len(p) == 2 + len(reps) and all(re.fullmatch(r"[-0-9.e+]+( ± [-0-9.e+]+|)", c) for c in p[2:]):
            acc[(p[0], p[1])] = p[2:]
    n = 0
    for r in summary:
        if r["metric"] != "accuracy":
            continue
        cells = acc[(r["scenario"], f"{float(r['level']):.4g}")]
        mean, *ci = cells[reps.index(r["representation"])].split(" ± ")
        assert _close(mean, r["mean"]) and (not ci or _close(ci[0], r["ci"]))
        n += 1
    assert n > 10
    # paired differences
    diffs = [d for d in _read_csv(real / "differences.csv") if d["quantity"] in ("robustness", "clean_accuracy")]
    for d in diffs:
        key = [d["scenario"], d["quantity"], f"{d['representation'].upper()} - {d['baseline'].upper()}"]
        row = next(_cells(ln) for ln in lines if _cells(ln)[:3] == key)
        assert _close(row[3], d["mean"]) and row[5] == d["verdict"]
        lo, hi = row[4].strip("[]").split(", ")
        assert _close(lo, d["lo"]) and _close(hi, d["hi"])
    # main sweep: derived tables equal a recomputation from results.csv, and the PDF shows them
    from sims.margins.report import check_summary, crossovers
    from sims.margin_sweep import MarginConfig

    rows = [{k: (None if v == "" else (float(v) if re.fullmatch(r"[-0-9.e+]+|nan", v) else v)) for k, v in r.items()}
            for r in _read_csv(runs_dir / "margin" / "results.csv")]
    cross = _read_csv(built["out"] / "tables" / "margin_crossovers.csv")
    ref = crossovers(rows, MarginConfig.quick())
    assert len(cross) == len(ref) > 0
    for c, e in zip(cross, ref):
        assert c["code"] == e["code"] and _close(c["empirical"], e["empirical"]) and _close(c["theory"], e["theory"])
        row = next(_cells(ln) for ln in lines if _cells(ln)[:3] == [f"{float(c['sparsity']):.4g}", c["code"],
                                                                    f"{float(c['ratio']):.4g}"])
        assert _close(row[3], c["empirical"]) and _close(row[4], c["theory"])
    checks = _read_csv(built["out"] / "tables" / "margin_checks.csv")
    assert [c["check"] for c in checks] == [s["check"] for s in check_summary(rows)]
    for c in checks:
        row = next(_cells(ln) for ln in lines if _cells(ln)[:3] == [c["check"], c["kind"], c["stat"]])
        assert row[3] == c["rows"] and _close(row[4], c["holds_min"]) and _close(row[5], c["tight_median"])
    # provenance: rows and seed of each run as in its manifest
    for name in [n for n in ("margin", "realdata", "robustness") if (runs_dir / n).is_dir()]:
        man = json.loads((runs_dir / name / "manifest.json").read_text())
        row = next(_cells(ln) for ln in lines if _cells(ln)[:1] == [name] and len(_cells(ln)) == 8)
        assert row[2] in ("defaults", "quick", "custom") and row[3] == str(man["seed"])
        assert row[4] == str(man["rows"]) == str(len(_read_csv(runs_dir / name / "results.csv")))
        assert _close(row[5], man["wall_time_s"]) and row[6] == man["finished_utc"]
    # benchmarks: from the committed JSON files, or "not measured"
    from reports.sections import BENCHMARKS

    bench = Path(B.__file__).resolve().parent.parent / "benchmarks" / "results"
    for name, (short, _title, _cmd) in BENCHMARKS.items():
        row = next(_cells(ln) for ln in lines if ln.startswith(short + "  "))
        if (bench / f"{name}.json").is_file():
            assert _close(row[1], json.loads((bench / f"{name}.json").read_text())["ours_s"])
        else:
            assert row[1] == "not measured"


@pytest.mark.slow
def test_pdf_page_one_is_not_blank(built, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed")
    from matplotlib.image import imread

    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(built["pdf"]),
                    str(tmp_path / "p1")], check=True, capture_output=True)
    img = imread(tmp_path / "p1.png")
    ink = float(np.mean(img[..., :3].mean(axis=-1) < 0.9))
    assert 0.01 < ink < 0.6, ink


@pytest.mark.slow
def test_pdf_toy_model_tables_equal_their_files(built, runs_dir):
    if "robustness" not in I.available_sources():
        pytest.skip("sims.robustness_sweep is not part of this checkout")
    text = _norm(built["text"])
    assert "Not available in this build" not in text
    lines = built["text"].splitlines()
    rob = runs_dir / "robustness"
    verdict = json.loads((rob / "verdict.json").read_text())
    clean = next(_cells(ln) for ln in lines if _cells(ln)[:2] == ["clean", "-"])
    assert _close(clean[2], verdict["clean"]["diff"]) and clean[4] == verdict["clean"]["winner"]
    for sc in ("label_noise", "input_noise"):
        for lv, d in zip(verdict[sc]["levels"], verdict[sc]["diff"]):
            row = next(_cells(ln) for ln in lines if _cells(ln)[:2] == [sc, f"{lv:.4g}"])
            assert _close(row[2], d)
    bnd = _read_csv(rob / "boundaries.csv")
    shown = [_cells(ln) for ln in lines if _cells(ln)[:1] and _cells(ln)[0] in {b["sweep"] for b in bnd}
             and len(_cells(ln)) == 10]
    assert len(shown) == len(bnd)
    for row, b in zip(shown, bnd):
        assert row[0] == b["sweep"] and _close(row[5], b["emp"]) and _close(row[7], b["pred"]) and row[9] == b["agree"]


@pytest.mark.slow
def test_page_one_answers_the_paper(built):
    """Page 1 holds every paper claim's statement and its verdict, a summary figure (an image), and nothing
    of the internal claims; the report prints the folders it read."""
    import pypdf

    from reports.checks import registry

    page = pypdf.PdfReader(str(built["pdf"])).pages[0]
    text = _norm(page.extract_text())
    claims = registry(tuple(m for s in I.available_sources().values() for m in s.claim_modules))
    paper = [c for c in claims if c.id.startswith("paper.")]
    assert len(paper) >= 6
    for c in paper:  # the statement wraps inside its table cell: its opening words
        assert " ".join(_norm(c.statement).split()[:3]) in text, c.id
    assert all(v in text for v in {c.verdict_class for c in paper})
    assert "Figure 1. Summary of the evidence" in text and "tf." not in text and "margins." not in text
    resources = page["/Resources"]
    xobjects = resources.get("/XObject", {}) if hasattr(resources, "get") else {}
    images = [k for k in xobjects] if xobjects else []
    assert images or len(page.get_contents().get_data()) > 20000  # the figure: an image or vector drawing


def test_page_one_numbers_come_from_the_closed_forms():
    """The decisive numbers of the two-feature claims are the closed forms' values (not typed in)."""
    from reports.page1 import decisive
    from theory.two_feature import separation

    r = separation("poly", 0.9) / separation("mono", 0.9)
    assert f"{float(r):.2f}" in decisive("paper.clean_poly_better", {})
    r = separation("poly", 0.9, input_noise=1.0) / separation("mono", 0.9, input_noise=1.0)
    assert f"{float(r):.2f} at λ = 1" in decisive("paper.input_noise_reverses", {})
    assert decisive("paper.fig5.clean_poly_better", {}) == "-"  # no robustness run: no number
