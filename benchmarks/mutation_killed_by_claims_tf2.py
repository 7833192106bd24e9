"""Survivors of the two-feature claim checks killed by tests/test_mutation_kills_claims_tf2.py (loaded by
benchmarks/mutation.py; each shown with ``benchmarks/mutation.py --check MUTANT TEST``): mutant -> tests."""
from __future__ import annotations

_F = "tests/test_mutation_kills_claims_tf2.py::"
_M = "theory.two_feature_claims.x_"

KILLED_BY: dict[str, tuple[str, ...]] = {
    _M + "draw_point__mutmut_40": (_F + "test_draw_point_input_noise_is_zero_half_the_time_else_uniform_on_005_1",),
    _M + "draw_point__mutmut_80": (_F + "test_draw_point_keeps_both_presence_classes_populated",),
    _M + "draw_label_point__mutmut_10": (_F + "test_draw_label_point_of_a_kind_carries_only_that_label_noise_model",),
    _M + "verify_moments__mutmut_50": (_F + "test_verify_moments_class_probability_se_is_the_larger_of_sample_and_reference",),
    _M + "verify_noise_variance__mutmut_30": (_F + "test_verify_noise_variance_uses_n_samples",),
    _M + "verify_separation__mutmut_20": (_F + "test_verify_separation_takes_the_sign_of_the_gap_from_the_points_label_noise",),
    _M + "verify_separation__mutmut_70": (_F + "test_verify_separation_tolerates_an_order_1_over_n_relative_bias",),
    _M + "_scan_thresholds__mutmut_50": (_F + "test_scan_thresholds_span_the_support_widened_by_8_noise_scales",),
    _M + "verify_bayes__mutmut_130": (_F + "test_verify_bayes_scores_a_constant_rule_as_constant",),
    _M + "verify_bayes__mutmut_330": (_F + "test_verify_bayes_paired_z_is_the_difference_over_its_paired_se",),
    _M + "_grid_compare__mutmut_10": (_F + "test_grid_compare_axes_are_S_lam_w",),
    _M + "_check_argmax_label_noise_order__mutmut_50": (_F + "test_argmax_label_noise_order_check_scans_w_on_both_sides_of_1",),
    _M + "_check_argmax_label_noise_order__mutmut_120": (_F + "test_argmax_label_noise_order_check_measures_E8_in_relative_error",),
    _M + "_check_argmax_label_noise_order__mutmut_160": (_F + "test_argmax_label_noise_order_check_needs_its_monte_carlo",),
    _M + "_check_presence_mono_wins_J__mutmut_100": (_F + "test_presence_mono_wins_check_cross_checks_poly_by_monte_carlo",),
    _M + "_check_probe_label_noise_invariant__mutmut_30": (_F + "test_probe_label_noise_invariance_is_scanned_with_and_without_input_noise",),
    _M + "_presence_probe_window__mutmut_130": (_F + "test_presence_probe_window_check_logic_and_its_window",),
    _M + "_presence_probe_window__mutmut_140": (_F + "test_presence_probe_window_check_logic_and_its_window",),
    _M + "_random_domain__mutmut_20": (_F + "test_random_domain_draws_k_points_over_the_whole_transition_domain",),
    _M + "_random_domain__mutmut_40": (_F + "test_random_domain_draws_k_points_over_the_whole_transition_domain",),
    _M + "_random_domain__mutmut_90": (_F + "test_random_domain_draws_k_points_over_the_whole_transition_domain",),
    _M + "_random_domain__mutmut_50": (_F + "test_random_domain_margin_tau_is_infinite_at_a_tenth_of_the_points",),
    _M + "_presence_mono_ahead__mutmut_40": (_F + "test_presence_mono_ahead_gives_each_random_point_its_own_w_and_eta",),
    _M + "_presence_mono_ahead__mutmut_50": (_F + "test_presence_mono_ahead_gives_each_random_point_its_own_w_and_eta",),
    _M + "_presence_mono_ahead__mutmut_100": (_F + "test_presence_mono_ahead_gives_each_random_point_its_own_w_and_eta",),
    # written after the helper's pass (verify_probe's survivors were checked last in the group's run)
    "theory.two_feature_claims.x_verify_probe__mutmut_50": (_F + "test_verify_probe_with_the_threshold_given_is_the_default_check",),
    "theory.two_feature_claims.x_verify_probe__mutmut_80": (_F + "test_verify_probe_with_the_threshold_given_is_the_default_check",),
    "theory.two_feature_claims.x_verify_probe__mutmut_90": (_F + "test_verify_probe_with_the_threshold_given_is_the_default_check",),
    "theory.two_feature_claims.x_verify_probe__mutmut_160": (
        _F + "test_verify_probe_z_of_the_threshold_is_the_documented_batch_statistic",),
    "theory.two_feature_claims.x_verify_probe__mutmut_170": (
        _F + "test_verify_probe_z_of_the_threshold_is_the_documented_batch_statistic",),
    "theory.two_feature_claims.x__fmt_point__mutmut_10": (_F + "test_point_label_names_its_label_noise_model",),
    "theory.two_feature_claims.x__z__mutmut_10": (_F + "test_z_with_zero_standard_error",),
}
