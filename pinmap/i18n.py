"""Locale choice and Thai display conventions: Buddhist Era years and Thai-grouped numbers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from babel import negotiate_locale
from flask import Flask, request
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape

from .fiscal import be_year, format_day_input, to_bangkok
from .itemnames import item_set_name
from .services.errors import N_, Labels

LOCALES = ("th", "en")
LOCALE_COOKIE = "pinmap_lang"
THAI_MONTHS_ABBR = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)


def select_locale() -> str:
    """?lang= first, then the language cookie; Thai for pages, Accept-Language for the API.

    Pages default to Thai even for English browsers: Thai first is the product's rule, and many
    Thai government desktops run English-language browsers.
    """
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    if request.path.startswith("/api/"):
        # By preference order, each tag falling back to its language ("en-GB" → en), so a
        # lower-ranked exact "th" does not beat a preferred regional English.
        preferred = [tag for tag, _q in request.accept_languages]
        return negotiate_locale(preferred, LOCALES, sep="-") or "th"
    cookie = request.cookies.get(LOCALE_COOKIE)
    return cookie if cookie in LOCALES else "th"


def format_date_be(value: dt.date | dt.datetime | None, locale: str | None = None) -> str:
    """'21 พ.ย. 2569' in Thai; '21 Nov 2569 BE' in English (the year is always Buddhist Era).

    A moment is first taken to Bangkok: 23:30 UTC is already the next day there."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = to_bangkok(value)
    loc = locale or str(get_locale() or "th")
    year = be_year(value.year)
    if loc == "th":
        return f"{value.day} {THAI_MONTHS_ABBR[value.month - 1]} {year}"
    return f"{value.day} {value.strftime('%b')} {year} BE"


def format_time_bkk(value: dt.datetime | None) -> str:
    """'14:05': the moment's wall-clock time in Bangkok (a naive moment is Bangkok time)."""
    return "" if value is None else to_bangkok(value).strftime("%H:%M")


def format_moment_be(value: dt.datetime | None, locale: str | None = None) -> str:
    """'21 พ.ย. 2569 14:05' (Bangkok time); the audit log, ingestion runs, review trails."""
    if value is None:
        return ""
    return f"{format_date_be(value, locale)} {format_time_bkk(value)}"


def format_duration(seconds: float | None) -> str:
    """'ทุก 1 วัน' rather than 'ทุก 86400 วินาที': the largest unit that divides it exactly."""
    if seconds is None:
        return ""
    whole = int(seconds)
    if whole >= 86_400 and whole % 86_400 == 0:
        return ngettext("%(num)s day", "%(num)s days", whole // 86_400)
    if whole >= 3_600 and whole % 3_600 == 0:
        return ngettext("%(num)s hour", "%(num)s hours", whole // 3_600)
    if whole >= 60 and whole % 60 == 0:
        return ngettext("%(num)s minute", "%(num)s minutes", whole // 60)
    return ngettext("%(num)s second", "%(num)s seconds", whole)


# Rich text that already marks its own blocks keeps them; text typed as plain lines does not.
_BLOCK_TAG = re.compile(r"<(p|br|li|ul|ol|blockquote)\b", re.IGNORECASE)


def rich_lines(html: str | None) -> Markup:
    """Stored rich text (already cleaned against the allowlist by services/sanitize.py) with the
    line breaks of text typed without markup kept as <br>."""
    if not html:
        return Markup("")
    text = str(html).replace("\r\n", "\n").replace("\r", "\n")
    if _BLOCK_TAG.search(text):
        return Markup(text)  # noqa: S704 (cleaned on the way in, see services/sanitize.py)
    return Markup(text.strip("\n").replace("\n", "<br>\n"))  # noqa: S704 (same)


def keep_lines(text: str | None) -> Markup:
    """Typed text with its line breaks: each line escaped, joined by <br> (never raw HTML)."""
    if not text:
        return Markup("")
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def date_input(
    name: str,
    value: dt.date | str | None = None,
    *,
    required: bool = False,
    id: str | None = None,  # noqa: A002 - the HTML attribute's own name
    with_time: bool = False,
) -> Markup:
    """A text field for a date that shows and takes Buddhist Era years in Thai (01/09/2569) and
    Common Era ones in English; forms.day() reads either era and yyyy-mm-dd, so what is stored
    is a date. A string value is what was typed and comes back as it was (a refused form)."""
    loc = str(get_locale() or "th")
    if isinstance(value, dt.datetime):
        shown = f"{format_day_input(to_bangkok(value).date(), loc)} {format_time_bkk(value)}"
    elif isinstance(value, dt.date):
        shown = format_day_input(value, loc)
    else:
        shown = str(value or "")  # what was typed, back as it was (a refused form)
    hint = _("dd/mm/yyyy (B.E.)") if loc == "th" else _("dd/mm/yyyy")
    if with_time:
        hint += " " + _("hh:mm")
    attrs = {
        "type": "text",
        "name": name,
        "value": shown,
        "id": id,
        "inputmode": "numeric",
        "autocomplete": "off",
        "placeholder": hint,
        "title": hint,
        "size": 16 if with_time else 10,
        "maxlength": 20 if with_time else 10,
        "data-date-input": "time" if with_time else "day",
        "data-era": "be" if loc == "th" else "ce",
        "data-invalid": _("Write the date as day/month/year, e.g. %(example)s.")
        % {"example": "01/09/2569" if loc == "th" else "01/09/2026"},
    }
    html = Markup(" ").join(
        Markup('{}="{}"').format(key, val) for key, val in attrs.items() if val is not None
    )
    return Markup("<input {}{}>").format(html, Markup(" required") if required else "")


# Words people read for the identifiers the app stores: roles, round statuses, ingestion
# outcomes and source kinds, and the audit log's subjects and verbs. N_ marks them for the
# catalogue; code_label() translates at display time.
CODE_LABELS: dict[str, str] = {
    # roles
    "office_editor": N_("Office staff"),
    "office_director": N_("Office director"),
    "reviewer": N_("Reviewer"),
    "admin": N_("Administrator"),
    "coach": N_("Coach"),
    # an office's status in a monitoring round
    "pending": N_("Waiting"),
    "received": N_("Received"),
    "checked": N_("Checked"),
    "coached": N_("Coached"),
    "attended": N_("Attended"),
    "evaluated": N_("Evaluated"),
    "absent": N_("Absent"),
    # ingestion runs and sources
    "running": N_("Running"),
    "ok": N_("Succeeded"),
    "partial": N_("Partly done (some records quarantined)"),
    "failed": N_("Failed"),
    "progress-json": N_("Progress reports (JSON)"),
    "quarterly-json": N_("Quarterly project reports (JSON)"),
    "stats-csv": N_("School statistics (CSV)"),
    # the audit log's subjects
    "api_token": N_("API token"),
    "user": N_("User"),
    "progress_revision": N_("Progress report"),
    "progress": N_("Progress report"),
    "profile_revision": N_("Office profile"),
    "profile": N_("Office profile"),
    "best_practice": N_("Best practice"),
    "quarterly_report": N_("Quarterly project report"),
    "project": N_("Project"),
    "plan": N_("Plan"),
    "visit_plan": N_("Visit plan"),
    "monitoring_round": N_("Monitoring round"),
    "round": N_("Monitoring round"),
    "reporting_window": N_("Reporting window"),
    "window": N_("Reporting window"),
    "evidence": N_("Evidence"),
    "token": N_("API token"),
    "data_load": N_("Data load"),
    "data": N_("Data"),
    "office": N_("Office"),
    "school": N_("Schools"),
    "schools": N_("Schools"),
    # the audit log's verbs
    "create": N_("created"),
    "update": N_("changed"),
    "save": N_("saved"),
    "submit": N_("sent"),
    "approve": N_("approved"),
    "return": N_("returned"),
    "unapprove": N_("approval undone"),
    "publish": N_("published"),
    "unpublish": N_("withdrawn"),
    "attach": N_("file attached"),
    "detach": N_("file removed"),
    "add": N_("added"),
    "remove": N_("removed"),
    "delete": N_("deleted"),
    "load": N_("loaded"),
    "import": N_("imported"),
    "reopen": N_("reopened"),
    "deactivate": N_("deactivated"),
    "activate": N_("activated"),
}


def code_label(code: str | None, *, fallback: bool = True) -> Markup:
    """The words for a stored identifier; one with no words yet shows as code, never as text
    (or as nothing, with `fallback=False`, where the page shows the code beside the words).

    "progress.save" reads as its subject and its verb ("Progress report · saved")."""
    if not code:
        return Markup("")
    if code in CODE_LABELS:
        return escape(_(CODE_LABELS[code]))
    subject, dot, verb = code.rpartition(".")
    if dot and subject in CODE_LABELS and verb in CODE_LABELS:
        return escape(f"{_(CODE_LABELS[subject])} · {_(CODE_LABELS[verb])}")
    return Markup("<code>%s</code>") % code if fallback else Markup("")


def code_list(values: Any) -> Markup:
    """Names a file's columns or codes must use, as code: `<code>a</code>, <code>b</code>`."""
    return Markup(", ").join(Markup("<code>{}</code>").format(v) for v in values)


def state_label(state: str) -> str:
    labels = {
        "draft": _("Draft"),
        "submitted": _("Submitted"),
        "returned": _("Returned"),
        "approved": _("Approved"),
    }
    return labels.get(state, state)


def item_label(item: Any) -> str:
    """ "Policy 4.1", "Quick Win 3", or another set's title and the item's number."""
    return f"{item_set_name(item)} {item.no}"


def register_filters(app: Flask) -> None:
    app.add_template_global(state_label, "state_label")
    app.add_template_global(item_label, "item_label")
    app.add_template_global(item_set_name, "item_set_name")
    app.add_template_filter(lambda keys: str(Labels(*keys)), "field_labels")
    app.add_template_filter(format_date_be, "be_date")
    app.add_template_filter(format_moment_be, "be_datetime")
    app.add_template_filter(format_time_bkk, "bkk_time")
    app.add_template_filter(format_duration, "duration")
    app.add_template_filter(keep_lines, "lines")
    app.add_template_filter(rich_lines, "rich")
    app.add_template_global(date_input, "date_input")
    app.add_template_global(code_label, "code_label")
    app.add_template_global(code_list, "code_list")
    app.add_template_filter(lambda n: format_decimal(n), "number")
    app.add_template_global(lambda: str(get_locale() or "th"), "current_locale")
