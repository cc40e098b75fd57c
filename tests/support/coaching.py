"""Coaching fixtures shared by the coaching, coaching-map and calendar tests: the blueprints,
a client, the portal world plus a coach, and the monitoring rounds."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.config import PROJECT_ROOT
from pinmap.models import MonitoringRound
from pinmap.services import coaching as svc

from .portal import World, add_coach


@pytest.fixture
def capp(app: Flask) -> Flask:
    from pinmap.api.coaching import bp as api_bp
    from pinmap.coaching import bp

    if "coaching" not in app.blueprints:
        app.register_blueprint(bp)
    if "coaching_api" not in app.blueprints:
        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(api_bp)
    return app


@pytest.fixture
def c(capp: Flask) -> FlaskClient:
    return capp.test_client()


@pytest.fixture
def w(world: World, session: Session) -> World:
    add_coach(world, session)
    svc.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
    session.commit()
    return world


def _round(session: Session, no: int) -> MonitoringRound:
    return session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=no)).one()
