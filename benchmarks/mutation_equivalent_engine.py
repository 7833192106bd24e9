"""Survivors of the engine groups (codes, generators, probes, sgd, toy_model) judged equivalent: mutant name ->
reason (no input in the function's documented domain tells the mutant from the original). Loaded by
``benchmarks/mutation.py`` (``_more_equivalents``); mutant names number the mutants within one function, so an
edit of that function renumbers them and its entries here must be checked again."""
from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    # ---- sims.engine.codes
    "sims.engine.codes.x__frame_build__mutmut_30": "errstate(over=None) for over='ignore' around the descent: the "
    "errstate only decides whether an overflow warns, and the potentials |G / ref|^p never overflow (ref is the "
    "coherence when p changes; steps, accepted or rejected, move it little): over every potential evaluated for "
    "frames n <= 100 the largest p log max|G / ref| is 2.4 % of log(float max), and 8877 random frames (m < 10, "
    "n <= 4m + 1, n_iter 3 .. 1000) and 2502 larger ones (8 <= m < 40, n < 6m) under errstate(over='raise') never raised",
    # ---- sims.engine.toy_model
    "sims.engine.toy_model.xǁSyntheticBatchesǁ__init____mutmut_80": "Interval(1, ) is Interval(1, None): same "
    "check, same message",
    "sims.engine.toy_model.xǁToyModelConfigǁimportance_array__mutmut_10": "dtype=float64 left out: __post_init__ "
    "stores importance as a tuple (of tuples) of Python floats (the config is frozen), which np.asarray makes "
    "float64 anyway",
    # ---- sims.engine.toy_solvers
    "sims.engine.toy_solvers.xǁ_NumpySolverǁ__init____mutmut_10": "scale '' for None as the placeholder: the "
    "training loop assigns state.scale before the first step (rows starts at -1, so the first batch always sets "
    "it) and the solver reads it only in a step",
    "sims.engine.toy_solvers.xǁ_NumpySolverǁ_buffers__mutmut_30": "the ReLU mask buffer float64 instead of bool: "
    "np.greater writes 1.0 / 0.0, and D * 1.0 or D * 0.0 computed in float64 and cast back to D's dtype is D * True "
    "or D * False bit for bit (exact products; -0.0 for negative D and NaN for non-finite D alike)",
}
