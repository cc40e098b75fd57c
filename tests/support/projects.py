"""Quarterly project reports in tests: the six narrative fields, a quarter open today, the
form a report is sent with, and who acts."""

from __future__ import annotations

from typing import Any

from pinmap.fiscal import fiscal_year_of, today_bangkok
from pinmap.services import projects as svc
from pinmap.services.audit import Actor

from .portal import World

SIX = {
    "target_progress": "ร้อยละ 60 ของเป้าหมาย",
    "activity_progress": "อบรมครู 3 รุ่น",
    "budget_disbursement": "รอเบิกค่าวิทยากร",
    "master_plan": "แผนแม่บทด้านการพัฒนาการเรียนรู้",
    "nesdp13": "หมุดหมายที่ 12",
    "problems_suggestions": "งบประมาณล่าช้า",
}


def open_quarter() -> tuple[int, int]:
    """A fiscal year and quarter whose sending window is open today."""
    day = today_bangkok()
    fy = fiscal_year_of(day)
    for q in svc.QUARTERS:
        first, last = svc.quarter_bounds(fy, q)
        if first <= day <= last:
            return fy, q
    raise AssertionError("every day is in a quarter")


def actor(w: World, who: str) -> Actor:
    return Actor(w.users[who], "127.0.0.1")


def form(**extra: Any) -> dict[str, Any]:
    return {**SIX, "budget_planned_to_date": "1000", "budget_disbursed": "400", **extra}
