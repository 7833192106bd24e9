"""The README's two commands are the ones CI and users run: keep them true."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci in _commands(), f"README's test command differs from .ci/run: {ci!r}"
    assert ci.endswith("-m pytest")


def test_readme_main_command_runs_the_main_job_and_setup_exists():
    main = [c for c in _commands() if "sims.margin_sweep" in c]
    assert main == ["bash scripts/bootstrap.sh && .venv/bin/python -m sims.margin_sweep"]
    assert (ROOT / "scripts" / "bootstrap.sh").exists()
    assert 'torch==2.13.0' in (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")


def test_readme_figure_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images and all((ROOT / p).exists() for p in images)


def test_readme_names_the_run_folder_as_the_runner_makes_it():
    """The folder pattern of the README is the one sims.sweep.io.default_out_dir produces."""
    import datetime
    import re

    from sims.margins.config import MarginConfig
    from sims.sweep.io import default_out_dir

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"`runs/(margin_sweep-<cells>cells-seed<seed>-<config hash>-<YYYYmmdd-HHMMSS>)/`", text)
    assert m, "the README's run-folder pattern is missing"
    cfg = MarginConfig()
    made = default_out_dir(cfg.slug(), base="runs", now=datetime.datetime(2026, 1, 2, 3, 4, 5)).name
    expected = f"margin_sweep-{cfg.n_cells}cells-seed{cfg.seed}-{cfg.config_hash()[:8]}-20260102-030405"
    assert made == expected
