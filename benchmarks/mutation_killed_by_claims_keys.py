"""Survivors of the claims group that rename a key of a check's ``numbers`` (the JSON evidence of
``python -m theory --check --json``): killed by the key check in ``test_every_claim_check_passes``
(tests/data/claim_numbers_keys.json), written after the group ran. ``benchmarks/mutation.py --recheck`` applies
each and records the kill only when its test fails on the mutant and passes unmutated."""

_T = "tests/test_theory_claims.py::test_every_claim_check_passes[{}]"

KILLED_BY: dict[str, tuple[str, ...]] = {
    "theory.two_feature_claims.x__check_probe_label_noise_invariant__mutmut_150": (
        _T.format("tf.probe.label_noise_invariant"),),
    "theory.two_feature_claims.x__presence_probe_window__mutmut_170": (_T.format("tf.presence.probe_window"),),
    "theory.two_feature_claims.x__check_paper_label_noise__mutmut_90": (_T.format("paper.label_noise_mono_better"),),
    "theory.two_feature_claims.x__check_paper_label_noise__mutmut_100": (_T.format("paper.label_noise_mono_better"),),
    "theory.two_feature_claims.x__check_transition_order__mutmut_340": (_T.format("tf.J.transition_order"),),
    "theory.two_feature_claims.x__check_transition_order__mutmut_350": (_T.format("tf.J.transition_order"),),
    "theory.two_feature_claims.x__check_probe_transition__mutmut_160": (_T.format("tf.probe.transition_reversal"),),
    "theory.two_feature_claims.x__check_paper_input_noise__mutmut_30": (_T.format("paper.input_noise_reverses"),),
    "sims.robustness.claims.x__check_fig5_clean__mutmut_20": (_T.format("paper.fig5.clean_poly_better"),),
}
