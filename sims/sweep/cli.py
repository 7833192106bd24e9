"""Shared plumbing of every sweep CLI: parser, common flags, error handling, the main wrapper.

A CLI module (``python -m sims.margin_sweep``) is written as::

    def build_parser() -> cli.ArgumentParser:
        p = cli.ArgumentParser(prog="python -m sims.margin_sweep", description=__doc__)
        p.add_argument("--sparsity", type=cli.floats, help="grid axis: comma-separated values")
        cli.add_run_arguments(p)
        return p

    def make_config(args) -> MarginConfig:
        return cli.config_from_args(MarginConfig.quick() if args.quick else MarginConfig(), args)

    def main(argv=None) -> int:
        return cli.sweep_main(argv, build_parser(), make_config, cell_fn, figures_fn=figures)

    if __name__ == "__main__":
        raise SystemExit(main())

Error contract: bad input of any kind (argparse errors, ``ValueError`` from configs or the runner,
an unwritable ``--out``, a ``--scheduler`` that does not answer, ``OSError`` while writing) ends in
exactly one line ``prog: error: ...`` on stderr and exit status 2, with no traceback; all checks run
before anything is written. Ctrl-C ends with one line and status 130; finished cells stay cached.
``SIMS_DEBUG=1`` re-raises instead, to see the traceback. Bugs (any other exception) keep theirs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from sims.sweep.executors import AUTO_MAX_WORKERS, DEFAULT_SCHEDULER_TIMEOUT, MAX_WORKERS
from sims.sweep.config import _qualified
from sims.sweep.runner import RunResult, SweepConfig, SweepInterrupted, run_sweep

__all__ = [
    "ArgumentParser",
    "add_run_arguments",
    "floats",
    "ints",
    "strings",
    "config_from_args",
    "base_config",
    "run_kwargs",
    "guarded",
    "sweep_main",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def one_line(text: Any) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default only when it has one: flags whose default is ``None`` (the config's value
    applies, stated in the help text itself) or ``False`` get no "(default: None)"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are ONE line (``prog: error: msg``), exit status 2.

    (argparse's own ``error`` prints the usage too: two or more lines.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # "--spars 0.9" is an error, not --sparsity
        super().__init__(*args, **kwargs)
        # a value starting with a negative number is a value, not an unknown option: "--amplitude -1,1"
        # reaches the config's check ("must be 0 <= LO < HI") instead of "expected one argument"
        self._negative_number_matcher = _NEGATIVE_VALUE

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("unrecognized arguments:"):
            extra = message.split(":", 1)[1].split()
            if extra and not extra[0].startswith("-"):
                message += (" (lists are comma-separated without spaces, e.g. --sparsity 0.8,0.9; "
                            "a value with spaces needs quotes)")
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)}\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # argparse drops a "--" value ("--seed=--") and stores an empty list: a flag without its value
        if action.nargs is None and action.option_strings and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one argument")
        return super()._get_values(action, arg_strings)


#: argparse's test for "a negative number, not an option": also comma-separated lists starting with one
#: (``-1,1``), exponents (``-1e-3``) and ``-inf`` / ``-nan``
_NEGATIVE_VALUE = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:,.*)?$|^-(?:inf|infinity|nan)(?:,.*)?$",
                             re.IGNORECASE)


def _list(text: str, convert: Callable[[str], Any], what: str, example: str) -> tuple:
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError(f"{text!r} is empty, must list at least one {what} (e.g. {example})")
    out = []
    for p in parts:
        if not p:
            raise argparse.ArgumentTypeError(f"{text!r} has an empty entry, must be comma-separated {what}s")
        try:
            out.append(convert(p))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{p!r} in {text!r} is not a valid {what}") from None
    return tuple(out)


def floats(text: str) -> tuple[float, ...]:
    """argparse type of a float grid axis: ``"0,0.5,0.9"`` -> ``(0.0, 0.5, 0.9)``."""
    return _list(text, float, "real number", "0,0.5,0.9")


def ints(text: str) -> tuple[int, ...]:
    """argparse type of an integer grid axis: ``"10,20"`` -> ``(10, 20)``."""
    return _list(text, int, "integer", "10,20")


def strings(text: str) -> tuple[str, ...]:
    """argparse type of a string grid axis: ``"mono,poly"`` -> ``("mono", "poly")``."""
    return _list(text, str, "name", "mono,poly")


def _cells_per_task(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be 'auto' or an integer") from None


def _workers(text: str) -> int | str:
    if text in ("auto", "serial"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be 'auto', 'serial' or an integer") from None


def add_run_arguments(parser: argparse.ArgumentParser, *, quick_help: str | None = None,
                      workers_default: str | None = None) -> None:
    """Add the flags every sweep CLI shares (group "run"); ``workers_default``: ``--workers``'s default (None:
    serial; ``"auto"``: see ``sims.sweep.executors.auto_workers``)."""
    g = parser.add_argument_group("run")
    g.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (results.csv, manifest.json, figures, cells/ cache); rerunning "
                        "into it computes only missing cells. Default: a new runs/<slug>-<timestamp>")
    g.add_argument("--seed", type=int, default=None, metavar="N",
                   help="base seed; each cell's seed derives from it and the cell's values (default: config's, 0)")
    g.add_argument("--quick", action="store_true",
                   help=quick_help or "a small grid for a smoke test")
    g.add_argument("--config", metavar="FILE", default=None,
                   help="rerun a saved config: a run folder's config.json (or a JSON config); flags given beside it "
                        "override its values")
    g.add_argument("--workers", type=_workers, default=workers_default, metavar="N",
                   help=f"run cells in N local processes (1..{MAX_WORKERS}); with --scheduler local: "
                        "the number of Dask workers; 'serial': in this process; 'auto': one process per core "
                        f"(at most {AUTO_MAX_WORKERS}) when the grid's estimated work repays starting them, else serial. "
                        f"Default: {workers_default or 'serial'}. Results do not depend on it")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run cells on Dask: a scheduler address (tcp://host:8786) or 'local' for a "
                        "LocalCluster (needs the 'dist' extra)")
    g.add_argument("--scheduler-timeout", type=float, default=DEFAULT_SCHEDULER_TIMEOUT, metavar="SECONDS",
                   help="seconds to wait for the Dask scheduler and a first worker")
    g.add_argument("--cells-per-task", type=_cells_per_task, default="auto", metavar="N",
                   help="cells batched into one task; 'auto': 1 when serial, else tasks ~ 4 x workers")
    g.add_argument("--force", action="store_true",
                   help="write into a --out folder that holds another config's results (they are "
                        "replaced; matching cached cells are reused) or that is not a run folder")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar and no summary line on stderr")
    g.add_argument("--strict", action="store_true",
                   help="refuse to run (exit 2, naming the file) when a cached cell in --out fails validation "
                        "(checksum, schema); by default such a cell is named on stderr and recomputed")
    g.add_argument("--backend", choices=("numpy", "cupy", "array_api_strict"), default=None,
                   help="array backend the cells compute on (default: $SIMS_BACKEND, else numpy); cupy needs the "
                        "gpu extra and an NVIDIA GPU, array_api_strict is the standard-only check of the same code")
    g.add_argument("--device", metavar="NAME", default=None,
                   help="device of the backend: a CUDA device number (cupy), CPU_DEVICE / device1 / device2 "
                        "(array_api_strict); default: the backend's default")


def base_config(cls: type[SweepConfig], args: argparse.Namespace) -> SweepConfig:
    """The config flags start from: the ``config.json`` of ``--config FILE`` (a run folder's, or a file
    holding a config dict), else ``cls.quick()`` with ``--quick``, else the defaults."""
    path = getattr(args, "config", None)
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"--config == {path!r} cannot be read as a JSON config ({type(exc).__name__}: {exc})") from None
        ident = data.get("identity", {}) if isinstance(data, dict) else {}
        cfg = ident.get("config", data) if isinstance(ident, dict) else data
        name = ident.get("class") if isinstance(ident, dict) else None
        mine = _qualified(cls)
        if name is not None and name != mine and name not in cls.former_names:
            raise ValueError(f"--config == {path!r} is a config of {name}, must be one of {mine}")
        if not isinstance(cfg, dict):
            raise ValueError(f"--config == {path!r} holds no config (a run folder's config.json or a JSON object)")
        return cls.from_dict(cfg)
    return cls.quick() if getattr(args, "quick", False) else cls()


def config_from_args(base: SweepConfig, args: argparse.Namespace) -> SweepConfig:
    """``base`` with every field replaced whose name matches a flag given on the command line
    (``--n-samples`` -> ``n_samples``; ``None`` means not given). Validation runs again. With
    ``--config FILE`` the base is that file's config instead (:func:`base_config`)."""
    if getattr(args, "config", None):
        base = base_config(type(base), args)
    names = {f.name for f in dataclasses.fields(base)}
    changes = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return dataclasses.replace(base, **changes) if changes else base


def run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``run_sweep`` carried by the common flags."""
    return {
        "out_dir": args.out,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "scheduler_timeout": args.scheduler_timeout,
        "cells_per_task": args.cells_per_task,
        "force": args.force,
        "quiet": args.quiet,
        "strict": bool(getattr(args, "strict", False)),
        "backend": getattr(args, "backend", None),
        "device": getattr(args, "device", None),
    }


def guarded(prog: str, fn: Callable[[], int | None]) -> int:
    """Run ``fn`` and turn expected failures into one stderr line and an exit status (see module doc)."""
    debug = os.environ.get("SIMS_DEBUG", "") not in ("", "0")
    try:
        rc = fn()
        return 0 if rc is None else int(rc)
    except SystemExit as exc:  # argparse (errors: already one line; --help: 0)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except SweepInterrupted as exc:
        if debug:
            raise
        _say(f"{prog}: interrupted: {exc.n_done} of {exc.n_cells} cells are cached in {exc.out_dir}; "
             f"rerun with --out {exc.out_dir} to finish")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        if debug:
            raise
        _say(f"{prog}: interrupted")
        return EXIT_INTERRUPTED
    except ValueError as exc:
        if debug:
            raise
        _say(f"{prog}: error: {one_line(exc)}")
        return EXIT_USAGE
    except BrokenPipeError:  # stdout closed early (| head): stop quietly, as a filter does
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except OSError as exc:
        if debug:
            raise
        where = f": {exc.filename!r}" if getattr(exc, "filename", None) else ""
        _say(f"{prog}: error: cannot write output ({exc.strerror or type(exc).__name__}{where})")
        return EXIT_USAGE


def _say(line: str) -> None:
    try:
        sys.stderr.write(one_line(line) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def sweep_main(
    argv: Sequence[str] | None,
    parser: argparse.ArgumentParser,
    make_config: Callable[[argparse.Namespace], SweepConfig],
    cell_fn: Callable[[dict, int], list[dict]],
    *,
    figures_fn: Callable | None = None,
    extra_manifest: dict | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> int:
    """Parse ``argv``, build the config, run the sweep; returns the exit status (never raises for
    bad input). ``on_result`` (optional) sees the :class:`RunResult` (e.g. to print a summary table),
    except under ``--quiet``."""
    prog = parser.prog
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        args = parser.parse_args(argv)
        config = make_config(args)
        extra = {"argv": argv, **(extra_manifest or {})}
        result = run_sweep(config, cell_fn, figures_fn=figures_fn, extra_manifest=extra, **run_kwargs(args))
        if not args.quiet:
            bad = len(result.invalid_cells)
            redo = f", {bad} of them recomputed because their cache file failed validation" if bad else ""
            _say(
                f"{prog}: {result.n_cells} cells ({result.n_computed} computed{redo}, {result.n_cached} cached), "
                f"{len(result.rows)} rows in {result.wall_time_s:.1f} s -> {result.out_dir}"
            )
        if on_result is not None and not args.quiet:  # --quiet: nothing but errors
            on_result(result)
        return 0

    return guarded(prog, body)
