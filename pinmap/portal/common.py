"""What every portal page shares: the office of the address, the reader's rights, uploads."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ..auth import can_read_office_work
from ..db import get_session
from ..models import Office, PolicyItem
from ..security import current_actor
from ..services import offices, progress
from ..services import photos as photo_svc
from ..services.errors import N_, ServiceError
from ..services.schools import ImportRejected
from ..services.uploads import UploadRejected

STATUS_LABELS = {
    "not_started": "Not started",
    "on_plan": "On plan",
    "plan_adjusted": "Plan adjusted",
    "output_achieved": "Output achieved",
}

# Seed 003: the 9-month round judges each item's likely success.
LIKELY_SUCCESS_LABELS = {
    "on_track": N_("On track"),
    "at_risk": N_("At risk"),
    "off_track": N_("Off track"),
}


def readable_office(code: str, what: str = "work") -> Office:
    """The office of the address, if the signed-in user may read its unpublished work."""
    office = offices.office_or_404(get_session(), code)
    if not can_read_office_work(current_user, office.id):
        if what == "reports":
            abort(403, description=_("You may not see this office's unpublished reports."))
        abort(403, description=_("You may not see this office's unpublished work."))
    return office


def fiscal_year_arg() -> int:
    """?fiscal_year= when the framework has that year (an earlier one, say), else the fiscal
    year Bangkok is in now, framework or not (the page then says it has none yet)."""
    session = get_session()
    wanted = request.args.get("fiscal_year", type=int)
    if wanted and session.scalar(select(PolicyItem.id).filter_by(fiscal_year=wanted).limit(1)):
        return wanted
    return progress.shown_fiscal_year(session, current_actor().today_bangkok)


def earlier_rounds(session: Any, office_id: int, item_id: int, round_no: int) -> list[Any]:
    """Approved revisions of the same item in earlier rounds, for side-by-side reading."""
    return progress.earlier_rounds(session, office_id, item_id, round_no)


def problems(err: ServiceError) -> list[dict[str, Any]]:
    """An import's problems, translated, for the report table."""
    if not isinstance(err, ImportRejected):
        return []
    return [
        {"row": p.row or "", "column": p.column, "reason": _(p.msgid, **p.params)}
        for p in err.problems
    ]


def upload_dir() -> Any:
    return current_app.config["PINMAP_UPLOAD_DIR_PATH"]


def file_field(name: str) -> FileStorage | None:
    upload = request.files.get(name)
    return upload if upload is not None and upload.filename else None


def clean_photo(upload: FileStorage, label: str) -> Any:
    max_bytes = int(
        current_app.config.get("PINMAP_MAX_PHOTO_BYTES", photo_svc.DEFAULT_MAX_PHOTO_BYTES)
    )
    try:
        return photo_svc.clean_photo(upload.stream, upload.filename, max_bytes=max_bytes)
    except UploadRejected as exc:
        raise ServiceError(
            400,
            N_("%(field)s (%(file)s): %(reason)s"),
            field=label,
            file=upload.filename or "",
            reason=_(exc.message_en),
        ) from exc
