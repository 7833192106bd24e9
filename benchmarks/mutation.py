"""Mutation score of the default test run over the numeric cores (not run by CI; run by hand).

    .venv/bin/python benchmarks/mutation.py [--sample 10] [--children 1] [--group NAME ...] [--timeout S]

For each group below (the modules it mutates, the test files that cover them), this script copies ``sims/``,
``theory/``, ``tests/`` and ``pyproject.toml`` into a fresh temporary folder, writes a ``setup.cfg`` with a
``[mutmut]`` section there (the repository itself is not touched), and runs mutmut 3
(``pip install 'mutmut>=3.8,<4'``; the script installs it into the running interpreter when it is missing)
on a deterministic sample of the mutants: those whose number ends in one of the digits of ``--sample``
(``--sample 10``: digits ``0`` -> 10 %; ``--sample 20``: ``0`` and ``5``; ``--sample 100``: all). mutmut
runs, for every mutant, the tests of the group's files that execute the mutated function (its own coverage
map), with ``-x``, in ``--children`` forked workers.

Score = killed / (mutants - judged equivalent), where killed counts mutmut's "killed", "timeout" and
"caught by type check" verdicts, and the survivors judged equivalent (they cannot change any result: e.g.
``device=None`` on the host, a keyword equal to its default) are listed with the reason in
``EQUIVALENT`` below. Writes ``benchmarks/results/mutation.json`` (per group: counts, score, survivors,
seconds) and prints a table.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
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
    "probes": (("sims/engine/probes.py",), ("tests/test_probes.py", "tests/test_fuzz_api.py",
                                          "tests/test_mutation_kills.py")),
    "sgd": (("sims/engine/sgd.py", "sims/engine/lbfgs.py"), ("tests/test_sgd.py", "tests/test_fuzz_api.py")),
    "toy_model": (("sims/engine/toy_model.py", "sims/engine/toy_solvers.py"),
                  ("tests/test_toy_model.py", "tests/test_fuzz_api.py")),
    "theory.two_feature": (("theory/two_feature.py",), ("tests/test_theory_two_feature.py",)),
    "theory.margins": (("theory/margins.py",), ("tests/test_margin_theory.py",)),
    "theory.robustness": (("theory/robustness.py",), ("tests/test_theory_robustness.py",)),
    "claims": (("theory/two_feature_claims.py", "theory/margins_claims.py", "sims/robustness/claims.py"),
               ("tests/test_theory_claims.py",)),
}

#: survivors judged equivalent: mutant name -> reason (filled from the runs; see the module docstring)
EQUIVALENT: dict[str, str] = {}

_KILLED = ("killed", "timeout", "caught by type check")


def _ensure_mutmut() -> None:
    if importlib.util.find_spec("mutmut") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mutmut>=3.8,<4"], check=True)


def _setup_cfg(modules: tuple[str, ...], tests: tuple[str, ...]) -> str:
    lines = ["[mutmut]", "source_paths=", "    sims", "    theory", "only_mutate="]
    lines += [f"    {m}" for m in modules]
    lines += ["pytest_add_cli_args_test_selection="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args=", "    -p", "    no:cacheprovider", "    -q", "    -x", ""]
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
        try:
            subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
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
        verdicts = {k: v for k, v in verdicts.items() if v != "not checked"}
        diffs = {}
        for k, v in verdicts.items():
            if v == "survived":
                show = subprocess.run([sys.executable, "-m", "mutmut", "show", k], cwd=work, env=env,
                                      capture_output=True, text=True).stdout
                diffs[k] = [ln for ln in show.splitlines() if ln.startswith(("-    ", "+    ", "- ", "+ "))][:4]
    counts: dict[str, int] = {}
    for v in verdicts.values():
        counts[v] = counts.get(v, 0) + 1
    killed = sum(counts.get(k, 0) for k in _KILLED)
    survivors = sorted(k for k, v in verdicts.items() if v == "survived")
    equivalent = [k for k in survivors if k in EQUIVALENT]
    total = len(verdicts)
    denom = total - len(equivalent)
    return {
        "modules": list(modules), "tests": list(tests), "sample_percent": sample, "mutants": total,
        "verdicts": counts, "killed": killed, "equivalent": len(equivalent),
        "score": round(killed / denom, 4) if denom else None,
        "survivors": {k: {"diff": diffs.get(k, []), "equivalent": EQUIVALENT.get(k)} for k in survivors},
        "seconds": round(time.perf_counter() - t0, 1), "timed_out": timed_out,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=10, help="percent of the mutants (10, 20, 30, 40, 50 or 100)")
    ap.add_argument("--children", type=int, default=1, help="mutmut worker processes (default 1)")
    ap.add_argument("--group", action="append", choices=sorted(GROUPS), help="only these groups (repeatable)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per group")
    args = ap.parse_args(argv)
    _ensure_mutmut()
    old = json.loads(OUT.read_text()) if OUT.is_file() else {}
    results = dict(old.get("groups", {}))
    for name in args.group or list(GROUPS):
        results[name] = r = run_group(name, args.sample, args.children, args.timeout)
        print(f"{name:20s} {r['mutants']:5d} mutants  killed {r['killed']:5d}  survived "
              f"{r['verdicts'].get('survived', 0):4d} (equivalent {r['equivalent']})  score {r['score']}  "
              f"{r['seconds']:.0f} s" + ("  TIMED OUT" if r["timed_out"] else ""), flush=True)
        summary = _save(results)  # after every group: a long run stopped part-way keeps what it found
    print(f"total: {summary['killed']} of {summary['non_equivalent']} non-equivalent mutants killed, score "
          f"{summary['score']} -> {OUT}")
    return 0


def _save(results: dict) -> dict:
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
