"""The columns of every CSV of ``python -m realdata.run``, documented once; rendered into docs/RESULTS.md
and used by ``sims.sweep.results.load_run``."""
from __future__ import annotations

from sims.sweep.results import C, Schema, Table

_KEY = (
    C("representation", "str", "raw, pca, ce, nce, cl, ncl, sae (or sae_k<k> for a k grid)"),
    C("scenario", "str", "training, monosemanticity, geometry, or a corruption: label_noise, gaussian_noise, "
                         "uniform_noise, few_shot, the modality's shifts, ood"),
    C("level", "float", "corruption level (0 = clean; few_shot: k per class, 0 = all)"),
    C("metric", "str", "accuracy, fisher_ratio, final_loss, or a monosemanticity / geometry metric"),
)
_STATS = (
    C("n", "int", "replicates"),
    C("mean", "float", "mean over replicates"),
    C("sd", "float", "standard deviation over replicates"),
    C("ci", "float", "half-width of the 95% Student-t interval (NaN for fewer than 2)"),
)

SCHEMA = Schema("Real data", "python -m realdata.run", (
    Table("results.csv", "One row per replicate x representation x scenario x level x metric.",
          (C("replicate", "int", "replicate index (grid axis)"),
           C("cell_seed", "int", "the seed of the replicate"), *_KEY,
           C("value", "float", "the metric's value"))),
    Table("summary.csv", "Mean and 95% interval over replicates of every (representation, scenario, level, metric).",
          (*_KEY, *_STATS)),
    Table("differences.csv", "Differences paired by replicate, against the raw input and against CL.",
          (C("scenario", "str", "the scenario, or clean"),
           C("level", "float", "the level (NaN for robustness scores)"),
           C("representation", "str", "the representation compared"),
           C("baseline", "str", "raw or cl"),
           C("quantity", "str", "accuracy (one level), robustness (mean over the corrupted levels) or clean_accuracy"),
           *_STATS,
           C("lo", "float", "mean - ci"), C("hi", "float", "mean + ci"),
           C("verdict", "str", "better, worse, no significant difference or undetermined"))),
    Table("theory_check.csv", "Observed robustness ordering vs the orderings predicted from clean train features.",
          (C("scenario", "str", "clean or a corruption scenario"),
           C("observed", "str", "representations by robustness score, best first"),
           C("resolved", "bool", "every adjacent pair of the observed ordering differs significantly"),
           C("score_*", "float", "robustness score of each representation"),
           C("pred_*", "str", "ordering predicted by each predictor (fisher_J, separation, coherence, monosemanticity)"),
           C("match_*", "bool", "the predicted ordering equals the observed one"),
           C("top_*", "bool", "the predicted best representation is the observed best"))),
))
