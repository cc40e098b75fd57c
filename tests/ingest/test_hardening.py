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
from pinmap.models import WorkflowReport
from pinmap.services import progress
from pinmap.services.audit import Actor

from ..support.factories import UserFactory
from ..support.ingest import Feed, IngestDB, page, progress_record
from ..support.progress_sql import ENTRIES, REVISIONS

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
    rollback_db: IngestDB, http_server: Callable[..., _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_PROBE_TOKEN", TOKEN)
    other = http_server(body=page(progress_record()))
    source = http_server(location=_url(other, "/final/p"))
    rollback_db.add_source(
        "demo-x",
        url=_url(source, "/p"),
        credentials_env="INGEST_PROBE_TOKEN",
        options={"demo": True},
    )
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "ok" and result.counts["inserted"] == 1, result
    [to_source] = source.seen
    [to_other] = other.seen
    assert to_source["Authorization"] == f"Bearer {TOKEN}"
    assert to_other["path"] == "/final/p"
    assert not any(k.lower() == "authorization" for k in to_other), to_other
    assert TOKEN not in json.dumps(to_other)


def test_a_redirect_on_the_same_host_and_port_keeps_the_credential(
    rollback_db: IngestDB, http_server: Callable[..., _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_PROBE_TOKEN", TOKEN)
    server = http_server(body=page(progress_record()))
    server.location = _url(server, "/final/p")
    rollback_db.add_source(
        "demo-x",
        url=_url(server, "/p"),
        credentials_env="INGEST_PROBE_TOKEN",
        options={"demo": True},
    )
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "ok" and result.counts["inserted"] == 1, result
    assert [h["Authorization"] for h in server.seen] == [f"Bearer {TOKEN}"] * 2


def test_a_redirect_to_a_scheme_other_than_http_fails_the_run(
    rollback_db: IngestDB, http_server: Callable[..., _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_PROBE_TOKEN", TOKEN)
    source = http_server(location="ftp://127.0.0.1:1/p?key=abc")
    rollback_db.add_source(
        "demo-x",
        url=_url(source, "/p"),
        credentials_env="INGEST_PROBE_TOKEN",
        timeout_seconds=5,
        options={"demo": True},
    )
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "failed" and "unsupported URL scheme" in result.error, result
    assert "key=abc" not in result.error
    assert len(source.seen) == 1  # refused for good, not retried


# --- 2. two versions of one record in one page -----------------------------------------------------


def _revisions(db: IngestDB) -> list[tuple[int, str, str]]:
    with db.factory() as s:
        return [
            tuple(r)
            for r in s.execute(
                text(f"SELECT revision_no, state, result FROM {REVISIONS} ORDER BY id")  # noqa: S608 (a fixed row source, no input)
            )
        ]


def test_the_newer_of_two_versions_in_one_page_is_kept_whatever_the_order(
    rollback_db: IngestDB, fixed_feed: Feed
) -> None:
    narrative = progress_record()["narrative"]
    v1 = progress_record(narrative={**narrative, "result": "v1"})
    v2 = progress_record(
        updated_at="2024-03-26T09:00:00+07:00", narrative={**narrative, "result": "v2"}
    )
    url = fixed_feed({"/p": page(v1, v2)})
    rollback_db.add_source("demo-x", url=f"{url}/p", options={"demo": True})

    first = run_source(rollback_db.factory, "demo-x")
    assert first.outcome == "ok", first
    assert (first.counts["inserted"], first.counts["unchanged"]) == (1, 1), first.counts
    assert _revisions(rollback_db) == [(1, "submitted", "v2")]
    stored = rollback_db.scalar("SELECT source_updated_at::text FROM ingest_records")
    assert stored == "2024-03-26 02:00:00+00"

    replay = run_source(rollback_db.factory, "demo-x")
    assert replay.counts["unchanged"] == 2 and replay.counts["updated"] == 0, replay.counts
    assert _revisions(rollback_db) == [(1, "submitted", "v2")]

    with rollback_db.factory.begin() as s:
        reviewer = UserFactory.create(
            session=s, email="r@x.go.th", name="r", password="long password 1", role="reviewer"
        )
        entry = progress.Entry(s.scalars(select(WorkflowReport).filter_by(kind="progress")).one())
        progress.review(s, Actor(reviewer), entry, "approve", "", entry.current.version)
    after_approval = run_source(rollback_db.factory, "demo-x")
    assert after_approval.counts["unchanged"] == 2, after_approval.counts
    assert after_approval.counts["inserted"] + after_approval.counts["updated"] == 0
    assert _revisions(rollback_db) == [(1, "approved", "v2")]


def test_a_future_dated_duplicate_does_not_hide_the_version_that_can_land(
    rollback_db: IngestDB, fixed_feed: Feed
) -> None:
    narrative = progress_record()["narrative"]
    good = progress_record(narrative={**narrative, "result": "ok"})
    future = progress_record(
        updated_at="2999-01-01T00:00:00+00:00", narrative={**narrative, "result": "future"}
    )
    url = fixed_feed({"/p": page(good, future)})
    rollback_db.add_source("demo-x", url=f"{url}/p", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-x")
    assert (result.counts["inserted"], result.counts["quarantined"]) == (1, 1), result.counts
    assert _revisions(rollback_db) == [(1, "submitted", "ok")]


# --- 3. a lone surrogate quarantines its record, not the page ------------------------------------


def test_a_lone_surrogate_quarantines_only_its_record_with_the_field_named(
    rollback_db: IngestDB, fixed_feed: Feed
) -> None:
    narrative = progress_record()["narrative"]
    bad = {
        "s-what": ("narrative.what", {"narrative": {**narrative, "what": "half \ud83d pair"}}),
        "s-title": (
            "evidence.0.title",
            {"evidence": [{"url": "https://e.go.th/1", "title": "\udc00"}]},
        ),
        "s-link": ("evidence.0.url", {"evidence": [{"url": "https://e.go.th/\ud800"}]}),
        "s-office": ("office_code", {"office_code": "spp-\udfffkrabi"}),
        "s-id\ud800": ("id", {}),
    }
    records = [
        progress_record(rid, item={"kind": "policy", "no": 3}, **change)
        for rid, (_field, change) in bad.items()
    ]
    good = [
        progress_record(),
        # A surrogate in a field the contract does not know is ignored like the field itself.
        progress_record("extra", item={"kind": "policy", "no": 2}, comment="\ud800"),
    ]
    url = fixed_feed({"/p": page(good[0], *records, good[1])})
    rollback_db.add_source("demo-x", url=f"{url}/p", timeout_seconds=5, options={"demo": True})
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "partial", result
    assert result.counts["inserted"] == 2 and result.counts["quarantined"] == len(bad)
    with rollback_db.factory() as s:
        got = dict(s.execute(text("SELECT source_record_id, field FROM ingest_quarantine")).all())
        reasons = set(s.scalars(text("SELECT reason FROM ingest_quarantine")))
        raws = list(
            s.scalars(text("SELECT raw FROM ingest_quarantine WHERE field = 'narrative.what'"))
        )
    assert got == {rid.replace("\ud800", "\\ud800"): f for rid, (f, _c) in bad.items()}
    assert all("surrogate" in r for r in reasons), reasons
    assert "\\ud83d" in raws[0]
    assert rollback_db.scalar(f"SELECT count(*) FROM {ENTRIES}") == 2  # noqa: S608 (a fixed row source, no input)
