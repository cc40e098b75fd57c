"""The office portal (sign-in, an office's reports, editing and submitting) and the review desk."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")
review_bp = Blueprint("review", __name__, url_prefix="/review")

from . import review, views  # noqa: E402,F401
