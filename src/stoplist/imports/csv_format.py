"""Blacklist CSV files: checking that an upload is text, then streaming its rows.

Only the structure is read here (which cell holds the number, which the expiry; in the
native layout, which the address and its list's scope); the values themselves are
validated by the blacklist code. Everything
works in constant memory, so an upload of millions of rows is fine.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from stoplist.imports.csv_lines import BLANK, LINE_ENDS, MAX_ROW_CHARS, MAX_VALUE_CHARS, Lines, RowTooLong
from stoplist.spreadsheets import unguard

# The export's header row; a file with it (or without any header) imports back as is.
HEADER = ("id", "phone_number", "expire_at", "created_at")
# The native export's columns (GET /blacklist/entries as CSV, `stoplist export`): every field of an entry but
# address_kind, which its address tells; '' is every channel / every sender.
NATIVE_HEADER = ("id", "address", "channel", "sender", "list", "reason", "note", "source", "expire_at", "created_at", "updated_at")
# The native cells of free text, which the export guards against spreadsheets (stoplist.spreadsheets) and the import unguards.
GUARDED_COLUMNS = frozenset({"address", "sender", "note"})
# Read as written, spaces and all, unless blank: free text, which a round trip gives back exactly (other cells are trimmed).
UNTRIMMED_COLUMNS = frozenset({"note"})

NUMBER_COLUMNS = ("phone_number", "phone", "number", "msisdn")  # in order of preference
# The native layout: a header naming `address` (and no number column). `id` is ignored, as in the
# export's layout; cells of the other columns are read by name. `source`, `created_at` and `updated_at`
# are read for `stoplist import`, which keeps them; the API's import ignores them.
NATIVE_COLUMNS = ("address", "channel", "sender", "list", "reason", "note", "expire_at", "source", "created_at", "updated_at")
# The other names spreadsheets and CRMs give these columns, as _other_name reads a header's names (in lower case, words
# joined by `_`): `Phone Number`, `Mobile`, `E-mail`, `Expires At`. A number column of another name is `phone`, below
# `phone_number` in preference; an e-mail column is `address` (the native layout, whose addresses may be either).
_ALIASES = {
    "phone_no": "phone_number", "mobile_number": "phone_number", "cell_number": "phone_number", "telephone_number": "phone_number",
    "mobile": "phone", "mobile_phone": "phone", "cell": "phone", "cell_phone": "phone", "cellphone": "phone", "telephone": "phone", "tel": "phone",
    "email": "address", "e_mail": "address", "email_address": "address", "e_mail_address": "address",
    "expires_at": "expire_at", "expiry": "expire_at",
}
_NAME_SEPARATORS = re.compile(r"[\s._-]+")
# A first row naming any of these is a header, even one that lacks a number column.
_KNOWN_COLUMNS = frozenset(HEADER) | frozenset(NUMBER_COLUMNS) | {"address"}
# Without a header the cell count says which layout a row has: (number cell, expiry cell).
_LAYOUTS = {1: (0, None), 2: (0, 1), 4: (1, 2)}

MAX_CELL_CHARS = 1024
# A cell that spells a phone number (seven digits or more, with the usual separators), not a date.
_NUMBER_CELL = re.compile(r"^(?![0-9]{4}-[0-9]{2}-[0-9]{2}$)\+?(?:[0-9][ ().\-/]*){7,}$")
# A cell that spells an e-mail address (for the native layout, whose addresses may be either), its at sign
# and dots in any width (lists.addresses reads `＠`, `﹫` and `．` as `@` and `.`).
_EMAIL_CELL = re.compile(r"^[^@＠﹫\s]+[@＠﹫][^@＠﹫\s]+[.．][^@＠﹫\s]+$")

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
class NativeRow:
    """One row of the native layout, as written in the file; None for a missing or empty cell."""

    line: int
    address: str
    expire_at: str | None = None
    channel: str | None = None
    sender: str | None = None
    list: str | None = None
    reason: str | None = None
    note: str | None = None
    source: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    value: str = field(default="", compare=False)  # the row as written, for a rejection


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
                raise NotCsvText("The file is UTF-16 text; save it as UTF-8 and send it again.")
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


def read_rows(stream: BinaryIO) -> Iterator[CsvRow | NativeRow | RowError]:
    """Stream the rows of a blacklist CSV file; a bad row becomes a RowError and the rest still come."""
    # Undecodable bytes become U+FFFD so that they spoil only their own row.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _rows(Lines(text))
    finally:
        text.detach()  # leaves the caller's stream open: closing it is theirs to do


def _rows(lines: Lines) -> Iterator[CsvRow | NativeRow | RowError]:
    delimiter = _delimiter(lines.read_ahead())
    reader = csv.reader(lines, delimiter=delimiter)
    columns: tuple[int, int | None] | None = None
    native: dict[str, int] | None = None  # the native layout's column indexes, when its header says so
    exported_header = False
    # The cells of each row of a native export (its header names id and created_at): its notes may span lines.
    exported_width: int | None = None
    seen_first_row = False
    while True:
        lines.start_row()
        line = lines.count + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except RowTooLong:
            yield _unclosed_quote(line, lines) if lines.continued else RowError(line, lines.value, f"the row is longer than {MAX_ROW_CHARS} characters")
        except csv.Error as exc:
            if lines.continued:
                yield _unclosed_quote(line, lines)
            else:
                yield RowError(line, lines.value, f"the row is not valid CSV ({exc})")
                if lines.count < line:
                    return  # the reader is stuck on this row: reading on would repeat it forever
        else:
            stripped = [cell.strip() for cell in cells]
            if not seen_first_row:
                if lines.continued:
                    # A quote left open in the header must not swallow the first rows: its own line decides.
                    stripped = [cell.strip() for cell in next(csv.reader([lines.first], delimiter=delimiter))]
                native = _native_columns(stripped)
                header = _header_columns(stripped) if native is None else (native["address"], None)
                if header is not None:
                    if lines.continued:
                        lines.resync()
                    columns = header
                    exported_header = {"id", "created_at"} <= {cell.lower() for cell in stripped}
                    exported_width = len(stripped) if native is not None and exported_header and "note" in native else None
                    seen_first_row = True
                    continue
                stripped = [cell.strip() for cell in cells]
            if not any(stripped):
                if not lines.continued:
                    continue
                yield _unclosed_quote(line, lines)
            else:
                # The native layout has a reader of its own, so today's layouts pay nothing for it.
                item = _row(line, cells, stripped, columns, delimiter, exported_header) if native is None else _native_row(line, cells, stripped, native, delimiter)
                spans = lines.continued and ((not lines.at_end and _a_note_across_lines(item, cells, exported_width)) or _may_span_lines(item, lines, delimiter))
                yield _unclosed_quote(line, lines) if lines.continued and not spans else item
        seen_first_row = True


def _delimiter(sample: list[str]) -> str:
    """`;` or `,`: the one the first line with content holds, else the one more of the first lines hold; a tab when
    the first line holds a tab and neither (a file saved as tab-separated text: a number's cell must not take in the
    next column's as digits)."""
    content = [line for line in sample if line.strip(BLANK)]
    if content:
        first = content[0]
        if (";" in first) != ("," in first):
            return ";" if ";" in first else ","
        if "\t" in first.strip(BLANK) and ";" not in first and "," not in first:
            return "\t"
    # Numbers and dates never hold either, so only ignored columns can mislead, and only some lines.
    semicolons = sum(";" in line for line in content)
    commas = sum("," in line for line in content)
    return ";" if semicolons > commas else ","


def _a_note_across_lines(item: CsvRow | NativeRow | RowError, cells: list[str], exported_width: int | None) -> bool:
    """Whether a row of a native export that ran past its line end is kept whole, whatever its note's
    lines look like: the export quotes a note with line breaks as RFC 4180 says, so in a file with
    its header (id, created_at and note among the columns) a row whose note alone breaks lines, and
    that has exactly the header's cells, is one entry (a note that quotes a row of the file must not
    become an entry of its own). A stray quote in such a file leaves the row with too many or too
    few cells, and it is refused, its first line named, as anywhere else."""
    if exported_width is None or not isinstance(item, NativeRow) or len(cells) != exported_width:
        return False
    values = (item.address, item.expire_at, item.channel, item.sender, item.list, item.reason, item.source, item.created_at, item.updated_at)
    return not any(end in value for value in values if value for end in LINE_ENDS)


def _may_span_lines(item: CsvRow | NativeRow | RowError, lines: Lines, delimiter: str) -> bool:
    """Whether a row whose quoted cell ran past its line end is kept whole: only a good row of unbroken
    values, none of whose taken-in lines reads as a row of its own (a cell that is a phone number, or
    in the native layout an e-mail address): two stray quotes must not hide the rows between them inside a note."""
    if lines.at_end or isinstance(item, RowError):
        return False
    if isinstance(item, NativeRow):
        values = (item.address, item.expire_at, item.channel, item.sender, item.list, item.reason, item.source, item.created_at, item.updated_at)
        if any(end in value for value in values if value for end in LINE_ENDS):
            return False
        cells = [cell.strip(' \t"\r\n') for line in lines.taken_in for cell in line.split(delimiter)]
        return not any(_NUMBER_CELL.match(cell) or _EMAIL_CELL.match(cell) for cell in cells)
    if any(end in item.phone_number or end in (item.expire_at or "") for end in LINE_ENDS):
        return False
    return not any(_NUMBER_CELL.match(cell.strip(' \t"\r\n')) for line in lines.taken_in for cell in line.split(delimiter))


def _unclosed_quote(line: int, lines: Lines) -> RowError:
    """Reject just the row's first line and read the lines the open quote took in again, as rows of their own."""
    error = RowError(line, lines.value, 'the row has a quote (") that does not close on its line')
    lines.resync()
    return error


def _names(cells: list[str]) -> list[str]:
    """A header row's column names: its cells in lower case, as the export writes them; only when none of those is a
    known column, its cells as the names spreadsheets give (_other_name). So a header that was read before is read as it
    was (`address,sender,list,Mobile` is the native layout, `Mobile` ignored), and only one no name of which was known
    is read by the other names. Such a header naming both an e-mail column and a number column is refused: the native
    layout holds one address a row, and the e-mail addresses would be dropped without a word."""
    names = [cell.lower() for cell in cells]
    if not _KNOWN_COLUMNS.isdisjoint(names):
        return names
    names = [_other_name(cell) for cell in cells]
    emails = [cell for cell, name in zip(cells, names) if name == "address"]
    numbers = [cell for cell, name in zip(cells, names) if name in NUMBER_COLUMNS]
    if emails and numbers:
        raise CsvFormatError(
            f"The header names an e-mail column ({emails[0]}) and a phone number column ({numbers[0]}): a row holds one address."
            " Import the e-mail addresses and the numbers as two files, or name the column to import `address` (the native layout)."
        )
    return names


def _other_name(cell: str) -> str:
    """A header cell as a column's name: in lower case, its words joined by one `_` (`Phone Number`, `phone-number` and
    ` PHONE_NUMBER ` are `phone_number`), another name of a column as that column's (_ALIASES)."""
    name = _NAME_SEPARATORS.sub("_", cell.strip().lower()).strip("_")
    return _ALIASES.get(name, name)


def _header_columns(cells: list[str]) -> tuple[int, int | None] | None:
    """The (number, expiry) column indexes if the row is a header, else None."""
    names = _names(cells)
    if _KNOWN_COLUMNS.isdisjoint(names):
        return None
    number = next((names.index(name) for name in NUMBER_COLUMNS if name in names), None)
    if number is None:
        # A header that names a column as Stoplist does and another as a spreadsheet does (`Phone Number,expire_at`) is read
        # by the first alone: say which name to write.
        other = next((cell for cell in cells if _other_name(cell) in NUMBER_COLUMNS), None)
        mixed = f" {other} is read as a phone number column only in a header that names no column as Stoplist does: write it phone_number." if other else ""
        raise CsvFormatError(
            f"The header row has no phone number column (phone_number, phone, number or msisdn) "
            f"nor an address column (the native layout); "
            f"it has: {', '.join(cells)}.{mixed}"
        )
    if "expire_at" in names:
        return number, names.index("expire_at")
    # A header naming just the number heads `phone_number[,expire_at]` rows, as no header would.
    return number, 1 if len(names) == 1 else None


def _native_columns(cells: list[str]) -> dict[str, int] | None:
    """The native layout's {column: index} if the row is its header (names `address` and no number column), else None."""
    names = _names(cells)
    if "address" not in names or not frozenset(NUMBER_COLUMNS).isdisjoint(names):
        return None
    # The first column of a name counts, as with the number columns of today's layouts.
    return {name: names.index(name) for name in NATIVE_COLUMNS if name in names}


def _native_row(line: int, cells: list[str], stripped: list[str], columns: dict[str, int], delimiter: str) -> NativeRow | RowError:
    raw = delimiter.join(cells)
    if "\x00" in raw:
        return RowError(line, raw[:MAX_VALUE_CHARS], "the row holds a NUL byte: it is binary data, not text")
    if "\ufffd" in raw:
        return RowError(line, raw[:MAX_VALUE_CHARS], "the row holds bytes that are not UTF-8 text")
    values: dict[str, str | None] = {}
    for name, index in columns.items():
        if index >= len(cells):
            cell = ""  # a missing trailing cell reads as an empty one: every channel, every sender, no expiry
        elif name in UNTRIMMED_COLUMNS and not cells[index].isspace():
            cell = cells[index]
        else:
            cell = stripped[index]
        if len(cell) > MAX_CELL_CHARS:
            return RowError(line, raw[:MAX_VALUE_CHARS], f"the {name} cell is longer than {MAX_CELL_CHARS} characters")
        values[name] = (unguard(cell) if name in GUARDED_COLUMNS else cell) or None
    address = values.pop("address")
    if address is None:
        return RowError(line, raw[:MAX_VALUE_CHARS], "the address cell is empty")
    return NativeRow(line, address, value=raw[:MAX_VALUE_CHARS], **values)  # type: ignore[arg-type]


def _row(
    line: int, cells: list[str], stripped: list[str], columns: tuple[int, int | None] | None, delimiter: str, exported_header: bool
) -> CsvRow | RowError:
    raw = delimiter.join(cells)
    if "\x00" in raw:
        return RowError(line, raw[:MAX_VALUE_CHARS], "the row holds a NUL byte: it is binary data, not text")
    if "\ufffd" in raw:
        return RowError(line, raw[:MAX_VALUE_CHARS], "the row holds bytes that are not UTF-8 text")
    if columns is None:
        layout = _LAYOUTS.get(len(cells))
        if layout is None:
            return RowError(
                line,
                raw[:MAX_VALUE_CHARS],
                "expected 1, 2 or 4 columns (phone_number[,expire_at] or id,phone_number,expire_at,created_at), "
                f"found {len(cells)}",
            )
        number_at, expire_at = layout
    else:
        number_at, expire_at = columns
        if len(cells) <= number_at:
            return RowError(
                line, raw[:MAX_VALUE_CHARS], f"the row has no phone_number cell (column {number_at + 1}), found {len(cells)} columns"
            )
    number = stripped[number_at]
    # A missing trailing expiry cell reads as "never expires", as an empty one does.
    expire = stripped[expire_at] if expire_at is not None and expire_at < len(stripped) else ""
    if not number:
        return RowError(line, raw[:MAX_VALUE_CHARS], "the phone_number cell is empty")
    for name, cell in (("phone_number", number), ("expire_at", expire)):
        if len(cell) > MAX_CELL_CHARS:
            return RowError(line, raw[:MAX_VALUE_CHARS], f"the {name} cell is longer than {MAX_CELL_CHARS} characters")
    exported = exported_header if columns is not None else len(cells) == len(HEADER)
    return CsvRow(line, number, expire or None, exported)
