"""Locale choice and Thai display conventions: Buddhist Era years and Thai-grouped numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel import negotiate_locale
from flask import Flask, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _

from .fiscal import be_year
from .services.errors import Labels

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
    """'21 พ.ย. 2569' in Thai; '21 Nov 2569 BE' in English (the year is always Buddhist Era)."""
    if value is None:
        return ""
    loc = locale or str(get_locale() or "th")
    year = be_year(value.year)
    if loc == "th":
        return f"{value.day} {THAI_MONTHS_ABBR[value.month - 1]} {year}"
    return f"{value.day} {value.strftime('%b')} {year} BE"


def state_label(state: str) -> str:
    labels = {
        "draft": _("Draft"),
        "submitted": _("Submitted"),
        "returned": _("Returned"),
        "approved": _("Approved"),
    }
    return labels.get(state, state)


def item_set_name(item: Any) -> str:
    """The name of the item's set in the reader's language ("Policy" for the policy set)."""
    if item.kind == "policy":
        return _("Policy")
    item_set = getattr(item, "item_set", None)
    if item_set is None:
        return str(item.kind)
    return item_set.title_th if str(get_locale() or "th") == "th" else item_set.title_en


def item_label(item: Any) -> str:
    """ "Policy 4.1", "Quick Win 3", or another set's title and the item's number."""
    return f"{item_set_name(item)} {item.no}"


def register_filters(app: Flask) -> None:
    app.add_template_global(state_label, "state_label")
    app.add_template_global(item_label, "item_label")
    app.add_template_global(item_set_name, "item_set_name")
    app.add_template_filter(lambda keys: str(Labels(*keys)), "field_labels")
    app.add_template_filter(format_date_be, "be_date")
    app.add_template_filter(lambda n: format_decimal(n), "number")
    app.add_template_global(lambda: str(get_locale() or "th"), "current_locale")
