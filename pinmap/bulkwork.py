"""The web side of bulk work: each report's outcome is committed (or rolled back) on its own.

services.bulk does one report's work at a time and yields its outcome; this commits a success
before the next report starts and rolls a refusal back, so one refused report undoes nothing
of the others. Shared by the portal, the review desk and the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import current_app, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .errors import service_message
from .services import bulk
from .services.bulk import Item, Outcome
from .services.errors import N_, ServiceError

MAX_FIELD = 40  # "report id:version"
LOST_RACE = N_(
    "Someone else saved this at the same moment. Reload it, then apply your changes again."
)


def commit_each(session: Session, outcomes: Iterator[Outcome]) -> list[Outcome]:
    """Run the outcomes, one transaction per report; the list says what became of each."""
    done: list[Outcome] = []
    for outcome in outcomes:
        if outcome.ok:
            try:
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                current_app.logger.warning("bulk: report %s not saved: %s", outcome.report_id, exc)
                outcome.error = ServiceError(409, LOST_RACE)
                outcome.version = None
        else:
            session.rollback()
        done.append(outcome)
    return done


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    """One outcome as the API gives it (the message in the reader's language)."""
    return {
        "id": outcome.report_id,
        "ok": outcome.ok,
        "status": 200 if outcome.error is None else outcome.error.status,
        "version": outcome.version,
        "message": service_message(outcome.error) if outcome.error is not None else None,
    }


def items_from_form(name: str = "report") -> list[Item]:
    """The chosen reports, as "id:version" values of the `name` checkboxes."""
    values = request.form.getlist(name)
    if len(values) > bulk.MAX_ITEMS:
        raise ServiceError(400, N_("Choose at most %(n)s reports at once."), n=bulk.MAX_ITEMS)
    items = []
    for value in values:
        report_id, _sep, version = value.partition(":")
        # ASCII digits only: str.isdigit also takes "²", which int() refuses.
        if (
            len(value) > MAX_FIELD
            or not (report_id.isascii() and report_id.isdigit())
            or not (version == "" or (version.isascii() and version.isdigit()))
        ):
            raise ServiceError(400, N_("A chosen report is not one of this list."))
        items.append(Item(int(report_id), int(version) if version else None))
    return items
