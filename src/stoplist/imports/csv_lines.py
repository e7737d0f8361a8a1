"""A CSV upload's physical lines, as csv.reader reads them: counted, each row bounded in memory however
the file is made (no line ends at all, a quote that never closes), and able to give back the lines a
row took in past its first, to be read again."""

import io

# Bounds the memory one row can take, whatever the file holds (e.g. no line ends at all,
# or a quote that never closes); generous enough for exports with many ignored columns.
MAX_ROW_CHARS = 16 * 1024
MAX_VALUE_CHARS = 200
_SKIP_CHARS = 8192
LINE_ENDS = ("\n", "\r")
BLANK = " \t\r\n,;"
# How much of the file's start is looked at to tell the delimiter (a header may hold neither).
_SAMPLE_LINES = 100
_SAMPLE_CHARS = 64 * 1024


class RowTooLong(Exception):
    """Raised through csv.reader to drop a row over MAX_ROW_CHARS without reading it into memory."""


class Lines:
    """The file's physical lines for csv.reader: counted, at most MAX_ROW_CHARS per row, and able to
    give back the lines a row took in past its first, to be read again (see csv_format._unclosed_quote)."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self._replay: list[tuple[str, bool]] = []  # lines to serve before the file's next ones, last first
        self._split_crlf = False
        self._first = ""  # the current row's first line
        self._rest: list[tuple[str, bool]] = []  # the lines the current row took in after its first
        self._used = 0
        self.count = 0  # physical lines read so far, so the next row starts on line count + 1
        self.continued = False  # the current row went on past its first line: a quote open at its end
        self.at_end = False  # ... and reached the end of the file with the quote still open

    @property
    def first(self) -> str:
        """The current row's first line."""
        return self._first

    @property
    def value(self) -> str:
        """The current row's first line, for a RowError."""
        return self._first[:MAX_VALUE_CHARS].rstrip("\r\n")

    def read_ahead(self) -> list[str]:
        """The file's first lines with content (up to _SAMPLE_LINES or _SAMPLE_CHARS), still to be served as rows.

        Lines before them holding only blanks and delimiters are skipped: they are no rows, whichever the delimiter."""
        ahead: list[tuple[str, bool]] = []
        size = 0
        while len(ahead) < _SAMPLE_LINES and size < _SAMPLE_CHARS:
            line, whole = self._read(MAX_ROW_CHARS)
            if not line:
                break
            if not ahead and whole and not line.strip(BLANK):
                self.count += 1  # no row, but it still counts for the line numbers
                continue
            ahead.append((line, whole))
            size += len(line)
        self._replay = ahead[::-1]
        return [line for line, _ in ahead]

    def start_row(self) -> None:
        """Begin a new row."""
        self._first = ""
        if self.continued:
            self.continued = self.at_end = False

    @property
    def taken_in(self) -> list[str]:
        """The lines the current row took in after its first."""
        return [line for line, _ in self._rest]

    def resync(self) -> None:
        """Give back the lines the current row took in after its first: the next row starts on its second line."""
        self._replay.extend(reversed(self._rest))
        self.count -= len(self._rest)
        self._rest = []
        self.continued = self.at_end = False

    def __iter__(self) -> "Lines":
        return self

    def __next__(self) -> str:
        if self._replay:
            line, whole = self._replay.pop()
        else:
            line, whole = self._read(MAX_ROW_CHARS)
            if not line:
                if self._first:
                    self._continue_row()
                    self.at_end = True
                raise StopIteration
        self.count += 1
        if not self._first:
            self._first = line
            if not whole:
                raise RowTooLong
            return line
        # csv.reader asks for more of a row only while a quoted cell is open.
        self._continue_row()
        self._rest.append((line, whole))
        self._used += len(line)
        if not whole or self._used > MAX_ROW_CHARS:
            raise RowTooLong
        return line

    def _continue_row(self) -> None:
        if not self.continued:
            self.continued = True
            self._rest = []
            self._used = len(self._first)

    def _read(self, limit: int) -> tuple[str, bool]:
        """The next physical line and whether it is whole; anything past `limit` is skipped unread."""
        line = self._readline(limit)
        if len(line) < limit or line.endswith(LINE_ENDS):
            return line, True
        while (rest := self._readline(_SKIP_CHARS)) and not rest.endswith(LINE_ENDS):
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
