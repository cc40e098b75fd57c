"""Admin pages: users, reporting windows, quarter deadlines, approval levels, the item catalogue,
the audit log, ingestion."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import deadlines, framework, ingest, views, workflow  # noqa: E402,F401
