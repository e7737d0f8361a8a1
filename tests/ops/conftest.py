"""The ops tests run on the app as `create_app` makes it, with the ops routes installed
(`install_ops` is a no-op once `create_app` installs them itself)."""

import pytest

from stoplist.app import create_app
from stoplist.ops import install_ops
from tests.ops.helpers import Scrape


@pytest.fixture
def app(settings):
    app = create_app(settings)
    install_ops(app)
    return app


@pytest.fixture
def scrape(client):
    """Scrape /metrics now: `scrape().value("stoplist_…", label=...)`."""

    def scrape_once() -> Scrape:
        response = client.get("/metrics")
        assert response.status_code == 200, response.text
        return Scrape(response.text)

    return scrape_once
