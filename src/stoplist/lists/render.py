"""An entry as the APIs show it, from one row of `queries.ENTRY_COLUMNS` (timestamps already text)."""

from stoplist.lists.repository import EntryRow


def native(row: EntryRow) -> dict:
    """The native API's entry: every field, null for every channel / every sender."""
    kind, channel, sender, entry_id, address, address_kind, reason, note, source, expire_at, created_at, updated_at = row
    return {
        "id": str(entry_id), "address": address, "address_kind": address_kind, "channel": channel or None, "sender": sender or None,
        "list": kind, "reason": reason, "note": note, "source": source, "expire_at": expire_at, "created_at": created_at, "updated_at": updated_at,
    }


def smsapi(row: EntryRow) -> dict:
    """SMSAPI's entry: id, phone_number, expire_at, created_at."""
    return {"id": str(row[3]), "phone_number": row[4], "expire_at": row[9], "created_at": row[10]}
