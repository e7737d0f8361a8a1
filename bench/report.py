"""The result table, as plain text for the terminal and as Markdown for docs/benchmarks.md."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest

import databases
from harness import Row, Section

COLUMNS = ("Benchmark", "Database", "Measure", "Stoplist", "Baseline", "Ratio", "Target", "Result")


@dataclass(frozen=True)
class RunInfo:
    """What the doc says about the run itself."""

    command: str
    started_at: datetime
    seconds: float
    rows: int
    seed: int
    machine: dict[str, str]


def cells(row: Row, section: Section) -> tuple[str, ...]:
    """One row's table cells, as text."""
    measure = f"{row.measure} ({row.note})" if row.note else row.measure
    baseline = _value(row.baseline, row) if row.needs_baseline() else "—"
    ratio = row.ratio()
    return (
        row.group, _database(section), measure, _value(row.stoplist, row), baseline,
        _ratio(ratio, row.target.ratio_limit), row.target.describe(), _verdict(row.met()),
    )


def table_rows(sections: Sequence[Section]) -> Iterator[tuple[str, ...]]:
    """Every row's cells, each benchmark's databases side by side: its first measure on each database, then its second, …"""
    for name in dict.fromkeys(section.name for section in sections):
        group = [section for section in sections if section.name == name]
        for rows in zip_longest(*(section.rows for section in group)):
            for row, section in zip(rows, group):
                if row is not None:
                    yield cells(row, section)


def text_table(sections: Sequence[Section]) -> str:
    """An aligned plain-text table of every row, with each failed section's reason below it."""
    lines = [[*COLUMNS]] + [[*line] for line in table_rows(sections)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    rendered = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    for section in sections:
        if section.failure:
            where = f" on {_database(section)}" if section.database else ""
            rendered += ["", f"{section.name}{where} FAILED: {section.failure}"]
    return "\n".join(rendered)


def markdown_doc(sections: Sequence[Section], run: RunInfo) -> str:
    """The whole of docs/benchmarks.md for a complete run."""
    parts = [
        "# Benchmarks",
        "",
        "<!-- Written by bench/run.py (`make bench`); rerun it rather than editing this file by hand. -->",
        "",
        f"Measured on {run.started_at:%Y-%m-%d %H:%M} UTC with {run.rows:,} rows (seed {run.seed}); "
        f"the run took {_duration(run.seconds)}. Command, from the repository root:",
        "",
        f"    {run.command}",
        "",
        "Benchmarks are not tests: nothing fails on time. Each Stoplist figure stands next to a bare "
        "baseline measured in the same run on the same machine, and the ratio next to the target it should meet.",
        "",
        "## Results",
        "",
        _markdown_table(COLUMNS, list(table_rows(sections))),
        "",
        "## Databases",
        "",
        databases.METHOD.rstrip(),
        "",
        "## Machine",
        "",
        _markdown_table(("", ""), list(run.machine.items())),
        "",
        "## How each benchmark measures",
    ]
    for section in {section.name: section for section in sections}.values():
        parts += ["", f"### {section.title} (`--only {section.name}`)", "", section.method.rstrip()]
    return "\n".join(parts) + "\n"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _database(section: Section) -> str:
    return databases.LABELS.get(section.database or "", "—")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _value(value: float | None, row: Row) -> str:
    return "not measured" if value is None else f"{value:,.{row.decimals}f} {row.unit}"


def _ratio(ratio: float | None, limit: float | None) -> str:
    """The ratio to 2 decimals, or more where 2 would print the limit itself for a ratio that is not it."""
    if ratio is None:
        return "—"
    if limit is None:
        return f"{ratio:.2f}×"
    for decimals in range(2, 7):
        text = f"{ratio:.{decimals}f}"
        if ratio == limit or float(text) != limit:
            break
    return text + "×"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT MET", None: "—"}[met]
