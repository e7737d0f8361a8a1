"""`make bench`: measure Stoplist against bare baselines, print the table, rewrite docs/benchmarks.md.

Each benchmark is a sibling module listed in BENCHMARKS (see harness.py for what it exposes),
run once per database (--databases; default: SQLite, then PostgreSQL in a throwaway cluster
that the run starts and removes). The doc is rewritten only by a run of the whole suite on both
databases in which every figure was measured, at the default row count unless --doc says otherwise. A target not met is a result; a benchmark that
could not measure is a failure (exit status 1).
"""

import argparse
import importlib.util
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules, however run.py is started

# Checked here to explain its absence in one line, before the modules that use it are imported.
if importlib.util.find_spec("psutil") is None:
    sys.exit("bench needs psutil to sample the server's memory: .venv/bin/python -m pip install psutil")

import audit
import batch
import check
import databases
import filters
import import_export
import machine_info
import report
import search
from harness import BenchmarkFailed, Config, Section, say

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BENCHMARKS: dict[str, ModuleType] = {module.NAME: module for module in (import_export, check, search, audit, filters, batch)}
DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 20261125


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: which benchmarks, how many rows, and what to keep."""
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"rows to import and export (default {DEFAULT_ROWS:,})")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(sorted(BENCHMARKS))}")
    parser.add_argument("--databases", type=_database_list, default=databases.ALL, metavar="LIST",
                        help=f"comma-separated databases to run each benchmark on, in order (default: {','.join(databases.ALL)})")
    parser.add_argument("--baseline-only", action="store_true", help="measure the bare baselines only (once: they need no database); start no server")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for the generated numbers")
    parser.add_argument("--doc", action=argparse.BooleanOptionalAction,
                        help=f"--no-doc: never rewrite {DOC.relative_to(ROOT)}; --doc: rewrite it after a complete run"
                             f" even with --rows other than {DEFAULT_ROWS:,} (default: only then)")
    parser.add_argument("--workdir", type=Path, help="where to make the run's temporary directory (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep the run's files (data, databases, exports, server logs)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    return args


def _database_list(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip().lower() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in databases.ALL]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(databases.ALL)}; got {text!r}")
    return names


def run_benchmark(module: ModuleType, config: Config, database: str, *, debug: bool) -> Section:
    """Run one benchmark module on one database; a failure is recorded in its section, never raised."""
    section = Section(name=module.NAME, title=module.TITLE, method=module.METHOD, database=None if config.baseline_only else database)
    say(f"--- {module.NAME}" + ("" if config.baseline_only else f" on {databases.LABELS[database]}"))
    try:
        module.measure(config, section, database)
    except BenchmarkFailed as exc:
        section.failure = str(exc)
    except Exception as exc:  # a bug in the harness, or an answer it did not foresee
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (rerun with --debug for the traceback)"
        section.failure = f"unexpected {type(exc).__name__}: {exc}{hint}"
    if section.failure:
        say(f"{module.NAME}{'' if config.baseline_only else ' on ' + databases.LABELS[database]} failed; the reason follows the table")
    return section


def reason_not_to_write(args: argparse.Namespace, sections: list[Section]) -> str | None:
    """Why this run must not rewrite the doc, or None when it should."""
    if args.doc is False:
        return "--no-doc"
    if args.only:
        return "--only ran part of the suite"
    if args.baseline_only:
        return "--baseline-only measured no Stoplist figures"
    if set(args.databases) != set(databases.ALL):
        return "--databases ran part of the suite"
    if any(section.failure for section in sections):
        return "a benchmark failed, so the run is incomplete"
    if not all(section.complete() for section in sections):
        return "some figures were not measured"
    if args.rows != DEFAULT_ROWS and not args.doc:
        return f"--rows {args.rows:,} is a smoke run (add --doc to write it anyway)"
    return None


def command_line() -> str:
    """The command this run was started with, relative to the repository root where possible."""
    words = [_relative(Path(sys.executable)), _relative(Path(sys.argv[0]).resolve()), *sys.argv[1:]]
    command = shlex.join(words)
    return f"make bench  # which ran: {command}" if os.environ.get("MAKELEVEL") else command


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def run_all(args: argparse.Namespace, stores: databases.Databases, machine: dict[str, str]) -> list[Section] | None:
    """Run the selected benchmarks on the selected databases in a temporary work directory; None if interrupted.

    Adds what it learns of the PostgreSQL server, if it started one, to `machine`; stops it at the end.
    """
    workdir = Path(tempfile.mkdtemp(prefix="stoplist-bench-", dir=args.workdir))
    config = Config(rows=args.rows, seed=args.seed, workdir=workdir, databases=stores, baseline_only=args.baseline_only)
    # The baselines need no database: with --baseline-only, each benchmark runs once.
    turns = args.databases[:1] if args.baseline_only else args.databases
    try:
        sections = [run_benchmark(BENCHMARKS[name], config, database, debug=args.debug)
                    for name in dict.fromkeys(args.only or BENCHMARKS) for database in turns]
        machine.update(stores.describe())
        return sections
    except KeyboardInterrupt:
        say("interrupted; nothing written")
        return None
    finally:
        stores.close()
        if args.keep:
            say(f"kept the run's files in {workdir} (not the PostgreSQL cluster: it is always removed)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def write_doc(sections: list[Section], run: report.RunInfo) -> None:
    """Replace docs/benchmarks.md with this run's results."""
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(report.markdown_doc(sections, run))
    say(f"rewrote {DOC.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the table, and rewrite the doc if the run is complete."""
    args = parse_args(argv)
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    load_at_start = machine_info.load_average()
    say(f"load average at start: {load_at_start} (other work on this machine skews the timings)")
    other_cpu = machine_info.OtherCpuUse()
    postgres: dict[str, str] = {}
    stores = databases.Databases()
    sections = run_all(args, stores, postgres)
    if sections is None:
        return 130
    print(report.text_table(sections))
    other_cpu_use = other_cpu.describe(own_elsewhere=stores.cpu_used)
    say(f"CPU used by other processes during the run: {other_cpu_use}")
    failed = any(section.failure for section in sections)
    if failed and not args.keep:
        say("rerun with --keep to keep the run's files, server logs included")
    reason = reason_not_to_write(args, sections)
    if reason:
        say(f"{DOC.relative_to(ROOT)} not rewritten: {reason}")
    else:
        machine = {**machine_info.describe(), **postgres, "Load average at start": load_at_start,
                   "CPU used by other processes during the run": other_cpu_use}
        write_doc(sections, report.RunInfo(command=command_line(), started_at=started_at, seconds=time.perf_counter() - started,
                                           rows=args.rows, seed=args.seed, machine=machine))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
