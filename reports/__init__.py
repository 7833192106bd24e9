"""Generated PDF reports built from results of the sweeps and the theory registry.

``python -m reports.build`` (see its docstring) writes ``reports/out/report.pdf``. Modules, one job each:

* ``reports.inputs`` - find and check the run folders of the sweep CLIs, make missing quick runs;
* ``reports.checks`` - the claims registry as the report shows it; the numeric checks, cached;
* ``reports.formulas`` - registry expressions (sympy strings) -> mathtext;
* ``reports.layout`` - a flow layout of headings, paragraphs, tables, formulas and figures on A4 pages;
* ``reports.figures`` / ``reports.results`` / ``reports.robustness`` - figures and sections from results;
* ``reports.sections`` - provenance, claims and verdicts, key formulas, benchmarks, limitations;
* ``reports.benchjson`` - the schema of ``benchmarks/results/*.json`` (written by the benchmark scripts).
"""
