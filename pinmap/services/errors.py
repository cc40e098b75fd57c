"""Errors services raise for the caller to turn into a 4xx; messages are translated at the edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

# Defined below every layer (pinmap.tables raises it too); re-exported for the services.
from ..refusal import N_ as N_
from ..refusal import ServiceError as ServiceError

T = TypeVar("T")


# The names people see for the fields services check, by the key the code uses. English
# msgids: translated when the message is formatted, in the reader's language.
FIELD_LABELS: dict[str, str] = {
    "opens_on": N_("Opens on"),
    "closes_on": N_("Closes on"),
    "what": N_("What was done"),
    "where": N_("Where"),
    "how": N_("How"),
    "result": N_("Result"),
    "status": N_("Status"),
    "indicator_value": N_("Indicator value"),
    "indicator_target": N_("Target"),
    "indicator_unit": N_("Unit"),
    "problems": N_("Problems, obstacles and suggestions"),
    "likely_success": N_("Likely success"),
    "served_goal": N_("How it served the goal"),
    "no_activity_reason": N_("Why there was no activity"),
    "no_activity_when": N_("When it will happen"),
    "background": N_("Background"),
    "objectives": N_("Objectives"),
    "process": N_("Process"),
    "results": N_("Results"),
    "success_factors": N_("Success factors"),
    "problem": N_("Problem"),
    "approach": N_("Approach"),
    "targets": N_("Targets"),
    "timeline": N_("Timeline"),
    "title": N_("Title"),
    "owner": N_("Owner"),
    "address": N_("Address"),
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "website": N_("Website"),
    "staff_count": N_("Staff count"),
    "director": N_("Director"),
    "name": N_("Name"),
    "position": N_("Position"),
    "comment": N_("Comment"),
    "reason": N_("Reason"),
}


class Labels:
    """Field names for a message parameter, translated only when the message is formatted.

    Services run without a request (CLI, ingestion), so they cannot pick a language; the web
    layer formats the message inside the request, which is when `str()` runs here.
    """

    def __init__(self, *keys: str) -> None:
        self.keys = keys

    def __str__(self) -> str:
        from flask_babel import gettext

        return ", ".join(gettext(FIELD_LABELS.get(k, k)) for k in self.keys)

    def __repr__(self) -> str:
        return f"Labels{self.keys!r}"


class RowLabel(Labels):
    """A field of one numbered row of a form, e.g. "Person 2: Name"."""

    def __init__(self, row_msgid: str, n: int, key: str) -> None:
        super().__init__(key)
        self.row_msgid, self.n = row_msgid, n

    def __str__(self) -> str:
        from flask_babel import gettext

        return gettext(self.row_msgid, n=self.n, field=super().__str__())


class Problems:
    """Several refusals as one message parameter, each translated when the message is."""

    def __init__(self, errors: list[ServiceError]) -> None:
        self.errors = errors

    def __str__(self) -> str:
        from flask_babel import gettext

        return " · ".join(gettext(e.msgid, **e.params) for e in self.errors)


class Collector:
    """Runs a form's checks and reports every failing field at once, not the first only."""

    def __init__(self) -> None:
        self.errors: list[ServiceError] = []

    def check(self, check: Callable[..., T], *args: Any, default: T) -> T:
        try:
            return check(*args)
        except ServiceError as err:
            self.errors.append(err)
            return default

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ServiceError(
                400,
                N_("Please correct these %(n)s fields: %(problems)s"),
                n=len(self.errors),
                problems=Problems(self.errors),
            )
