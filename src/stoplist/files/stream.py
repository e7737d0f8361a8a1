"""Stored files as Python file objects, for code that reads streams (the CSV reader)."""

import io

from sqlalchemy.orm import Session

from stoplist.files.repository import FileRepository


class StoredFileReader(io.RawIOBase):
    """Reads a stored file chunk by chunk: one chunk in memory at a time."""

    def __init__(self, session: Session, file_id: str) -> None:
        self._repository = FileRepository(session)
        self._file_id = file_id
        self._seq = 0
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        if not self._buffer:
            data = self._repository.chunk(file_id=self._file_id, seq=self._seq)
            if data is None:
                return 0
            self._seq += 1
            self._buffer = memoryview(data)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def open_stored_file(session: Session, file_id: str) -> io.BufferedReader:
    return io.BufferedReader(StoredFileReader(session, file_id), buffer_size=1 << 16)
