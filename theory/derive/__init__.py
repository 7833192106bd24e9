"""Symbolic derivations of the two-feature model (sympy; never imported by the runtime).

``python -m theory.derive`` re-derives everything, checks each identity, and rewrites theory/_cache/.
"""
