"""Office profiles, schools, results, best practices, plans and exports: portal, review, public."""

from flask import Blueprint

bp = Blueprint("profiles", __name__)

from . import views  # noqa: E402,F401
