"""Find, check and (when missing) produce the run folders the report is built from.

A *source* is one sweep CLI (``python -m sims.margin_sweep``, ``python -m realdata.run``, ...). Its
results live in a run folder written by ``sims.sweep.runner``: ``manifest.json`` + ``results.csv`` (+ the
CLI's own tables). Where the folder of each source comes from, first match wins:

1. an explicit flag (``--margin DIR``, ``--realdata DIR``, ``--robustness DIR``);
2. the newest *complete* run of that CLI under ``--runs`` (default ``runs/``): a sub-folder holding both
   ``manifest.json`` and ``results.csv`` whose manifest names the CLI's config class, newest by the
   manifest's ``finished_utc`` (ties: folder name). Folders without both files are runs in progress and
   are ignored; runs of other CLIs are ignored;
3. the quick run a previous build left in ``<out>/runs/<source>/``;
4. a quick run made now: ``python -m <cli> --quick --out <out>/runs/<source>`` in a subprocess.

The chosen folder is checked completely (:func:`load_run`); any problem raises ``ValueError`` naming
the file: an unreadable manifest, another results format or config version (a folder from another
version of the toolkit), a config that does not parse, a results.csv whose header lacks a column, a row
with missing fields or fewer rows than the manifest records (a truncated file), a missing table. The
newest run is never silently replaced by an older one: if it is broken the build stops and says so
(pass the flag of that source to choose another folder). A complete folder under ``--runs`` whose
manifest cannot be read stops the build too: it cannot be told which CLI wrote it.
"""
from __future__ import annotations

import csv
import dataclasses
import importlib
import importlib.util
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Source", "Run", "SOURCES", "available_sources", "load_run", "find_latest", "plan_runs",
           "make_quick_runs", "resolve_runs", "read_table"]


@dataclass(frozen=True)
class Source:
    """One sweep CLI whose results the report shows."""

    name: str  # short name: flag --<name>, folder <out>/runs/<name>
    title: str
    module: str  # python -m <module>
    config_class: str  # "<module>.<Class>", as recorded in manifest.json
    columns: tuple[str, ...]  # columns results.csv must have
    tables: tuple[str, ...] = ()  # further CSVs the run folder must hold
    count_tables: Callable[[list[dict], Any], dict[str, int]] | None = None  # expected rows of ``tables``
    json_files: tuple[tuple[str, tuple[str, ...]], ...] = ()  # JSON files the folder must hold, with their keys
    claim_modules: tuple[str, ...] = ()  # modules registering the claims this source bears on
    quick_args: tuple[str, ...] = ("--quick",)

    @property
    def command(self) -> str:
        return f"python -m {self.module}"

    def config_type(self) -> type:
        mod, _, cls = self.config_class.rpartition(".")
        return getattr(importlib.import_module(mod), cls)


def _realdata_counts(rows: list[dict], config: Any) -> dict[str, int]:
    from realdata import summary

    return {"summary.csv": len(summary.aggregate(rows)),
            "differences.csv": len(summary.paired_differences(rows)),
            "theory_check.csv": len(summary.theory_check(rows))}


def _robustness_counts(rows: list[dict], config: Any) -> dict[str, int]:
    from reports.robustness import counts

    return counts(rows, config)


SOURCES: dict[str, Source] = {
    "margin": Source(
        "margin", "Main sweep (margins and separation)", "sims.margin_sweep", "sims.margins.config.MarginConfig",
        ("code", "ratio", "sparsity", "cell_seed", "rep", "record", "readout", "noise", "level", "acc",
         "margin_q50", "fisher", "fisher_exact", "acc_theory", "check", "kind", "holds", "tightness", "mu",
         "lam_star", "sign_at_zero")),
    "realdata": Source(
        "realdata", "Real data (raw and supervised baselines, CL, NCL, SAE)", "realdata.run", "realdata.run.RealDataConfig",
        ("replicate", "cell_seed", "representation", "scenario", "level", "metric", "value"),
        tables=("summary.csv", "differences.csv", "theory_check.csv"), count_tables=_realdata_counts),
    "robustness": Source(
        "robustness", "Toy models (robustness sweep)", "sims.robustness_sweep", "sims.robustness.config.RobustnessConfig",
        ("sparsity", "m", "cell_seed", "record", "rep", "comparator", "role", "scenario", "kind", "at", "level",
         "n_train", "acc"),
        tables=("summary.csv", "differences.csv", "boundaries.csv"),
        count_tables=_robustness_counts,
        json_files=(("verdict.json", ("sparsity", "m", "n_train", "clean", "label_noise", "input_noise")),),
        claim_modules=("sims.robustness.claims",)),
}


def available_sources() -> dict[str, Source]:
    """The sources whose CLI module is part of this checkout."""
    return {k: s for k, s in SOURCES.items() if importlib.util.find_spec(s.module) is not None}


@dataclass
class Run:
    """A checked run folder: manifest, results rows (strings, as in the CSV) and its extra tables."""

    source: Source
    path: Path
    origin: str  # how it was found: "--margin", "runs/", "previous quick run", "quick run made now"
    manifest: dict[str, Any]
    config: Any
    columns: list[str]
    rows: list[dict[str, str]]
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    json: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignored: int = 0  # older complete runs of the same CLI that were not used

    @property
    def variant(self) -> str:
        """"defaults", "quick" or "custom": how the config compares with the CLI's own presets."""
        return config_variant(type(self.config), self.config.to_dict())


def _preset(cls: type, which: str) -> dict[str, Any] | None:
    """The to_dict of a CLI's preset (``cls()`` or ``cls.quick()``), as its CLI records it (configs that
    resolve data-dependent defaults, like realdata's, resolved), without the seed; None if it has none or it
    cannot be resolved here."""
    key = (cls, which)
    if key not in _PRESETS:
        make = cls if which == "defaults" else getattr(cls, "quick", None)
        try:
            cfg = make() if make is not None else None
            if cfg is not None and hasattr(cfg, "resolved"):
                cfg = cfg.resolved()
            _PRESETS[key] = None if cfg is None else {k: v for k, v in cfg.to_dict().items() if k != "seed"}
        except ValueError:
            _PRESETS[key] = None
    return _PRESETS[key]


_PRESETS: dict[tuple, dict[str, Any] | None] = {}


def config_variant(cls: type, config: Mapping[str, Any]) -> str:
    """"defaults", "quick" or "custom" for a config dict of class ``cls``."""
    mine = {k: v for k, v in dict(config).items() if k != "seed"}
    try:
        mine = {k: v for k, v in cls.from_dict(dict(config)).to_dict().items() if k != "seed"}
    except (TypeError, ValueError):
        pass
    for name in ("defaults", "quick"):
        if _preset(cls, name) == mine:
            return name
    return "custom"


def _fail(path: Path, msg: str) -> ValueError:
    return ValueError(f"{path}: {msg}")


def read_table(path: Path, required: Sequence[str] = (), expected_rows: int | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV written by ``sims.sweep.io.write_csv``; ValueError naming ``path`` if it is
    missing, unreadable, lacks a ``required`` column, has a row with a different number of fields than
    the header (truncated or damaged) or a row count other than ``expected_rows``."""
    if not path.is_file():
        raise _fail(path, "missing (the run folder is incomplete)")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read ({exc})") from None
    if not text.endswith("\n"):
        raise _fail(path, "does not end with a line break: truncated (written by another program, or cut off)")
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records or not records[0]:
        raise _fail(path, "is empty, must start with a header line")
    header = records[0]
    missing = [c for c in required if c not in header]
    if missing:
        raise _fail(path, f"has no column {missing[0]!r} (columns: {', '.join(header)}); written by another "
                          "version of the toolkit?")
    for i, rec in enumerate(records[1:], start=2):
        if len(rec) != len(header):
            raise _fail(path, f"line {i} has {len(rec)} fields, the header {len(header)}: truncated or damaged")
    rows = [dict(zip(header, rec)) for rec in records[1:]]
    if expected_rows is not None and len(rows) != expected_rows:
        raise _fail(path, f"has {len(rows)} rows, expected {expected_rows}: truncated or damaged")
    return header, rows


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "missing (the run folder is incomplete)") from None
    except (OSError, ValueError) as exc:
        raise _fail(path, f"cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _fail(path, "must hold a JSON object")
    return data


def load_run(source: Source, folder: str | os.PathLike, origin: str) -> Run:
    """Check the run folder of ``source`` completely and read it (see the module docstring)."""
    from sims.sweep.runner import FORMAT_VERSION

    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"{path}: is not a folder (expected a run folder of {source.command})")
    man_path = path / "manifest.json"
    man = _read_json(man_path)
    fmt = man.get("format_version")
    if fmt != FORMAT_VERSION:
        raise _fail(man_path, f"format_version == {fmt!r}, this toolkit reads {FORMAT_VERSION}: a results folder "
                              f"from another version; rerun {source.command}")
    cls = source.config_type()
    if man.get("config_class") not in (source.config_class, *cls.former_names):
        raise _fail(man_path, f"config_class == {man.get('config_class')!r}, expected {source.config_class!r} "
                              f"(not a run of {source.command})")
    if man.get("config_version") != cls.version:
        raise _fail(man_path, f"config_version == {man.get('config_version')!r}, {source.config_class} is now "
                              f"version {cls.version!r}: a results folder from another version; rerun {source.command}")
    try:
        config = cls.from_dict(man.get("config"))
    except (TypeError, ValueError) as exc:
        raise _fail(man_path, f"config does not match {source.config_class} ({exc}): a results folder from "
                              "another version?") from None
    if man.get("config_hash") != config.config_hash():
        raise _fail(man_path, f"config_hash == {man.get('config_hash')!r} does not match its config "
                              f"({config.config_hash()}): edited or damaged")
    n_rows = man.get("rows")
    if not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 0:
        raise _fail(man_path, f"rows == {n_rows!r}, must be the number of rows of results.csv")
    required = tuple(dict.fromkeys((*cls.axes(), "cell_seed", *source.columns)))
    columns, rows = read_table(path / "results.csv", required, n_rows)
    tables = {}
    expected = source.count_tables(rows, config) if source.count_tables is not None else {}
    for name in source.tables:
        if expected.get(name) == 0 and not (path / name).exists():
            tables[name] = []  # the CLI writes no file for an empty table (e.g. a single representation)
        else:
            tables[name] = read_table(path / name, (), expected.get(name))[1]
    docs = {}
    for name, keys in source.json_files:
        doc = _read_json(path / name)
        missing = [k for k in keys if k not in doc]
        if missing:
            raise _fail(path / name, f"has no field {missing[0]!r}: written by another version of {source.command}?")
        docs[name] = doc
    return Run(source, path, origin, man, config, columns, rows, tables, docs)


def _finished(man: Mapping[str, Any]) -> str:
    v = man.get("finished_utc")
    return v if isinstance(v, str) else ""


def find_latest(runs_dir: Path, sources: Mapping[str, Source]) -> dict[str, tuple[Path, int]]:
    """``{source name: (newest complete run folder of the CLI's default config, number of other complete runs
    of that CLI that were passed over)}`` under ``runs_dir``. Runs of other configs (custom grids, a user's own
    data, --quick) are never picked silently: pass them with --margin / --realdata / --robustness."""
    found: dict[str, list[tuple[str, str, Path]]] = {}
    skipped: dict[str, int] = {}
    if not runs_dir.is_dir():
        return {}
    by_class = {name: s for s in sources.values()
                for name in (s.config_class, *s.config_type().former_names)}
    for sub in sorted(runs_dir.iterdir()):
        if not (sub.is_dir() and (sub / "manifest.json").is_file() and (sub / "results.csv").is_file()):
            continue
        man_path = sub / "manifest.json"
        try:
            man = _read_json(man_path)
        except ValueError as exc:
            raise ValueError(f"{exc}; cannot tell which CLI wrote {sub} (remove the folder, or choose the "
                             "runs with --margin/--realdata/--robustness, or another --runs)") from None
        src = by_class.get(man.get("config_class"))
        if src is None:
            continue
        if config_variant(src.config_type(), man.get("config") or {}) != "defaults":
            skipped[src.name] = skipped.get(src.name, 0) + 1
            continue
        found.setdefault(src.name, []).append((_finished(man), sub.name, sub))
    return {k: (max(v)[2], len(v) - 1 + skipped.get(k, 0)) for k, v in found.items()}


def _run_quick(source: Source, out: Path, quiet: bool) -> None:
    """``python -m <cli> --quick --out <out> --force`` in a subprocess (its progress bar shows unless quiet)."""
    cmd = [sys.executable, "-m", source.module, *source.quick_args, "--out", str(out), "--force"]
    if quiet:
        cmd.append("--quiet")
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if quiet else None, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()
        why = tail[-1] if tail else "see its message above"
        raise ValueError(f"{' '.join(cmd[1:])} failed with exit status {proc.returncode}: {why}")


def plan_runs(
    sources: Mapping[str, Source],
    explicit: Mapping[str, str | os.PathLike | None],
    runs_dir: str | os.PathLike,
    out_dir: Path,
    *,
    allow_run: bool = True,
) -> tuple[dict[str, Run], list[Source]]:
    """The checked runs that exist (flag, ``--runs``, an earlier build's quick run) and the sources that
    still need a quick run. Reads only: nothing is run or written, so a broken input fails fast."""
    latest = find_latest(Path(runs_dir), sources)
    runs: dict[str, Run] = {}
    todo: list[Source] = []
    for name, src in sources.items():
        if explicit.get(name) is not None:
            runs[name] = load_run(src, explicit[name], f"--{name}")
        elif name in latest:
            path, older = latest[name]
            runs[name] = dataclasses.replace(load_run(src, path, f"newest in {runs_dir}"), ignored=older)
        else:
            folder = out_dir / "runs" / name
            if (folder / "manifest.json").is_file():
                try:
                    run = load_run(src, folder, "quick run of an earlier build")
                    if run.variant == "quick":
                        runs[name] = run
                        continue
                except ValueError:
                    pass  # our own cache of an older build: made again
            if not allow_run:
                raise ValueError(f"no complete run of {src.command} under {runs_dir} (and --no-run forbids making "
                                 f"the quick one); run it, or pass --{name} DIR")
            todo.append(src)
    return runs, todo


def make_quick_runs(todo: Sequence[Source], out_dir: Path, *, quiet: bool = False,
                    say: Callable[[str], None] = lambda s: None, runs_dir: str | os.PathLike = "runs") -> dict[str, Run]:
    """Run the quick variant of every source in ``todo`` into ``<out_dir>/runs/<source>/`` and check it."""
    runs = {}
    for src in todo:
        folder = out_dir / "runs" / src.name
        say(f"no run of {src.command} under {runs_dir}: running its quick variant into {folder}")
        folder.parent.mkdir(parents=True, exist_ok=True)
        _run_quick(src, folder, quiet)
        runs[src.name] = load_run(src, folder, "quick run made by this build")
    return runs


def resolve_runs(
    sources: Mapping[str, Source],
    explicit: Mapping[str, str | os.PathLike | None],
    runs_dir: str | os.PathLike,
    out_dir: Path,
    *,
    allow_run: bool = True,
    quiet: bool = False,
    say: Callable[[str], None] = lambda s: None,
) -> dict[str, Run]:
    """The checked :class:`Run` of every source (see the module docstring for the order of search):
    :func:`plan_runs`, then :func:`make_quick_runs` for what is missing."""
    runs, todo = plan_runs(sources, explicit, runs_dir, out_dir, allow_run=allow_run)
    runs.update(make_quick_runs(todo, out_dir, quiet=quiet, say=say, runs_dir=runs_dir))
    return {name: runs[name] for name in sources}
