"""``python -m theory [--check] [--json] [--seed N] [--id ID ...]``: the claims table.

Columns: id, statement, verdict, evidence (the verdict's reason; with ``--check`` the evidence produced by
running the claim's numeric check, prefixed PASS/FAIL). Exit status 1 if a check fails, 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m theory", description="Print the claims table.")
    ap.add_argument("--check", action="store_true", help="run every claim's numeric check (about a minute)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--seed", type=int, default=0, help="seed of the checks' generators (default 0)")
    ap.add_argument("--id", action="append", default=None, help="only these claim ids (repeatable)")
    args = ap.parse_args(argv)
    from theory import claims as C

    try:
        selected = C.all_claims() if not args.id else [C.get(i) for i in args.id]
        if args.seed < 0:
            raise ValueError(f"seed == {args.seed}, must be >= 0")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
