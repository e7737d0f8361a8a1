"""CSV cells a spreadsheet opens safely (OWASP's CSV injection): text that starts like a formula gets a `'` first.

Two rules. Echoed input (an import's rejected values, an event's evidence) is made inert for
reading only: `neutralise`. Cells a native export writes and its import reads back (`address`,
`sender`) must also survive the round trip, so there a leading `'` gets one more too (`guard`),
and the import takes one off (`unguard`), as a spreadsheet does when it shows a cell.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What `guard` prefixes: a formula's start, and the quote itself, so that unguard gives back what guard was given.
GUARDED_STARTS = (*FORMULA_STARTS, "'")


def neutralise(cell: object) -> object:
    """The cell made inert for spreadsheets: a leading formula character gets a `'` before it."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def guard(cell: str) -> str:
    """`neutralise`, reversibly: a cell that starts like a formula, or with `'`, gets a `'` before it."""
    return "'" + cell if cell.startswith(GUARDED_STARTS) else cell


def unguard(cell: str) -> str:
    """What `guard` was given: one leading `'` taken off."""
    return cell[1:] if cell.startswith("'") else cell
