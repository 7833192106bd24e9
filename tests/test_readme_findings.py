"""README "What the toolkit finds" is a rendering of the claims registry (issue 13): every claim it cites
carries its verdict exactly as the registry states it (with the condition of a "holds only when ..."), and
every claim about the paper is cited. A change of a verdict fails this test until the README is re-read
and its line updated."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## What the toolkit finds"
VERDICT_LINE = re.compile(r"^\s+- `([\w.]+)`: (.+)$")


def section(text: str) -> str:
    start = text.index(HEADING)
    end = text.find("\n## ", start + len(HEADING))
    return text[start:] if end < 0 else text[start:end]


def problems(text: str, verdicts: dict[str, str]) -> list[str]:
    """What in the findings section ``text`` disagrees with the registry ``verdicts`` (id -> verdict)."""
    out = []
    cited = {}
    for line in text.splitlines():
        m = VERDICT_LINE.match(line)
        if m:
            cited[m.group(1)] = m.group(2).strip()
    for cid, said in cited.items():
        if cid not in verdicts:
            out.append(f"{cid}: not a registered claim")
        elif said != verdicts[cid]:
            out.append(f"{cid}: README says {said!r}, the registry says {verdicts[cid]!r}")
    mentioned = set(re.findall(r"`([a-z]+(?:\.[A-Za-z0-9_]+)+)`", text)) & set(verdicts)
    for cid in sorted(mentioned - set(cited)):
        out.append(f"{cid}: mentioned without its verdict line")
    for cid in sorted(c for c in verdicts if c.startswith("paper.") and c not in cited):
        out.append(f"{cid}: a claim of the paper that the findings do not cite")
    return out


def _registry() -> dict[str, str]:
    from theory import claims

    return {c.id: c.verdict for c in claims.all_claims()}


def test_readme_findings_carry_each_cited_claims_verdict_and_cite_every_paper_claim():
    text = section((ROOT / "README.md").read_text(encoding="utf-8"))
    assert problems(text, _registry()) == []
    assert len([ln for ln in text.splitlines() if VERDICT_LINE.match(ln)]) >= 10


def test_the_checker_catches_a_drifted_verdict_a_missing_condition_and_an_uncited_paper_claim():
    verdicts = {"paper.a": "fails", "tf.b": "holds only when S >= 0.9", "tf.c": "holds"}
    good = f"{HEADING}\n- prose `tf.c`\n  - `paper.a`: fails\n  - `tf.b`: holds only when S >= 0.9\n  - `tf.c`: holds\n"
    assert problems(section(good), verdicts) == []
    assert problems(section(good.replace("`tf.b`: holds only when S >= 0.9", "`tf.b`: holds")), verdicts) == [
        "tf.b: README says 'holds', the registry says 'holds only when S >= 0.9'"]
    assert problems(section(good.replace("  - `tf.c`: holds\n", "")), verdicts) == [
        "tf.c: mentioned without its verdict line"]
    assert problems(section(good.replace("  - `paper.a`: fails\n", "")), verdicts) == [
        "paper.a: a claim of the paper that the findings do not cite"]
