"""The actor behind a change, the append-only audit log, and public change records."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from sqlalchemy import ClauseElement, Engine, TextClause, event, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.util import find_tables

from ..models import AuditLog, ChangeEvent, User

CHANGE_CHANNEL = "pinmap_changes"
# Taken before a change id is drawn and held to commit, so change ids commit in increasing order
# and a reader resuming "after id N" can never miss a record that committed late with a smaller
# id. Every write holds it only for its last two round trips (see write_pending_changes).
CHANGE_ORDER_LOCK = 0x70696E6D  # "pinm"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Actor:
    """Who acts, from where, and when (tests pin `now`)."""

    user: User | None
    ip: str | None = None
    now: dt.datetime = field(default_factory=utcnow)

    @property
    def today_bangkok(self) -> dt.date:
        # Reporting deadlines are Thai calendar days (UTC+7, no daylight saving).
        return (self.now + dt.timedelta(hours=7)).date()


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    office_id: int | None = None,
) -> None:
    session.add(
        AuditLog(
            at=actor.now,
            user_id=actor.user.id if actor.user else None,
            ip=actor.ip,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            office_id=office_id,
            before=before,
            after=after,
        )
    )


class ChangeRolledBack(LookupError):
    """The id of a change record whose transaction (or savepoint) was rolled back."""


@dataclass(eq=False)
class PendingChange:
    """A change record that its transaction writes just before it commits.

    Reading `id` before then writes it (and every change queued before it) at once: the
    transaction then holds the change-order lock until it ends, as every write once did.
    """

    session: Session
    values: dict[str, Any]
    transaction: SessionTransaction | None
    _id: int | None = None
    rolled_back: bool = False

    @property
    def id(self) -> int:
        if self._id is None and not self.rolled_back:
            write_pending_changes(self.session)
        if self._id is None:
            raise ChangeRolledBack("this change was rolled back with its transaction")
        return self._id


_PENDING: Final = "pinmap.audit.pending_changes"

# One statement: the lock, then ids drawn in the order the changes were made, then a NOTIFY
# per change (delivered at commit). The insert reads from the lock's row, so no id is drawn
# before the lock is held.
_WRITE_SQL = (
    "WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(%(lock)s) AS held), "
    "ins AS (INSERT INTO change_events (kind, office_code, payload, audience, office_id) "
    "SELECT v.kind, v.office_code, v.payload, v.audience, v.office_id FROM lock, "
    "jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS v(kind text, office_code text, "
    "payload jsonb, audience text, office_id integer, ord integer) ORDER BY v.ord RETURNING id) "
    "SELECT id, pg_notify(%(channel)s, id::text) IS NULL FROM ins ORDER BY id"
)
_WRITE = text(
    _WRITE_SQL.replace("%(lock)s", ":lock")
    .replace("%(rows)s", ":rows")
    .replace("%(channel)s", ":channel")
)


def emit_change(
    session: Session,
    kind: str,
    office_code: str | None,
    payload: dict[str, Any],
    *,
    audience: str = "public",
    office_id: int | None = None,
) -> PendingChange:
    """Queue a change record on the caller's transaction; it is written, under the change-order
    lock, just before that transaction commits, and NOTIFYed at commit.

    Taking the lock here instead would hold it (and queue every other write behind it) for the
    rest of the request: under load, requests waited on it by the dozen and the pool ran dry.
    `audience="office"` records (drafts, review steps) reach only that office and OBEC.
    """
    if not session.in_transaction():
        session.begin()  # a transaction to end, so the hooks below always get to decide
    change = PendingChange(
        session,
        {
            "kind": kind,
            "office_code": office_code,
            "payload": payload,
            "audience": audience,
            "office_id": office_id,
        },
        session.get_nested_transaction() or session.get_transaction(),
    )
    session.info.setdefault(_PENDING, []).append(change)
    return change


def write_pending_changes(session: Session, *, and_commit: bool = False) -> None:
    """Write the transaction's queued change records now (one statement, under the lock).

    With `and_commit` the statement and COMMIT go to the server together (psycopg's pipeline
    mode, one round trip): the lock is then held only while the server runs them, never while
    this process, busy with other requests, gets round to sending the COMMIT. SQLAlchemy's own
    commit that follows finds nothing left to commit.
    """
    pending: list[PendingChange] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()  # whatever the changes describe is written first, outside the lock
    rows = [{**change.values, "ord": n} for n, change in enumerate(pending)]
    params = {"lock": CHANGE_ORDER_LOCK, "channel": CHANGE_CHANNEL, "rows": json.dumps(rows)}
    if and_commit:
        dbapi = session.connection().connection.dbapi_connection
        assert isinstance(dbapi, psycopg.Connection)  # noqa: S101 (the engine is psycopg's)
        with dbapi.pipeline(), dbapi.cursor() as cursor:
            cursor.execute(_WRITE_SQL, params)
            dbapi.commit()
            ids = [row[0] for row in cursor.fetchall()]
    else:
        ids = [row[0] for row in session.execute(_WRITE, params)]
    for change, id_ in zip(pending, ids, strict=True):
        change._id = id_


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: its changes wait for the real commit
    # A session on its own connection commits it; one joined to a caller's connection (tests)
    # only ends its part, and leaves the commit to the caller.
    write_pending_changes(session, and_commit=isinstance(session.bind, Engine))


def _reads_changes(state: ORMExecuteState) -> bool:
    statement = state.statement
    if isinstance(statement, TextClause):
        return "change_events" in statement.text
    if not isinstance(statement, ClauseElement):
        return False  # an executable that is no SQL expression names no table
    tables = find_tables(statement, check_columns=True, include_aliases=True, include_joins=True)
    return ChangeEvent.__table__ in tables


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading_changes(state: ORMExecuteState) -> None:
    # A transaction that reads change records sees its own, as when they were written at once.
    if state.session.info.get(_PENDING) and _reads_changes(state):
        write_pending_changes(state.session)


def _within(change: PendingChange, transaction: SessionTransaction) -> bool:
    t = change.transaction
    while t is not None:
        if t is transaction:
            return True
        t = t.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[PendingChange] = session.info.get(_PENDING, [])
    if not pending:
        return
    kept = []
    for change in pending:
        if previous_transaction.nested and not _within(change, previous_transaction):
            kept.append(change)
        else:
            change.rolled_back = True
    session.info[_PENDING] = kept


@event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    # Closed without commit or rollback: nothing of it was kept.
    for change in session.info.pop(_PENDING, []):
        change.rolled_back = True
