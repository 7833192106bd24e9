"""The sweep runner: a config dataclass expands to a grid of cells; each cell runs once, anywhere.

A CLI is three things (see ``tests/apps/tiny_sweep.py`` for a complete one):

1. a frozen dataclass deriving from :class:`SweepConfig`. Fields annotated ``tuple[X, ...]`` are **grid
   axes**; every other field is a **fixed parameter**. ``X`` may be ``int``, ``float``, ``str``, ``bool``
   or a ``Literal[...]``; ``Literal`` options are checked, values are normalized (lists -> tuples,
   ints -> floats for float fields) and range checks go in :meth:`SweepConfig.validate`;
2. a top-level (picklable) function ``cell_fn(cell: dict, seed: int) -> list[dict]``: ``cell`` holds the
   fixed parameters and this cell's value of every axis; rows hold scalars only;
3. optionally ``figures_fn(rows, out_dir, config) -> list[Path]`` (use ``sims.io.save_figure``).

Then ``run_sweep(config, cell_fn, out_dir=...)`` (or ``sims.cli.sweep_main``) does the rest.

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
import dataclasses
import importlib
import itertools
import json
import math
import os
import pickle
import sys
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Literal, Mapping, Sequence

import numpy as np

import sims
from sims import io as sio
from sims.executors import (
    DEFAULT_SCHEDULER_TIMEOUT,
    auto_cells_per_task,
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

_SCALARS = (int, float, str, bool)
#: integer fields must fit int64 (numpy, pandas, JSON readers); seeds are in [0, 2**63 - 1]
_INT64 = (-(2**63), 2**63 - 1)


class CellError(RuntimeError):
    """A cell function raised; the message names the cell and its seed (the cause is chained)."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; finished cells stay cached in ``out_dir``."""

    def __init__(self, out_dir: Path, n_done: int, n_cells: int) -> None:
        super().__init__(f"interrupted: {n_done} of {n_cells} cells are cached in {out_dir}")
        self.out_dir, self.n_done, self.n_cells = out_dir, n_done, n_cells


# --------------------------------------------------------------------------------------------------
# field specs: what an annotation allows


@dataclass(frozen=True)
class _Spec:
    kind: str  # "scalar" | "axis" | "tuple"
    base: Any  # int | float | str | bool | ("literal", options)
    optional: bool = False
    length: int | None = None  # fixed-length tuples


def _parse_scalar(tp: Any, where: str) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(tp)) != 2:
            raise TypeError(f"{where}: unsupported annotation {tp!r} (only X | None unions)")
        base, _ = _parse_scalar(args[0], where)
        return base, True
    if origin is Literal:
        opts = typing.get_args(tp)
        if not opts or not all(isinstance(o, _SCALARS) for o in opts):
            raise TypeError(f"{where}: Literal options must be scalars, got {tp!r}")
        return ("literal", opts), False
    if tp in _SCALARS:
        return tp, False
    raise TypeError(f"{where}: unsupported annotation {tp!r} (use int, float, str, bool, Literal, tuple)")


def _parse_field(f: dataclasses.Field, tp: Any, where: str) -> _Spec:
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            base, opt = _parse_scalar(args[0], where)
            kind = "axis" if f.metadata.get("axis", True) else "tuple"
            return _Spec(kind, base, opt, None)
        if not args:
            raise TypeError(f"{where}: bare tuple annotations are not supported")
        bases = [_parse_scalar(a, where) for a in args]
        if len({repr(b) for b in bases}) != 1:
            raise TypeError(f"{where}: fixed-length tuples must have one element type, got {tp!r}")
        return _Spec("tuple", bases[0][0], bases[0][1], len(args))
    base, opt = _parse_scalar(tp, where)
    return _Spec("scalar", base, opt)


def _describe(base: Any) -> str:
    if isinstance(base, tuple):
        return "one of " + ", ".join(repr(o) for o in base[1])
    return {int: "an integer in [-2**63, 2**63 - 1]", float: "a finite real number", str: "a string", bool: "True or False"}[base]


def _coerce(name: str, value: Any, base: Any, optional: bool, *, what: str = "==") -> Any:
    """Normalize one scalar to ``base`` or raise ValueError naming ``name``."""
    if value is None and optional:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    ok = True
    if isinstance(base, tuple):  # Literal
        if not isinstance(value, _SCALARS) or not any(
            type(value) is type(o) and value == o for o in base[1]
        ):
            ok = False
    elif base is bool:
        ok = isinstance(value, bool)
    elif base is str:
        ok = isinstance(value, str)
    elif base is int:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool) and _INT64[0] <= value <= _INT64[1]
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            value = float(value)
    if not ok:
        none = " or None" if optional else ""
        raise ValueError(f"{name} {what} {value!r}, must be {_describe(base)}{none}")
    return value


# --------------------------------------------------------------------------------------------------
# the config base


def fixed(default: tuple) -> Any:
    """A tuple-valued config field that is a fixed parameter (looped over inside a cell), not a grid axis."""
    return field(default=default, metadata={"axis": False})


@dataclass(frozen=True)
class SweepConfig:
    """Base of sweep configs (frozen dataclasses). See the module docstring for the conventions.

    Class attributes a subclass may set:

    - ``name``: short name used in slugs, captions and file names (default: the class name);
    - ``version``: bump it when ``cell_fn``'s meaning changes - it is part of every cell key, so
      cached cells of the old code are not reused;
    - ``seed_axes``: the axes that enter a cell's seed (``None``: all axes).

    ``seed`` (keyword-only, default 0) is the base seed of the whole run.
    """

    seed: int = field(default=0, kw_only=True)

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    seed_axes: ClassVar[tuple[str, ...] | None] = None

    # -- construction ------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        # normalization of the frozen fields' values, then the subclass's range checks; no I/O
        for f in dataclasses.fields(self):
            spec = self._specs()[f.name]
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, self._normalize(f.name, spec, value))
        self.validate()

    def validate(self) -> None:
        """Range checks of a subclass (raise ValueError via ``sims.validation``). Default: none."""

    @classmethod
    def _specs(cls) -> dict[str, _Spec]:
        cached = cls.__dict__.get("_spec_cache")
        if cached is not None:
            return cached
        hints = typing.get_type_hints(cls)
        specs = {}
        for f in dataclasses.fields(cls):
            specs[f.name] = _parse_field(f, hints[f.name], f"{cls.__name__}.{f.name}")
        if specs["seed"].kind != "scalar" or specs["seed"].base is not int:
            raise TypeError(f"{cls.__name__}.seed must stay an int")
        if cls.seed_axes is not None:
            axes = [n for n, s in specs.items() if s.kind == "axis"]
            unknown = [a for a in cls.seed_axes if a not in axes]
            if unknown:
                raise TypeError(f"{cls.__name__}.seed_axes names {unknown}, which are not axes {axes}")
        type.__setattr__(cls, "_spec_cache", specs)
        return specs

    @staticmethod
    def _normalize(name: str, spec: _Spec, value: Any) -> Any:
        if spec.kind == "scalar":
            if name == "seed" and isinstance(value, int) and not isinstance(value, bool) and not 0 <= value < 2**63:
                raise ValueError(f"seed == {value}, must be an integer in [0, 2**63 - 1]")
            return _coerce(name, value, spec.base, spec.optional)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} == {value!r}, must be a tuple of values")
        if spec.kind == "tuple" and spec.length is not None and len(value) != spec.length:
            raise ValueError(f"{name} == {tuple(value)!r}, must have {spec.length} values")
        if spec.kind == "axis" and len(value) == 0:
            raise ValueError(f"{name} == (), must hold at least one value (the grid would be empty)")
        out = tuple(_coerce(name, v, spec.base, spec.optional, what="contains") for v in value)
        if spec.kind == "axis":
            seen: set[str] = set()
            for v in out:
                key = repr(v)
                if key in seen:
                    raise ValueError(f"{name} contains {v!r} twice, values of a grid axis must be distinct")
                seen.add(key)
        return out

    # -- structure ---------------------------------------------------------------------------------
    @classmethod
    def axes(cls) -> tuple[str, ...]:
        """Names of the grid axes, in declaration (= grid) order."""
        return tuple(n for n, s in cls._specs().items() if s.kind == "axis")

    @classmethod
    def fixed(cls) -> tuple[str, ...]:
        """Names of the fixed parameters (not axes, not ``seed``)."""
        return tuple(n for n, s in cls._specs().items() if s.kind != "axis" and n != "seed")

    @classmethod
    def display_name(cls) -> str:
        return cls.name or cls.__name__

    @property
    def n_cells(self) -> int:
        return math.prod(len(getattr(self, a)) for a in self.axes())

    def cells(self) -> list[dict[str, Any]]:
        """All cells in grid order: dicts of the fixed parameters then one value per axis."""
        fixed = {n: getattr(self, n) for n in self.fixed()}
        axes = self.axes()
        return [{**fixed, **dict(zip(axes, values))} for values in itertools.product(*(getattr(self, a) for a in axes))]

    def cell_seed(self, cell: Mapping[str, Any]) -> int:
        """The seed of a cell: from the base seed and the cell's values on the seed axes (63 bits)."""
        names = self.seed_axes if self.seed_axes is not None else self.axes()
        digest = sio.content_hash([[n, cell[n]] for n in names], digits=32)
        words = tuple(int(digest[i : i + 8], 16) for i in range(0, 32, 8))
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=words)
        return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))

    # -- identity and names ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field (tuples become lists); ``from_dict`` inverts it exactly."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SweepConfig":
        """Build from a dict as written by :meth:`to_dict`; unknown or missing keys raise ValueError."""
        if not isinstance(d, Mapping):
            raise ValueError(f"config == {d!r}, must be a mapping of field names to values")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ValueError(f"config key {unknown[0]!r} is unknown for {cls.__name__}, must be one of {', '.join(names)}")
        required = [
            f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in required if k not in d]
        if missing:
            raise ValueError(f"config key {missing[0]!r} is missing for {cls.__name__}")
        return cls(**dict(d))

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run: class, its version, the full config."""
        return {
            "class": _qualified(type(self)),
            "version": self.version,
            "config": self.to_dict(),
        }

    def config_hash(self) -> str:
        """16 hex digits identifying :meth:`identity`."""
        return sio.content_hash(self.identity(), digits=16)

    def slug(self) -> str:
        """A file-name-safe name: ``<name>-<n>cells-seed<seed>-<hash8>``."""
        raw = f"{self.display_name()}-{self.n_cells}cells-seed{self.seed}-{self.config_hash()[:8]}"
        return "".join(c if (c.isalnum() or c in "-_.") else "_" for c in raw)

    def caption(self) -> str:
        """One human-readable line: axes with their values, fixed parameters, seed."""
        parts = [f"{a} \u2208 {_fmt_values(getattr(self, a))}" for a in self.axes()]
        fixed = [f"{n} = {_fmt_value(getattr(self, n))}" for n in self.fixed()]
        text = f"{self.display_name()}: " + " \u00d7 ".join(parts)
        if fixed:
            text += "; " + ", ".join(fixed)
        return text + f"; seed {self.seed}"

    def figure_stem(self, what: str) -> str:
        """File stem of a figure: ``<name>_<what>`` (a run folder holds one config)."""
        return f"{self.display_name()}_{what}"


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt_value(x) for x in v) + ")"
    return str(v)


def _fmt_values(vals: tuple) -> str:
    if len(vals) > 6:
        return "{" + ", ".join(_fmt_value(v) for v in vals[:3]) + f", \u2026, {_fmt_value(vals[-1])}}} ({len(vals)} values)"
    return "{" + ", ".join(_fmt_value(v) for v in vals) + "}"


# --------------------------------------------------------------------------------------------------
# cells: keys, the task function run by workers, cache files


def _module_name(name: str) -> str:
    """``name``, except that ``__main__`` of a ``python -m pkg.mod`` run becomes ``pkg.mod``."""
    if name != "__main__":
        return name
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec.name if spec is not None and spec.name else name


def _qualified(obj: Any) -> str:
    """``module.qualname`` of a function or class, independent of how the program was started."""
    return f"{_module_name(obj.__module__)}.{obj.__qualname__}"


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


def cell_key(config: SweepConfig, cell_fn: Callable, cell: Mapping[str, Any], seed: int) -> str:
    """Content hash naming a cell's cache file (32 hex digits)."""
    return sio.content_hash(
        {
            "format": FORMAT_VERSION,
            "sims": sims.__version__,
            "class": _qualified(type(config)),
            "version": config.version,
            "cell_fn": _qualified(cell_fn),
            "cell": dict(cell),
            "seed": seed,
        }
    )


def _run_cells(
    cell_fn: Callable, batch: Sequence[tuple[dict, int]], reserved: Sequence[str] = ()
) -> list[tuple[list[dict], float]]:
    """Task body (runs in a worker): each cell's normalized rows and its seconds."""
    out = []
    for cell, seed in batch:
        t0 = time.perf_counter()
        try:
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


def _load_cell(path: Path, key: str) -> list[dict] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None  # missing, or damaged by a crash of the machine: compute again
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("rows"), list):
        return None
    return data["rows"]


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
    if old.get("identity") == config.identity():
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
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_timeout: float = DEFAULT_SCHEDULER_TIMEOUT,
    quiet: bool = False,
    cells_per_task: int | str = "auto",
    force: bool = False,
    figures_fn: Callable[[list[dict], Path, SweepConfig], Iterable[os.PathLike] | None] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    runs_dir: str | os.PathLike = "runs",
) -> RunResult:
    """Run every cell of ``config`` not yet cached in ``out_dir``; write results.csv, figures, manifest.

    ``out_dir=None`` picks a new ``<runs_dir>/<slug>-<timestamp>``. ``workers`` / ``scheduler`` choose
    the engine (see ``sims.executors``). Everything is validated - including whether ``out_dir`` can be
    written and whether a scheduler answers - before the first byte is written.
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
    workers, scheduler, scheduler_timeout = check_executor_args(workers, scheduler, scheduler_timeout)
    if workers is not None and scheduler is None:
        try:
            pickle.dumps(cell_fn)
        except Exception as exc:  # noqa: BLE001 - lambdas, local functions
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
    keys = [cell_key(config, cell_fn, c, s) for c, s in zip(cells, seeds)]
    cell_dir = out / "cells"
    results: list[list[dict] | None] = [_load_cell(cell_dir / f"{k}.json", k) for k in keys]
    missing = [i for i, r in enumerate(results) if r is None]
    n_cached = len(cells) - len(missing)

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
            engine = handle.describe() if handle is not None else {**requested, "used": False}
            per_task = 1
            if missing:
                per_task = (
                    auto_cells_per_task(len(missing), handle.n_workers, handle.kind)
                    if cells_per_task == "auto" else cells_per_task
                )
                engine["cells_per_task"] = per_task
                _compute(
                    handle, cell_fn, config, cells, seeds, keys, missing, results, cell_dir,
                    per_task, quiet, out,
                )
            if handle is not None:
                handle.close()
                handle = None

            rows, columns = _assemble(config, cells, seeds, results)
            csv_path = sio.write_csv(out / "results.csv", rows, columns)
            figures: list[Path] = []
            if figures_fn is not None:
                made = figures_fn(rows, out, config)
                figures = [Path(p) for p in (made or [])]
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
            if extra_manifest:
                manifest["extra"] = dict(extra_manifest)
            man_path = sio.atomic_write_json(out / "manifest.json", manifest)
    finally:
        if handle is not None:
            handle.close(cancel=True)
    return RunResult(
        out_dir=out, results_csv=csv_path, manifest_json=man_path, figures=figures, rows=rows,
        columns=columns, wall_time_s=wall, n_cells=len(cells), n_computed=len(missing),
        n_cached=n_cached, executor=engine,
    )


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
                    _run_cells, cell_fn, [(cells[i], seeds[i]) for i in idx], reserved
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
                        cell_dir / f"{keys[i]}.json",
                        {"key": keys[i], "cell": cells[i], "seed": seeds[i], "seconds": round(secs, 6),
                         "rows": rows},
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
