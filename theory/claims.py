"""Registry of claims: each a statement with its assumptions, expressions, a verdict and a numeric check.

A claim is data plus one callable: ``check(rng) -> CheckResult``. Checks draw their parameters from the
generator they are given, compare closed forms with Monte Carlo (>= 10^6 samples) or exact integration, and
size their tolerances from standard errors. ``python -m theory`` prints the table; ``--check`` runs them.

Other modules add claims by calling :func:`register` at import and listing themselves in
``CLAIM_MODULES`` (or calling :func:`add_module`), e.g. ``theory.margins`` for the n-feature bounds.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = ["CheckResult", "Claim", "register", "get", "all_claims", "add_module", "run_checks",
           "CLAIM_MODULES", "VERDICTS", "register_module"]

#: a verdict is "holds", "fails", or a sentence starting "holds only when"
VERDICTS = ("holds", "holds only when", "fails")
#: modules whose import registers claims (extend with add_module)
CLAIM_MODULES: list[str] = ["theory.two_feature_claims", "theory.margins_claims", "sims.robustness.claims"]

_REGISTRY: dict[str, "Claim"] = {}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a claim's numeric check: ``passed``, one-line ``evidence``, and the key ``numbers``.
    ``passed`` is stored as a Python ``bool`` (a check's comparison of numpy scalars gives ``numpy.bool_``, which
    ``is True`` and JSON do not take)."""

    passed: bool
    evidence: str
    numbers: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", bool(self.passed))


@dataclass(frozen=True)
class Claim:
    """One statement about the model.

    ``verdict`` is "holds", "fails" or "holds only when <condition>"; ``verdict_text`` gives the reason
    (proof sketch or the numbers). ``expressions`` maps names to sympy strings (from theory/_cache) or
    formulas in words. ``check(rng)`` re-derives the evidence numerically.
    """

    id: str
    statement: str
    assumptions: tuple[str, ...]
    expressions: Mapping[str, str]
    check: Callable[[np.random.Generator], CheckResult]
    verdict: str
    verdict_text: str = ""
    paper_ref: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"id == {self.id!r}, must be a non-empty string")
        if not (self.verdict in ("holds", "fails") or self.verdict.startswith("holds only when")):
            raise ValueError(f"verdict == {self.verdict!r}, must be 'holds', 'fails' or 'holds only when ...'")
        if not callable(self.check):
            raise ValueError(f"check == {self.check!r}, must be callable(rng) -> CheckResult")


def register(claim: Claim) -> Claim:
    """Add ``claim``; refuses a duplicate id, naming the ids already registered."""
    if not isinstance(claim, Claim):
        raise ValueError(f"claim == {claim!r}, must be a Claim")
    if claim.id in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"claim id == {claim.id!r} is already registered; registered ids: {known}")
    _REGISTRY[claim.id] = claim
    return claim


def register_module(name: str, claims: Iterable[Claim]) -> list[Claim]:
    """Register the claims a module defines and record the module (see :func:`add_module`).

    Re-importing a module (``importlib.reload``) keeps the claims registered first instead of failing;
    a different module reusing an id is still refused by :func:`register`.
    """
    out = []
    for c in claims:
        if c.id in _REGISTRY and _REGISTRY[c.id].check.__module__ == getattr(c.check, "__module__", None):
            out.append(_REGISTRY[c.id])
        else:
            out.append(register(c))
    add_module(name)
    return out


def add_module(name: str) -> None:
    """Register a module whose import adds claims (imported by :func:`all_claims`)."""
    if name not in CLAIM_MODULES:
        CLAIM_MODULES.append(name)


def _load() -> None:
    for name in CLAIM_MODULES:
        importlib.import_module(name)


def all_claims() -> list[Claim]:
    """Every registered claim (importing ``CLAIM_MODULES`` first), in registration order."""
    _load()
    return list(_REGISTRY.values())


def get(claim_id: str) -> Claim:
    _load()
    if claim_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"claim id == {claim_id!r} is unknown, must be one of {known}")
    return _REGISTRY[claim_id]


def run_checks(seed: int = 0, ids: Iterable[str] | None = None) -> list[tuple[Claim, CheckResult, float]]:
    """Run the checks of ``ids`` (default all), each with its own generator seeded from (seed, id)."""
    from sims.engine.backend import rng as make_rng

    claims = all_claims() if ids is None else [get(i) for i in ids]
    out = []
    for c in claims:
        t0 = time.perf_counter()
        try:
            res = c.check(make_rng(seed, c.id))
        except Exception as exc:  # a crashing check is a failed check, reported as such
            res = CheckResult(False, f"check raised {type(exc).__name__}: {exc}", {})
        out.append((c, res, time.perf_counter() - t0))
    return out
