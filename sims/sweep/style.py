"""One look for every figure of every CLI and of the report (``python -m sims.margin_sweep``,
``python -m sims.robustness_sweep``, ``python -m realdata.run``, ``python -m reports.build``).

What every figure follows:

* **Symbols, not spellings**: λ (input noise), η (label noise), ±, μ (coherence), τ; never ``lam``, ``eta``,
  ``+-`` in a title, an axis label, a legend or an annotation (:func:`symbols` turns such text into
  symbols; :func:`text_problems` finds what slipped through; the tests run it on every figure).
* **Short titles** (< :data:`TITLE_MAX` characters, :func:`suptitle`); the run's config goes into a
  footnote under the figure (:func:`finish`), never into the title.
* **Accuracy axes** show the chance level (:func:`chance_line`, a dotted grey line labelled "chance") and
  their 95% intervals clipped to [0, 1] (:func:`mean_ci_plot`, :func:`clip_interval`).
* **Complete legends**: one legend per figure, under the panels, collecting every labelled artist of every
  panel once (data, theory curves, bounds, markers, chance); artists drawn only to explain a style are
  empty proxies (:func:`proxy`).
* **Sizes that fit an A4 page**: at most :data:`MAX_WIDTH_IN` inches wide (the report's text width),
  panels laid out in at most three columns; a fixed layout (no tight/constrained passes, so the width
  stays what it was set to), saved at 150 dpi (at most 1050 pixels wide).
* **One palette**: the same colour and marker for a code, comparator or representation wherever it appears.

The module sits in the sweep layer (matplotlib and numpy only), so every study and the report import it.
"""
from __future__ import annotations

import contextlib
import math
import re
import textwrap
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

__all__ = [
    "A4_WIDTH_IN", "MAX_WIDTH_IN", "MAX_HEIGHT_IN", "TITLE_MAX", "RC", "LAMBDA", "ETA", "PM", "MU", "TAU",
    "CODE_COLORS", "CODE_MARKERS", "COMPARATOR_COLORS", "REPRESENTATION_COLORS", "LINESTYLES", "CHANCE",
    "THEORY", "BOUND", "context", "symbols", "shorten", "color", "marker", "linestyle", "proxy",
    "chance_line", "clip_interval", "mean_ci_plot", "mean_ci", "panels", "suptitle", "finish", "legend",
    "collect_legend", "figure_texts", "text_problems", "accuracy_axes", "axis_label",
]

#: width of an A4 page, and the widest figure this toolkit draws (the report's text width, 6.97 in)
A4_WIDTH_IN = 8.27
MAX_WIDTH_IN = 7.0
#: tallest figure (an A4 page less its margins); panels get lower when a figure would be taller
MAX_HEIGHT_IN = 10.3
#: titles are shorter than this many characters
TITLE_MAX = 100

LAMBDA, ETA, PM, MU, TAU = "\u03bb", "\u03b7", "\u00b1", "\u03bc", "\u03c4"

#: rcParams of every figure (the report's page sizes: the same fonts and sizes in a PNG and on a page; the
#: CLIs' PDFs keep matplotlib's Type 3 fonts, several times faster to write than the report's Type 42 subsets)
RC: dict[str, Any] = {
    "svg.hashsalt": "monosem",
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"], "mathtext.fontset": "dejavusans",
    "axes.titlesize": 7.5, "axes.labelsize": 7, "xtick.labelsize": 6, "ytick.labelsize": 6,
    "legend.fontsize": 6, "lines.linewidth": 1.1, "lines.markersize": 3, "axes.linewidth": 0.6,
    "errorbar.capsize": 2, "legend.frameon": False, "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.5,
}

#: the main job's codes (sims.margins); mono is the black reference everywhere
CODE_COLORS = {"mono": "#222222", "random": "#1f77b4", "antipodal": "#d62728", "frame": "#2ca02c",
               "trained": "#9467bd"}
CODE_MARKERS = {"mono": "D", "random": "o", "antipodal": "s", "frame": "h", "trained": "P"}
#: the toy models' comparators (sims.robustness): dense = the monosemantic side, superposed = the polysemantic one
COMPARATOR_COLORS = {"dense": "#222222", "superposed": "#1f77b4", "nonneg": "#d62728", "random": "#2ca02c",
                     "mono": "#9467bd"}
COMPARATOR_MARKERS = {"dense": "D", "superposed": "o", "nonneg": "s", "random": "^", "mono": "v"}
#: representations of the real-data study (SAEs of a k grid, ``sae_k8``, share the SAE colour)
REPRESENTATION_COLORS = {"raw": "#7f7f7f", "pca": "#bcbd22", "ce": "#9467bd", "nce": "#8c564b", "cl": "#1f77b4",
                         "ncl": "#d62728", "sae": "#2ca02c"}
#: line styles of a second dimension (training sizes, sparsities): the largest value solid; never dashed
#: ("--" is the theory's style)
LINESTYLES = ("-", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (6, 1, 1, 1)))
#: reference lines
CHANCE = {"color": "0.45", "ls": (0, (1, 1.5)), "lw": 0.9}
THEORY = {"ls": "--", "lw": 0.9}
BOUND = {"ls": ":", "lw": 1.0, "marker": "v", "mfc": "white"}
_NEUTRAL = "0.35"


@contextlib.contextmanager
def context(extra: Mapping[str, Any] | None = None) -> Iterator[None]:
    """``matplotlib.rc_context`` with :data:`RC` (and ``extra``): draw and save figures inside it."""
    import matplotlib

    with matplotlib.rc_context({**RC, **(extra or {})}):
        yield


# --------------------------------------------------------------------------------------------- text
_ASCII = [  # spelled-out symbols (whole words; "_" and digits count as boundaries, so lam_star is caught)
    (re.compile(r"\+/?-"), PM),
    (re.compile(r"(?<![A-Za-z\\])lambda(?![A-Za-z])"), LAMBDA),
    (re.compile(r"(?<![A-Za-z\\])lam(?![A-Za-z])"), LAMBDA),
    (re.compile(r"(?<![A-Za-z\\])eta(?![A-Za-z])"), ETA),
    (re.compile(r"(?<![A-Za-z\\])mu(?![A-Za-z])"), MU),
    (re.compile(r"(?<![A-Za-z\\])tau(?![A-Za-z])"), TAU),
]
_MATHTEXT = {r"\lambda": LAMBDA, r"\eta": ETA, r"\pm": PM, r"\mu": MU, r"\tau": TAU, r"\sigma": "\u03c3"}


def symbols(text: str) -> str:
    """``text`` with spelled-out symbols replaced: lam / lambda -> λ, eta -> η, mu -> μ, tau -> τ, +- -> ±
    (whole words only: "beta", "theta", "lambda_2" stay; "lam_star" becomes "λ_star", write "λ*")."""
    for pat, sym in _ASCII:
        text = pat.sub(sym, text)
    return text


def text_problems(text: str) -> list[str]:
    """The spelled-out symbols in ``text`` (mathtext such as ``$\\lambda$`` renders as the symbol and is
    fine): ``[]`` when it is clean."""
    return [m.group(0) for pat, _ in _ASCII for m in pat.finditer(text)]


def shorten(text: str, limit: int = TITLE_MAX - 1) -> str:
    """``text`` on one line, cut at a word boundary with an ellipsis when it is longer than ``limit``."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "\u2026"


_AXIS_LABELS = {
    "input_noise": f"input noise {LAMBDA}", "label_noise": f"label-noise rate {ETA}",
    "ratio": "superposition ratio n_rep / m", "sparsity": "sparsity S", "n_train": "training samples n_train",
    "coherence": f"coherence {MU}", "accuracy": "test accuracy", "lam_star": f"{LAMBDA}*", "m": "hidden dims m",
    "few_shot": "k training samples per class (rightmost: all)",
}


def axis_label(name: str, detail: str = "") -> str:
    """The axis label of a quantity (``input_noise`` -> "input noise λ"), with ``detail`` in brackets."""
    base = _AXIS_LABELS.get(name, symbols(name.replace("_", " ")))
    return f"{base} ({detail})" if detail else base


# --------------------------------------------------------------------------------------------- palette
def color(name: str, family: str = "code") -> str:
    """Colour of a code (``family="code"``), comparator (``"comparator"``) or representation
    (``"representation"``; ``sae_k8`` takes the SAE colour)."""
    table = {"code": CODE_COLORS, "comparator": COMPARATOR_COLORS, "representation": REPRESENTATION_COLORS}[family]
    if name in table:
        return table[name]
    base = name.partition("_k")[0]
    if base in table:
        return table[base]
    extra = ("#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e")
    return extra[sum(map(ord, name)) % len(extra)]


def marker(name: str, family: str = "code") -> str:
    table = {"code": CODE_MARKERS, "comparator": COMPARATOR_MARKERS}.get(family, {})
    return table.get(name, "o")


def linestyle(value: Any, values: Sequence[Any]) -> Any:
    """Line style of ``value`` among ``values`` (sorted descending: the largest is solid)."""
    order = sorted(set(values), reverse=True)
    return LINESTYLES[order.index(value) % len(LINESTYLES)] if value in order else "-"


def proxy(ax: Any, label: str, **kw: Any) -> Any:
    """An empty line that only puts ``label`` with this style into the legend (neutral grey by default)."""
    kw.setdefault("color", _NEUTRAL)
    (line,) = ax.plot([], [], label=label, **kw)
    return line


# --------------------------------------------------------------------------------------------- accuracy
def chance_line(ax: Any, level: float | None, label: str = "chance") -> Any:
    """The chance level of an accuracy axis (a dotted grey line, ``gid="chance"``); nothing for None/NaN."""
    if level is None or not math.isfinite(float(level)):
        return None
    line = ax.axhline(float(level), label=label, zorder=0.5, **CHANCE)
    line.set_gid("chance")
    return line


def accuracy_axes(ax: Any, chance: float | None, label: str = "test accuracy") -> None:
    """Mark ``ax`` as an accuracy axis: its y label (containing "accuracy") and the chance line."""
    ax.set_ylabel(label)
    chance_line(ax, chance, label="chance" if chance is None else f"chance ({_frac(chance)})")


def _frac(p: float) -> str:
    inv = 1.0 / p if p > 0 else float("inf")
    if math.isfinite(inv) and abs(inv - round(inv)) < 1e-9 and round(inv) > 1:
        return f"1/{int(round(inv))}"
    return f"{p:.2g}"


def clip_interval(lo: Any, hi: Any, bounds: tuple[float, float] | None = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` clipped to ``bounds`` (accuracies: [0, 1]); NaN stays NaN."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if bounds is None:
        return lo, hi
    return np.clip(lo, *bounds), np.clip(hi, *bounds)


def mean_ci_plot(ax: Any, x: Any, mean: Any, lo: Any = None, hi: Any = None, *, half: Any = None, band: bool = False,
                 clip: tuple[float, float] | None = (0.0, 1.0), color: Any = None, label: str | None = None,
                 **kw: Any) -> Any:
    """A mean curve with its 95% interval (``lo``/``hi``, or ``mean ± half``) as error bars or a band,
    clipped to ``clip`` (accuracies: [0, 1]; ``None`` for unbounded quantities). NaN intervals are not drawn."""
    x, mean = np.asarray(x, dtype=float), np.asarray(mean, dtype=float)
    if half is not None:
        h = np.asarray(half, dtype=float)
        lo, hi = mean - h, mean + h
    if lo is None:
        lo = hi = mean
    lo, hi = clip_interval(lo, hi, clip)
    lo, hi = np.where(np.isfinite(lo), lo, mean), np.where(np.isfinite(hi), hi, mean)
    if band:
        (line,) = ax.plot(x, mean, color=color, label=label, **kw)
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        return line
    kw.setdefault("capsize", 2)
    err = np.vstack([np.maximum(mean - lo, 0), np.maximum(hi - mean, 0)])
    return ax.errorbar(x, mean, yerr=np.nan_to_num(err), color=color, label=label, **kw)


def mean_ci(df: Any, by: Sequence[str], value: str) -> Any:
    """Mean, 95% Student-t half-width and count of ``value`` over the rows of each ``by`` group (finite
    values only; the rows of a group are the replicates), as a DataFrame with columns ``*by, mean, ci, n``."""
    import pandas as pd

    from sims.engine.stats import t_stats

    out = []
    sub = df[list(by) + [value]]
    for key, g in sub.groupby(list(by), sort=True, dropna=False):
        v = g[value].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        n, mean, _, half = t_stats(v)
        out.append((*(key if isinstance(key, tuple) else (key,)), mean, half, n))
    return pd.DataFrame(out, columns=[*by, "mean", "ci", "n"])


# --------------------------------------------------------------------------------------------- layout
def panels(n: int, *, ncols: int | None = None, panel_height: float = 1.9, width: float = MAX_WIDTH_IN,
           hide_extra: bool = True) -> tuple[Any, list[Any]]:
    """A figure with ``n`` panels in at most three columns (``width`` <= :data:`MAX_WIDTH_IN`), laid out
    by :func:`finish`; returns ``(fig, axes)`` (a flat list of the ``n`` panels)."""
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols or min(n, 3), n))
    nrows = max(1, math.ceil(n / ncols))
    width = min(width, MAX_WIDTH_IN)
    fig = Figure(figsize=(width, panel_height * nrows + 1.0))
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    if hide_extra:
        for ax in axes[n:]:
            fig.delaxes(ax)
        axes = axes[:n]
    fig._style_grid = (nrows, ncols, panel_height)  # read by finish()
    return fig, axes


def suptitle(fig: Any, text: str) -> Any:
    """The figure's title: one line, shorter than :data:`TITLE_MAX` characters, spelled-out symbols replaced."""
    return fig.suptitle(shorten(symbols(text)), fontsize=8.5, fontweight="bold")


def collect_legend(axes: Iterable[Any]) -> tuple[list[Any], list[str]]:
    """Every labelled artist of ``axes`` once (the first of each label), in drawing order."""
    found, seen = [], set()
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_") and lab not in seen:
                seen.add(lab)
                found.append((_rank(h), len(found), h, lab))
    found.sort(key=lambda t: t[:2])  # data first, then reference lines, then the style proxies
    return [f[2] for f in found], [f[3] for f in found]


def _rank(handle: Any) -> int:
    from matplotlib.container import Container
    from matplotlib.lines import Line2D

    if isinstance(handle, Container):
        return 0
    if isinstance(handle, Line2D):
        if len(handle.get_xdata()) == 0:
            return 3  # a proxy
        if handle.get_gid() == "chance" or handle.get_gid() == "reference":
            return 2
    return 1


def legend(axes: Iterable[Any], on: Any, **kw: Any) -> Any:
    """One legend on ``on`` (an axes or a figure) with every labelled artist of ``axes`` (deduplicated)."""
    handles, labels = collect_legend(axes)
    if not handles:
        return None
    kw.setdefault("loc", "best")
    return on.legend(handles, labels, **kw)


_CHAR_W = 0.56  # average glyph width of DejaVu Sans, in units of the font size
_LINE = 1.3  # line height / font size


def _wrap(text: str, width_in: float, size: float) -> list[str]:
    chars = max(20, int(width_in * 72 / (_CHAR_W * size)))
    out: list[str] = []
    for para in str(text).split("\n"):
        out += textwrap.wrap(para, chars, break_long_words=False, break_on_hyphens=False) or [""]
    return out


def finish(fig: Any, *, title: str, footnote: str = "", axes: Sequence[Any] | None = None, legend_axes: Any = None,
           right: float = 0.15, left: float = 0.6, hspace: float = 0.62, wspace: float = 0.62,
           footnote_size: float = 5.5, legend_cols: int | None = None) -> Any:
    """Lay out a figure made by :func:`panels`: the short title on top, one legend of every labelled artist
    under the panels (``legend_axes``: where to collect them, default all panels), the footnote (caption
    and run config, wrapped to the width) at the bottom. Fixes the figure height to what it holds (width
    unchanged) and the panel margins in inches. Returns ``fig``."""
    nrows, ncols, panel_h = getattr(fig, "_style_grid", (1, 1, 2.0))
    width = fig.get_figwidth()
    axes = list(axes if axes is not None else fig.axes)
    # footnote, legend, x labels, title: heights in inches
    foot = _wrap(symbols_in_prose(footnote), width - 0.3, footnote_size) if footnote else []
    foot_h = len(foot) * footnote_size * _LINE / 72 + (0.1 if foot else 0.0)
    handles, labels = collect_legend(legend_axes if legend_axes is not None else axes)
    fs = float(RC["legend.fontsize"])
    if handles:
        longest = max(len(lab) for lab in labels)
        fit = max(1, int((width - 0.4) * 72 // (longest * _CHAR_W * fs + 28)))
        cols = max(1, min(legend_cols or fit, fit, len(labels)))
        rows = math.ceil(len(labels) / cols)
        leg_h = rows * fs * 1.55 / 72 + 0.12
    else:
        cols, leg_h = 1, 0.0
    xlab_h = 0.42
    title_h = 0.5
    gap = hspace  # inches between rows of panels (their titles and x labels)
    fixed = title_h + (nrows - 1) * gap + xlab_h + leg_h + foot_h + 0.08
    if fixed + nrows * panel_h > MAX_HEIGHT_IN:  # many rows: lower panels rather than a page-high figure
        panel_h = max(0.9, (MAX_HEIGHT_IN - fixed) / nrows)
    height = fixed + nrows * panel_h
    fig.set_size_inches(width, height)
    bottom = (xlab_h + leg_h + foot_h + 0.08) / height
    top = 1 - title_h / height
    panel_w = max((width - left - right - (ncols - 1) * wspace) / ncols, 0.5)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom, top=top,
                        hspace=gap / panel_h, wspace=wspace / panel_w)
    suptitle(fig, title)
    fig._suptitle.set_y(1 - 0.1 / height)
    fig._suptitle.set_va("top")
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=cols, bbox_to_anchor=(0.5, (foot_h + 0.04) / height),
                   fontsize=fs, frameon=False, handlelength=2.4, columnspacing=1.2)
    if foot:
        t = fig.text(0.15 / width, 0.06 / height, "\n".join(foot), ha="left", va="bottom", fontsize=footnote_size,
                     color="0.25", linespacing=_LINE)
        t.set_gid("footnote")
    return fig


def symbols_in_prose(text: str) -> str:
    """:func:`symbols` on the prose of a footnote, leaving the run config after "Run: " as written (it
    quotes the config's field names, such as ``margin_tau``)."""
    head, sep, run = str(text).partition("Run: ")
    return symbols(head) + sep + run


# --------------------------------------------------------------------------------------------- checks
def figure_texts(fig: Any) -> dict[str, list[str]]:
    """The texts of ``fig`` by role: ``title`` (figure and panel titles), ``label`` (axis and colorbar
    labels), ``legend``, ``annotation`` (texts inside panels and tick labels) and ``footnote``."""
    out: dict[str, list[str]] = {"title": [], "label": [], "legend": [], "annotation": [], "footnote": []}
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        out["title"].append(sup.get_text())
    for t in fig.texts:
        (out["footnote"] if t.get_gid() == "footnote" else out["annotation"]).append(t.get_text())
    for leg in getattr(fig, "legends", []):
        out["legend"] += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        for t in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)):
            if t is not None and t.get_text():
                out["title"].append(t.get_text())
        out["label"] += [s for s in (ax.get_xlabel(), ax.get_ylabel()) if s]
        leg = ax.get_legend()
        if leg is not None:
            out["legend"] += [t.get_text() for t in leg.get_texts()]
        out["annotation"] += [t.get_text() for t in ax.texts]
        out["annotation"] += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    return out
