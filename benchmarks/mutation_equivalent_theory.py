"""Survivors of the theory groups judged equivalent (loaded by benchmarks/mutation.py): mutant -> reason."""
from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    # ---- theory.two_feature
    "theory.two_feature.x__best_threshold_clean__mutmut_70": "the knot candidates scored as 'v > tau' also where "
    "'v >= tau' was meant: the two differ only by the atom of v at 0, which holds class 1 with share <= 1/2 "
    "(presence: 0; argmax mono: S/2; argmax poly: 1/2, a coin), so sending it to class 1 never lowers the error, "
    "and no clean best rule has orientation -1 (class 1 has the larger v in every law); identical Bayes "
    "thresholds on 34 S x 31 w x codes x tasks (errors within 6e-17)",
    "theory.two_feature.x__unique_knots__mutmut_50": "padding with the batch's largest knot instead of the row's: a "
    "padded row gets a window around a value that is no knot of it and its uniform grid is stretched to it; both "
    "only add candidates (each scored by its exact error), the windows of the row's own knots are all kept, so "
    "every sign change of g is still bracketed (as for _best_threshold_gaussian mutant 20)",
    "theory.two_feature.x_separation__mutmut_30": "errstate(divide) left at the caller's setting for the transition "
    "/ margin forms of J: no division of a non-zero number by zero occurs there on the domain (checked at S = 0, "
    "eta = 1/2, lam = 0 and 1e-200, w = 1e-300 and 1e300, a + b -> 1, tau = 1e-300 and inf under "
    "divide='raise'): an empty class gives 0/0, which is 'invalid' and still ignored",
    "theory.two_feature.x_separation__mutmut_70": "errstate(divide) left at the caller's setting for the symmetric "
    "form of J: no division of a non-zero number by zero on the domain (same edge battery as mutant 30 under "
    "divide='raise'); an empty class gives 0/0 ('invalid', still ignored)",
    # ---- claims
    "theory.two_feature_claims.x_verify_finite_sample__mutmut_50": "the initial value of ok is never read: ok is "
    "assigned from the comparison at the largest n before its only use",
    "theory.two_feature_claims.x_verify_finite_sample__mutmut_70": "the simulation without noise=p['noise'] draws "
    "Gaussian noise: finite_sample_terms (called first) refuses uniform noise with lam > 0, and at lam = 0 the noise "
    "law is never used",
    "theory.two_feature_claims.x_verify_moments__mutmut_30": "P(y~ = 2) (1 - P(y~ = 2)) for P(y~ = 1) (1 - "
    "P(y~ = 1)) in the SE floor: the two reference probabilities sum to 1, so the product is the same (to round-off)",
    "theory.two_feature_claims.x__uniform_vs_gaussian__mutmut_40": "dict(p, ) for dict(p, noise='uniform'): the "
    "point is drawn with noise='uniform' fixed, so it already says uniform",
    "theory.two_feature_claims.x__check_probe_transition__mutmut_50": "(2 - c) for (1 - c) in the b-branch (c <= "
    "1/2): c is the midpoint of the first interval at the fixed point S = 0.9, w = 2, lam = 0.1 of the fixed scan, "
    "(0.5805, 1.3897), midpoint 0.985 > 1/2: the branch is never taken",
    "sims.robustness.claims.x_verify_eta_invariance__mutmut_110": "adding instead of subtracting the class mean of "
    "the clean coefficients: the h-coefficients of a least-squares fit of one-hot targets sum to 0 over the classes "
    "(the targets sum to the constant 1, which the intercept absorbs), so that mean is 0 to round-off (slope "
    "identical to 1e-16 at the check's seed)",
    "sims.robustness.claims.x_verify_eta_invariance__mutmut_120": "as mutant 110 for the noisy coefficients: their "
    "class mean is 0 to round-off (the noisy one-hot targets also sum to 1)",
    "sims.robustness.claims.x_verify_eta_invariance__mutmut_170": "|z| < Z for |z| <= Z: z is a ratio of continuous "
    "sample statistics, |z| == 5 exactly has probability 0",
    "sims.robustness.claims.x__check_fig5_input__mutmut_20": "np.zeros(None) (a 0-d False) for np.zeros(mu.shape) "
    "where lam* is NaN: crossing gives NaN only with direction 0, so ok is False through direction == 1 on both "
    "(and any() over an empty selection is False on both)",
    "theory.margins_claims.x__sample__mutmut_10": "'> S' for '>= S' on a uniform draw: they differ only when the "
    "draw equals S exactly, probability <= 2^-53 per entry",
    "theory.two_feature_claims.x__check_argmax_poly_wins_J__mutmut_30": "'<= 0.3' for '< 0.3' on a uniform draw: "
    "differ only when the draw is exactly 0.3 (probability ~2^-53)",
    "theory.two_feature_claims.x__check_presence_mono_wins_J__mutmut_30": "'<= 0.3' for '< 0.3' on a uniform draw: "
    "differ only when the draw is exactly 0.3 (probability ~2^-53)",
    "theory.two_feature_claims.x__check_argmax_poly_wins_J__mutmut_130": "'<' for '<=' in the positive control: "
    "its point is fixed (S = 0.9, w = 3, transition (0, 0.9)) and there |J_mono - J_poly| = 6.9e-18, far from the "
    "bound 1e-9 J = 3.2e-11",
    "theory.two_feature_claims.x__check_argmax_poly_wins_J__mutmut_180": "'r >= 1' for 'r > 1': J_poly / J_mono "
    "== 1.0 exactly would need J_poly == J_mono bitwise at a random point, where the claim (and every scan) has "
    "J_poly > J_mono by at least O(w)",
    "theory.two_feature_claims.x__check_argmax_poly_wins_J__mutmut_200": "the control's J_poly printed for J_mono: "
    "at its fixed point they agree to 7e-18 (0.03237 both, at 5 decimals)",
    "theory.two_feature_claims.x__check_paper_clean__mutmut_70": "'>= 1e-12' for '> 1e-12' on the check's fixed "
    "grids (no random input): no difference equals 1e-12 exactly there (nearest: 1e-12 - 9.99997e-13, i.e. a "
    "tie at 0), so every share is the same",
}
