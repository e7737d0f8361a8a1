"""Senders and e-mail local parts matched folded in width too: `ＡＣＭＥ` is `acme`, `ｊｏｓé@…` is `josé@…`; and a
sender's white space inside is one space (`ACME  Bank` is `ACME Bank`).

The keys of migration 0012 folded case only; stoplist.lists.folding now folds the full-width and
half-width forms East Asian keyboards type into the characters they stand for (one character for
one, so no key grows). This migration gives the stored keys that fold so, and only those, their new
key, exactly as 0012 gave keys: lists whose senders now fold to one key become one (the oldest
stays, with its spelling), entries that then share their account, list and address key become one
(the oldest stays and takes the latest instruction, live entries first), and each merge is on the
audit trail (source `system`, the evidence naming this migration). Its machinery is 0012's, read from
that file, so that the two fold by the same rules. A list's sender that is a phone number in
full-width digits (`＋４８…`) becomes the number's key.

A sender whose run of spaces inside is one space now (`acme  bank`) is keyed again the same way.
Lists whose stored sender holds neither are not read again: their keys are already what the
code makes. Every e-mail entry is read, as 0012 read them, 5,000 at a time; only those whose key
changes are written.

The downgrade changes nothing: the keys stay folded, and merged lists and entries stay merged
(README, Backups and upgrades).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import importlib.util
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from stoplist.config import get_settings
from stoplist.lists.folding import unwidened
from stoplist.lists.senders import is_scope_word, sender_key

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _migration_0012():
    """Migration 0012's module (its file's name is no module name Python imports)."""
    path = Path(__file__).with_name("20261206_0012_folded_senders_and_email_addresses.py")
    spec = importlib.util.spec_from_file_location("stoplist_migration_0012", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    earlier = _migration_0012()
    bind = op.get_bind()
    now = datetime.now(timezone.utc).replace(microsecond=0)

    class Lists(earlier._Lists):
        """0012's lists, but only those whose stored sender changes in width or spacing are keyed again."""

        def __init__(self, bind, region: str | None) -> None:
            self.bind = bind
            self.into, self.scopes, self._renamed = {}, {}, []
            oldest: dict[tuple, int] = {}
            rows = bind.execute(sa.text("SELECT id, account_id, kind, channel, sender, sender_display FROM lists ORDER BY created_at, id")).all()
            worded = 0
            for list_id, account_id, kind, channel, sender, display in rows:
                # A sender that now folds to a scope word (`ａｌｌ`, `＊`) stays as it is, as 0012 left `all`: what the list meant
                # is not this migration's to guess, and no check names it (the API refuses the word in any case or width).
                # Keys 0012 made that the code now makes otherwise: wide characters, or a run of spaces inside.
                respelled = unwidened(sender) != sender or "  " in sender
                scope_word = respelled and is_scope_word(sender)
                worded += scope_word
                key = sender_key(sender, region) if respelled and not scope_word else sender
                stays = oldest.setdefault((account_id, kind, channel, key), list_id)
                self.into[list_id] = stays
                self.scopes[list_id] = (kind, channel, key)
                if stays == list_id and key != sender:
                    self._renamed.append({"id": list_id, "sender": key, "display": display or sender})
            if worded:
                earlier.LOG.warning(
                    "migration 0017: %d list(s) have a sender that is 'every', 'all' or '*' in full width, which no check names: put their"
                    " entries on the list meant (usually that of every sender), then delete them (README, Backups and upgrades)", worded,
                )

    class Merger(earlier._Merger):
        NAME = "migration 0017"
        WHY = (
            "once senders and e-mail local parts are compared without regard to width (full-width ＡＣＭＥ is ACME)"
            " and a sender's run of spaces inside is one space"
        )

    lists = Lists(bind, get_settings().default_region)
    Merger(bind, bind.dialect.name == "sqlite", now, lists).run()
    lists.finish()


def downgrade() -> None:
    """Nothing to undo: folded keys match under the earlier rules as they were stored (see the module's text)."""
