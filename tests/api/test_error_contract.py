"""The documented contract and the code agree: every error code, every example."""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from stoplist.errors import error_codes

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())


def readme_error_table() -> set[str]:
    section = README.split("### Errors", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"^\| \d{3} \|", line)]
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[2])}


def test_every_error_code_is_in_the_readmes_table_and_nothing_else_is():
    assert readme_error_table() == set(error_codes())


def test_the_committed_openapi_lists_every_error_code():
    assert SPEC["components"]["schemas"]["ErrorBody"]["properties"]["error"]["enum"] == error_codes()


def _examples(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("example", "examples"):
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from _examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item)


def test_every_date_example_in_the_openapi_document_stays_valid_for_decades():
    dates = [example for example in _examples(SPEC) if isinstance(example, str) and re.match(r"^\d{4}-\d{2}-\d{2}", example)]

    assert dates
    horizon = datetime(2090, 1, 1, tzinfo=timezone.utc)
    expiries = [example for example in dates if datetime.fromisoformat(example.replace("Z", "+00:00")).replace(tzinfo=timezone.utc) < horizon]
    # Only moments past by nature (creation times, receipts of opt-outs) may lie in the past; an expire_at example must be accepted at any date.
    assert all(example.startswith("2026-11-22") for example in expiries), expiries


def readme_route_table() -> set[tuple[str, str]]:
    """(method, path) of every route the README's "API in detail" table names, placeholders as `{}`."""
    section = README.split("## The API in detail", 1)[1].split("\n### ", 1)[0]
    named = set()
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\[ ]*)", row.split("|")[1]):
            named.add((method, re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))))
    return named


def test_the_readmes_api_table_names_every_route_and_no_other():
    from stoplist.app import create_app
    from stoplist.config import Settings

    paths = create_app(Settings(database_url="sqlite:///:memory:")).openapi()["paths"]
    routes = {(method.upper(), re.sub(r"\{[^}]*\}", "{}", path)) for path, operations in paths.items() for method in operations}
    # Outside the OpenAPI document: the ops routes, which need no token.
    routes |= {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
    assert readme_route_table() == routes


def _answered_classes():
    from stoplist.errors import StoplistError

    pending, found = [StoplistError], []
    while pending:
        error_class = pending.pop()
        pending.extend(error_class.__subclasses__())
        if error_class.__dict__.get("answered", True):
            found.append(error_class)
    return found


def test_every_documented_code_is_raised_or_mapped_somewhere():
    """The table promises answers: a class nothing raises (a family such as Conflict) must not be in it."""
    from stoplist import errors

    source = "\n".join(path.read_text() for path in (ROOT / "src" / "stoplist").rglob("*.py"))
    mapped = set(errors._HTTP_ERRORS.values())
    for error_class in _answered_classes():
        raised = re.search(rf"(?<!class )\b{error_class.__name__}\(", source) or re.search(rf"raise {error_class.__name__}\b", source)
        assert raised or error_class in mapped, f"{error_class.__name__} ({error_class.code}) is documented but nothing raises it"
