"""Small helpers shared by the ops tests."""

import socket

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine, make_url

from stoplist.db import create_db_engine


class Scrape:
    """One /metrics answer, parsed: `scrape.value(name, **labels)` is a sample's value or None."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))


def broken_engine(database_url: str, tmp_path) -> Engine:
    """An engine on the same kind of database that cannot connect: a port nobody listens on, or a 'file' that is a directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return create_db_engine(f"sqlite:///{tmp_path}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    return create_db_engine(url.set(host="127.0.0.1", port=closed_port).render_as_string(hide_password=False))
