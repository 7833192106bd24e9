"""The sweep runner: a config dataclass expands to a grid of cells; each cell runs once, anywhere.

A CLI is three things (see ``tests/apps/tiny_sweep.py`` for a complete one):

1. a frozen dataclass deriving from :class:`SweepConfig`. Fields annotated ``tuple[X, ...]`` are **grid
   axes**; every other field is a **fixed parameter**. ``X`` may be ``int``, ``float``, ``str``, ``bool``
   or a ``Literal[...]``; ``Literal`` options are checked, values are normalized (lists -> tuples,
   ints -> floats for float fields) and range checks go in :meth:`SweepConfig.validate`;
2. a top-level (picklable) function ``cell_fn(cell: dict, seed: int) -> list[dict]``: ``cell`` holds the
   fixed parameters and this cell's value of every axis; rows hold scalars only;
3. optionally ``figures_fn(rows, out_dir, config) -> list[Path]`` (use ``sims.sweep.io.save_figure``); one with
   an ``executor`` keyword gets the run's process pool (``executor=None`` when there is none) to draw in.

Then ``run_sweep(config, cell_fn, out_dir=...)`` (or ``sims.sweep.cli.sweep_main``) does the rest.

**Grid order**: ``itertools.product`` over the axes in field-declaration order, the last axis varying
fastest (row-major). results.csv lists cells in this order, each cell's rows in the order returned.

**Seeds**: a cell's seed is drawn from ``SeedSequence(config.seed, spawn_key=<128-bit digest of the
cell's values on the seed axes>)`` (all axes unless the class sets ``seed_axes``). It depends on the
base seed and the cell's own values only - never on its index, the grid around it, the order of
execution, the worker count or the machine. Leaving an axis out of ``seed_axes`` gives cells that
differ only along it the same random numbers (common random numbers, e.g. mono vs poly codes).

**Output folder** (``out_dir``)::

    config.json      identity of the run (written first; a folder holds one config)
    cells/<key>.json one finished cell: key = hash(config class + version, cell_fn, sims version,
                     fixed parameters, cell values, seed) - the cache a rerun reads
    results.csv      tidy table: axes..., cell_seed, then cell_fn's columns in first-seen order
    manifest.json    config, seed, versions, git revision, wall time, engine, cell counts
    *.png / *.pdf    figures from figures_fn

A rerun with the same config computes only the cells missing from ``cells/`` and rewrites
results.csv byte for byte. A rerun of a *different* config into the same folder is refused (results
would mix) unless ``force=True``: then the old results.csv, manifest and figures are removed first and
cached cells whose key still matches are reused. A non-empty folder that is not a run folder is refused
unless ``force=True``. Two runs cannot share a folder at once (an OS lock, released if killed).
"""
from __future__ import annotations

import concurrent.futures as cf
import importlib
import inspect
import json
import os
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence


import sims
from sims.sweep import io as sio
from sims.sweep.config import SweepConfig, _module_name, _qualified, fixed
from sims.sweep.executors import (
    DEFAULT_SCHEDULER_TIMEOUT,
    auto_cells_per_task,
    auto_workers,
    check_executor_args,
    check_int,
    open_executor,
)

__all__ = [
    "SweepConfig",
    "RunResult",
    "CellError",
    "SweepInterrupted",
    "run_sweep",
    "cell_key",
    "FORMAT_VERSION",
    "fixed",
]

#: version of the cache / results layout; part of every cell key
FORMAT_VERSION = 1
#: column added by the runner to every row (the seed ``cell_fn`` received)
SEED_COLUMN = "cell_seed"

class CellError(RuntimeError):
    """A cell function raised; the message names the cell and its seed (the cause is chained)."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; finished cells stay cached in ``out_dir``."""

    def __init__(self, out_dir: Path, n_done: int, n_cells: int) -> None:
        super().__init__(f"interrupted: {n_done} of {n_cells} cells are cached in {out_dir}")
        self.out_dir, self.n_done, self.n_cells = out_dir, n_done, n_cells


# --------------------------------------------------------------------------------------------------
# cells: keys, the task function run by workers, cache files


def _importable(fn: Callable) -> Callable:
    """``fn`` itself, or - when defined in a ``python -m pkg.mod`` main module - the same function
    imported as ``pkg.mod.fn``, so that workers import it by its real name and cache keys do not
    depend on how the CLI was started."""
    if fn.__module__ != "__main__":
        return fn
    name = _module_name("__main__")
    if name == "__main__":  # run as a script: no importable name
        return fn
    try:
        mod = importlib.import_module(name)
        real = getattr(mod, fn.__qualname__)
    except Exception:  # noqa: BLE001 - fall back to the function as given
        return fn
    return real if callable(real) else fn


def cell_key(config: SweepConfig, cell_fn: Callable, cell: Mapping[str, Any], seed: int,
             backend: tuple[str, str | None] = ("numpy", None)) -> str:
    """Content hash naming a cell's cache file (32 hex digits). A cell computed on another array backend
    (or device) than numpy's host has its own key: results agree to round-off, not bit for bit."""
    ident = {
        "format": FORMAT_VERSION,
        "sims": sims.__version__,
        "class": _qualified(type(config)),
        "version": config.version,
        "cell_fn": _qualified(cell_fn),
        "cell": dict(cell),
        "seed": seed,
    }
    if tuple(backend) != ("numpy", None):
        ident["backend"] = list(backend)
    return sio.content_hash(ident)


def _run_cells(
    cell_fn: Callable, batch: Sequence[tuple[dict, int]], reserved: Sequence[str] = (),
    backend: tuple[str, str | None] = ("numpy", None),
) -> list[tuple[list[dict], float]]:
    """Task body (runs in a worker): each cell's normalized rows and its seconds, computed inside
    ``sims.engine.backend.using(*backend)`` (the cell's array backend and device)."""
    from sims.engine.backend import using

    out = []
    for cell, seed in batch:
        t0 = time.perf_counter()
        try:
            with using(*backend):
                rows = _normalize_rows(cell_fn(dict(cell), seed), reserved)
        except Exception as exc:
            raise CellError(f"cell {cell!r} (seed {seed}) failed: {type(exc).__name__}: {exc}") from exc
        out.append((rows, time.perf_counter() - t0))
    return out


def _normalize_rows(rows: Any, reserved: Sequence[str] = ()) -> list[dict[str, Any]]:
    if isinstance(rows, Mapping):
        raise TypeError("cell_fn must return a list of dicts (rows), got one dict")
    try:
        rows = list(rows)
    except TypeError:
        raise TypeError(f"cell_fn must return a list of dicts, got {type(rows).__name__}") from None
    out = []
    for r in rows:
        if not isinstance(r, Mapping):
            raise TypeError(f"cell_fn rows must be dicts, got {type(r).__name__}")
        row = {}
        for k, v in r.items():
            if not isinstance(k, str) or not k:
                raise TypeError(f"cell_fn row keys must be non-empty strings, got {k!r}")
            if k in reserved:
                raise TypeError(
                    f"cell_fn returned column {k!r}, which the runner writes itself (axes and "
                    f"{SEED_COLUMN!r}); rename it"
                )
            row[k] = sio.to_scalar(v)
        out.append(row)
    # the cache holds JSON: round-trip now so fresh and cached rows are the very same values
    return json.loads(json.dumps(out))


#: JSON types a row value may have in a cell file (what :func:`sims.sweep.io.to_scalar` produces)
_JSON_TYPES = {bool: "bool", int: "int", float: "float", str: "str", type(None): "null"}


def _schema(rows: list[dict]) -> dict[str, Any]:
    """Structure of a cell's rows: their number, the columns in first-seen order and each column's JSON
    types. Raises ``TypeError`` for rows that are not dicts of non-empty strings to scalars."""
    if not isinstance(rows, list):
        raise TypeError(f"rows is a {type(rows).__name__}, must be a list")
    types: dict[str, set[str]] = {}
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise TypeError(f"row {i} is a {type(r).__name__}, must be an object")
        for k, v in r.items():
            if not isinstance(k, str) or not k:
                raise TypeError(f"row {i} has column {k!r}, must be a non-empty string")
            t = _JSON_TYPES.get(type(v))
            if t is None:
                raise TypeError(f"row {i} column {k!r} holds a {type(v).__name__}, must be a scalar")
            types.setdefault(k, set()).add(t)
    return {"n_rows": len(rows), "columns": [[k, sorted(t)] for k, t in types.items()]}


def _checksum(key: str, seed: int, schema: Any, rows: Any) -> str:
    """Content hash of what a cell file asserts (key, seed, schema, rows)."""
    return sio.content_hash({"key": key, "seed": seed, "schema": schema, "rows": rows})


def _cell_record(key: str, cell: Mapping[str, Any], seed: int, seconds: float, rows: list[dict]) -> dict:
    """The JSON object of ``cells/<key>.json`` (rows already normalized by :func:`_normalize_rows`)."""
    schema = _schema(rows)
    return {"key": key, "cell": cell, "seed": seed, "seconds": round(seconds, 6), "schema": schema,
            "checksum": _checksum(key, seed, schema, rows), "rows": rows}


def _load_cell(path: Path, key: str, seed: int, reserved: Sequence[str] = ()) -> tuple[list[dict] | None, str]:
    """``(rows, "")`` for a valid cached cell, ``(None, "")`` when there is none, and ``(None, reason)``
    when the file exists but fails validation (it is then recomputed, or refused with ``strict``)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None, ""
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({type(exc).__name__})"
    try:
        data = json.loads(text)
    except ValueError:
        return None, "is not valid JSON (truncated or edited)"
    if not isinstance(data, dict):
        return None, f"holds a JSON {type(data).__name__}, must hold an object"
    if data.get("key") != key:
        return None, f"key == {data.get('key')!r}, must be {key!r} (the file name)"
    if data.get("seed") != seed:
        return None, f"seed == {data.get('seed')!r}, must be {seed}"
    if "checksum" not in data or "schema" not in data:
        return None, "has no checksum or schema (written by an older version, or edited)"
    rows = data.get("rows")
    try:
        schema = _schema(rows)
    except TypeError as exc:
        return None, f"rows of the wrong structure: {exc}"
    if schema != data["schema"]:
        return None, f"schema mismatch: the rows have {schema['n_rows']} rows and columns " \
                     f"{[c for c, _ in schema['columns']]}, the file records a different schema"
    if _checksum(key, seed, data["schema"], rows) != data["checksum"]:
        return None, "checksum mismatch: the rows were changed after they were computed"
    clash = sorted({k for r in rows for k in r} & set(reserved))
    if clash:
        return None, f"rows hold column(s) {clash} that the runner writes itself"
    return rows, ""


# --------------------------------------------------------------------------------------------------
# run


@dataclass
class RunResult:
    """What :func:`run_sweep` produced."""

    out_dir: Path
    results_csv: Path
    manifest_json: Path
    figures: list[Path]
    rows: list[dict[str, Any]]
    columns: list[str]
    wall_time_s: float
    n_cells: int
    n_computed: int
    n_cached: int
    executor: dict[str, Any]
    #: cache files that failed validation and were recomputed (``cells/<key>.json``)
    invalid_cells: list[str] = field(default_factory=list)

    def to_pandas(self, record: str | None = None, table: str = "results.csv") -> Any:
        """A table of this run as a typed pandas DataFrame (``sims.sweep.results.load_run``)."""
        from sims.sweep.results import load_run

        return load_run(self.out_dir, record=record, table=table)


def _check_cells_per_task(value: Any) -> int | str:
    if value == "auto":
        return "auto"
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"--cells-per-task == {value!r}, must be 'auto' or an integer in [1, 100000]") from None
    return check_int("--cells-per-task", value, 1, 100000)


def _check_folder_identity(out: Path, config: SweepConfig, force: bool) -> dict | None:
    """Read-only check that ``out`` may take this config; returns the old manifest when replacing."""
    if not out.exists():
        return None
    entries = [p.name for p in out.iterdir() if p.name != ".lock"]
    if not entries:
        return None
    cfg_path = out / "config.json"
    old = None
    if cfg_path.is_file():
        try:
            old = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    if old is None:
        if force:
            return {}
        raise ValueError(
            f"--out == {str(out)!r} is a non-empty folder that is not a run folder (no readable config.json); "
            "choose a new or empty folder, or pass --force to write into it anyway"
        )
    if config.same_run(old.get("identity")):
        return None
    if not force:
        was = old.get("slug", "?")
        raise ValueError(
            f"--out == {str(out)!r} holds results of a different config ({was}, now {config.slug()}); "
            "use a new --out, or --force to replace those results"
        )
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class _FolderLock:
    """An exclusive OS lock on ``out/.lock`` (POSIX ``flock``; released when the process dies)."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".lock"
        self.fh: Any = None

    def __enter__(self) -> "_FolderLock":
        self.fh = open(self.path, "a+")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return self
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise ValueError(f"--out == {str(self.path.parent)!r} is in use by another running sweep") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fh is not None:
            self.fh.close()


def run_sweep(
    config: SweepConfig,
    cell_fn: Callable[[dict, int], list[dict]],
    *,
    out_dir: str | os.PathLike | None = None,
    workers: int | str | None = None,
    scheduler: str | None = None,
    scheduler_timeout: float = DEFAULT_SCHEDULER_TIMEOUT,
    quiet: bool = False,
    cells_per_task: int | str = "auto",
    force: bool = False,
    figures_fn: Callable[[list[dict], Path, SweepConfig], Iterable[os.PathLike] | None] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    runs_dir: str | os.PathLike = "runs",
    strict: bool = False,
    backend: str | None = None,
    device: str | None = None,
) -> RunResult:
    """Run every cell of ``config`` not yet cached in ``out_dir``; write results.csv, figures, manifest.

    ``out_dir=None`` picks a new ``<runs_dir>/<slug>-<timestamp>``. ``workers`` / ``scheduler`` choose
    the engine (see ``sims.sweep.executors``): ``workers`` ``None`` or ``"serial"`` (in this process), an int
    (that many processes) or ``"auto"`` (processes when ``config.work_estimate`` of the missing cells repays
    them, see ``sims.sweep.executors.auto_workers``; serial for a ``cell_fn`` that cannot be pickled).
    Everything is validated - including whether ``out_dir`` can be written and whether a scheduler answers -
    before the first byte is written.

    Cached cells are validated (key, seed, schema and checksum of their rows, see :func:`_load_cell`): a
    cell file that fails is named on stderr (unless ``quiet``) and in the manifest, and recomputed; with
    ``strict=True`` the run is refused instead (ValueError naming the file), before anything is written.
    ``backend`` / ``device``: the array backend the cells compute on (``numpy``, ``cupy``,
    ``array_api_strict``; None: ``$SIMS_BACKEND``, else numpy) and its device by name (None: the
    default); an unusable one is a ValueError before anything is written.

    Raises ValueError (bad input), :class:`CellError` (a cell raised), :class:`SweepInterrupted`.
    """
    t_start = time.perf_counter()
    started = sio.utc_now()
    # ---- validation: nothing is written before this block is through ------------------------------
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a SweepConfig, got {type(config).__name__}")
    if not callable(cell_fn):
        raise TypeError("cell_fn must be callable")
    cell_fn = _importable(cell_fn)
    from sims.engine import backend as B

    backend = B.default_backend_name() if backend is None else backend
    B.resolve_backend(backend)  # CuPy missing / no GPU: refused here, nothing written
    B.device_by_name(backend, device)  # an unknown device likewise
    backend_spec = (backend, None if device in (None, "") else str(device))
    auto = isinstance(workers, str) and workers == "auto"
    if isinstance(workers, str) and workers in ("auto", "serial"):
        workers = None  # "auto": resolved below, once the missing cells are known
    workers, scheduler, scheduler_timeout = check_executor_args(workers, scheduler, scheduler_timeout)
    picklable = True
    try:
        pickle.dumps(cell_fn)
    except Exception as exc:  # noqa: BLE001 - lambdas, local functions
        picklable = False
        if workers is not None and scheduler is None:
            raise TypeError(
                f"cell_fn {_qualified(cell_fn)} cannot be sent to worker processes ({exc}); "
                "define it at the top level of a module"
            ) from None
    cells_per_task = _check_cells_per_task(cells_per_task)
    if out_dir is None:
        out_dir = sio.default_out_dir(config.slug(), base=runs_dir)
    out = sio.check_out_dir(out_dir)
    old_manifest = _check_folder_identity(out, config, bool(force))

    cells = config.cells()
    seeds = [config.cell_seed(c) for c in cells]
    keys = [cell_key(config, cell_fn, c, s, backend_spec) for c, s in zip(cells, seeds)]
    cell_dir = out / "cells"
    reserved = (*config.axes(), SEED_COLUMN)
    loaded = [_load_cell(cell_dir / f"{k}.json", k, s, reserved) for k, s in zip(keys, seeds)]
    results: list[list[dict] | None] = [rows for rows, _ in loaded]
    invalid = [(f"cells/{k}.json", why) for k, (_, why) in zip(keys, loaded) if why]
    if invalid and strict:
        name, why = invalid[0]
        more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
        raise ValueError(
            f"--strict: {out / name} {why}{more}; delete the file to recompute the cell, or rerun without --strict"
        )
    missing = [i for i, r in enumerate(results) if r is None]
    n_cached = len(cells) - len(missing)

    if auto and scheduler is None and missing and picklable:
        workers = auto_workers(len(missing), config.work_estimate([cells[i] for i in missing]),
                               config.worker_bytes())
    handle = None
    if missing:  # a fully cached rerun starts no engine
        handle = open_executor(workers, scheduler, scheduler_timeout=scheduler_timeout)
    requested = {"kind": "serial" if scheduler is None and workers is None else
                 ("dask" if scheduler is not None else "processes"),
                 "workers": workers, "scheduler": scheduler}
    try:
        # ---- the folder is ours from here on -------------------------------------------------------
        out.mkdir(parents=True, exist_ok=True)
        with _FolderLock(out):
            _check_folder_identity(out, config, bool(force))  # again, now under the lock
            sio.remove_stale_temps(out)
            if old_manifest is not None:
                _remove_old_outputs(out, old_manifest)
            sio.atomic_write_json(
                out / "config.json",
                {"identity": config.identity(), "slug": config.slug(), "caption": config.caption()},
            )
            cell_dir.mkdir(exist_ok=True)
            if not quiet:
                for name, why in invalid:
                    sys.stderr.write(f"sims.sweep: warning: {out / name} {why}; recomputing the cell\n")
                sys.stderr.flush()
            engine = handle.describe() if handle is not None else {**requested, "used": False}
            if auto:
                engine["auto"] = True  # --workers auto chose this engine
            per_task = 1
            if missing:
                per_task = (
                    auto_cells_per_task(len(missing), handle.n_workers, handle.kind)
                    if cells_per_task == "auto" else cells_per_task
                )
                engine["cells_per_task"] = per_task
                _compute(
                    handle, cell_fn, config, cells, seeds, keys, missing, results, cell_dir,
                    per_task, quiet, out, backend_spec,
                )
            # a figures_fn that takes an ``executor`` draws in the worker processes while they are up
            lend = handle is not None and handle.kind == "processes" and _takes_executor(figures_fn)
            if handle is not None and not lend:
                handle.close()
                handle = None

            rows, columns = _assemble(config, cells, seeds, results)
            csv_path = sio.write_csv(out / "results.csv", rows, columns)
            figures: list[Path] = []
            if figures_fn is not None:
                made = figures_fn(rows, out, config, executor=handle.executor) if lend else figures_fn(rows, out, config)
                figures = [Path(p) for p in (made or [])]
            if handle is not None:
                handle.close()
                handle = None
            wall = time.perf_counter() - t_start
            manifest = {
                "slug": config.slug(),
                "caption": config.caption(),
                "config_class": config.identity()["class"],
                "config_version": config.version,
                "config": config.to_dict(),
                "config_hash": config.config_hash(),
                "seed": config.seed,
                "cell_fn": _qualified(cell_fn),
                "grid": {"axes": list(config.axes()), "order": "row-major, last axis fastest"},
                "cells": {"total": len(cells), "computed": len(missing), "cached": n_cached},
                "rows": len(rows),
                "executor": engine,
                "backend": {"name": backend_spec[0], "device": backend_spec[1]},
                "wall_time_s": round(wall, 3),
                "started_utc": started,
                "finished_utc": sio.utc_now(),
                "versions": sio.package_versions(),
                "git": sio.git_revision(),
                "platform": sio.platform_info(),
                "argv": list(sys.argv),
                "files": {
                    "results": csv_path.name,
                    "figures": [_rel(p, out) for p in figures],
                },
                "format_version": FORMAT_VERSION,
            }
            if invalid:
                manifest["invalid_cells"] = [{"file": name, "reason": why} for name, why in invalid]
            if extra_manifest:
                manifest["extra"] = dict(extra_manifest)
            man_path = sio.atomic_write_json(out / "manifest.json", manifest)
    finally:
        if handle is not None:
            handle.close(cancel=True)
    return RunResult(
        out_dir=out, results_csv=csv_path, manifest_json=man_path, figures=figures, rows=rows,
        columns=columns, wall_time_s=wall, n_cells=len(cells), n_computed=len(missing),
        n_cached=n_cached, executor=engine, invalid_cells=[name for name, _ in invalid],
    )


def _takes_executor(fn: Any) -> bool:
    """Whether ``figures_fn`` has an ``executor`` parameter (then it may draw in the run's worker processes)."""
    if fn is None:
        return False
    try:
        return "executor" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _rel(p: Path, out: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(out.resolve()))
    except ValueError:
        return str(p)


def _remove_old_outputs(out: Path, old_manifest: Mapping[str, Any]) -> None:
    """--force into a folder of another config: drop its results, manifest and figures (not cells/)."""
    files = old_manifest.get("files") if isinstance(old_manifest, Mapping) else None
    names = ["results.csv", "manifest.json"]
    if isinstance(files, Mapping):
        names += [f for f in files.get("figures", []) if isinstance(f, str)]
    for name in names:
        p = (out / name).resolve()
        if p.parent == out.resolve() or out.resolve() in p.parents:
            try:
                p.unlink()
            except (FileNotFoundError, IsADirectoryError):
                pass


def _compute(
    handle: Any,
    cell_fn: Callable,
    config: SweepConfig,
    cells: list[dict],
    seeds: list[int],
    keys: list[str],
    missing: list[int],
    results: list,
    cell_dir: Path,
    per_task: int,
    quiet: bool,
    out: Path,
    backend: tuple[str, str | None] = ("numpy", None),
) -> None:
    """Submit missing cells in batches (a bounded window in flight), cache each as it arrives."""
    from tqdm import tqdm

    batches = [missing[i : i + per_task] for i in range(0, len(missing), per_task)]
    reserved = (*config.axes(), SEED_COLUMN)
    window = 1 if handle.kind == "serial" else max(2, 2 * handle.n_workers)
    n_done = len(cells) - len(missing)
    bar = tqdm(
        total=len(cells), initial=n_done, desc=config.display_name(), unit="cell",
        file=sys.stderr, disable=bool(quiet), dynamic_ncols=True, mininterval=0.25,
        leave=True,
    )
    pending: dict[cf.Future, list[int]] = {}
    next_batch = 0
    error: BaseException | None = None
    try:
        while next_batch < len(batches) or pending:
            while error is None and next_batch < len(batches) and len(pending) < window:
                idx = batches[next_batch]
                fut = handle.executor.submit(
                    _run_cells, cell_fn, [(cells[i], seeds[i]) for i in idx], reserved, backend
                )
                pending[fut] = idx
                next_batch += 1
            if not pending:
                break
            done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                idx = pending.pop(fut)
                try:
                    batch_out = fut.result()
                except cf.CancelledError:
                    continue
                except Exception as exc:  # a cell raised: keep what the others finish, then re-raise
                    if error is None:
                        error = exc
                    continue
                for i, (rows, secs) in zip(idx, batch_out):
                    sio.atomic_write_json(
                        cell_dir / f"{keys[i]}.json", _cell_record(keys[i], cells[i], seeds[i], secs, rows),
                        indent=None, fsync=False,
                    )
                    results[i] = rows
                    n_done += 1
                bar.update(len(idx))
    except KeyboardInterrupt:
        for fut in pending:
            fut.cancel()
        raise SweepInterrupted(out, n_done, len(cells)) from None
    finally:
        bar.close()
    if error is not None:
        if isinstance(error, CellError):
            raise error
        raise CellError(f"a task failed: {type(error).__name__}: {error}") from error


def _assemble(
    config: SweepConfig, cells: list[dict], seeds: list[int], results: list
) -> tuple[list[dict], list[str]]:
    """Rows in grid order; columns = axes, cell_seed, then result columns in first-seen order."""
    axes = list(config.axes())
    reserved = set(axes) | {SEED_COLUMN}
    rows: list[dict] = []
    extra: dict[str, None] = {}
    for cell, seed, cell_rows in zip(cells, seeds, results):
        head = {a: cell[a] for a in axes}
        head[SEED_COLUMN] = seed
        for r in cell_rows:
            clash = reserved.intersection(r)
            if clash:
                raise CellError(
                    f"cell_fn returned column(s) {sorted(clash)} that the runner writes itself "
                    f"(axes and {SEED_COLUMN!r}); rename them"
                )
            for k in r:
                extra.setdefault(k, None)
            rows.append({**head, **r})
    return rows, axes + [SEED_COLUMN] + list(extra)
