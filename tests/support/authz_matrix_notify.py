"""Authorization-matrix rows of the notification pages: the inbox (marking read, settings) and
the admins' undelivered messages. authz_matrix adds these rows to ROWS."""

from __future__ import annotations

from .authz_matrix import ADMIN, SIGNED_IN, Ctx, Row

OWNER = "own_editor"


def _message(c: Ctx) -> int:
    """A message to the own office's editor: only they may mark it read."""
    return int(
        c.scalar(
            "INSERT INTO notifications (user_id, kind, subject, occasion, params, link) "
            "VALUES (:uid, 'question_answered', 'question:1', 'answered', "
            "'{\"title\": \"x\"}', '/portal/') RETURNING id",
            uid=c.user_id(OWNER),
        )
    )


def _failed_delivery(c: Ctx) -> int:
    nid = _message(c)
    return int(
        c.scalar(
            "INSERT INTO notification_deliveries (notification_id, channel, status, attempts, "
            "last_error) VALUES (:nid, 'email', 'failed', 8, 'connection refused') RETURNING id",
            nid=nid,
        )
    )


ROWS: list[Row] = [
    Row(
        "page mark a message read",
        "POST",
        "/portal/inbox/<int:notification_id>/read",
        frozenset({OWNER}),
        prepare=_message,
        # Another user's message does not exist for them.
        refused={who: 404 for who in SIGNED_IN - {OWNER}},
        act=lambda c, who, nid: c.page(who).post(f"/portal/inbox/{nid}/read"),
    ),
    Row(
        "page mark all messages read",
        "POST",
        "/portal/inbox/read-all",
        SIGNED_IN,
        prepare=_message,
        act=lambda c, who, _: c.page(who).post("/portal/inbox/read-all"),
    ),
    Row(
        "page save notification settings",
        "POST",
        "/portal/inbox/settings",
        SIGNED_IN,
        act=lambda c, who, _: c.page(who).post(
            "/portal/inbox/settings", data={"email": ["report_returned"], "digest": "on"}
        ),
    ),
    Row(
        "admin send an undelivered message again",
        "POST",
        "/admin/outbox/<int:delivery_id>/retry",
        ADMIN,
        prepare=_failed_delivery,
        act=lambda c, who, did: c.page(who).post(f"/admin/outbox/{did}/retry"),
    ),
]
