"""Mutation score of the default test run over the numeric cores (not run by CI; run by hand).

    .venv/bin/python benchmarks/mutation.py [--sample 10] [--children 1] [--group NAME ...] [--timeout S]
    .venv/bin/python benchmarks/mutation.py --check MUTANT TEST ...     # one stored survivor against some tests
    .venv/bin/python benchmarks/mutation.py --recheck [--group NAME]    # record kills listed in KILLED_BY

For each group below (the modules it mutates, the test files that cover them), this script copies ``sims/``,
``theory/``, ``tests/`` and ``pyproject.toml`` into a fresh temporary folder, writes a ``setup.cfg`` with a
``[mutmut]`` section there (the repository itself is not touched), and runs mutmut 3
(``pip install 'mutmut>=3.8,<4'``; the script installs it into the running interpreter when it is missing)
on a deterministic sample of the mutants: those whose number ends in one of the digits of ``--sample``
(``--sample 10``: digits ``0`` -> 10 %; ``--sample 20``: ``0`` and ``5``; ``--sample 100``: all). mutmut
runs, for every mutant, the tests of the group's files that execute the mutated function (its own coverage
map), with ``-x``, in ``--children`` workers forked from a process that has only collected the tests
(``process_isolation=forkserver``: forked from the process that ran the suite, a mutated function behind a cache
would answer from the cache). mutmut's progress goes to ``$TMPDIR/mutation-<group>.log``.

Score = killed / (mutants - judged equivalent), where killed counts mutmut's "killed", "timeout" and
"caught by type check" verdicts, plus the survivors of ``AT_IMPORT`` (code run once at import, which mutmut's
trampolines cannot switch; likewise every mutant of the functions of ``IMPORT_TIME``) whose listed tests fail when
the mutant is applied to a fresh copy of the source. "Fail" is any pytest exit other than 0, among them 2 and 4 (a
mutant that breaks the import of a module the tests or ``conftest.py`` load is a collection error, and it fails the
default test run as surely as a failed assertion), counted only when the same tests pass (exit 0) on an unmutated
copy made the same way (run once per test list): a failure of the copy itself is never credited to a mutant.
The survivors judged equivalent (no input in the function's documented domain can tell them apart: e.g.
``device=None`` on the host, a keyword equal to its default) are listed with the reason in ``EQUIVALENT`` below;
mutant names number the mutants within one function, so an edit of that function renumbers them. Writes
``benchmarks/results/mutation.json`` after every group (per group: counts, score, every surviving mutant with
its status and diff, seconds) and prints a table. ``--check MUTANT TEST ...`` applies a stored survivor's diff
to a temporary copy and runs the given tests there: how a test written against a survivor is shown to kill it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "mutation.json"

#: group -> (modules mutated, test files run against them)
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "codes": (("sims/engine/codes.py",), ("tests/test_codes.py", "tests/test_fuzz_api.py")),
    "generators": (("sims/engine/generators.py",), ("tests/test_generators.py", "tests/test_fuzz_api.py")),
    "probes": (("sims/engine/probes.py",), ("tests/test_probes.py", "tests/test_fuzz_api.py")),
    "sgd": (("sims/engine/sgd.py", "sims/engine/lbfgs.py"), ("tests/test_sgd.py", "tests/test_fuzz_api.py")),
    "toy_model": (("sims/engine/toy_model.py", "sims/engine/toy_solvers.py"),
                  ("tests/test_toy_model.py", "tests/test_fuzz_api.py")),
    "theory.two_feature": (("theory/two_feature.py",), ("tests/test_theory_two_feature.py",
                                                        "tests/test_theory_label_noise.py")),
    "theory.margins": (("theory/margins.py",), ("tests/test_margin_theory.py",)),
    # theory.robustness: deselected, the boundary check that trains toy models (two calls of
    # verify_input_noise_boundary, minutes per mutant under mutmut); it runs in the default test run, and a mutant
    # only it reaches counts as a survivor ("no tests")
    "theory.robustness": (("theory/robustness.py",), (
        "tests/test_theory_robustness.py",
        "--deselect=tests/test_theory_robustness.py::test_input_noise_boundary_check_passes_and_catches_noise_on_the_code")),
    # claims: per mutant mutmut runs every test that executes the mutated function, to the end when it survives.
    # Deselected: the robustness study's two full-size checks (robust.boundary.input_noise trains 6 toy-model pairs
    # and fits their population models, ~45 s CPU per run under mutmut and ~390 s in its traced stats run;
    # robust.finite_sample.accuracy ~100 s traced): over their ~30 sampled mutants they alone take hours. Those
    # checks run at full size in tests/test_theory_robustness.py (and the default test run); their decision logic
    # is tested on stand-ins in tests/test_mutation_kills_theory.py, and a mutant no remaining test reaches counts
    # as a survivor ("no tests"). Also deselected: the CLI test, whose checks run in a subprocess (mutmut maps no
    # function to it; the registry builders' mutants still run it, see IMPORT_TIME).
    "claims": (("theory/two_feature_claims.py", "theory/margins_claims.py", "sims/robustness/claims.py"),
               ("tests/test_theory_claims.py",
                "--deselect=tests/test_theory_claims.py::test_every_claim_check_passes[robust.boundary.input_noise]",
                "--deselect=tests/test_theory_claims.py::test_every_claim_check_passes[robust.finite_sample.accuracy]",
                "--deselect=tests/test_theory_claims.py::test_cli_table_json_and_bad_input")),
}
#: tests written against survivors (tests/test_mutation_kills.py) run in every group: mutmut runs, per mutant,
#: only the tests that execute the mutated function
KILL_TESTS = ("tests/test_mutation_kills.py", "tests/test_mutation_kills_engine.py",
              "tests/test_mutation_kills_theory.py", "tests/test_mutation_kills_claims_tf1.py",
              "tests/test_mutation_kills_claims_tf2.py", "tests/test_mutation_kills_claims_rob.py",
              "tests/test_mutation_kills_robustness_theory.py")
for _name, (_mods, _tests) in GROUPS.items():
    GROUPS[_name] = (_mods, _tests + tuple(t for t in KILL_TESTS if (ROOT / t).is_file()))

#: survivors judged equivalent: mutant name -> reason (filled from the runs; see the module docstring)
EQUIVALENT: dict[str, str] = {
    # ---- theory.margins
    "theory.margins.x__moments__mutmut_70": "copy=None for copy=True: the arrays come fresh from the generated code "
    "and are not used again, so writing into them in place is writing into a copy",
    "theory.margins.x__moments_quadrature__mutmut_10": "deg // 3 + 2 Gauss-Legendre nodes for deg // 2 + 2: not "
    "exact for n > 8 in exact arithmetic, but against exact rational integrals both rules are within round-off "
    "(alpha, beta <= 1e-12 rel. for n <= 1024, S in (0.9, 1)), below the moments' own round-off (sM: 1e-10 .. 1e-9)",
    "theory.margins.x_balance_noise__mutmut_30": "n_rep is checked again, with the same Interval(1, n) and message, "
    "by meanfield_accuracy in the first evaluation of f, before anything is returned",
    "theory.margins.x_balance_noise__mutmut_110": "comparing each sign with sign(vals[0]) instead of the previous "
    "one finds the same first change (every earlier value has vals[0]'s sign); they differ only after exact zeros "
    "at both lam = 0 and lam = lam_max / (n_grid - 1) with f not identically 0",
    "theory.margins.x_balance_noise__mutmut_190": "fb != 1 for fb != 0: fb = A_mono - A_sup < 1 always (A_sup > 0: "
    "every represented class is predicted with positive probability), and with fb == 0 the sign test needs fa == 0, "
    "which fa != 0 refuses",
    "theory.margins.x_coherence__mutmut_10": ">= for > 1e-12 on the column norms: columns are unit vectors or zero "
    "(documented), never of norm exactly 1e-12",
    "theory.margins.x_expected_fisher_separation__mutmut_30": "Interval(2, inf) closed '[]' for '[)': inf is never "
    "inside an Interval, the same n are accepted; only the refusal message prints '[2, inf]' for '[2, inf)'",
    "theory.margins.x_expected_fisher_separation__mutmut_60": "Interval(1, None, '[)') is Interval(1, inf, '[)'): "
    "same set, same message",
    "theory.margins.x_fisher_separation_code__mutmut_30": "sparsity is checked again, same range and message, by "
    "argmax_moments in fisher_parts; only when lam is bad as well is lam named first",
    "theory.margins.x_interference_loss__mutmut_20": "n_rep <= n is checked again, same Interval(1, n) and message, "
    "by orthogonal_accuracy before anything else",
    "theory.margins.x_meanfield_accuracy__mutmut_20": "n_rep <= n is checked again, same Interval(1, n) and message, "
    "by orthogonal_accuracy; only when nu, lam or sparsity is bad as well is that one named first",
    "theory.margins.x_margin_bound_worst__mutmut_90": "mu <= 1/3 for mu < 1/3: at mu = 1/3 both pieces equal "
    "(2/3) gap - (2/3)(k - 2)(b - gap) (the bound is continuous there); computed, they differ by <= 2 ulp",
    # ---- theory.two_feature (atoms: every atom of v sits at 0, see _gen.pieces_*; numpy 2.x: reshape(-2) is -1)
    "theory.two_feature.x__best_threshold_clean__mutmut_50": "'|' for '&' lets a vertex outside its knot interval "
    "replace the interval's midpoint as candidate: every candidate is scored by its exact error, and the midpoint is "
    "never needed (a quadratic piece without interior vertex has its minimum at a knot, already a candidate)",
    "theory.two_feature.x__best_threshold_gaussian__mutmut_20": "the uniform grid stretched to twice the support: it "
    "is redundant, the knot windows span kmin - 8 s .. kmax + 8 s and between windows g is affine (docstring), so "
    "consecutive window points bracket every sign change; minimum unchanged up to round-off (<= 2e-16 on the "
    "battery), only the choice among rules tying within round-off moves",
    "theory.two_feature.x__best_threshold_gaussian__mutmut_30": "the uniform grid laid left of the support instead "
    "of over it: redundant, as for mutant 20 (the knot windows bracket every sign change of g)",
    "theory.two_feature.x__best_threshold_gaussian__mutmut_80": "'<= 0' also brackets grid points where g is exactly "
    "0: their bisection returns that grid point, already a candidate",
    "theory.two_feature.x__best_threshold_gaussian__mutmut_180": "a non-stable sort of the row indices: each row "
    "gets the same set of candidate thresholds, in another order; only an exact tie in error could change which of "
    "two optimal thresholds is reported",
    "theory.two_feature.x__best_threshold_uniform__mutmut_20": "knots - k for knots + k: the offsets k are the "
    "symmetric set {+-(c1 + c2), +-|c1 - c2|}, the same breakpoints",
    "theory.two_feature.x__best_threshold_uniform__mutmut_50": "reshape(N, -2): numpy 2.x treats any negative size "
    "as the unknown dimension, same as -1",
    "theory.two_feature.x__best_threshold_uniform__mutmut_170": "r1 not clipped above 1: the pieces inside [-1, 1] "
    "are unchanged ([-1, r2], [r2, 1]), an extra piece [1, r1] adds a candidate outside the interval, scored by its "
    "exact error",
    "theory.two_feature.x__best_threshold_uniform__mutmut_250": "bracket [0, 1] for rows without a sign change: their "
    "bisection result is discarded (root = a_ where not has)",
    "theory.two_feature.x__chunked__mutmut_10": "'<' for '<=' at exactly 8 blocks: that size takes the block loop, "
    "which evaluates the same elementwise function (same values, checked at 32768 elements)",
    "theory.two_feature.x__chunked__mutmut_40": "op_flags left out: numpy's defaults are readonly for given operands "
    "and writeonly + allocate for None ones, the flags written out",
    "theory.two_feature.x__clean_piece_pdf__mutmut_20": "side < 1: side 0 now takes the half-open branch; side 0 is "
    "only used on laws with input noise, where the noise-free density is discarded (np.where(clean, ...))",
    "theory.two_feature.x__exp_basis__mutmut_10": "1 / tau for every tau: 1 / inf is exactly 0, the value the where "
    "put there",
    "theory.two_feature.x__exp_basis__mutmut_30": "the series' placeholder argument for rows with z > 1: those rows "
    "take the incomplete-gamma branch, the series value is discarded",
    "theory.two_feature.x__finite_terms__mutmut_90": "einsum subscripts in capitals: same contraction",
    "theory.two_feature.x__finite_terms__mutmut_110": "side 2 for side 1: only its sign is used (side > 0)",
    "theory.two_feature.x__finite_terms__mutmut_200": "dtype=None: every value is float64 already",
    "theory.two_feature.x__gauss_piece__mutmut_50": "d > s for d >= s: at d == s exactly the piece takes the "
    "8-point quadrature instead of the closed form; both are exact to < 1e-17 of the mass there (docstring)",
    "theory.two_feature.x__labels__mutmut_70": "unravel_index on a 0-d total: np.unravel_index(0, ()) is (), the "
    "index the else branch gives",
    "theory.two_feature.x__normal_approx__mutmut_10": "reshape(-2): numpy 2.x treats any negative size as -1",
    "theory.two_feature.xǁ_Labelsǁreshaped__mutmut_10": "reshape(-2): numpy 2.x treats any negative size as -1",
    "theory.two_feature.x__sigma_z__mutmut_10": "rho gets a fifth entry M[0, 4], never used",
    "theory.two_feature.x__unif_cdf__mutmut_50": "'<' for '<=' at z = -(al + be): the next branch gives the ramp "
    "(z + al + be)^2 / (8 al be) = 0 there (or, at be = 0, the linear part (z + al) / (2 al) = 0): the CDF is "
    "continuous",
    "theory.two_feature.x__unif_cdf__mutmut_60": "'<=' for '<' at z = -(al - be): both pieces equal be / (2 al) "
    "there (continuity); at be = 0 the first branch catches the point",
    "theory.two_feature.x__unif_piece_cdf__mutmut_60": "invalid=None: no invalid operation can occur there (finite "
    "densities over a denominator d > 0 or 1)",
    "theory.two_feature.x__unif_piece_cdf__mutmut_90": "loops over pts.shape[1] - 1 = (pieces - 1) sub-intervals: "
    "every law has 5 or 6 pieces, so at most the last sub-interval [pts[4], b] is skipped, where tau - x < "
    "-(al + be) and the noise CDF is 0",
    "theory.two_feature.x__unique_knots__mutmut_20": "np.diff without axis: the default is the last axis, axis 1 of "
    "this 2-d array",
    "theory.two_feature.x_class_moments__mutmut_100": "dtype left out: every moment is float64 already",
    "theory.two_feature.x_probe_transition_level__mutmut_10": "task 'ARGMAX' for 'argmax': _labels reads the task "
    "only with margin_noise, and only a transition is passed",
    "theory.two_feature.x_transition_one_minus_A__mutmut_10": "task 'ARGMAX': _labels reads the task only with "
    "margin_noise, and only a transition is passed",
    "theory.two_feature.x_transition_one_minus_A__mutmut_20": "dtype left out: the value is float64 already",
    "theory.two_feature.x_probe_transition_reversal__mutmut_220": "dtype=None: the levels are float64 already (a "
    "float64 grid or a Python float)",
    "theory.two_feature.x_rule_error__mutmut_70": "p1 reshaped to (K,) instead of (1, K): it broadcasts against the "
    "(1, K) rules to the same values",
    "theory.two_feature.x_separation_crossover_lambda__mutmut_110": "placeholder 1.0 for 0.0 under sqrt where "
    "lam2 <= 0: those entries are replaced by NaN",
    "theory.two_feature.xǁ_Lawǁsub_cdf__mutmut_60": "no guard on s for rows without noise: their noisy values "
    "(divisions by 0 under errstate ignore) are replaced by the exact noise-free ones",
    "theory.two_feature.xǁ_Lawǁsub_cdf__mutmut_70": "tau + loc for tau - loc: every atom of v is at 0 in this model",
    "theory.two_feature.xǁ_Lawǁwith_gaussian__mutmut_20": "clean = None: the smoothed std sqrt(s^2 + sigma2 / n) is "
    "> 0, so no row is noise-free and None (falsy in np.all / np.where) selects the same branch",
    # ---- sims.engine.codes
    "sims.engine.codes.x__frame_start__mutmut_20": "the start divided by its Frobenius norm instead of per column: "
    "both consumers are scale-invariant (QR's Q for n <= m; for n > m the descent starts with exact polar factors, "
    "the same for any positive scale)",
    "sims.engine.codes.x_frame_steps__mutmut_30": "Interval(1, ) is Interval(1, None): same check, same message",
    "sims.engine.codes.x_welch_bound__mutmut_30": "Interval(1, ) is Interval(1, None): same check, same message",
    # ---- sims.engine.generators
    "sims.engine.generators.x_sample_features__mutmut_30": "start is checked again, as an integer with the same "
    "message, by the row stream (draw_rows); an integral float such as 2.0 is accepted by both",
    "sims.engine.generators.x_sample_features__mutmut_130": "amp kept float64 (astype(None)) before the product: the "
    "final cast to the requested dtype rounds the same values (amp * 1 + 0 is exact in float64)",
    "sims.engine.generators.x_sample_features__mutmut_140": "dtype left out of the final asarray: the host array "
    "already has the requested dtype (hdt is float32 exactly when dt is)",
    "sims.engine.generators.xǁFeatureSpecǁfrom_dict__mutmut_10": "lists passed on as lists: __post_init__ turns every "
    "sequence field into a tuple of floats (round trip checked: from_dict(to_dict()) == spec)",
    # ---- sims.engine.probes
    "sims.engine.probes.x__finalize__mutmut_30": "coef not copied: it is a fresh array of the solver (never the "
    "caller's memory), and dropping a singleton label-set axis leaves it contiguous",
    "sims.engine.probes.x__prepare__mutmut_70": "H cast (copied) even when already of the working dtype: H is only "
    "read afterwards, same values",
    "sims.engine.probes.x__solve_cholesky__mutmut_20": "alpha >= 0 adds 0 * I at alpha = 0: G + 0 has the same values",
}

#: survivors that mutmut cannot activate: the mutated code runs once, at import, before its trampoline can switch to
#: the mutant (a module constant computed by the function). mutant -> the tests that kill it when the mutant is applied
#: to the source; the script applies it to a fresh copy and runs them, and counts the mutant as killed only if they fail
AT_IMPORT: dict[str, tuple[str, ...]] = {
    "theory.margins.x__t_nodes__mutmut_10": ("tests/test_margin_theory.py::test_orthogonal_accuracy_vs_monte_carlo",),
}

#: group -> (functions run only at import, the tests to run against each of their surviving mutants applied to the
#: source): the claim modules build their registry entries at import (``CLAIMS = _register_all()``), where mutmut's
#: trampolines cannot switch to a mutant; these tests read the registry (ids, fields, verdicts cited by the README)
IMPORT_TIME: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claims": (("_make_claims", "_register_all"),
               ("tests/test_mutation_kills_theory.py::test_claims_registry_is_the_documented_one",  # first: fast
                "tests/test_theory_claims.py::test_registry_contents_and_fields",
                "tests/test_theory_claims.py::test_registry_is_extensible",
                "tests/test_theory_claims.py::test_cli_table_json_and_bad_input",
                "tests/test_readme_findings.py", "tests/test_mutation_kills.py::test_claims_registry_fields")),
}

#: survivors of a group's last run killed by tests written since: mutant -> the pytest node ids that fail on it
#: (from ``mutation_killed_by_*.py`` beside this script, each defining ``KILLED_BY``). ``--recheck`` applies each
#: such survivor to a fresh copy, runs its tests there and on an unmutated copy, and records the kill when they
#: fail on the mutant only (the tests are in the default run, so it would fail too); a full rerun of the group
#: finds the same kill by itself (the kill-test files run in every group)
KILLED_BY: dict[str, tuple[str, ...]] = {}


def _more_equivalents() -> None:
    """Judgements kept beside this script (``mutation_equivalent_*.py``, each defining ``EQUIVALENT``;
    ``mutation_killed_by_*.py``, each defining ``KILLED_BY``)."""
    for pattern, name, target in (("mutation_equivalent_*.py", "EQUIVALENT", EQUIVALENT),
                                  ("mutation_killed_by_*.py", "KILLED_BY", KILLED_BY)):
        for path in sorted(Path(__file__).parent.glob(pattern)):
            spec = importlib.util.spec_from_file_location(path.stem, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            target.update(getattr(mod, name))


_more_equivalents()

_KILLED = ("killed", "timeout", "caught by type check", "killed (applied)")


def _ensure_mutmut() -> None:
    if importlib.util.find_spec("mutmut") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mutmut>=3.8,<4"], check=True)


def _setup_cfg(modules: tuple[str, ...], tests: tuple[str, ...]) -> str:
    lines = ["[mutmut]", "source_paths=", "    sims", "    theory", "only_mutate="]
    lines += [f"    {m}" for m in modules]
    lines += ["pytest_add_cli_args_test_selection="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args=", "    -p", "    no:cacheprovider", "    -q", "    -x"]
    # each mutant's tests run in a process forked from one that has only collected the tests: with mutmut's default
    # ("fork") they fork from the process that ran the whole suite, whose caches (functools.lru_cache of a mutated
    # function) then answer for the mutant and hide it
    lines += ["process_isolation=forkserver", ""]
    return "\n".join(lines)


def _patterns(sample: int) -> list[str]:
    """fnmatch patterns of the sampled mutant names (by the last digit of their number)."""
    if sample >= 100:
        return []
    digits = {10: "0", 20: "05", 30: "036", 40: "0369", 50: "02468"}.get(sample)
    if digits is None:
        raise SystemExit(f"--sample == {sample}, must be one of 10, 20, 30, 40, 50, 100")
    return [f"*__mutmut_*{d}" for d in digits] + [f"*__mutmut_{d}" for d in digits if d != "0"]


def run_group(name: str, sample: int, children: int, timeout: float) -> dict:
    modules, tests = GROUPS[name]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mutation-{name}-") as tmp:
        work = Path(tmp)
        for part in ("sims", "theory", "tests"):
            shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
        (work / "setup.cfg").write_text(_setup_cfg(modules, tests))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *_patterns(sample)]
        log = Path(tempfile.gettempdir()) / f"mutation-{name}.log"  # mutmut's progress, to follow a long run
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                status = proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:  # stop mutmut and its forked workers (its own process group)
                timed_out, status = True, None
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        failure = None
        if status not in (0, None):  # e.g. "failed to collect stats": a test failed in the unmutated run
            tail = log.read_text(errors="replace").replace("\r", "\n").strip().splitlines()[-3:]
            failure = f"mutmut exited with {status}: " + " | ".join(tail)
            # mutmut runs the stats in a forked child whose pytest output is lost (the log names no test): run the
            # group's tests once more as the stats run does (trampolined copy, MUTANT_UNDER_TEST=stats) to name what
            # failed (e.g. a kill test that fails before its fix is in the tree fails every group: the kill-test
            # files run in all of them)
            trampolined = (work / "mutants").is_dir()
            plain = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                                   cwd=work / "mutants" if trampolined else work,
                                   env={**env, "MUTANT_UNDER_TEST": "stats"} if trampolined else env,
                                   capture_output=True, text=True)
            lines = [ln for ln in plain.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
            failure += f" | unmutated tests: pytest exit {plain.returncode}" + "".join(f" | {ln[:200]}" for ln in lines)
        res = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work, env=env,
                             capture_output=True, text=True)
        verdicts = {}
        for line in res.stdout.splitlines():
            m = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
            if m:
                verdicts[m.group(1)] = m.group(2).strip()
        pats = _patterns(sample)
        from fnmatch import fnmatch

        if pats:
            verdicts = {k: v for k, v in verdicts.items() if any(fnmatch(k, p) for p in pats)}
        not_checked = sum(1 for v in verdicts.values() if v == "not checked")
        verdicts = {k: v for k, v in verdicts.items() if v != "not checked"}
        diffs = {}
        for k, v in verdicts.items():
            if v not in _KILLED:
                show = subprocess.run([sys.executable, "-m", "mutmut", "show", k], cwd=work, env=env,
                                      capture_output=True, text=True).stdout
                diffs[k] = show.splitlines()[1:]  # the unified diff of the mutated function
    applied = dict(AT_IMPORT)
    functions, tests_i = IMPORT_TIME.get(name, ((), ()))
    for k, v in verdicts.items():
        if v in ("survived", "no tests") and _function_name(k) in functions:
            applied[k] = tests_i
    for k, tests_k in applied.items():
        if verdicts.get(k) in ("survived", "no tests"):
            rc, _ = _run_applied(k, diffs[k], tests_k)
            if _fails(rc, tests_k):
                verdicts[k] = "killed (applied)"
    counts: dict[str, int] = {}
    for v in verdicts.values():
        counts[v] = counts.get(v, 0) + 1
    killed = sum(counts.get(k, 0) for k in _KILLED)
    survivors = sorted(k for k, v in verdicts.items() if v not in _KILLED)  # survived, no tests, suspicious, ...
    equivalent = [k for k in survivors if k in EQUIVALENT]
    total = len(verdicts)
    denom = total - len(equivalent)
    return {
        "modules": list(modules), "tests": list(tests), "sample_percent": sample, "mutants": total,
        "verdicts": counts, "killed": killed, "equivalent": len(equivalent),
        "score": round(killed / denom, 4) if denom else None,
        "survivors": {k: {"status": verdicts[k], "diff": diffs.get(k, []), "equivalent": EQUIVALENT.get(k)}
                      for k in survivors},
        "seconds": round(time.perf_counter() - t0, 1), "timed_out": timed_out, "not_checked": not_checked,
        "mutmut_status": status, "failure": failure,
    }


def _function_name(mutant: str) -> str:
    """``theory.margins.x_welch_bound__mutmut_12`` -> ``welch_bound`` (methods: ``xǁClassǁname`` -> ``name``)."""
    base = mutant.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
    return base.split("ǁ")[-1] if "ǁ" in base else base.removeprefix("x_")


def apply_diff(source: str, diff: list[str], function: str) -> str:
    """``source`` with mutmut's unified diff of one function applied: each hunk is found by its content (lines
    compared stripped, searched from just above ``def function(``) and its new lines keep the file's indentation."""
    lines = source.split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(f"def {function}("))
    start = max(0, start - 10)  # mutmut's function text starts with the comments above the def
    hunks, cur = [], None
    for ln in diff:
        if ln.startswith(("---", "+++")):
            continue
        if ln.startswith("@@"):
            cur = []
            hunks.append(cur)
        elif cur is not None:
            cur.append(ln if ln else " ")
    for hunk in hunks:
        old = [h[1:] for h in hunk if h[0] in " -"]
        new = [h[1:] for h in hunk if h[0] in " +"]
        at = next(i for i in range(start, len(lines) - len(old) + 1)
                  if all(lines[i + k].strip() == o.strip() for k, o in enumerate(old)))
        k0 = next(k for k, o in enumerate(old) if o.strip())
        pad = len(lines[at + k0]) - len(lines[at + k0].lstrip()) - (len(old[k0]) - len(old[k0].lstrip()))
        lines[at:at + len(old)] = [(" " * pad + n) if n.strip() else n for n in new]
        start = at
    out = "\n".join(lines)
    if out == source:
        raise ValueError("the diff changed nothing")
    return out


def _run_applied(mutant: str | None, diff: list[str] | None,
                 tests: tuple[str, ...] | list[str]) -> tuple[int, list[str]]:
    """Apply ``diff`` (mutmut's diff of ``mutant``) to a fresh copy of the repository and run ``tests`` there:
    (pytest's exit status, its FAILED / ERROR lines). ``diff=None``: the unmutated copy (the baseline)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        work = Path(tmp)
        for part in ("sims", "theory", "tests"):
            shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, work / name)
        if diff is not None:
            target = work / diff[0].removeprefix("--- ").strip()
            target.write_text(apply_diff(target.read_text(), diff, _function_name(mutant)))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                             cwd=work, env=env, capture_output=True, text=True)
    return res.returncode, [ln for ln in res.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]


_BASELINE: dict[tuple[str, ...], int] = {}


def _fails(rc: int, tests: tuple[str, ...] | list[str]) -> bool:
    """Whether pytest's exit ``rc`` on a mutant is a kill: not 0, and the same tests pass on an unmutated copy."""
    if rc == 0:
        return False
    key = tuple(tests)
    if key not in _BASELINE:
        _BASELINE[key] = _run_applied(None, None, key)[0]
    return _BASELINE[key] == 0


def check_mutant(mutant: str, tests: list[str]) -> int:
    """Apply a stored survivor (from mutation.json) to a temporary copy and run ``tests`` there.
    Prints ``killed`` (the tests fail on the mutant) or ``survived``; exit status 0 when killed."""
    groups = json.loads(OUT.read_text())["groups"]
    entry = next((g["survivors"][mutant] for g in groups.values() if mutant in g["survivors"]), None)
    if entry is None or not entry["diff"]:
        raise SystemExit(f"no stored diff for {mutant} in {OUT}")
    rc, failed = _run_applied(mutant, entry["diff"], tests)
    if rc == 0:
        verdict = "survived"
    elif _fails(rc, tests):
        verdict = "killed" + ("" if rc == 1 else f" (pytest exit {rc})")
    else:
        verdict = f"not decided: pytest exit {rc}, and {_BASELINE[tuple(tests)]} on the unmutated copy"
    print(f"{mutant}: {verdict}" + "".join(f"\n    {ln[:160]}" for ln in failed))
    return 0 if verdict.startswith("killed") else 1

def recheck(groups: list[str] | None) -> dict:
    """Record the kills of ``KILLED_BY`` among the stored survivors of ``groups`` (all: None); see ``KILLED_BY``."""
    stored = json.loads(OUT.read_text())["groups"]
    changed = {}
    for name, r in stored.items():
        if groups and name not in groups:
            continue
        for k in sorted(r["survivors"]):
            v = r["survivors"][k]
            if k not in KILLED_BY or EQUIVALENT.get(k) or not v["diff"]:
                continue
            tests = tuple(KILLED_BY[k])
            try:
                rc, failed = _run_applied(k, v["diff"], tests)
            except (ValueError, StopIteration):  # the function changed since the run: its diff no longer applies
                print(f"{k}: its diff no longer applies to the source (rerun the group)", flush=True)
                continue
            ok = _fails(rc, tests)
            print(f"{k}: {'killed' if ok else f'NOT killed (pytest exit {rc})'} by {' '.join(tests)}", flush=True)
            if not ok:
                continue
            del r["survivors"][k]
            r["verdicts"][v["status"]] = r["verdicts"].get(v["status"], 0) - 1
            r["verdicts"]["killed (recheck)"] = r["verdicts"].get("killed (recheck)", 0) + 1
            r["killed"] += 1
            r.setdefault("rechecked", {})[k] = list(tests)
            changed[name] = r
    return _save(changed) if changed else _save({})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=10, help="percent of the mutants (10, 20, 30, 40, 50 or 100)")
    ap.add_argument("--children", type=int, default=1, help="mutmut worker processes (default 1)")
    ap.add_argument("--group", action="append", choices=sorted(GROUPS), help="only these groups (repeatable)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per group")
    ap.add_argument("--check", metavar="MUTANT", help="apply this stored survivor to a temporary copy and run the "
                    "tests given after it there (e.g. --check NAME tests/test_probes.py::test_fit_linear_matches_lstsq); no mutmut run")
    ap.add_argument("tests", nargs="*", help="with --check: the pytest node ids to run against the mutant")
    ap.add_argument("--recheck", action="store_true", help="apply the stored survivors listed in KILLED_BY "
                    "(benchmarks/mutation_killed_by_*.py) and record those their tests kill (--group: only these "
                    "groups); no mutmut run")
    args = ap.parse_args(argv)
    if args.check:
        return check_mutant(args.check, args.tests)
    if args.recheck:
        summary = recheck(args.group)
        print(f"total: {summary['killed']} of {summary['non_equivalent']} non-equivalent mutants killed, score "
              f"{summary['score']} -> {OUT}")
        return 0
    _ensure_mutmut()
    results: dict = {}
    summary = _save(results)
    for name in args.group or list(GROUPS):
        results[name] = r = run_group(name, args.sample, args.children, args.timeout)
        print(f"{name:20s} {r['mutants']:5d} mutants  killed {r['killed']:5d}  survived "
              f"{r['verdicts'].get('survived', 0):4d} (equivalent {r['equivalent']})  score {r['score']}  "
              f"{r['seconds']:.0f} s" + ("  TIMED OUT" if r["timed_out"] else "")
              + (f"  FAILED: {r['failure']}" if r["failure"] else ""), flush=True)
        summary = _save(results)  # after every group: a long run stopped part-way keeps what it found
    print(f"total: {summary['killed']} of {summary['non_equivalent']} non-equivalent mutants killed, score "
          f"{summary['score']} -> {OUT}")
    return 0


def _save(results: dict) -> dict:
    if OUT.is_file():  # another run of this script may have saved other groups meanwhile: keep them
        results = {**json.loads(OUT.read_text()).get("groups", {}), **results}
    for r in results.values():  # the equivalence judgements may have grown since a group ran
        r["equivalent"] = sum(1 for k in r["survivors"] if k in EQUIVALENT)
        for k, v in r["survivors"].items():
            v["equivalent"] = EQUIVALENT.get(k)
        denom = r["mutants"] - r["equivalent"]
        r["score"] = round(r["killed"] / denom, 4) if denom else None
    killed = sum(r["killed"] for r in results.values())
    denom = sum(r["mutants"] - r["equivalent"] for r in results.values())
    summary = {"killed": killed, "non_equivalent": denom, "score": round(killed / denom, 4) if denom else None}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"tool": "mutmut 3", "summary": summary, "groups": results}, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    sys.exit(main())
