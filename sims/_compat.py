"""Old import paths of the flat ``sims`` layout (before the engine / sweep / studies packages), kept so
that scripts written against them keep working: ``import sims.codes`` gives ``sims.engine.codes`` itself
(the same module object, so monkeypatching and ``isinstance`` behave) with a DeprecationWarning that
names the new path. ``python -m sims.margin_sweep`` and ``python -m sims.robustness_sweep`` are real
entry modules, not aliases.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any

#: old module -> new module
ALIASES: dict[str, str] = {
    **{f"sims.{m}": f"sims.engine.{m}" for m in
       ("backend", "validation", "generators", "codes", "metrics", "probes", "sgd", "toy_model", "stats")},
    **{f"sims.{m}": f"sims.sweep.{m}" for m in ("runner", "executors", "io", "cli")},
    "sims.margin_report": "sims.margins.report",
    **{f"sims.{m}": f"sims.robustness.{m}" for m in ("scenarios", "comparators", "phase")},
}


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module name to the module at its new path."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in ALIASES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        new = ALIASES[spec.name]
        warnings.warn(f"{spec.name} is now {new}; the old path will be removed in a later release",
                      DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: Any) -> None:
        # the import system stamps the alias spec on the module it was handed: give it back its own
        module.__spec__ = self._real_spec


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
