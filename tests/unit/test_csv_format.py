"""Unit tests for stoplist.imports.csv_format: checking uploads and streaming CSV rows."""

import codecs
import csv
import io
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from stoplist.imports.csv_format import (
    HEADER,
    MAX_CELL_CHARS,
    MAX_ROW_CHARS,
    NATIVE_HEADER,
    CsvFormatError,
    CsvRow,
    NativeRow,
    NotCsvText,
    RowError,
    UploadChecker,
    read_rows,
)

BOM = codecs.BOM_UTF8


def rows(data: bytes) -> list[CsvRow | NativeRow | RowError]:
    return list(read_rows(io.BytesIO(data)))


def check(*chunks: bytes) -> None:
    checker = UploadChecker()
    for chunk in chunks:
        checker.feed(chunk)
    checker.close()


def rejection(*chunks: bytes) -> str:
    with pytest.raises(NotCsvText) as caught:
        check(*chunks)
    assert str(caught.value) == caught.value.message
    return caught.value.message


def split_at(data: bytes, *cuts: int) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[start:end] for start, end in zip(bounds, bounds[1:])]


# --- UploadChecker -----------------------------------------------------------------------------

LATIN = "phone_number,expire_at\n48500000000,2030-01-01\n# Łódź, żółć\n".encode()
# ł is 2 bytes, € 3, 🙂 4: every split point inside each of them must be fine.
MIXED = "48500000000,ł€🙂\n".encode()


def test_utf8_text_in_one_chunk_passes():
    check(LATIN)


@pytest.mark.parametrize("cut", range(len(MIXED) + 1))
def test_a_character_split_across_two_chunks_at_any_byte_passes(cut):
    check(*split_at(MIXED, cut))


def test_utf8_fed_one_byte_at_a_time_passes():
    data = BOM + MIXED + LATIN
    check(*(data[i : i + 1] for i in range(len(data))))


@pytest.mark.parametrize("cut", range(len(BOM) + 1))
def test_a_utf8_bom_at_the_start_is_allowed_even_split_across_chunks(cut):
    check(*split_at(BOM + b"48500000000\n", cut))


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 10_000])
def test_invalid_utf8_is_rejected_with_the_offset_of_the_bad_byte(chunk_size):
    data = b"48500000000\n" * 100 + b"48\xff500000000\n"
    bad = data.index(b"\xff")
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    assert rejection(*chunks) == f"The file is not UTF-8 text (invalid byte at offset {bad})."


@pytest.mark.parametrize("cut", [1, 2])
def test_a_broken_character_split_across_chunks_is_reported_at_its_first_byte(cut):
    data = b"ab" + "€".encode()[:2] + b"c\n"  # a 3-byte character missing its last byte
    assert rejection(*split_at(data, 2 + cut)) == "The file is not UTF-8 text (invalid byte at offset 2)."


def test_a_latin1_file_is_not_utf8():
    assert rejection("48500000000,Łódź\n".encode("cp1250")) == "The file is not UTF-8 text (invalid byte at offset 12)."


def test_a_file_ending_mid_character_is_rejected_on_close():
    assert rejection(b"48500000000,\xc5") == "The file is not UTF-8 text (invalid byte at offset 12)."


@pytest.mark.parametrize("data", [b"48500000000\n\x0048500000001\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"])
def test_a_nul_byte_means_a_binary_file(data):
    assert rejection(data) == "The file is binary, not CSV text."


def test_a_nul_byte_in_a_later_chunk_is_found():
    assert rejection(b"48500000000\n" * 10, b"485\x00") == "The file is binary, not CSV text."


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("chunk_size", [1, 4096])
def test_utf16_with_a_bom_is_rejected_asking_for_utf8(encoding, chunk_size):
    data = "phone_number\n48500000000\n".encode(encoding)
    if encoding != "utf-16":
        data = ("\ufeff" + "phone_number\n").encode(encoding)
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    message = rejection(*chunks)
    assert "UTF-16" in message and "UTF-8" in message


def test_utf16_without_a_bom_is_rejected_as_binary():
    assert rejection("48500000000\n".encode("utf-16-le")) == "The file is binary, not CSV text."


@pytest.mark.parametrize("chunks", [(), (b"",), (b"", b"")])
def test_an_empty_upload_is_rejected(chunks):
    assert rejection(*chunks) == "The file is empty."


@pytest.mark.parametrize("chunks", [(BOM,), (BOM[:1], BOM[1:]), (BOM[:2], b"", BOM[2:])])
def test_an_upload_of_only_a_bom_is_empty(chunks):
    assert rejection(*chunks) == "The file is empty."


@pytest.mark.parametrize("chunks", [(b" ",), (b"\r\n\r\n", b"  \t\n"), (BOM, b"\n\n")])
def test_an_upload_of_only_whitespace_is_empty(chunks):
    assert rejection(*chunks).startswith("The file is empty")


def test_a_single_character_upload_passes():
    check(b"1")


# --- read_rows: encodings, line ends, delimiters -------------------------------------------------

EXPECTED = [CsvRow(1, "48500000000", "2030-01-01"), CsvRow(2, "48500000001", None)]


@pytest.mark.parametrize("bom", [b"", BOM], ids=["no-bom", "bom"])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("final_newline", [True, False], ids=["final-newline", "no-final-newline"])
@pytest.mark.parametrize("delimiter", [b",", b";"])
def test_rows_read_alike_whatever_the_bom_line_ends_and_delimiter(bom, newline, final_newline, delimiter):
    data = bom + b"48500000000" + delimiter + b"2030-01-01" + newline + b"48500000001" + delimiter
    assert rows(data + (newline if final_newline else b"")) == EXPECTED


def test_a_semicolon_in_the_first_line_makes_it_the_delimiter():
    assert rows(b"48500000000;2030-01-01\n48500000001;\n") == EXPECTED


def test_without_a_semicolon_in_the_first_line_commas_separate_cells():
    # the first line decides: a later semicolon is just part of a cell
    assert rows(b"48500000000,2030-01-01\n48500000001;x\n") == [
        CsvRow(1, "48500000000", "2030-01-01"),
        CsvRow(2, "48500000001;x", None),
    ]


def test_the_delimiter_is_taken_from_the_first_line_with_content():
    assert rows(b"\n  \n,,\n48500000000;2030-01-01\n") == [CsvRow(4, "48500000000", "2030-01-01")]


@pytest.mark.parametrize("delimiter", [";", ","])
def test_under_a_one_column_header_the_rows_tell_the_delimiter_and_a_second_cell_is_the_expiry(delimiter):
    data = f"phone_number\n+48500100001{delimiter}2031-01-01\n+48500100002\n+48500100003{delimiter}\n".encode()
    assert rows(data) == [
        CsvRow(2, "+48500100001", "2031-01-01"),
        CsvRow(3, "+48500100002", None),
        CsvRow(4, "+48500100003", None),
    ]


def test_a_first_line_of_one_cell_leaves_the_delimiter_to_the_lines_after_it():
    assert rows(b"48500000000\n48500000001;2030-01-01\n") == [CsvRow(1, "48500000000", None), CsvRow(2, "48500000001", "2030-01-01")]


@pytest.mark.parametrize("delimiter, other", [(";", ","), (",", ";")])
def test_a_first_line_holding_both_lets_the_most_lines_decide(delimiter, other):
    data = f'48500000000{delimiter}"Doe{other} Jane"\n48500000001{delimiter}2030-01-01\n'.encode()
    assert rows(data) == [CsvRow(1, "48500000000", f"Doe{other} Jane"), CsvRow(2, "48500000001", "2030-01-01")]


def test_the_delimiter_is_told_from_the_start_of_the_file_only():
    # past the sample, rows are read with the delimiter already chosen
    data = b"phone_number\n" + b"48500000000\n" * 200 + b"48500000001;2030-01-01\n"
    assert rows(data)[-1] == CsvRow(202, "48500000001;2030-01-01", None)


def test_a_bom_is_not_part_of_the_first_cell():
    assert rows(BOM + b"phone_number\n48500000000\n") == [CsvRow(2, "48500000000", None)]


def test_old_mac_line_ends_count_as_lines():
    assert rows(b"48500000000\r48500000001\r") == [CsvRow(1, "48500000000", None), CsvRow(2, "48500000001", None)]


def test_an_empty_or_blank_file_has_no_rows():
    assert rows(b"") == []
    assert rows(BOM) == []
    assert rows(b"\n\r\n  \n;;\n") == []


# --- read_rows: headers ------------------------------------------------------------------------


def test_the_export_header_maps_the_columns_by_name():
    data = b"id,phone_number,expire_at,created_at\n7,48500000000,2030-01-01T00:00:00Z,2026-01-01T10:00:00Z\n8,48500000001,,2026-01-02T10:00:00Z\n"
    assert rows(data) == [CsvRow(2, "48500000000", "2030-01-01T00:00:00Z"), CsvRow(3, "48500000001", None)]


def test_the_header_constant_is_the_export_layout():
    assert HEADER == ("id", "phone_number", "expire_at", "created_at")
    data = (",".join(HEADER) + "\n1,48500000000,2030-01-01,2026-01-01\n").encode()
    assert rows(data) == [CsvRow(2, "48500000000", "2030-01-01")]


def test_header_columns_may_come_in_any_order_with_extra_columns_ignored():
    data = b"Name;Expire_At ; created_at;  PHONE_NUMBER ;notes\nAnna;2030-01-01;2026-01-01;48500000000;x;y\n"
    assert rows(data) == [CsvRow(2, "48500000000", "2030-01-01")]


@pytest.mark.parametrize("name", ["phone_number", "phone", "number", "msisdn", "MSISDN", " Phone "])
def test_the_number_column_may_go_by_several_names(name):
    assert rows(f"{name},expire_at\n48500000000,2030-01-01\n".encode()) == [CsvRow(2, "48500000000", "2030-01-01")]


def test_phone_number_wins_over_other_number_column_names():
    assert rows(b"number,phone_number\n1,48500000000\n") == [CsvRow(2, "48500000000", None)]


def test_a_header_without_an_expiry_column_gives_rows_that_never_expire():
    assert rows(b"phone\n48500000000\n48500000001\n") == [
        CsvRow(2, "48500000000", None),
        CsvRow(3, "48500000001", None),
    ]


@pytest.mark.parametrize("header", [b"id,expire_at,created_at", b"expire_at", b"ID;Expire_at;name"])
def test_a_header_without_a_number_column_cannot_be_imported(header):
    with pytest.raises(CsvFormatError) as caught:
        rows(header + b"\n48500000000,2030-01-01\n")
    message = caught.value.message
    assert str(caught.value) == message
    assert "phone_number" in message and "msisdn" in message
    found = header.decode().replace(";", ",").split(",")
    assert all(name in message for name in found)


def test_a_header_is_only_looked_for_in_the_first_row():
    assert rows(b"48500000000\nphone_number\n") == [CsvRow(1, "48500000000", None), CsvRow(2, "phone_number", None)]


def test_blank_lines_before_the_header_still_count():
    assert rows(b"\n\nphone_number\n48500000000\n") == [CsvRow(4, "48500000000", None)]


def test_a_row_too_short_for_the_number_column_is_an_error_and_reading_goes_on():
    data = b"id,created_at,phone_number,expire_at\n1,2026-01-01\n2,2026-01-01,48500000000\n"
    assert rows(data) == [
        RowError(2, "1,2026-01-01", "the row has no phone_number cell (column 3), found 2 columns"),
        CsvRow(3, "48500000000", None),
    ]


# --- read_rows: rows without a header ------------------------------------------------------------


def test_one_cell_is_the_number():
    assert rows(b"48500000000\n") == [CsvRow(1, "48500000000", None)]


def test_two_cells_are_the_number_and_the_expiry():
    assert rows(b"48500000000,2030-01-01T10:00:00+02:00\n") == [CsvRow(1, "48500000000", "2030-01-01T10:00:00+02:00")]


def test_four_cells_are_the_export_layout():
    assert rows(b"7,48500000000,2030-01-01,2026-01-01\n8,48500000001,,2026-01-01\n") == [
        CsvRow(1, "48500000000", "2030-01-01"),
        CsvRow(2, "48500000001", None),
    ]


def test_layouts_may_be_mixed_row_by_row():
    assert rows(b"48500000000\n48500000001,2030-01-01\n9,48500000002,,x\n") == [
        CsvRow(1, "48500000000", None),
        CsvRow(2, "48500000001", "2030-01-01"),
        CsvRow(3, "48500000002", None),
    ]


@pytest.mark.parametrize("cells", [3, 5, 9])
def test_other_cell_counts_are_row_errors_and_the_following_rows_still_come(cells):
    bad = ",".join(["48500000000"] * cells)
    assert rows(f"48500000001\n{bad}\n48500000002,2030-01-01\n".encode()) == [
        CsvRow(1, "48500000001", None),
        RowError(
            2,
            bad,
            "expected 1, 2 or 4 columns (phone_number[,expire_at] or id,phone_number,expire_at,created_at), "
            f"found {cells}",
        ),
        CsvRow(3, "48500000002", "2030-01-01"),
    ]


def test_an_empty_number_cell_is_a_row_error():
    assert rows(b"7,,2030-01-01,x\n , 2030-01-01\n") == [
        RowError(1, "7,,2030-01-01,x", "the phone_number cell is empty"),
        RowError(2, " , 2030-01-01", "the phone_number cell is empty"),
    ]


# --- read_rows: cells and line numbers ---------------------------------------------------------


def test_cells_are_stripped_and_an_empty_expiry_means_none():
    assert rows(b"  48500000000 ;  \t \n\t48500000001\t; 2030-01-01 \n") == [
        CsvRow(1, "48500000000", None),
        CsvRow(2, "48500000001", "2030-01-01"),
    ]


def test_quoted_cells_are_read_as_usual():
    assert rows(b'"48500000000","2030-01-01"\n" 48500000001 ",""\n"485,000","a ""b"""\n') == [
        CsvRow(1, "48500000000", "2030-01-01"),
        CsvRow(2, "48500000001", None),
        CsvRow(3, "485,000", 'a "b"'),
    ]
    assert rows(b'"48500000000";"2030-01-01"\n"485;000";"x"\n') == [
        CsvRow(1, "48500000000", "2030-01-01"),
        CsvRow(2, "485;000", "x"),
    ]


def test_blank_lines_are_skipped_but_line_numbers_stay_physical():
    data = b"\n48500000000\n\n   \n,,\n , ,\n48500000001\r\n\r\n48500000002"
    assert rows(data) == [
        CsvRow(2, "48500000000", None),
        CsvRow(7, "48500000001", None),
        CsvRow(9, "48500000002", None),
    ]


def test_a_multi_line_quoted_cell_of_an_ignored_column_keeps_the_line_the_row_starts_on():
    data = b'phone_number,note,expire_at\n48500000000,"a note\nspanning\nthree lines",2030-01-01\n48500000001,x,y\n48500000002\n'
    assert rows(data) == [
        CsvRow(2, "48500000000", "2030-01-01"),
        CsvRow(5, "48500000001", "y"),
        CsvRow(6, "48500000002", None),
    ]


UNCLOSED = 'the row has a quote (") that does not close on its line'


def test_a_quote_spanning_lines_into_a_used_cell_rejects_only_the_line_it_opens_on():
    data = b'48500000000,"2030-01-01\nspans\nthree lines"\n48500000001,x,y\n48500000002\n'
    assert rows(data) == [
        RowError(1, '48500000000,"2030-01-01', UNCLOSED),
        CsvRow(2, "spans", None),
        CsvRow(3, 'three lines"', None),  # a quote inside an unquoted cell is a plain character
        RowError(4, "48500000001,x,y", "expected 1, 2 or 4 columns (phone_number[,expire_at] or id,phone_number,expire_at,created_at), found 3"),
        CsvRow(5, "48500000002", None),
    ]


def test_one_stray_quote_before_2000_rows_rejects_its_line_only():
    data = b'phone_number,expire_at\n"+48500100001\n' + b"".join(f"+48{500100002 + i},2031-01-01\n".encode() for i in range(2000))
    [error, *after] = rows(data)
    assert error == RowError(2, '"+48500100001', UNCLOSED)
    assert after == [CsvRow(3 + i, f"+48{500100002 + i}", "2031-01-01") for i in range(2000)]


def test_a_stray_quote_closed_lines_later_by_another_rejects_only_its_own_line():
    data = b'48500000000\n"48500000001\n48500000002\n48500000003"\n48500000004\n'
    assert rows(data) == [
        CsvRow(1, "48500000000", None),
        RowError(2, '"48500000001', UNCLOSED),
        CsvRow(3, "48500000002", None),
        CsvRow(4, '48500000003"', None),
        CsvRow(5, "48500000004", None),
    ]


@pytest.mark.parametrize("end", [b"\n", b""], ids=["line-end", "no-line-end"])
def test_a_quote_still_open_at_the_end_of_the_file_rejects_its_line(end):
    assert rows(b'48500000000\n"48500000001\n48500000002' + end) == [
        CsvRow(1, "48500000000", None),
        RowError(2, '"48500000001', UNCLOSED),
        CsvRow(3, "48500000002", None),
    ]
    assert rows(b'48500000000\n"48500000001' + end) == [CsvRow(1, "48500000000", None), RowError(2, '"48500000001', UNCLOSED)]


def test_quotes_inside_unquoted_cells_are_plain_characters():
    assert rows(b'48 "500" 000000,x\n4850000"0001\n') == [CsvRow(1, '48 "500" 000000', "x"), CsvRow(2, '4850000"0001', None)]


def test_a_quote_that_never_closes_rejects_its_line_and_reading_resumes_on_the_next():
    data = b'48500000000\n"48500000001\n' + b"4\n" * MAX_ROW_CHARS
    [row, error, *after] = rows(data)
    assert row == CsvRow(1, "48500000000", None)
    assert error == RowError(2, '"48500000001', UNCLOSED)
    assert after == [CsvRow(line, "4", None) for line in range(3, MAX_ROW_CHARS + 3)]


def test_an_open_quote_in_an_ignored_column_that_never_closes_rejects_its_line_only():
    data = b'phone_number,note\n48500000000,"no end\n' + b"48500000001,x\n" * 2000
    [error, *after] = rows(data)
    assert error == RowError(2, '48500000000,"no end', UNCLOSED)
    assert after == [CsvRow(line, "48500000001", None) for line in range(3, 2003)]


def test_an_open_quote_in_the_header_keeps_the_header_and_every_row():
    assert rows(b'phone_number,expire_at,"note\n48500000000,2030-01-01\n48500000001\n') == [
        CsvRow(2, "48500000000", "2030-01-01"),
        CsvRow(3, "48500000001", None),
    ]


def test_an_open_quote_before_a_header_name_still_finds_the_column_on_the_header_line():
    assert rows(b'phone_number,"expire_at\n48500000000,2030-01-01\n48500000001\n') == [
        CsvRow(2, "48500000000", "2030-01-01"),
        CsvRow(3, "48500000001", None),
    ]


def test_a_rejected_first_line_is_a_row_so_the_next_line_is_no_header():
    assert rows(b'"48500000000\nphone_number\n48500000001\n') == [
        RowError(1, '"48500000000', UNCLOSED),
        CsvRow(2, "phone_number", None),
        CsvRow(3, "48500000001", None),
    ]


def test_many_stray_quotes_each_cost_only_their_own_line():
    data = b"".join(b'"4850000%04d\n' % i if i % 3 == 0 else b"4850000%04d\n" % i for i in range(300))
    result = rows(data)
    assert len(result) == 300
    assert [item.line for item in result if isinstance(item, RowError)] == [i + 1 for i in range(0, 300, 3)]
    assert all(isinstance(item, CsvRow) for item in result if (item.line - 1) % 3)


def test_a_row_error_shows_the_row_rejoined_with_its_delimiter_and_capped_at_200_characters():
    long = "x" * 300
    [error] = rows(f'"a";"b";"{long}"\n'.encode())
    assert isinstance(error, RowError)
    assert error.value == ("a;b;" + long)[:200]


def test_an_overlong_cell_is_a_row_error_and_reading_goes_on():
    data = b"4" * (MAX_CELL_CHARS + 1) + b",2030-01-01\n48500000000,2\xc3\xb3" + b"0" * MAX_CELL_CHARS + b"\n48500000001\n"
    [number_error, expiry_error, row] = rows(data)
    assert number_error == RowError(1, "4" * 200, f"the phone_number cell is longer than {MAX_CELL_CHARS} characters")
    assert (expiry_error.line, expiry_error.message) == (2, f"the expire_at cell is longer than {MAX_CELL_CHARS} characters")
    assert row == CsvRow(3, "48500000001", None)


def test_an_overlong_ignored_column_does_not_spoil_the_row():
    notes = "n" * (MAX_CELL_CHARS * 4)
    assert rows(f"phone_number,notes\n48500000000,{notes}\n".encode()) == [CsvRow(2, "48500000000", None)]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_an_overlong_line_is_skipped_as_a_row_error(newline):
    data = b"48500000000" + newline + b"9" * (MAX_ROW_CHARS * 3) + newline + b"48500000001" + newline
    assert rows(data) == [
        CsvRow(1, "48500000000", None),
        RowError(2, "9" * 200, f"the row is longer than {MAX_ROW_CHARS} characters"),
        CsvRow(3, "48500000001", None),
    ]


def test_an_overlong_first_line_is_a_row_error():
    assert rows(b";" + b"9" * MAX_ROW_CHARS + b"\n48500000000;x\n") == [
        RowError(1, ";" + "9" * 199, f"the row is longer than {MAX_ROW_CHARS} characters"),
        CsvRow(2, "48500000000", "x"),
    ]


@pytest.mark.parametrize("length", [MAX_ROW_CHARS - 2, MAX_ROW_CHARS - 1, MAX_ROW_CHARS])
def test_a_crlf_at_the_row_budget_edge_still_ends_just_one_line(length):
    line = b"1" + b" " * (length - 2) + b"\r\n"  # `length` characters in all
    assert rows(line + b"48500000000\r\n") == [CsvRow(1, "1", None), CsvRow(2, "48500000000", None)]


@pytest.fixture
def tiny_csv_field_limit() -> Iterator[int]:
    old = csv.field_size_limit(20)
    yield 20
    csv.field_size_limit(old)


def test_a_csv_module_error_is_a_row_error_and_reading_goes_on(tiny_csv_field_limit):
    data = b"48500000000\n" + b"1" * (tiny_csv_field_limit + 1) + b",x\n48500000001\n"
    [first, error, last] = rows(data)
    assert (first, last) == (CsvRow(1, "48500000000", None), CsvRow(3, "48500000001", None))
    assert error.line == 2 and error.message.startswith("the row is not valid CSV (field larger than field limit")
    assert error.value == "1" * (tiny_csv_field_limit + 1) + ",x"


def test_a_nul_byte_spoils_only_its_row():
    assert rows(b"485\x0000000000\n48500000001\n") == [
        RowError(1, "485\x0000000000", "the row holds a NUL byte: it is binary data, not text"),
        CsvRow(2, "48500000001", None),
    ]


def test_bytes_that_are_not_utf8_spoil_only_their_row():
    assert rows(b"48500000000\n4850000\xff0001\n48500000002\n") == [
        CsvRow(1, "48500000000", None),
        RowError(2, "4850000\ufffd0001", "the row holds bytes that are not UTF-8 text"),
        CsvRow(3, "48500000002", None),
    ]


def test_numbers_and_dates_are_passed_on_unvalidated():
    assert rows(b"not a number,not a date\n") == [CsvRow(1, "not a number", "not a date")]


def test_reading_leaves_the_callers_stream_open():
    stream = io.BytesIO(b"48500000000\n")
    assert list(read_rows(stream)) == [CsvRow(1, "48500000000", None)]
    assert not stream.closed
    stopped_early = io.BytesIO(b"48500000000\n48500000001\n")
    iterator = read_rows(stopped_early)
    next(iterator)
    iterator.close()
    assert not stopped_early.closed


# --- read_rows: constant memory ------------------------------------------------------------------


class GeneratedCsv(io.RawIOBase):
    """A CSV file made up on demand, `lines` lines long, never held in memory whole."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines = lines
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while len(self._buffer) < len(target):
            line = next(self._lines, None)
            if line is None:
                break
            self._buffer += line
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def peak_memory_while_reading(stream: io.BufferedReader) -> tuple[int, int, CsvRow | RowError | None]:
    count, last = 0, None
    tracemalloc.start()
    try:
        for last in read_rows(stream):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, count, last


def test_reading_200000_rows_takes_constant_memory():
    total = 200_000
    lines = (f"{i},{48500000000 + i},2030-01-01T00:00:00Z,2026-01-01T00:00:00Z\r\n".encode() for i in range(total))
    header = iter([(",".join(HEADER) + "\r\n").encode()])
    stream = io.BufferedReader(GeneratedCsv(_chain(header, lines)))
    peak, count, last = peak_memory_while_reading(stream)
    assert count == total
    assert last == CsvRow(total + 1, str(48500000000 + total - 1), "2030-01-01T00:00:00Z")
    assert peak < 2 * 1024 * 1024  # the file itself is ~14 MB


def test_a_huge_line_without_line_ends_takes_constant_memory():
    size = 32 * 1024 * 1024
    chunks = (b"9" * 65536 for _ in range(size // 65536))
    stream = io.BufferedReader(GeneratedCsv(_chain(chunks, iter([b"\n48500000000\n"]))))
    peak, count, last = peak_memory_while_reading(stream)
    assert (count, last) == (2, CsvRow(2, "48500000000", None))
    assert peak < 2 * 1024 * 1024


def _chain(*parts: Iterator[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


def test_rows_in_the_exports_layout_are_marked_as_e164_and_others_are_not():
    exported_with_header = list(read_rows(io.BytesIO(b"id,phone_number,expire_at,created_at\n7,48500000000,,2026-11-25T10:00:00Z\n")))
    exported_without_header = list(read_rows(io.BytesIO(b"7,48500000000,,2026-11-25T10:00:00Z\n")))
    plain = list(read_rows(io.BytesIO(b"phone_number,expire_at\n48500000000,\n500000000\n")))

    assert [row.exported for row in exported_with_header + exported_without_header] == [True, True]
    assert [row.exported for row in plain] == [False, False]


def test_two_stray_quotes_never_hide_the_numbers_between_them_in_a_note():
    data = b'phone_number,note\n48500000001,"abc\n48500000002,x\n48500000003,y"\n48500000004,z\n'

    found = rows(data)

    assert [item.line for item in found if isinstance(item, RowError)] == [2]
    assert [item.phone_number for item in found if isinstance(item, CsvRow)] == ["48500000002", "48500000003", "48500000004"]


def test_a_note_over_several_lines_without_a_number_of_its_own_is_one_row():
    data = b'phone_number,note\n48500000001,"a note\nover two lines, with a comma, 12 apples"\n48500000004,z\n'

    assert rows(data) == [CsvRow(2, "48500000001", None), CsvRow(4, "48500000004", None)]


# --- read_rows: the native layout (a header naming `address`) ---------------------------------------


def test_the_native_exports_header_reads_every_column_but_id():
    header = ",".join(NATIVE_HEADER).encode()
    data = header + (
        b'\n7,48500000001,sms,"Shop, Inc.",allow,STOP_KEYWORD,asked twice,api,2031-01-01T00:00:00Z,2026-11-25T10:00:00Z,2026-11-26T10:00:00Z'
        b"\n8,jan@example.com,,,block,manual,,import,,2026-11-25T10:00:00Z,2026-11-25T10:00:00Z\n"
    )

    assert rows(data) == [
        NativeRow(
            2, "48500000001", "2031-01-01T00:00:00Z", "sms", "Shop, Inc.", "allow", "STOP_KEYWORD", "asked twice", "api",
            "2026-11-25T10:00:00Z", "2026-11-26T10:00:00Z",
        ),
        NativeRow(3, "jan@example.com", None, None, None, "block", "manual", None, "import", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"),
    ]


def test_an_old_native_export_without_note_source_and_updated_at_still_reads():
    data = b"id,address,channel,sender,list,reason,expire_at,created_at\n7,48500000001,sms,ACME,allow,bounce,,2026-11-25T10:00:00Z\n"

    assert rows(data) == [NativeRow(2, "48500000001", None, "sms", "ACME", "allow", "bounce", created_at="2026-11-25T10:00:00Z")]


def test_a_native_note_is_read_as_written_spaces_included_and_unguarded_once():
    data = b"address,note,sender\n48500000001, two  spaces ,  ACME  \n48500000002,'=1+2\n48500000003,''x\n48500000004,   \n"

    assert [(row.note, row.sender) for row in rows(data)] == [(" two  spaces ", "ACME"), ("=1+2", None), ("'x", None), (None, None)]


def test_native_columns_are_found_by_name_in_any_order_and_case_and_others_are_ignored():
    data = b"Note;REASON;extra;Address;Channel\nasked twice;bounce;x;jan@example.com;EMAIL\n"

    assert rows(data) == [NativeRow(2, "jan@example.com", channel="EMAIL", reason="bounce", note="asked twice")]


def test_missing_or_empty_native_cells_read_as_none():
    assert rows(b"address,channel,sender,list,reason,note,expire_at\n48500000001\n48500000002, , ,,,,\n") == [
        NativeRow(2, "48500000001"), NativeRow(3, "48500000002"),
    ]


def test_a_native_row_keeps_its_text_for_the_rejection():
    [row] = rows(b"address;channel\n 48500000001 ;fax\n")
    assert (row.value, row.address, row.channel) == (" 48500000001 ;fax", "48500000001", "fax")


def test_a_native_row_without_an_address_is_a_row_error():
    assert rows(b"channel,address\nsms,\nsms\n48500000001,x\n") == [
        RowError(2, "sms,", "the address cell is empty"),
        RowError(3, "sms", "the address cell is empty"),
        NativeRow(4, "x", channel="48500000001"),
    ]


def test_an_overlong_native_cell_is_a_row_error():
    long = "x" * (MAX_CELL_CHARS + 1)
    [error, good] = rows(f"address,sender\n48500000001,{long}\n48500000002,ACME\n".encode())

    assert isinstance(error, RowError) and error.message == f"the sender cell is longer than {MAX_CELL_CHARS} characters"
    assert good == NativeRow(3, "48500000002", sender="ACME")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # What spreadsheets and CRMs name the columns: found by name, in any case, words joined by spaces, - or _.
        (b"Phone Number,Name\n48500500001,John\n", [CsvRow(2, "48500500001", None)]),
        (b"\xef\xbb\xbfPhone Number;Expire At\n48500500001;2031-01-01\n", [CsvRow(2, "48500500001", "2031-01-01")]),
        (b"Mobile,First,Last\n48500500001,Jan,Nowak\n", [CsvRow(2, "48500500001", None)]),
        (b"Tel.,Expires At\n48500500001,2031-01-01\n", [CsvRow(2, "48500500001", "2031-01-01")]),
        (b"phone-number\n48500500001\n", [CsvRow(2, "48500500001", None)]),
        (b"Name,E-mail\nJan,jan@example.com\n", [NativeRow(2, "jan@example.com")]),
        (b"Email Address\njan@example.com\n", [NativeRow(2, "jan@example.com")]),
    ],
)
def test_a_header_of_other_names_for_the_columns_is_read_by_them(data, expected):
    assert rows(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Headers that named a known column are read as they were: the other names are read only when none is known.
        (b"address,sender,list,Mobile\n48500000001,ACME,allow,48500000009\n", [NativeRow(2, "48500000001", sender="ACME", list="allow")]),
        (b"address,reason,Tel\n48500000001,bounce,48500000009\n", [NativeRow(2, "48500000001", reason="bounce")]),
        # Only Stoplist's own export (`id` and `created_at`, as written) reads bare digits as international.
        (b"Id,Phone,Created at\n1,508412345,2026-01-01\n", [CsvRow(2, "508412345", None)]),
    ],
)
def test_a_header_read_before_is_read_as_it_was(data, expected):
    assert rows(data) == expected


def test_a_header_of_both_namings_is_read_by_stoplists_and_the_error_says_which_name_to_write():
    with pytest.raises(CsvFormatError) as caught:
        rows(b"Phone Number,expire_at\n48500000001,2031-01-01\n")
    assert "Phone Number is read as a phone number column only in a header that names no column as Stoplist does" in caught.value.message


@pytest.mark.parametrize("header", [b"Email,Mobile", b"Phone Number;E-mail", b"Name,Email Address,Cell"])
def test_a_header_of_an_email_column_and_a_number_column_is_refused_rather_than_one_dropped(header):
    with pytest.raises(CsvFormatError, match="a row holds one address"):
        rows(header + b"\njan@example.com,500000001\n")


def test_a_header_naming_a_number_column_and_address_keeps_todays_layout():
    assert rows(b"address,phone_number\nWarsaw,48500000001\n") == [CsvRow(2, "48500000001", None)]


def test_a_header_naming_neither_a_number_nor_an_address_is_refused():
    with pytest.raises(CsvFormatError, match="nor an address column"):
        rows(b"id,name\n1,x\n")


def test_a_native_note_may_span_lines_but_never_hides_rows_of_either_kind():
    spanning = b'address,note\njan@example.com,"a note\nover two lines"\n48500000004,z\n'
    hiding = b'address,note\n48500000001,"abc\nanna@example.com,x\n48500000003,y"\n'

    assert rows(spanning) == [NativeRow(2, "jan@example.com", note="a note\nover two lines"), NativeRow(4, "48500000004", note="z")]
    found = rows(hiding)
    assert [item.line for item in found if isinstance(item, RowError)] == [2]
    assert [item.address for item in found if isinstance(item, NativeRow)] == ["anna@example.com", '48500000003']


@pytest.mark.parametrize("address", ["anna@example.com", "anna＠example.com", "ａｎｎａ﹫ｅｘａｍｐｌｅ．ｃｏｍ"])
def test_a_native_note_never_hides_an_email_address_in_any_width(address):
    found = rows(f'address,note\n48500000001,"abc\n{address},x"\n'.encode())

    assert [item.line for item in found if isinstance(item, RowError)] == [2]
    assert [item.address for item in found if isinstance(item, NativeRow)] == [address]


def test_a_line_break_in_a_native_scope_cell_rejects_the_row():
    found = rows(b'address,sender\n48500000001,"AC\nME"\n48500000002,x\n')

    assert isinstance(found[0], RowError) and found[0].line == 2
    assert found[-1] == NativeRow(4, "48500000002", sender="x")


def test_every_other_name_the_readme_gives_a_column_is_read_as_it():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    said = readme[readme.index("and other names (`Mobile`") :].split("for the native", 1)[0]
    names = re.findall(r"`([^`]+)`", said)
    assert len(names) == 11, names
    for name in names:
        if "mail" in name:
            assert rows(f"{name}\njan@example.com\n".encode()) == [NativeRow(2, "jan@example.com")], name
        elif "Exp" in name:
            assert rows(f"Phone Number,{name}\n48500500001,2031-01-01\n".encode()) == [CsvRow(2, "48500500001", "2031-01-01")], name
        else:
            assert rows(f"{name}\n48500500001\n".encode()) == [CsvRow(2, "48500500001", None)], name
