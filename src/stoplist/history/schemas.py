"""The shapes of the trail's answers (for the OpenAPI document: answers are written by hand, each event as stored)."""

from typing import Literal

from pydantic import BaseModel, Field


class EventList(BaseModel):
    kind: Literal["block", "allow"]
    channel: str | None = Field(description="null: every channel.")
    sender: str | None = Field(description="null: every sender.")


class EventState(BaseModel):
    expire_at: str | None
    reason: str | None
    note: str | None


class EventActor(BaseModel):
    account_id: int = Field(description="The account that acted: the token's (a subuser writing on its parent's list, a parent on its subuser's), or the owner for the CLI and the system.")
    token_id: int | None = Field(description="The token of the request (or of the upload of an import); null for the CLI and the system.")


class Event(BaseModel):
    """One change on the audit trail, as recorded (and hashed): never edited afterwards."""

    v: int = Field(description="The version of the event's format.")
    seq: int = Field(description="The event's place in the account's trail: 1, 2, 3, … without gaps, in commit order.")
    at: str = Field(description="When it was recorded (RFC 3339, UTC).")
    op: Literal["add", "update", "remove", "expire", "import", "grant", "revoke", "sub_add", "sub_edit", "sub_del"] = Field(
        description="Entry events: `add`, `update`, `remove`, `expire`, and `import` (the summary of one import job, after its per-entry events). "
        "Account events (address, list and entry_id null; on the parent's trail): `grant` and `revoke` (a token; before/after name it, never its secret), "
        "`sub_add`, `sub_edit` and `sub_del` (a subuser's id, name and mode)."
    )
    account_id: int = Field(description="The owner of the trail: whose lists changed, or the parent whose tokens or subusers did.")
    address: str | None
    address_kind: Literal["phone", "email"] | None
    list: EventList | None
    entry_id: str | None
    before: EventState | dict | None = Field(description="The entry before the change; null for `add`; the token or subuser for `revoke`, `sub_edit` and `sub_del`.")
    after: EventState | dict | None = Field(description="The entry after the change; null for `remove` and `expire`; an import's counts for `import`; the token or subuser for `grant`, `sub_add` and `sub_edit`.")
    source: Literal["api", "import", "cli", "system"]
    actor: EventActor
    job_id: str | None
    request_id: str | None = Field(description="The request's X-Request-Id, or one the server gave it.")
    evidence: str | None = Field(
        description="What the client attached to the change. The two events of a move or a replacement start with which entry"
        " the other is (`moved to entry 8`, `moved from entry 4`, `replaced by 48500000011 (entry 10)`, `replacing 48500000001"
        " (entry 3)`), then `; ` and the client's evidence, if any."
    )
    received_at: str | None = Field(description="When the client says the opt-out reached it.")
    hash: str = Field(description="SHA-256 (hex) over the previous event's hash, a newline, and this event's canonical JSON (without `hash`).")


class EventPage(BaseModel):
    events: list[Event]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page (history). The feed always gives one.")


class Checkpoint(BaseModel):
    """Where the account's trail stood, signed by the server: keep it outside Stoplist's database."""

    account: int = Field(description="The account's id.")
    seq: int = Field(description="The seq of the account's newest event; 0 before its first.")
    hash: str = Field(description="That event's hash; empty before the first.")
    at: str = Field(description="When the server signed the checkpoint (RFC 3339, UTC).")
    key_id: str = Field(description="The signing key: the first 16 hex digits of SHA-256 over its raw public key.")
    signature: str = Field(
        description="Base64 of the Ed25519 signature over the canonical JSON of `account`, `at`, `hash`, `key_id` and `seq` (keys sorted, no spaces, ASCII)."
    )


class PublicKey(BaseModel):
    """The key the server signs checkpoints with (its public half: the private one never leaves the server)."""

    algorithm: Literal["ed25519"]
    key_id: str = Field(description="The first 16 hex digits of SHA-256 over the raw public key.")
    public_key: str = Field(description="The raw 32-byte public key (RFC 8032), base64.")
    pem: str = Field(description="The same key as PEM (SubjectPublicKeyInfo), for openssl and most libraries.")
