"""Liveness, readiness, and a 503 instead of a 500 while the database is away."""

from __future__ import annotations

import functools
import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Response, current_app, json, jsonify, make_response, request
from flask_babel import gettext as _
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.http import HTTP_STATUS_CODES

from onboarding.db import get_session
from onboarding.migrate import alembic_config
from onboarding.observability.logs import safe_path
from onboarding.pages import error_page

logger = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds; a database restart or failover usually takes about that long
READY_TIMEOUT_MS = 2000  # PostgreSQL's statement_timeout for the readiness queries
PROBLEM_PREFIXES = ("/api/", "/ops/", "/messaging/")


def healthz() -> Response:
    """The process is up and serving; touches nothing else."""
    return _no_store(jsonify(status="ok"))


def readyz() -> Response:
    """The database answers and carries this code's schema: ready for traffic."""
    failure = readiness(get_session())
    if failure is None:
        return _no_store(jsonify(status="ready"))
    code, detail = failure
    return unavailable(code, detail)


def readiness(session: Session) -> tuple[str, str] | None:
    """Why this process should not get traffic now, as (code, detail), or None when it should."""
    try:
        try:
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {READY_TIMEOUT_MS}")
            connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            logger.warning("Not ready: the database does not answer (%s)", describe(error))
            return "database_unreachable", "The database does not answer."
        try:
            current = _database_heads(connection)
        except SQLAlchemyError as error:
            logger.warning("Not ready: no migration revision read (%s)", describe(error))
            return "database_unreachable", "The database does not answer."
    finally:
        _discard(session)
    expected = code_heads()
    if current == expected:
        return None
    shown = ", ".join(sorted(current)) or "no schema"
    if current <= known_revisions():
        return "migrations_behind", (
            f"The database is at {shown}; this code needs {', '.join(sorted(expected))}. "
            "Run `onboarding init-db`."
        )
    return "migrations_unknown", (
        f"The database is at {shown}, a revision this code does not know "
        f"(it needs {', '.join(sorted(expected))}): newer code migrated it, or it is another "
        "database."
    )


def _database_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


@functools.cache
def _script() -> ScriptDirectory:
    # Read once per process: the code's migrations do not change while it runs.
    return ScriptDirectory.from_config(alembic_config(current_app.config["DATABASE_URL"]))


def code_heads() -> set[str]:
    return set(_script().get_heads())


def known_revisions() -> set[str]:
    return {revision.revision for revision in _script().walk_revisions()}


# --- the database going away during a request ---------------------------------------------------


def database_unavailable(error: DBAPIError) -> Response:
    """A lost or refused database connection answers 503 with Retry-After, not a 500 trace; the
    pool (pre-ping) replaces dead connections, so the next request after recovery works."""
    if not is_outage(error):
        raise error  # a bug, not an outage: Flask's usual 500
    _discard(get_session())
    logger.warning(
        "Database unavailable during %s %s: %s", request.method, safe_path(), describe(error)
    )
    if request.path.startswith(PROBLEM_PREFIXES):
        return unavailable(
            "database_unavailable", "The database is briefly unavailable; try again shortly."
        )
    body, status = error_page(
        503,
        _("We'll be right back"),
        _(
            "The hub can't reach its database at the moment. Nothing was changed; please try "
            "again in a few seconds."
        ),
    )
    response = make_response(body, status)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


# SQLite's result codes for a file it cannot reach or use now; SQLITE_ERROR (a bad statement, a
# missing table) is a bug and stays a 500.
SQLITE_OUTAGES = ("SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL")


def is_outage(error: DBAPIError) -> bool:
    """A lost or refused connection, or the server refusing work for now (shutdown, timeout,
    deadlock, serialization failure: psycopg's OperationalError); not a bad statement."""
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    name = getattr(error.orig, "sqlite_errorname", None)
    return name is None or name.startswith(SQLITE_OUTAGES)


def unavailable(code: str, detail: str) -> Response:
    """503 problem+json (RFC 9457), in the shape of the Partner API's problems."""
    body = {
        "type": f"urn:onboarding:problem:{code}",
        "title": HTTP_STATUS_CODES[503],
        "status": 503,
        "detail": detail,
        "code": code,
    }
    response = Response(json.dumps(body), 503, content_type="application/problem+json")
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return _no_store(response)


def describe(error: SQLAlchemyError) -> str:
    """The driver's one-line reason, never SQLAlchemy's text, which carries the statement and
    its parameters (emails, hashes) into the log."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first_line[:200]}"


def _discard(session: Session) -> None:
    try:
        session.rollback()
    except SQLAlchemyError:  # the connection is gone already; the pool replaces it
        session.close()


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
