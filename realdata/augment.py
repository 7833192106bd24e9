"""Image augmentations (SimCLR views) and test-time corruptions, written with plain torch ops.

Images are float tensors ``(B, C, H, W)`` with pixels in ``[0, 1]``; rows run top to bottom, columns left
to right. torchvision is not used. Every random function takes an explicit ``torch.Generator`` (build one
with :func:`make_generator` from a seed and keys, through ``sims.engine.backend.seed_sequence``), so a seed fixes
the result whatever else runs in the process.

Test-time functions (:func:`rotate`, :func:`invert`, :func:`blur`, :func:`translate`, :func:`add_noise`,
:func:`apply_shift`) accept numpy or torch input and return the same kind.

Geometry: an affine map is applied with ``affine_grid`` / ``grid_sample`` (bilinear, zero padding,
``align_corners=False``), whose grid sends each OUTPUT pixel centre to an input location; so to move the
content by ``+t`` we sample at ``x - t``, and to rotate the content by ``+θ`` we sample at ``R(-θ) x``.
Integer translations use exact slicing instead (no interpolation).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sims.engine.backend import seed_sequence
from sims.engine.validation import NONNEG, UNIT, Interval, check_number, check_option

__all__ = [
    "AugmentConfig",
    "make_generator",
    "torch_seed",
    "simclr_views",
    "random_augment",
    "affine",
    "rotate",
    "translate",
    "invert",
    "blur",
    "add_noise",
    "apply_shift",
    "SHIFTS",
    "NOISES",
]

#: OOD shift kinds and the meaning of their ``level``
SHIFTS = {
    "rotation": "degrees, counter-clockwise as displayed",
    "inversion": "blend weight a in [0, 1]: (1 - a) x + a (1 - x); a = 1 is full contrast inversion",
    "blur": "Gaussian kernel standard deviation in pixels",
    "translation": "integer pixels, the content moves right and down by `level` each",
}
#: pixel-noise kinds; ``level`` is the standard deviation (uniform: U(-sqrt(3) s, sqrt(3) s))
NOISES = ("gaussian", "uniform")


def torch_seed(seed: int, *keys: Any) -> int:
    """A 63-bit torch seed derived with ``sims.engine.backend.seed_sequence(seed, *keys)``."""
    state = seed_sequence(seed, *keys).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def make_generator(seed: int, *keys: Any) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`torch_seed` ``(seed, *keys)``."""
    g = torch.Generator(device="cpu")
    g.manual_seed(torch_seed(seed, *keys))
    return g


def as_torch(x: Any, name: str = "x", *, ndim: int | None = 4, layout: str = "(B, C, H, W)") -> tuple[torch.Tensor, bool]:
    """``x`` (numpy or torch) as a floating torch tensor with ``ndim`` dimensions (None: any >= 2, samples
    first), and whether it was numpy (to give back the same kind)."""
    was_numpy = isinstance(x, np.ndarray)
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) if was_numpy else x
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a numpy array or torch tensor, got {type(x).__name__}")
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name}.ndim == {t.ndim}, must be {ndim} {layout} (shape {tuple(t.shape)})")
    if t.ndim < 2:
        raise ValueError(f"{name}.ndim == {t.ndim}, must be >= 2 (samples first) (shape {tuple(t.shape)})")
    if not t.is_floating_point():
        t = t.float()
    return t, was_numpy


def _to_torch(x: Any, name: str = "x", *, images: bool = True) -> tuple[torch.Tensor, bool]:
    return as_torch(x, name, ndim=4 if images else None)


def _back(t: torch.Tensor, was_numpy: bool) -> Any:
    return t.detach().cpu().numpy() if was_numpy else t


# --------------------------------------------------------------------------- geometry
def affine(
    x: torch.Tensor, angle_deg: torch.Tensor, shift_px: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Per-sample affine warp. ``angle_deg (B,)`` counter-clockwise, ``shift_px (B, 2)`` = (right, down)
    in pixels, ``scale (B,)`` (> 1 enlarges the content). Returns ``(B, C, H, W)``."""
    B, _, H, W = x.shape
    a = torch.deg2rad(angle_deg.to(x.dtype))
    cos, sin = torch.cos(a), torch.sin(a)
    s = scale.to(x.dtype)
    # output pixel p = (u, v) (normalized, v down) samples the input at A (p - t) with A = R(θ) / s, where
    # R(θ) = [[cos, -sin], [sin, cos]]; with v pointing down this turns the content counter-clockwise on
    # screen (checked against numpy.rot90 in the tests).
    theta = torch.zeros(B, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = cos / s
    theta[:, 0, 1] = -sin / s
    theta[:, 1, 0] = sin / s
    theta[:, 1, 1] = cos / s
    # translation in normalized units: one pixel = 2 / W (x) or 2 / H (y); sample at x - t
    tx = 2.0 * shift_px[:, 0].to(x.dtype) / W
    ty = 2.0 * shift_px[:, 1].to(x.dtype) / H
    theta[:, 0, 2] = -(theta[:, 0, 0] * tx + theta[:, 0, 1] * ty)
    theta[:, 1, 2] = -(theta[:, 1, 0] * tx + theta[:, 1, 1] * ty)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotate(x: Any, degrees: float) -> Any:
    """Rotate every image by ``degrees`` counter-clockwise (as displayed) about its centre; zero fill."""
    degrees = check_number("degrees", degrees, Interval(-360.0, 360.0))
    t, was_numpy = _to_torch(x)
    B = t.shape[0]
    out = affine(t, torch.full((B,), degrees), torch.zeros(B, 2), torch.ones(B))
    return _back(out, was_numpy)


def translate(x: Any, dx: int, dy: int = 0) -> Any:
    """Shift content by integer ``dx`` pixels right and ``dy`` down (negative: left / up); zero fill."""
    t, was_numpy = _to_torch(x)
    H, W = t.shape[-2:]
    dx = check_number("dx", dx, Interval(-(W - 1), W - 1), integer=True)
    dy = check_number("dy", dy, Interval(-(H - 1), H - 1), integer=True)
    out = torch.zeros_like(t)
    src_r = slice(max(0, -dy), H - max(0, dy))
    dst_r = slice(max(0, dy), H - max(0, -dy))
    src_c = slice(max(0, -dx), W - max(0, dx))
    dst_c = slice(max(0, dx), W - max(0, -dx))
    out[:, :, dst_r, dst_c] = t[:, :, src_r, src_c]
    return _back(out, was_numpy)


# --------------------------------------------------------------------------- photometric
def invert(x: Any, amount: float = 1.0) -> Any:
    """Contrast inversion blended by ``amount``: ``(1 - a) x + a (1 - x)``; ``a = 1`` gives ``1 - x``."""
    amount = check_number("amount", amount, UNIT)
    t, was_numpy = _to_torch(x)
    return _back((1.0 - amount) * t + amount * (1.0 - t), was_numpy)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3.0 * sigma)))
    r = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (r / sigma) ** 2)
    return k / k.sum()  # (2 radius + 1,)


def blur(x: Any, sigma: float) -> Any:
    """Separable Gaussian blur with standard deviation ``sigma`` pixels (radius ⌈3σ⌉, replicate padding,
    so a constant image stays constant). ``sigma = 0`` returns the input unchanged."""
    sigma = check_number("sigma", sigma, Interval(0.0, 10.0))
    t, was_numpy = _to_torch(x)
    if sigma == 0.0:
        return _back(t.clone(), was_numpy)
    k = _gaussian_kernel(sigma).to(t.dtype)
    r = (k.shape[0] - 1) // 2
    B, C, H, W = t.shape
    y = t.reshape(B * C, 1, H, W)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))  # along columns
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))  # along rows
    return _back(y.reshape(B, C, H, W), was_numpy)


def add_noise(x: Any, std: float, generator: torch.Generator, *, kind: str = "gaussian", clip: bool = False) -> Any:
    """Add i.i.d. noise of standard deviation ``std`` to every entry of ``x`` (images, signals or vectors,
    samples first): ``"gaussian"`` N(0, std²) or ``"uniform"`` U(-√3 std, √3 std) (same variance).
    ``clip=True`` clips the result to ``[0, 1]`` (for images; default off, so the noise variance is
    exactly ``std²``)."""
    std = check_number("std", std, NONNEG)
    check_option("kind", kind, NOISES)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    t, was_numpy = _to_torch(x, images=False)
    if kind == "gaussian":
        eps = torch.randn(t.shape, generator=generator, dtype=t.dtype)
    else:
        eps = (torch.rand(t.shape, generator=generator, dtype=t.dtype) * 2.0 - 1.0) * math.sqrt(3.0)
    out = t + std * eps
    if clip:
        out = out.clamp(0.0, 1.0)
    return _back(out, was_numpy)


def apply_shift(x: Any, kind: str, level: float) -> Any:
    """One deterministic OOD test shift from :data:`SHIFTS` at severity ``level`` (0 = no shift)."""
    check_option("kind", kind, tuple(SHIFTS))
    if kind == "rotation":
        return rotate(x, level)
    if kind == "inversion":
        return invert(x, level)
    if kind == "blur":
        return blur(x, level)
    lvl = check_number("level", level, integer=True)
    return translate(x, lvl, lvl)


# --------------------------------------------------------------------------- SimCLR views
@dataclass(frozen=True)
class AugmentConfig:
    """Random view distribution for contrastive training on small grey-level images.

    rotation: max |angle| in degrees (uniform); shift: max |translation| in pixels per axis (uniform,
    sub-pixel, bilinear); scale: (lo, hi) zoom range; contrast: (lo, hi) factor about each image's mean;
    noise_std / noise_prob: Gaussian pixel noise applied to a view with that probability;
    erase_size / erase_prob: a zeroed square of that side ("cutout") at a uniform position.
    """

    rotation: float = 15.0
    shift: float = 1.5
    scale: tuple[float, float] = (0.85, 1.15)
    contrast: tuple[float, float] = (0.6, 1.4)
    noise_std: float = 0.1
    noise_prob: float = 0.5
    erase_size: int = 3
    erase_prob: float = 0.5

    def __post_init__(self) -> None:
        check_number("rotation", self.rotation, Interval(0.0, 180.0))
        check_number("shift", self.shift, NONNEG)
        for name, rng_ in (("scale", self.scale), ("contrast", self.contrast)):
            if len(rng_) != 2 or not (0.0 < rng_[0] <= rng_[1]):
                raise ValueError(f"{name} == {rng_!r}, must be (lo, hi) with 0 < lo <= hi")
        check_number("noise_std", self.noise_std, NONNEG)
        check_number("noise_prob", self.noise_prob, UNIT)
        check_number("erase_size", self.erase_size, NONNEG, integer=True)
        check_number("erase_prob", self.erase_prob, UNIT)

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def random_augment(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """One random view of each image in ``x (B, C, H, W)``; the draws consume ``generator`` in a fixed order."""
    B, C, H, W = x.shape
    g = generator
    angle = _uniform(B, -cfg.rotation, cfg.rotation, g)
    shift = _uniform(2 * B, -cfg.shift, cfg.shift, g).view(B, 2)
    scale = _uniform(B, cfg.scale[0], cfg.scale[1], g)
    v = affine(x, angle, shift, scale)
    factor = _uniform(B, cfg.contrast[0], cfg.contrast[1], g).view(B, 1, 1, 1)
    mean = v.mean(dim=(1, 2, 3), keepdim=True)
    v = (v - mean) * factor + mean
    if cfg.erase_size > 0 and cfg.erase_prob > 0:
        on = torch.rand(B, generator=g) < cfg.erase_prob
        s = min(cfg.erase_size, H, W)
        r0 = torch.randint(0, H - s + 1, (B,), generator=g)
        c0 = torch.randint(0, W - s + 1, (B,), generator=g)
        rows = torch.arange(H).view(1, H, 1)
        cols = torch.arange(W).view(1, 1, W)
        box = (
            (rows >= r0.view(B, 1, 1)) & (rows < (r0 + s).view(B, 1, 1))
            & (cols >= c0.view(B, 1, 1)) & (cols < (c0 + s).view(B, 1, 1))
            & on.view(B, 1, 1)
        )  # (B, H, W)
        v = v.masked_fill(box.unsqueeze(1), 0.0)
    if cfg.noise_std > 0 and cfg.noise_prob > 0:
        on = (torch.rand(B, generator=g) < cfg.noise_prob).to(v.dtype).view(B, 1, 1, 1)
        v = v + on * cfg.noise_std * torch.randn(v.shape, generator=g, dtype=v.dtype)
    return v.clamp(0.0, 1.0)


def simclr_views(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent random views ``(B, C, H, W)`` each, for one InfoNCE step."""
    return random_augment(x, cfg, generator), random_augment(x, cfg, generator)
