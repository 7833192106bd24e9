"""Tests written against mutants of the engine groups that survived ``benchmarks/mutation.py``: each pins a
behaviour the other tests left free."""
from __future__ import annotations
