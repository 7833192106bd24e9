"""Exact theory of the monosemanticity-robustness question: derivations, cached numerics, claims.

Importing ``theory`` is cheap: it loads nothing. Submodules, imported on use:

* ``theory.two_feature`` - closed forms of the paper's two-feature model (contract:
  ``theory.two_feature.separation``), Bayes / probe / finite-sample errors, crossovers;
* ``theory.claims`` - the claims registry (``python -m theory`` prints it);
* ``theory.simulate`` - an independent Monte Carlo of the same model, used by the claims' checks;
* ``theory.derive`` - the sympy derivations that regenerate ``theory/_cache`` (never imported at runtime).
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["two_feature", "claims", "simulate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"theory.{name}")
    raise AttributeError(f"module 'theory' has no attribute {name!r}")
