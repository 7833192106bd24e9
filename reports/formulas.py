"""Formulas of the claims registry typeset with matplotlib's mathtext (no LaTeX installation needed).

The registry's ``expressions`` are sympy strings (from ``theory/_cache``) or formulas in words. Each is
turned into mathtext by :func:`to_mathtext`: ``sympy.sympify`` -> ``sympy.latex`` with the toolkit's
symbol names mapped to their Greek letters (lam -> lambda, eta -> eta, ...), then checked by
matplotlib's own mathtext parser. Anything sympy cannot read (words, ``min``/``sum_j`` notations,
tuples of pieces) or mathtext cannot typeset is shown verbatim in a monospace font - never dropped.

The equation labels (E1)-(E12), (M1)-(M11) come from the cache files ``theory/_cache/*.json``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Formula", "to_mathtext", "equation_labels", "formula", "mathtext_width"]

#: toolkit symbol names -> mathtext (sympy.latex ``symbol_names``)
SYMBOLS = {
    "lam": r"\lambda", "eta": r"\eta", "mu": r"\mu", "nu": r"\nu", "pi1": r"\pi_1", "kappa": r"\kappa",
    "alpha": r"\alpha", "beta": r"\beta", "delta": r"\delta", "tau": r"\tau", "rho": r"\rho",
    "sigma": r"\sigma", "phi": r"\phi", "nv": r"\sigma_\epsilon^2", "s1": r"s_1", "s2": r"s_2",
    "mu1": r"\mu_1", "mu2": r"\mu_2", "sM": r"s_M", "sO": r"s_O", "m1": "m_1", "m2": "m_2", "m3": "m_3",
    "m4": "m_4", "ha": "h_a", "hb": "h_b", "xj": "x_j", "xy": "x_y",
}
#: longest mathtext source accepted before falling back to the verbatim form (huge generated forms)
MAX_CHARS = 420
_CACHE_DIR = Path(__file__).resolve().parent.parent / "theory" / "_cache"


@dataclass(frozen=True)
class Formula:
    """One registry expression: ``text`` is mathtext (``$...$``) when ``is_math``, else verbatim."""

    name: str
    source: str
    text: str
    is_math: bool
    label: str = ""  # equation label, e.g. "E7" or "M9" ("" when unknown)


@lru_cache(maxsize=1)
def _parser():
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("path")


def mathtext_width(text: str, fontsize: float) -> float:
    """Width in points of mathtext ``text`` at ``fontsize`` (raises ValueError if it cannot be typeset)."""
    from matplotlib.font_manager import FontProperties

    width, _h, _d, _glyphs, _rects = _parser().parse(text, 72, FontProperties(size=fontsize))
    return float(width)


def _clean_latex(tex: str) -> str:
    # sympy's spacing and operator macros that mathtext lacks or renders poorly
    tex = tex.replace(r"\operatorname{", r"\mathrm{").replace(r"\,", " ")
    return re.sub(r"\\left\|", "|", re.sub(r"\\right\|", "|", tex))


def to_mathtext(source: str) -> tuple[str, bool]:
    """``(text, is_math)``: ``$<latex>$`` when ``source`` parses as a sympy expression that mathtext can
    typeset within :data:`MAX_CHARS`, else ``(source, False)``."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source == {source!r}, must be a non-empty string")
    try:
        import sympy

        names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", source))
        local = {n: sympy.Symbol(n) for n in names if n not in ("sqrt", "exp", "log", "erf", "pi", "E")}
        expr = sympy.sympify(source, locals=local)
        if not isinstance(expr, sympy.Expr):
            return source, False
        tex = sympy.latex(expr, symbol_names={s: SYMBOLS[s.name] for s in expr.free_symbols if s.name in SYMBOLS})
    except Exception:  # noqa: BLE001 - words, tuples, relations: shown verbatim
        return source, False
    tex = f"${_clean_latex(tex)}$"
    if len(tex) > MAX_CHARS:
        return source, False
    try:
        mathtext_width(tex, 10)
    except Exception:  # noqa: BLE001 - mathtext cannot typeset it
        return source, False
    return tex, True


@lru_cache(maxsize=1)
def equation_labels() -> dict[str, str]:
    """Expression name -> equation label, from ``theory/_cache/*.json`` (``{"expressions": {name: {"eq"}}}``)."""
    out: dict[str, str] = {}
    for path in sorted(_CACHE_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the expression cache ({exc}); run python -m theory.derive") from None
        for name, entry in (data.get("expressions") or {}).items():
            if isinstance(entry, dict) and entry.get("eq"):
                out.setdefault(name, str(entry["eq"]))
    return out


def formula(name: str, source: str) -> Formula:
    """The :class:`Formula` of registry expression ``name`` with sympy string (or words) ``source``."""
    text, is_math = to_mathtext(source)
    return Formula(name=name, source=source, text=text, is_math=is_math, label=equation_labels().get(name, ""))
