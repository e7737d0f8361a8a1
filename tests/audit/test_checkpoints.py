"""Signed checkpoints of the trail over HTTP: GET /blacklist/audit/checkpoint and /public-key. The
signature checks by the README's recipe; the key is made once, whoever asks first and however many
ask at once; its private half is in no answer."""

import base64
import hashlib
import json
import threading
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import func, select

from stoplist.app import create_app
from stoplist.audit import signing
from stoplist.audit.keys import SigningKeys
from stoplist.audit.models import SigningKey
from stoplist.db import transaction, utcnow
from tests.api.helpers import URL, add, assert_error
from tests.conftest import TestClient

CHECKPOINT = "/blacklist/audit/checkpoint"
PUBLIC_KEY = "/blacklist/audit/public-key"


def signed_bytes(checkpoint: dict) -> bytes:
    """What the README says the signature covers: the canonical JSON of every field but the signature."""
    fields = {name: checkpoint[name] for name in ("account", "at", "hash", "key_id", "seq")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def test_a_checkpoint_is_the_accounts_head_signed_now(client, auth):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")
    last = client.get("/blacklist/changes", headers=auth).json()["events"][-1]
    response = client.get(CHECKPOINT, headers=auth)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    checkpoint = response.json()

    assert list(checkpoint) == ["account", "seq", "hash", "at", "key_id", "signature"]
    assert (checkpoint["account"], checkpoint["seq"], checkpoint["hash"]) == (last["account_id"], 2, last["hash"])
    signed_at = datetime.strptime(checkpoint["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(signed_at - datetime.now(timezone.utc)) < timedelta(seconds=30)

    key = client.get(PUBLIC_KEY, headers=auth).json()
    assert set(key) == {"algorithm", "key_id", "public_key", "pem"} and key["algorithm"] == "ed25519"
    assert key["key_id"] == checkpoint["key_id"] == hashlib.sha256(base64.b64decode(key["public_key"])).hexdigest()[:16]
    signature = base64.b64decode(checkpoint["signature"])
    # Either form of the key checks it; a verify() that finds the signature wrong raises.
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(signature, signed_bytes(checkpoint))
    load_pem_public_key(key["pem"].encode()).verify(signature, signed_bytes(checkpoint))


def test_an_account_without_events_has_a_checkpoint_at_zero_and_each_account_its_own(client, auth, make_token):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    empty = client.get(CHECKPOINT, headers=auth).json()
    assert (empty["seq"], empty["hash"]) == (0, "")
    add(client, other, "+48500000001")
    theirs = client.get(CHECKPOINT, headers=other).json()
    assert theirs["account"] != empty["account"] and theirs["seq"] == 1
    assert client.get(CHECKPOINT, headers=auth).json()["seq"] == 0


def test_the_checkpoint_routes_refuse_what_they_do_not_take(client, auth, make_token):
    for path in (CHECKPOINT, PUBLIC_KEY):
        assert_error(client.get(path, params={"account": "2"}, headers=auth), 400, "validation_error")
        assert_error(client.get(path), 401, "unauthorized")
        assert_error(client.get(path, headers={"Authorization": f"Bearer {make_token('default', ['sms'])}"}), 403, "forbidden")
        assert_error(client.post(path, headers=auth), 405, "method_not_allowed")


def test_every_instance_on_the_database_signs_with_the_one_key(settings, client, auth):
    first = client.get(PUBLIC_KEY, headers=auth).json()
    with TestClient(create_app(settings)) as second:
        assert second.get(PUBLIC_KEY, headers=auth).json() == first
        checkpoint = second.get(CHECKPOINT, headers=auth).json()
    assert checkpoint["key_id"] == first["key_id"]


def test_two_processes_making_the_key_at_once_end_with_one_key(session_factory, monkeypatch):
    """Both find no key, then both make one and insert it if absent: both sign with the one stored."""
    both_looked = threading.Barrier(2)
    found: list[str] = []
    errors: list[BaseException] = []
    made: list[str] = []
    looked = threading.local()
    stored, generate = SigningKeys.stored, signing.generate

    def stored_then_wait(self):
        key = stored(self)
        if not getattr(looked, "once", False):
            looked.once = True
            both_looked.wait(timeout=10)  # neither inserts before both have found none
        return key

    monkeypatch.setattr(SigningKeys, "stored", stored_then_wait)
    monkeypatch.setattr(signing, "generate", lambda: made.append("key") or generate())

    def maker() -> None:
        try:
            with transaction(session_factory) as session:
                found.append(SigningKeys(session).current(now=utcnow()).public_pem)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=maker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and len(found) == 2 and found[0] == found[1]
    assert len(made) == 2  # each made one: the race was run
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SigningKey)) == 1


def test_the_private_key_is_in_no_answer(app, client, auth):
    add(client, auth, "+48500000001")
    answers = [client.get(path, headers=auth).text for path in (CHECKPOINT, PUBLIC_KEY, "/blacklist/changes", URL)]
    answers.append(client.get("/openapi.json").text)
    with app.state.session_factory() as session:
        private_pem = session.scalar(select(SigningKey.private_key))
    secret = "".join(line for line in private_pem.splitlines() if not line.startswith("-----"))
    # The PKCS #8 text's base64, and the base64 of its last 32 bytes (the raw private key).
    raw = base64.b64encode(base64.b64decode(secret)[-32:]).decode()
    assert all(secret not in answer and raw not in answer and "PRIVATE KEY" not in answer for answer in answers)
