"""The ops tests run on the app as `create_app` makes it (the root conftest's `app`): the ops
routes come installed."""

import pytest

from tests.ops.helpers import Scrape


@pytest.fixture
def scrape(client):
    """Scrape /metrics now: `scrape().value("stoplist_…", label=...)`."""

    def scrape_once() -> Scrape:
        response = client.get("/metrics")
        assert response.status_code == 200, response.text
        return Scrape(response.text)

    return scrape_once
