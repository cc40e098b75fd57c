"""/help/: the help centre's front page (latest news, the library's categories, how to reach
the monitoring office, questions and answers), and what the help pages share about the reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template
from flask_login import current_user

from .. import forms
from ..auth import can
from ..db import get_session
from ..fiscal import today_bangkok
from ..services import contact as contact_svc
from ..services import documents as doc_svc
from ..services import news as news_svc
from ..services.errors import N_
from . import bp

# The help forms' field names as people read them in a refusal ("%(field)s is required.").
# Added to the shared table here, so this package's fields are named where they are defined.
forms.LABELS.update(
    {
        "body": N_("Text"),
        "audience": N_("Who may read it"),
        "publish_from": N_("First day shown"),
        "publish_until": N_("Last day shown"),
        "category": N_("Category"),
        "description": N_("Description"),
        "office_name": N_("Office name"),
        "hours": N_("Opening hours"),
    }
)


def signed_in() -> bool:
    return bool(current_user.is_authenticated and getattr(current_user, "active", False))


def manager() -> bool:
    """Whether the reader writes news and keeps the library (they also see hidden items)."""
    user = current_user if current_user.is_authenticated else None
    return can(user, "manage_help")


def today() -> dt.date:
    return today_bangkok()


@bp.app_template_global()
def latest_news() -> list[Any]:
    """The news strip's items for this reader (templates/help/_news.html): one indexed query,
    nothing kept between requests, so every host shows what the database holds now."""
    return news_svc.latest(get_session(), signed_in(), today())


@bp.get("/")
def index() -> Any:
    session = get_session()
    docs = doc_svc.listing(session, signed_in(), manager=False)
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc.category] = counts.get(doc.category, 0) + 1
    return render_template(
        "help/index.html",
        news=news_svc.listing(session, signed_in(), today())[:5],
        categories=doc_svc.categories(),
        counts=counts,
        contact=contact_svc.current(session),
        manager=manager(),
    )
