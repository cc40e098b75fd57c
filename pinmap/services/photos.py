"""Photos for profiles and best practices: images only, re-encoded, with a small thumbnail."""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from pathlib import Path
from typing import IO, Final

from PIL import Image
from sqlalchemy.orm import Session

from ..auth import can_read_office_work
from ..models import Photo, User
from .audit import Actor, record
from .best_practices import infographic_is_public
from .errors import N_
from .profiles import approved_revision, photo_ids
from .uploads import CleanFile, UploadRejected, clean_upload, store

THUMB_PX: Final = 320
DEFAULT_MAX_PHOTO_BYTES: Final = 5 * 1024 * 1024
IMAGE_EXTENSIONS: Final = (".jpg", ".jpeg", ".png", ".webp")
NOT_AN_IMAGE: Final = N_("Only JPEG, PNG and WebP images can be uploaded here.")


def check_image_name(filename: str | None) -> None:
    """Refuse PDFs and anything else before reading: this slot takes pictures only."""
    base = re.split(r"[/\\]", (filename or "").strip())[-1].lower()
    if not base.endswith(IMAGE_EXTENSIONS):
        raise UploadRejected("unsupported_type", NOT_AN_IMAGE)


def clean_photo(stream: IO[bytes], filename: str | None, *, max_bytes: int) -> CleanFile:
    """Check and re-encode one image (metadata dropped), or raise UploadRejected."""
    check_image_name(filename)
    clean = clean_upload(stream, filename, max_bytes=max_bytes)
    if not clean.mime.startswith("image/"):
        raise UploadRejected("unsupported_type", NOT_AN_IMAGE)
    return clean


def thumbnail(clean: CleanFile) -> CleanFile:
    """A JPEG at most THUMB_PX on its longer side, from already re-encoded pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(clean.data)) as im:
            im.load()
            small = im.copy()
    small.thumbnail((THUMB_PX, THUMB_PX))
    if small.mode not in ("RGB", "L"):
        # JPEG has no alpha: lay transparent pictures on white rather than black.
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        small = flat
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80, optimize=True)
    data = out.getvalue()
    return CleanFile(
        data=data,
        mime="image/jpeg",
        ext=".jpg",
        width=small.width,
        height=small.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def add_photo(
    session: Session, actor: Actor, office_id: int, upload_dir: Path, clean: CleanFile
) -> Photo:
    """Store a cleaned image and its thumbnail; the caller checked the right to edit."""
    stored = store(upload_dir, clean, session)
    thumb = store(upload_dir, thumbnail(clean), session)
    photo = Photo(
        office_id=office_id,
        stored_name=stored,
        thumb_name=thumb,
        mime=clean.mime,
        width=clean.width or 0,
        height=clean.height or 0,
        sha256=clean.sha256,
        uploaded_by_id=actor.user.id if actor.user else None,
    )
    session.add(photo)
    session.flush()
    record(
        session,
        actor,
        "photo.add",
        "photo",
        photo.id,
        office_id=office_id,
        after={
            "mime": clean.mime,
            "width": clean.width,
            "height": clean.height,
            "sha256": clean.sha256,
        },
    )
    return photo


def is_public(session: Session, photo: Photo) -> bool:
    """Public once the office's approved profile, or an approved best practice, shows it."""
    approved = approved_revision(session, photo.office_id)
    if approved is not None and photo.id in photo_ids(approved.data or {}):
        return True
    return infographic_is_public(session, photo.id)


def visible_to(session: Session, photo: Photo, user: User | None) -> bool:
    return can_read_office_work(user, photo.office_id) or is_public(session, photo)
