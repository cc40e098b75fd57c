"""Defects an outside probe found: a credential sent across a redirect, the older of two versions
in one page remembered, one lone surrogate failing a whole page."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select, text

from ingest.jobs import run_source
from pinmap.models import ProgressEntry
from pinmap.services import progress
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor

from .conftest import IngestDB, Routes, page, progress_record

Feed = Callable[[Routes], str]
TOKEN = "s3cret-source-token"


# --- 1. the credential stays with the host it was configured for --------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[dict[str, str]]
    location: str  # where to redirect; empty: serve the page
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, **dict(self.headers.items())})
        if self.server.location and not self.path.startswith("/final"):
            self.send_response(302)
            self.send_header("Location", self.server.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[Callable[[str, bytes], _Server]]:
    servers: list[_Server] = []

    def start(location: str = "", body: bytes = b"") -> _Server:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.seen, server.location, server.body = [], location, body
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_a_redirect_to_another_host_does_not_carry_the_credential(
    ingest_db: IngestDB, http_server: Callable[..., _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_PROBE_TOKEN", TOKEN)
    other = http_server(body=page(progress_record()))
    source = http_server(location=_url(other, "/final/p"))
    ingest_db.add_source("demo-x", url=_url(source, "/p"), credentials_env="INGEST_PROBE_TOKEN",
                         options={"demo": True})  # fmt: skip
    result = run_source(ingest_db.factory, "demo-x")
    assert result.outcome == "ok" and result.counts["inserted"] == 1, result
    [to_source] = source.seen
    [to_other] = other.seen
    assert to_source["Authorization"] == f"Bearer {TOKEN}"
    assert to_other["path"] == "/final/p"
    assert not any(k.lower() == "authorization" for k in to_other), to_other
    assert TOKEN not in json.dumps(to_other)


def test_a_redirect_on_the_same_host_and_port_keeps_the_credential(
    ingest_db: IngestDB, http_server: Callable[..., _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_PROBE_TOKEN", TOKEN)
    server = http_server(body=page(progress_record()))
    server.location = _url(server, "/final/p")
    ingest_db.add_source("demo-x", url=_url(server, "/p"), credentials_env="INGEST_PROBE_TOKEN",
                         options={"demo": True})  # fmt: skip
    result = run_source(ingest_db.factory, "demo-x")
    assert result.outcome == "ok" and result.counts["inserted"] == 1, result
    assert [h["Authorization"] for h in server.seen] == [f"Bearer {TOKEN}"] * 2


def test_a_redirect_to_a_scheme_other_than_http_fails_the_run(
    ingest_db: IngestDB, http_server: Callable[..., _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_PROBE_TOKEN", TOKEN)
    source = http_server(location="ftp://127.0.0.1:1/p?key=abc")
    ingest_db.add_source("demo-x", url=_url(source, "/p"), credentials_env="INGEST_PROBE_TOKEN",
                         timeout_seconds=5, options={"demo": True})  # fmt: skip
    result = run_source(ingest_db.factory, "demo-x")
    assert result.outcome == "failed" and "unsupported URL scheme" in result.error, result
    assert "key=abc" not in result.error
    assert len(source.seen) == 1  # refused for good, not retried
