"""An uploaded evidence file, from request to stored Evidence row: the portal page and the API."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from .models import Evidence
from .services.errors import ServiceError
from .services.uploads import UploadRejected, clean_upload, store


def file_evidence(
    session: Session, upload: FileStorage, title: str, original_name: str
) -> Evidence:
    """Check, clean and store `upload`; the Evidence row still has to be added to a report.

    `original_name` is the name to keep, as the caller settled it (the page refuses an odd
    name, the API cuts it to the column; downloads clean it either way). Refusals are 400
    ServiceErrors naming what the upload checks refused (type, size, content). The stored
    file is deleted again if the transaction does not commit.
    """
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
