"""Sweep configs: a frozen dataclass whose tuple fields are the grid axes.

A config deriving from :class:`SweepConfig` declares the grid (fields annotated ``tuple[X, ...]``, in
declaration order, expanded row-major) and the fixed parameters (every other field, and tuple fields
declared with :func:`fixed`). ``X`` may be ``int``, ``float``, ``str``, ``bool`` or a ``Literal[...]``;
values are normalized (lists -> tuples, ints -> floats for float fields) and checked against their
annotation; range checks go in :meth:`SweepConfig.validate`. The config knows its cells, each cell's
seed and its own identity (class, version, values); :mod:`sims.sweep.runner` runs the cells.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Mapping

import numpy as np

from sims.sweep import io as sio

__all__ = ["SweepConfig", "fixed"]

_SCALARS = (int, float, str, bool)
#: integer fields must fit int64 (numpy, pandas, JSON readers); seeds are in [0, 2**63 - 1]
_INT64 = (-(2**63), 2**63 - 1)


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
    #: qualified names this class had before a move of its module: run folders written under them are
    #: the same run (their cached cells are recomputed: cell keys name the class where it is now)
    former_names: ClassVar[tuple[str, ...]] = ()

    # -- construction ------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        # normalization of the frozen fields' values, then the subclass's range checks; no I/O
        for f in dataclasses.fields(self):
            spec = self._specs()[f.name]
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, self._normalize(f.name, spec, value))
        self.validate()

    def validate(self) -> None:
        """Range checks of a subclass (raise ValueError via ``sims.engine.validation``). Default: none."""

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

    def same_run(self, identity: Any) -> bool:
        """Whether ``identity`` (as stored in a run folder's config.json) is this config's, allowing for
        :attr:`former_names` of the class."""
        if not isinstance(identity, Mapping):
            return False
        mine = self.identity()
        if identity.get("class") in self.former_names:
            identity = {**identity, "class": mine["class"]}
        return dict(identity) == mine

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

    def work_estimate(self, cells: list[dict[str, Any]]) -> float | None:
        """About how many multiply-adds ``cells`` cost (``workers="auto"`` starts processes only when it is
        large; see ``sims.sweep.executors.auto_workers``). Default: None, no estimate (auto stays serial)."""
        return None

    def worker_bytes(self) -> float | None:
        """Estimated peak bytes of one process computing cells (caps ``workers="auto"``); default None."""
        return None

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




def _module_name(name: str) -> str:
    """``name``, except that ``__main__`` of a ``python -m pkg.mod`` run becomes ``pkg.mod``."""
    if name != "__main__":
        return name
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec.name if spec is not None and spec.name else name


def _qualified(obj: Any) -> str:
    """``module.qualname`` of a function or class, independent of how the program was started."""
    return f"{_module_name(obj.__module__)}.{obj.__qualname__}"

