"""Tests written against mutants of the theory groups that survived ``benchmarks/mutation.py``: each pins a
behaviour the other tests left free."""
from __future__ import annotations
