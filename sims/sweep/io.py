"""Output files of every sweep: atomic writes, tidy CSV, canonical JSON, figures, run manifests.

Every file is written to a temporary sibling (``.<name>.<random>.sims-tmp``) and moved into place with
``os.replace``, which is atomic on POSIX and Windows: a reader (or a rerun after ``kill -9``) sees either
the old file or the new one, never half of one. Temporaries left by a killed process are removed by
:func:`remove_stale_temps` when the next run takes the folder.

CSV values are written so that a float reads back to the same double (``repr``: shortest round-trip
form) and the same value always gives the same bytes, whichever process computed it.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "TEMP_SUFFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "remove_stale_temps",
    "canonical_json",
    "content_hash",
    "format_value",
    "to_scalar",
    "csv_text",
    "write_csv",
    "read_csv",
    "save_figure",
    "new_figure",
    "check_out_dir",
    "default_out_dir",
    "package_versions",
    "git_revision",
    "utc_now",
]

#: suffix of every temporary file this module creates (and :func:`remove_stale_temps` removes)
TEMP_SUFFIX = ".sims-tmp"

_UMASK = os.umask(0)
os.umask(_UMASK)


# --------------------------------------------------------------------------------------------------
# atomic writes


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temporary sibling + ``os.replace``).

    ``fsync=True`` also flushes the data to disk before the rename (survives a power cut, not only a
    killed process). The file gets the usual permissions (``0o666`` minus the umask).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, *, fsync: bool = True) -> Path:
    """Atomic UTF-8 text write; newlines are written as given (no platform translation)."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2, fsync: bool = True) -> Path:
    """Atomic JSON write (keys in insertion order, a trailing newline). Floats keep all digits."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", fsync=fsync)


def remove_stale_temps(folder: str | os.PathLike, *, recursive: bool = True) -> int:
    """Delete temporaries (``*.sims-tmp``) left in ``folder`` by a killed writer; returns how many.

    Call only while holding the folder (see ``sims.sweep.runner``): a live writer's temporary would go too.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    pattern = f"*{TEMP_SUFFIX}"
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    n = 0
    for p in found:
        try:
            p.unlink()
            n += 1
        except FileNotFoundError:
            pass
    return n


# --------------------------------------------------------------------------------------------------
# JSON / hashing / scalar formatting


def canonical_json(obj: Any) -> str:
    """One text per value: sorted keys, no spaces, ASCII. Used for content hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def content_hash(obj: Any, *, digits: int = 32) -> str:
    """Hex BLAKE2b digest of :func:`canonical_json` (``digits`` hex characters, at most 64)."""
    digest = hashlib.blake2b(canonical_json(obj).encode("ascii"), digest_size=32).hexdigest()
    return digest[:digits]


def to_scalar(value: Any) -> Any:
    """A JSON/CSV-safe Python scalar (``None``, ``bool``, ``int``, ``float``, ``str``) or ``TypeError``.

    numpy scalars and 0-d arrays become the Python scalar of the same value (float32 is widened exactly).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        item = value.item()
        if isinstance(item, (bool, int, float, str)):
            return item
    raise TypeError(f"value {value!r} of type {type(value).__name__} is not a scalar (bool, int, float, str, None)")


def format_value(value: Any) -> str:
    """The CSV text of a scalar: ``repr`` for floats (round-trips exactly; ``nan``, ``inf``, ``-inf``),
    ``str`` for ints and strings, ``True``/``False``, and an empty field for ``None``."""
    value = to_scalar(value)
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)
    return str(value)


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header line, ``\\n`` line ends, minimal quoting; missing keys give empty fields."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(columns))
    for row in rows:
        w.writerow([format_value(row.get(c)) for c in columns])
    return buf.getvalue()


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Write a tidy CSV atomically (see :func:`csv_text`)."""
    return atomic_write_text(path, csv_text(rows, columns))


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts of strings (the inverse of :func:`write_csv` up to types)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------------------------------
# figures


def new_figure(**kwargs: Any) -> Any:
    """A matplotlib ``Figure`` that needs no pyplot and no GUI backend (safe in workers and on servers)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_figure(
    fig: Any,
    stem: str | os.PathLike,
    *,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
    tight: bool = True,
) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` (by default), each atomically.

    ``tight=False`` skips matplotlib's ``bbox_inches="tight"`` pass (an extra layout per save) for figures
    whose layout is already fixed.

    Metadata that would change from run to run (creation date, software version) is left out, so the
    same figure gives the same PDF bytes.
    """
    stem = Path(stem)
    paths = []
    for fmt in formats:
        meta: dict[str, Any] = {}
        if fmt == "pdf":
            meta = {"CreationDate": None, "Creator": None, "Producer": None}
        elif fmt == "png":
            meta = {"Software": None}
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, bbox_inches="tight" if tight else None)
        paths.append(atomic_write_bytes(stem.with_name(f"{stem.name}.{fmt}"), buf.getvalue()))
    return paths


# --------------------------------------------------------------------------------------------------
# output folders


def check_out_dir(path: str | os.PathLike, *, name: str = "--out") -> Path:
    """Check, without creating anything, that ``path`` is or can become a writable folder.

    Returns the absolute path. Raises ``ValueError`` naming ``name`` when ``path`` is an existing
    non-folder, lies under a regular file, or its nearest existing ancestor is not writable.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) == "" or "\x00" in str(path):
        raise ValueError(f"{name} == {path!r}, must be a folder path")
    p = Path(path).expanduser().absolute()
    if p.exists():
        if not p.is_dir():
            raise ValueError(f"{name} == {str(path)!r} is an existing file, must be a folder")
        if not os.access(p, os.W_OK | os.X_OK):
            raise ValueError(f"{name} == {str(path)!r} is not writable (permission denied)")
        return p
    anc = p.parent
    while not anc.exists():
        if anc == anc.parent:
            break
        anc = anc.parent
    if not anc.is_dir():
        raise ValueError(f"{name} == {str(path)!r} cannot be created: {str(anc)!r} is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise ValueError(f"{name} == {str(path)!r} cannot be created: {str(anc)!r} is not writable")
    return p


def default_out_dir(slug: str, *, base: str | os.PathLike = "runs", now: _dt.datetime | None = None) -> Path:
    """A new, not yet existing folder ``<base>/<slug>-<YYYYmmdd-HHMMSS>[-k]`` (nothing is created)."""
    now = now or _dt.datetime.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    base = Path(base)
    cand = base / f"{slug}-{stamp}"
    k = 2
    while cand.exists():
        cand = base / f"{slug}-{stamp}-{k}"
        k += 1
    return cand


# --------------------------------------------------------------------------------------------------
# provenance


def package_versions(names: Iterable[str] = ()) -> dict[str, str | None]:
    """Installed versions (``importlib.metadata``) of the toolkit's dependencies plus ``names``."""
    from importlib import metadata

    wanted = ["monosem", "numpy", "scipy", "matplotlib", "tqdm", "array-api-compat", "dask", "distributed"]
    wanted += [n for n in names if n not in wanted]
    out: dict[str, str | None] = {"python": platform.python_version()}
    for n in wanted:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def git_revision(path: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``path`` (default: this package),
    or ``None`` when git or the repository is not available."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(status.strip())}


def utc_now() -> str:
    """The current time in ISO 8601, UTC, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def platform_info() -> dict[str, Any]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "executable": sys.executable,
    }
