"""1-D signals: contrastive views and test-time shifts, written with plain torch ops.

Signals are float tensors ``(B, C, L)`` (channels × time), standardized per channel by
:func:`realdata.data.prepare_dataset` (mean 0, standard deviation 1 over the training split). Every random
function takes an explicit ``torch.Generator``; test-time shifts are deterministic and accept numpy or
torch input, returning the same kind.

Views (:class:`SignalAugmentConfig`, :func:`random_view`), in this order:
crop-and-resize (a random window of ``crop`` × L samples stretched back to L by linear interpolation),
random time shift (content moves by up to ``shift`` × L samples, zero fill), amplitude scaling (a factor
in ``amplitude``), jitter (Gaussian noise of standard deviation ``jitter``) and masking (with probability
``mask_prob``, a random segment of ``mask`` × L samples set to 0).

Shifts (:data:`SHIFTS`; level 0 is always the clean signal):

* ``time_shift``: the content moves later by ``round(level × L)`` samples (zero fill); level in [0, 1);
* ``time_scale``: time stretched by the factor ``1 + level`` about the start (``x'(t) = x(t / (1 + level))``,
  linear interpolation, zero past the end); level in [0, 10];
* ``smoothing``: Gaussian smoothing of standard deviation ``level`` samples (replicate padding);
* ``trend``: a linear trend rising by ``level`` (in standard deviations) from start to end is added.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from realdata.augment import as_torch
from sims.engine.validation import NONNEG, UNIT, Interval, check_number, check_option

__all__ = ["SignalAugmentConfig", "random_view", "SHIFTS", "apply_shift", "check_shift", "time_shift", "time_scale",
           "smooth", "add_trend"]

#: shift kind -> meaning of its level (0 = no shift)
SHIFTS = {
    "time_shift": "fraction of the length the content moves later, in [0, 1)",
    "time_scale": "time stretched by the factor 1 + level",
    "smoothing": "Gaussian smoothing, standard deviation in samples",
    "trend": "linear trend rising by `level` standard deviations from start to end",
}


def _to_torch(x: Any, name: str = "x") -> tuple[torch.Tensor, bool]:
    return as_torch(x, name, ndim=3, layout="(B, C, L)")


def _back(t: torch.Tensor, was_numpy: bool) -> Any:
    return t.detach().cpu().numpy() if was_numpy else t


def _resample(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """``x (B, C, L)`` read at fractional sample positions ``pos (B, L)`` by linear interpolation; positions
    outside ``[0, L - 1]`` read 0."""
    B, C, L = x.shape
    lo = torch.floor(pos)
    w = (pos - lo).unsqueeze(1).to(x.dtype)  # (B, 1, L)
    lo = lo.long()
    hi = lo + 1

    def take(idx: torch.Tensor) -> torch.Tensor:
        ok = ((idx >= 0) & (idx < L)).unsqueeze(1).to(x.dtype)
        g = torch.gather(x, 2, idx.clamp(0, L - 1).unsqueeze(1).expand(B, C, L))
        return g * ok

    return (1.0 - w) * take(lo) + w * take(hi)


# --------------------------------------------------------------------------- deterministic shifts
def time_shift(x: Any, fraction: float) -> Any:
    """Content moves later by ``round(fraction × L)`` samples; the start is zero-filled."""
    fraction = check_number("fraction", fraction, Interval(0.0, 1.0, "[)"))
    t, was_numpy = _to_torch(x)
    k = int(round(fraction * t.shape[-1]))
    out = torch.zeros_like(t)
    out[..., k:] = t[..., : t.shape[-1] - k]
    return _back(out, was_numpy)


def time_scale(x: Any, stretch: float) -> Any:
    """``x'(t) = x(t / (1 + stretch))``: the signal slowed down by the factor ``1 + stretch``."""
    stretch = check_number("stretch", stretch, Interval(0.0, 10.0))
    t, was_numpy = _to_torch(x)
    B, _, L = t.shape
    pos = torch.arange(L, dtype=t.dtype).expand(B, L) / (1.0 + stretch)
    return _back(_resample(t, pos), was_numpy)


def smooth(x: Any, sigma: float) -> Any:
    """Gaussian smoothing along time, standard deviation ``sigma`` samples (radius ⌈3σ⌉, replicate
    padding, so a constant signal stays constant). ``sigma = 0`` returns the input."""
    sigma = check_number("sigma", sigma, Interval(0.0, 1000.0))
    t, was_numpy = _to_torch(x)
    if sigma == 0.0:
        return _back(t.clone(), was_numpy)
    radius = max(1, int(math.ceil(3.0 * sigma)))
    r = torch.arange(-radius, radius + 1, dtype=t.dtype)
    k = torch.exp(-0.5 * (r / sigma) ** 2)
    k = (k / k.sum()).view(1, 1, -1)
    B, C, L = t.shape
    y = t.reshape(B * C, 1, L)
    y = F.conv1d(F.pad(y, (radius, radius), mode="replicate"), k)
    return _back(y.reshape(B, C, L), was_numpy)


def add_trend(x: Any, rise: float) -> Any:
    """Add the line rising from 0 at the first sample to ``rise`` at the last (every channel)."""
    rise = check_number("rise", rise, Interval(-1e6, 1e6))
    t, was_numpy = _to_torch(x)
    L = t.shape[-1]
    ramp = torch.linspace(0.0, 1.0, L, dtype=t.dtype) if L > 1 else torch.zeros(1, dtype=t.dtype)
    return _back(t + rise * ramp, was_numpy)


def check_shift(kind: str, level: float, input_shape: tuple[int, ...]) -> None:
    """ValueError unless shift ``kind`` at ``level`` applies to signals of ``input_shape`` ``(C, L)``."""
    check_option("shift", kind, tuple(SHIFTS))
    L = int(input_shape[-1])
    if kind == "time_shift":
        check_number("time_shift", level, Interval(0.0, 1.0, "[)"))
        if level > 0 and int(round(level * L)) == 0:
            raise ValueError(f"time_shift contains {level:g}, moves a signal of length {L} by 0 samples: "
                             f"must be >= {0.5 / L:.3g}")
    elif kind == "time_scale":
        check_number("time_scale", level, Interval(0.0, 10.0))
    elif kind == "smoothing":
        check_number("smoothing", level, Interval(0.0, float(L)))
    else:
        check_number("trend", level, Interval(0.0, 1e3))
    if L < 2:
        raise ValueError(f"{kind} cannot apply to signals of length {L}: must be >= 2 samples")


def apply_shift(x: Any, kind: str, level: float) -> Any:
    """One deterministic test-time shift from :data:`SHIFTS` at ``level`` (0 = no shift)."""
    check_option("kind", kind, tuple(SHIFTS))
    fn = {"time_shift": time_shift, "time_scale": time_scale, "smoothing": smooth, "trend": add_trend}[kind]
    return fn(x, level)


# --------------------------------------------------------------------------- contrastive views
@dataclass(frozen=True)
class SignalAugmentConfig:
    """Random view distribution for contrastive training on standardized 1-D signals (module docstring)."""

    crop: tuple[float, float] = (0.6, 1.0)
    shift: float = 0.25
    amplitude: tuple[float, float] = (0.6, 1.4)
    jitter: float = 0.2
    mask: float = 0.15
    mask_prob: float = 0.5

    def __post_init__(self) -> None:
        if len(self.crop) != 2 or not (0.0 < self.crop[0] <= self.crop[1] <= 1.0):
            raise ValueError(f"crop == {self.crop!r}, must be (lo, hi) with 0 < lo <= hi <= 1")
        check_number("shift", self.shift, Interval(0.0, 1.0, "[)"))
        if len(self.amplitude) != 2 or not (0.0 < self.amplitude[0] <= self.amplitude[1]):
            raise ValueError(f"amplitude == {self.amplitude!r}, must be (lo, hi) with 0 < lo <= hi")
        check_number("jitter", self.jitter, NONNEG)
        check_number("mask", self.mask, Interval(0.0, 1.0, "[)"))
        check_number("mask_prob", self.mask_prob, UNIT)

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def random_view(x: torch.Tensor, cfg: SignalAugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """One random view of every signal of ``x (B, C, L)``; draws consume ``generator`` in a fixed order."""
    B, C, L = x.shape
    g = generator
    # crop-and-resize: output sample i reads start + i * width / (L - 1)
    width = _uniform(B, cfg.crop[0], cfg.crop[1], g) * (L - 1)
    start = torch.rand(B, generator=g) * ((L - 1) - width)
    # time shift: the content moves by s samples (sample at i - s)
    s = _uniform(B, -cfg.shift, cfg.shift, g) * L
    i = torch.arange(L, dtype=x.dtype)
    pos = start.view(B, 1) + (i.view(1, L) - s.view(B, 1)) * (width.view(B, 1) / max(L - 1, 1))
    v = _resample(x, pos)
    v = v * _uniform(B, cfg.amplitude[0], cfg.amplitude[1], g).view(B, 1, 1).to(x.dtype)
    if cfg.jitter > 0:
        v = v + cfg.jitter * torch.randn(v.shape, generator=g, dtype=v.dtype)
    if cfg.mask > 0 and cfg.mask_prob > 0:
        n = max(1, int(round(cfg.mask * L)))
        on = torch.rand(B, generator=g) < cfg.mask_prob
        t0 = torch.randint(0, L - n + 1, (B,), generator=g)
        t = torch.arange(L).view(1, L)
        box = (t >= t0.view(B, 1)) & (t < (t0 + n).view(B, 1)) & on.view(B, 1)
        v = v.masked_fill(box.unsqueeze(1), 0.0)
    return v
