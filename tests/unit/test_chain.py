"""The trail's canonical form (issue 11): body(), written field by field for speed, is exactly
canonical() of the event's fields, for every kind of value an event holds."""

import json

from hypothesis import given
from hypothesis import strategies as st

from stoplist.audit import chain

text = st.one_of(st.none(), st.text(max_size=30))
state = st.one_of(st.none(), st.fixed_dictionaries({"expire_at": text, "reason": text, "note": text}))
summary = st.fixed_dictionaries({"rows": st.integers(0, 10**9), "added": st.integers(0, 10**9)})


@given(
    account=st.integers(1, 10**12), token=st.one_of(st.none(), st.integers(1, 10**12)), at=st.text(max_size=25), source=st.sampled_from(chain.SOURCES),
    job=text, request=text, evidence=text, received=text, seq=st.integers(1, 10**15), op=st.sampled_from(chain.OPS), address=text, kind=text,
    scope=st.one_of(st.none(), st.tuples(st.sampled_from(["block", "allow"]), st.text(max_size=10), st.text(max_size=10))),
    entry_id=st.one_of(st.none(), st.integers(1, 10**15)), before=state, after=st.one_of(state, summary),
)
def test_body_is_the_canonical_json_of_the_events_fields(account, token, at, source, job, request, evidence, received, seq, op, address, kind, scope, entry_id, before, after):
    shared = chain.common(account, at, source=source, token_id=token, job_id=job, request_id=request, evidence=evidence, received_at=received)
    written = chain.body(shared, seq, op, address=address, address_kind=kind, scope=scope, entry_id=entry_id, before=before, after=after)
    fields = chain.fields_of(shared, seq, op, address=address, address_kind=kind, scope=scope, entry_id=entry_id, before=before, after=after)
    assert written == chain.canonical(fields)
    assert json.loads(written) == fields
    assert written.isascii()


def test_the_hash_covers_the_previous_hash_and_the_body():
    assert chain.link("", "{}") == chain.link(chain.GENESIS, "{}")
    assert chain.link("a", "{}") != chain.link("b", "{}")
    assert chain.link("a", '{"x":1}') != chain.link("a", '{"x":2}')
    assert len(chain.link("", "{}")) == 64
