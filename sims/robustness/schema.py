"""The columns of every CSV of ``python -m sims.robustness_sweep``, documented once; rendered into
docs/RESULTS.md and used by ``sims.sweep.results.load_run``."""
from __future__ import annotations

from sims.sweep.results import C, Schema, Table

_METRICS = (
    C("n_represented", "float", "features the code represents (column norm > 0.5)"),
    C("frac_represented", "float", "n_represented / n_features"),
    C("superposition_ratio", "float", "n_represented / m"),
    C("features_per_dimension", "float", "Elhage's features per dimension"),
    C("dimensionality", "float", "mean Elhage dimensionality of the represented features"),
    C("coherence", "float", "coherence of the represented columns"),
    C("neuron_pr", "float", "mean participation ratio of the neurons (1: monosemantic)"),
)
_KEYS = (
    C("sparsity", "float", "data sparsity S (grid axis)"),
    C("m", "int", "hidden dimensions (grid axis)"),
    C("record", "str", "accuracy (simulated) or theory (predicted by theory.robustness)"),
)
_SCEN = (
    C("scenario", "str", "label_noise, input_noise, few_shot or ood"),
    C("kind", "str", "symmetric / pair (label noise; opt in: classcond / margin), gaussian / uniform (input "
                     "noise), density / amplitude / frequency (ood), k (few-shot)"),
    C("at", "str", "where input noise enters: test, train or both (\"\" for other scenarios)"),
    C("level", "float", "eta, lam, k or the shift value"),
    C("n_train", "int", "training samples of the probe"),
)

SCHEMA = Schema("Toy models: robustness sweep", "python -m sims.robustness_sweep", (
    Table("results.csv", "One row per cell x replicate x comparator x scenario x kind x level x training size.",
          (*_KEYS[:2], C("cell_seed", "int", "the seed the cell received"), _KEYS[2],
           C("rep", "int", "replicate index"),
           C("comparator", "str", "superposed, dense, nonneg (trained) or random, mono (planted)"),
           C("role", "str", "mono (dense), poly (superposed) or reference"),
           *_METRICS,
           C("train_sparsity", "float", "sparsity the code was trained at"),
           C("code_loss", "float", "final training loss of a trained code (NaN for planted codes)"),
           C("ratio", "float", "n_features / m"),
           C("n_features", "int", "planted features n"),
           *_SCEN,
           C("acc", "float", "test accuracy (simulated or predicted)"))),
    Table("summary.csv", "Mean and 95% t-interval of the accuracy over replicates, with the mean metrics of the codes.",
          (*_KEYS, C("comparator", "str", "the code compared"), *_SCEN,
           C("acc_mean", "float", "mean accuracy over replicates"),
           C("acc_lo", "float", "lower end of the 95% t-interval"),
           C("acc_hi", "float", "upper end"),
           C("n_reps", "int", "replicates"), *_METRICS)),
    Table("differences.csv", "Paired differences acc(mono) - acc(poly) per replicate (dense - superposed).",
          (*_KEYS, *_SCEN,
           C("mono", "str", "the monosemantic comparator (dense)"),
           C("poly", "str", "the superposed comparator"),
           C("diff_mean", "float", "mean paired difference"),
           C("diff_lo", "float", "lower end of its 95% t-interval"),
           C("diff_hi", "float", "upper end"),
           C("n_reps", "int", "replicates"),
           C("winner", "str", "mono, poly or tie (the interval excludes 0 or not)"))),
    Table("boundaries.csv", "Simulated vs predicted crossings of the paired difference along each swept parameter.",
          (C("sweep", "str", "the swept parameter: eta, lam or n_train"),
           C("sparsity", "float", "data sparsity S"), C("m", "int", "hidden dimensions"),
           C("level", "float", "the fixed level of the other corruption"),
           C("n_train", "int", "training samples (NaN when n_train is swept)"),
           C("grid_lo", "float", "smallest value of the swept grid"),
           C("grid_hi", "float", "largest value"),
           C("emp", "float", "simulated crossing (NaN: none)"),
           C("emp_dir", "int", "+1: mono overtakes poly as the parameter grows, -1 the other way, 0 none"),
           C("resolved", "bool", "the paired differences exclude 0 on both sides: mono ahead somewhere and poly somewhere"),
           C("emp_lo", "float", "lower end of the bootstrap interval of the simulated crossing"),
           C("emp_hi", "float", "upper end"),
           C("emp_p", "float", "share of bootstrap resamples (replicates drawn with replacement) with a crossing"),
           C("n_reps", "int", "replicates"),
           C("pred", "float", "predicted crossing (theory.robustness; NaN: none)"),
           C("pred_dir", "int", "direction of the predicted crossing"),
           C("gap", "float", "|pred - emp| / |emp| when both cross"),
           C("agree", "str", "both (simulation and theory cross in the same direction), neither (no crossing in "
                             "either), differ, or no theory"))),
))
