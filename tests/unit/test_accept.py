"""web.wants_csv: CSV when the Accept header weighs it at least as JSON, by RFC 9110's q-values."""

import pytest

from stoplist.web import wants_csv


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        (None, False),
        ("", False),
        ("application/json", False),
        ("*/*", False),
        ("text/csv", True),
        ("TEXT/CSV; charset=utf-8", True),
        ("text/csv, */*", True),
        ("text/csv, application/json", True),  # a tie: the client named CSV
        ("text/*", True),
        ("text/csv;q=0.1, application/json", False),
        ("application/json;q=0.5, text/csv;q=0.9", True),
        ("text/csv;q=0", False),
        ("text/csv;q=0.5, */*;q=0.9", False),  # */* weighs JSON more
        ("text/csv;q=nan", False),
        ("text/csv;q=2", False),
        ("text/html, application/json", False),
        ("text/plain", False),
    ],
)
def test_csv_only_when_it_weighs_at_least_what_json_does(accept, csv):
    assert wants_csv(accept) is csv
