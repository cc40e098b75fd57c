"""How an item's set is named in the reader's language: one wording for the pages (i18n's
template globals) and the services that title reports (bulk results), which may not import i18n.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _


def reads_thai() -> bool:
    return str(get_locale() or "th") == "th"


def item_set_name(item: Any) -> str:
    """The name of the item's set in the reader's language ("Policy" for the policy set)."""
    if item.kind == "policy":
        return _("Policy")
    item_set = getattr(item, "item_set", None)
    if item_set is None:
        return str(item.kind)
    return str(item_set.title_th if reads_thai() else item_set.title_en)
