"""A client that goes away before sending its whole body (an upload cut off, a CRM that gave up) is not a
server error: the server logs it at info, counts it as 499 in /metrics, and never as a 500 with a traceback."""

import re
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import LiveServer

CUT_OFF = [
    ("/blacklist/phone_numbers/imports", "text/csv", b"phone_number\n+48500000001\n"),  # an upload, streamed to disk
    ("/blacklist/entries/batch", "application/json", b'{"items": ["+485000'),  # a JSON body, read whole
    ("/blacklist/check", "application/json", b'{"phone_numbers": ["+485000'),  # the check gate's own path
]


def send_part_and_leave(base_url: str, path: str, token: str, content_type: str, part: bytes) -> None:
    """Announce a body of 100,000 bytes, send `part` of it, and close the connection."""
    address = urlsplit(base_url)
    head = (f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: 100000\r\n\r\n")
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head.encode() + part)
        time.sleep(0.2)  # the server is reading the body when the client goes


def answered(metrics: str, route: str, status: int) -> float:
    pattern = rf'^stoplist_http_requests_total\{{method="POST",route="{re.escape(route)}",status="{status}"\}} (\S+)$'
    found = re.search(pattern, metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize(("path", "content_type", "part"), CUT_OFF, ids=["upload", "batch", "check"])
def test_a_client_gone_mid_body_is_a_499_in_the_metrics_not_a_500(shared_server: LiveServer, path, content_type, part):
    token = shared_server.create_token("gone-" + path.rsplit("/", 1)[-1], "blacklist")
    with httpx.Client(base_url=shared_server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        before = client.get("/metrics").text
        send_part_and_leave(shared_server.base_url, path, token, content_type, part)
        deadline = time.monotonic() + 10
        while True:
            metrics = client.get("/metrics").text
            if answered(metrics, path, 499) == answered(before, path, 499) + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert answered(metrics, path, 499) == answered(before, path, 499) + 1, metrics
        assert answered(metrics, path, 500) == answered(before, path, 500)
        # The server goes on serving, and has logged no error for it.
        assert client.get("/healthz").status_code == 200
    log = shared_server.log.read_text()
    assert "Exception in ASGI application" not in log and "ClientDisconnect" not in log, log[-3000:]
