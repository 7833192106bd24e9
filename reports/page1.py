"""Page 1 of the report: the answer to the paper, for a reader who reads one page.

A title, an abstract generated from the registry's verdicts and the runs used, the paper's claims in one
table (the claim in the paper's words, where the paper makes it, our verdict, the condition under which it
holds, one decisive number with its interval, and the figure that shows it), the scope of the evidence
(datasets, sizes, replicates) read from the runs actually used, and a summary figure with one panel each
for the two-feature theory, the main sweep, the toy models (Fig. 5) and the real data. Every number is
computed here from the registry, the closed forms or a run's tables; none is typed in.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from reports.checks import CheckRecord, ClaimRow
from reports.layout import Paragraph, Table

__all__ = ["page_one", "decisive", "scope_rows", "summary_figure", "VERDICT_WORDS"]

#: how a verdict class reads on page 1
VERDICT_WORDS = {"holds": "holds", "holds only when": "holds only when", "fails": "fails"}
_S, _W = 0.9, 1.0  # the two-feature setting quoted on page 1 (the paper's w = 1)


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _ci(mean: float, lo: float, hi: float) -> str:
    return f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"


# --------------------------------------------------------------------------------------------- numbers
def _ratio(**kw: Any) -> float:
    from theory.two_feature import separation

    return float(separation("poly", _S, weight=_W, **kw) / separation("mono", _S, **kw))


def _fig5_setting(rob: Any) -> tuple[float, int, int] | None:
    v = rob.json.get("verdict.json", {}) if rob is not None else {}
    if not {"sparsity", "m", "n_train"} <= set(v):
        return None
    return float(v["sparsity"]), int(v["m"]), int(v["n_train"])


def _fig5_diff(rob: Any, scenario: str, kind: str, at: str, level: float | None) -> tuple[float, float, float, float] | None:
    """(level, diff, lo, hi) of dense - superposed at the Fig.-5 setting: the given level, or the largest."""
    st = _fig5_setting(rob)
    if st is None:
        return None
    S, m, nt = st
    rows = [d for d in rob.tables.get("differences.csv", []) if d.get("record") == "accuracy"
            and d.get("scenario") == scenario and d.get("kind") == kind and d.get("at", "") == at
            and abs(_f(d["sparsity"]) - S) < 1e-9 and int(_f(d["m"])) == m and int(_f(d["n_train"])) == nt]
    if not rows:
        return None
    pick = max(rows, key=lambda d: _f(d["level"])) if level is None else min(rows, key=lambda d: abs(_f(d["level"]) - level))
    return _f(pick["level"]), _f(pick["diff_mean"]), _f(pick["diff_lo"]), _f(pick["diff_hi"])


def decisive(cid: str, runs: Mapping[str, Any]) -> str:
    """The one number that decides a paper claim, with its interval (or "exact"), from the closed forms or
    the runs used; "-" when its source is not in this build."""
    rob = runs.get("robustness")
    st = _fig5_setting(rob)
    where = f"S = {st[0]:g}, m = {st[1]}, n_train = {st[2]}" if st else ""
    if cid == "paper.clean_poly_better":
        return f"J_poly/J_mono = {_ratio():.2f} (argmax), {_ratio(task='presence'):.2f} (presence); exact, S = {_S:g}"
    if cid == "paper.label_noise_mono_better":
        return (f"J_poly/J_mono = {_ratio(label_noise=0.4):.2f} at η = 0.4, as clean; {_ratio(transition=(0.0, 0.9)):.2f} "
                f"at (a, b) = (0, 0.9); exact, S = {_S:g}")
    if cid == "paper.input_noise_reverses":
        return f"J_poly/J_mono = {_ratio(input_noise=1.0):.2f} at λ = 1 (> 1: poly ahead); exact, S = {_S:g}"
    if cid == "paper.fig5.clean_poly_better":
        d = _fig5_diff(rob, "label_noise", "symmetric", "", 0.0)
        return "-" if d is None else f"dense − superposed = {_ci(*d[1:])} on clean data ({where})"
    if cid == "paper.fig5.label_noise_mono_better":
        d = _fig5_diff(rob, "label_noise", "symmetric", "", None)
        return "-" if d is None else f"dense − superposed = {_ci(*d[1:])} at η = {d[0]:g} ({where})"
    if cid == "paper.fig5.input_noise_mono_better":
        if rob is None or st is None:
            return "-"
        b = [r for r in rob.tables.get("boundaries.csv", []) if r.get("sweep") == "lam"
             and abs(_f(r["sparsity"]) - st[0]) < 1e-9 and int(_f(r["m"])) == st[1] and int(_f(r["n_train"])) == st[2]]
        if not b or not math.isfinite(_f(b[0]["emp"])):
            d = _fig5_diff(rob, "input_noise", "gaussian", "test", None)
            return "-" if d is None else f"dense − superposed = {_ci(*d[1:])} at λ = {d[0]:g} ({where})"
        r = b[0]
        return (f"λ* = {_f(r['emp']):.3f} [{_f(r['emp_lo']):.3f}, {_f(r['emp_hi']):.3f}] simulated, "
                f"{_f(r['pred']):.3f} predicted ({where})")
    return "-"


# --------------------------------------------------------------------------------------------- scope
def scope_rows(runs: Mapping[str, Any]) -> list[list[str]]:
    """[source, run (variant), what the run covers] for every run used, read from its config."""
    out = []
    for name, run in runs.items():
        c = run.config
        label = {"defaults": "default config", "quick": "--quick (no default run was found)",
                 "custom": "custom config (given on the command line)"}.get(run.variant, run.variant)
        if name == "margin":
            what = (f"n = {c.n_features} planted features in m = {c.m} dimensions; codes {', '.join(c.code)}; "
                    f"S ∈ {{{', '.join(f'{s:g}' for s in c.sparsity)}}}; {c.reps} replicates × {c.n_test} test samples per cell")
        elif name == "robustness":
            what = (f"toy models, n = {c.n_features} features, m ∈ {{{', '.join(map(str, c.m))}}}, "
                    f"S ∈ {{{', '.join(f'{s:g}' for s in c.sparsity)}}}; {c.reps} replicates; n_train up to {max(c.n_train)}")
        elif name == "realdata":
            data = f"features file {c.features}" if getattr(c, "features", "") else f"dataset '{c.data}'"
            reps = len(c.replicate)
            what = f"{data}; representations {', '.join(c.representations) or 'default'}; {reps} replicates"
        else:
            what = run.config.caption()
        out.append([name, f"{run.path.name} ({label})", what])
    return out


# --------------------------------------------------------------------------------------------- figure
def _mean_ci(vals: Sequence[float]) -> tuple[float, float]:
    from sims.engine.stats import t_interval

    mean, half, _ = t_interval([v for v in vals if math.isfinite(v)])
    return mean, half


def summary_figure(runs: Mapping[str, Any]) -> Callable[[Any, dict], None]:
    """Four panels: (a) two-feature J_poly / J_mono against input noise; (b) main sweep, accuracy of mono
    minus the random code against input noise; (c) toy models, dense minus superposed against label and
    input noise (Fig. 5); (d) real data, NCL and SAE minus CL per scenario. Positive: mono ahead."""
    from reports.figures import grid
    from theory.two_feature import separation

    def draw(fig: Any, rect: dict) -> None:
        (a, b), (c, d) = grid(fig, rect, 2, 2, hspace=0.65, wspace=0.3)
        # (a) the exact two-feature ratio
        lam = np.linspace(0.0, 2.0, 81)
        for S, ls in ((0.5, "--"), (0.9, "-")):
            for task, col in (("argmax", "#1f77b4"), ("presence", "#d62728")):
                r = separation("poly", S, task=task, input_noise=lam) / separation("mono", S, task=task, input_noise=lam)
                a.plot(lam, r, ls, color=col, lw=1.2, label=f"{task}, S = {S:g}")
        a.axhline(1.0, color="0.4", lw=0.8)
        a.set(xlabel="input noise λ", ylabel="J_poly / J_mono", title="(a) two-feature model, exact")
        a.legend(fontsize=5.5, loc="best")
        # (b) main sweep: mono - random, matched filter, against lambda
        mr = runs.get("margin")
        if mr is not None:
            acc: dict[tuple, dict] = {}
            for r in mr.rows:
                if r.get("record") == "readout" and r.get("readout") == "matched_filter" and r.get("noise") == "input":
                    acc.setdefault((r["code"], r["ratio"], r["sparsity"], r["level"]), {})[r["rep"]] = _f(r["acc"])
            mono = {(k[2], k[3]): v for k, v in acc.items() if k[0] == "mono"}
            pairs: dict[tuple, list] = {}
            for (code, ratio, S, lv), v in acc.items():
                if code != "random" or (S, lv) not in mono:
                    continue
                dd = [mono[(S, lv)][k] - v[k] for k in v if k in mono[(S, lv)]]
                pairs.setdefault((S, ratio), []).append((_f(lv), *_mean_ci(dd)))
            top = max((float(k[1]) for k in pairs), default=None)
            for (S, ratio), pts in sorted(pairs.items()):
                if float(ratio) != top:
                    continue
                pts.sort()
                x, m_, h = (np.array(t) for t in zip(*pts))
                b.errorbar(x, m_, yerr=np.nan_to_num(h), marker="o", ms=2.5, lw=1.0, capsize=2, label=f"S = {S}")
            b.axhline(0.0, color="0.4", lw=0.8)
            b.set(xlabel="input noise λ", ylabel="acc(mono) − acc(random)",
                  title=f"(b) main sweep, n/m = {top:g}" if top else "(b) main sweep")
            b.legend(fontsize=5.5, loc="best")
        else:
            b.set_axis_off()
        # (c) toy models (Fig. 5): dense - superposed
        rob = runs.get("robustness")
        if rob is not None and _fig5_setting(rob) is not None:
            S, m, nt = _fig5_setting(rob)
            for scen, kind, at, lab, col in (("label_noise", "symmetric", "", "label noise η", "#1f77b4"),
                                             ("input_noise", "gaussian", "test", "input noise λ", "#d62728")):
                pts = sorted((_f(r["level"]), _f(r["diff_mean"]), _f(r["diff_lo"]), _f(r["diff_hi"]))
                             for r in rob.tables.get("differences.csv", []) if r.get("record") == "accuracy"
                             and r.get("scenario") == scen and r.get("kind") == kind and r.get("at", "") == at
                             and abs(_f(r["sparsity"]) - S) < 1e-9 and int(_f(r["m"])) == m and int(_f(r["n_train"])) == nt)
                if pts:
                    x, mm, lo, hi = (np.array(t) for t in zip(*pts))
                    c.plot(x, mm, "o-", ms=2.5, color=col, label=lab)
                    c.fill_between(x, lo, hi, color=col, alpha=0.15, lw=0)
            c.axhline(0.0, color="0.4", lw=0.8)
            c.set(xlabel="noise level", ylabel="acc(dense) − acc(superposed)",
                  title=f"(c) toy models, S = {S:g}, m = {m}, n_train = {nt}")
            c.legend(fontsize=5.5, loc="best")
        else:
            c.set_axis_off()
        # (d) real data: NCL / SAE - CL, robustness scores
        rd = runs.get("realdata")
        diffs = [] if rd is None else [r for r in rd.tables.get("differences.csv", []) if r.get("baseline") == "cl"
                                       and r.get("quantity") in ("robustness", "clean_accuracy")
                                       and r.get("representation", "").split("_")[0] in ("ncl", "sae")]
        if diffs:
            scen = list(dict.fromkeys(r["scenario"] for r in diffs))
            reps = list(dict.fromkeys(r["representation"] for r in diffs))
            for j, rep in enumerate(reps):
                ys = {r["scenario"]: r for r in diffs if r["representation"] == rep}
                x = np.arange(len(scen)) + (j - (len(reps) - 1) / 2) * 0.25
                mm = np.array([_f(ys[s]["mean"]) if s in ys else np.nan for s in scen])
                h = np.array([_f(ys[s]["ci"]) if s in ys else np.nan for s in scen])
                d.errorbar(x, mm, yerr=np.nan_to_num(h), fmt="o", ms=2.5, capsize=2, label=f"{rep.upper()} − CL")
            d.axhline(0.0, color="0.4", lw=0.8)
            d.set_xticks(range(len(scen)), [s.replace("_", " ") for s in scen], rotation=45, ha="right", fontsize=5)
            d.set(ylabel="difference in accuracy", title=f"(d) real data ({_dataset(rd.config)})")
            d.legend(fontsize=5.5, loc="best")
        else:
            d.set_axis_off()
        for ax in (a, b, c, d):
            ax.tick_params(labelsize=5.5)
            ax.title.set_fontsize(7)
            ax.xaxis.label.set_fontsize(6)
            ax.yaxis.label.set_fontsize(6)

    return draw


def _dataset(cfg: Any) -> str:
    return f"features {cfg.features}" if getattr(cfg, "features", "") else str(cfg.data)


# --------------------------------------------------------------------------------------------- page
def _abstract(paper: Sequence[ClaimRow], runs: Mapping[str, Any]) -> str:
    counts = {v: [c for c in paper if c.verdict_class == v] for v in VERDICT_WORDS}
    parts = [f"Of the paper's {len(paper)} claims as this toolkit tests them, {len(counts['holds'])} hold, "
             f"{len(counts['holds only when'])} hold only under a condition and {len(counts['fails'])} fail."]
    srcs = []
    for name, run in runs.items():
        c = run.config
        if name == "margin":
            srcs.append(f"the main sweep (n = {c.n_features} features in m = {c.m} dimensions, {c.reps} replicates)")
        elif name == "robustness":
            srcs.append(f"trained toy models (n = {c.n_features}, {c.reps} replicates)")
        elif name == "realdata":
            srcs.append(f"real data ({_dataset(c)}, {len(c.replicate)} replicates)")
    parts.append("Evidence: the exact two-feature theory of the paper's §4.3" + (", " + ", ".join(srcs) if srcs else "")
                 + "; 95% intervals throughout (scope: Table 2).")
    return " ".join(parts)


def page_one(claims: Sequence[ClaimRow], checks: CheckRecord | None, runs: Mapping[str, Any],
             fig_numbers: Mapping[str, tuple[int, str]], claim_figures: Callable[[str], Sequence[str]]) -> list[Any]:
    """The blocks of page 1 before the summary figure (``fig_numbers['summary']``), and the scope table that
    follows it: ``(before, after)``."""
    paper = [c for c in claims if c.id.startswith("paper.")]

    def condition(c: ClaimRow) -> str:
        if c.verdict_class != "holds only when":
            return "-"
        return c.verdict[len("holds only when"):].strip()

    def figs(cid: str) -> str:
        keys = ["summary", *claim_figures(cid)]
        return ", ".join(dict.fromkeys(str(fig_numbers[k][0]) for k in keys if k in fig_numbers)) or "-"

    rows = [[c.statement, c.paper_ref or "-", VERDICT_WORDS[c.verdict_class], condition(c), decisive(c.id, runs),
             figs(c.id)] for c in paper]
    checked = "" if checks is None else (
        f" The numeric check of each claim was rerun for this build (seed {checks.seed}); "
        f"{sum(1 for c in paper if checks.results.get(c.id, {}).get('passed'))} of "
        f"{sum(1 for c in paper if c.id in checks.results)} reproduce their verdict.")
    before = [
        Paragraph("Do monosemantic features make models more robust? The claims of Zhang et al. (ICLR 2025) "
                  "tested", size=14, weight="bold"),
        Paragraph(_abstract(paper, runs) + checked, size=8.5),
        Table("The paper's claims and this toolkit's verdicts", ["the paper's claim", "where", "verdict",
                                                                  "holds when", "decisive number", "figures"],
              rows, source="theory.claims registry (python -m theory); numbers: theory.two_feature and the runs below",
              wrap=(0, 1, 3, 4, 5), align="llllll", size=5.8),
    ]
    after = [Table("Scope of the evidence (the runs this report reads)", ["source", "run", "what it covers"],
                   scope_rows(runs), source="manifest.json of each run", wrap=(1, 2), align="lll", size=6.0)]
    return before, after
