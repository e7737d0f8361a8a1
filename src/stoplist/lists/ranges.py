"""The date ranges of every listing, its exports and delete-by-filter, as the routes declare and read them:
`created_after`/`created_before` (VoodooSMS's `start`/`end`), `updated_after`/`updated_before`,
`expire_after`/`expire_before`. Each takes any form stoplist.lists.moments reads."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, NamedTuple

from fastapi import Depends, Query

from stoplist.declared import replaced_by
from stoplist.errors import ConflictingParameters
from stoplist.lists.moments import DESCRIPTION, MAX_TEXT, period
from stoplist.lists.queries import EntryFilter

# What a date parameter is, as the document declares it: text. Which text names a date only reading it can tell.
MOMENT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
MOMENT_BEYOND_SCHEMA = (
    "whether text names a date (a UNIX timestamp, ISO 8601, or an English phrase of words of dates that names one plainly)"
    " no schema can say, nor whether it falls within the years 1000 to 9999, nor whether a lower bound comes before its upper one"
)
ALIASES_CONFLICT = "created_after and start, or created_before and end: two spellings of one parameter, which a list of parameters cannot forbid giving both"


class Bound(NamedTuple):
    """A bound as given: the parameter's name (the spelling used, for messages) and its text."""

    name: str
    text: str


@dataclass(frozen=True)
class DateRanges:
    """The date parameters of a request, as given; read against a moment by `applied`."""

    created_after: Bound | None = None
    created_before: Bound | None = None
    updated_after: Bound | None = None
    updated_before: Bound | None = None
    expire_after: Bound | None = None
    expire_before: Bound | None = None

    def applied(self, where: EntryFilter, now: datetime) -> EntryFilter:
        """`where` bounded by these ranges, phrases read relative to `now`."""
        return replace(
            where,
            created=_period(self.created_after, self.created_before, now),
            updated=_period(self.updated_after, self.updated_before, now),
            expires=_period(self.expire_after, self.expire_before, now),
        )


def _period(after: Bound | None, before: Bound | None, now: datetime):
    names = (after.name if after else "", before.name if before else "")
    return period(after and after.text, before and before.text, names=names, now=now)


def moment_query(description: str):
    """A query parameter that takes a date in any form moments reads."""
    return Query(description=f"{description} {DESCRIPTION}", json_schema_extra=replaced_by(MOMENT_SCHEMA))


_LOWER = "From this moment on (included); a day, month or year from its start."
_UPPER = "Before this moment (excluded); a day, month or year up to its end, included."


def date_ranges(
    created_after: Annotated[str | None, moment_query(f"Entries created at or after it. {_LOWER}")] = None,
    created_before: Annotated[str | None, moment_query(f"Entries created before it. {_UPPER}")] = None,
    start: Annotated[str | None, moment_query("`created_after` as VoodooSMS spells it.")] = None,
    end: Annotated[str | None, moment_query("`created_before` as VoodooSMS spells it.")] = None,
    updated_after: Annotated[str | None, moment_query(f"Entries last changed at or after it. {_LOWER}")] = None,
    updated_before: Annotated[str | None, moment_query(f"Entries last changed before it. {_UPPER}")] = None,
    expire_after: Annotated[str | None, moment_query(f"Entries that expire at or after it, or never. {_LOWER}")] = None,
    expire_before: Annotated[str | None, moment_query(f"Entries that expire before it (never those that never expire). {_UPPER}")] = None,
) -> DateRanges:
    """The date parameters of a request; `start` and `end` are VoodooSMS's spellings, and one parameter given in both is refused."""
    return DateRanges(
        _one("created_after", created_after, "start", start), _one("created_before", created_before, "end", end),
        _one("updated_after", updated_after), _one("updated_before", updated_before),
        _one("expire_after", expire_after), _one("expire_before", expire_before),
    )


def _one(name: str, text: str | None, alias: str | None = None, alias_text: str | None = None) -> Bound | None:
    if text is not None and alias_text is not None:
        raise ConflictingParameters(name, alias)  # type: ignore[arg-type]
    if alias_text is not None:
        return Bound(alias, alias_text)  # type: ignore[arg-type]
    return None if text is None else Bound(name, text)


DateRangesDep = Annotated[DateRanges, Depends(date_ranges)]
