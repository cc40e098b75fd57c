"""Hostile or careless payloads: each ends as a quarantined record or a failed, logged run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from ingest import jobs
from ingest.jobs import run_source

from ..support.ingest import Feed, IngestDB, page, progress_record
from ..support.progress_sql import ENTRIES


def _runs(db: IngestDB) -> list[tuple[str, str]]:
    with db.factory() as s:
        return [
            (r.outcome, r.error) for r in s.execute(text("SELECT outcome, error FROM ingest_runs"))
        ]


@pytest.mark.parametrize(
    ("kind", "path", "body", "says"),
    [
        ("progress-json", "/p", b'{"data": [' + b"[" * 100_000 + b"]}", "nested too deeply"),
        (
            "stats-csv",
            "/s.csv",
            b"office_code,as_of,schools,teachers,students,staff\n"
            + b"x" * 200_000
            + b",2024-06-10\n",
            "field larger than field limit",
        ),
    ],
)
def test_a_body_that_breaks_the_parser_fails_the_run_in_the_log(
    rollback_db: IngestDB, fixed_feed: Feed, kind: str, path: str, body: bytes, says: str
) -> None:
    url = fixed_feed({path: body})
    rollback_db.add_source(
        "demo-x", kind=kind, url=f"{url}{path}", timeout_seconds=1, options={"demo": True}
    )
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "failed" and says in result.error, result
    [(outcome, error)] = _runs(rollback_db)
    assert outcome == "failed" and says in error


def test_an_unexpected_error_still_ends_the_run_as_failed(
    rollback_db: IngestDB, fixed_feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("the unforeseen")

    monkeypatch.setattr(jobs, "apply_batch", broken)
    url = fixed_feed({"/p": page(progress_record())})
    rollback_db.add_source("demo-x", url=f"{url}/p", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "failed" and result.error == "RuntimeError: the unforeseen"
    assert _runs(rollback_db) == [("failed", "RuntimeError: the unforeseen")]


def test_an_interrupt_is_logged_and_still_interrupts(
    rollback_db: IngestDB, fixed_feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: Any, **_kw: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "apply_batch", interrupted)
    url = fixed_feed({"/p": page(progress_record())})
    rollback_db.add_source("demo-x", url=f"{url}/p", options={"demo": True})
    with pytest.raises(KeyboardInterrupt):
        run_source(rollback_db.factory, "demo-x")
    assert _runs(rollback_db) == [("failed", "interrupted (KeyboardInterrupt)")]


def test_query_strings_never_reach_the_run_log(rollback_db: IngestDB, fixed_feed: Feed) -> None:
    url = fixed_feed({})
    rollback_db.add_source("demo-x", url=f"{url}/gone?api_key=s3cret", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "failed" and "HTTP 404" in result.error
    [(_outcome, error)] = _runs(rollback_db)
    assert "s3cret" not in error and "s3cret" not in result.error
    assert "/gone?…" in error


def test_records_a_manual_submission_would_refuse_are_quarantined_with_the_field(
    rollback_db: IngestDB, fixed_feed: Feed
) -> None:
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    narrative = progress_record()["narrative"]
    expected = {
        "no-result": ("narrative.result", {"narrative": {**narrative, "result": ""}}),
        "script-only": (
            "narrative.what",
            {"narrative": {**narrative, "what": "<script>x()</script>"}},
        ),
        "no-reason": ("no_activity.reason", {"status": "not_started"}),
        "no-target": (
            "indicator.target",
            {"indicator": {"value": 5, "target": None, "unit": "number"}},
        ),
        "over-100": (
            "indicator.value",
            {"indicator": {"value": 120, "target": 100, "unit": "percent"}},
        ),
        "target-over": (
            "indicator.target",
            {"indicator": {"value": 50, "target": 150, "unit": "percent"}},
        ),
        "text-number": (
            "indicator.value",
            {"indicator": {"value": "12", "target": 20, "unit": "number"}},
        ),
        "text-target": (
            "indicator.target",
            {"indicator": {"value": 1, "target": "20", "unit": "number"}},
        ),
        "future": ("updated_at", {"updated_at": later}),
        "nul-text": ("narrative.how", {"narrative": {**narrative, "how": "on\x00line"}}),
        "nul-office": ("office_code", {"office_code": "spp-\x00krabi"}),
        "nul-link": (
            "evidence.0.url",
            {"evidence": [{"url": "https://e.go.th/\x00", "title": "t"}]},
        ),
        "nul-title": (
            "evidence.0.title",
            {"evidence": [{"url": "https://e.go.th/1", "title": "\x00"}]},
        ),
        "nul\x00id": ("id", {}),
    }
    records = [
        progress_record(rid, item={"kind": "policy", "no": 3}, **change)
        for rid, (_field, change) in expected.items()
    ]
    good = [
        progress_record(),
        progress_record("soon", item={"kind": "policy", "no": 2}, updated_at=soon),
    ]
    url = fixed_feed({"/p": page(good[0], *records, good[1])})
    rollback_db.add_source("demo-x", url=f"{url}/p", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-x")
    assert result.outcome == "partial", result
    assert result.counts["inserted"] == 2 and result.counts["quarantined"] == len(expected)
    with rollback_db.factory() as s:
        got = dict(s.execute(text("SELECT source_record_id, field FROM ingest_quarantine")).all())
    assert got == {rid.replace("\x00", "\\x00"): f for rid, (f, _c) in expected.items()}
    assert rollback_db.scalar(f"SELECT count(*) FROM {ENTRIES}") == 2  # noqa: S608 (a fixed row source, no input)
    # The same page again: the good ones are unchanged, the bad ones quarantined again.
    again = run_source(rollback_db.factory, "demo-x")
    assert again.counts["unchanged"] == 2 and again.counts["quarantined"] == len(expected)
