"""Live change fan-out: one LISTEN connection per process feeding every SSE client it serves.

Commits NOTIFY `pinmap_changes` with the change id; the broker reads new change rows in id order
(ids commit in order, see services.audit) and puts them on each subscriber's bounded queue. A
client that stops reading fills its queue and is dropped, so it never slows the others. After a
database restart the broker reconnects and reads every row after the last one it delivered.
Under gunicorn's gevent workers the thread below is a greenlet (no --preload: psycopg must be
imported after gevent patched the worker).

The broker's position is its own: it starts after the newest change it reads itself, never
where a client says it is. A signed-in client's stream is bound to what signed it in (a session
row or an API token) and to the user's role and office; the broker checks these again when
`pinmap_revocations` names the user (sign-out, password change, deactivation, new rights, token
revoked: NOTIFYed by any process on any host), after every reconnect, at least every 10 s (a
token may expire), and before it hands out a batch with private changes. A stream whose grant
no longer holds ends.

The same connection tells the per-process API cache (pinmap.apicache) when public data changed:
triggers NOTIFY `pinmap_public_data` on every write to the tables its bodies read. A watcher is
also told whenever the connection is lost or made again, since notifications sent meanwhile were
never heard; watchers keep the listener running with no stream open.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from .config import LISTEN_RETRY, LISTEN_RETRY_MAX, LISTEN_RETRY_RANGE
from .services.accounts import REVOCATION_CHANNEL
from .services.audit import CHANGE_CHANNEL

log = logging.getLogger(__name__)

# NOTIFYed (by statement triggers, see the migration `public_data_notify`) on every write to the
# tables behind the cached public API bodies.
PUBLIC_DATA_CHANNEL = "pinmap_public_data"
LISTENER_NAME = "pinmap-listen"
QUEUE_SIZE = 256
QUIET_SECONDS = 10.0
SELECT_AFTER = (
    "SELECT id, at, kind, office_code, audience, office_id, payload FROM change_events "
    "WHERE id > %s ORDER BY id LIMIT 1000"
)
SELECT_NEWEST = "SELECT coalesce(max(id), 0) FROM change_events"
SELECT_USERS = "SELECT id, active, role, office_id FROM users WHERE id = ANY(%s)"
SELECT_LIVE_SESSIONS = "SELECT id FROM user_sessions WHERE id = ANY(%s) AND revoked_at IS NULL"
SELECT_LIVE_TOKENS = (
    "SELECT id FROM api_tokens WHERE id = ANY(%s) AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > now())"
)


class BrokerUnavailable(Exception):
    """The listener could not reach the database in time to serve a new stream."""


@dataclass(frozen=True)
class Change:
    id: int
    at: str
    kind: str
    office_code: str | None
    audience: str
    office_id: int | None
    payload: dict[str, Any]

    def public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            "office_code": self.office_code,
            "payload": self.payload,
        }

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Change:
        id_, at, kind, office_code, audience, office_id, payload = row
        return cls(id_, at.isoformat(), kind, office_code, audience, office_id, payload)


@dataclass(frozen=True)
class Grant:
    """What signed a stream in: the user as they were, and their session row or API token."""

    user_id: int
    role: str
    office_id: int | None
    session_id: int | None = None
    token_id: int | None = None


@dataclass(eq=False)
class Subscriber:
    """One connected client: what it may see, on whose authority, and its queue."""

    offices: frozenset[int] | None  # None: every office (OBEC); empty: public only
    grant: Grant | None = None  # None: anonymous
    queue: queue.Queue[Change | None] = field(default_factory=lambda: queue.Queue(QUEUE_SIZE))
    dropped: bool = False  # stopped reading
    ended: bool = False  # its grant no longer holds (signed out, deactivated, new rights)

    @property
    def open(self) -> bool:
        return not (self.dropped or self.ended)

    def may_see(self, change: Change) -> bool:
        if change.audience == "public":
            return True
        return self.offices is None or change.office_id in self.offices


class Broker:
    """Per-process LISTEN loop and subscriber registry (started on first subscription)."""

    def __init__(
        self, dsn: str, retry: float = LISTEN_RETRY, retry_max: float = LISTEN_RETRY_MAX
    ) -> None:
        """`retry`: seconds before the first reconnect attempt, doubling up to `retry_max`
        (PINMAP_LISTEN_RETRY and PINMAP_LISTEN_RETRY_MAX, kept within LISTEN_RETRY_RANGE)."""
        self.dsn = dsn
        lo, hi = LISTEN_RETRY_RANGE
        self.retry = min(max(retry, lo), hi)
        self.retry_max = min(max(retry_max, self.retry), hi)
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._started = False
        self.last_id: int | None = None
        self.connected = threading.Event()
        # Set once the listener has read its own starting point; until then a new client's
        # backlog query could miss what commits before that point.
        self.positioned = threading.Event()
        self._revoked_users: set[int] = set()
        self._checked_all_at = 0.0
        # Times the listener has read the change rows after waking (what a test that checks
        # that nothing was delivered waits on: a read, not a quiet spell).
        self.reads = 0
        self._watchers: list[Callable[[], None]] = []

    def watch(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every public data change, and whenever the connection is lost
        or made again (changes may have gone unheard); starts the listener and keeps it running.

        It runs on the listener's thread and must be quick and never raise.
        """
        with self._lock:
            self._watchers.append(callback)
            self._start_locked()

    def unwatch(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._watchers:
                self._watchers.remove(callback)

    def _start_locked(self) -> None:
        if not self._started:
            self._started = True
            self.positioned.clear()
            threading.Thread(target=self._run, name=LISTENER_NAME, daemon=True).start()

    def _tell_watchers(self) -> None:
        for callback in list(self._watchers):
            callback()

    def subscribe(
        self, offices: frozenset[int] | None, grant: Grant | None = None, *, timeout: float = 5.0
    ) -> Subscriber:
        """Register a client; it must read its backlog only after this returns.

        Everything committed after the broker's position at this moment reaches the client's
        queue, and its backlog query, run afterwards, sees everything up to that position, so
        nothing falls between the two (the stream skips what both deliver).
        """
        sub = Subscriber(offices, grant)
        with self._lock:
            self._subs.add(sub)
            self._start_locked()
        if not self.positioned.wait(timeout):
            self.unsubscribe(sub)
            raise BrokerUnavailable
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def _end(self, sub: Subscriber) -> None:
        sub.ended = True
        self.unsubscribe(sub)
        try:
            sub.queue.put_nowait(None)  # wakes the stream, which then sees `ended`
        except queue.Full:
            pass  # the stream finds the flag after the queue's next item

    def _deliver(self, change: Change) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if not sub.open or not sub.may_see(change):
                continue
            try:
                sub.queue.put_nowait(change)
            except queue.Full:
                # A client that does not read is cut off rather than buffered without bound.
                sub.dropped = True
                self.unsubscribe(sub)

    def _note(self, notify: psycopg.Notify) -> None:
        if notify.channel == REVOCATION_CHANNEL and notify.payload.isdigit():
            self._revoked_users.add(int(notify.payload))
        elif notify.channel == PUBLIC_DATA_CHANNEL:
            self._tell_watchers()

    def _check_grants(self, conn: psycopg.Connection[Any], user_ids: set[int] | None) -> None:
        """End the streams (of `user_ids`, or all) whose session, token, role or office changed."""
        if user_ids is None:
            self._checked_all_at = time.monotonic()
        with self._lock:
            subs = [
                s
                for s in self._subs
                if s.grant is not None and (user_ids is None or s.grant.user_id in user_ids)
            ]
        if not subs:
            return
        grants = [s.grant for s in subs if s.grant is not None]
        users = {
            row[0]: row[1:]
            for row in conn.execute(SELECT_USERS, [list({g.user_id for g in grants})])
        }
        sessions = [g.session_id for g in grants if g.session_id is not None]
        tokens = [g.token_id for g in grants if g.token_id is not None]
        live_sessions = {r[0] for r in conn.execute(SELECT_LIVE_SESSIONS, [sessions])}
        live_tokens = {r[0] for r in conn.execute(SELECT_LIVE_TOKENS, [tokens])}
        for sub in subs:
            grant = sub.grant
            assert grant is not None  # noqa: S101 (filtered above)
            user = users.get(grant.user_id)
            holds = (
                user is not None
                and user == (True, grant.role, grant.office_id)
                and (grant.session_id in live_sessions or grant.token_id in live_tokens)
            )
            if not holds:
                self._end(sub)

    def _check_revoked(self, conn: psycopg.Connection[Any]) -> None:
        users, self._revoked_users = self._revoked_users, set()
        if users:
            self._check_grants(conn, users)

    def _catch_up(self, conn: psycopg.Connection[Any]) -> None:
        while True:
            rows = conn.execute(SELECT_AFTER, [self.last_id]).fetchall()
            changes = [Change.from_row(row) for row in rows]
            if any(c.audience != "public" for c in changes):
                # Checked after reading the rows: a revocation that committed before these
                # changes is seen here even if its notification has not arrived yet.
                self._check_grants(conn, None)
            for change in changes:
                self.last_id = change.id
                self._deliver(change)
            if len(rows) < 1000:
                self.reads += 1
                return

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True, application_name=LISTENER_NAME)

    def _run(self) -> None:
        backoff = self.retry
        while True:
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANGE_CHANNEL}")
                    conn.execute(f"LISTEN {REVOCATION_CHANNEL}")
                    conn.execute(f"LISTEN {PUBLIC_DATA_CHANNEL}")
                    # Listening again: whatever changed while we were away was never heard.
                    self._tell_watchers()
                    if self.last_id is None:
                        # Our own starting point, read after LISTEN: nothing can fall between.
                        newest = conn.execute(SELECT_NEWEST).fetchone()
                        self.last_id = newest[0] if newest else 0
                        self.positioned.set()
                    # Revocations sent while we were away were never heard: check every grant.
                    self._revoked_users.clear()
                    self._check_grants(conn, None)
                    self._catch_up(conn)  # whatever committed while we were away
                    self.connected.set()
                    backoff = self.retry
                    while True:
                        # The notifies() generator holds the connection, so leave it after the
                        # first notification (or 10 s of quiet, to notice a dead connection)
                        # and read every new row at once: a burst of commits is one query.
                        woke = False
                        for notify in conn.notifies(timeout=QUIET_SECONDS, stop_after=1):
                            self._note(notify)
                            woke = True
                        for notify in conn.notifies(timeout=0):  # the rest of a burst
                            self._note(notify)
                        if self._stop_if_idle():
                            return
                        if woke:
                            self._check_revoked(conn)
                        if time.monotonic() - self._checked_all_at >= QUIET_SECONDS:
                            # Tokens expire without a notification, and one may have been lost.
                            self._check_grants(conn, None)
                        self._catch_up(conn)
            except psycopg.Error as exc:
                self.connected.clear()
                self._tell_watchers()
                if self._stop_if_idle():
                    return
                log.warning("change listener lost the database (%s); retrying", exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, self.retry_max)

    def _stop_if_idle(self) -> bool:
        """With nobody listening, release the connection; the next subscriber restarts us."""
        with self._lock:
            if self._subs or self._watchers:
                return False
            self._started = False
            self.last_id = None
            self.positioned.clear()
            self.connected.clear()
            return True


def shared_broker(
    extensions: dict[str, Any], database_url: str, config: Mapping[str, Any] | None = None
) -> Broker:
    """The app's one broker (in `app.extensions["pinmap"]`), made on first use; `config` (the
    app's) gives its retry intervals (pinmap.config), else the defaults."""
    if "broker" not in extensions:
        config = config or {}
        extensions["broker"] = Broker(
            database_url.replace("postgresql+psycopg://", "postgresql://", 1),
            retry=float(config.get("PINMAP_LISTEN_RETRY", LISTEN_RETRY)),
            retry_max=float(config.get("PINMAP_LISTEN_RETRY_MAX", LISTEN_RETRY_MAX)),
        )
    return extensions["broker"]


def sse_format(
    change: Change | None = None,
    *,
    comment: str | None = None,
    retry_ms: int | None = None,
    last_id: int | None = None,
) -> str:
    """One SSE block: a change event, a comment, or a retry/id preamble.

    A preamble's `id:` without `data:` dispatches no event, yet sets the browser's last event
    ID, so a client that reconnects before its first change still resumes where it started.
    """
    if comment is not None:
        return f": {comment}\n\n"
    if retry_ms is not None or last_id is not None:
        lines = [f"retry: {retry_ms}"] if retry_ms is not None else []
        if last_id is not None:
            lines.append(f"id: {last_id}")
        return "\n".join(lines) + "\n\n"
    assert change is not None  # noqa: S101 (callers pass a change or a keyword)
    data = json.dumps(change.public_dict(), ensure_ascii=False)
    return f"id: {change.id}\nevent: change\ndata: {data}\n\n"
