"""Sweep machinery: runs any grid of cells, on any executor, with a cache that makes reruns cheap.

* ``config``    :class:`~sims.sweep.config.SweepConfig`: a frozen dataclass whose tuple fields are grid axes;
* ``runner``    :func:`~sims.sweep.runner.run_sweep`: cells, seeds, cache files, results.csv, manifest;
* ``executors`` serial, local processes or a Dask cluster behind one interface;
* ``io``        atomic writes, tidy CSV, figures with fixed metadata, package versions;
* ``cli``       the shared flags and the one-line-error convention of every sweep CLI.

It stands on the engine's validation only; a study is a config, a ``cell_fn`` and optional figures.
"""
