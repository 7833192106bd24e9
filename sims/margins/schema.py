"""The columns of the main job's results.csv (``python -m sims.margin_sweep``), documented once; rendered
into docs/RESULTS.md and used by ``sims.sweep.results.load_run``."""
from __future__ import annotations

from sims.sweep.results import C, Schema, Table

_COMMON = (
    C("code", "str", "code family: mono, random, antipodal, frame (or trained)"),
    C("ratio", "float", "superposition ratio n_rep / m (grid axis)"),
    C("sparsity", "float", "feature sparsity S: probability that a feature is 0 (grid axis)"),
    C("cell_seed", "int", "the seed the cell received (from the base seed and the cell's sparsity)"),
    C("rep", "int", "replicate index inside the cell"),
    C("n_rep", "int", "number of represented features (round(ratio m); what a trained model kept)"),
    C("mu", "float", "coherence of the code: max |<W_i, W_j>| over represented features"),
    C("record", "str", "row type: readout, check or theory"),
)

SCHEMA = Schema("Main job: margins and separation", "python -m sims.margin_sweep", (
    Table("results.csv", "One row per cell x replicate x measure (a cell is code x ratio x sparsity).", _COMMON, {
        "readout": (
            C("readout", "str", "matched_filter (argmax of W^T h) or probe (least squares on h)"),
            C("noise", "str", "the corruption of this row: input (Gaussian noise on x) or label (symmetric flips); "
                              "label_classcond / label_margin with --label-noise-kind classcond / margin"),
            C("level", "float", "its strength: input-noise scale lam or label-noise rate eta (the rate of the "
                                "class-conditional flips, or p_max of the margin noise)"),
            C("n_train", "int", "training samples of the probe (NaN for the matched filter)"),
            C("acc", "float", "test accuracy"),
            C("covered", "float", "share of test samples whose true feature is represented and active"),
            C("margin_q01", "float", "1% quantile of the signed margin (true minus best other score) over covered samples"),
            C("margin_q05", "float", "5% quantile of the signed margin"),
            C("margin_q50", "float", "median signed margin"),
            C("fisher", "float", "pooled Fisher separation of the matched filter, bias-corrected (matched filter only)"),
            C("fisher_exact", "float", "its population value for this code, theory.margins (M9)"),
            C("fisher_random", "float", "(M9) in expectation over random codes"),
            C("acc_theory", "float", "predicted accuracy: exact (M7) for orthogonal codes, mean-field (M10) otherwise"),
        ),
        "check": (
            C("check", "str", "the bound or identity checked (theory.margins)"),
            C("kind", "str", "lower_bound, upper_bound, identity or approximation"),
            C("stat", "str", "the statistic the bound is about"),
            C("level", "float", "the noise level of the check"),
            C("value", "float", "the theory's value"),
            C("empirical", "float", "the measured value"),
            C("tightness", "float", "empirical / bound (bound / empirical for upper bounds); 1 = tight"),
            C("holds", "float", "share of covered samples on which a margin bound holds; 0/1 (4-SE test) for error bounds"),
            C("informative", "float", "share of samples on which the bound is not vacuous"),
            C("covered", "float", "share of test samples whose true feature is represented and active"),
        ),
        "theory": (
            C("nu", "float", "interference of the code (mean-field (M10))"),
            C("lam_star", "float", "mean-field balance noise (M11): above it mono should win"),
            C("lam_lo", "float", "lower end of the verified bracket of lam_star"),
            C("lam_hi", "float", "upper end of the bracket"),
            C("f_lo", "float", "balance function at lam_lo"),
            C("f_hi", "float", "balance function at lam_hi"),
            C("sign_at_zero", "int", "sign of the balance function at lam = 0 (+1: mono ahead on clean data)"),
        ),
    }, record_docs={"readout": "accuracy, margins and separation of one readout under one corruption level",
                    "check": "one bound of theory.margins against its measured counterpart",
                    "theory": "the mean-field balance noise of the cell's superposed code (one row per cell)"}),
))
