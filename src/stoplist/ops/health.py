"""`/healthz` (the process answers) and `/readyz` (the database answers and is migrated)."""

import logging
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stoplist import revisions
from stoplist.errors import StoplistError
from stoplist.ops.database import DatabaseUnavailable

log = logging.getLogger("stoplist.ops")

router = APIRouter()


class NotReady(StoplistError):
    """The server runs but cannot serve yet: its database is unreachable or not migrated."""

    status_code = 503
    code = "not_ready"
    message = "The service is not ready."


def code_head_revision() -> str | None:
    """The newest migration this code ships: a property of the code, read once per process (from the
    migrations' files, without Alembic: see stoplist.revisions)."""
    return revisions.head()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    """Liveness: the process serves requests. Touches no database, so a database outage does not restart the server."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers within the timeout and is at the code's head revision."""
    ops = request.app.state.ops
    error: BaseException | None = None
    try:
        reason = _not_ready_reason(await ops.revisions.wait_async(ops.ready_timeout), ops.head)
    except TimeoutError:
        reason = f"the database did not answer within {ops.ready_timeout:g} s"
    except DatabaseUnavailable as exc:
        reason, error = f"the database is {exc.summary}; the server log has the details", exc.__cause__ or exc
    except Exception as exc:  # noqa: BLE001 - a probe answers 503, never 500
        reason, error = f"the readiness check failed ({type(exc).__name__}); the server log has the details", exc
    if reason is not None:
        if ops.last_not_ready != reason:  # log changes, not every probe
            log.warning("not ready: %s", reason, exc_info=error)
            ops.last_not_ready = reason
        raise NotReady(f"Not ready: {reason}.")
    if ops.last_not_ready is not None:
        log.info("ready: the database is at revision %s", ops.head)
        ops.last_not_ready = None
    return JSONResponse({"status": "ready", "revision": ops.head})


def _not_ready_reason(revisions: list[str] | None, head: str | None) -> str | None:
    if revisions is None:
        return f"the database is not migrated (it has no alembic_version table, head is {head}): run `stoplist migrate`"
    if revisions != [head]:
        at = ", ".join(revisions) or "no revision"
        return f"the database is not migrated (at {at}, head is {head}): run `stoplist migrate`"
    return None
