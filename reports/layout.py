"""A small flow layout for A4 pages drawn with matplotlib only: headings, paragraphs, tables, formulas
and figures placed top to bottom, a new page when the next block does not fit.

Text is real PDF text (``pdf.fonttype = 42``: TrueType subsets with a ToUnicode map), so ``pypdf``
extracts it: every table row is ONE line of monospace text with columns separated by at least two
spaces, paragraphs are wrapped at spaces only (collapsing whitespace gives the original text back).
Widths are measured with matplotlib's own text metrics, not guessed. Two passes: the first finds the
page of every heading (for the contents list), the second draws. Nothing here depends on the clock or
on the machine: the same blocks give the same bytes.
"""
from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

__all__ = ["Heading", "Paragraph", "Table", "FigureBlock", "FormulaBlock", "Contents", "PageBreak",
           "render_pdf", "render_png", "PAGE", "TEXT_WIDTH_IN", "PDF_METADATA", "RC"]

PAGE = (8.27, 11.69)  # A4, inches
MARGIN = {"left": 0.7, "right": 0.6, "top": 0.65, "bottom": 0.75}
TEXT_WIDTH_IN = PAGE[0] - MARGIN["left"] - MARGIN["right"]
SANS, MONO = "DejaVu Sans", "DejaVu Sans Mono"
#: fixed PDF metadata: no dates, fixed producer strings -> the same content gives the same bytes
PDF_METADATA = {"Title": "monosem report: claims of Zhang et al. (ICLR 2025) vs this toolkit",
                "Author": "monosem (reports.build)", "Creator": "monosem reports.build",
                "Producer": "matplotlib PdfPages", "CreationDate": None, "ModDate": None}
#: rcParams of every page and figure (Type 42 fonts extract as text; no timestamps; fixed hatch etc.)
RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "pdf.compression": 6, "svg.hashsalt": "monosem",
      "font.family": "sans-serif", "font.sans-serif": [SANS], "mathtext.fontset": "dejavusans",
      "axes.titlesize": 7.5, "axes.labelsize": 7, "xtick.labelsize": 6, "ytick.labelsize": 6,
      "legend.fontsize": 6, "lines.linewidth": 1.1, "lines.markersize": 3}
_LEADING = 1.32  # line height / font size
_MEASURE_DPI = 720


@dataclass
class Heading:
    text: str
    level: int = 1  # 1: section (in the contents), 2: subsection


@dataclass
class Paragraph:
    text: str
    size: float = 8.0
    mono: bool = False
    weight: str = "normal"
    color: str = "black"
    indent: float = 0.0  # inches


@dataclass
class Table:
    """A monospace grid: ``rows`` of cell strings (``wrap``: columns that may wrap, by index)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    source: str = ""
    note: str = ""
    wrap: Sequence[int] = ()
    size: float = 6.5
    align: str = ""  # per column: "l" or "r" (default: first column left, the rest right)


@dataclass
class FigureBlock:
    """``draw(fig, rect)`` fills ``rect = dict(left, right, bottom, top)`` (figure fractions) with axes."""

    stem: str
    title: str
    caption: str
    draw: Callable[[Any, dict], None]
    height: float = 4.0  # inches of plot (caption extra)


@dataclass
class FormulaBlock:
    name: str
    label: str
    text: str
    is_math: bool
    note: str = ""


@dataclass
class Contents:
    """The list of sections (level-1 headings) with their pages."""

    title: str = "Contents"


@dataclass
class PageBreak:
    pass


# ------------------------------------------------------------------------------------------ measuring
@lru_cache(maxsize=1)
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(100, 100, _MEASURE_DPI)  # a high dpi: hinting does not round the advance widths


@lru_cache(maxsize=None)
def _prop(family: str, size: float, weight: str):
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=family, size=size, weight=weight)


@lru_cache(maxsize=200_000)
def text_width(s: str, size: float, mono: bool = False, weight: str = "normal") -> float:
    """Width of ``s`` in inches."""
    if not s:
        return 0.0
    w, _h, _d = _renderer().get_text_width_height_descent(s, _prop(MONO if mono else SANS, size, weight), ismath=False)
    return w / _MEASURE_DPI


def wrap(text: str, width_in: float, size: float, mono: bool = False, weight: str = "normal") -> list[str]:
    """Greedy word wrap at spaces (no word is broken; an over-long word gets a line of its own)."""
    out: list[str] = []
    for para in text.split("\n"):
        words = para.split(" ")
        line = ""
        for w in words:
            cand = w if not line else f"{line} {w}"
            if line and text_width(cand, size, mono, weight) > width_in:
                out.append(line)
                line = w
            else:
                line = cand
        out.append(line)
    return out


def _line_h(size: float) -> float:
    return size * _LEADING / 72.0


# ------------------------------------------------------------------------------------------ tables
def _table_lines(t: Table, width_in: float) -> tuple[float, str, list[list[str]]]:
    """Font size, header line and the lines of each row (a row wraps only in its ``wrap`` columns)."""
    ncol = len(t.columns)
    rows = [[str(c) for c in r] for r in t.rows]
    for r in rows:
        if len(r) != ncol:
            raise ValueError(f"table {t.title!r}: a row has {len(r)} cells, the header {ncol}")
    widths = [max([len(t.columns[j])] + [len(r[j]) for r in rows]) for j in range(ncol)]
    size = t.size
    char_w = text_width("0", size, mono=True)
    room = int(width_in / char_w) - 2 * (ncol - 1)
    over = sum(widths) - room
    if over > 0 and t.wrap:  # shrink the wrappable columns in proportion to their width, to a floor of 12
        floor = {j: max(12, len(t.columns[j])) for j in t.wrap}
        spare = {j: max(0, widths[j] - floor[j]) for j in t.wrap}
        total = sum(spare.values())
        if total > 0:
            for j in t.wrap:
                widths[j] -= min(spare[j], -(-over * spare[j] // total))
    cells = [[textwrap.wrap(c, widths[j], break_long_words=True, break_on_hyphens=False) or [""]
              if j in t.wrap else [c] for j, c in enumerate(r)] for r in rows]
    for j in range(ncol):  # the widths the wrapped cells really take
        widths[j] = max([len(t.columns[j])] + [len(x) for r in cells for x in r[j]])
    over = sum(widths) - room
    if over > 0:  # still too wide: a smaller font
        size = max(4.5, size * room / (room + over))
    align = t.align or ("l" + "r" * (ncol - 1))

    def fmt(cells: Sequence[str]) -> str:
        parts = [c.ljust(widths[j]) if align[j] == "l" else c.rjust(widths[j]) for j, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    header = fmt(list(t.columns))
    out = []
    for cols in cells:
        n = max(len(c) for c in cols)
        out.append([fmt([c[i] if i < len(c) else "" for c in cols]) for i in range(n)])
    return size, header, out


# ------------------------------------------------------------------------------------------ the flow
class _Flow:
    """Places blocks on pages: ``pages`` holds the drawing operations of each page; ``toc`` gives the page
    of every section for the contents list (what the previous pass found)."""

    def __init__(self, toc: dict[str, int]) -> None:
        self.toc_in = toc
        self.pages: list[list[Callable[[Any], None]]] = []
        self.toc_out: dict[str, int] = {}
        self.fig_no = 0
        self.tab_no = 0
        self.figures: list[tuple[FigureBlock, int]] = []
        self._new_page()

    # -- pages -------------------------------------------------------------------------------------
    def _new_page(self) -> None:
        self.pages.append([])
        self.y = MARGIN["top"]  # inches from the top edge

    def _room(self) -> float:
        return PAGE[1] - MARGIN["bottom"] - self.y

    def _need(self, h: float) -> None:
        if h > self._room() and self.y > MARGIN["top"] + 1e-9:
            self._new_page()

    def _text(self, x_in: float, y_in: float, s: str, size: float, mono: bool = False, weight: str = "normal",
              color: str = "black", ha: str = "left") -> None:
        def op(fig: Any) -> None:
            fig.text(x_in / PAGE[0], 1 - y_in / PAGE[1], s, fontsize=size, family=MONO if mono else SANS,
                     weight=weight, color=color, ha=ha, va="top")
        self.pages[-1].append(op)

    def _lines(self, lines: list[str], size: float, *, x: float = 0.0, mono: bool = False,
               weight: str = "normal", color: str = "black", keep: int = 2) -> None:
        lh = _line_h(size)
        self._need(min(len(lines), keep) * lh)
        for ln in lines:
            if lh > self._room():
                self._new_page()
            self._text(MARGIN["left"] + x, self.y, ln, size, mono, weight, color)
            self.y += lh

    # -- blocks ------------------------------------------------------------------------------------
    def heading(self, b: Heading) -> None:
        size = 13.0 if b.level == 1 else 9.5
        self._need(_line_h(size) + 0.9)  # never a heading alone at the bottom of a page
        self.y += 0.12 if b.level == 1 else 0.06
        if b.level == 1:
            self.toc_out[b.text] = len(self.pages)
        self._lines([b.text], size, weight="bold")
        self.y += 0.05

    def paragraph(self, b: Paragraph) -> None:
        lines = wrap(b.text, TEXT_WIDTH_IN - b.indent, b.size, b.mono, b.weight)
        self._lines(lines, b.size, x=b.indent, mono=b.mono, weight=b.weight, color=b.color)
        self.y += 0.06

    def table(self, t: Table) -> None:
        self.tab_no += 1
        size, header, rows = _table_lines(t, TEXT_WIDTH_IN)
        lh = _line_h(size)
        title = wrap(f"Table {self.tab_no}. {t.title}", TEXT_WIDTH_IN, 7.5, weight="bold")
        self._need(len(title) * _line_h(7.5) + 3 * lh + 0.1)
        self._lines(title, 7.5, weight="bold")
        if t.source:
            self._lines(wrap(f"source: {t.source}", TEXT_WIDTH_IN, 6.0, mono=True), 6.0, mono=True, color="0.35")

        def head() -> None:
            self._lines([header], size, mono=True, weight="bold")
            y = self.y - 0.02
            def op(fig: Any, y=y) -> None:
                from matplotlib.lines import Line2D
                fig.add_artist(Line2D([MARGIN["left"] / PAGE[0], 1 - MARGIN["right"] / PAGE[0]],
                                      [1 - y / PAGE[1]] * 2, lw=0.4, color="0.4"))
            self.pages[-1].append(op)
            self.y += 0.02

        head()
        for r in rows:
            if len(r) * lh > self._room():
                self._new_page()
                self._lines([f"Table {self.tab_no} (continued)"], 6.5, color="0.35")
                head()
            self._lines(r, size, mono=True, keep=len(r))
        if t.note:
            self.y += 0.03
            self._lines(wrap(t.note, TEXT_WIDTH_IN, 6.5), 6.5, color="0.2")
        self.y += 0.12

    def formula(self, b: FormulaBlock) -> None:
        head = f"{b.name}" + (f"  ({b.label})" if b.label else "") + (f"  {b.note}" if b.note else "")
        if b.is_math:
            from reports.formulas import mathtext_width

            size = 10.0
            avail = (TEXT_WIDTH_IN - 0.3) * 72
            while size > 6.0 and mathtext_width(b.text, size) > avail:
                size -= 0.5
            if mathtext_width(b.text, size) <= avail:
                h = max(0.32, 2.6 * size / 72)
                self._need(_line_h(7) + h)
                self._lines([head], 7.0, mono=True, color="0.25")
                y = self.y + 0.04

                def op(fig: Any, y=y, size=size) -> None:
                    fig.text((MARGIN["left"] + 0.3) / PAGE[0], 1 - (y + h / 2) / PAGE[1], b.text, fontsize=size,
                             va="center", ha="left")
                self.pages[-1].append(op)
                self.y += h + 0.06
                return
        self._lines([head], 7.0, mono=True, color="0.25")
        self._lines(wrap(b.text, TEXT_WIDTH_IN - 0.3, 6.5, mono=True), 6.5, x=0.3, mono=True)
        self.y += 0.06

    def figure(self, b: FigureBlock) -> None:
        self.fig_no += 1
        cap = wrap(f"Figure {self.fig_no}. {b.title}. {b.caption}", TEXT_WIDTH_IN, 7.0)
        h = b.height + len(cap) * _line_h(7.0) + 0.1
        self._need(h)
        top, bottom = self.y, self.y + b.height
        rect = {"left": (MARGIN["left"] + 0.45) / PAGE[0], "right": 1 - (MARGIN["right"] + 0.05) / PAGE[0],
                "top": 1 - (top + 0.2) / PAGE[1], "bottom": 1 - (bottom - 0.35) / PAGE[1]}
        self.pages[-1].append(lambda fig, rect=rect: b.draw(fig, rect))
        self.figures.append((b, self.fig_no))
        self.y = bottom
        self._lines(cap, 7.0)
        self.y += 0.12

    def contents(self, b: Contents) -> None:
        self._lines([b.title], 9.5, weight="bold")
        for name, page in self.toc_in.items():
            self._lines([f"{name} {'.' * max(3, 70 - len(name))} {page}"], 8.0, mono=True)
        self.y += 0.1

    def run(self, blocks: Sequence[Any]) -> None:
        for b in blocks:
            if isinstance(b, PageBreak):
                self._new_page()
            else:
                getattr(self, {Heading: "heading", Paragraph: "paragraph", Table: "table", FigureBlock: "figure",
                               FormulaBlock: "formula", Contents: "contents"}[type(b)])(b)


def _layout(blocks: Sequence[Any]) -> _Flow:
    names = {b.text: 0 for b in blocks if isinstance(b, Heading) and b.level == 1}
    first = _Flow(names)
    first.run(blocks)
    # the contents list has as many lines in both passes, so pages do not move between them
    second = _Flow(first.toc_out)
    second.run(blocks)
    assert second.toc_out == first.toc_out, "layout is not stable between passes"
    return second


def render_pdf(blocks: Sequence[Any], footer: str, progress: Callable[[int], None] = lambda n: None) -> tuple[bytes, list[tuple[FigureBlock, int]]]:
    """The PDF bytes of ``blocks`` and the numbered figure blocks (for their PNGs)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        flow = _layout(blocks)
        buf = io.BytesIO()
        with PdfPages(buf, metadata=dict(PDF_METADATA)) as pdf:
            for k, ops in enumerate(flow.pages, start=1):
                fig = Figure(figsize=PAGE)
                for op in ops:
                    op(fig)
                fig.text(0.5, 0.35 / PAGE[1], f"{footer} - page {k} of {len(flow.pages)}", ha="center",
                         va="bottom", fontsize=6.5, color="0.4", family=SANS)
                pdf.savefig(fig)
                progress(1)
        return buf.getvalue(), flow.figures


def render_png(block: FigureBlock, number: int, dpi: int = 150) -> bytes:
    """A stand-alone PNG of one figure block: the same drawing, its caption underneath."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        width = TEXT_WIDTH_IN + 0.4
        # raster text is hinted to whole pixels and runs wider than its vector width: wrap with room to spare
        cap = wrap(f"Figure {number}. {block.title}. {block.caption}", 0.9 * (width - 0.4), 7.0)
        cap_h = len(cap) * _line_h(7.0) + 0.2
        height = block.height + cap_h
        fig = Figure(figsize=(width, height))
        rect = {"left": 0.65 / width, "right": 1 - 0.15 / width, "top": 1 - 0.2 / height,
                "bottom": (cap_h + 0.35) / height}
        block.draw(fig, rect)
        fig.text(0.2 / width, (cap_h - 0.1) / height, "\n".join(cap), fontsize=7.0, va="top", ha="left",
                 linespacing=_LEADING)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()
