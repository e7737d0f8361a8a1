"""Checkpoints of the trail: issued signed with the server's key, and confirmed against the chain
when they come back from wherever a compliance officer kept them.

The key is in the database, so anyone who can rewrite the chain there can sign for the rewrite
too: what catches a rewrite is a checkpoint saved *outside* the database before it, whose
event the rewritten chain no longer holds with that hash. The signature proves that the server
issued the checkpoint, so no one can make one up afterwards.
"""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from stoplist.audit import chain, signing
from stoplist.audit.keys import SigningKeys
from stoplist.history.repository import EventRepository


@dataclass(frozen=True)
class PublicKey:
    """The server's public key, as the API and the command show it."""

    algorithm: str
    key_id: str
    public_key: str  # the raw 32 bytes, base64
    pem: str


def issue(session: Session, *, account_id: int, now: datetime) -> signing.Checkpoint:
    """A checkpoint of the account's chain as it stands, signed now (the key is made on first use)."""
    key = SigningKeys(session).current(now=now)
    head = EventRepository(session).head(account_id)
    seq, hash_ = (0, chain.GENESIS) if head is None else (head.seq, head.hash)
    return signing.sign(key.private_pem, account=account_id, seq=seq, hash_=hash_, at=chain.stamp(now))


def public_key(session: Session, *, now: datetime) -> PublicKey:
    """The server's public key (made on first use)."""
    pem = SigningKeys(session).current(now=now).public_pem
    return PublicKey(signing.ALGORITHM, signing.key_id(pem), base64.b64encode(signing.raw_public_key(pem)).decode(), pem)


def stored_public_key(session: Session) -> str | None:
    """The server's public key as PEM, or None if it never made one (verification makes none)."""
    found = SigningKeys(session).stored()
    return None if found is None else found.public_pem


def not_a_public_key(pem: str) -> str | None:
    """Why a text a user gave is not an Ed25519 public key in PEM, or None when it is one."""
    try:
        signing.public_key(pem)
    except signing.NotAPublicKey as exc:
        return str(exc)
    return None


def confirm(session: Session, files: Sequence[tuple[str, str]], *, public_pem: str | None, account_id: int | None) -> tuple[int, list[str]]:
    """Every checkpoint of each (name, text) against the chains (verified beforehand; of one account
    if `account_id`), with the given key or else the database's: (how many hold, what stops each other one)."""
    key = public_pem or stored_public_key(session)
    confirmed, problems = 0, []
    for name, text in files:
        for number, item in enumerate(signing.read(text) or [signing.NotACheckpoint("the file holds no checkpoint")], start=1):
            where = f"checkpoint {number} of {name}"
            if isinstance(item, signing.NotACheckpoint):
                problems.append(f"{where}: not a checkpoint of this service: {item}")
            elif account_id is not None and item.account != account_id:
                problems.append(f"{where} ({item.describe()}): this run verified account {account_id} only")
            elif (wrong := problem(session, item, public_pem=key)) is not None:
                problems.append(f"{where} ({item.describe()}): {wrong}")
            else:
                confirmed += 1
    return confirmed, problems


def problem(session: Session, checkpoint: signing.Checkpoint, *, public_pem: str | None) -> str | None:
    """What stops a saved checkpoint from being confirmed by the account's chain, or None when the
    chain still holds the checkpoint's event with its hash. Verify the chain first: this compares
    the checkpoint with the stored events, and only a verified chain makes those worth anything."""
    if public_pem is None:
        return "the database holds no signing key, so nothing it issued can be checked (give the key you saved: --public-key)"
    if not signing.signature_holds(checkpoint, public_pem):
        expected = signing.key_id(public_pem)
        if checkpoint.key_id != expected:
            return f"its signature is not by key {expected} (it names key {checkpoint.key_id}): forged, changed, or from another server"
        return "its signature does not hold: the checkpoint was changed after it was signed, or forged"
    repository = EventRepository(session)
    head = repository.head(checkpoint.account)
    seq = checkpoint.seq
    if head is None:
        return None if (seq, checkpoint.hash) == (0, chain.GENESIS) else f"the account has no trail at all, where it had {seq} event(s): events were removed{_elsewhere(session, checkpoint)}"
    if seq > head.seq:
        return f"the chain ends at event {head.seq}, before the checkpoint's event {seq}: events were removed{_elsewhere(session, checkpoint)}"
    if seq < head.base_seq:
        # Retention moves the chain's start; so would someone removing its oldest events, which nothing else here tells apart.
        return (
            f"cannot be confirmed: the chain now starts after event {head.base_seq}, the checkpoint's event {seq} before it"
            f" (retention drops old events; if STOPLIST_AUDIT_RETENTION_MONTHS did not drop events 1 to {head.base_seq}, they were removed)"
        )
    found = head.base_hash if seq == head.base_seq else repository.hash_at(checkpoint.account, seq)
    if found is None:
        return f"event {seq} is not in the chain: events were removed{_elsewhere(session, checkpoint)}"
    if found != checkpoint.hash:
        return f"event {seq}'s hash is not the checkpoint's: the chain was rewritten at or before event {seq}{_elsewhere(session, checkpoint)}"
    return None


def _elsewhere(session: Session, checkpoint: signing.Checkpoint) -> str:
    """A hint when the checkpoint may be of another database: its key (given with --public-key) is not this database's.
    A checkpoint of another server's database, verified here, read as a rewrite and nothing else."""
    stored = stored_public_key(session)
    if stored is None or signing.key_id(stored) == checkpoint.key_id:
        return ""
    return (
        f" (the checkpoint is signed by key {checkpoint.key_id}, and this database's key is {signing.key_id(stored)}:"
        " the checkpoint is of another database, or the key here was replaced)"
    )
