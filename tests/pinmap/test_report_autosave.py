"""The report forms' autosave endpoints (formkeeper.js `data-autosave`): a draft saved through
the engine answers `{"saved_at", "version"}` in Bangkok time; a refusal answers `{"error"}` with
its 4xx in the reader's language and saves nothing; the pages carry the keeper's words."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pinmap.models import Project
from pinmap.services import plans as plans_svc
from pinmap.services import projects as svc

from ..signin import sign_in
from ..support.portal import OWN, World, no_csrf
from ..support.projects import actor, form, open_quarter

HHMM = re.compile(r"\d\d:\d\d")


def _client(app: Flask, w: World, who: str, lang: str | None = None) -> FlaskClient:
    client = no_csrf(app).test_client()
    sign_in(client, w.users[who], lang=lang)
    return client


def _project(session: Session, w: World) -> Project:
    fy, _q = open_quarter()
    made = svc.save_project(session, actor(w, "own_editor"), w.own, fy, {"name": "โครงการ"})
    session.commit()
    return made


def test_a_quarter_autosaves_and_a_stale_one_is_refused(
    app: Flask, session: Session, world: World
) -> None:
    project = _project(session, world)
    _fy, q = open_quarter()
    url = f"/portal/offices/{OWN}/projects/{project.id}/quarters/{q}"
    client = _client(app, world, "own_editor")
    page = client.get(url).get_data(as_text=True)
    assert f'data-autosave="{url}/autosave"' in page and "data-autosave-status" in page
    r = client.post(url + "/autosave", data={**form(), "version": "0"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert HHMM.fullmatch(body["saved_at"]) and body["version"] >= 1
    session.expire_all()
    report = svc.report_of(session, project, q)
    assert report is not None and report.current is not None
    assert report.current.data["activity_progress"] == form()["activity_progress"]
    r = client.post(url + "/autosave", data={**form(activity_progress="ใหม่"), "version": "0"})
    assert r.status_code == 409 and "เวอร์ชัน" in r.get_json()["error"]
    english = _client(app, world, "own_editor", lang="en")
    r = english.post(url + "/autosave", data={**form(budget_disbursed="lots"), "version": "9"})
    assert r.status_code in (400, 409) and r.get_json()["error"].isascii()
    session.expire_all()
    report = svc.report_of(session, project, q)
    assert report is not None and report.current is not None
    assert report.current.data["activity_progress"] == form()["activity_progress"]


def test_a_plan_autosaves_and_a_plan_waiting_for_review_is_not_changed(
    app: Flask, session: Session, world: World
) -> None:
    fy = open_quarter()[0]
    url = f"/portal/offices/{OWN}/plan/{fy}"
    client = _client(app, world, "own_editor")
    fields = {k: "ร่างแผน" for k in plans_svc.FIELDS}
    r = client.post(url + "/autosave", data={**fields, "version": "0"})
    assert r.status_code == 200, r.get_json()
    version = r.get_json()["version"]
    director = _client(app, world, "own_director")
    r = director.post(url + "/submit", data={**fields, "version": str(version), "action": "submit"})
    assert r.status_code == 302
    session.expire_all()
    plan = plans_svc.get(session, world.own.id, fy)
    assert plan is not None and plan.current is not None
    r = client.post(url + "/autosave", data={**fields, "version": str(plan.current.version)})
    assert r.status_code == 409 and r.get_json()["error"]
    # Another office's editor gets a refusal, not a save.
    other = _client(app, world, "other_editor")
    assert other.post(url + "/autosave", data={**fields, "version": "0"}).status_code == 403


def test_every_page_carries_the_keepers_words_in_the_readers_language(
    app: Flask, world: World
) -> None:
    thai = _client(app, world, "own_editor").get(f"/portal/offices/{OWN}/projects")
    assert 'data-saved-text="บันทึกอัตโนมัติเมื่อ {time}"' in thai.get_data(as_text=True)
    english = _client(app, world, "own_editor", lang="en").get(f"/portal/offices/{OWN}/projects")
    assert 'data-saved-text="Saved at {time}"' in english.get_data(as_text=True)
