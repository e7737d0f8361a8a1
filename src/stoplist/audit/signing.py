"""Checkpoints: where an account's chain stood, signed with the server's Ed25519 key. Pure: nothing
here touches the database.

A checkpoint says that the account's event `seq` had hash `hash` when the server signed it, at
`at`. The signature is Ed25519 over the canonical JSON (keys sorted, no spaces, ASCII) of exactly
SIGNED, the fields besides `signature`; `key_id` names the key (the first 16 hex digits of SHA-256
over its raw 32 bytes). The format is part of every checkpoint given out: keep it.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stoplist.audit.chain import canonical

ALGORITHM = "ed25519"
SIGNED = ("account", "seq", "hash", "at", "key_id")
FIELDS = (*SIGNED, "signature")


@dataclass(frozen=True)
class KeyPair:
    """A signing key as stored: both halves as PEM."""

    private_pem: str
    public_pem: str


def generate() -> KeyPair:
    """A new Ed25519 key."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return KeyPair(private_pem, public_pem)


class NotAPublicKey(ValueError):
    """Text that is not an Ed25519 public key in PEM."""


def public_key(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key a PEM text holds."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise NotAPublicKey(f"not a public key in PEM ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise NotAPublicKey(f"a {type(key).__name__.removeprefix('_')}, not an Ed25519 public key")
    return key


def raw_public_key(pem: str) -> bytes:
    """The key's 32 raw bytes (RFC 8032), as many tools take it."""
    return public_key(pem).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pem: str) -> str:
    """A public key's name: the first 16 hex digits of SHA-256 over its raw bytes."""
    return hashlib.sha256(raw_public_key(pem)).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """An account's chain head (seq 0 and hash '' before its first event), signed."""

    account: int
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def signed_bytes(self) -> bytes:
        """Exactly what the signature covers."""
        return canonical({name: getattr(self, name) for name in SIGNED}).encode("ascii")

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """The checkpoint as one line of JSON (fields in FIELDS order), as the API answers it."""
        return json.dumps(self.as_dict(), separators=(",", ":"), ensure_ascii=True)

    def describe(self) -> str:
        return f"account {self.account}, event {self.seq}, signed at {self.at}"


def sign(private_pem: str, *, account: int, seq: int, hash_: str, at: str) -> Checkpoint:
    """A checkpoint of the account's chain at (seq, hash), signed now (`at`) with the key."""
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("the stored signing key is not an Ed25519 key")
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    unsigned = Checkpoint(account, seq, hash_, at, key_id(public_pem), "")
    signature = base64.b64encode(private.sign(unsigned.signed_bytes())).decode()
    return Checkpoint(account, seq, hash_, at, unsigned.key_id, signature)


def signature_holds(checkpoint: Checkpoint, public_pem: str) -> bool:
    """Whether the checkpoint's signature is the key's, over exactly its signed fields."""
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public_key(public_pem).verify(signature, checkpoint.signed_bytes())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


class NotACheckpoint(ValueError):
    """A JSON value that is not a checkpoint of this service."""


def parse(value: object) -> Checkpoint:
    """A checkpoint from its JSON object: exactly FIELDS, each of its type; anything else is refused."""
    if not isinstance(value, dict):
        raise NotACheckpoint("not a JSON object")
    if set(value) != set(FIELDS):
        missing, unknown = sorted(set(FIELDS) - set(value)), sorted(set(value) - set(FIELDS))
        raise NotACheckpoint("; ".join(filter(None, [missing and f"missing {', '.join(missing)}", unknown and f"unknown {', '.join(unknown)}"])))
    for name in ("account", "seq"):
        if type(value[name]) is not int or value[name] < 0:
            raise NotACheckpoint(f"{name} is not a whole number")
    for name in ("hash", "at", "key_id", "signature"):
        if not isinstance(value[name], str) or not value[name].isascii():
            raise NotACheckpoint(f"{name} is not ASCII text")
    return Checkpoint(**{name: value[name] for name in FIELDS})


def read(text: str) -> list[Checkpoint | NotACheckpoint]:
    """Every checkpoint in a text: one JSON object, or several one after another (JSON lines, as a
    daily `>>` builds up), each parsed or the reason it is not one. Text that is not JSON at all
    ends the reading with one last NotACheckpoint."""
    decoder = json.JSONDecoder()
    found: list[Checkpoint | NotACheckpoint] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return found
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError as exc:
            found.append(NotACheckpoint(f"not JSON ({exc.args[0] if exc.args else exc})"))
            return found
        try:
            found.append(parse(value))
        except NotACheckpoint as exc:
            found.append(exc)
