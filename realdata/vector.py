"""Vectors (tabular rows, precomputed embeddings): contrastive views and test-time shifts, plain torch.

Vectors are float tensors ``(B, d)``; :func:`realdata.data.prepare_dataset` standardizes tabular data per
feature (mean 0, standard deviation 1 over the training split), so the levels below are in standard
deviations there (precomputed features are scaled globally instead, see :func:`realdata.data.prepare_features`).
Every random function takes an explicit ``torch.Generator``; shifts are deterministic and accept numpy
or torch input, returning the same kind.

Views (:class:`VectorAugmentConfig`, :func:`random_view`), in this order: mixing (each feature is
replaced, with probability ``mix``, by the same feature of another random row of the batch — a draw from
its empirical marginal, as in SCARF, Bahri et al. 2022), masking (each feature set to 0 with probability
``mask``) and Gaussian noise of standard deviation ``noise``.

Shifts (:data:`SHIFTS`; level 0 is always the clean data):

* ``mean_shift``: ``level`` is added to every feature;
* ``scaling``: every feature multiplied by ``1 + level``;
* ``block_mask``: the first ``round(level × d)`` features set to 0 (their training mean); level in [0, 1].
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from realdata.augment import as_torch
from sims.engine.validation import NONNEG, UNIT, Interval, check_number, check_option

__all__ = ["VectorAugmentConfig", "random_view", "SHIFTS", "apply_shift", "check_shift"]

#: shift kind -> meaning of its level (0 = no shift)
SHIFTS = {
    "mean_shift": "added to every feature (standard deviations of standardized data)",
    "scaling": "every feature multiplied by 1 + level",
    "block_mask": "share of the features, from the first, set to 0 (their mean)",
}


def _to_torch(x: Any, name: str = "x") -> tuple[torch.Tensor, bool]:
    return as_torch(x, name, ndim=2, layout="(B, d)")


def check_shift(kind: str, level: float, input_shape: tuple[int, ...]) -> None:
    """ValueError unless shift ``kind`` at ``level`` applies to vectors of ``input_shape`` ``(d,)``."""
    check_option("shift", kind, tuple(SHIFTS))
    d = int(input_shape[-1])
    if kind == "mean_shift":
        check_number("mean_shift", level, Interval(-1e3, 1e3))
    elif kind == "scaling":
        check_number("scaling", level, Interval(-1.0, 1e3, "(]"))
    else:
        check_number("block_mask", level, UNIT)
        if level > 0 and int(round(level * d)) == 0:
            raise ValueError(f"block_mask contains {level:g}, masks 0 of {d} features: must be >= {0.5 / d:.3g}")


def apply_shift(x: Any, kind: str, level: float) -> Any:
    """One deterministic test-time shift from :data:`SHIFTS` at ``level`` (0 = no shift)."""
    check_option("kind", kind, tuple(SHIFTS))
    t, was_numpy = _to_torch(x)
    if kind == "mean_shift":
        out = t + float(level)
    elif kind == "scaling":
        out = t * (1.0 + float(level))
    else:
        k = int(round(float(level) * t.shape[1]))
        out = t.clone()
        out[:, :k] = 0.0
    return out.detach().cpu().numpy() if was_numpy else out


@dataclass(frozen=True)
class VectorAugmentConfig:
    """Random view distribution for contrastive training on vectors (module docstring)."""

    mix: float = 0.5
    mask: float = 0.0
    noise: float = 0.1

    def __post_init__(self) -> None:
        check_number("mix", self.mix, UNIT)
        check_number("mask", self.mask, Interval(0.0, 1.0, "[)"))
        check_number("noise", self.noise, NONNEG)

    def to_dict(self) -> dict:
        return asdict(self)


def random_view(x: torch.Tensor, cfg: VectorAugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """One random view of every row of ``x (B, d)``; draws consume ``generator`` in a fixed order."""
    B, d = x.shape
    g = generator
    v = x
    if cfg.mix > 0:
        other = torch.randint(0, B, (B, d), generator=g)  # row whose value each feature takes
        swap = torch.rand(B, d, generator=g) < cfg.mix
        v = torch.where(swap, torch.gather(x, 0, other), v)
    if cfg.mask > 0:
        v = v.masked_fill(torch.rand(B, d, generator=g) < cfg.mask, 0.0)
    if cfg.noise > 0:
        v = v + cfg.noise * torch.randn(v.shape, generator=g, dtype=v.dtype)
    return v
