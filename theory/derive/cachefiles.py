"""Shared by the derivation entry points: compare generated texts with the shipped cache, write them.

A derivation produces ``{file name: text}``; the cache folder is ``theory/_cache``. ``--check`` compares
(byte for byte) and writes nothing; otherwise each file is written atomically (temp file + rename).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

CACHE = Path(__file__).resolve().parent.parent / "_cache"


def stale_files(texts: dict[str, str], cache: Path = CACHE) -> list[str]:
    """Names whose shipped file is missing or differs from the freshly derived text."""
    return [name for name, text in texts.items()
            if not (cache / name).exists() or (cache / name).read_text(encoding="utf-8") != text]


def write_files(texts: dict[str, str], cache: Path = CACHE) -> None:
    cache.mkdir(exist_ok=True)
    for name, text in texts.items():
        tmp = cache / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(cache / name)
    init = cache / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated caches of the exact theory (see theory/derive)."""\n')


class _OneLineParser(argparse.ArgumentParser):
    """Errors are one line ``prog: error: ...`` and exit status 2, like every CLI of the toolkit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def run(prog: str, description: str, fresh: Callable[[], dict[str, str]], argv: list[str] | None,
        detail: Callable[[], str] = lambda: "") -> int:
    """The ``[--check]`` command line shared by every derivation: exit 1 when ``--check`` finds stale files."""
    ap = _OneLineParser(prog=prog, description=description, allow_abbrev=False)
    ap.add_argument("--check", action="store_true", help="compare with the shipped cache, write nothing")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    texts = fresh()
    head = f"derived in {time.perf_counter() - t0:.1f} s{detail()}; "
    stale = stale_files(texts)
    if args.check:
        print(head + (f"STALE: {', '.join(stale)}" if stale else "cache is fresh"))
        return 1 if stale else 0
    write_files(texts)
    print(head + f"wrote {', '.join(texts)} to {CACHE}")
    return 0
