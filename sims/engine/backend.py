"""Array backend: one namespace helper, the dtype policy, and host-side random numbers.

Code in ``sims`` is written against the Python Array API standard. ``numpy`` is the default backend;
CuPy is used on request (``backend="cupy"`` or the environment variable ``SIMS_BACKEND=cupy``);
``array_api_strict`` is used by the tests to prove that only standard functions are called.

Random numbers are always drawn on the host with explicit numpy Generators seeded through
``numpy.random.SeedSequence`` and then moved to the device, so a seed gives the same data on every
backend. Rows are drawn in fixed-size blocks, each block with its own child seed
(``spawn_key + (block,)``), so any slice ``[start, stop)`` of a stream is the same whatever the batch
size or chunking used to produce it (see :func:`draw_rows`).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
from typing import Any, Callable

import array_api_compat
import numpy as np

from sims.engine.validation import check_number, check_option, NONNEG

__all__ = [
    "BACKENDS",
    "DTYPES",
    "BLOCK_ROWS",
    "get_namespace",
    "resolve_backend",
    "resolve_dtype",
    "backend_name",
    "asarray",
    "to_numpy",
    "seed_sequence",
    "rng",
    "draw_rows",
    "stable_key",
    "device_of",
    "one_blas_thread",
    "using",
    "default_backend_name",
    "default_device",
    "device_by_name",
]

BACKENDS = ("numpy", "cupy", "array_api_strict")
DTYPES = ("float64", "float32")
#: rows per random block; part of the definition of every random stream (changing it changes data)
BLOCK_ROWS = 4096


def get_namespace(*arrays: Any, xp: Any = None) -> Any:
    """Return the Array-API namespace of ``arrays`` (or ``xp`` itself if given).

    numpy and cupy modules are wrapped by ``array_api_compat`` so that standard names work.
    """
    if xp is not None:
        if not (hasattr(xp, "asarray") and hasattr(xp, "float64")):
            raise ValueError(
                f"xp == {xp!r}, must be an array namespace (e.g. numpy) or a backend name, one of "
                + ", ".join(repr(b) for b in BACKENDS)
            )
        if xp is np:
            import array_api_compat.numpy as xnp

            return xnp
        if getattr(xp, "__name__", "") == "cupy":  # pragma: no cover - needs a GPU
            import array_api_compat.cupy as xcp

            return xcp
        return xp
    arrays = tuple(a for a in arrays if a is not None and not isinstance(a, (int, float, bool)))
    if not arrays:
        import array_api_compat.numpy as xnp

        return xnp
    return array_api_compat.array_namespace(*arrays)


#: the backend (and device) chosen for the code running now: see :func:`using`
_ACTIVE: contextvars.ContextVar[tuple[str, Any] | None] = contextvars.ContextVar("sims_backend", default=None)


def default_backend_name() -> str:
    """The backend of ``resolve_backend(None)``: that of an enclosing :func:`using` block, else
    ``$SIMS_BACKEND``, else ``"numpy"``."""
    active = _ACTIVE.get()
    if active is not None:
        return active[0]
    return os.environ.get("SIMS_BACKEND", "numpy") or "numpy"


def default_device(xp: Any = None) -> Any:
    """The device arrays of ``xp`` go to when none is named: the one of an enclosing :func:`using` block
    (if it is ``xp``'s backend), else None (the library's default)."""
    active = _ACTIVE.get()
    if active is None or active[1] is None:
        return None
    if xp is not None and backend_name(xp) != active[0]:
        return None
    return active[1]


def device_by_name(name: str, device: Any) -> Any:
    """A device object of backend ``name`` from a command-line string: array_api_strict's
    ``Device(<name>)`` (e.g. ``"device1"``, its second device), CuPy's ``Device(<int>)``; None stays None."""
    if device is None or device == "":
        return None
    if name == "array_api_strict":
        import array_api_strict

        known = ("CPU_DEVICE", "device1", "device2")
        if str(device) not in known:
            raise ValueError(f"device == {device!r}, must be one of {', '.join(known)} for backend 'array_api_strict'")
        return array_api_strict.Device(str(device))
    if name == "cupy":  # pragma: no cover - needs a GPU
        import cupy

        try:
            return cupy.cuda.Device(int(device))
        except (ValueError, Exception) as exc:
            raise ValueError(f"device == {device!r}, must be a CUDA device number ({exc})") from None
    raise ValueError(f"device == {device!r}: backend {name!r} has one device, leave device unset")


@contextlib.contextmanager
def using(name: str | None, device: Any = None) -> Any:
    """Within the block, ``resolve_backend(None)`` is backend ``name`` and :func:`asarray` puts arrays on
    ``device`` (a device object or a name for :func:`device_by_name`). The sweep runner wraps every cell
    in it, so a cell function written against ``resolve_backend()`` runs on the backend of the run."""
    name = default_backend_name() if name is None else name
    resolve_backend(name)  # unusable backends fail here, before any work
    dev = device_by_name(name, device) if isinstance(device, str) else device
    token = _ACTIVE.set((name, dev))
    try:
        yield resolve_backend(name)
    finally:
        _ACTIVE.reset(token)


def resolve_backend(name: str | None = None) -> Any:
    """Namespace for a backend name; ``None`` is :func:`default_backend_name` (an enclosing
    :func:`using` block, else ``$SIMS_BACKEND``, else ``"numpy"``)."""
    if name is None:
        name = default_backend_name()
    check_option("backend", name, BACKENDS)
    if name == "numpy":
        import array_api_compat.numpy as xnp

        return xnp
    if name == "cupy":
        try:
            import array_api_compat.cupy as xcp  # imports cupy itself
        except Exception as exc:  # ImportError or CUDA initialisation errors
            raise ValueError(
                f"backend == 'cupy', but CuPy is not usable here ({type(exc).__name__}: {exc}); "
                "install the 'gpu' extra on a machine with an NVIDIA GPU, or use backend='numpy'"
            ) from None
        return xcp
    try:
        import array_api_strict
    except ImportError:
        raise ValueError(
            "backend == 'array_api_strict', but array-api-strict is not installed (dev extra)"
        ) from None
    return array_api_strict


def backend_name(xp: Any) -> str:
    """Short name of a namespace: 'numpy', 'cupy', 'array_api_strict', or its module name."""
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_cupy_namespace(xp):
        return "cupy"
    if array_api_compat.is_array_api_strict_namespace(xp):
        return "array_api_strict"
    return getattr(xp, "__name__", str(xp))


def resolve_dtype(xp: Any, dtype: Any = "float64") -> Any:
    """The floating dtype object of ``xp`` for ``"float64"`` (default) or ``"float32"`` (or those dtypes
    themselves: ``numpy.float32``, ``xp.float32``)."""
    if dtype is None:
        dtype = "float64"
    elif not isinstance(dtype, str):
        name = None
        if not isinstance(dtype, (bool, int, float, bytes, list, tuple, dict)):
            try:
                name = str(np.dtype(str(dtype).split(".")[-1].strip("'>")))
            except (TypeError, ValueError):
                name = None
        if name not in DTYPES:
            raise ValueError(f"dtype == {dtype!r}, must be one of " + ", ".join(repr(d) for d in DTYPES))
        dtype = name
    check_option("dtype", dtype, DTYPES)
    return getattr(xp, dtype)


def asarray(x: Any, xp: Any, dtype: Any = None, device: Any = None) -> Any:
    """Move a host (numpy) array to ``xp``'s device (``device``, else that of an enclosing :func:`using`
    block, else the default one), optionally casting to ``dtype``."""
    if device is None:
        device = default_device(xp)
    kw = {} if device is None else {"device": device}
    if dtype is not None:
        kw["dtype"] = dtype
    if array_api_compat.is_array_api_strict_namespace(xp) and isinstance(x, np.ndarray):
        # strict refuses some numpy inputs (e.g. object arrays); plain numeric ones go through
        return xp.asarray(np.ascontiguousarray(x), **kw)
    return xp.asarray(x, **kw)


def to_numpy(x: Any) -> np.ndarray:
    """Copy any backend's array to a numpy array on the host."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):  # pragma: no cover - needs a GPU
        return x.get()
    if isinstance(x, (int, float, bool, np.generic)):
        return np.asarray(x)
    try:
        return np.from_dlpack(x)
    except Exception:
        return np.asarray(x)


def stable_key(value: Any) -> int:
    """A 32-bit integer derived from ``repr(value)`` by BLAKE2b, stable across processes and runs.

    Python's ``hash`` is salted per process, so it must never be used to derive seeds.
    """
    digest = hashlib.blake2b(repr(value).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def seed_sequence(seed: int | np.random.SeedSequence, *keys: Any) -> np.random.SeedSequence:
    """``SeedSequence`` for ``seed`` refined by ``keys`` (ints are used as is, others via
    :func:`stable_key`). ``seed_sequence(s, a, b)`` equals ``seed_sequence(seed_sequence(s, a), b)``."""
    if isinstance(seed, np.random.SeedSequence):
        entropy, base = seed.entropy, tuple(seed.spawn_key)
    else:
        entropy, base = check_number("seed", seed, NONNEG, integer=True), ()
    spawn = base + tuple(
        int(k) if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0 else stable_key(k)
        for k in keys
    )
    return np.random.SeedSequence(entropy=entropy, spawn_key=spawn)


def rng(seed: int | np.random.SeedSequence, *keys: Any) -> np.random.Generator:
    """A numpy Generator (PCG64) for ``seed_sequence(seed, *keys)``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *keys)))


def draw_rows(
    seed: int | np.random.SeedSequence,
    start: int,
    stop: int,
    fn: Callable[[np.random.Generator, int], np.ndarray],
    *,
    block: int = BLOCK_ROWS,
) -> np.ndarray:
    """Rows ``[start, stop)`` of the random stream defined by ``seed`` and ``fn``.

    ``fn(generator, k)`` must return an array whose first axis has length ``k`` and must consume the
    generator deterministically. Block ``b`` (rows ``[b*block, (b+1)*block)``) is always drawn whole
    from ``rng(seed, b)``, so the result does not depend on how ``[start, stop)`` is split.
    """
    start = check_number("start", start, NONNEG, integer=True)
    stop = check_number("stop", stop, NONNEG, integer=True)
    if stop < start:
        raise ValueError(f"stop == {stop}, must be >= start == {start}")
    if stop == start:
        probe = fn(rng(seed, 0), 1)
        return probe[:0]
    first, last = start // block, (stop - 1) // block
    parts: list[np.ndarray] = []
    for b in range(first, last + 1):
        rows = fn(rng(seed, b), block)
        lo = max(start - b * block, 0)
        hi = min(stop - b * block, block)
        parts.append(rows[lo:hi])
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def device_of(x: Any) -> Any:
    """The device of an array (``array_api_compat.device``)."""
    return array_api_compat.device(x)


def one_blas_thread() -> Any:
    """Context manager holding BLAS to one thread (``threadpoolctl``; a no-op where it is missing).

    The engine's matrices are small: one BLAS thread is several times faster than a pool contending
    with other processes or with the engine's own worker threads, and results do not depend on it.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
