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
    "n <= 4m + 1, n_iter 3 .. 1000) and 2502 larger ones (8 <= m < 40, n < 6m) under errstate(over='raise') "
    "never raised",
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
    # ---- sims.engine.lbfgs
    "sims.engine.lbfgs.x__assemble__mutmut_20": "concatenating a single part along axis 0 instead of taking it: "
    "the same array (a copy), same values",
    "sims.engine.lbfgs.x__fg_slots__mutmut_310": "dtype=float64 left out of the minibatch objective's linear term: "
    "on minibatches (lay.A is None) _gd_loop keeps only the gradient of _fg (``_, gb = _fg(...)``); the objective of "
    "a minibatch is discarded",
    "sims.engine.lbfgs.x__fg_slots__mutmut_350": "the chunks' results from the pool discarded and every chunk "
    "computed again in the calling thread: chunk() is deterministic (same inputs, same errstate), so the same "
    "partial sums are added in the same order, bit for bit; only the cost doubles",
    "sims.engine.lbfgs.x__lbfgs__mutmut_50": "dtype=float64 left out of rho's zeros: the default floating dtype of "
    "every supported namespace (numpy, array_api_strict, CuPy) is float64",
    "sims.engine.lbfgs.x__lbfgs__mutmut_260": "'> 0' for '>= 0' in the descent test: <g, d> == 0 needs g == 0 (d = "
    "-H g with H positive definite: gamma Minv is, and only curvature pairs with s^T y > 0 enter), and a problem "
    "with g == 0 has max |g| <= tol and left the batch before",
    "sims.engine.lbfgs.x__finish__mutmut_20": "dtype=int64 left out of np.full(k, it): a Python int fill gives "
    "numpy's default integer, int64 on the supported 64-bit platforms (and fit_sgd casts n_iter to int64)",
}
