"""How to reach the monitoring office: one row admins edit; until they first save it, the
unconfirmed defaults of data/help_contact.json (no invented phone numbers or addresses)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..models import HelpContact
from . import audit
from .audit import Actor
from .documents import check_link
from .errors import N_, ServiceError
from .sanitize import clean_text

DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "data" / "help_contact.json"
GROUPS = 4  # the four regions' help groups (seed 000)
LIMITS = {"office_name": 300, "address": 1000, "phone": 100, "email": 200, "hours": 300}
MAX_REGION = 100
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+")


@dataclass
class ContactDetails:
    office_name: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    hours: str = ""
    groups: list[dict[str, str]] = field(default_factory=list)
    confirmed: bool = False
    source: str = ""


def defaults() -> ContactDetails:
    raw = json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    return ContactDetails(
        office_name=raw.get("office_name", ""),
        address=raw.get("address", ""),
        phone=raw.get("phone", ""),
        email=raw.get("email", ""),
        hours=raw.get("hours", ""),
        groups=[{"region": g["region"], "url": g.get("url", "")} for g in raw.get("groups", [])],
        confirmed=False,
        source=raw.get("source", ""),
    )


def current(session: Session) -> ContactDetails:
    row = session.get(HelpContact, 1)
    if row is None:
        return defaults()
    return ContactDetails(
        office_name=row.office_name,
        address=row.address,
        phone=row.phone,
        email=row.email,
        hours=row.hours,
        groups=[{"region": g.get("region", ""), "url": g.get("url", "")} for g in row.groups],
        confirmed=row.confirmed,
    )


def check(details: ContactDetails) -> ContactDetails:
    values: dict[str, Any] = {}
    for name, limit in LIMITS.items():
        text = clean_text(str(getattr(details, name)), max_length=limit + 1)
        if len(text) > limit:
            raise ServiceError(400, N_("A field is longer than %(n)s characters."), n=limit)
        values[name] = text if name == "address" else text.replace("\n", " ")
    if not values["office_name"]:
        raise ServiceError(400, N_("Give the office's name."))
    if values["email"] and not _EMAIL.fullmatch(values["email"]):
        raise ServiceError(400, N_("The e-mail address is not one (name@example.go.th)."))
    groups = []
    for group in details.groups[:GROUPS]:
        region = clean_text(group.get("region", ""), max_length=MAX_REGION + 1).replace("\n", " ")
        url = group.get("url", "").strip()
        if len(region) > MAX_REGION:
            raise ServiceError(400, N_("A region's name is longer than %(n)s characters."), n=100)
        if url:
            url = check_link(url)
        if region or url:
            groups.append({"region": region, "url": url})
    return ContactDetails(**values, groups=groups, confirmed=bool(details.confirmed))


def save(session: Session, actor: Actor, details: ContactDetails) -> ContactDetails:
    clean = check(details)
    row = session.get(HelpContact, 1)
    before = None
    if row is None:
        row = HelpContact(id=1)
        session.add(row)
    else:
        before = {"office_name": row.office_name, "confirmed": row.confirmed}
    for name in LIMITS:
        setattr(row, name, getattr(clean, name))
    row.groups = clean.groups
    row.confirmed = clean.confirmed
    row.updated_by_id = actor.user.id if actor.user else None
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "help_contact",
        1,
        before=before,
        after={"office_name": clean.office_name, "confirmed": clean.confirmed},
    )
    return clean
