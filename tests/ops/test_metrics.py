"""/metrics: request counts by route template, durations, and the data read at scrape time."""


from sqlalchemy import text

from stoplist.app import create_app
from tests.conftest import TestClient
from tests.ops.helpers import Scrape, broken_engine


URL = "/blacklist/phone_numbers"
REQUESTS = "stoplist_http_requests_total"


def test_metrics_answers_prometheus_text_without_a_token(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE stoplist_http_requests_total counter" in response.text
    assert "# TYPE stoplist_http_request_duration_seconds histogram" in response.text


def test_requests_are_counted_by_method_route_template_and_status(client, auth, scrape):
    assert client.get(URL, headers=auth).status_code == 200
    assert client.get(f"{URL}/987654", headers=auth).status_code == 404
    assert client.get(f"{URL}/987655/", headers=auth).status_code == 404
    assert client.get("/no/such/route").status_code == 404
    assert client.get(URL).status_code == 401

    scraped = scrape()

    assert scraped.value(REQUESTS, method="GET", route=URL, status="200") == 1
    assert scraped.value(REQUESTS, method="GET", route=URL, status="401") == 1
    assert scraped.value(REQUESTS, method="GET", route=f"{URL}/{{entry_id}}", status="404") == 2
    assert scraped.value(REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert "987654" not in scraped.text and "/no/such/route" not in scraped.text


def test_request_durations_form_a_histogram_by_method_and_route(client, scrape):
    for _ in range(3):
        client.get("/healthz")

    scraped = scrape()

    labels = {"method": "GET", "route": "/healthz"}
    assert scraped.value("stoplist_http_request_duration_seconds_count", **labels) == 3
    assert scraped.value("stoplist_http_request_duration_seconds_bucket", le="+Inf", **labels) == 3
    assert 0 < scraped.value("stoplist_http_request_duration_seconds_sum", **labels) < 10
    buckets = [
        (float(dict(labels_)["le"]), value)
        for (name, labels_), value in scraped.samples.items()
        if name == "stoplist_http_request_duration_seconds_bucket" and dict(labels_)["route"] == "/healthz"
    ]
    counts = [value for _, value in sorted(buckets)]
    assert len(counts) > 5 and counts == sorted(counts)  # cumulative


def test_a_request_the_app_fails_on_counts_as_the_500_it_answers(settings):
    app = create_app(settings)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
        scraped = Scrape(client.get("/metrics").text)

    assert scraped.value(REQUESTS, method="GET", route="/boom", status="500") == 1


def test_unusual_methods_share_one_label(client, scrape):
    client.request("PROPFIND", "/healthz")
    client.request("BREW", "/healthz")

    scraped = scrape()

    assert scraped.value(REQUESTS, method="other", route="/healthz", status="405") == 2
    assert "PROPFIND" not in scraped.text


def test_a_streamed_export_passes_through_the_middleware_intact(client, auth, scrape):
    for number in ("+48500000001", "+48500000002"):
        assert client.post(URL, json={"phone_number": number}, headers=auth).status_code == 201

    response = client.get(URL, headers={**auth, "Accept": "text/csv"})

    assert response.status_code == 200
    assert response.text.splitlines()[0] == "id,phone_number,expire_at,created_at" and len(response.text.splitlines()) == 3
    assert scrape().value(REQUESTS, method="GET", route=URL, status="200") == 1


def test_the_entries_gauge_equals_the_number_of_rows(client, auth, app, scrape):
    assert scrape().value("stoplist_blacklist_entries") == 0
    for number in ("+48500000001", "+48500000002", "+48500000003"):
        assert client.post(URL, json={"phone_number": number}, headers=auth).status_code == 201
    assert client.post(URL, json={"phone_number": "+48500000004", "expire_at": "2099-01-01"}, headers=auth).status_code == 201

    with app.state.engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM blacklist_entries")).scalar_one()

    scraped = scrape()
    assert rows == 4
    assert scraped.value("stoplist_blacklist_entries") == rows
    assert scraped.value("stoplist_database_up") == 1


def test_each_app_keeps_its_own_metrics(settings):
    first, second = create_app(settings), create_app(settings)

    with TestClient(first) as one, TestClient(second) as other:
        for _ in range(2):
            one.get("/healthz")
        other.get("/healthz")
        counted = [Scrape(client.get("/metrics").text).value(REQUESTS, method="GET", route="/healthz", status="200") for client in (one, other)]

    assert counted == [2, 1]


def test_when_the_database_is_unreachable_the_scrape_says_so_and_still_serves_the_http_metrics(client, app, database_url, tmp_path, scrape):
    client.get("/healthz")
    original, app.state.engine = app.state.engine, broken_engine(database_url, tmp_path)
    try:
        scraped = scrape()
    finally:
        app.state.engine = original

    assert scraped.value("stoplist_database_up") == 0
    assert scraped.value("stoplist_blacklist_entries") is None
    assert scraped.value(REQUESTS, method="GET", route="/healthz", status="200") == 1


def test_a_scraper_asking_for_openmetrics_gets_openmetrics(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_the_build_info_names_the_version(scrape):
    from stoplist import __version__

    assert scrape().value("stoplist_build_info", version=__version__) == 1
