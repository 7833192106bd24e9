"""The main job's cell with the worker's process id in every row (tests of where cells run)."""
from __future__ import annotations

import os

from sims.margins.cell import cell_fn as _margin_cell


def cell_fn(cell: dict, seed: int) -> list[dict]:
    return [{**row, "worker_pid": os.getpid()} for row in _margin_cell(cell, seed)]
