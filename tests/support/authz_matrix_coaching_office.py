"""Authorization-matrix rows of coaching reaching the office: publishing a visit record to the
plan's offices, sending the 12-month findings, and an office acknowledging and reporting on a
follow-up. authz_matrix adds these rows to ROWS."""

from __future__ import annotations

from typing import Any

from .authz_matrix import OFFICE, PLANNERS, Ctx, Row, _ok, visit_plan
from .portal import OWN


def _plan_of_own_office(c: Ctx) -> dict[str, Any]:
    """A published plan hosted by our own office (cluster 6), dated in round 2."""
    r = c.api().post(
        "/api/v1/plans",
        headers=c.h("coach"),
        json={"round_id": c.round_id(2), "cluster": 6, "k": 1, "host": OWN},
    )
    plan = _ok(r, 201).get_json()
    r = c.api().put(
        f"/api/v1/plans/{plan['id']}",
        headers=c.h("coach"),
        json={"version": plan["version"], "visit_date": "2024-03-20"},
    )
    plan = _ok(r, 200).get_json()
    r = c.api().post(
        f"/api/v1/plans/{plan['id']}/publish",
        headers=c.h("coach"),
        json={"version": plan["version"]},
    )
    return _ok(r, 200).get_json()


def _record(c: Ctx, plan: dict[str, Any]) -> int:
    _ok(
        c.page("coach").post(
            f"/coaching/plans/{plan['id']}/records",
            data={
                "action": "record",
                "visited_on": "2024-03-20",
                "notes": "พบว่า",
                "follow_ups": "ส่งแผนปรับปรุง\nจัดอบรมครู",
            },
        ),
        302,
    )
    return int(c.scalar("SELECT max(id) FROM visit_records"))


def _unpublished_record(c: Ctx) -> tuple[int, int]:
    plan = visit_plan(c, publish=True)
    return plan["id"], _record(c, plan)


def _published_follow_up(c: Ctx) -> int:
    plan = _plan_of_own_office(c)
    record_id = _record(c, plan)
    _ok(
        c.page("coach").post(
            f"/coaching/plans/{plan['id']}/records/{record_id}/publish",
            data={"action": "publish_record"},
        ),
        302,
    )
    return int(c.scalar("SELECT min(id) FROM visit_follow_ups WHERE record_id = :r", r=record_id))


def _results(c: Ctx) -> None:
    c.scalar(
        "INSERT INTO result_records (office_id, fiscal_year, category, indicator, value, unit, "
        "office_target, obec_target, source) SELECT id, 2567, 'onet_rt_nt', 'O-NET ป.6', 55, "
        "'%', 60, 50, 'import' FROM offices WHERE code = :c RETURNING id",
        c=OWN,
    )


# Follow-ups: our own office's staff answer; OBEC and the coaches, who may read the office's
# work, are refused by the rule (403), the other office's editor by the address (403).
ROWS: list[Row] = [
    Row(
        "page publish a visit record to the plan's offices",
        "POST",
        "/coaching/plans/<int:plan_id>/records/<int:record_id>/publish",
        PLANNERS,
        prepare=_unpublished_record,
        act=lambda c, who, p: c.page(who).post(
            f"/coaching/plans/{p[0]}/records/{p[1]}/publish", data={"action": "publish_record"}
        ),
    ),
    Row(
        "page send the evaluation findings to the offices",
        "POST",
        "/coaching/rounds/<int:round_id>/evaluation/send",
        PLANNERS,
        prepare=_results,
        act=lambda c, who, _: c.page(who).post(f"/coaching/rounds/{c.round_id(4)}/evaluation/send"),
    ),
    Row(
        "page acknowledge a coaching follow-up",
        "POST",
        "/portal/offices/<code>/coaching/follow-ups/<int:follow_up_id>/acknowledge",
        OFFICE,
        prepare=_published_follow_up,
        act=lambda c, who, fu: c.page(who).post(
            f"/portal/offices/{OWN}/coaching/follow-ups/{fu}/acknowledge",
            data={"action": "acknowledge"},
        ),
    ),
    Row(
        "page report on a coaching follow-up in a later round",
        "POST",
        "/portal/offices/<code>/coaching/follow-ups/<int:follow_up_id>/report",
        OFFICE,
        prepare=_published_follow_up,
        act=lambda c, who, fu: c.page(who).post(
            f"/portal/offices/{OWN}/coaching/follow-ups/{fu}/report",
            data={"action": "report", "round_id": str(c.round_id(3)), "report": "ส่งแผนแล้ว"},
        ),
    ),
]
