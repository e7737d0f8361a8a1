"""The README's cURL walk-through, run in order against a real server."""

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def curl_examples() -> list[tuple[str, str, str]]:
    """(command, expected output's language, expected output) for each cURL block and the block after it."""
    blocks = [(lang, body) for lang, body in FENCE.findall(README.read_text())]
    examples = []
    for (lang, body), (next_lang, next_body) in zip(blocks, blocks[1:]):
        if lang == "sh" and "curl " in body:
            assert next_lang in ("json", "text"), f"cURL example without its expected output:\n{body}"
            examples.append((body, next_lang, next_body))
    return examples


VOLATILE_TIMES = ("created_at", "updated_at", "finished_at", "at")
# The server's signing key is made on first use, so it, and every signature, differs from run to run.
VOLATILE_KEYS = ("key_id", "signature", "public_key", "pem", "token")
JOB_ID = re.compile(r"[0-9a-f]{32}")
# A feed cursor names its event's seq and the start of its hash, which holds the event's time.
CURSOR_CHECK = re.compile(r"\b([0-9]+)-[0-9a-f]{16}\b")
TIMESTAMPS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def python_examples() -> list[tuple[str, str]]:
    """(program, expected output) for each Python block followed by a text block."""
    blocks = FENCE.findall(README.read_text())
    return [(body, next_body) for (lang, body), (next_lang, next_body) in zip(blocks, blocks[1:]) if lang == "python" and next_lang == "text"]


def masked(value):
    """Replace what differs from run to run (times of creation, job ids, the signing key) with markers."""
    if isinstance(value, dict):
        return {key: ("<time>" if key in VOLATILE_TIMES and TIMESTAMP.match(str(item)) else _key(key, item)) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, str):
        return CURSOR_CHECK.sub(r"\1-<check>", JOB_ID.sub("<id>", value))
    return value


def _key(name: str, value):
    """A key's or a signature's value as a marker of its shape: the answer must still have one."""
    if name in VOLATILE_KEYS and isinstance(value, str) and value:
        return "<key>"
    return masked(value)


def masked_text(text: str) -> str:
    return CURSOR_CHECK.sub(r"\1-<check>", TIMESTAMPS.sub("<time>", text.strip()))


def test_the_readme_has_a_curl_example_for_every_route():
    commands = "\n".join(command for command, _, _ in curl_examples())

    assert len(curl_examples()) >= 9
    for needle in ["-X DELETE", "phone_numbers/2", "?q=", "expire_at", "phone_number="]:
        assert needle in commands


def test_the_readme_curl_walk_through_gives_the_documented_answers(live_server: LiveServer, tmp_path: Path):
    # TOKEN made as `make run` makes it (scope blacklist), ADMIN as and when the accounts section makes it:
    # on the command line, each recorded as `grant`, so the walk-through's seqs are a reader's.
    env = {**live_server.env, "TOKEN": live_server.stoplist("token", "create").stdout.strip()}

    for command, language, expected in curl_examples():
        if "$ADMIN" in command and "ADMIN" not in env:
            env["ADMIN"] = live_server.stoplist("token", "create", "--scope", "blacklist", "--scope", "accounts").stdout.strip()
        script = command.replace(DOCUMENTED_BASE, live_server.base_url)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        if language == "json":
            # The whole answer in the message: the walk-through's ids and seqs shift when an example is added before them.
            assert masked(json.loads(result.stdout)) == masked(json.loads(expected)), f"{command}\nanswered: {result.stdout}"
        else:
            assert masked_text(result.stdout) == masked_text(expected), f"{command}\nanswered: {result.stdout}"


def test_the_readme_python_examples_print_what_the_readme_shows(live_server: LiveServer):
    token = live_server.create_token()
    headers = {"Authorization": f"Bearer {token}"}
    env = {**live_server.env, "TOKEN": token}

    assert len(python_examples()) >= 2, "the README lost a Python example"
    for program, expected in python_examples():
        for number in ("+48500000001", "+48500000002"):
            httpx.post(f"{live_server.base_url}/blacklist/phone_numbers", json={"phone_number": number}, headers=headers).raise_for_status()
        result = subprocess.run(
            [sys.executable, "-c", program.replace(DOCUMENTED_BASE, live_server.base_url)], env=env, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected.strip()
