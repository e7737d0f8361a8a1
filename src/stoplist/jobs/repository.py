"""All SQL about jobs: queueing, claiming with compare-and-set, leases, retention."""

import json
import re
import uuid
from datetime import datetime, timezone

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from stoplist.auth.models import Account
from stoplist.jobs.models import DONE, FAILED, QUEUED, RUNNING, ImportRejection, Job


JOB_ID = re.compile(r"[0-9a-f]{32}")


def _claimable(stale_before: datetime):
    return or_(Job.status == QUEUED, and_(Job.status == RUNNING, Job.heartbeat_at < stale_before))


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, *, account_id: int, kind: str, params: dict, input_file_id: str | None = None) -> Job:
        """Queue a job; workers take jobs in the order they were queued (to the microsecond)."""
        job = Job(
            id=uuid.uuid4().hex, account_id=account_id, kind=kind, status=QUEUED, params=json.dumps(params), progress="{}",
            input_file_id=input_file_id, attempts=0, created_at=datetime.now(timezone.utc),
        )
        self.session.add(job)
        self.session.flush()
        return job

    def count_pending(self, *, account_id: int, kind: str, lock_account: bool = False) -> int:
        """How many jobs of `kind` the account has queued or running.

        `lock_account`: first lock the account's row until the transaction ends (PostgreSQL), so
        that concurrent count-then-decide transactions of one account run one after another.
        NO KEY UPDATE, because a job just inserted holds KEY SHARE on its account (the foreign
        key), and FOR UPDATE would wait for the other transaction's share: a deadlock.
        """
        if lock_account:
            self.session.execute(select(Account.id).where(Account.id == account_id).with_for_update(key_share=True))
        return self.session.scalar(
            select(func.count()).select_from(Job).where(Job.account_id == account_id, Job.kind == kind, Job.status.in_((QUEUED, RUNNING)))
        ) or 0

    def get(self, *, account_id: int, job_id: str, kind: str) -> Job | None:
        if not JOB_ID.fullmatch(job_id):
            return None  # not one of ours (and PostgreSQL refuses some strings, such as NUL bytes)
        return self.session.scalar(select(Job).where(Job.id == job_id, Job.account_id == account_id, Job.kind == kind))

    def claimable(self, *, stale_before: datetime, limit: int = 10) -> list[tuple[str, str, str, int]]:
        """(id, kind, status, attempts) of queued jobs and of running ones whose worker stopped beating, oldest first."""
        statement = select(Job.id, Job.kind, Job.status, Job.attempts).where(_claimable(stale_before)).order_by(Job.created_at, Job.id).limit(limit)
        # PostgreSQL: rows another worker is claiming right now are skipped instead of waited for
        # (SQLite has one writer at a time and ignores this); the compare-and-set decides either way.
        rows = self.session.execute(statement.with_for_update(skip_locked=True))
        return [tuple(row) for row in rows]

    def try_claim(self, *, job_id: str, attempts: int, stale_before: datetime, worker_id: str, now: datetime) -> bool:
        """Compare-and-set: the job must still be claimable and unclaimed since it was seen; of racing workers exactly one wins."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempts, _claimable(stale_before))
            .values(status=RUNNING, worker_id=worker_id, heartbeat_at=now, attempts=Job.attempts + 1, started_at=func.coalesce(Job.started_at, now))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def give_up(self, *, job_id: str, attempts: int, stale_before: datetime, now: datetime, code: str, message: str) -> bool:
        """Fail a stale job that has used up its attempts (the same compare-and-set as claiming)."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempts, Job.status == RUNNING, Job.heartbeat_at < stale_before)
            .values(status=FAILED, worker_id=None, finished_at=now, error_code=code, error_message=message)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def get_any(self, job_id: str) -> Job | None:
        return self.session.get(Job, job_id)

    def checkpoint(self, *, job_id: str, worker_id: str, now: datetime, progress: dict) -> bool:
        """Record progress and renew the lease; False if another worker took the job over."""
        return self._owned_update(job_id, worker_id, heartbeat_at=now, progress=json.dumps(progress))

    def finish(self, *, job_id: str, worker_id: str, now: datetime, progress: dict, output_file_id: str | None = None) -> bool:
        return self._owned_update(
            job_id, worker_id, status=DONE, finished_at=now, heartbeat_at=now, progress=json.dumps(progress), output_file_id=output_file_id
        )

    def fail(self, *, job_id: str, worker_id: str, now: datetime, code: str, message: str) -> bool:
        return self._owned_update(job_id, worker_id, status=FAILED, finished_at=now, error_code=code, error_message=message)

    def retry(self, *, job_id: str, worker_id: str) -> bool:
        """Put a job back in the queue after a passing database error; the attempt counts."""
        return self._owned_update(job_id, worker_id, status=QUEUED, worker_id=None, heartbeat_at=None)

    def release(self, *, job_id: str, worker_id: str) -> bool:
        """Put a job back in the queue (a graceful shutdown), without spending an attempt."""
        return self._owned_update(job_id, worker_id, status=QUEUED, worker_id=None, heartbeat_at=None, attempts=Job.attempts - 1)

    def finished_before(self, moment: datetime) -> list[Job]:
        return list(self.session.scalars(select(Job).where(Job.status.in_((DONE, FAILED)), Job.finished_at <= moment)))

    def delete(self, *, job_ids: list[str]) -> None:
        if job_ids:
            self.session.execute(delete(ImportRejection).where(ImportRejection.job_id.in_(job_ids)))
            self.session.execute(delete(Job).where(Job.id.in_(job_ids)))

    def add_rejections(self, *, job_id: str, rejections: list[tuple[int, str, str]]) -> None:
        if rejections:
            self.session.execute(
                ImportRejection.__table__.insert(),
                [{"job_id": job_id, "line": line, "value": value, "message": message} for line, value, message in rejections],
            )

    def first_rejections(self, *, job_id: str, limit: int) -> list[ImportRejection]:
        return list(self.session.scalars(select(ImportRejection).where(ImportRejection.job_id == job_id).order_by(ImportRejection.line).limit(limit)))

    def rejection_rows(self, *, job_id: str):
        """Every rejected row of an import, in file order, streamed."""
        statement = select(ImportRejection.line, ImportRejection.value, ImportRejection.message).where(ImportRejection.job_id == job_id).order_by(ImportRejection.line)
        return self.session.execute(statement.execution_options(yield_per=5000))

    def _owned_update(self, owned_job_id: str, owner: str, **values) -> bool:
        result = self.session.execute(
            update(Job)
            .where(Job.id == owned_job_id, Job.worker_id == owner, Job.status == RUNNING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
