"""Unit tests for stoplist.imports.csv_writer: the CSV the exports and rejected rows are written in."""

import csv
import io

import pytest

from stoplist.imports.csv_format import HEADER
from stoplist.imports.csv_writer import header_text, rows_text, write_rows

# --- write_rows: rejected rows are neutralised against formula injection -----------------------------

REJECTS_HEADER = ("line", "value", "message")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_rejected_value_starting_with_a_formula_character_is_prefixed_with_a_quote(start):
    value = f'{start}HYPERLINK("http://x","y")'
    written = b"".join(write_rows(REJECTS_HEADER, [[(7, value, f"{start}msg")]])).decode()
    assert list(csv.reader(io.StringIO(written, newline=""))) == [list(REJECTS_HEADER), ["7", "'" + value, f"'{start}msg"]]


def test_other_rejected_values_and_the_line_numbers_are_written_as_they_are():
    rejected = [(2, "not a number", "'not a number' is not a valid phone number"), (3, "48 =1", "x"), (4, "", "the phone_number cell is empty")]
    written = b"".join(write_rows(REJECTS_HEADER, [rejected])).decode()
    assert list(csv.reader(io.StringIO(written, newline="")))[1:] == [[str(line), value, message] for line, value, message in rejected]


def test_the_exports_columns_are_written_unchanged():
    row = (-1, "+48500000000", "-", "@x")  # never found in an export, but were they, they would pass as they are
    assert b"".join(write_rows(HEADER, [[row]])) == b"id,phone_number,expire_at,created_at\n-1,+48500000000,-,@x\n"


def test_a_line_break_inside_a_rejected_value_stays_inside_its_row():
    written = b"".join(write_rows(REJECTS_HEADER, [[(2, "a\rb", "c\nd"), (3, "x", "y")]])).decode()
    assert list(csv.reader(io.StringIO(written, newline=""))) == [list(REJECTS_HEADER), ["2", "a\rb", "c\nd"], ["3", "x", "y"]]


def test_rows_text_is_write_rows_without_the_header():
    rejected = [(2, "=1", "bad"), (3, "x", "-y")]
    assert header_text(REJECTS_HEADER) + rows_text(REJECTS_HEADER, rejected) == b"".join(write_rows(REJECTS_HEADER, [rejected])).decode()


# --- the native layout: a note may hold any line break ----------------------------------------------

NATIVE = ("id", "address", "note", "source")


def test_a_row_whose_note_holds_a_carriage_return_has_every_text_cell_quoted_and_the_others_are_left_alone():
    rows = [(1, "48500000001", "a\rb", "api"), (2, "48500000002", "two\nlines", "api"), (3, "48500000003", None, "cli"), (4, "x@example.com", "plain", "api")]

    written = b"".join(write_rows(NATIVE, iter([rows[:2], iter(rows[2:])]))).decode()

    assert written == 'id,address,note,source\n1,"48500000001","a\rb","api"\n2,48500000002,"two\nlines",api\n3,48500000003,,cli\n4,x@example.com,plain,api\n'
    assert list(csv.reader(io.StringIO(written, newline=""))) == [list(NATIVE), *([str(cell or "") for cell in row] for row in rows)]


def test_a_batch_without_a_carriage_return_in_its_notes_is_written_as_any_export():
    rows = [(1, "48500000001", "x\ny", "api"), (2, "48500000002", None, "api")]

    assert rows_text(NATIVE, rows) == rows_text(HEADER, rows)  # HEADER names no note: the plain writer
