"""Admin pages: the admin home, users, reporting windows, quarter deadlines, approval levels, the
catalogue, audit log, ingestion."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import deadlines, framework, home, ingest, levels, outbox, views, workflow  # noqa: E402,F401
