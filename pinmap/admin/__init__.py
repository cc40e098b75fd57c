"""Admin pages: users, reporting windows, the item catalogue, the audit log, ingestion."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import framework, ingest, views  # noqa: E402,F401
