"""Public pages: the national map and office profiles (read-only, Thai first)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401
