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

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ingest.sources import upsert
from tools.reference_endpoint import Hold

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
