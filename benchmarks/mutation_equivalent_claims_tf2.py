"""Survivors of the two-feature claim checks judged equivalent (loaded by benchmarks/mutation.py): mutant -> reason.

Written with tests/test_mutation_kills_claims_tf2.py (the survivors it kills are in
mutation_killed_by_claims_tf2.py)."""
from __future__ import annotations

_SAME = ("a different draw / grid of the same distribution: the check establishes the same claim; no correct test "
         "of it can tell")

EQUIVALENT: dict[str, str] = {
    "theory.two_feature_claims.x__check_argmax_label_noise_order__mutmut_30": "'<= 0.5' for '< 0.5' on a uniform "
    "draw (rng.random): the two differ only when a draw is exactly 0.5 (probability 2^-53 per draw)",
    "theory.two_feature_claims.x__check_argmax_label_noise_order__mutmut_40": _SAME + " (the positive input noise "
    "of the 4000-point order scan drawn on [0, 4] instead of [0, 3])",
    "theory.two_feature_claims.x__check_probe_label_noise_invariant__mutmut_50": _SAME + " (w of the 200-point "
    "invariance scan log-uniform on [e^-2, e^3] instead of [e^-2, e^2])",
    "theory.two_feature_claims.x__presence_probe_window__mutmut_110": _SAME + " (50 instead of 31 log-spaced w in "
    "[1e-2, 10] on the (S, w) grid that only the evidence's description of the window uses; the verdict does not "
    "read it)",
    "theory.two_feature_claims.x__random_domain__mutmut_30": _SAME + " (positive lam log-uniform on [e^-6, e^2] "
    "instead of [e^-5, e^2])",
    "theory.two_feature_claims.x__random_domain__mutmut_80": "'a + b > 1' for 'a + b >= 1' in the reflection: the "
    "two differ only at a + b == 1.0 exactly (a, b multiples of 2^-53: probability ~2^-53 per point), and such a "
    "point is dropped by the final 'a + b < 1' filter either way (its reflection sums to 1 as well)",
    "theory.two_feature_claims.x__random_domain__mutmut_100": "'a - b < 1' for 'a + b < 1' as the final filter: "
    "after the reflection a + b < 1 holds except when the reflected sum rounds to >= 1 (a + b within one ulp of 1: "
    "probability ~2^-52 per point), and a - b < 1 holds except at a == 1, b == 0 (a drawn exactly 0): the filter "
    "keeps every point in both versions",
    "theory.two_feature_claims.x__presence_mono_ahead__mutmut_20": "'<= 0.3' for '< 0.3' on a uniform draw: the two "
    "differ only when a draw is exactly 0.3 (probability ~2^-53 per draw)",
    "theory.two_feature_claims.x__presence_mono_ahead__mutmut_80": "'a + b < 2' for 'a + b < 1' as the mask: after "
    "the reflection into the triangle a + b < 1 holds for every point but those whose reflected sum rounds to >= 1 "
    "(a + b within one ulp of 1: probability ~2^-52 per point), so the mask keeps the same points",
    "theory.two_feature_claims.x_verify_probe__mutmut_110": "reshape(batches, -2) for reshape(batches, -1): numpy "
    "(the pinned 2.x) takes any negative size as the one unknown dimension, the same (20, n / 20) array",
    "theory.two_feature_claims.x_verify_probe__mutmut_140": "the batch fit centres r by the mean over all batches "
    "instead of each batch's own: vc is centred within each batch (its entries sum to 0 along the axis), so "
    "sum(vc * (r - c)) is the same for any constant c: the same slope and intercept",
}
