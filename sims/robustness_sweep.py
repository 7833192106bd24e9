"""``python -m sims.robustness_sweep``: trained toy models under the four scenarios (the robustness study,
:mod:`sims.robustness`).

This module is the entry point only; the config and the schema of every output are in
:mod:`sims.robustness.config`, the cell in :mod:`sims.robustness.cell`, the scenarios and comparators in
:mod:`sims.robustness.scenarios` / :mod:`sims.robustness.comparators`, derived tables and the phase
diagram in :mod:`sims.robustness.phase`, the command line in :mod:`sims.robustness.cli`.
"""
from __future__ import annotations

from sims.robustness.cell import cell_fn
from sims.robustness.cli import build_parser, main, make_config
from sims.robustness.config import ROLES, RobustnessConfig
from sims.robustness.figures import figures

__all__ = ["RobustnessConfig", "cell_fn", "figures", "build_parser", "make_config", "main", "ROLES"]

if __name__ == "__main__":
    raise SystemExit(main())
