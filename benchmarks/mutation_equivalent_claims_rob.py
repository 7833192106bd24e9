"""Survivors of the claim checks (sims.robustness.claims, theory.margins_claims) judged equivalent (loaded by
benchmarks/mutation.py): mutant -> reason."""
from __future__ import annotations

_DRAW = "a different draw of the same distribution: the check establishes the same claim; no correct test of it can tell"

EQUIVALENT: dict[str, str] = {
    # ---- sims.robustness.claims
    "sims.robustness.claims.x_verify_input_noise_boundary__mutmut_20": "np.asarray(lams, dtype=None) for dtype="
    "float64: lams is a Sequence[float], whose asarray is already float64 (Python ints give int64 with the same "
    "values); lv is only read by sc.input_noise and predicted_accuracy_draws (check_values: float64 copies) and "
    "crossing (_real_1d: astype(float64)), so every consumer sees the same float64 values",
    # the population models' seed drawn below 2**63 instead of 2**62
    "sims.robustness.claims.x_verify_input_noise_boundary__mutmut_70": _DRAW,
    # 401 instead of 400 bootstrap draws of the simulated crossing
    "sims.robustness.claims.x_verify_input_noise_boundary__mutmut_140": _DRAW,
    # label flips seeded with seed + 2 instead of seed + 1 (both differ from the features' and labels' seed)
    "sims.robustness.claims.x_verify_eta_invariance__mutmut_70": _DRAW,
}
