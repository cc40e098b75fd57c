"""What the ingestion tests share: a database handle, fixed-body feeds, and record builders."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ingest.sources import upsert
from pinmap.localdb import Cluster
from tools.readmodel import CELL_RULE, CELLS
from tools.reference_endpoint import Hold

from .databases import database_name

ALL = 245 * 21  # offices × FY2567 items, round 1: what one national sync of the demo feed lands


@dataclass
class IngestDB:
    url: str
    factory: sessionmaker[Session]

    def add_source(self, name: str, **spec: object) -> None:
        defaults: dict[str, object] = {
            "kind": "progress-json",
            "interval_seconds": 3600,
            "timeout_seconds": 60,
        }
        with self.factory.begin() as session:
            upsert(session, name, {**defaults, **spec})

    def scalar(self, query: str, **params: object) -> object:
        with self.factory() as session:
            return session.execute(text(query), params).scalar()


def without_autovacuum(cluster: Cluster, url: str) -> None:
    """Keep autovacuum off the tables of a database that tests write in transactions they roll
    back. Rolled-back rows are dead: autovacuum would record the tables as (nearly) empty while
    their pages remain, and the planner, taking them for empty, chose nested loops that made a
    later national sync in that database many times slower (one test: 4 s -> 118 s). Untouched,
    the statistics stay the template's, as on a fresh clone."""
    with psycopg.connect(cluster.superuser_url(database_name(url)), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                f"ALTER TABLE {table} SET (autovacuum_enabled = false,"  # noqa: S608 (catalogue names)
                " toast.autovacuum_enabled = false)"
            )


def exact_cells(db: IngestDB) -> list[tuple[object, ...]]:
    """The rows of `dashboard_cells`, after checking they are exactly the rule's."""
    with db.factory() as s:
        cells = [tuple(r) for r in s.execute(text(CELLS))]
        assert cells == [tuple(r) for r in s.execute(text(CELL_RULE))]
    return cells


# --- a feed of fixed bodies, for payloads the reference endpoint never sends ---------------------

Routes = dict[str, bytes | tuple[int, bytes]]


class FixedServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: Routes
    # Requests per path, and a gate on them (see tools.reference_endpoint.Hold).
    served: Counter[str]
    hold: Hold
    stopping: threading.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.stopping.set()
        self.hold.release()
        self.shutdown()
        self.server_close()


class _Fixed(BaseHTTPRequestHandler):
    server: FixedServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        with self.server.hold.cond:
            self.server.served[path] += 1
            ordinal = self.server.served[path]
        self.server.hold.pass_through(path, ordinal, self.server.stopping)
        found = self.server.routes.get(path, (404, b'{"error": "not found"}'))
        status, body = found if isinstance(found, tuple) else (200, found)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_fixed(routes: Routes) -> FixedServer:
    """Start a server of exact bodies by path (a `(status, body)` pair for another status)."""
    server = FixedServer(("127.0.0.1", 0), _Fixed)
    server.routes, server.served = routes, Counter()
    server.hold, server.stopping = Hold(), threading.Event()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


Feed = Callable[[Routes], str]


def progress_record(id_: str = "spp-krabi/policy-1/r1", **changes: Any) -> dict[str, Any]:
    """A complete FY2567 round-1 record that passes every rule; `changes` replace top-level keys."""
    record: dict[str, Any] = {
        "id": id_,
        "updated_at": "2024-03-25T09:00:00+07:00",
        "office_code": "spp-krabi",
        "fiscal_year": 2567,
        "item": {"kind": "policy", "no": 1},
        "round": 1,
        "status": "on_plan",
        "narrative": {
            "what": "อบรมครู",
            "where": "อ.เมืองกระบี่",
            "how": "ออนไลน์",
            "result": "ครู 120 คน",
        },
        "indicator": {"value": 60, "target": 80, "unit": "percent"},
    }
    record.update(changes)
    return record


def page(*records: dict[str, Any]) -> bytes:
    return json.dumps({"data": list(records), "next_cursor": None}).encode()
