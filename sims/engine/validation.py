"""Declarative input validation shared by every public function of the toolkit.

Every check raises ``ValueError`` whose message names the argument, the offending value and the
allowed range or options, in the form ``"sparsity == 1.5, must be in [0, 1)"`` (scikit-learn's
wording). CLIs turn these errors into one line on stderr and exit status 2 (see ``sims.sweep.cli``).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import array_api_compat
import numpy as np

__all__ = [
    "Interval",
    "check_number",
    "check_values",
    "check_option",
    "check_array",
    "check_seed",
    "UNIT",
    "UNIT_OPEN_RIGHT",
    "NONNEG",
    "POSITIVE",
]


@dataclass(frozen=True)
class Interval:
    """A real interval; ``None`` ends are unbounded. ``closed`` is a two-letter code, e.g. ``"[)"``.

    Infinities and NaN are never inside: an unbounded end is open (``Interval(0, None)`` is ``[0, inf)``).
    """

    lo: float | None = None
    hi: float | None = None
    closed: str = "[]"

    def __post_init__(self) -> None:
        if self.closed not in ("[]", "[)", "(]", "()"):
            raise ValueError(f"closed == {self.closed!r}, must be one of '[]', '[)', '(]', '()'")

    def contains(self, x: Any) -> Any:
        """Elementwise membership (works for scalars and numpy arrays; NaN and +-inf are never inside)."""
        ok = np.isfinite(x)
        if self.lo is not None:
            ok = ok & ((x >= self.lo) if self.closed[0] == "[" else (x > self.lo))
        if self.hi is not None:
            ok = ok & ((x <= self.hi) if self.closed[1] == "]" else (x < self.hi))
        return ok

    def __str__(self) -> str:
        lo = "-inf" if self.lo is None else _fmt(self.lo)
        hi = "inf" if self.hi is None else _fmt(self.hi)
        left = "(" if self.lo is None else self.closed[0]
        right = ")" if self.hi is None else self.closed[1]
        return f"{left}{lo}, {hi}{right}"


UNIT = Interval(0.0, 1.0, "[]")
UNIT_OPEN_RIGHT = Interval(0.0, 1.0, "[)")
NONNEG = Interval(0.0, None, "[)")
POSITIVE = Interval(0.0, None, "()")


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


def check_number(
    name: str,
    value: Any,
    interval: Interval | None = None,
    *,
    integer: bool = False,
) -> Any:
    """Validate one real (or integer) scalar and return it as a Python ``float`` / ``int``."""
    kind = "an integer" if integer else "a real number"
    if isinstance(value, np.generic) and value.dtype.kind not in "iuf":  # complex, bool_, str_, datetime...
        raise ValueError(f"{name} == {_short(value)}, must be {kind}")
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        # numpy 0-d arrays are accepted too
        if not (isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"):
            raise ValueError(f"{name} == {_short(value)}, must be {kind}")
        value = value.item()
    if integer:
        if isinstance(value, float) or (isinstance(value, np.floating)):
            if not math.isfinite(value) or not float(value).is_integer():
                raise ValueError(f"{name} == {value!r}, must be an integer")
        value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:  # an int beyond the float range
            where = f", must be in {interval}" if interval is not None else ", must be a finite number"
            raise ValueError(f"{name} == {_short(value)}{where}") from None
        if math.isnan(value):
            raise ValueError(f"{name} == nan, must be a finite number")
    if interval is not None and not _scalar_in(value, interval):
        raise ValueError(f"{name} == {_fmt(value)}, must be in {interval}")
    return value


def _scalar_in(value: float | int, interval: Interval) -> bool:
    """Membership for one Python scalar (exact for ints of any size, unlike numpy comparisons)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    lo, hi, closed = interval.lo, interval.hi, interval.closed
    if lo is not None and not (value >= lo if closed[0] == "[" else value > lo):
        return False
    if hi is not None and not (value <= hi if closed[1] == "]" else value < hi):
        return False
    return True


def check_values(name: str, value: Any, interval: Interval) -> np.ndarray:
    """Validate a scalar or array of reals elementwise (for broadcasting parameters).

    Returns a float64 numpy array (0-d for scalars). The message quotes the first bad value. Complex,
    boolean, string and object values are refused (never silently cast).
    """
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "iuf":
            if raw.dtype.kind != "O" or raw.size == 0:
                raise TypeError
            if not all(isinstance(v, (numbers.Real, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                       for v in raw.flat):
                raise TypeError
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        shown = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
        raise ValueError(f"{name} == {_short(shown)}, must be real numbers in {interval}") from None
    bad = ~interval.contains(arr)
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else arr.item()
        what = f"{name} == {_fmt(float(first))}" if arr.ndim == 0 else f"{name} contains {_fmt(float(first))}"
        raise ValueError(f"{what}, must be in {interval}")
    return arr


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (a huge array must not flood a one-line error)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_option(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Validate membership in a finite set of options."""
    opts = tuple(options)
    try:
        ok = value in opts
    except TypeError:
        ok = False
    if not ok:
        listed = ", ".join(repr(o) for o in opts)
        raise ValueError(f"{name} == {value!r}, must be one of {listed}")
    return value


def check_seed(name: str, value: Any, *, sequence: bool = False) -> Any:
    """A seed is a non-negative integer (what ``numpy.random.SeedSequence`` accepts as entropy).

    With ``sequence=True`` a ``numpy.random.SeedSequence`` is accepted too and returned as is.
    """
    if sequence:
        if isinstance(value, np.random.SeedSequence):
            return value
        if value is None:
            raise ValueError(f"{name} == None, must be a non-negative integer or a numpy SeedSequence")
    return check_number(name, value, NONNEG, integer=True)


def check_array(
    name: str,
    x: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    min_ndim: int | None = None,
    real_floating: bool = False,
    real: bool = False,
) -> Any:
    """Validate an array of any Array-API backend: number of dimensions, shape, finiteness and
    (with ``real_floating=True``) a real floating dtype, or (with ``real=True``) a real numeric dtype
    (integer or real floating: no bool, complex, string or object arrays).

    ``shape`` entries that are ``None`` match any size. Returns ``x`` unchanged.
    """
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise ValueError(f"{name} == {_short(x)}, must be an array (numpy, CuPy or Array API), "
                         f"got {type(x).__name__}")
    nd = len(x.shape)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if nd not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name}.ndim == {nd}, must be {want} (shape {tuple(x.shape)})")
    if min_ndim is not None and nd < min_ndim:
        raise ValueError(f"{name}.ndim == {nd}, must be >= {min_ndim} (shape {tuple(x.shape)})")
    if shape is not None:
        shape = tuple(shape)
        if nd != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}.shape == {tuple(x.shape)}, must be {want}")
    if finite or real_floating or real:
        xp = array_api_compat.array_namespace(x)
        if real_floating and not _isdtype(x, xp, "real floating"):
            raise ValueError(f"{name}.dtype == {x.dtype}, must be a real floating dtype")
        if real and not _isdtype(x, xp, ("integral", "real floating")):
            raise ValueError(f"{name}.dtype == {x.dtype}, must be a real numeric dtype (integer or floating)")
        if finite and _is_floating(x, xp) and not bool(xp.all(xp.isfinite(x))):
            raise ValueError(f"{name} contains NaN or infinite values, must be finite")
    return x


def _isdtype(x: Any, xp: Any, kind: Any) -> bool:
    """``xp.isdtype`` that answers False (instead of raising) for dtypes outside the Array API (str, object)."""
    try:
        return bool(xp.isdtype(x.dtype, kind))
    except Exception:  # noqa: BLE001
        return False


def _is_floating(x: Any, xp: Any) -> bool:
    try:
        return bool(xp.isdtype(x.dtype, ("real floating", "complex floating")))
    except AttributeError:  # pragma: no cover - very old namespaces
        return np.dtype(str(x.dtype)).kind in "fc"
