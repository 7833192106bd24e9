"""``python -m sims.margin_sweep``: the main job (the margins study, :mod:`sims.margins`).

This module is the entry point only; the config and the schema of results.csv are in
:mod:`sims.margins.config`, the cell in :mod:`sims.margins.cell`, the figures and PDF in
:mod:`sims.margins.report`, the command line in :mod:`sims.margins.cli`.
"""
from __future__ import annotations

import sys

from sims.margins.cell import build_code, cell_fn, represented_count
from sims.margins.cli import build_parser, figures, main, make_config
from sims.margins.config import (
    CODES,
    DEFAULT_CODES,
    ORTHONORMAL_TOL,
    QUANTILES,
    MarginConfig,
    cell_is_valid,
    n_rep_of,
)

__all__ = ["MarginConfig", "CODES", "DEFAULT_CODES", "QUANTILES", "ORTHONORMAL_TOL", "n_rep_of", "cell_is_valid",
           "build_code", "represented_count", "cell_fn", "figures", "build_parser", "make_config", "main"]

if __name__ == "__main__":
    sys.exit(main())
