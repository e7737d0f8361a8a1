"""What the imports API answers."""

from typing import Literal

from pydantic import BaseModel, Field

from stoplist.lists.schemas import Timestamp
from stoplist.errors import ErrorBody
from stoplist.files import schemas as files_schemas


class RejectedRow(BaseModel):
    line: int = Field(description="1-based line in the uploaded file.")
    value: str
    message: str


class ImportStatus(BaseModel):
    """An import job: where it is, and what it did so far (`added + updated + unchanged + invalid == rows`)."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    rows: int = Field(description="Data rows read so far.")
    added: int = Field(description="Numbers that were not on the list.")
    updated: int = Field(description="Rows that changed an entry already listed (also earlier in the same file): its expiry, reason or note replaced.")
    unchanged: int = Field(description="Rows that would change nothing of an entry already listed (also earlier in the same file): nothing written, nothing recorded.")
    invalid: int = Field(description="Rejected rows.")
    errors: list[RejectedRow] = Field(description="The first 100 rejected rows; all of them are at `errors_url`.")
    errors_url: str
    error: ErrorBody | None = Field(description="Why the job failed, when it did.")
    created_at: Timestamp
    finished_at: Timestamp | None


# Moved to stoplist.files.schemas (files must not import imports); kept here until
# blacklist/router.py imports FileQueued from there.
FilePending = files_schemas.FilePending
FileQueued = files_schemas.FileQueued
