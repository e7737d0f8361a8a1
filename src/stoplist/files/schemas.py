"""What `/files/{file_id}` and the x-async requests that lead to it answer."""

from typing import Literal

from pydantic import BaseModel


class FilePending(BaseModel):
    """An x-async export that is not ready yet."""

    status: Literal["queued", "running"]


class FileQueued(BaseModel):
    """An x-async export was accepted: poll `GET /files/{file_id}`."""

    file_id: str
