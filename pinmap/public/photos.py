"""Photos (people, office buildings, infographics) and the safe way every stored file is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, url_for
from flask_login import current_user

from .. import thumbnails
from ..auth import can_read_office_work
from ..db import get_session
from ..downloads import send_download
from ..models import Evidence, Photo
from ..services import best_practices as bp_svc
from ..services import photos as svc
from ..services.uploads import OFFICE_MIMES, resolve
from . import bp


def photo_url(photo_id: Any, thumb: bool = False) -> str | None:
    if not isinstance(photo_id, int):
        return None
    return url_for("public.photo", photo_id=photo_id, size="thumb" if thumb else "full")


def _sandboxed(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def send_stored(name: str, mime: str, download_name: str) -> Response:
    """A file from the upload folder, sandboxed: it never runs as a page of this site."""
    path = resolve(current_app.config["PINMAP_UPLOAD_DIR_PATH"], name)
    return _sandboxed(
        send_download(
            path,
            mime,
            download_name or path.name,
            # Office files are only ever downloaded: a browser has no business opening them.
            as_attachment=mime == "application/pdf" or mime in OFFICE_MIMES,
            max_age=0,
        )
    )


def send_preview(name: str | None, mime: str | None) -> Response:
    """The cached PNG preview of a stored file (thumbnails.py), sandboxed like the file; a
    placeholder picture when none can be made, so a broken upload never breaks the page."""
    upload_dir: Path = current_app.config["PINMAP_UPLOAD_DIR_PATH"]
    try:
        path = resolve(upload_dir, name or "")
    except ValueError:
        path = None
    thumb = thumbnails.thumbnail(upload_dir, name or "", path, mime) if path else None
    if thumb is None:
        response = Response(thumbnails.placeholder_png(), mimetype="image/png")
        response.headers["Cache-Control"] = "private, no-cache"
        return _sandboxed(response)
    # Stored names are never reused, so a preview can stay in the reader's cache.
    return _sandboxed(
        send_download(thumb, "image/png", "preview.png", as_attachment=False, max_age=86_400)
    )


@bp.app_template_global()
def preview_url(kind: str, key: int, index: int = 0) -> str:
    """Where the review desks and pages find a file's preview (see the two routes below)."""
    if kind == "evidence":
        return url_for("public.evidence_preview", evidence_id=key)
    return url_for("public.best_practice_preview", bp_id=key, index=index)


@bp.route("/previews/evidence/<int:evidence_id>.png")
def evidence_preview(evidence_id: int) -> Any:
    """Rights as the file itself (portal.evidence_file): public once its report is approved."""
    session = get_session()
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.kind != "file" or not ev.stored_name:
        abort(404)
    report = ev.revision.report
    user = current_user if current_user.is_authenticated else None
    if report.approved_revision_id != ev.revision_id and not can_read_office_work(
        user, report.office_id
    ):
        abort(404)
    return send_preview(ev.stored_name, ev.mime)


@bp.route("/previews/best-practices/<int:bp_id>/<int:index>.png")
def best_practice_preview(bp_id: int, index: int) -> Any:
    """Rights as the attachment itself (best_practices.best_practice_file)."""
    session = get_session()
    found = bp_svc.bp_or_404(session, bp_id)
    user = current_user if current_user.is_authenticated else None
    if not can_read_office_work(user, found.office_id):
        # Outsiders see the approved revision's files only (the working one may differ).
        public = bp_svc.public_or_none(session, bp_id)
        if public is None:
            abort(404)
        found = public
    files = found.attachments or []
    if not 0 <= index < len(files):
        abort(404)
    return send_preview(files[index].get("stored_name"), files[index].get("mime"))


@bp.route("/photos/<int:photo_id>/<any(full, thumb):size>")
def photo(photo_id: int, size: str) -> Any:
    """A photo: public once an approved profile or best practice shows it, else staff and OBEC."""
    session = get_session()
    found = session.get(Photo, photo_id)
    user = current_user if current_user.is_authenticated else None
    if found is None or not svc.visible_to(session, found, user):
        abort(404)
    name = found.thumb_name if size == "thumb" else found.stored_name
    mime = "image/jpeg" if size == "thumb" else found.mime
    return send_stored(name, mime, name.rsplit("/", 1)[-1])
