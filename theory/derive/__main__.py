"""``python -m theory.derive [--check]``: re-derive the two-feature model (and, after it, the n-feature
margins of ``theory.derive.margins``) and (re)write theory/_cache/.

With ``--check`` nothing is written; the exit status is 1 when the shipped cache differs from a fresh
derivation (``tests/test_theory_cache.py`` does the same in-process).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / "_cache"
FILES = ("expressions.json", "generated.py")


def fresh() -> dict[str, str]:
    from theory.derive.codegen import build

    js, py = build()
    return {"expressions.json": js, "generated.py": py}


def stale_files(texts: dict[str, str]) -> list[str]:
    out = []
    for name, text in texts.items():
        path = CACHE / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m theory.derive", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the shipped cache, write nothing")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    texts = fresh()
    dt = time.perf_counter() - t0
    stale = stale_files(texts)
    if args.check:
        print(f"derived in {dt:.1f} s; " + (f"STALE: {', '.join(stale)}" if stale else "cache is fresh"))
        return max(1 if stale else 0, _margins(True))
    CACHE.mkdir(exist_ok=True)
    for name, text in texts.items():
        tmp = CACHE / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(CACHE / name)
    init = CACHE / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated cache of the exact two-feature theory (see theory/derive)."""\n')
    print(f"derived in {dt:.1f} s; wrote {', '.join(FILES)} to {CACHE}")
    return _margins(args.check)


def _margins(check: bool) -> int:
    from theory.derive import margins

    return margins.main(["--check"] if check else [])


if __name__ == "__main__":
    sys.exit(main())
