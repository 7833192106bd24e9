"""Survivors of the claim checks (sims.robustness.claims, theory.margins_claims) killed by
tests/test_mutation_kills_claims_rob.py (loaded by benchmarks/mutation.py; each proven with --check)."""
from __future__ import annotations

_F = "tests/test_mutation_kills_claims_rob.py::"

KILLED_BY: dict[str, tuple[str, ...]] = {
    "sims.robustness.claims.x__sim_label_noise__mutmut_10":
        (_F + "test_sim_label_noise_is_mean_and_se_of_the_fits_at_the_given_noise",),
    "sims.robustness.claims.x__sim_label_noise__mutmut_20":
        (_F + "test_sim_label_noise_fits_are_on_independent_tasks",),
    "sims.robustness.claims.x__sim_label_noise__mutmut_30":
        (_F + "test_sim_label_noise_is_mean_and_se_of_the_fits_at_the_given_noise",),
    "sims.robustness.claims.x__sim_label_noise__mutmut_40":
        (_F + "test_sim_label_noise_is_mean_and_se_of_the_fits_at_the_given_noise",),
    "sims.robustness.claims.x_verify_finite_sample__mutmut_10":
        (_F + "test_finite_sample_default_prediction_is_the_model_at_each_points_noise",),
    "sims.robustness.claims.x_verify_finite_sample__mutmut_20":
        (_F + "test_finite_sample_default_prediction_is_the_model_at_each_points_noise",),
    "sims.robustness.claims.x_verify_finite_sample__mutmut_40":
        (_F + "test_finite_sample_draws_the_population_seed_from_its_generator",),
    "sims.robustness.claims.x_verify_input_noise_boundary__mutmut_10":
        (_F + "test_input_noise_boundary_passes_the_noise_model_and_sizes_to_the_population_model",),
    "sims.robustness.claims.x_verify_input_noise_boundary__mutmut_80":
        (_F + "test_input_noise_boundary_passes_the_noise_model_and_sizes_to_the_population_model",),
    "sims.robustness.claims.x_verify_input_noise_boundary__mutmut_90":
        (_F + "test_input_noise_boundary_with_noise_on_the_code_predicts_no_crossing_and_fails",),
    "sims.robustness.claims.x_verify_eta_invariance__mutmut_20":
        (_F + "test_eta_invariance_draws_its_random_code_from_the_generator",),
    "theory.margins_claims.x_check_readout__mutmut_20":
        (_F + "test_readout_check_uses_the_unbiased_sample_variance",),
    "theory.margins_claims.x_check_error_bounds__mutmut_90":
        (_F + "test_error_bounds_check_allows_five_se_not_more",),
    "theory.margins_claims.x_check_fisher__mutmut_50":
        (_F + "test_fisher_check_se_is_the_delta_method_se_of_a_ratio_of_means",),
    "theory.margins_claims.x_crossing_simulated__mutmut_70":
        (_F + "test_crossing_simulated_interpolates_linearly_between_the_bracketing_levels",),
    "sims.robustness.claims.x__fig5_sim__mutmut_80":
        (_F + "test_fig5_sim_gives_symmetric_95_percent_t_intervals_of_the_paired_differences",),
}
