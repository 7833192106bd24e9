"""Survivors of the claim checks in theory/two_feature_claims.py judged equivalent (loaded by
benchmarks/mutation.py): mutant -> reason."""
from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    "theory.two_feature_claims.x__check_transition_order__mutmut_230": "the inside point's key eta renamed: the point "
    "carries transition=(0, 0.9), and _label_kw (the only reader of a point's label model, via _sample) returns the "
    "transition whenever it is given, so eta is never read; _mc_difference reads no other key by that name",
    "theory.two_feature_claims.x__check_transition_order__mutmut_280": "eta=0.0 dropped from the w = 1 point: it "
    "carries transition=(0, 0.6), which _label_kw returns before it would look at eta, so eta is never read (as for "
    "mutant 230)",
    "theory.two_feature_claims.x__check_transition_order__mutmut_310": "'w1[\"z\"] <= -Z' for '< -Z': z is a ratio of "
    "continuous sample statistics (plug-in J difference over its SE on 10^6 samples); z == -5 exactly has "
    "probability 0",
    "theory.two_feature_claims.x__check_probe_transition__mutmut_10": "a different draw / grid of the same "
    "distribution: the check establishes the same claim; no correct test of it can tell (n_grid left at its default "
    "4001 instead of 801: every interval of the 24-point scan is bisected to the same ends, within 6e-13, and the "
    "intervals are the same in number, so c, (a, b) and every sub-condition are unchanged)",
    "theory.two_feature_claims.x__check_paper_input_noise__mutmut_10": "a different draw / grid of the same "
    "distribution: the check establishes the same claim; no correct test of it can tell (the w grid {0.2, 0.5, 1, 2, "
    "5} becomes {0.2, 1.5, 1, 2, 5}: still 5 weights on both sides of 1; the evidence names only their number, and "
    "poly stays ahead at every w, J by proof, Bayes and probe error on both grids)",
}
