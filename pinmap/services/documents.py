"""The document library: forms, manuals and templates (uploaded files, checked like evidence, and
Word, Excel and PowerPoint files without macros) and videos (web links), by category and fiscal
year. Replacing a document adds a version and keeps the earlier ones; a document is retired,
never deleted. Takes a session, never commits."""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import AUDIENCES, HelpDocument, HelpDocumentVersion
from . import audit
from .audit import Actor
from .errors import N_, ServiceError
from .lookups import get_or_404
from .news import audiences_for
from .sanitize import clean_text
from .uploads import UploadRejected, clean_upload, store

CATEGORY_FILE = Path(__file__).resolve().parents[2] / "data" / "help_categories.csv"
MAX_TITLE = 200
MAX_DESCRIPTION = 2_000
MAX_NOTE = 500
MAX_URL = 2_000
MAX_NAME = 255
FISCAL_YEARS = (2500, 2700)
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>\"'\\`]")


@dataclass(frozen=True)
class Category:
    code: str
    name_th: str
    name_en: str


@functools.cache
def categories() -> tuple[Category, ...]:
    """The fixed list of data/help_categories.csv (a new category is a new row there)."""
    with CATEGORY_FILE.open(encoding="utf-8", newline="") as fh:
        return tuple(Category(r["code"], r["name_th"], r["name_en"]) for r in csv.DictReader(fh))


def category_codes() -> tuple[str, ...]:
    return tuple(c.code for c in categories())


@dataclass(frozen=True)
class DocumentInput:
    title: str
    description: str
    category: str
    fiscal_year: int
    audience: str


@dataclass(frozen=True)
class Upload:
    """A file as sent: its stream and the name the user's disk had."""

    stream: IO[bytes]
    filename: str


@dataclass(frozen=True)
class Content:
    """What a version holds: exactly one of an upload or a web link."""

    upload: Upload | None = None
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Storage:
    """Where files go and how large one may be (the app's settings; services know no Flask)."""

    upload_dir: Path
    max_bytes: int


def check_link(url: str) -> str:
    """A web address people may open: http or https, a host, nothing that is not a URL."""
    text = url.strip()
    if not text:
        raise ServiceError(400, N_("Give the link (an address starting with https://)."))
    if len(text) > MAX_URL:
        raise ServiceError(400, N_("The link is longer than %(n)s characters."), n=MAX_URL)
    parts = urlsplit(text) if not _BAD_URL_CHARS.search(text) else None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
    ):
        raise ServiceError(
            400, N_("The link must be a web address starting with http:// or https://.")
        )
    return text


def check(data: DocumentInput) -> DocumentInput:
    title = clean_text(data.title, max_length=MAX_TITLE + 1).replace("\n", " ")
    description = clean_text(data.description, max_length=MAX_DESCRIPTION + 1)
    if not title:
        raise ServiceError(400, N_("Give the document a title."))
    if len(title) > MAX_TITLE:
        raise ServiceError(400, N_("The title is longer than %(n)s characters."), n=MAX_TITLE)
    if len(description) > MAX_DESCRIPTION:
        raise ServiceError(
            400, N_("The description is longer than %(n)s characters."), n=MAX_DESCRIPTION
        )
    if data.category not in category_codes():
        raise ServiceError(400, N_("Choose a category from the list."))
    if not FISCAL_YEARS[0] <= data.fiscal_year <= FISCAL_YEARS[1]:
        raise ServiceError(400, N_("The fiscal year must be a Buddhist Era year such as 2568."))
    if data.audience not in AUDIENCES:
        raise ServiceError(400, N_("Choose who may read it."))
    return DocumentInput(title, description, data.category, data.fiscal_year, data.audience)


def _version(content: Content, storage: Storage, session: Session) -> HelpDocumentVersion:
    note = clean_text(content.note, max_length=MAX_NOTE + 1)
    if len(note) > MAX_NOTE:
        raise ServiceError(400, N_("The note is longer than %(n)s characters."), n=MAX_NOTE)
    if content.upload is not None and content.url.strip():
        raise ServiceError(400, N_("Give either a file or a link, not both."))
    if content.upload is None:
        if not content.url.strip():
            raise ServiceError(400, N_("Choose a file to upload or give a link."))
        return HelpDocumentVersion(url=check_link(content.url), note=note)
    name = content.upload.filename.strip()
    if len(name) > MAX_NAME or any(not ch.isprintable() for ch in name):
        raise ServiceError(400, N_("Rename the file: its name is too long or has odd characters."))
    try:
        clean = clean_upload(content.upload.stream, name, max_bytes=storage.max_bytes, office=True)
    except UploadRejected as exc:
        raise ServiceError(400, exc.message_en) from exc
    version = HelpDocumentVersion(
        original_name=name,
        mime=clean.mime,
        size_bytes=len(clean.data),
        sha256=clean.sha256,
        note=note,
    )
    # Written last: a refusal above leaves no file behind, and a rollback removes this one.
    version.stored_name = store(storage.upload_dir, clean, session)
    return version


def _snapshot(doc: HelpDocument) -> dict[str, Any]:
    return {
        "title": doc.title,
        "category": doc.category,
        "fiscal_year": doc.fiscal_year,
        "audience": doc.audience,
        "retired": doc.retired_at is not None,
    }


def create(
    session: Session, actor: Actor, data: DocumentInput, content: Content, storage: Storage
) -> HelpDocument:
    data = check(data)
    version = _version(content, storage, session)
    user_id = actor.user.id if actor.user else None
    doc = HelpDocument(
        title=data.title,
        description=data.description,
        category=data.category,
        fiscal_year=data.fiscal_year,
        audience=data.audience,
        created_by_id=user_id,
    )
    version.version_no = 1
    version.created_by_id = user_id
    doc.versions.append(version)
    session.add(doc)
    session.flush()
    audit.record(session, actor, "create", "help_document", doc.id, after=_snapshot(doc))
    return doc


def replace(
    session: Session, actor: Actor, doc: HelpDocument, content: Content, storage: Storage
) -> HelpDocumentVersion:
    """A new version of `doc`; the earlier ones stay listed and downloadable."""
    if doc.retired_at is not None:
        raise ServiceError(409, N_("This document is retired; restore it before replacing it."))
    version = _version(content, storage, session)
    # Serialise replacements of one document, so two at once never draw the same number.
    session.execute(
        select(HelpDocument.id).where(HelpDocument.id == doc.id).with_for_update()
    ).one()
    last = session.scalar(
        select(func.max(HelpDocumentVersion.version_no)).where(
            HelpDocumentVersion.document_id == doc.id
        )
    )
    version.version_no = (last or 0) + 1
    version.created_by_id = actor.user.id if actor.user else None
    version.document_id = doc.id
    session.add(version)
    doc.updated_at = actor.now
    session.flush()
    session.expire(doc, ["versions"])
    audit.record(
        session,
        actor,
        "update",
        "help_document",
        doc.id,
        after={"version": version.version_no, "kind": "link" if version.url else "file"},
    )
    return version


def set_retired(session: Session, actor: Actor, doc: HelpDocument, retired: bool) -> None:
    """Retire a document (readers no longer see it) or bring it back; nothing is deleted."""
    if (doc.retired_at is not None) == retired:
        if retired:
            raise ServiceError(409, N_("This document is already retired."))
        raise ServiceError(409, N_("This document is not retired."))
    before = _snapshot(doc)
    doc.retired_at = actor.now if retired else None
    session.flush()
    audit.record(
        session,
        actor,
        "deactivate" if retired else "activate",
        "help_document",
        doc.id,
        before=before,
        after=_snapshot(doc),
    )


def get(session: Session, doc_id: int) -> HelpDocument:
    return get_or_404(session, HelpDocument, doc_id, N_("No such document."))


def may_see(doc: HelpDocument, signed_in: bool, *, manager: bool = False) -> bool:
    if manager:
        return True
    return doc.retired_at is None and doc.audience in audiences_for(signed_in)


def visible_or_404(
    session: Session, doc_id: int, signed_in: bool, *, manager: bool = False
) -> HelpDocument:
    doc = get(session, doc_id)
    if not may_see(doc, signed_in, manager=manager):
        raise ServiceError(404, N_("No such document."))
    return doc


def version_or_404(doc: HelpDocument, version_no: int) -> HelpDocumentVersion:
    for version in doc.versions:
        if version.version_no == version_no:
            return version
    raise ServiceError(404, N_("No such version of this document."))


def listing(
    session: Session,
    signed_in: bool,
    *,
    category: str | None = None,
    fiscal_year: int | None = None,
    manager: bool = False,
) -> list[HelpDocument]:
    """The library as the reader may see it, newest fiscal year first, by category and title;
    managers also see retired documents (marked on the page)."""
    stmt = (
        select(HelpDocument)
        .options(selectinload(HelpDocument.versions))
        .order_by(HelpDocument.fiscal_year.desc(), HelpDocument.category, HelpDocument.title)
    )
    if not manager:
        stmt = stmt.where(
            HelpDocument.retired_at.is_(None),
            HelpDocument.audience.in_(audiences_for(signed_in)),
        )
    if category:
        stmt = stmt.where(HelpDocument.category == category)
    if fiscal_year:
        stmt = stmt.where(HelpDocument.fiscal_year == fiscal_year)
    return list(session.scalars(stmt.limit(1000)))


def fiscal_years(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(HelpDocument.fiscal_year).distinct().order_by(HelpDocument.fiscal_year.desc())
        )
    )
