"""Simulation engine: planted features -> corruption -> code -> probe -> metrics.

Submodules are imported on demand (``import sims`` is cheap): ``backend``, ``validation``,
``generators``, ``codes``, ``probes``, ``sgd``, ``metrics``, ``runner``, ``margin_sweep`` ...
"""
__version__ = "0.1.0"
