"""Checks every HTML form runs on what was typed before anything reaches the database.

A form's values arrive as text. PostgreSQL refuses a NUL character in text, an integer past its
column's range and a string longer than its column, each as an error in the middle of a
transaction; a float can be NaN or infinite. These checks turn each into a 400 ServiceError
naming the field and the limit, so the view re-renders the form with what was typed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, overload

from .fiscal import parse_day
from .services.errors import FIELD_LABELS, N_, ServiceError

SMALLINT = (-32_768, 32_767)
INTEGER = (-(2**31), 2**31 - 1)
ID_RANGE = (1, 2**31 - 1)  # serial ids
# Buddhist Era fiscal years the app can hold and the date library can convert (year - 543 >= 1).
FISCAL_YEARS = (2400, 2800)
# A day (either form parse_day reads), then the time: "01/09/2569 09:00", "2024-06-12T09:00".
_MOMENT = re.compile(r"(\S+?)[T ]\s*(\d{1,2})[:.](\d{2})(?::00)?")

# Names of form fields the services' FIELD_LABELS do not know, as people see them.
LABELS: dict[str, str] = {
    "link_url": N_("Link"),
    "link_title": N_("Title"),
    "file_title": N_("Title"),
    "comment": N_("Comment"),
    "reason": N_("Reason"),
    "until": N_("New closing date"),
    "label_th": N_("Label (Thai)"),
    "label_en": N_("Label (English)"),
    "fiscal_year": N_("Fiscal year"),
    "round_no": N_("Round"),
    "opens_on": N_("Opens on"),
    "closes_on": N_("Closes on"),
    "starts_on": N_("Starts on"),
    "ends_on": N_("Ends on"),
    "starts_at": N_("Date and time"),
    "link": N_("Link"),
    "cluster": N_("Cluster"),
    "radius_km": N_("Radius (km)"),
    "k": N_("Nearest offices"),
    "round_id": N_("Monitoring round"),
    "team": N_("Team"),
    "attendees": N_("Attendees"),
    "notes": N_("Notes"),
    "follow_ups": N_("Follow-ups"),
    "agenda": N_("Agenda"),
    "report": N_("Report"),
    "visit_date": N_("Visit date"),
    "visited_on": N_("Visited on"),
    "note": N_("Note"),
    "office": N_("Office"),
    "office_code": N_("Office"),
    "lat": N_("Latitude"),
    "lon": N_("Longitude"),
    "as_of": N_("As of"),
    "teachers": N_("Teachers"),
    "students": N_("Students"),
    "staff": N_("Staff"),
    "url": N_("URL"),
    "cron": N_("Schedule (cron)"),
    "options": N_("Options"),
    "credentials_env": N_("Credential variable"),
    "interval_seconds": N_("Interval (seconds)"),
    "timeout_seconds": N_("Timeout (seconds)"),
    "evidence_id": N_("Evidence"),
    "conflict_id": N_("Conflict"),
    "version": N_("Version"),
    "quarter": N_("Quarter"),
    "due_on": N_("Deadline"),
}


class FieldLabel:
    """A field's name for a message, translated only when the message is formatted."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        from flask_babel import gettext

        msgid = LABELS.get(self.name) or FIELD_LABELS.get(self.name)
        if msgid is None and self.name[:1] == "p" and "_" in self.name:
            msgid = FIELD_LABELS.get(self.name.split("_", 1)[1])  # profile rows: p0_name
        return gettext(msgid) if msgid else self.name

    def __repr__(self) -> str:
        return f"FieldLabel({self.name!r})"


def check_text(
    form: Mapping[str, Any], limits: Mapping[str, int] | None = None, *, default_limit: int = 20_000
) -> None:
    """Refuse a NUL character in any field, and a value longer than its limit (never cut it).

    `form` is a request's form (every value of a repeated field is checked).
    """
    limits = limits or {}
    getlist = getattr(form, "getlist", None)
    for name in form:
        if name == "csrf_token":  # Flask-WTF's to check
            continue
        values: Iterable[Any] = getlist(name) if getlist else [form[name]]
        for value in values:
            text = str(value)
            if "\x00" in text:
                raise ServiceError(
                    400,
                    N_("%(field)s contains a NUL character; remove it."),
                    field=FieldLabel(name),
                )
            limit = limits.get(name, default_limit)
            if len(text) > limit:
                raise ServiceError(
                    400,
                    N_("%(field)s is longer than %(n)s characters."),
                    field=FieldLabel(name),
                    n=limit,
                )


# A required field either gives its value or raises: the overloads say so to the type checker.
@overload
def whole(value: Any, name: str, lo: int, hi: int, *, required: Literal[True]) -> int: ...
@overload
def whole(value: Any, name: str, lo: int, hi: int, *, required: bool = False) -> int | None: ...
def whole(value: Any, name: str, lo: int, hi: int, *, required: bool = False) -> int | None:
    """An integer typed into `name`, within [lo, hi]; empty gives None unless required."""
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise ServiceError(400, N_("%(field)s is required."), field=FieldLabel(name))
        return None
    # ASCII digits only: int() would take "٣" or "1_000", and "²".isdigit() is true.
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        raise ServiceError(
            400,
            N_("%(field)s must be a whole number from %(min)s to %(max)s."),
            field=FieldLabel(name),
            min=lo,
            max=hi,
        )
    number = int(text)
    if not lo <= number <= hi:
        raise ServiceError(
            400,
            N_("%(field)s must be a whole number from %(min)s to %(max)s."),
            field=FieldLabel(name),
            min=lo,
            max=hi,
        )
    return number


def decimal(value: Any, name: str, lo: float, hi: float) -> float | None:
    """A finite decimal number typed into `name`, within [lo, hi]; empty gives None."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        number = float(text) if text.isascii() and "_" not in text else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ServiceError(
            400,
            N_("%(field)s must be a number from %(min)s to %(max)s."),
            field=FieldLabel(name),
            min=_num(lo),
            max=_num(hi),
        )
    return number


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@overload
def day(value: Any, name: str, *, required: Literal[True]) -> dt.date: ...
@overload
def day(value: Any, name: str, *, required: bool = False) -> dt.date | None: ...
def day(value: Any, name: str, *, required: bool = False) -> dt.date | None:
    """A date typed as dd/mm/yyyy (Buddhist Era or Common Era year) or yyyy-mm-dd."""
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise ServiceError(400, N_("%(field)s is required."), field=FieldLabel(name))
        return None
    parsed = parse_day(text) if len(text) <= 20 else None
    # Far-off years are typing slips; they also overflow date arithmetic (a day after 9999-12-31).
    if parsed is None or not 1900 <= parsed.year <= 2200:
        raise ServiceError(
            400,
            N_("%(field)s must be a date written day/month/year, e.g. 01/09/2569."),
            field=FieldLabel(name),
        )
    return parsed


def moment(value: Any, name: str) -> dt.datetime:
    """A date and time typed as dd/mm/yyyy HH:MM (either era) or YYYY-MM-DDTHH:MM."""
    text = str(value if value is not None else "").strip()
    found = _MOMENT.fullmatch(text) if len(text) <= 30 else None
    parsed = None
    if found:
        day_part = parse_day(found.group(1))
        hour, minute = int(found.group(2)), int(found.group(3))
        if day_part is not None and hour < 24 and minute < 60:
            parsed = dt.datetime.combine(day_part, dt.time(hour, minute))
    if parsed is None or not 1900 <= parsed.year <= 2200:
        raise ServiceError(
            400,
            N_("%(field)s must be a date and time, e.g. 12/06/2567 09:00."),
            field=FieldLabel(name),
        )
    return parsed


def one_of(value: Any, name: str, allowed: Iterable[str]) -> str:
    text = str(value if value is not None else "")
    choices = list(allowed)
    if text not in choices:
        raise ServiceError(
            400,
            N_("%(field)s must be one of: %(choices)s."),
            field=FieldLabel(name),
            choices=", ".join(choices),
        )
    return text


def unknown_action() -> ServiceError:
    return ServiceError(400, N_("This form does not know that button; reload the page."))


def same_button(name: str) -> None:
    """Refuse a form whose `action` field names another button than this address's own.

    The address decides what a button does; the button still names itself in `action`. A page
    cached before each button had its own address posts every button to the page's address,
    and would otherwise save where the user pressed "submit".
    """
    from flask import request

    sent = request.form.get("action")
    if sent is not None and sent != name:
        raise unknown_action()


def file_name(name: str, limit: int = 255) -> str:
    """The name of an uploaded file as the user's disk had it: kept as given, or refused."""
    if any(not ch.isprintable() for ch in name):
        raise ServiceError(400, N_("The file name contains control characters; rename the file."))
    if len(name) > limit:
        raise ServiceError(
            400, N_("The file name is longer than %(n)s characters; rename the file."), n=limit
        )
    return name


def path_in_range(value: int, lo: int, hi: int) -> None:
    """A number in the address past its column's range names nothing: 404, not a DB error."""
    if not lo <= value <= hi:
        from flask import abort

        abort(404)
