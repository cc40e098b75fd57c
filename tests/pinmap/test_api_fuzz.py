"""Property-based fuzzing of every /api/v1 operation from our own OpenAPI document (Schemathesis).

Each generated request is sent three times through the WSGI app: anonymously, as an admin and
as an office director (bearer tokens). None may answer 5xx or contradict the document (status
code, content type, body schema), and a refused request (4xx) must leave every table as it was.
Deterministic: a fixed seed, derandomized Hypothesis, bounded examples (see SETTINGS).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import sessionmaker

from pinmap import create_app

from ..conftest import TEST_CONFIG
from .portal_fixtures import World

PRINCIPALS = ("anonymous", "admin", "own_director")
MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip
# Tables a write could touch; a refused request must leave each count as it was.
WATCHED = ("audit_log", "change_events", "progress_entries", "progress_revisions", "evidence",
           "review_comments", "window_reopenings", "visit_plans", "visit_stops", "visit_records",
           "cluster_sessions", "cluster_moves", "offices")  # fmt: skip
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261130,
    "generation": {"max-examples": 6, "deterministic": True},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
})  # fmt: skip


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


def _real_path(path: str, world: World) -> dict[str, Any]:
    """Path parameters that name things that exist, so generated bodies reach the services."""
    known = {"code": world.own.code, "fiscal_year": world.fy, "round_no": world.round_no,
             "kind": world.item.kind, "no": world.item.no, "cluster_no": 13, "round_id": 1,
             "entry_id": 1, "plan_id": 1, "evidence_id": 1}  # fmt: skip
    return {k: v for k, v in known.items() if "{" + k + "}" in path}


OPERATIONS = _operations()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(data=st.data())
def test_no_input_makes_a_5xx_or_contradicts_the_document(
    method: str, path: str, data: st.DataObject, app: Flask, world: World, connection: Connection
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    operation = schema[path][method]
    case = data.draw(st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        operation.as_strategy(GenerationMode.POSITIVE,
                              path_parameters=_real_path(path, world) or None),
    ))  # fmt: skip
    for who in PRINCIPALS:
        before = _counts(connection)
        # Identity: the WSGI client hands over bodies as sent, and ours are gzipped otherwise.
        headers = {**world.headers(who), "Accept-Encoding": "identity"}
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            assert _counts(connection) == before, (who, response.status_code)
