"""The fuzzer's two checks are on and can fail: each excuses what the spec lists, and nothing more.

Each test fuzzes one operation of a copy of the committed spec, made looser or stricter than the
server on one parameter, against a live server: the check must catch the difference, and must let
it pass once the copy lists it with a reason, as the committed spec lists its own deviations.
"""

import copy
import json

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.fuzz import semantic
from tests.fuzz.conftest import SPEC, Target

# The checks are what is tested, not the database: SQLite alone keeps the server start to one.
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("target", ["sqlite"], indirect=True)]

DOC = json.loads(SPEC.read_text())
EXAMPLES = 15


def failures(document: dict, path: str, mode: GenerationMode, check, target: Target) -> list[FailureGroup]:
    """The failures of `check` over a few cases of GET `path` generated in `mode`."""
    operation = schemathesis.openapi.from_dict(document)[path]["GET"]
    failed: list[FailureGroup] = []

    @hypothesis.settings(
        max_examples=EXAMPLES, phases=[hypothesis.Phase.generate], database=None, deadline=None, derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    # The token is given, not generated: a negated Authorization header would never be sent.
    @hypothesis.given(operation.as_strategy(generation_mode=mode, headers=target.headers))
    def run(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(base_url=target.base_url, headers=target.headers, checks=[check])
        except FailureGroup as failure:
            failed.append(failure)

    run()
    return failed


def only_q(path: str, schema: dict, **marks: dict) -> dict:
    """A copy of the spec whose GET `path` takes only `q`, of `schema`, with `marks` in place of its own."""
    document = copy.deepcopy(DOC)
    operation = document["paths"][path]["get"]
    operation["parameters"] = [{"name": "q", "in": "query", "required": False, "schema": schema}]
    for mark in (semantic.MARK, semantic.ACCEPTED):
        operation.pop(mark, None)
    operation.update(marks)
    return document


def test_valid_input_refused_fails_the_positive_check_unless_its_code_is_marked(target: Target) -> None:
    """A `q` of any text is looser than the server, which answers invalid_query to what is no part of a number."""
    loose = only_q("/blacklist/phone_numbers", {"type": "string", "minLength": 1})
    assert failures(loose, "/blacklist/phone_numbers", GenerationMode.POSITIVE, semantic.positive_data_acceptance_beyond_schema, target)

    marked = only_q("/blacklist/phone_numbers", {"type": "string", "minLength": 1}, **{semantic.MARK: {"invalid_query": "any text, in this copy"}})
    assert not failures(marked, "/blacklist/phone_numbers", GenerationMode.POSITIVE, semantic.positive_data_acceptance_beyond_schema, target)


def test_invalid_input_accepted_fails_the_negative_check_unless_its_name_is_listed(target: Target) -> None:
    """An empty `q` only is stricter than the server, which searches for any text with a letter in it."""
    strict = only_q("/blacklist/entries", {"type": "string", "maxLength": 0})
    assert failures(strict, "/blacklist/entries", GenerationMode.NEGATIVE, semantic.negative_data_rejection_as_sent, target)

    listed = only_q("/blacklist/entries", {"type": "string", "maxLength": 0}, **{semantic.ACCEPTED: {"q": "any text, in this copy"}})
    assert not failures(listed, "/blacklist/entries", GenerationMode.NEGATIVE, semantic.negative_data_rejection_as_sent, target)


def test_the_committed_spec_passes_both_checks_on_the_parameters_it_now_declares(target: Target) -> None:
    """`q` of SMSAPI's listing is declared exactly: its invalid_query is no longer excused there."""
    operation = DOC["paths"]["/blacklist/phone_numbers"]["get"]
    assert "invalid_query" not in operation.get(semantic.MARK, {})
    exact = only_q("/blacklist/phone_numbers", next(p["schema"] for p in operation["parameters"] if p["name"] == "q"))
    for mode, check in ((GenerationMode.POSITIVE, semantic.positive_data_acceptance_beyond_schema), (GenerationMode.NEGATIVE, semantic.negative_data_rejection_as_sent)):
        assert not failures(exact, "/blacklist/phone_numbers", mode, check, target), mode
