"""The jobs gauges, on an app without a worker so that queued jobs stay queued."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from stoplist.config import Settings
from stoplist.db import transaction
from stoplist.jobs.models import FAILED, Job

IMPORTS = "/blacklist/phone_numbers/imports"
CSV = "phone_number\n+48500000001\n+48500000002\n"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, serve_worker=False)


def queue_import(client, auth) -> str:
    response = client.post(IMPORTS, content=CSV, headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def fail(app, job_id: str, finished_at: datetime) -> None:
    with transaction(app.state.session_factory) as session:
        session.execute(update(Job).where(Job.id == job_id).values(status=FAILED, finished_at=finished_at, error_code="test"))


def test_every_kind_and_status_is_reported_even_at_zero(scrape):
    scraped = scrape()

    for kind in ("import", "export"):
        for status in ("queued", "running", "done", "failed"):
            assert scraped.value("stoplist_jobs", kind=kind, status=status) == 0
        assert scraped.value("stoplist_jobs_oldest_queued_age_seconds", kind=kind) == 0
        assert scraped.value("stoplist_jobs_failed_last_hour", kind=kind) == 0


def test_a_queued_import_shows_as_queue_depth_and_queue_age(client, auth, scrape):
    queue_import(client, auth)
    queue_import(client, auth)

    scraped = scrape()

    assert scraped.value("stoplist_jobs", kind="import", status="queued") == 2
    assert scraped.value("stoplist_jobs", kind="import", status="running") == 0
    assert 0 <= scraped.value("stoplist_jobs_oldest_queued_age_seconds", kind="import") < 60
    assert scraped.value("stoplist_jobs_oldest_queued_age_seconds", kind="export") == 0


def test_failed_jobs_show_in_the_jobs_gauge_and_recent_ones_in_the_last_hour(client, auth, app, scrape):
    now = datetime.now(timezone.utc)
    fail(app, queue_import(client, auth), now - timedelta(minutes=5))
    fail(app, queue_import(client, auth), now - timedelta(hours=2))

    scraped = scrape()

    assert scraped.value("stoplist_jobs", kind="import", status="failed") == 2
    assert scraped.value("stoplist_jobs", kind="import", status="queued") == 0
    assert scraped.value("stoplist_jobs_failed_last_hour", kind="import") == 1
