"""PostgreSQL probes an address through the unique index (account, address, list) whatever its statistics say of the
account: an account's entries added since the last ANALYZE (its first import, a subuser's) are what it believes holds
one entry, and seeing the account's id it probed that account's entries in created_at order for each address, filtering
on it (an import's second batch of 40,000 took minutes, and its job was taken over as lost). Each probe statement is
EXPLAINed for such an account."""

import json

import pytest
from sqlalchemy.engine import make_url

from stoplist.db import create_db_engine, create_session_factory, raw
from stoplist.lists import queries
from stoplist.testing.lists import numbered_account

UNIQUE = "uq_blacklist_entries_account_id_address_list_id"
PROBES = {
    "an import's or a batch's lookup": (queries.known_unnest, {}),
    "a bulk check": (queries.live_addresses_unnest, {"now": "2026-12-01T00:00:00"}),
}


@pytest.mark.parametrize("probe", PROBES)
def test_an_address_is_probed_through_the_unique_index_for_an_account_the_statistics_have_not_seen(database_url, probe):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite's planner reads no statistics it has not been given (ANALYZE is never run on it)")
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    try:
        numbered_account(factory, "seen", 20_000)
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE blacklist_entries")
            connection.commit()
        unseen = numbered_account(factory, "unseen", 5_000)

        query, parameters = PROBES[probe]
        statement = raw(query, "psycopg")[0]
        addresses = json.dumps([f"4850{index:07d}" for index in range(4_000, 4_100)])
        with engine.connect() as connection:
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, {"addresses": addresses, "account": unseen, **parameters}))
        assert UNIQUE in plan and "ix_blacklist_entries_account_created" not in plan and "Seq Scan on blacklist_entries" not in plan, plan
    finally:
        engine.dispose()
