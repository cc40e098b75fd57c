"""Clusters and the coaching year: cluster pages, OBEC dashboard, rounds and the visit planner."""

from flask import Blueprint

bp = Blueprint("coaching", __name__)

from . import views  # noqa: E402,F401
from .api import bp as api_bp  # noqa: E402,F401
