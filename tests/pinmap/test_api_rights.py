"""What the API shows to whom: coaches read offices' work (never change it); the public never
reads a reviewer's note."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ..support.factories import UserFactory, token_for
from ..support.portal import World, full_report


@pytest.fixture
def coach(session: Session, world: World) -> dict[str, str]:
    token = token_for(session, UserFactory(session=session, role="coach"))
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _approved_with_note(client: FlaskClient, w: World, note: str) -> dict:
    r = client.put(w.entry_url(), json=full_report(), headers=w.headers("own_editor"))
    r = client.post(
        w.entry_url(suffix="/submit"),
        json={"version": r.get_json()["version"]},
        headers=w.headers("own_director"),
    )
    entries = client.get(
        f"/api/v1/review/queue?fiscal_year={w.fy}", headers=w.headers("reviewer")
    ).get_json()["entries"]
    r = client.post(
        f"/api/v1/review/entries/{entries[0]['id']}/decision",
        headers=w.headers("reviewer"),
        json={"version": r.get_json()["version"], "decision": "approve", "comment": note},
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_public_progress_never_shows_the_reviewers_note(client: FlaskClient, world: World) -> None:
    _approved_with_note(client, world, "ภายใน: ผอ. ยังไม่ส่งหลักฐาน")
    public = client.get(f"/api/v1/progress?fiscal_year={world.fy}").get_json()
    (entry,) = [e for e in public["entries"] if e["office"] == world.own.code]
    assert entry["revision"]["what"] == "อบรมครู"
    assert "review_comment" not in entry["revision"]
    assert "ภายใน" not in str(public)
    # The office itself still reads it.
    own = client.get(
        f"/api/v1/portal/offices/{world.own.code}/entries?fiscal_year={world.fy}",
        headers=world.headers("own_editor"),
    ).get_json()
    assert own["entries"][0]["revision"]["review_comment"].startswith("ภายใน")


def test_coach_reads_offices_work_in_the_api_and_the_portal(
    client: FlaskClient, world: World, coach: dict[str, str]
) -> None:
    client.put(world.entry_url(), json=full_report(), headers=world.headers("own_editor"))
    r = client.get(
        f"/api/v1/portal/offices/{world.own.code}/entries?fiscal_year={world.fy}", headers=coach
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["entries"][0]["revision"]["state"] == "draft"
    r = client.get(world.entry_url(suffix="/revisions"), headers=coach)
    assert r.status_code == 200
    r = client.get(f"/portal/offices/{world.own.code}", headers=coach)
    assert r.status_code == 200


def test_coach_changes_nothing(client: FlaskClient, world: World, coach: dict[str, str]) -> None:
    rev = client.put(
        world.entry_url(), json=full_report(), headers=world.headers("own_editor")
    ).get_json()
    assert (
        client.put(world.entry_url(), json=full_report(rev["version"]), headers=coach).status_code
        == 403
    )
    assert (
        client.post(
            world.entry_url(suffix="/submit"), json={"version": rev["version"]}, headers=coach
        ).status_code
        == 403
    )
    assert (
        client.post(
            world.entry_url(suffix="/evidence"),
            headers=coach,
            json={"url": "https://example.go.th/"},
        ).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/review/queue?fiscal_year={world.fy}", headers=coach).status_code == 403
    )
