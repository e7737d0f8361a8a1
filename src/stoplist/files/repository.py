"""All SQL about stored files and their chunks."""

import uuid
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from stoplist.files.models import FileChunk, StoredFile

CHUNK_SIZE = 1 << 20


class FileRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, *, account_id: int, kind: str, now: datetime) -> StoredFile:
        stored = StoredFile(id=uuid.uuid4().hex, account_id=account_id, kind=kind, size=0, created_at=now)
        self.session.add(stored)
        self.session.flush()
        return stored

    def append(self, *, file_id: str, data: bytes) -> None:
        """Add the next chunk; chunks are read back in the order they were appended."""
        next_seq = self.session.scalar(select(func.coalesce(func.max(FileChunk.seq), -1) + 1).where(FileChunk.file_id == file_id))
        self.session.add(FileChunk(file_id=file_id, seq=next_seq, data=data))
        self.session.execute(update(StoredFile).where(StoredFile.id == file_id).values(size=StoredFile.size + len(data)))
        self.session.flush()

    def truncate(self, *, file_id: str) -> None:
        self.session.execute(delete(FileChunk).where(FileChunk.file_id == file_id))
        self.session.execute(update(StoredFile).where(StoredFile.id == file_id).values(size=0))

    def chunk(self, *, file_id: str, seq: int) -> bytes | None:
        return self.session.scalar(select(FileChunk.data).where(FileChunk.file_id == file_id, FileChunk.seq == seq))

    def chunks(self, *, file_id: str) -> Iterator[bytes]:
        """The file's content, one chunk in memory at a time."""
        seq = 0
        while (data := self.chunk(file_id=file_id, seq=seq)) is not None:
            yield data
            seq += 1

    def delete(self, *, file_ids: list[str]) -> None:
        if file_ids:
            self.session.execute(delete(FileChunk).where(FileChunk.file_id.in_(file_ids)))
            self.session.execute(delete(StoredFile).where(StoredFile.id.in_(file_ids)))
