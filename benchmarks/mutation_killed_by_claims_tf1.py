"""Survivors of the claim checks in theory/two_feature_claims.py killed by tests/test_mutation_kills_claims_tf1.py
(loaded by benchmarks/mutation.py): mutant -> the pytest node ids that fail on it (each proven with
``benchmarks/mutation.py --check``)."""
from __future__ import annotations

_F = "tests/test_mutation_kills_claims_tf1.py::"
_M = "theory.two_feature_claims.x_"

KILLED_BY: dict[str, tuple[str, ...]] = {
    _M + "_check_finite_no_crossover__mutmut_50":
        (_F + "test_finite_no_crossover_fails_on_a_resummed_crossover_in_any_documented_cell",),
    _M + "_check_finite_no_crossover__mutmut_110":
        (_F + "test_finite_no_crossover_reports_nan_when_the_expansion_finds_no_eta_star",),
    _M + "_check_paper_label_noise__mutmut_70": (_F + "test_paper_label_noise_needs_every_part",),
    _M + "_check_paper_input_noise__mutmut_50": (_F + "test_paper_input_noise_fails_where_poly_separates_worse",),
    _M + "_check_paper_input_noise__mutmut_80":
        (_F + "test_paper_input_noise_compares_uniform_noise_over_the_input_noise_grid",),
    _M + "_check_paper_input_noise__mutmut_90":
        (_F + "test_paper_input_noise_compares_uniform_noise_over_the_input_noise_grid",),
    _M + "_check_paper_input_noise__mutmut_130":
        (_F + "test_paper_input_noise_fails_on_a_finite_sample_crossover_in_any_documented_cell",),
    _M + "_check_paper_input_noise__mutmut_190": (_F + "test_paper_input_noise_passes_in_a_world_where_poly_stays_ahead",),
    _M + "_check_transition_order__mutmut_60": (_F + "test_transition_order_ties_are_relative_to_J",),
    _M + "_check_transition_order__mutmut_110":
        (_F + "test_transition_order_rejects_a_region_beyond_the_documented_bound",),
    _M + "_check_transition_order__mutmut_130":
        (_F + "test_transition_order_rejects_a_region_beyond_the_documented_bound",),
    _M + "_check_transition_order__mutmut_140": (_F + "test_transition_order_accepts_region_points_with_w_just_above_one",),
    _M + "_check_transition_order__mutmut_180": (_F + "test_transition_order_needs_the_tie_on_the_boundary",),
    _M + "_check_transition_order__mutmut_270": (_F + "test_transition_order_simulates_its_two_documented_points",),
    _M + "_check_transition_order__mutmut_300": (_F + "test_transition_order_needs_the_tie_on_the_boundary",
                                                 _F + "test_transition_order_needs_both_monte_carlo_confirmations"),
    _M + "_check_margin_poly_wins__mutmut_230": (_F + "test_margin_poly_wins_rejects_a_ratio_formula_one_percent_off",),
}
