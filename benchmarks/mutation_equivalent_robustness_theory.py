"""Survivors of theory.robustness judged equivalent (loaded by benchmarks/mutation.py): mutant -> reason."""
from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    "theory.robustness.x_population_model__mutmut_180": "seed key 'robustness-theory' -> None (stable_key(None)): "
    "a different draw of the same distribution; no correct test can tell",
    "theory.robustness.x_population_model__mutmut_330": "seed key 'test' -> 'TEST' of the argmax tie-break stream "
    "of the test labels: a different draw of the same distribution; no correct test can tell",
    "theory.robustness.x_predicted_accuracy_draws__mutmut_130": "seed constant 0xD4A5 (54437) -> 54438: a different "
    "draw of the same distribution; no correct test can tell",
    "theory.robustness.x_population_model__mutmut_240": "x - lam z for x + lam z: z is drawn from a law symmetric "
    "about 0 (N(0, 1) or U(-sqrt 3, sqrt 3), the only noise kinds), so -z has the law of z: a different draw of the "
    "same distribution; no correct test can tell",
    "theory.robustness.x_predicted_accuracy__mutmut_220": "safe = 2.0 instead of 1.0 where sd == 0: safe only "
    "avoids a division by zero there, and np.where(sd > 0, ..., 0.0) replaces gam by 0 at exactly those entries, "
    "so gam is the same everywhere",
}
