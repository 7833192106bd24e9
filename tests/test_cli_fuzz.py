"""Bad input to a sweep CLI: one line on stderr, exit status 2, no traceback, nothing written.

Hundreds of generated bad flag sets and config dicts run in-process through the tiny test CLI (fast);
a handful of real subprocesses check what a user actually sees (unwritable --out, a scheduler that does
not answer, --help, a machine without the 'dist' extra).
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sims.sweep.executors import dask_available  # noqa: E402
from tests.apps import tiny_sweep as tiny  # noqa: E402
from tests.apps.tiny_sweep import TinyConfig  # noqa: E402

DASK_OK, DASK_WHY = dask_available()
N_FLAG_SETS = 600
N_CONFIGS = 200

# ---------------------------------------------------------------------------------------------
# strategies: every generated case is bad for exactly the reason its generator names

letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
valid_sizes = st.integers(1, 4096)
valid_noise = st.floats(0, 10, allow_nan=False)
bad_float_text = st.sampled_from(["abc", "1e", "", "0.1.2", "--", "1,,2", ","])


def _join(values) -> str:
    return ",".join(repr(v) if isinstance(v, float) else str(v) for v in values)


@st.composite
def empty_or_malformed_axis(draw):
    flag = draw(st.sampled_from(["--size", "--noise", "--code"]))
    text = draw(st.sampled_from(["", ",", " ", ", ,", "1,", ",mono"]))
    if flag == "--size":
        text = draw(st.sampled_from([text, "1.5", "x", "2,three", "1e3"]))
    elif flag == "--noise":
        text = draw(st.sampled_from([text, "x", "0.1,y", "1e", "0..1"]))
    return [f"{flag}={text}"]


@st.composite
def out_of_range_axis(draw):
    which = draw(st.sampled_from(["size", "noise"]))
    if which == "size":
        bad = draw(st.integers(max_value=0) | st.integers(min_value=4097, max_value=10**30))
        vals = draw(st.lists(valid_sizes, max_size=3, unique=True).filter(lambda v: bad not in v))
        return [f"--size={_join(vals + [bad])}"]
    bad = draw(
        st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=True)
        | st.floats(min_value=10.000001, allow_nan=False, allow_infinity=True)
        | st.just(math.nan)
    )
    vals = draw(st.lists(valid_noise, max_size=3, unique=True))
    return [f"--noise={_join(vals + [bad])}"]


@st.composite
def duplicate_axis_values(draw):
    if draw(st.booleans()):
        v = draw(valid_sizes)
        return [f"--size={v},{v}"]
    v = draw(valid_noise)
    return [f"--noise={v!r},0.0000000001,{v!r}" if v != 1e-10 else "--noise=1,1"]


@st.composite
def unknown_names(draw):
    kind = draw(st.sampled_from(["code", "flag", "positional"]))
    name = draw(letters)
    if kind == "code":
        name = draw(letters.filter(lambda s: s not in ("mono", "poly")))
        return ["--code", draw(st.sampled_from([name, f"mono,{name}", f"{name},poly"]))]
    if kind == "flag":
        known = {a for act in tiny.build_parser()._actions for a in act.option_strings}
        flag = "--" + draw(letters.filter(lambda s: not any(k.startswith("--" + s) for k in known)))
        return [flag, "1"]
    return [name]


@st.composite
def negative_or_bad_counts(draw):
    flag, lo, hi = draw(st.sampled_from([
        ("--n-samples", 1, 100_000), ("--reps", 1, 100), ("--workers", 1, 1024),
        ("--seed", 0, None), ("--cells-per-task", 1, 100_000),
    ]))
    bad_int = st.integers(max_value=lo - 1) | st.sampled_from([-(2**63) - 1, -(10**30)])
    if hi is not None:
        bad_int = bad_int | st.integers(min_value=hi + 1, max_value=10**20) | st.sampled_from([2**63, 10**30])
    value = draw(bad_int.map(str) | st.sampled_from(["x", "1.5", "", "1e3", "nan", "0x10"]))
    return [f"{flag}={value}"]


@st.composite
def bad_scheduler_flags(draw):
    kind = draw(st.sampled_from(["address", "timeout", "with_workers"]))
    if kind == "address":
        text = draw(
            letters.filter(lambda s: s != "local")
            | st.sampled_from(["tcp://", "tcp://host", "host:", ":8786", "tcp://h:0", "h:99999", "tcp://h:x", ""])
        )
        return [f"--scheduler={text}"]
    if kind == "timeout":
        value = draw(st.sampled_from(["0", "-1", "nan", "inf", "3601", "x", ""]) | st.floats(max_value=0).map(repr))
        return ["--scheduler=local", f"--scheduler-timeout={value}"]
    n = draw(st.integers(1, 64))
    return [f"--workers={n}", "--scheduler=tcp://127.0.0.1:1"]


def bad_out(tmp: Path):
    """Output folders that must be refused (built once per test in ``tmp``)."""
    afile = tmp / "fixture" / "a_file"
    other_run = tmp / "fixture" / "other_run"
    not_a_run = tmp / "fixture" / "not_a_run"
    return st.sampled_from([
        ["--out", str(afile)],
        ["--out", str(afile / "sub")],
        ["--out", str(afile / "sub" / "deeper")],
        ["--out", str(other_run)],
        ["--out", str(not_a_run)],
        ["--out", ""],
        ["--out"],  # missing value
    ])


valid_extras = st.lists(
    st.sampled_from([
        ["--quiet"], ["--no-figures"], ["--seed", "3"], ["--quick"], ["--n-samples", "10"], ["--reps", "1"],
        ["--size", "4"], ["--noise", "0.5"], ["--code", "mono"], ["--cells-per-task", "2"],
        ["--scheduler-timeout", "1"],
    ]),
    max_size=4,
).map(lambda parts: list(itertools.chain.from_iterable(parts)))


def _make_fixture(tmp: Path) -> None:
    fx = tmp / "fixture"
    fx.mkdir()
    (fx / "a_file").write_text("not a folder")
    (fx / "not_a_run").mkdir()
    (fx / "not_a_run" / "thesis.tex").write_text("precious")
    assert tiny.main(["--out", str(fx / "other_run"), "--quick", "--seed", "99", "--quiet", "--no-figures"]) == 0


def _snapshot(tmp: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(tmp)): (p.read_bytes() if p.is_file() else None) for p in tmp.rglob("*")}


def _call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = tiny.main(argv)
    return rc, out.getvalue(), err.getvalue()


def _assert_one_line_error(rc: int, stdout: str, stderr: str, argv) -> None:
    assert rc == 2, (argv, rc, stderr)
    assert stdout == "", (argv, stdout)
    assert stderr.endswith("\n") and stderr.count("\n") == 1, (argv, stderr)
    assert stderr.startswith("tiny_sweep: error: "), (argv, stderr)
    assert "Traceback" not in stderr


# ---------------------------------------------------------------------------------------------
# in-process fuzzing


def test_fuzzed_bad_flag_sets_fail_cleanly_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default --out would appear under ./runs
    _make_fixture(tmp_path)
    before = _snapshot(tmp_path)
    seen: list[int] = []
    counter = itertools.count()

    @settings(max_examples=max(N_FLAG_SETS, settings.default.max_examples), database=None)
    @given(
        extras=valid_extras,
        bad=st.one_of(
            empty_or_malformed_axis(), out_of_range_axis(), duplicate_axis_values(), unknown_names(),
            negative_or_bad_counts(), bad_scheduler_flags(), bad_out(tmp_path),
        ),
        with_out=st.booleans(),
    )
    def check(extras, bad, with_out):
        target = tmp_path / f"never_{next(counter)}"
        argv = (["--out", str(target)] if with_out else []) + extras + bad  # the bad part comes last
        rc, stdout, stderr = _call(argv)
        _assert_one_line_error(rc, stdout, stderr, argv)
        assert not target.exists()
        seen.append(1)

    check()
    assert len(seen) >= 500
    assert _snapshot(tmp_path) == before  # no out dir, no runs/, fixture folders untouched


def test_fuzzed_bad_config_dicts_raise_value_error_naming_the_key():
    seen: list[int] = []
    good = TinyConfig().to_dict()
    bad_values = {
        "size": st.just([]) | st.lists(st.integers(max_value=0), min_size=1, max_size=3)
        | st.lists(st.text(max_size=3), min_size=1, max_size=2) | st.floats(),
        "noise": st.just([]) | st.lists(st.floats(max_value=-1e-9) | st.just(math.inf), min_size=1, max_size=3)
        | st.text(max_size=4) | st.none(),
        "code": st.just([]) | st.lists(letters.filter(lambda s: s not in ("mono", "poly")), min_size=1, max_size=2)
        | st.just(["mono", "mono"]),
        "n_samples": st.integers(max_value=0) | st.integers(min_value=100_001) | st.floats(0.1, 0.9)
        | st.booleans() | st.text(max_size=3),
        "reps": st.integers(max_value=0) | st.integers(min_value=101) | st.none() | st.lists(st.integers(1, 3)),
        "seed": st.integers(max_value=-1) | st.floats(0.5, 0.6) | st.text(max_size=3),
    }

    @settings(max_examples=max(N_CONFIGS, settings.default.max_examples), database=None)
    @given(data=st.data(), key=st.sampled_from(sorted(bad_values) + ["unknown"]))
    def check(data, key):
        d = dict(good)
        if key == "unknown":
            key = data.draw(letters.filter(lambda s: s not in good))
            d[key] = data.draw(st.integers())
        else:
            d[key] = data.draw(bad_values[key])
        with pytest.raises(ValueError) as info:
            TinyConfig.from_dict(d)
        msg = str(info.value)
        assert msg.startswith(key) or repr(key) in msg, (d, msg)
        assert "\n" not in msg
        seen.append(1)

    check()
    assert len(seen) >= 150


def test_missing_dist_extra_gives_a_clear_one_line_error(monkeypatch, tmp_path):
    import sims.sweep.executors as ex

    monkeypatch.setattr(ex, "dask_available", lambda: (False, "ModuleNotFoundError: No module named 'distributed'"))
    rc, stdout, stderr = _call(["--scheduler", "local", "--out", str(tmp_path / "o")])
    _assert_one_line_error(rc, stdout, stderr, "--scheduler local")
    assert "needs dask.distributed (the 'dist' extra" in stderr
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------
# real processes: what the user sees


def _run(args: list[str], env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_subprocess_unwritable_out_is_one_line_exit_2(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    p = _run(["-m", "tests.apps.tiny_sweep", "--quick", "--out", str(f / "run")])
    _assert_one_line_error(p.returncode, p.stdout, p.stderr, "under a file")
    assert "cannot be created" in p.stderr and sorted(os.listdir(tmp_path)) == ["file"]


@pytest.mark.skipif(not DASK_OK, reason=f"dask.distributed not importable (the 'dist' extra): {DASK_WHY}")
def test_subprocess_scheduler_that_does_not_answer(tmp_path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    p = _run(["-m", "tests.apps.tiny_sweep", "--quick", "--out", str(tmp_path / "o"),
              "--scheduler", address, "--scheduler-timeout", "1"])
    _assert_one_line_error(p.returncode, p.stdout, p.stderr, address)
    assert "--scheduler" in p.stderr and "no Dask scheduler answered within 1 s" in p.stderr
    assert not (tmp_path / "o").exists()
    assert time.monotonic() - t0 < 30


def test_subprocess_help_documents_every_flag():
    p = _run(["-m", "tests.apps.tiny_sweep", "--help"])
    assert p.returncode == 0 and p.stderr == ""
    for flag in ["--out", "--seed", "--quick", "--workers", "--scheduler", "--scheduler-timeout",
                 "--cells-per-task", "--force", "--quiet", "--size", "--noise", "--code"]:
        assert flag in p.stdout
    help_lines = [a for a in tiny.build_parser()._actions if not a.help]
    assert help_lines == []


def test_subprocess_without_dask_serial_and_processes_still_work(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["distributed"] = None  # as if the 'dist' extra were not installed
        sys.modules["dask"] = None
        from tests.apps.tiny_sweep import main
        rcs = [main(["--quick", "--quiet", "--no-figures", "--out", {str(tmp_path / 's')!r}]),
               main(["--quick", "--quiet", "--no-figures", "--out", {str(tmp_path / 'p')!r}, "--workers", "2"]),
               main(["--quick", "--quiet", "--out", {str(tmp_path / 'd')!r}, "--scheduler", "local"])]
        print(rcs)
    """)
    p = _run(["-c", script])
    assert p.stdout.strip() == "[0, 0, 2]", p.stderr
    assert p.stderr.count("\n") == 1 and "the 'dist' extra" in p.stderr and "Traceback" not in p.stderr
    assert (tmp_path / "s" / "results.csv").read_bytes() == (tmp_path / "p" / "results.csv").read_bytes()
    assert not (tmp_path / "d").exists()
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["executor"]["kind"] == "processes"


# ---------------------------------------------------------------------------------------------
# every real CLI of the toolkit, in-process: generated bad flag sets fail before any compute


N_PER_CLI = 100 if settings.default.max_examples < 1000 else settings.default.max_examples  # deep: 1000 each
CLI_COUNTS: dict[str, int] = {}
BAD_TEXT = {  # values that no flag of the type accepts
    "int": ["x", "1.5", "", "nan", "1e3", "0x10", "--", "-1", "1,2", " "],
    "float": ["x", "", "nan", "inf", "-inf", "1e999", "0..1", "1,2", "--", "nan,1"],
    "floats": ["", ",", "1,,2", "x", "0.1,y", "nan", "1,inf", "-inf", " , ", "1e999"],
    "ints": ["", ",", "1.5", "x", "1,,2", "2,three", "nan", "1e3"],
    "strings": ["", ",", "a,,b", "zzz_bogus", "zzz_bogus,zzz_bogus"],
    "_bool": ["maybe", "", "2", "yes please"],
    "_opt_float": ["x", "", "nan", "inf"],
    "_cells_per_task": ["x", "1.5", "", "0", "-3", "100001"],
    "choices": ["zzz_bogus", "", "AUTO"],
}


def _cli_main(name: str):
    """``main(argv) -> exit status`` of a CLI, plus its parser (None for theory / theory.derive)."""
    import importlib

    mod = importlib.import_module({"margin_sweep": "sims.margin_sweep", "robustness_sweep": "sims.robustness_sweep",
                                   "realdata.run": "realdata.run", "reports.build": "reports.build",
                                   "theory": "theory.__main__", "theory.derive": "theory.derive.__main__"}[name])
    return mod.main, (mod.build_parser() if hasattr(mod, "build_parser") else None)


#: valid flags a bad set may carry too (they must not hide the bad one)
CLI_EXTRAS = {
    "margin_sweep": [["--quiet"], ["--seed", "3"], ["--quick"], ["--reps", "1"], ["--code", "mono"]],
    "robustness_sweep": [["--quiet"], ["--seed", "3"], ["--quick"], ["--reps", "2"]],
    "realdata.run": [["--quiet"], ["--seed", "3"], ["--quick"], ["--epochs", "1"]],
    "reports.build": [["--quiet"], ["--skip-checks"], ["--no-run"], ["--seed", "2"]],
    "theory": [["--json"], ["--seed", "2"]],
    "theory.derive": [["--check"]],
}
#: bad flag sets that need the CLI's own meaning (the generic ones come from the parser's flag types)
CLI_SEMANTIC = {
    "margin_sweep": [["--amplitude", "-1,1"], ["--amplitude", "1,0"], ["--amplitude", "0.5"], ["--ratio", "0.5"],
                     ["--sparsity", "1"], ["--m", "1"], ["--m", "100000"], ["--n-features", "1"], ["--workers", "0"],
                     ["--label-noise", "1.5"], ["--input-noise", "-1e-3"], ["--code", "mono,mono"],
                     ["--scheduler", "tcp://h:0"], ["--scheduler-timeout", "0"], ["--toy-lr", "0"],
                     ["--seed", str(2**63)], ["--workers", "2000"]],
    "robustness_sweep": [["--m", "0"], ["--reps", "1"], ["--sparsity", "1"], ["--label-noise", "2"],
                         ["--comparators", "zzz"], ["--ood", "density=zz"], ["--workers", "0"]],
    "realdata.run": [["--test-fraction", "1.5"], ["--test-fraction", "0"], ["--representations", "zzz"],
                     ["--data", "/nonexistent/x.npz"], ["--label-noise", "1.5"], ["--workers", "0"],
                     ["--epochs", "0"], ["--temperature", "0"]],
    "reports.build": [["--benchmarks", "/nonexistent"], ["--margin", "/nonexistent"], ["--jobs", "0"],
                      ["--seed", "-1"], ["--only-checks", "zzz"], ["--realdata", "/nonexistent"],
                      ["--out", "/proc/version/x"]],
    "theory": [["--seed", "-1"], ["--id", "zzz"], ["--seed", "nan"], ["--id"]],
    "theory.derive": [],
}


def _flag_cases(parser) -> list[list[str]]:
    """Bad flag sets derived from a parser: each flag with values its type refuses, store_true flags with a
    value, options without their value."""
    cases: list[list[str]] = []
    if parser is None:
        return cases
    for act in parser._actions:
        if not act.option_strings or act.option_strings[0] in ("-h", "--help"):
            continue
        flag = act.option_strings[-1]
        if act.nargs == 0:
            cases.append([f"{flag}=1"])
            continue
        kind = "choices" if act.choices else getattr(act.type, "__name__", None)
        for text in BAD_TEXT.get(kind, []):
            cases.append([f"{flag}={text}"])
        cases.append([flag])  # the value is missing (the flag comes last)
    return cases


def _unknown(parser) -> st.SearchStrategy:
    known = set() if parser is None else {a for act in parser._actions for a in act.option_strings}
    flag = letters.map(lambda s: "--zz" + s).filter(lambda f: not any(k.startswith(f) for k in known))
    return st.one_of(flag.map(lambda f: [f]), flag.map(lambda f: [f, "1"]), letters.map(lambda s: [s]),
                     st.just(["-Z"]), st.just(["--"]))


@pytest.fixture
def no_compute(monkeypatch):
    """Whatever passes validation must not compute: the compute entry points raise instead."""
    import reports.checks
    import reports.inputs
    import sims.sweep.runner
    import theory.claims
    import theory.derive.cachefiles

    def refuse(*a, **k):
        raise AssertionError("bad flags reached the compute step")

    monkeypatch.setattr(sims.sweep.runner, "_compute", refuse)
    monkeypatch.setattr(reports.inputs, "make_quick_runs", refuse)
    monkeypatch.setattr(reports.checks, "ChecksJob", refuse)
    monkeypatch.setattr(theory.claims, "run_checks", refuse)
    monkeypatch.setattr(theory.derive.cachefiles, "write_files", refuse)


CLIS = ["margin_sweep", "robustness_sweep", "realdata.run", "reports.build", "theory", "theory.derive"]


@pytest.mark.parametrize("name", CLIS)
def test_every_cli_refuses_fuzzed_bad_flags_with_one_line_and_writes_nothing(name, tmp_path, monkeypatch, no_compute):
    monkeypatch.chdir(tmp_path)  # default output folders (runs/, reports/out) would appear here
    main, parser = _cli_main(name)
    before = _snapshot(tmp_path)
    seen: list[int] = []
    counter = itertools.count()

    @settings(max_examples=N_PER_CLI, database=None)
    @given(
        extras=st.lists(st.sampled_from(CLI_EXTRAS[name]), max_size=3).map(
            lambda parts: list(itertools.chain.from_iterable(parts))),
        bad=st.one_of(st.sampled_from(_flag_cases(parser) + CLI_SEMANTIC[name] or [["--zzz"]]), _unknown(parser)),
        with_out=st.booleans(),
    )
    def check(extras, bad, with_out):
        target = tmp_path / f"never_{next(counter)}"
        out = ["--out", str(target)] if (with_out and name not in ("theory", "theory.derive")) else []
        argv = out + extras + bad  # the bad part comes last
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                rc = main(argv)
            except SystemExit as exc:  # a CLI that exits instead of returning its status
                rc = exc.code
        err = stderr.getvalue()
        assert rc == 2, (argv, rc, err)
        assert stdout.getvalue() == "", (argv, stdout.getvalue())
        assert err.count("\n") == 1 and err.endswith("\n") and ": error: " in err, (argv, err)
        assert "Traceback" not in err
        assert not target.exists()
        seen.append(1)

    check()
    CLI_COUNTS[name] = len(seen)
    assert len(seen) == N_PER_CLI
    assert _snapshot(tmp_path) == before


def test_cli_fuzz_made_at_least_500_bad_flag_sets():
    """Runs after the parametrization above (file order): >= 500 bad flag sets over the CLIs."""
    if len(CLI_COUNTS) < len(CLIS) - 1:
        pytest.skip("only part of the parametrization ran")
    assert sum(CLI_COUNTS.values()) >= 500, CLI_COUNTS


# ---------------------------------------------------------------------------------------------
# the audit's CLI findings, one by one


def _run_main(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def test_reports_build_refuses_a_benchmarks_folder_that_is_not_there(tmp_path):
    from reports.build import main

    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "nonexistent", tmp_path / "empty"):
        rc, out, err = _run_main(main, ["--benchmarks", str(folder), "--runs", str(tmp_path / "runs"), "--no-run",
                                        "--skip-checks", "--out", str(tmp_path / "out")])
        assert rc == 2 and out == "" and err.count("\n") == 1
        assert err.startswith(f"python -m reports.build: error: --benchmarks == {str(folder)!r}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.parametrize("argv, needle", [
    (["--seed", "nan"], "argument --seed: invalid int value: 'nan'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--seed", "-1"], "--seed == -1, must be in [0, inf)"),
    (["--id", "zzz"], "claim id == 'zzz' is unknown"),
])
def test_theory_cli_bad_input_is_one_line(argv, needle):
    from theory.__main__ import main

    rc, out, err = _run_main(main, argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("python -m theory: error: ") and needle in err, err


def test_negative_values_reach_the_config_check_not_argparse(tmp_path):
    """``--amplitude -1,1`` said 'expected one argument': a value starting with a negative number is a value."""
    from sims.margin_sweep import main

    for argv, needle in ((["--amplitude", "-1,1"], "amplitude contains -1, must be in [0,"),
                         (["--input-noise", "-0.5,1"], "input_noise contains -0.5, must be in [0,"),
                         (["--amplitude", "-inf,1"], "amplitude contains -inf")):
        rc, out, err = _run_main(main, argv + ["--out", str(tmp_path / "o")])
        assert rc == 2 and err.count("\n") == 1 and needle in err, err
    assert not (tmp_path / "o").exists()
