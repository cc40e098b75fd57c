"""An uploaded evidence file, from request to stored Evidence row: the portal page and the API."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from . import forms
from .models import Evidence
from .services.errors import ServiceError
from .services.uploads import UploadRejected, clean_upload, store


def file_evidence(session: Session, upload: FileStorage, title: str) -> Evidence:
    """Check, clean and store `upload`; the Evidence row still has to be added to a report.

    Refusals are 400 ServiceErrors (a name with control characters or over 255 characters, a
    type, size or content the upload checks refuse). The stored file is deleted again if the
    transaction does not commit.
    """
    original_name = forms.file_name(upload.filename or "")
    try:
        clean = clean_upload(
            upload.stream,
            upload.filename or "",
            max_bytes=current_app.config["PINMAP_MAX_UPLOAD_BYTES"],
        )
    except UploadRejected as exc:
        raise ServiceError(400, exc.message_en) from exc
    evidence = Evidence(
        kind="file",
        title=title,
        original_name=original_name,
        mime=clean.mime,
        size_bytes=len(clean.data),
        sha256=clean.sha256,
    )
    evidence.stored_name = store(current_app.config["PINMAP_UPLOAD_DIR_PATH"], clean, session)
    return evidence
