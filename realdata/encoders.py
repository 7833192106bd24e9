"""Torch encoders on the CPU: SimCLR (CL), non-negative SimCLR (NCL), a top-k SAE on CL features, and
supervised cross-entropy twins (CE / NCE). Deterministic under a seed.

Inputs of every modality (:mod:`realdata.modalities`): images ``(N, C, H, W)`` (backbone ``cnn``: a small
2-D CNN), signals ``(N, C, L)`` (``cnn``: a 1-D CNN with strided convolutions and global average pooling)
and vectors ``(N, d)``; ``mlp`` (two hidden layers) takes any of them. ``arch="auto"`` picks the
modality's first architecture (cnn for images and signals, mlp for vectors). Contrastive views come from
the modality (``EncoderConfig.augment`` None = its default view configuration).

Representations (the "output features" the paper evaluates, Zhang et al. 2025 §3, following Wang et al.
2024, *Non-negative Contrastive Learning*):

- ``cl``:  z = g(f(x)), backbone f then projector g; trained with InfoNCE (NT-Xent) on two random views.
- ``ncl``: z₊ = ReLU(g(f(x))); the same loss on the non-negative features (NCL's reparameterization).
- ``sae``: a = TopK(W_enc (z - b_pre) + b_enc) with ReLU on the kept values, trained to reconstruct frozen
  CL features z (Gao et al. 2024 top-k SAE); decoder rows unit-norm; dictionary ``expansion × d``.
- ``ce`` / ``nce``: a supervised classifier on z (resp. ReLU(z)) with cross-entropy; optional extras.

CL and NCL under the same seed share their initial weights, batch order and augmentation draws (common
random numbers), so their difference reflects the ReLU only. Seeds are derived with
``sims.engine.backend.seed_sequence(seed, "encoder", arch)``.

Feature extraction: :func:`encode` returns numpy float32 ``(N, d)``; :func:`encode_torch` returns a CPU
tensor that any Array-API namespace takes zero-copy with ``xp.from_dlpack``.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from realdata.augment import AugmentConfig, make_generator, torch_seed
from realdata.modalities import MODALITIES
from realdata.modalities import get as get_modality
from realdata.signal import SignalAugmentConfig
from realdata.vector import VectorAugmentConfig
from sims.engine.validation import POSITIVE, Interval, check_array, check_number, check_option, check_seed

__all__ = [
    "VARIANTS",
    "ARCHS",
    "EncoderConfig",
    "SAEConfig",
    "Encoder",
    "TopKSAE",
    "SAEEncoder",
    "TrainLog",
    "build_encoder",
    "train_encoder",
    "train_sae",
    "nt_xent",
    "encode",
    "encode_torch",
    "deterministic",
    "DEFAULT_THREADS",
]

_AUGMENT_CONFIGS = (AugmentConfig, SignalAugmentConfig, VectorAugmentConfig)
VARIANTS = ("cl", "ncl", "ce", "nce")
ARCHS = ("auto", "mlp", "cnn")


#: intra-op threads used for training and encoding. One thread is the default: these models are tiny
#: (a step is ~1 ms), and on a busy 2-core machine two spinning threads made steps 20-40x SLOWER
#: (measured: 1.6 ms vs 60 ms per SAE step). One thread also makes results independent of the core count.
DEFAULT_THREADS = 1


@contextlib.contextmanager
def deterministic(num_threads: int | None = DEFAULT_THREADS) -> Iterator[None]:
    """Inside the block: ``torch.use_deterministic_algorithms(True)`` and ``num_threads`` intra-op threads
    (``None`` leaves torch's setting alone); both are restored afterwards."""
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_threads = torch.get_num_threads()
    if num_threads is not None:
        num_threads = check_number("num_threads", num_threads, Interval(1, None, "[)"), integer=True)
        torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_det)
        if num_threads is not None:
            torch.set_num_threads(prev_threads)


# --------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class EncoderConfig:
    """Encoder and training hyper-parameters (``variant`` in :data:`VARIANTS`, ``arch`` in :data:`ARCHS`)."""

    variant: str = "cl"
    arch: str = "auto"
    hidden: int = 256
    feature_dim: int = 64
    epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-5
    temperature: float = 0.2
    augment: Any = None  # view configuration of the modality; None = its default

    def __post_init__(self) -> None:
        check_option("variant", self.variant, VARIANTS)
        check_option("arch", self.arch, ARCHS)
        for name in ("hidden", "feature_dim", "epochs", "batch_size"):
            check_number(name, getattr(self, name), Interval(1, None, "[)"), integer=True)
        check_number("lr", self.lr, POSITIVE)
        check_number("weight_decay", self.weight_decay, Interval(0.0, None, "[)"))
        check_number("temperature", self.temperature, POSITIVE)
        if self.augment is not None and not isinstance(self.augment, _AUGMENT_CONFIGS):
            raise ValueError(f"augment == {self.augment!r}, must be None or one of "
                             f"{', '.join(c.__name__ for c in _AUGMENT_CONFIGS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, modality: str = "image") -> "EncoderConfig":
        d = dict(d)
        aug = d.pop("augment", None)
        if aug is not None:
            aug = get_modality(modality).augment(**{k: tuple(v) if isinstance(v, list) else v for k, v in aug.items()})
        return cls(augment=aug, **d)


@dataclass(frozen=True)
class SAEConfig:
    """Top-k sparse autoencoder: ``k`` active latents of ``expansion × d``; Adam on MSE."""

    k: int = 8
    expansion: int = 4
    epochs: int = 200
    batch_size: int = 256
    lr: float = 2e-3

    def __post_init__(self) -> None:
        for name in ("k", "expansion", "epochs", "batch_size"):
            check_number(name, getattr(self, name), Interval(1, None, "[)"), integer=True)
        check_number("lr", self.lr, POSITIVE)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainLog:
    """Loss per epoch and wall time of one training run."""

    losses: list[float]
    seconds: float
    n_samples: int

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(1, len(self.losses))


# --------------------------------------------------------------------------- models
def modality_of_shape(in_shape: tuple[int, ...]) -> str:
    """The modality of one sample's shape: 3 dims image, 2 signal, 1 vector."""
    for m in MODALITIES.values():
        if m.ndim == len(in_shape):
            return m.name
    raise ValueError(f"input shape {tuple(in_shape)} has {len(in_shape)} dimensions, must have 1 (vector), "
                     "2 (signal: C, L) or 3 (image: C, H, W)")


def resolve_arch(arch: str, in_shape: tuple[int, ...]) -> str:
    """``arch`` for inputs of ``in_shape`` (``"auto"`` -> the modality's default); ValueError if unsuited."""
    return get_modality(modality_of_shape(in_shape)).arch(arch)


def _backbone(arch: str, in_shape: tuple[int, ...], hidden: int) -> nn.Module:
    arch = resolve_arch(arch, in_shape)
    if arch == "mlp":
        d = int(np.prod(in_shape))
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(d, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
        )
    if len(in_shape) == 2:  # 1-D CNN; (B, C, L) -> (B, hidden)
        C, _ = in_shape
        return nn.Sequential(
            nn.Conv1d(C, 32, 7, padding=3), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 64, 5, stride=2, padding=2), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Conv1d(64, 64, 5, stride=2, padding=2), nn.BatchNorm1d(64), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(),
            nn.Linear(64, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
        )
    C, H, W = in_shape
    return nn.Sequential(  # small CNN; (B, C, H, W) -> (B, hidden)
        nn.Conv2d(C, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d((max(1, H // 2), max(1, W // 2))), nn.Flatten(),
        nn.Linear(64 * max(1, H // 2) * max(1, W // 2), hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
    )


class Encoder(nn.Module):
    """Backbone f → projector g → output features z ``(B, d)`` (ReLU'd for ``ncl`` / ``nce``).

    ``head`` is a linear classifier used only by the supervised variants.
    """

    def __init__(self, cfg: EncoderConfig, in_shape: tuple[int, int, int], n_classes: int = 0):
        super().__init__()
        self.cfg = cfg
        self.in_shape = tuple(int(s) for s in in_shape)
        self.backbone = _backbone(cfg.arch, self.in_shape, cfg.hidden)
        self.projector = nn.Sequential(
            nn.Linear(cfg.hidden, cfg.hidden), nn.BatchNorm1d(cfg.hidden), nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.feature_dim),
        )
        self.nonneg = cfg.variant in ("ncl", "nce")
        self.head = nn.Linear(cfg.feature_dim, n_classes) if n_classes > 0 else None

    @property
    def out_dim(self) -> int:
        return self.cfg.feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, *in_shape) -> (B, d)
        z = self.projector(self.backbone(x))
        return F.relu(z) if self.nonneg else z

    def backbone_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, hidden)
        return self.backbone(x)


class TopKSAE(nn.Module):
    """Top-k SAE on features ``h (B, d)``: latents ``(B, m)`` with at most ``k`` non-zeros per row.

    Inputs are divided by ``scale`` (the mean feature norm seen in training) so that the learning rate does
    not depend on the encoder's output scale; reconstructions are returned in the original units.
    """

    def __init__(self, d: int, m: int, k: int, scale: float = 1.0):
        super().__init__()
        self.k = int(k)
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.b_pre = nn.Parameter(torch.zeros(d))
        self.W_dec = nn.Parameter(torch.randn(m, d))  # rows = dictionary atoms (unit norm)
        with torch.no_grad():
            self.W_dec /= self.W_dec.norm(dim=1, keepdim=True)
        self.W_enc = nn.Parameter(self.W_dec.detach().t().clone())  # (d, m), tied initialization
        self.b_enc = nn.Parameter(torch.zeros(m))

    @property
    def out_dim(self) -> int:
        return int(self.W_dec.shape[0])

    def pre_activations(self, h: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, m)
        return (h / self.scale - self.b_pre) @ self.W_enc + self.b_enc

    def support(self, h: torch.Tensor) -> torch.Tensor:
        """Boolean ``(B, m)``: the ``k`` latents selected per row (exactly ``k`` True per row)."""
        pre = self.pre_activations(h)
        idx = pre.topk(self.k, dim=1).indices
        return torch.zeros_like(pre, dtype=torch.bool).scatter(1, idx, True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # latents a (B, m), a >= 0
        pre = self.pre_activations(h)
        vals, idx = pre.topk(self.k, dim=1)
        return torch.zeros_like(pre).scatter(1, idx, F.relu(vals))

    def decode(self, a: torch.Tensor) -> torch.Tensor:  # (B, m) -> (B, d)
        return (a @ self.W_dec + self.b_pre) * self.scale

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-12)


class SAEEncoder(nn.Module):
    """Inputs → frozen encoder features → SAE latents, so every representation encodes inputs alike."""

    def __init__(self, encoder: nn.Module, sae: TopKSAE):
        super().__init__()
        self.encoder, self.sae = encoder, sae
        self.in_shape = tuple(encoder.in_shape)

    @property
    def out_dim(self) -> int:
        return self.sae.out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sae(self.encoder(x))


# --------------------------------------------------------------------------- losses
def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent (InfoNCE) over ``2B`` views: view i's positive is its twin, the other ``2B − 2``
    views are negatives; cosine similarities divided by ``temperature`` (Chen et al. 2020, eq. 1)."""
    B = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)  # (2B, d)
    sim = z @ z.t() / temperature  # (2B, 2B)
    sim = sim.masked_fill(torch.eye(2 * B, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)])
    return F.cross_entropy(sim, target)


# --------------------------------------------------------------------------- training
def _inputs(name: str, X: Any) -> torch.Tensor:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    arr = np.asarray(X)
    check_array(name, arr, ndim=(2, 3, 4))
    if arr.shape[0] < 2:
        raise ValueError(f"{name}.shape == {arr.shape}, must hold at least 2 samples")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def build_encoder(
    cfg: EncoderConfig, in_shape: tuple[int, int, int], seed: int, *, n_classes: int = 0
) -> Encoder:
    """A freshly initialized :class:`Encoder`; the weights depend on ``(seed, arch)`` only, so CL and NCL
    (and CE / NCE) start from the same point under the same seed."""
    seed = check_seed("seed", seed)
    with deterministic():
        torch.manual_seed(torch_seed(seed, "encoder", cfg.arch))
        return Encoder(cfg, in_shape, n_classes)


def train_encoder(
    X: Any,
    cfg: EncoderConfig,
    seed: int,
    *,
    y: Any = None,
    n_classes: int | None = None,
) -> tuple[Encoder, TrainLog]:
    """Train one encoder on ``X``: images ``(N, C, H, W)`` in ``[0, 1]``, signals ``(N, C, L)`` or vectors
    ``(N, d)`` (the modality follows from the shape); returns the model (eval mode) and its log.

    ``cl`` / ``ncl`` ignore labels and train with NT-Xent on two random views of the modality;
    ``ce`` / ``nce`` need integer ``y (N,)`` in ``0..n_classes-1`` and are trained with cross-entropy on one
    random view per sample. Runs inside :func:`deterministic` (one intra-op thread by default,
    :data:`DEFAULT_THREADS`).
    """
    if not isinstance(cfg, EncoderConfig):
        raise ValueError(f"cfg == {cfg!r}, must be an EncoderConfig")
    Xt = _inputs("X", X)
    seed = check_seed("seed", seed)
    modality = get_modality(modality_of_shape(tuple(Xt.shape[1:])))
    resolve_arch(cfg.arch, tuple(Xt.shape[1:]))
    view_cfg = cfg.augment if cfg.augment is not None else modality.augment()
    if not isinstance(view_cfg, modality.augment):
        raise ValueError(f"augment == {view_cfg!r} does not suit {modality.name}s, must be a {modality.augment.__name__}")
    supervised = cfg.variant in ("ce", "nce")
    if supervised:
        if y is None:
            raise ValueError(f"y == None, must be given for variant == {cfg.variant!r}")
        from realdata.data import check_labels

        yt = torch.from_numpy(check_labels("y", y, Xt.shape[0]))
        n_classes = int(yt.max()) + 1 if n_classes is None else n_classes
        n_classes = check_number("n_classes", n_classes, Interval(2, None, "[)"), integer=True)
        if int(yt.min()) < 0 or int(yt.max()) >= n_classes:
            raise ValueError(f"y contains {int(yt.max())}, must be in [0, {n_classes - 1}]")
    N = Xt.shape[0]
    bs = min(cfg.batch_size, N)
    with deterministic():
        model = build_encoder(cfg, tuple(Xt.shape[1:]), seed, n_classes=n_classes if supervised else 0)
        gen = make_generator(seed, "encoder-data", cfg.arch)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
        losses: list[float] = []
        t0 = time.perf_counter()
        model.train()
        for _ in range(cfg.epochs):
            perm = torch.randperm(N, generator=gen)
            total, count = 0.0, 0
            for start in range(0, N - bs + 1, bs):  # drop the last partial batch (BatchNorm, fixed B)
                idx = perm[start:start + bs]
                xb = Xt[idx]
                if supervised:
                    logits = model.head(model(modality.view(xb, view_cfg, gen)))
                    loss = F.cross_entropy(logits, yt[idx])
                else:
                    v1 = modality.view(xb, view_cfg, gen)
                    v2 = modality.view(xb, view_cfg, gen)
                    loss = nt_xent(model(v1), model(v2), cfg.temperature)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach().item() * idx.shape[0]
                count += idx.shape[0]
            sched.step()
            losses.append(total / max(count, 1))
        seconds = time.perf_counter() - t0
    model.eval()
    return model, TrainLog(losses, seconds, N)


def train_sae(H: Any, cfg: SAEConfig, seed: int) -> tuple[TopKSAE, TrainLog]:
    """Train a top-k SAE on frozen features ``H (N, d)`` (numpy or torch) with MSE; decoder rows are
    re-normalized to unit norm after every step. Returns the SAE (eval mode) and its log."""
    if not isinstance(cfg, SAEConfig):
        raise ValueError(f"cfg == {cfg!r}, must be an SAEConfig")
    if isinstance(H, torch.Tensor):
        H = H.detach().cpu().numpy()
    Hn = np.asarray(H)
    check_array("H", Hn, ndim=2)
    seed = check_seed("seed", seed)
    N, d = Hn.shape
    m = cfg.expansion * d
    if cfg.k > m:
        raise ValueError(f"k == {cfg.k}, must be <= expansion * d == {m}")
    Ht = torch.from_numpy(np.ascontiguousarray(Hn, dtype=np.float32))
    scale = float(Ht.norm(dim=1).mean().clamp_min(1e-12))
    bs = min(cfg.batch_size, N)
    with deterministic():
        torch.manual_seed(torch_seed(seed, "sae"))
        sae = TopKSAE(d, m, cfg.k, scale)
        with torch.no_grad():
            sae.b_pre.copy_((Ht / scale).mean(dim=0))  # centre the input (mean as a cheap median proxy)
        gen = make_generator(seed, "sae-data")
        opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr)
        losses: list[float] = []
        t0 = time.perf_counter()
        for _ in range(cfg.epochs):
            perm = torch.randperm(N, generator=gen)
            total = 0.0
            for start in range(0, N, bs):
                hb = Ht[perm[start:start + bs]]
                rec = sae.decode(sae(hb))
                loss = ((rec - hb) / sae.scale).pow(2).sum(dim=1).mean()  # MSE in normalized units
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sae.normalize_decoder()
                total += loss.detach().item() * hb.shape[0]
            losses.append(total / N)
        seconds = time.perf_counter() - t0
    sae.eval()
    return sae, TrainLog(losses, seconds, N)


# --------------------------------------------------------------------------- feature extraction
@torch.no_grad()
def encode_torch(model: nn.Module, X: Any, *, batch_size: int = 2048) -> torch.Tensor:
    """Features of ``X`` as a contiguous CPU float32 tensor ``(N, d)`` (eval mode, no grad).

    ``model`` maps inputs (:class:`Encoder`, :class:`SAEEncoder`: images, signals or vectors of its input
    shape) or features (:class:`TopKSAE`, then ``X`` is ``(N, d)``). The tensor supports DLPack: ``numpy.from_dlpack(t)`` or ``xp.from_dlpack(t)``
    share its memory.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batch_size = check_number("batch_size", batch_size, Interval(1, None, "[)"), integer=True)
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    arr = np.asarray(X)
    in_shape = getattr(model, "in_shape", None)
    want = 2 if isinstance(model, TopKSAE) or in_shape is None else len(in_shape) + 1
    check_array("X", arr, ndim=want)
    if in_shape is not None and tuple(arr.shape[1:]) != tuple(in_shape):
        raise ValueError(f"X.shape == {arr.shape}, samples must have the model's input shape {tuple(in_shape)}")
    Xt = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    was_training = model.training
    model.eval()
    try:
        with deterministic():
            parts = [model(Xt[i:i + batch_size]) for i in range(0, Xt.shape[0], batch_size)]
    finally:
        model.train(was_training)
    out = torch.cat(parts, dim=0) if parts else torch.zeros(0, getattr(model, "out_dim", 0))
    return out.contiguous()


def encode(model: nn.Module, X: Any, *, batch_size: int = 2048) -> np.ndarray:
    """Features of ``X`` as numpy float32 ``(N, d)`` (zero-copy view of :func:`encode_torch`'s tensor)."""
    return np.from_dlpack(encode_torch(model, X, batch_size=batch_size))
