"""Run folders as data: every CSV of every sweep CLI as a tidy pandas DataFrame, with its columns documented.

A study documents its outputs once, as a :class:`Schema` on its config class (``SweepConfig.schema``):
per table (``results.csv``, ``summary.csv``, ...) and, where a table mixes row types, per value of its
``record`` column, every column with its type and meaning. From that one source come

* :func:`load_run` ``(path, record=None, table="results.csv")``: the table of a run folder, typed
  (ints, floats with NaN for empty cells, booleans, strings), restricted to one record type's columns
  when ``record`` is given; the config and the column descriptions ride along in ``DataFrame.attrs``;
* :func:`to_frame` (``RunResult.to_pandas``): the same for rows of an in-process sweep;
* ``docs/RESULTS.md``, written by ``python -m sims.sweep.results --markdown`` (a test checks it is current).

Column names ending in ``*`` stand for a family (``score_*``: one column per representation).
"""
from __future__ import annotations

import argparse
import fnmatch
import importlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["Column", "Table", "Schema", "load_run", "to_frame", "schema_of", "markdown", "STUDIES"]

#: the config classes whose outputs docs/RESULTS.md documents, in its order
STUDIES = ("sims.margins.config.MarginConfig", "sims.robustness.config.RobustnessConfig", "realdata.run.RealDataConfig")
_KINDS = ("int", "float", "str", "bool")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int | float | str | bool
    doc: str

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind == {self.kind!r}, must be one of {', '.join(_KINDS)}")


@dataclass(frozen=True)
class Table:
    """One CSV: its common columns, and per record type (value of ``record_column``) the columns that
    record fills; a table without record types has ``records == {}``."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    records: Mapping[str, tuple[Column, ...]] = field(default_factory=dict)
    record_column: str = "record"
    record_docs: Mapping[str, str] = field(default_factory=dict)

    def all_columns(self) -> list[Column]:
        out = list(self.columns)
        seen = {c.name for c in out}
        for cols in self.records.values():
            for c in cols:
                if c.name not in seen:
                    out.append(c)
                    seen.add(c.name)
        return out

    def column(self, name: str) -> Column | None:
        for c in self.all_columns():
            if c.name == name or (c.name.endswith("*") and fnmatch.fnmatchcase(name, c.name)):
                return c
        return None


@dataclass(frozen=True)
class Schema:
    """Every table a study writes into its run folder."""

    study: str
    command: str
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise ValueError(f"table == {name!r} is not written by {self.command}, must be one of "
                         f"{', '.join(t.name for t in self.tables)}")


def C(name: str, kind: str, doc: str) -> Column:
    """Shorthand for the schema modules."""
    return Column(name, kind, doc)


def schema_of(config_class: str | type) -> Schema:
    """The :class:`Schema` of a config class (or its qualified name, as manifest.json records it; former
    names of moved classes are recognized)."""
    if isinstance(config_class, str):
        cls = _import_class(config_class)
    else:
        cls = config_class
    schema = getattr(cls, "schema", None)
    if not isinstance(schema, Schema):
        raise ValueError(f"{cls.__module__}.{cls.__qualname__} documents no results schema")
    return schema


def _import_class(name: str) -> type:
    from sims.sweep.config import SweepConfig

    mod, _, cls = name.rpartition(".")
    try:
        return getattr(importlib.import_module(mod), cls)
    except (ImportError, AttributeError):
        pass
    for study in STUDIES:  # a class that moved: its former name
        try:
            c = _import_class(study) if study != name else None
        except ValueError:
            continue
        if c is not None and issubclass(c, SweepConfig) and name in c.former_names:
            return c
    raise ValueError(f"config_class == {name!r} cannot be imported: not a run of this toolkit's CLIs")


def _convert(df: Any, table: Table) -> Any:
    import numpy as np
    import pandas as pd

    for name in df.columns:
        col = table.column(name)
        if col is None:
            raise ValueError(f"column {name!r} of {table.name} is not documented in its schema (docs/RESULTS.md)")
        s = df[name]
        if col.kind == "str":
            df[name] = s.fillna("").astype(str)
            continue
        s = s.astype(str)
        if col.kind == "bool":
            df[name] = s.map({"True": True, "False": False, "true": True, "false": False, "1": True, "0": False,
                              True: True, False: False}).astype("boolean")
        else:
            try:
                num = pd.Series([float(v) if v != "" else np.nan for v in s], index=s.index, dtype=float)
            except ValueError as exc:
                raise ValueError(f"column {name!r} of {table.name} holds a non-number ({exc})") from None
            whole = col.kind == "int" and not num.isna().any() and bool((num == num.round()).all())
            df[name] = num.astype("Int64") if whole else num
    return df


def _frame(df: Any, table: Table, record: str | None, config: Mapping[str, Any] | None) -> Any:
    if record is not None:
        if not table.records:
            raise ValueError(f"record == {record!r}, but {table.name} has no record types")
        if record not in table.records:
            raise ValueError(f"record == {record!r}, must be one of {', '.join(table.records)} ({table.name})")
        df = df[df[table.record_column] == record].reset_index(drop=True)
        keep = [c.name for c in table.columns] + [c.name for c in table.records[record]]
        df = df[[c for c in df.columns if c in keep or any(k.endswith("*") and fnmatch.fnmatchcase(c, k) for k in keep)]]
    df = _convert(df.copy(), table)
    df.attrs = {"table": table.name, "record": record, "config": dict(config or {}),
                "columns": {c: (table.column(c).kind, table.column(c).doc) for c in df.columns}}
    return df


def load_run(path: Any, record: str | None = None, table: str = "results.csv") -> Any:
    """The CSV ``table`` of the run folder ``path`` as a typed, tidy pandas DataFrame (module docstring).

    ``record``: keep the rows of one record type and the columns it fills (e.g. ``"readout"`` of the main
    job's results.csv). ``df.attrs``: ``table``, ``record``, the run's ``config`` and ``columns``
    (name -> (type, meaning)). Raises ValueError naming the folder or file at fault.
    """
    import pandas as pd

    run = Path(path)
    man_path = run / "manifest.json"
    if not man_path.is_file():
        raise ValueError(f"path == {str(path)!r} is not a run folder (no manifest.json)")
    try:
        man = json.loads(man_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{man_path}: unreadable manifest ({exc})") from None
    schema = schema_of(str(man.get("config_class", "")))
    tab = schema.table(table)
    csv = run / table
    if not csv.is_file():
        raise ValueError(f"{csv} does not exist (tables of {schema.command}: {', '.join(t.name for t in schema.tables)})")
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    return _frame(df, tab, record, man.get("config"))


def to_frame(rows: Sequence[Mapping[str, Any]], config_class: str | type, record: str | None = None,
             table: str = "results.csv", columns: Sequence[str] | None = None) -> Any:
    """Rows of an in-process sweep (as written to ``table``) as :func:`load_run` would return them."""
    import pandas as pd

    tab = schema_of(config_class).table(table)
    df = pd.DataFrame(list(rows), columns=list(columns) if columns is not None else None)
    df = df.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return _frame(df, tab, record, None)


# --------------------------------------------------------------------------------------------- docs
def _md_row(c: Column) -> str:
    return f"| `{c.name}` | {c.kind} | {c.doc.replace('|', chr(92) + '|')} |"


def markdown(studies: Sequence[str] = STUDIES) -> str:
    """docs/RESULTS.md: every column of every CSV of every study."""
    out = ["# Results: every column of every CSV", "",
           "Generated from the schemas in the code by `python -m sims.sweep.results --markdown` (a test checks that "
           "this file is current). Load any table as a typed pandas DataFrame with "
           "`sims.sweep.results.load_run(run_folder, record=None, table=\"results.csv\")`; an in-process sweep's rows "
           "with `RunResult.to_pandas(record)`. Empty cells are NaN (numbers) or \"\" (text). A name ending in `*` "
           "stands for a family of columns.", ""]
    for name in studies:
        s = schema_of(name)
        out += [f"## {s.study} (`{s.command}`)", ""]
        for t in s.tables:
            out += [f"### {t.name}", "", t.doc, ""]
            out += ["| column | type | meaning |", "|---|---|---|"]
            out += [_md_row(c) for c in t.columns]
            for rec, cols in t.records.items():
                out += ["", f"Rows with `{t.record_column}` = `{rec}`: {t.record_docs.get(rec, '')}", "",
                        "| column | type | meaning |", "|---|---|---|"]
                out += [_md_row(c) for c in cols]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sims.sweep.results", allow_abbrev=False,
                                description="Print docs/RESULTS.md (the documented columns of every CSV).")
    p.add_argument("--markdown", action="store_true", help="print the Markdown page (the default)")
    p.parse_args(argv)
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":  # run through the imported module, whose classes the schemas use
    from sims.sweep.results import main as _main

    raise SystemExit(_main())
