"""The robustness study (``python -m sims.robustness_sweep``): trained toy models of superposition and
planted codes under label noise, input noise, few-shot training and distribution shift (paper §4.2 /
Fig. 5), with the finite-sample theory of ``theory.robustness`` beside the simulations.

* ``config``      the grid (:class:`~sims.robustness.config.RobustnessConfig`) and every output's columns;
* ``comparators`` the codes compared (trained superposed / dense / nonneg, planted random / mono);
* ``scenarios``   the four protocols, on any code: corrupt, fit a probe, score it;
* ``cell``        one (sparsity, m) cell;
* ``phase``       summaries, paired differences, boundaries and the phase diagram;
* ``figures``     Fig.-5 style curves, few-shot and OOD panels;
* ``claims``      the study's claims in the registry of ``theory.claims``, with their checks;
* ``cli``         the command line.
"""
