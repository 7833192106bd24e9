"""Bring any torch model's representations: capture a named module's activations with a forward hook.

Example (a tiny model trained in seconds, then its hidden layer fed to the study)::

    import numpy as np, torch
    from realdata.activations import capture
    from realdata.data import load_digits_dataset

    X, y = load_digits_dataset()                       # (1797, 1, 8, 8), labels 0..9
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(100):
        opt.zero_grad(); torch.nn.functional.cross_entropy(model(Xt), yt).backward(); opt.step()
    H = capture(model, "2", X)                         # the ReLU's output, (1797, 32) float32
    np.savez("hidden.npz", H=H, y=y)
    # python -m realdata.run --features hidden.npz --quick

Layer names are those of ``model.named_modules()`` (``"2"`` is the third child of a Sequential; a
transformer block might be ``"blocks.3.mlp"``); an unknown name is a ValueError listing the valid ones.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
import torch.nn as nn

from sims.engine.validation import Interval, check_number

__all__ = ["capture", "layer_names"]


def layer_names(model: nn.Module) -> list[str]:
    """Names of every submodule (``""``, the model itself, excluded)."""
    return [name for name, _ in model.named_modules() if name]


def _batches(inputs: Any, batch_size: int, device: torch.device) -> Iterable[Any]:
    """Batches of ``inputs`` on ``device``: slices of one array / tensor, or the items of an iterable
    (a DataLoader's ``(x, y)`` pairs give ``x``)."""
    if isinstance(inputs, (np.ndarray, torch.Tensor)):
        t = torch.from_numpy(np.ascontiguousarray(inputs)) if isinstance(inputs, np.ndarray) else inputs
        if t.ndim < 1 or t.shape[0] == 0:
            raise ValueError(f"inputs.shape == {tuple(t.shape)}, must hold at least one sample (samples first)")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError("inputs contain NaN or infinite values, must be finite")
        for i in range(0, t.shape[0], batch_size):
            yield t[i:i + batch_size].to(device)
        return
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise ValueError(f"inputs must be an array, a tensor or an iterable of batches, got {type(inputs).__name__}")
    for item in inputs:
        x = item[0] if isinstance(item, (tuple, list)) else item
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"a batch of inputs is a {type(x).__name__}, must be a tensor or an array")
        yield x.to(device)


@torch.no_grad()
def capture(model: nn.Module, layer: str, inputs: Any, *, batch_size: int = 1024, flatten: bool = True,
            dtype: Any = np.float32) -> np.ndarray:
    """Activations of the module ``layer`` of ``model`` on ``inputs``, as a numpy array.

    A forward hook records the module's output for each batch (no gradients, ``model.eval()``; the
    previous train / eval mode is restored afterwards); the batches run on the model's device (that of
    its first parameter or buffer, else the CPU). ``inputs``: an array or tensor with samples first
    (sliced into ``batch_size`` rows), or an iterable of batches (tensors, arrays, or ``(x, ...)``
    tuples as a DataLoader yields). The output of a module that returns a tuple is its first element.
    ``flatten``: ``(N, prod(rest))`` rows ready for ``python -m realdata.run --features`` (else the
    module's own shape). Returns ``dtype`` (default float32) on the host.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    modules = dict(model.named_modules())
    if not isinstance(layer, str) or layer not in modules or layer == "":
        names = layer_names(model)
        shown = ", ".join(repr(n) for n in names[:40]) + (", ..." if len(names) > 40 else "")
        raise ValueError(f"layer == {layer!r} is not a submodule of the model, must be one of {shown}")
    batch_size = check_number("batch_size", batch_size, Interval(1, None, "[)"), integer=True)
    first = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    device = first.device if first is not None else torch.device("cpu")
    outputs: list[torch.Tensor] = []

    def hook(_module: nn.Module, _args: Any, out: Any) -> None:
        out = out[0] if isinstance(out, (tuple, list)) else out
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"layer {layer!r} returned a {type(out).__name__}, not a tensor")
        outputs.append(out.detach().to("cpu", torch.float64 if dtype == np.float64 else torch.float32))

    handle = modules[layer].register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        for xb in _batches(inputs, batch_size, device):
            model(xb)
    finally:
        handle.remove()
        model.train(was_training)
    if not outputs:
        raise ValueError("inputs held no batches: nothing was captured")
    H = torch.cat(outputs, dim=0)
    if flatten:
        H = H.reshape(H.shape[0], -1)
    return H.numpy().astype(dtype, copy=False)
