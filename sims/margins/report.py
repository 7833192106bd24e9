"""Figures and the short PDF report of a ``sims.margin_sweep`` run (rows as written to results.csv).

Three figures (PNG + PDF, written atomically through ``sims.sweep.io``; drawn by :mod:`sims.margins.figures`
from the rows as DataFrames, in the shared style of :mod:`sims.sweep.style`) and ``<name>_report.pdf``:

* ``<name>_margins``: median matched-filter margin and Fisher separation vs superposition ratio per code
  and sparsity, with the per-sample bound (M3) and the exact separation (M9), and the coherence vs ratio
  with the Welch bound (M1) (once);
* ``<name>_accuracy``: accuracy vs input noise (matched filter, with theory: exact (M7) for orthogonal
  codes, mean-field (M10) otherwise; least-squares probes at every training size) and vs label noise
  (probes at every training size), mean ± 95% CI over replicates, chance 1/n;
* ``<name>_crossover``: the input-noise level where mono overtakes each superposed code (interpolated
  from the mean accuracy curves) vs ratio, with the mean-field balance level (M11).

Titles are short; the config goes into each figure's footnote (``config.caption()``). The report PDF has
fixed metadata (no dates), so the same rows give the same bytes.
"""
from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path
from typing import Any

from sims.margins.summary import _is_m3_median, aggregate, check_summary, crossovers
from sims.sweep import io as sio
from sims.sweep.style import CODE_COLORS

__all__ = ["make_figures_and_report", "aggregate", "crossovers", "check_summary", "REPORT_STEM"]

REPORT_STEM = "report"
_COLORS = dict(CODE_COLORS)  # the shared palette (sims.sweep.style)


# --------------------------------------------------------------------------------------------- report
def _text_page(config: Any, rows: list[dict], summary: list[dict], cross: list[dict]) -> Any:
    fig = sio.new_figure(figsize=(8.27, 11.69))
    n_cells = len({(r.get("code"), r.get("ratio"), r.get("sparsity")) for r in rows})
    lines = [
        f"{config.display_name()} - run report ({config.slug()})",
        "",
        *textwrap.wrap(config.caption(), 110),
        "",
        f"{n_cells} non-empty cells, {len(rows)} rows; {config.reps} replicates x {config.n_test} test samples; "
        f"n = {config.n_features}, m = {config.m}.",
        "",
        "Checks of the theory (theory/margins.py, equations (M1)-(M11) of theory/derive/margins.py).",
        "holds: min over rows (fraction of covered samples for the margin bounds; 0/1 statistical test",
        "otherwise). tightness: empirical/bound for lower bounds, bound/empirical for upper bounds (1 = tight;",
        "NaN where the bound is vacuous); defined: share of rows where it is defined.",
        "",
        f"{'check':<15}{'kind':<14}{'stat':<8}{'rows':>6}{'holds':>7}{'tight med':>11}{'tight max':>11}"
        f"{'defined':>9}{'inform.':>9}",
    ]
    for s in summary:
        lines.append(f"{s['check']:<15}{s['kind']:<14}{s['stat']:<8}{s['rows']:>6}{_g(s['holds_min']):>7}"
                     f"{_g(s['tight_median']):>11}{_g(s['tight_max']):>11}{_g(s['tight_defined']):>9}"
                     f"{_g(s['informative']):>9}")
    med = aggregate(rows, ("code", "ratio", "sparsity"), "tightness", _is_m3_median)
    inf_ = aggregate(rows, ("code", "ratio", "sparsity"), "informative", _is_m3_median)
    lines += ["", "Margin bound (M3) per code: tightness of the median (empirical median margin / median bound;",
              "'vac.' = the median bound is <= 0) and, in brackets, the share of covered samples with a positive bound.",
              f"{'code':>10}{'ratio':>7}" + "".join(f"{'S = ' + format(S, 'g'):>18}" for S in config.sparsity)]
    for code in config.code:
        for q in sorted(config.ratio):
            cells = [(med.get((code, q, S)), inf_.get((code, q, S))) for S in config.sparsity]
            if all(i is None for _, i in cells):
                continue
            txt = ""
            for t, i in cells:
                tt = "-" if i is None else ("vac." if t is None else f"{t[0]:.3g}")
                ii = "" if i is None else f" [{i[0]:.2f}]"
                txt += f"{tt + ii:>18}"
            lines.append(f"{code:>10}{q:>7g}{txt}")
    lines += ["", "Where mono overtakes the superposed code (matched filter, input noise \u03bb):",
              f"{'sparsity':>9}{'code':>11}{'ratio':>7}{'simulation':>12}{'mean-field':>12}"]
    for c in cross:
        emp = _g(c["empirical"]) if math.isfinite(c["empirical"]) else f">{c['lam_max']:g}"
        lines.append(f"{c['sparsity']:>9g}{c['code']:>11}{c['ratio']:>7g}{emp:>12}{_g(c['theory']):>12}")
    fig.text(0.06, 0.97, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=6.3)
    return fig


def _g(v: float) -> str:
    return "nan" if not math.isfinite(v) else f"{v:.3g}"


def _figure_files(rows: list[dict], out_dir: str, config: Any, name: str) -> list[Path]:
    """Draw one figure from the rows and write its PNG + PDF (a task for a worker process)."""
    from sims.margins import figures as MF
    from sims.sweep import style

    fig = MF.figure_from_frames(name, MF.frames(rows, config), config)
    with style.context():
        return sio.save_figure(fig, Path(out_dir) / config.figure_stem(name), tight=False)


def make_figures_and_report(rows: list[dict], out_dir: Any, config: Any, executor: Any = None) -> list[Path]:
    """Write the figures of :mod:`sims.margins.figures` (PNG + PDF; drawn from the rows as DataFrames, as
    ``load_run`` returns them) and ``<name>_report.pdf``; returns the paths written. ``executor`` (the run's
    worker processes, or None): the figure files are drawn and written there while this process writes the
    report (the same bytes either way)."""
    from matplotlib.backends.backend_pdf import PdfPages

    from sims.margins import figures as MF
    from sims.sweep import style

    out = Path(out_dir)
    paths: list[Path] = []
    futures = []
    if executor is not None:
        futures = [executor.submit(_figure_files, rows, str(out), config, name) for name in MF.FIGURES]
    figs = MF.figures_from_frames(MF.frames(rows, config), config)
    with style.context():
        if executor is None:
            for name in MF.FIGURES:
                paths += sio.save_figure(figs[name], out / config.figure_stem(name), tight=False)
        cross = crossovers(rows, config)
        summary = check_summary(rows)
        buf = io.BytesIO()
        meta = {"Title": f"{config.display_name()} report", "Creator": None, "Producer": None,
                "CreationDate": None, "ModDate": None}
        with PdfPages(buf, metadata=meta) as pdf:
            pdf.savefig(_text_page(config, rows, summary, cross))
            for name in MF.FIGURES:
                pdf.savefig(figs[name])
    for fut in futures:
        paths += fut.result()
    paths.append(sio.atomic_write_bytes(out / f"{config.figure_stem(REPORT_STEM)}.pdf", buf.getvalue()))
    return paths
