"""Property-based fuzzing of every /api/v1 operation from our own OpenAPI document (Schemathesis).

Each generated request is sent three times through the WSGI app: anonymously, as an admin and
as an office director (bearer tokens). None may answer 5xx or contradict the document (status
code, content type, body schema), and a refused request (4xx) must leave every table as it was.
Deterministic: a fixed seed, derandomized Hypothesis, bounded examples (see SETTINGS).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.config import PROJECT_ROOT
from pinmap.services import coaching as coaching_svc

from ..support.app import TEST_CONFIG, shared_app
from ..support.databases import rolled_back
from ..support.portal import World, WorldRows, full_report, world_of
from ..support.progress_sql import ENTRIES

PRINCIPALS = ("anonymous", "admin", "own_director")
MAX_EXAMPLES = 8
# negative_data_rejection: what the document forbids ("12" for a number, a string too long) must
# be refused, not accepted with a 2xx.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Tables a write could touch; a refused request must leave each count as it was.
WATCHED = (
    "audit_log",
    "change_events",
    "workflow_reports",
    "workflow_revisions",
    "evidence",
    "workflow_events",
    "window_reopenings",
    "visit_plans",
    "visit_stops",
    "visit_records",
    "cluster_sessions",
    "cluster_moves",
    "offices",
    "photos",
    "schools",
    "office_stats",
    "result_records",
    "best_practices",
    "best_practice_items",
)
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261130,
        "generation": {"max-examples": 6, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


def _document_app() -> Flask:
    """An app that only serves the OpenAPI document at collection time (no database yet);
    each test sends its requests to the `app` fixture instead."""
    unused = sessionmaker(bind=create_engine("postgresql+psycopg://unused@127.0.0.1:9/unused"))
    return create_app({**TEST_CONFIG, "SQLALCHEMY_URL": "unused"}, session_factory=unused)


# (schemathesis.pytest.from_fixture would build it from the `app` fixture, but it does not run
# under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _document_app(), config=CONFIG)
# An event stream never ends: it has its own tests (test_live.py).
schema = schema.exclude(path="/api/v1/stream")


def _counts(connection: Connection) -> dict[str, int]:
    union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in WATCHED)  # noqa: S608
    return {name: n for name, n in connection.execute(text(union))}


def _operations() -> list[tuple[str, str]]:
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        found.append((operation.method.upper(), operation.path))
    return found


@pytest.fixture(scope="module")
def fuzz_state(
    world_engine: Engine, world_database: WorldRows, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Connection, dict[str, Any]]]:
    """The module's transaction in the world's database, with the real ids built in it once.

    Every test runs in a savepoint of it that is rolled back (the `connection` below), so each
    starts from the same rows, as when each test built them again in a transaction of its own."""
    with rolled_back(world_engine) as (conn, factory):
        app = shared_app(
            {
                **TEST_CONFIG,
                "PINMAP_UPLOAD_DIR": str(tmp_path_factory.mktemp("api-fuzz") / "uploads"),
                "SQLALCHEMY_URL": world_database.url,
            },
            factory,
        )
        with factory() as session:
            world = world_of(session, world_database)
            ids = _real_ids(app, world, session, conn)
        yield conn, ids


@pytest.fixture
def connection(fuzz_state: tuple[Connection, dict[str, Any]]) -> Iterator[Connection]:
    """This module's tests: a savepoint of the module's transaction, rolled back after each."""
    conn = fuzz_state[0]
    savepoint = conn.begin_nested()
    try:
        yield conn
    finally:
        savepoint.rollback()


@pytest.fixture
def real_ids(
    fuzz_state: tuple[Connection, dict[str, Any]], connection: Connection
) -> dict[str, Any]:
    ids = dict(fuzz_state[1])
    # The previous test's savepoint was rolled back to these rows, not past them.
    found = connection.execute(
        text(
            "SELECT (SELECT count(*) FROM visit_plans WHERE id = :plan_id)"
            " + (SELECT count(*) FROM evidence WHERE id = :evidence_id)"
            " + (SELECT count(*) FROM best_practices WHERE id = :bp_id)"
        ),
        {k: ids[k] for k in ("plan_id", "evidence_id", "bp_id")},
    ).scalar()
    assert found == 3, ids
    return ids


def _real_ids(app: Flask, world: World, session: Session, connection: Connection) -> dict[str, Any]:
    """Things that exist, so that generated bodies also reach the services: monitoring rounds,
    a draft visit plan, a draft report with one piece of evidence."""
    coaching_svc.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
    session.commit()
    # The ORM session must hold no savepoint while the app writes: closing it would undo them.
    session.close()
    rounds = dict(
        connection.execute(
            text("SELECT round_no, id FROM monitoring_rounds WHERE fiscal_year = 2567")
        ).all()
    )
    round_id, onsite = rounds[3], rounds[2]
    client = app.test_client()
    r = client.post(
        "/api/v1/plans",
        headers=world.headers("admin"),
        json={"round_id": onsite, "cluster": 13, "radius_km": 60},
    )
    assert r.status_code == 201, r.get_json()
    plan_id = r.get_json()["id"]
    r = client.put(world.entry_url(), json=full_report(), headers=world.headers("own_editor"))
    assert r.status_code == 200, r.get_json()
    r = client.post(
        world.entry_url(suffix="/evidence"),
        headers=world.headers("own_editor"),
        json={"version": r.get_json()["version"], "url": "https://example.go.th/a"},
    )
    assert r.status_code == 201, r.get_json()
    evidence_id = r.get_json()["evidence"][0]["id"]
    entry_id = connection.execute(text(f"SELECT max(id) FROM {ENTRIES}")).scalar()  # noqa: S608 (a fixed row source, no input)
    # A submitted profile and best practice, for the profile-part routes' ids.
    lon, lat = connection.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM offices WHERE code = :c"), {"c": world.own.code}
    ).one()
    profile = {
        "version": 0,
        "address": "ถนนอุตรกิจ",
        "phone": "0 7561 1234",
        "people": [{"role": "director", "name": "นายผู้อำนวยการ"}],
        "location": {"lon": round(lon, 6), "lat": round(lat, 6)},
    }
    base = f"/api/v1/offices/{world.own.code}"
    r = client.put(base + "/profile/working", headers=world.headers("own_editor"), json=profile)
    assert r.status_code == 200, r.get_json()
    r = client.post(
        base + "/profile/submit",
        headers=world.headers("own_director"),
        json={"version": r.get_json()["revision"]["version"]},
    )
    assert r.status_code == 200, r.get_json()
    rev_id = r.get_json()["revision"]["id"]
    practice = {
        "title": "ห้องเรียนคุณภาพ",
        "fiscal_year": world.fy,
        "item_ids": [world.item.id],
        **dict.fromkeys(("background", "objectives", "process", "results"), "ก"),
    }
    r = client.post(base + "/best-practices", headers=world.headers("own_editor"), json=practice)
    assert r.status_code == 201, r.get_json()
    bp_id = r.get_json()["id"]
    return {
        "code": world.own.code,
        "fiscal_year": world.fy,
        "round_no": world.round_no,
        "kind": world.item.kind,
        "no": world.item.no,
        "cluster_no": 13,
        "round_id": round_id,
        "entry_id": entry_id,
        "plan_id": plan_id,
        "evidence_id": evidence_id,
        "rev_id": rev_id,
        "bp_id": bp_id,
    }


@pytest.fixture
def counted() -> list[dict[str, int]]:
    """The row counts of the database as it is now, when known (at most one entry).

    The examples of a test run one after the other in the test's transaction: the counts taken
    after a refused request are those before the next request, so they are not counted again.
    A request that was not refused empties it (its writes are not counted)."""
    return []


OPERATIONS = _operations()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_no_input_makes_a_5xx_or_contradicts_the_document(
    method: str,
    path: str,
    data: st.DataObject,
    app: Flask,
    world: World,
    connection: Connection,
    real_ids: dict[str, Any],
    counted: list[dict[str, int]],
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    operation = schema[path][method]
    real = {k: v for k, v in real_ids.items() if "{" + k + "}" in path}
    # Real path parameters first: the simplest branch, so the one Hypothesis draws most.
    case = data.draw(
        st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real or None),
            operation.as_strategy(GenerationMode.NEGATIVE),
            operation.as_strategy(GenerationMode.POSITIVE),
        )
    )
    for who in PRINCIPALS:
        # The counts after the previous refusal are the counts now: nothing ran in between.
        before = counted.pop() if counted else _counts(connection)
        # Identity: the WSGI client hands over bodies as sent, and ours are gzipped otherwise.
        headers = {**world.headers(who), "Accept-Encoding": "identity"}
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            after = _counts(connection)
            assert after == before, (who, response.status_code)
            counted.append(after)
