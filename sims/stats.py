"""Student-t confidence intervals of a mean: the one implementation every table and figure uses.

``scipy.special.stdtrit`` gives the quantile (the same numbers as ``scipy.stats.t.ppf``, without
importing ``scipy.stats``, which costs about 0.7 s).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["t_quantile", "t_stats"]


def t_quantile(n: int, level: float = 0.95) -> float:
    """Two-sided ``level`` Student-t quantile ``t_{(1+level)/2, n-1}`` for ``n`` observations (NaN for n < 2)."""
    if n < 2:
        return float("nan")
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.5 + level / 2))


def t_stats(v: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float]:
    """``(n, mean, sd, half)`` of the 1-D sample ``v`` (the caller drops missing values): sd with
    ddof 1 and the Student-t half-width ``t_{(1+level)/2, n-1} · sd / √n``; NaN where undefined
    (mean for n = 0, sd and half for n < 2)."""
    n = int(v.size)
    if n == 0:
        return 0, float("nan"), float("nan"), float("nan")
    if n == 1:
        return 1, float(v[0]), float("nan"), float("nan")
    sd = float(v.std(ddof=1))
    return n, float(v.mean()), sd, t_quantile(n, level) * sd / math.sqrt(n)
