"""Writing CSV in the dialect the imports read (',' and '\\n'): exports, rejected rows, `stoplist import --rejects`."""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter

from stoplist.spreadsheets import neutralise

# Columns that echo what a user sent: a spreadsheet would run a cell of theirs starting with one of these as a formula.
ECHOED_COLUMNS = frozenset({"value", "message"})
# The column of free text that may hold a carriage return (the native export's note): a row whose cell
# holds one is written with every text cell quoted, the others as usual.
MULTILINE_COLUMN = "note"


def neutralise_rows(header: tuple[str, ...], rows: Iterable) -> list:
    """The rows with their ECHOED_COLUMNS neutralised; other columns as they are."""
    echoed = [index for index, name in enumerate(header) if name in ECHOED_COLUMNS]
    result = []
    for row in rows:
        cells = list(row)
        for index in echoed:
            cells[index] = neutralise(cells[index])
        result.append(cells)
    return result


def write_rows(header: tuple[str, ...], partitions: Iterable[list], *, piece_bytes: int = 0, header_if_empty: bool = True) -> Iterator[bytes]:
    """CSV bytes (this dialect: ',' and '\\n') of `partitions` of rows under `header`, a piece at least
    `piece_bytes` long whenever a partition brings the text that far (every partition with 0), then
    the rest. With `header_if_empty` false, no rows means no bytes at all, not even the header.
    Rows under a header naming ECHOED_COLUMNS are written as rows_text writes them."""
    buffer = io.StringIO()
    write = _row_writer(header, buffer)
    started = header_if_empty
    if started:
        buffer.write(header_text(header))
    for partition in partitions:
        if not started:
            buffer.write(header_text(header))
            started = True
        write(partition)
        if buffer.tell() >= piece_bytes:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def header_text(header: tuple[str, ...]) -> str:
    """The header row as write_rows writes it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    return buffer.getvalue()


def rows_text(header: tuple[str, ...], rows: Iterable) -> str:
    """Rows as write_rows writes them under `header`, without the header row."""
    buffer = io.StringIO()
    _row_writer(header, buffer)(rows)
    return buffer.getvalue()


def _row_writer(header: tuple[str, ...], buffer: io.StringIO) -> Callable[[Iterable], None]:
    # Every text cell quoted: with '\n' line ends the writer would leave a lone CR unquoted, splitting the row.
    quoting = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    if not ECHOED_COLUMNS.isdisjoint(header):
        return lambda rows: quoting.writerows(neutralise_rows(header, rows))
    # An export's cells come from the database ready to write (its text guarded there, see lists.repository).
    plain = csv.writer(buffer, lineterminator="\n")
    if MULTILINE_COLUMN not in header:
        return plain.writerows
    cell = itemgetter(header.index(MULTILINE_COLUMN))

    def write(rows: Iterable) -> None:
        rows = rows if isinstance(rows, list) else list(rows)
        # One pass in C over the batch's cells: a CR is rare, and a test per row in Python would slow every export.
        if "\r" not in "".join(filter(None, map(cell, rows))):
            plain.writerows(rows)
            return
        for row in rows:
            (quoting if "\r" in (cell(row) or "") else plain).writerow(row)

    return write
