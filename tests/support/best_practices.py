"""Best practices in tests: the portal form, filled in, and one made through it."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import BestPractice
from pinmap.services import best_practices as svc

from ..signin import sign_in
from .portal import World

BASE = "/portal/offices/spp-krabi/best-practices"


def practice_form(world: World, **extra: str) -> dict[str, object]:
    return {
        "title": "ห้องเรียนคุณภาพ",
        "owner": "กลุ่มนิเทศ",
        "fiscal_year": str(world.fy),
        "dimensions": ["คุณภาพ"],
        "item_ids": [str(world.item.id)],
        "background": "ที่มา",
        "objectives": "วัตถุประสงค์",
        "process": "ขั้นตอน",
        "results": "ผล",
        "success_factors": "ปัจจัย",
        "version": "0",
        "action": "save",
        **extra,
    }


def made_practice(client: FlaskClient, world: World, session: Session) -> svc.Practice:
    sign_in(client, world.users["own_editor"], lang="en")
    assert client.post(f"{BASE}/new", data=practice_form(world)).status_code == 302
    session.expire_all()
    return svc.bp_or_404(session, session.scalars(select(BestPractice.id)).one())
