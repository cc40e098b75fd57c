"""Review links from before profiles and best practices moved onto the workflow engine: a
permanent redirect where the audit log knows the old id, else a 404 in the reader's language
that links to the queue."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, BestPractice, Office, WorkflowRevision

from ..signin import sign_in
from ..support.best_practices import made_practice
from ..support.portal import World
from ..support.profiles import approve_current, krabi_point, profile_form, save_profile
from ..support.profiles import wired as wired

OLD_PROFILE_ID = 2_000_000_001
OLD_COPY_ID = 2_000_000_002
UNKNOWN_ID = 2_000_000_003


def _old_audit(session: Session, **row: object) -> None:
    session.add(AuditLog(ip="127.0.0.1", **row))
    session.commit()


def test_an_old_profile_revision_id_redirects_to_its_revision(
    client: FlaskClient, world: World, session: Session
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    assert save_profile(client, profile_form(*krabi_point(session))).status_code == 302
    rev = approve_current(client, world, session)
    krabi = session.scalars(select(Office.id).filter_by(code="spp-krabi")).one()
    _old_audit(
        session,
        action="profile.submit",
        entity="profile_revision",
        entity_id=str(OLD_PROFILE_ID),
        office_id=krabi,
        after={"revision_no": rev.revision_no, "state": "submitted"},
    )
    sign_in(client, world.users["reviewer"], lang="th")
    r = client.get(f"/review/profiles/{OLD_PROFILE_ID}")
    assert r.status_code == 308
    assert r.headers["Location"].endswith(f"/review/profiles/{rev.id}")
    assert client.get(r.headers["Location"]).status_code == 200
    # A POST to an old address is resent by the browser to the new one (308 keeps the method).
    assert client.post(f"/review/profiles/{OLD_PROFILE_ID}", data={}).status_code == 308


def test_an_old_working_copy_id_redirects_to_its_practice(
    client: FlaskClient, world: World, session: Session
) -> None:
    practice = made_practice(client, world, session)
    _old_audit(
        session,
        action="best_practice.save",
        entity="best_practice",
        entity_id=str(OLD_COPY_ID),
        office_id=world.own.id,
        after={"replaces_id": practice.id, "state": "draft"},
    )
    sign_in(client, world.users["reviewer"], lang="th")
    r = client.get(f"/review/best-practices/{OLD_COPY_ID}")
    assert r.status_code == 308
    assert r.headers["Location"].endswith(f"/review/best-practices/{practice.id}")
    # The office's own pages and the public page of a copy's id go to the practice's too.
    sign_in(client, world.users["own_editor"], lang="th")
    base = "/portal/offices/spp-krabi/best-practices"
    r = client.get(f"{base}/{OLD_COPY_ID}?x=1")
    assert r.status_code == 308
    assert r.headers["Location"].endswith(f"{base}/{practice.id}?x=1")
    assert client.get(r.headers["Location"]).status_code == 200
    r = client.get(f"/best-practices/{OLD_COPY_ID}")
    assert r.status_code == 308 and r.headers["Location"].endswith(f"/best-practices/{practice.id}")
    assert client.get(f"{base}/{UNKNOWN_ID}").status_code == 404
    assert client.get(f"/best-practices/{UNKNOWN_ID}").status_code == 404


def test_an_unknown_old_id_is_a_friendly_404_with_the_queue(
    client: FlaskClient, world: World, session: Session
) -> None:
    assert session.get(WorkflowRevision, UNKNOWN_ID) is None
    assert session.get(BestPractice, UNKNOWN_ID) is None
    sign_in(client, world.users["reviewer"], lang="th")
    for url in (f"/review/profiles/{UNKNOWN_ID}", f"/review/best-practices/{UNKNOWN_ID}"):
        r = client.get(url)
        assert r.status_code == 404
        html = r.get_data(as_text=True)
        assert 'href="/review/profiles"' in html
        assert "คิวการตรวจ" in html or "รายการรอตรวจ" in html
