"""The claims registry as the report uses it, and its numeric checks run once and cached.

Verdicts, statements and reasons are read from the live registry (``theory.claims.all_claims()``), so
the report's verdict text is the registry's, character for character. The numeric checks
(``theory.claims.run_checks``) run with a fixed seed in worker processes (``--jobs``; one BLAS thread
each, so the results do not depend on the number of workers), alongside the quick runs; their results
are cached in ``<out>/runs/theory/checks.json`` with the seed, the claim ids and a digest of the code
they can run: the loaded ``theory`` modules and every ``theory`` / ``sims`` module their source
imports, transitively. The cache is reused only while all of these are unchanged: a change of that code
or of the registry reruns the checks; files that code never imports (work in progress elsewhere in the
tree) do not. A damaged cache is our own file, not an input: it is computed again (with a notice).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["ClaimRow", "registry", "CheckRecord", "ChecksJob", "load_or_run_checks", "CACHE_FORMAT"]

CACHE_FORMAT = 1
_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ClaimRow:
    """What the report shows of one claim (straight from the registry)."""

    id: str
    statement: str
    verdict: str
    reason: str
    paper_ref: str
    assumptions: tuple[str, ...]
    expressions: tuple[tuple[str, str], ...]

    @property
    def verdict_class(self) -> str:
        """"holds", "holds only when" or "fails"."""
        return "holds only when" if self.verdict.startswith("holds only when") else self.verdict


def registry(modules: Sequence[str] = ()) -> list[ClaimRow]:
    """Every registered claim; ``modules`` (claim modules of the sources this report shows, e.g.
    ``theory.robustness``) are imported too, so their claims are included even where
    ``theory.claims.CLAIM_MODULES`` does not list them (yet). Order: by claim module (``CLAIM_MODULES``
    first, then ``modules``), registration order within a module - whatever was imported first."""
    from theory import claims as C

    C.all_claims()
    for m in modules:
        importlib.import_module(m)
    order = list(C.CLAIM_MODULES) + [m for m in modules if m not in C.CLAIM_MODULES]
    claims = C.all_claims()

    def rank(c: Any) -> int:
        mod = getattr(c.check, "__module__", "")
        return order.index(mod) if mod in order else len(order)

    return [ClaimRow(c.id, c.statement, c.verdict, c.verdict_text, c.paper_ref, tuple(c.assumptions),
                     tuple((str(k), str(v)) for k, v in c.expressions.items())) for c in sorted(claims, key=rank)]


@dataclass(frozen=True)
class CheckRecord:
    """The cached result of the numeric checks (``results``: id -> passed, evidence, seconds)."""

    path: Path
    seed: int
    results: dict[str, dict[str, Any]]
    wall_time_s: float
    finished_utc: str
    reused: bool


def _digest(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


_IMPORT = re.compile(r"^\s*(?:from\s+((?:theory|sims)(?:\.\w+)*)\s+import\s+([\w\s,()]+)|"
                     r"import\s+((?:theory|sims)(?:\.\w+)*))", re.M)


def _module_file(name: str) -> Path | None:
    base = _ROOT.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _code_files() -> list[Path]:
    """The source files the checks can execute: the loaded ``theory`` modules (the registry and its claim
    modules) and, transitively, every ``theory`` / ``sims`` module their source imports; plus the
    expression caches. Files nobody imports from there (work in progress elsewhere) are not included."""
    todo = []
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if f and Path(f).resolve().is_relative_to(_ROOT / "theory"):
            todo.append(Path(f).resolve())
    seen: set[Path] = set()
    while todo:
        p = todo.pop()
        if p in seen or not p.is_file():
            continue
        seen.add(p)
        for m in _IMPORT.finditer(p.read_text(encoding="utf-8")):
            names = [m.group(3)] if m.group(3) else [m.group(1)] + [
                f"{m.group(1)}.{n.strip()}" for n in m.group(2).replace("(", " ").replace(")", " ").split(",") if n.strip()]
            for name in names:
                name = name.split(" as ")[0].strip()
                f = _module_file(name)
                if f is not None:
                    todo.append(f)
                    if "." in name:  # the packages on the way are imported too
                        pkg = _module_file(name.rsplit(".", 1)[0])
                        if pkg is not None:
                            todo.append(pkg)
    seen.update(p.resolve() for p in (_ROOT / "theory" / "_cache").glob("*.json"))
    return sorted(seen)


def _loaded_code() -> dict[str, str]:
    """Digest of every file of :func:`_code_files` (relative path -> hex)."""
    return {str(p.relative_to(_ROOT)): _digest(p) for p in _code_files()}


def _still_valid(code: Any) -> bool:
    if not isinstance(code, dict) or not code:
        return False
    for rel, digest in code.items():
        p = _ROOT / rel
        if not p.is_file() or _digest(p) != digest:
            return False
    return True


def _read_cache(path: Path, ids: list[str], seed: int, say: Callable[[str], None]) -> CheckRecord | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (data.get("format") == CACHE_FORMAT and data.get("seed") == seed and data.get("ids") == list(ids)
                and _still_valid(data.get("code"))):
            return CheckRecord(path, seed, data["results"], float(data["wall_time_s"]), str(data["finished_utc"]), True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        say(f"{path}: damaged cache of the claim checks, running them again")
    return None


def _worker_init(modules: tuple[str, ...]) -> None:
    """A check worker: one BLAS thread (results do not depend on --jobs), the claim modules imported."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    for m in modules:
        importlib.import_module(m)


def _check_one(seed: int, cid: str) -> dict[str, Any]:
    from theory import claims as C

    ((_claim, res, dt),) = C.run_checks(seed, [cid])
    return {"passed": bool(res.passed), "evidence": str(res.evidence), "seconds": round(dt, 2)}


class ChecksJob:
    """The numeric checks of ``ids``: read from the cache, or started in ``jobs`` worker processes at
    construction (so that other work - quick runs - can go on meanwhile) and collected by :meth:`result`.
    Each check has its own generator seeded from (seed, id) and one BLAS thread: the results do not depend
    on ``jobs`` or on the order in which the workers finish."""

    def __init__(self, out_dir: Path, ids: list[str], *, seed: int = 0, jobs: int = 1,
                 modules: Sequence[str] = (), say: Callable[[str], None] = lambda s: None) -> None:
        self.path = out_dir / "runs" / "theory" / "checks.json"
        self.ids, self.seed = list(ids), seed
        self.cached = _read_cache(self.path, self.ids, seed, say)
        self.pool = None
        self.futures: dict[Any, str] = {}
        if self.cached is None:
            import concurrent.futures as cf
            import multiprocessing as mp

            self.code = _loaded_code()  # what the workers will run, fixed now
            self.t0 = time.perf_counter()
            self.pool = cf.ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=mp.get_context("spawn"),
                                               initializer=_worker_init, initargs=(tuple(modules),))
            self.futures = {self.pool.submit(_check_one, seed, cid): cid for cid in self.ids}

    def result(self, quiet: bool = False) -> CheckRecord:
        if self.cached is not None:
            return self.cached
        import concurrent.futures as cf

        from tqdm import tqdm

        from sims.sweep import io as sio

        results: dict[str, dict[str, Any]] = {}
        try:
            for fut in tqdm(cf.as_completed(self.futures), total=len(self.futures), desc="claim checks",
                            unit="claim", disable=quiet, leave=True, dynamic_ncols=True, file=sys.stderr):
                results[self.futures[fut]] = fut.result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        results = {cid: results[cid] for cid in self.ids}
        wall = round(time.perf_counter() - self.t0, 2)
        finished = sio.utc_now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sio.atomic_write_json(self.path, {"format": CACHE_FORMAT, "seed": self.seed, "ids": self.ids,
                                          "wall_time_s": wall, "finished_utc": finished, "git": sio.git_revision(),
                                          "versions": sio.package_versions(["sympy"]), "code": self.code,
                                          "results": results})
        self.cached = CheckRecord(self.path, self.seed, results, wall, finished, False)
        return self.cached

    def cancel(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def load_or_run_checks(out_dir: Path, ids: list[str], *, seed: int = 0, quiet: bool = False, jobs: int = 1,
                       modules: Sequence[str] = (), say: Callable[[str], None] = lambda s: None) -> CheckRecord:
    """The checks of ``ids`` from ``<out_dir>/runs/theory/checks.json``, or run now (progress bar) and cached."""
    return ChecksJob(out_dir, ids, seed=seed, jobs=jobs, modules=modules, say=say).result(quiet)
