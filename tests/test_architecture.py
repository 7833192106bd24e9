"""The layout of the code: the import graph of the project's modules (built with ``ast``, so nothing is
imported) has no cycle, and imports run one way only, engine <- {sweep, theory} <- studies <- reports.
Also: every file a docstring or document names exists, and no module needs more than a screenful of imports.

Each rule is a function of a graph, tested on the real tree and on a small graph that breaks it, so the
checks are shown to be able to fail.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sims", "theory", "realdata", "reports")

#: layer of a module, by the longest matching prefix; a module may import its own layer and those below.
#: Layers of equal rank must not import each other (sweep and theory stand side by side on the engine;
#: the studies are independent of each other).
LAYERS: dict[str, tuple[int, str]] = {
    "sims": (0, "engine"),  # the package itself: lazy re-exports of the engine, compat aliases
    "sims._compat": (0, "engine"),
    "sims.engine": (0, "engine"),
    "sims.sweep": (1, "sweep"),
    "theory": (1, "theory"),
    "sims.margins": (2, "study:margins"),
    "sims.margin_sweep": (2, "study:margins"),
    "sims.robustness": (2, "study:robustness"),
    "sims.robustness_sweep": (2, "study:robustness"),
    "realdata": (2, "study:realdata"),
    "reports": (3, "reports"),
}


def module_files(root: Path = ROOT) -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def imports_of(name: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """Project modules imported anywhere in ``source`` (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
        for t in targets:
            # the module itself, or the nearest enclosing project module (``from sims import make_code``)
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
                break
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    known = set(files)
    return {m: imports_of(m, f.read_text(encoding="utf-8"), f.name == "__init__.py", known) for m, f in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        colour[u] = GREY
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if colour.get(v, BLACK) == GREY:
                return stack[stack.index(v):] + [v]
            if colour.get(v) == WHITE:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        colour[u] = BLACK
        return None

    for u in sorted(graph):
        if colour[u] == WHITE:
            found = visit(u)
            if found:
                return found
    return None


def layer_of(module: str) -> tuple[int, str]:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise KeyError(f"{module} is in no layer: add it to LAYERS")
    return LAYERS[best]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for u, targets in graph.items():
        ru, gu = layer_of(u)
        for v in targets:
            rv, gv = layer_of(v)
            if rv > ru or (rv == ru and gv != gu):
                bad.append(f"{u} ({gu}) imports {v} ({gv})")
    return sorted(bad)


# --------------------------------------------------------------------------------------------- the tree
GRAPH = import_graph()


def test_graph_sees_the_project():
    assert {"sims.engine.codes", "sims.sweep.runner", "theory.two_feature", "sims.margins.cell",
            "realdata.run", "reports.build"} <= set(GRAPH)
    assert "sims.engine.backend" in GRAPH["sims.engine.codes"]
    assert "sims.engine.probes" in GRAPH["sims.engine.sgd"]  # relative and absolute forms resolve


def test_no_import_cycle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_imports_run_one_way():
    assert layer_violations(GRAPH) == []


def test_engine_imports_only_the_engine():
    for u, targets in GRAPH.items():
        if layer_of(u)[1] == "engine":
            assert all(layer_of(v)[1] == "engine" for v in targets), (u, targets)


def test_entry_points_are_real_modules():
    for mod in ("sims/margin_sweep.py", "sims/robustness_sweep.py", "realdata/run.py", "reports/build.py",
                "theory/__main__.py", "theory/derive/__main__.py"):
        assert (ROOT / mod).is_file(), mod


def test_claim_modules_by_name_respect_the_layers():
    """The registry loads claim modules by name (not an import edge): each must exist, and a claim module
    of a study may name theory but the closed forms of theory never name a study."""
    from theory.claims import CLAIM_MODULES

    files = module_files()
    for name in CLAIM_MODULES:
        assert name in files, name
        rank, group = layer_of(name)
        assert group == "theory" or group.startswith("study:"), name


# --------------------------------------------------------------------------------------------- can fail
def test_cycle_and_layer_checks_fail_on_broken_graphs(tmp_path):
    """A deliberately added cycle (engine.codes -> engine.backend -> engine.codes) and an engine -> study
    import are both caught, on a copy of two real files written into a scratch tree."""
    for pkg in ("sims", "sims/engine", "sims/margins", "theory", "realdata", "reports"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "sims/engine/backend.py").write_text("from sims.engine import codes\n")
    (tmp_path / "sims/engine/codes.py").write_text("from sims.engine import backend as B\n"
                                                  "def f():\n    from sims.margins import cell\n")
    (tmp_path / "sims/margins/cell.py").write_text("import numpy\n")
    g = import_graph(tmp_path)
    cyc = find_cycle(g)
    assert cyc is not None and set(cyc) == {"sims.engine.backend", "sims.engine.codes"}
    assert layer_violations(g) == ["sims.engine.codes (engine) imports sims.margins.cell (study:margins)"]
    g2 = dict(g, **{"sims.engine.backend": set()})
    g2["sims.engine.codes"] = {"sims.engine.backend"}
    assert find_cycle(g2) is None and layer_violations(g2) == []


def test_study_to_study_and_sweep_to_theory_are_violations():
    g = {"sims.margins.cell": {"sims.robustness.scenarios"}, "sims.robustness.scenarios": set(),
         "sims.sweep.runner": {"theory.claims"}, "theory.claims": set()}
    assert len(layer_violations(g)) == 2


# --------------------------------------------------------------------------------------------- documents
_DOC_REF = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)\b|(?<![\w/.-])((?:[\w-]+/)+[\w-]+\.py)\b")


def _referenced_files(text: str) -> set[str]:
    return {a or b for a, b in _DOC_REF.findall(text)}


#: files the CLIs write into a run folder (named in docstrings as outputs, not as sources)
OUTPUT_FILES = {"report.md"}


def _exists(ref: str, here: Path = ROOT) -> bool:
    return ref in OUTPUT_FILES or any((base / ref).exists() for base in (ROOT, here))


def test_every_referenced_file_exists():
    """Docstrings, comments and documents name only files that are in the repository (paths from the
    repository root or from the naming file's folder)."""
    missing = []
    sources = [*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md"), *(ROOT / "reports").glob("*.md")]
    for pkg in (*PACKAGES, "tests", "benchmarks", "scripts"):
        sources += [p for p in (ROOT / pkg).rglob("*") if p.suffix in (".py", ".md", ".sh")]
    for path in sources:
        if "_cache" in path.parts or path.name == Path(__file__).name:
            continue
        for ref in _referenced_files(path.read_text(encoding="utf-8")):
            if not _exists(ref, path.parent):
                missing.append(f"{path.relative_to(ROOT)}: {ref}")
    assert missing == []


def test_reference_check_can_fail():
    assert _referenced_files("see docs/DESIGN.md and theory/derive/model.py, not x.py") == {
        "docs/DESIGN.md", "theory/derive/model.py"}
    assert not _exists("theory/derive/nothing_here.py") and not _exists("DESIGN.md")
    assert _exists("docs/DESIGN.md") and _exists("DESIGN.md", ROOT / "docs")


def _import_span(path: Path) -> int:
    """Lines from the first to the last top-level import statement."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    lines = [(n.lineno, n.end_lineno) for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return 0 if not lines else lines[-1][1] - lines[0][0] + 1


def test_imports_fit_on_one_screen():
    long = {m: _import_span(f) for m, f in module_files().items() if _import_span(f) > 40}
    assert long == {}


@pytest.mark.parametrize("name", ["sample_features", "make_code", "fit_linear", "fit_sgd", "train_toy_model",
                                  "t_interval", "LinearProbe"])
def test_short_import_path(name):
    import sims

    assert name in sims.__all__ and getattr(sims, name).__module__.startswith("sims.engine.")


def test_old_paths_are_the_same_modules():
    import importlib
    import warnings

    from sims import _compat

    for old, new in _compat.ALIASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            mod = importlib.import_module(old)
        assert mod is importlib.import_module(new) and mod.__spec__.name == new


def _design_snippet(marker: str) -> str:
    text = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if b.startswith(marker)]
    return block


def test_design_example_code_family_works():
    """The code-family example of docs/DESIGN.md, registered as written, is a working family."""
    import numpy as np

    from sims.engine import codes

    snippet = _design_snippet("# sims/engine/codes.py")
    try:
        exec(snippet, vars(codes))
        W = np.asarray(codes.make_code("rademacher", 12, 5, seed=3))
        assert W.shape == (5, 12) and np.allclose(np.linalg.norm(W, axis=0), 1.0)
        assert set(np.unique(np.abs(W)).round(12)) == {round(1 / np.sqrt(5), 12)}
        assert np.array_equal(W, np.asarray(codes.make_code("rademacher", 12, 5, seed=3)))
    finally:
        codes._FAMILIES.pop("rademacher", None)
    with pytest.raises(ValueError, match="family == 'rademacher'"):
        codes.make_code("rademacher", 12, 5)


def test_design_example_noise_law_works():
    import numpy as np

    from sims.engine import generators as G

    line = _design_snippet("# sims/engine/generators.py").splitlines()[1]
    name, law = line.split(":", 1)
    try:
        G._NOISE_LAWS[eval(name)] = eval(law.rstrip().rstrip(","), vars(G))
        x = np.zeros((200000, 2))
        z = np.asarray(G.add_input_noise(x, 1.0, 0, kind="laplace"))
        assert abs(z.var() - 1.0) < 0.03 and abs(z.mean()) < 0.01
    finally:
        G._NOISE_LAWS.pop("laplace", None)
