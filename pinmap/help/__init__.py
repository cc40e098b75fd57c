"""The help centre, /help: news from OBEC, the document library, questions and answers (and the
FAQ made of them), and how to reach the monitoring office."""

from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/help")

# One module per subject; registering their routes is importing them.
from . import contact, documents, home, news, questions  # noqa: E402,F401
