"""Live change fan-out: one LISTEN connection per process feeding every SSE client it serves.

Commits NOTIFY `pinmap_changes` with the change id; the broker reads new change rows in id order
(ids commit in order, see services.audit) and puts them on each subscriber's bounded queue. A
client that stops reading fills its queue and is dropped, so it never slows the others. After a
database restart the broker reconnects and reads every row after the last one it delivered.
Under gunicorn's gevent workers the thread below is a greenlet (no --preload: psycopg must be
imported after gevent patched the worker).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from .services.audit import CHANGE_CHANNEL

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
SELECT_AFTER = (
    "SELECT id, at, kind, office_code, audience, office_id, payload FROM change_events "
    "WHERE id > %s ORDER BY id LIMIT 1000"
)


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
        return {"id": self.id, "at": self.at, "kind": self.kind, "office_code": self.office_code,
                "payload": self.payload}  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Change:
        id_, at, kind, office_code, audience, office_id, payload = row
        return cls(id_, at.isoformat(), kind, office_code, audience, office_id, payload)


@dataclass(eq=False)
class Subscriber:
    """One connected client: what it may see, and its queue."""

    offices: frozenset[int] | None  # None: every office (OBEC); empty: public only
    queue: queue.Queue[Change | None] = field(default_factory=lambda: queue.Queue(QUEUE_SIZE))
    dropped: bool = False

    def may_see(self, change: Change) -> bool:
        if change.audience == "public":
            return True
        return self.offices is None or change.office_id in self.offices


class Broker:
    """Per-process LISTEN loop and subscriber registry (started on first subscription)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._started = False
        self.last_id: int | None = None
        self.connected = threading.Event()

    def subscribe(self, offices: frozenset[int] | None, after_id: int) -> Subscriber:
        """Register a client that has seen everything up to `after_id`.

        A stopped broker starts reading after that id, so nothing committed between the
        client's backlog query and the LISTEN is skipped.
        """
        sub = Subscriber(offices)
        with self._lock:
            self._subs.add(sub)
            if not self._started:
                self.last_id = after_id
                self._started = True
                threading.Thread(target=self._run, name="pinmap-listen", daemon=True).start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def _deliver(self, change: Change) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if sub.dropped or not sub.may_see(change):
                continue
            try:
                sub.queue.put_nowait(change)
            except queue.Full:
                # A client that does not read is cut off rather than buffered without bound.
                sub.dropped = True
                self.unsubscribe(sub)

    def _catch_up(self, conn: psycopg.Connection[Any]) -> None:
        while True:
            rows = conn.execute(SELECT_AFTER, [self.last_id]).fetchall()
            for row in rows:
                change = Change.from_row(row)
                self.last_id = change.id
                self._deliver(change)
            if len(rows) < 1000:
                return

    def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANGE_CHANNEL}")
                    self._catch_up(conn)  # whatever committed while we were away
                    self.connected.set()
                    backoff = 0.5
                    while True:
                        # The notifies() generator holds the connection, so leave it after the
                        # first notification (or 10 s of quiet, to notice a dead connection)
                        # and read every new row at once: a burst of commits is one query.
                        for _ in conn.notifies(timeout=10.0, stop_after=1):
                            pass
                        if self._stop_if_idle():
                            return
                        self._catch_up(conn)
            except psycopg.Error as exc:
                self.connected.clear()
                if self._stop_if_idle():
                    return
                log.warning("change listener lost the database (%s); retrying", exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _stop_if_idle(self) -> bool:
        """With nobody listening, release the connection; the next subscriber restarts us."""
        with self._lock:
            if self._subs:
                return False
            self._started = False
            self.last_id = None
            self.connected.clear()
            return True


def sse_format(change: Change | None = None, *, comment: str | None = None,
               retry_ms: int | None = None, last_id: int | None = None) -> str:  # fmt: skip
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
