"""``python -m theory [--check] [--json] [--seed N] [--id ID ...]``: the claims table.

Columns: id, statement, verdict, evidence (the verdict's reason; with ``--check`` the evidence produced by
running the claim's numeric check, prefixed PASS/FAIL). Exit status 1 if a check fails; bad input is one
line ``python -m theory: error: ...`` on stderr and exit status 2, before any check runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap


PROG = "python -m theory"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are ONE line (``prog: error: msg``), exit status 2 (argparse's own prints the
    usage too). The same contract as ``sims.sweep.cli.ArgumentParser``, which theory does not import."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(prog=PROG, description="Print the claims table.")
    ap.add_argument("--check", action="store_true", help="run every claim's numeric check (about a minute)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--seed", type=int, default=0, help="seed of the checks' generators (default 0)")
    ap.add_argument("--id", action="append", default=None, help="only these claim ids (repeatable)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, one line already written): a status, not an exit
        return exc.code if isinstance(exc.code, int) else 2
    from theory import claims as C

    try:
        if args.seed < 0:
            raise ValueError(f"--seed == {args.seed}, must be in [0, inf)")
        selected = C.all_claims() if not args.id else [C.get(i) for i in args.id]
    except ValueError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    results = {}
    if args.check:
        for c, res, dt in C.run_checks(args.seed, [c.id for c in selected]):
            results[c.id] = (res, dt)
    rows = []
    for c in selected:
        row = {"id": c.id, "statement": c.statement, "verdict": c.verdict, "reason": c.verdict_text,
               "paper_ref": c.paper_ref, "assumptions": list(c.assumptions), "expressions": dict(c.expressions)}
        if c.id in results:
            res, dt = results[c.id]
            row.update(passed=res.passed, evidence=res.evidence, seconds=round(dt, 2))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        for r in rows:
            print(f"[{r['id']}]" + (f"  ({r['paper_ref']})" if r["paper_ref"] else ""))
            ev = r["reason"]
            if "passed" in r:
                ev = f"{ev}. Check {'PASS' if r['passed'] else 'FAIL'} ({r['seconds']} s): {r['evidence']}"
            for label, text in (("statement", r["statement"]), ("verdict", r["verdict"]), ("evidence", ev)):
                print(textwrap.fill(text, 110, initial_indent=f"  {label:9s} ", subsequent_indent=" " * 12))
            print()
    return 0 if all(r.get("passed", True) for r in rows) else 1


def _main_piped() -> int:
    """:func:`main`, stopping quietly when stdout is closed early (``python -m theory | head``)."""
    try:
        rc = main()
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(_main_piped())
