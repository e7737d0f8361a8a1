"""The spreadsheet guards of CSV cells: what they make inert, and that a guarded cell reads back exactly."""

import pytest

from stoplist.spreadsheets import FORMULA_STARTS, guard, neutralise, unguard

CELLS = ["", "ACME", "48500000001", "jan@example.com", "'", "''", "'quoted", "a'b", *(start + "1+2" for start in FORMULA_STARTS)]


@pytest.mark.parametrize("cell", CELLS)
def test_a_guarded_cell_never_starts_a_formula_and_unguards_to_itself(cell):
    assert not guard(cell).startswith(FORMULA_STARTS)
    assert unguard(guard(cell)) == cell


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_formula_gets_one_quote_in_front_both_ways(start):
    assert guard(start + "SUM(1)") == neutralise(start + "SUM(1)") == "'" + start + "SUM(1)"


def test_only_guard_quotes_a_leading_quote_and_only_unguard_takes_one_off():
    assert (guard("'x"), neutralise("'x")) == ("''x", "'x")
    assert (unguard("''x"), unguard("'x"), unguard("x")) == ("'x", "x", "x")
    assert (guard("ACME"), neutralise(12)) == ("ACME", 12)
