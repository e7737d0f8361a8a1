"""Property-based fuzzing of a live server against the committed OpenAPI document, every check on."""

from datetime import timedelta

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from schemathesis.engine.errors import is_inconsistent_replay

from tests.fuzz import semantic
from tests.fuzz.conftest import EXAMPLES, SEED, SPEC, STATEFUL_EXAMPLES, Target

pytestmark = [pytest.mark.e2e]

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
    # Every built-in check, and no answer slower than this. positive_data_acceptance runs as
    # semantic.positive_data_acceptance_beyond_schema, which excuses the codes the spec lists under x-semantic-errors.
    # 413 is a refusal too: the operations that answer it document it (too many numbers, a body over its limit).
    "checks": {
        "enabled": True,
        "max_response_time": 5.0,
        "positive_data_acceptance": {"enabled": False},
        # Runs as semantic.negative_data_rejection_as_sent: the request as sent, less what x-accepted-beyond-schema lists.
        "negative_data_rejection": {"enabled": False, "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]},
    },
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
    # An entry's history outlives the entry by design ("every event of an entry, deleted or not"): reading
    # it after a DELETE of the entry is what it is for, not a use after free.
    "operations": [{"include-path-regex": "/\\{entry_id\\}/history$", "checks": {"use_after_free": {"enabled": False}}}],
    "request-timeout": 30,
})
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)

# A feed read may wait up to 30 s for an event, by design. Valid waits the fuzzer draws are cut to
# 0.2 s before the call, so that cases stay quick and within max_response_time (tests/audit times
# real waits); waits outside the documented range go as drawn, to be refused.
MAX_FUZZED_WAIT = 0.2


# Headers that frame the HTTP message, which the client writes: a case that sets them (`content-length: I`)
# sends a request the HTTP server refuses itself, in plain text, before Stoplist sees it (as the README says).
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "connection"})


@schemathesis.hook
def before_call(ctx, case: schemathesis.Case, **kwargs) -> None:
    for name in [name for name in case.headers or {} if name.lower() in FRAMING_HEADERS]:
        del case.headers[name]
    if case.operation.path != "/blacklist/changes" or "wait" not in (case.query or {}):
        return
    # The coverage phase may give the parameter as a list (`?wait=30.0` either way on the wire).
    drawn = case.query["wait"]
    case.query["wait"] = [_shortened(value) for value in drawn] if isinstance(drawn, list) else _shortened(drawn)


def _shortened(wait):
    """A valid wait cut to MAX_FUZZED_WAIT; anything else as drawn, to be refused."""
    number = wait
    # Some phases give the value as the text that is sent (`"29"`), which the server reads as a number too.
    if isinstance(wait, str):
        if not wait.isascii():
            return wait  # float() reads '٥' and '５'; the server refuses them
        try:
            number = float(wait)
        except ValueError:
            return wait
    if isinstance(number, (int, float)) and not isinstance(number, bool) and 0 <= number <= 30:
        return min(number, MAX_FUZZED_WAIT)
    return wait


# Registered by importing it; named here so the replacement is visible where the checks are chosen.
ADDED_CHECKS = [semantic.positive_data_acceptance_beyond_schema, semantic.negative_data_rejection_as_sent]

# Fresh sessions a stateful run may start when the server's state changes what a replay draws.
STATEFUL_SESSIONS = 3

# A hung request fails the case instead of stalling the suite.
DEADLINE = timedelta(seconds=20)


@schema.parametrize()
@hypothesis.settings(deadline=DEADLINE)
def test_operation(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(base_url=target.base_url, headers=target.headers)


def test_stateful(target: Target) -> None:
    """Sequences linked through the ids the server hands out (created entries, imports, files)."""

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            return {"base_url": target.base_url, "headers": target.headers}

    settings = hypothesis.settings(
        max_examples=STATEFUL_EXAMPLES, deadline=DEADLINE, database=None, derandomize=False,
        stateful_step_count=6, suppress_health_check=list(hypothesis.HealthCheck),
    )
    # Steps draw from what the server answered, and the server's state moves on: when Hypothesis replays
    # a scenario and it draws otherwise, that is no finding. Schemathesis's own runner starts a fresh
    # session then, and so does this, a few times at most; a check that fails still fails the test.
    for attempt in range(STATEFUL_SESSIONS):
        try:
            Workflow.run(settings=settings)
            return
        except Exception as error:
            if not (isinstance(error, hypothesis.errors.FlakyStrategyDefinition) or is_inconsistent_replay(error)) or attempt == STATEFUL_SESSIONS - 1:
                raise
            print(f"the server's state changed what a replayed scenario drew; fuzzing on in a fresh session ({error.__class__.__name__})")


def test_both_wrappers_run_in_place_of_the_builtin_checks() -> None:
    """Custom checks run when the top level enables every check; the built-ins they wrap are off, so nothing runs twice or unexcused."""
    from schemathesis.checks import CHECKS

    config = schema.config.checks_config_for(operation=schema["/blacklist/entries"]["GET"], phase=None)
    enabled = {check.__name__ for check in CHECKS.get_all() if not isinstance(check, type) and config.get_by_name(name=check.__name__).enabled}
    assert {check.__name__ for check in ADDED_CHECKS} <= enabled
    assert not {"positive_data_acceptance", "negative_data_rejection"} & enabled


def test_an_entrys_history_alone_is_read_after_the_entry_is_deleted() -> None:
    """use_after_free is off for the histories of entries, which outlive them, and on everywhere else."""
    for path, operations in schema.raw_schema["paths"].items():
        for method in operations:
            enabled = schema.config.checks_config_for(operation=schema[path][method.upper()], phase=None).use_after_free.enabled
            assert enabled != path.endswith("/{entry_id}/history"), f"{method.upper()} {path}"
