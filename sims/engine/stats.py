"""Student-t confidence intervals of a mean: the one implementation every table and figure uses.

``scipy.special.stdtrit`` gives the quantile (the same numbers as ``scipy.stats.t.ppf``, without
importing ``scipy.stats``, which costs about 0.7 s).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from sims.engine.validation import Interval, check_number

_LEVEL = Interval(0.0, 1.0, "()")


def _real_1d(name: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float64 array of real numbers (NaN allowed), or a ValueError naming ``name``."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} == {values!r}, must be a 1-D sequence of real numbers")
    try:
        arr = np.asarray(values)
    except ValueError:
        raise ValueError(f"{name} is ragged, must be a 1-D sequence of real numbers") from None
    if arr.dtype.kind not in "iuf" or arr.ndim != 1:
        what = f"dtype {arr.dtype}" if arr.dtype.kind not in "iuf" else f"shape {arr.shape}"
        raise ValueError(f"{name} has {what}, must be a 1-D sequence of real numbers")
    return arr.astype(np.float64)

__all__ = ["t_quantile", "t_stats", "t_interval", "crossing"]


def t_quantile(n: int, level: float = 0.95) -> float:
    """Two-sided ``level`` Student-t quantile ``t_{(1+level)/2, n-1}`` for ``n`` observations (NaN for n < 2)."""
    level = check_number("level", level, _LEVEL)
    if n < 2:
        return float("nan")
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.5 + level / 2))


def t_stats(v: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float]:
    """``(n, mean, sd, half)`` of the 1-D sample ``v`` (the caller drops missing values): sd with
    ddof 1 and the Student-t half-width ``t_{(1+level)/2, n-1} · sd / √n``; NaN where undefined
    (mean for n = 0, sd and half for n < 2)."""
    v = _real_1d("v", v)
    check_number("level", level, _LEVEL)
    n = int(v.size)
    if n == 0:
        return 0, float("nan"), float("nan"), float("nan")
    if n == 1:
        return 1, float(v[0]), float("nan"), float("nan")
    sd = float(v.std(ddof=1))
    return n, float(v.mean()), sd, t_quantile(n, level) * sd / math.sqrt(n)


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, int]:
    """Mean and half-width of the Student-t interval of the mean over the finite ``values`` (NaN
    half-width for fewer than 2)."""
    v = _real_1d("values", values)
    n, mean, _, half = t_stats(v[np.isfinite(v)], level)
    return mean, half, n


def crossing(levels: Any, diff: Any, *, log: bool = False) -> tuple[float, int]:
    """First sign change of ``diff`` (e.g. ``acc_mono - acc_poly``) along increasing ``levels``.

    Returns ``(level, direction)``: the crossing by linear interpolation (in ``log(level)`` when
    ``log``), ``direction = +1`` when ``diff`` goes from negative to positive (mono overtakes), ``-1``
    the other way; ``(nan, 0)`` without a sign change. Exact zeros count as a sign change at that level
    when the neighbours have opposite signs.
    """
    lv = _real_1d("levels", levels)
    d = _real_1d("diff", diff)
    if lv.ndim != 1 or d.shape != lv.shape or lv.size < 2:
        raise ValueError(f"levels and diff must be 1-D of the same length >= 2, got {lv.shape} and {d.shape}")
    if np.any(np.diff(lv) <= 0):
        raise ValueError("levels must be strictly increasing")
    if log and np.any(lv <= 0):
        raise ValueError("levels must be > 0 with log=True")
    x = np.log(lv) if log else lv
    ok = np.isfinite(d)
    x, d, lv = x[ok], d[ok], lv[ok]
    s = np.sign(d)
    nz = np.nonzero(s)[0]
    for a, b_ in zip(nz[:-1], nz[1:]):
        if s[a] != s[b_]:
            if b_ - a > 1:  # zeros in between: the first zero
                xc = x[a + 1]
            else:
                xc = x[a] + (x[b_] - x[a]) * (-d[a]) / (d[b_] - d[a])
            return (float(np.exp(xc)) if log else float(xc)), int(s[b_])
    return float("nan"), 0
