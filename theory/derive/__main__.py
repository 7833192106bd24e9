"""``python -m theory.derive [--check]``: re-derive the two-feature model (and, after it, its label-noise
models of ``theory.derive.label_noise`` and the n-feature margins of ``theory.derive.margins``) and
(re)write theory/_cache/.

With ``--check`` nothing is written; the exit status is 1 when the shipped cache differs from a fresh
derivation (``tests/test_theory_cache.py`` does the same in-process).
"""
from __future__ import annotations

import sys

from theory.derive.cachefiles import run


def fresh() -> dict[str, str]:
    from theory.derive.codegen import build

    js, py = build()
    return {"expressions.json": js, "generated.py": py}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    status = run("python -m theory.derive", __doc__.splitlines()[0], fresh, argv)
    from theory.derive import label_noise, margins

    return max(status, label_noise.main(argv), margins.main(argv))


if __name__ == "__main__":
    sys.exit(main())
