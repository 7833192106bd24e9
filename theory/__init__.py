"""Exact theory: sympy derivations cached as numeric functions, and the claims registry."""
