"""The three kinds of input the real-data study takes, and what each brings: its encoder architectures,
its contrastive views and its test-time shifts with their default levels.

====================  ========================  ==================================  ==========================
modality              sample shape              encoders (``arch="auto"`` first)    shifts (level 0 = clean)
====================  ========================  ==================================  ==========================
``image``             ``(C, H, W)``, in [0, 1]  2-D CNN, MLP                        rotation, inversion, blur,
                                                                                     translation
``signal``            ``(C, L)``, standardized  1-D CNN (strided convolutions), MLP  time_shift, time_scale,
                                                                                     smoothing, trend
``vector``            ``(d,)``, standardized    MLP                                  mean_shift, scaling,
                                                                                     block_mask
====================  ========================  ==================================  ==========================

Views: :mod:`realdata.augment` (images), :mod:`realdata.signal`, :mod:`realdata.vector`. A new modality is
one more :class:`Modality` in :data:`MODALITIES` plus its module of views and shifts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from realdata import augment as _image
from realdata import signal as _signal
from realdata import vector as _vector
from sims.engine.validation import UNIT, Interval, check_number, check_option

__all__ = ["Modality", "MODALITIES", "get", "SHIFT_KINDS", "modality_of_shift"]


@dataclass(frozen=True)
class Modality:
    """What the study needs to know about one kind of input (module docstring)."""

    name: str
    ndim: int  # dimensions of one sample
    archs: tuple[str, ...]  # first = the default of arch="auto"
    augment: Callable[[], Any]  # default view configuration
    view: Callable[[Any, Any, Any], Any]  # (x, cfg, generator) -> one random view
    shifts: Mapping[str, str]  # kind -> meaning of its level
    check_shift: Callable[[str, float, tuple], None]
    apply_shift: Callable[[Any, str, float], Any]
    default_levels: Mapping[str, tuple[float, ...]]
    quick_levels: Mapping[str, tuple[float, ...]]

    def arch(self, arch: str) -> str:
        """``arch`` resolved (``"auto"`` -> this modality's default), or ValueError naming the allowed ones."""
        if arch == "auto":
            return self.archs[0]
        check_option("arch", arch, self.archs)
        return arch


def _image_check(kind: str, level: float, shape: tuple) -> None:
    check_option("shift", kind, tuple(_image.SHIFTS))
    _, H, W = (int(s) for s in shape)
    if kind == "rotation":
        check_number("rotation", level, _image_interval("rotation"))
        if level != 0 and min(H, W) < 2:
            raise ValueError(f"rotation cannot apply to images of {H} x {W} pixels: both sides must be >= 2")
    elif kind == "inversion":
        check_number("inversion", level, _image_interval("inversion"))
    elif kind == "blur":
        check_number("blur", level, _image_interval("blur"))
    else:
        lvl = check_number("translation", level, integer=True)
        if lvl != 0 and not 0 < lvl <= min(H, W) - 1:
            raise ValueError(f"translation contains {level:g}, must be in [0, {min(H, W) - 1}] for images of "
                             f"{H} x {W} pixels (the content moves right and down by that many pixels)")


def _image_interval(kind: str) -> Interval:
    return {"rotation": Interval(-360.0, 360.0), "inversion": UNIT, "blur": Interval(0.0, 10.0)}[kind]


MODALITIES: dict[str, Modality] = {
    "image": Modality(
        "image", 3, ("cnn", "mlp"), _image.AugmentConfig, _image.random_augment, _image.SHIFTS, _image_check,
        _image.apply_shift,
        {"rotation": (0.0, 15.0, 30.0, 45.0), "inversion": (0.0, 0.25, 1.0), "blur": (0.0, 0.5, 1.0),
         "translation": (0.0, 1.0, 2.0)},
        {"rotation": (0.0, 30.0), "inversion": (0.0, 1.0), "blur": (0.0, 1.0), "translation": (0.0, 1.0)}),
    "signal": Modality(
        "signal", 2, ("cnn", "mlp"), _signal.SignalAugmentConfig, _signal.random_view, _signal.SHIFTS,
        _signal.check_shift, _signal.apply_shift,
        {"time_shift": (0.0, 0.05, 0.1, 0.2), "time_scale": (0.0, 0.1, 0.25, 0.5), "smoothing": (0.0, 1.0, 2.0, 4.0),
         "trend": (0.0, 0.5, 1.0, 2.0)},
        {"time_shift": (0.0, 0.1), "time_scale": (0.0, 0.25), "smoothing": (0.0, 2.0), "trend": (0.0, 1.0)}),
    "vector": Modality(
        "vector", 1, ("mlp",), _vector.VectorAugmentConfig, _vector.random_view, _vector.SHIFTS,
        _vector.check_shift, _vector.apply_shift,
        {"mean_shift": (0.0, 0.25, 0.5, 1.0), "scaling": (0.0, 0.25, 0.5, 1.0), "block_mask": (0.0, 0.1, 0.25, 0.5)},
        {"mean_shift": (0.0, 0.5), "scaling": (0.0, 0.5), "block_mask": (0.0, 0.25)}),
}

#: every shift kind of every modality, in a fixed order
SHIFT_KINDS: tuple[str, ...] = tuple(k for m in MODALITIES.values() for k in m.shifts)


def get(name: str) -> Modality:
    return MODALITIES[check_option("modality", name, tuple(MODALITIES))]


def modality_of_shift(kind: str) -> str:
    """The modality whose shift ``kind`` is."""
    for m in MODALITIES.values():
        if kind in m.shifts:
            return m.name
    raise ValueError(f"shift == {kind!r} is unknown, must be one of {', '.join(SHIFT_KINDS)}")
