"""Photos (people, office buildings, infographics) and the safe way every stored file is sent."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, url_for
from flask_login import current_user

from ..db import get_session
from ..downloads import send_download
from ..models import Photo
from ..services import photos as svc
from ..services.uploads import resolve
from . import bp


def photo_url(photo_id: Any, thumb: bool = False) -> str | None:
    if not isinstance(photo_id, int):
        return None
    return url_for("public.photo", photo_id=photo_id, size="thumb" if thumb else "full")


def send_stored(name: str, mime: str, download_name: str) -> Response:
    """A file from the upload folder, sandboxed: it never runs as a page of this site."""
    path = resolve(current_app.config["PINMAP_UPLOAD_DIR_PATH"], name)
    response = send_download(
        path, mime, download_name or path.name, as_attachment=mime == "application/pdf", max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


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
