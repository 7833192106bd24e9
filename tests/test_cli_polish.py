"""The command lines as a user meets them: no abbreviated flags, a hint for space-separated lists, real
defaults in --help, --quiet prints nothing but errors, --config reruns a saved config, and a pipe closed
early (| head) ends quietly."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _main(module: str):
    import importlib

    return importlib.import_module(module).main


SWEEPS = ["sims.margin_sweep", "sims.robustness_sweep", "realdata.run"]


@pytest.mark.parametrize("module, flag, abbrev", [("sims.margin_sweep", "--sparsity", "--spars"),
                                                  ("sims.robustness_sweep", "--sparsity", "--spar"),
                                                  ("realdata.run", "--label-noise", "--label")])
def test_no_abbreviations(module, flag, abbrev, capsys, tmp_path):
    if module == "realdata.run":
        pytest.importorskip("torch")
    rc = _main(module)(["--quick", abbrev, "0.5", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and f"unrecognized arguments: {abbrev}" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("module", SWEEPS)
def test_space_separated_list_gets_a_hint(module, capsys, tmp_path):
    if module == "realdata.run":
        pytest.importorskip("torch")
    flag = "--label-noise" if module == "realdata.run" else "--sparsity"
    rc = _main(module)(["--quick", flag, "0.8", "0.9", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "lists are comma-separated without spaces" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("module", SWEEPS)
def test_help_shows_real_defaults(module, capsys):
    if module == "realdata.run":
        pytest.importorskip("torch")
    assert _main(module)(["--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: None)" not in out and "--config" in out and "default" in out


@pytest.mark.slow
def test_config_reruns_a_saved_run_and_flags_override_it(tmp_path, capsys):
    from sims.margin_sweep import main

    assert main(["--quick", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["--config", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()
    assert main(["--config", str(tmp_path / "a" / "config.json"), "--reps", "1", "--out", str(tmp_path / "c"),
                 "--quiet"]) == 0
    import json

    assert json.loads((tmp_path / "c" / "config.json").read_text())["identity"]["config"]["reps"] == 1
    capsys.readouterr()
    rc = _main("sims.robustness_sweep")(["--config", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert rc == 2 and "is a config of sims.margins.config.MarginConfig, must be one of" in err
    assert main(["--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "e")]) == 2


@pytest.mark.slow
def test_quiet_prints_nothing(tmp_path, capsys):
    from sims.margin_sweep import main

    assert main(["--quick", "--out", str(tmp_path / "q"), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("cmd", [[sys.executable, "-m", "theory"], [sys.executable, "-m", "sims.sweep.results"]])
def test_a_pipe_closed_early_ends_quietly(cmd):
    p = subprocess.run(" ".join(cmd) + " | head -1", shell=True, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0 and p.stdout.count("\n") == 1
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr
