"""The workflow engine in tests: two report kinds of its own (three steps and two), registered
on import, and short ways to save, send and read a report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from pinmap.models import WorkflowReport
from pinmap.services import workflow as wf
from pinmap.services.audit import Actor
from pinmap.services.errors import N_, ServiceError

from .portal import World


def clean_text(report: WorkflowReport, data: dict[str, Any]) -> dict[str, Any]:
    text = str(data.get("text") or "")
    if len(text) > 50:
        raise ServiceError(400, N_("%(field)s is longer than %(n)s characters."), field="x", n=50)
    return {"text": text}


def missing_text(report: WorkflowReport, data: dict[str, Any]) -> list[str]:
    return [] if data.get("text") else ["text"]


THREE = wf.register(
    wf.KindSpec(
        "test_three",
        "test_report",
        (wf.CERTIFY, wf.REVIEW, wf.ACCEPT),
        clean_text,
        missing_text,
        {"text": N_("Text")},
    )
)
TWO = wf.register(
    wf.KindSpec("test_two", "test_report", (wf.CERTIFY, wf.REVIEW), clean_text, missing_text)
)


def actor(world: World, who: str) -> Actor:
    return Actor(world.users[who], "127.0.0.1", dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC))


def save_report(
    s: Session, w: World, text: str = "done", version: int | None = 0, **kw: Any
) -> Any:
    kind = kw.pop("kind", "test_three")
    who = kw.pop("who", "own_editor")
    return wf.save(s, actor(w, who), kind, w.own, w.fy, "subject:1", {"text": text}, version, **kw)


def version_of(report: WorkflowReport) -> int:
    assert report.current is not None
    return report.current.version


def where(report: WorkflowReport) -> tuple[str, int]:
    assert report.current is not None
    return report.current.state, report.current.level


def sent_report(s: Session, w: World, **kw: Any) -> WorkflowReport:
    report = save_report(s, w, **kw)
    return wf.submit(s, actor(w, "own_director"), report, version_of(report))
