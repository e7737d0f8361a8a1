"""Blacklist CSV files: checking that an upload is text, then streaming its rows.

Only the structure is read here (which cell holds the number, which the expiry);
the numbers and dates themselves are validated by the blacklist code. Everything
works in constant memory, so an upload of millions of rows is fine.
"""

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

# The export's header row; a file with it (or without any header) imports back as is.
HEADER = ("id", "phone_number", "expire_at", "created_at")

NUMBER_COLUMNS = ("phone_number", "phone", "number", "msisdn")  # in order of preference
# A first row naming any of these is a header, even one that lacks a number column.
_KNOWN_COLUMNS = frozenset(HEADER) | frozenset(NUMBER_COLUMNS)
# Without a header the cell count says which layout a row has: (number cell, expiry cell).
_LAYOUTS = {1: (0, None), 2: (0, 1), 4: (1, 2)}

MAX_CELL_CHARS = 1024
# Bounds the memory one row can take, whatever the file holds (e.g. no line ends at all,
# or a quote that never closes); generous enough for exports with many ignored columns.
MAX_ROW_CHARS = 16 * 1024
MAX_VALUE_CHARS = 200
_SKIP_CHARS = 8192
_LINE_ENDS = ("\n", "\r")


class NotCsvText(Exception):
    """An upload that is not UTF-8 CSV text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsvFormatError(Exception):
    """A CSV file that cannot be imported at all."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One row's number and expiry, as written in the file."""

    line: int
    phone_number: str
    expire_at: str | None
    # In the export's layout: the number is E.164 digits, to be read as international whatever the region.
    exported: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be read; the rows after it still are."""

    line: int
    value: str
    message: str


class UploadChecker:
    """Checks, chunk by chunk as it streams in, that an upload is UTF-8 text and not binary."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._head = b""  # the first byte, held back until a UTF-16 byte order mark can be told apart
        self._checked = 0  # bytes checked so far: the file offset of the next chunk
        self._has_chars = False
        self._has_text = False

    def feed(self, chunk: bytes) -> None:
        """Check the next chunk; raise NotCsvText at the first sign the upload is not text."""
        if self._checked == 0:
            chunk = self._head + chunk
            if len(chunk) < 2:
                self._head = chunk
                return
            self._head = b""
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise NotCsvText("The file is UTF-16 text; save it as UTF-8 and upload it again.")
        self._check(chunk, final=False)

    def close(self) -> None:
        """Check the end of the upload; raise NotCsvText if it ends mid-character or holds no data."""
        self._check(self._head, final=True)
        self._head = b""
        if not self._has_chars:
            raise NotCsvText("The file is empty.")
        if not self._has_text:
            raise NotCsvText("The file is empty: it holds only blank lines and spaces.")

    def _check(self, chunk: bytes, *, final: bool) -> None:
        # Text never holds NUL; binary files (and UTF-16 without a BOM) nearly always do.
        if 0 in chunk:
            raise NotCsvText("The file is binary, not CSV text.")
        # The decoder keeps the start of a character split across chunks; the offset counts from it.
        held_back = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            offset = self._checked - held_back + exc.start
            raise NotCsvText(f"The file is not UTF-8 text (invalid byte at offset {offset}).") from None
        self._checked += len(chunk)
        if not self._has_text and text:
            visible = text.replace("\ufeff", "")
            self._has_chars = self._has_chars or bool(visible)
            self._has_text = bool(visible) and not visible.isspace()


def write_rows(header: tuple[str, ...], partitions: Iterable[list], *, piece_bytes: int = 0, header_if_empty: bool = True) -> Iterator[bytes]:
    """CSV bytes (this dialect: ',' and '\\n') of `partitions` of rows under `header`, a piece at least
    `piece_bytes` long whenever a partition brings the text that far (every partition with 0), then
    the rest. With `header_if_empty` false, no rows means no bytes at all, not even the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    started = header_if_empty
    if started:
        writer.writerow(header)
    for partition in partitions:
        if not started:
            writer.writerow(header)
            started = True
        writer.writerows(partition)
        if buffer.tell() >= piece_bytes:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def read_rows(stream: BinaryIO) -> Iterator[CsvRow | RowError]:
    """Stream the rows of a blacklist CSV file; a bad row becomes a RowError and the rest still come."""
    # Undecodable bytes become U+FFFD so that they spoil only their own row.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _rows(_Lines(text))
    finally:
        text.detach()  # leaves the caller's stream open: closing it is theirs to do


def _rows(lines: "_Lines") -> Iterator[CsvRow | RowError]:
    first = lines.first_content_line()
    if first is None:
        return
    # Numbers and dates never contain either, so the first line tells which one separates cells.
    delimiter = ";" if ";" in first else ","
    reader = csv.reader(lines, delimiter=delimiter)
    columns: tuple[int, int | None] | None = None
    exported_header = False
    seen_first_row = False
    while True:
        lines.start_row()
        line = lines.count + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RowTooLong:
            yield RowError(line, lines.value, f"the row is longer than {MAX_ROW_CHARS} characters")
        except csv.Error as exc:
            yield RowError(line, lines.value, f"the row is not valid CSV ({exc})")
            if lines.count < line:
                return  # the reader is stuck on this row: reading on would repeat it forever
        else:
            stripped = [cell.strip() for cell in cells]
            if not any(stripped):
                continue
            if not seen_first_row:
                columns = _header_columns(stripped)
                if columns is not None:
                    exported_header = {"id", "created_at"} <= {cell.lower() for cell in stripped}
                    seen_first_row = True
                    continue
            yield _row(line, cells, stripped, columns, delimiter, exported_header)
        seen_first_row = True


def _header_columns(cells: list[str]) -> tuple[int, int | None] | None:
    """The (number, expiry) column indexes if the row is a header, else None."""
    names = [cell.lower() for cell in cells]
    if _KNOWN_COLUMNS.isdisjoint(names):
        return None
    number = next((names.index(name) for name in NUMBER_COLUMNS if name in names), None)
    if number is None:
        raise CsvFormatError(
            f"The header row has no phone number column (phone_number, phone, number or msisdn); "
            f"it has: {', '.join(cells)}."
        )
    return number, names.index("expire_at") if "expire_at" in names else None


def _row(
    line: int, cells: list[str], stripped: list[str], columns: tuple[int, int | None] | None, delimiter: str, exported_header: bool
) -> CsvRow | RowError:
    value = delimiter.join(cells)[:MAX_VALUE_CHARS]
    if any("\x00" in cell for cell in cells):
        return RowError(line, value, "the row holds a NUL byte: it is binary data, not text")
    if any("\ufffd" in cell for cell in cells):
        return RowError(line, value, "the row holds bytes that are not UTF-8 text")
    if columns is None:
        layout = _LAYOUTS.get(len(cells))
        if layout is None:
            return RowError(
                line,
                value,
                "expected 1, 2 or 4 columns (phone_number[,expire_at] or id,phone_number,expire_at,created_at), "
                f"found {len(cells)}",
            )
        number_at, expire_at = layout
    else:
        number_at, expire_at = columns
        if len(cells) <= number_at:
            return RowError(
                line, value, f"the row has no phone_number cell (column {number_at + 1}), found {len(cells)} columns"
            )
    number = stripped[number_at]
    # A missing trailing expiry cell reads as "never expires", as an empty one does.
    expire = stripped[expire_at] if expire_at is not None and expire_at < len(stripped) else ""
    if not number:
        return RowError(line, value, "the phone_number cell is empty")
    for name, cell in (("phone_number", number), ("expire_at", expire)):
        if len(cell) > MAX_CELL_CHARS:
            return RowError(line, value, f"the {name} cell is longer than {MAX_CELL_CHARS} characters")
    exported = exported_header if columns is not None else len(cells) == len(HEADER)
    return CsvRow(line, number, expire or None, exported)


class _RowTooLong(Exception):
    """Raised through csv.reader to drop a row over MAX_ROW_CHARS without reading it into memory."""


class _Lines:
    """The file's physical lines for csv.reader: counted, and at most MAX_ROW_CHARS per row."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self._pending: tuple[str, bool] | None = None
        self._split_crlf = False
        self._used = 0
        self.count = 0  # physical lines read so far, so the next row starts on line count + 1
        self._head = ""  # the current row's first characters, to show in a RowError

    @property
    def value(self) -> str:
        """The current row as read so far, for a RowError."""
        return self._head.rstrip("\r\n")

    def first_content_line(self) -> str | None:
        """Peek at the first line holding more than blanks and delimiters; None if there is none."""
        while True:
            line, whole = self._read(MAX_ROW_CHARS)
            if not line:
                return None
            if not whole or line.strip(" \t\r\n,;"):
                self._pending = (line, whole)
                return line
            self.count += 1  # a blank line is no row, but it still counts for the line numbers

    def start_row(self) -> None:
        """Begin a new row's budget."""
        self._used = 0
        self._head = ""

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self._pending is not None:
            (line, whole), self._pending = self._pending, None
        else:
            line, whole = self._read(max(1, MAX_ROW_CHARS - self._used))
            if not line:
                raise StopIteration
        self.count += 1
        self._used += len(line)
        if len(self._head) < MAX_VALUE_CHARS:
            self._head = (self._head + line)[:MAX_VALUE_CHARS]
        if not whole:
            raise _RowTooLong
        return line

    def _read(self, limit: int) -> tuple[str, bool]:
        """The next physical line and whether it is whole; anything past `limit` is skipped unread."""
        line = self._readline(limit)
        if len(line) < limit or line.endswith(_LINE_ENDS):
            return line, True
        while (rest := self._readline(_SKIP_CHARS)) and not rest.endswith(_LINE_ENDS):
            pass
        return line, False

    def _readline(self, limit: int) -> str:
        line = self._text.readline(limit)
        if self._split_crlf:
            self._split_crlf = False
            if line == "\n":  # the rest of a "\r\n" cut in two by the limit: same line end
                line = self._text.readline(limit)
        self._split_crlf = len(line) == limit and line.endswith("\r")
        return line
