"""The margins study (the main job, ``python -m sims.margin_sweep``): n planted features in m dimensions,
codes of several families at several superposition ratios, matched-filter and least-squares readouts
under input and label noise, with the bounds of ``theory.margins`` beside every measurement.

* ``config`` the grid (:class:`~sims.margins.config.MarginConfig`) and the columns of results.csv;
* ``cell``   one cell: the code, the data, the measures and the bound checks;
* ``report`` figures and the short PDF report of a run;
* ``cli``    the command line.
"""
