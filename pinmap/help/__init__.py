"""The help centre, /help: news from OBEC, the document library, questions and answers (and the
FAQ made of them), and how to reach the monitoring office."""

from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/help")
from . import questions  # noqa: E402,F401
