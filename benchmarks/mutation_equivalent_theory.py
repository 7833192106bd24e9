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
}
