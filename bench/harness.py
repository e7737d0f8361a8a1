"""What every benchmark module shares: the run's settings, result rows and targets, failures, progress.

A benchmark module exposes NAME, TITLE, METHOD (Markdown for the doc) and
`measure(config, section, database)`, which adds Rows to the Section as it measures them and
raises BenchmarkFailed when it cannot go on. It is called once per database of the run
("sqlite", "postgresql"), each time with a Section of its own. Rows declared but never measured
show as "not measured", so a failure keeps whatever was measured before it.
"""

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataset

if TYPE_CHECKING:  # databases imports this module
    from databases import Database, Databases

MB = 1_000_000


def _ratio(row: "Row") -> float | None:
    return None if row.stoplist is None or not row.baseline else row.stoplist / row.baseline


class BenchmarkFailed(Exception):
    """A benchmark could not measure what it set out to; the message says why, in a sentence."""


@dataclass(frozen=True)
class _Times:
    """Stoplist's figure against `limit` times the baseline's, measured in the same run (`of`: what the baseline is)."""

    limit: float
    of: str = "baseline"

    @property
    def ratio_limit(self) -> float:
        return self.limit

    def compares(self) -> bool:
        return True

    def ratio(self, row: "Row") -> float | None:
        return _ratio(row)

    def met(self, row: "Row") -> bool | None:
        ratio = self.ratio(row)
        return None if ratio is None else self.within(ratio)

    def within(self, ratio: float) -> bool:
        raise NotImplementedError


class AtMostTimes(_Times):
    """Stoplist's figure may be at most `limit` times the baseline's (for times: lower is better)."""

    def describe(self) -> str:
        return f"≤ {self.limit:g}× {self.of}"

    def within(self, ratio: float) -> bool:
        return ratio <= self.limit


class AtLeastTimes(_Times):
    """Stoplist's figure must be at least `limit` times the baseline's (for rates: higher is better)."""

    def describe(self) -> str:
        return f"≥ {self.limit:g}× {self.of}"

    def within(self, ratio: float) -> bool:
        return ratio >= self.limit


@dataclass(frozen=True)
class Below:
    """Stoplist's figure must stay under an absolute cap, such as a memory budget.

    With `baseline`, a baseline is measured too and shown with the ratio, for reading only: the cap alone judges.
    """

    limit: float
    unit: str
    baseline: bool = False
    ratio_limit = None  # the cap judges Stoplist's figure, not the ratio

    def describe(self) -> str:
        return f"< {self.limit:g} {self.unit}"

    def ratio(self, row: "Row") -> float | None:
        return _ratio(row) if self.baseline else None

    def compares(self) -> bool:
        return self.baseline

    def met(self, row: "Row") -> bool | None:
        return None if row.stoplist is None else row.stoplist < self.limit


@dataclass(frozen=True)
class Reported:
    """No target: Stoplist's figure is shown next to the baseline's, with their ratio, and judged by no one.

    Without `baseline`, the figure stands alone: it describes the run (how many entries a search matched, say).
    """

    baseline: bool = True
    ratio_limit = None

    def describe(self) -> str:
        return "none (reported)"

    def compares(self) -> bool:
        return self.baseline

    def ratio(self, row: "Row") -> float | None:
        return _ratio(row) if self.baseline else None

    def met(self, row: "Row") -> bool | None:
        return None


# A target tells its own text for the table, whether the row has a baseline, the ratio it shows
# (if any) and the ratio it is held to (if any), and whether a row meets it.
Target = AtMostTimes | AtLeastTimes | Below | Reported


@dataclass
class Row:
    """One measured quantity next to its target; figures stay None until measured."""

    group: str
    measure: str
    unit: str
    target: Target
    decimals: int = 2
    stoplist: float | None = None
    baseline: float | None = None
    note: str = ""

    def ratio(self) -> float | None:
        """Stoplist's figure over the baseline's, for targets that compare the two."""
        return self.target.ratio(self)

    def met(self) -> bool | None:
        """Whether the target is met; None while a figure is missing."""
        return self.target.met(self)

    def needs_baseline(self) -> bool:
        """Whether this row compares with a baseline (a cap does not, unless asked to)."""
        return self.target.compares()

    def measured(self) -> bool:
        """Whether every figure the row needs is there."""
        return self.stoplist is not None and (self.baseline is not None or not self.needs_baseline())


@dataclass
class Section:
    """What one benchmark module measured: its rows, and why it stopped if it failed."""

    name: str
    title: str
    method: str
    database: str | None = None  # "sqlite" or "postgresql"; None where no server ran (--baseline-only)
    rows: list[Row] = field(default_factory=list)
    failure: str | None = None

    def add(self, row: Row) -> Row:
        """Declare a row (before measuring it, so that a failure shows it as not measured)."""
        self.rows.append(row)
        return row

    def complete(self) -> bool:
        """No failure, and every row measured."""
        return self.failure is None and all(row.measured() for row in self.rows)


@dataclass
class Config:
    """One run's settings, and the numbers file it generates once and shares between benchmarks."""

    rows: int
    seed: int
    workdir: Path
    databases: "Databases"
    baseline_only: bool = False
    against: str | None = None  # the commit check-ab measures the current code against (None: its own default)
    # Figures measured once per run and shared by every database's rows (the import/export baselines).
    shared: dict[str, Any] = field(default_factory=dict)
    _numbers_csv: Path | None = None

    def numbers_csv(self) -> Path:
        """The run's CSV of `rows` distinct valid numbers, generated on first use (not timed)."""
        if self._numbers_csv is None:
            path = self.workdir / "numbers.csv"
            with step(f"generating {self.rows:,} distinct valid numbers (seed {self.seed})"):
                dataset.write_numbers_csv(path, count=self.rows, seed=self.seed)
            self._numbers_csv = path
        return self._numbers_csv

    def fresh_database(self, kind: str, name: str, directory: Path) -> "Database":
        """A new, empty database of `kind` for one benchmark; hand it back with `release_database`."""
        return self.databases.fresh(kind, name, directory)

    def release_database(self, database: "Database") -> None:
        self.databases.release(database)

    def directory(self, name: str) -> Path:
        """A fresh directory for one benchmark's files, inside the run's work directory."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=False)
        return path


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def say(message: str) -> None:
    """Progress, on stderr so that stdout holds only the result table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(label: str) -> Iterator[None]:
    """Announce an untimed step and how long it took."""
    say(f"{label} …")
    started = time.perf_counter()
    yield
    say(f"{label}: {time.perf_counter() - started:.1f} s")
