"""Delivering the notification outbox (e-mail, signed webhook) and recording window reminders,
as jobs of the scheduler process (run only by the leader, see ingest.scheduler).

Each delivery is claimed with SELECT … FOR UPDATE SKIP LOCKED in its own transaction, sent, and
marked in that same transaction: two delivery runs at once never send one row twice (the second
skips the locked row), and a crash before the commit leaves it pending for the next run. A
failure keeps the error and retries after an exponential backoff; after MAX_ATTEMPTS it is
`failed` and shown to admins (who may retry it). Imports no Flask.

A user's daily digest is one e-mail: the digest run takes a transaction-scoped advisory lock on
the user (so a second scheduler skips that user), claims every due digest row of theirs, sends
one e-mail listing them and marks them all in that transaction. A crash before the commit leaves
them all pending; once committed, a later run finds nothing left to send.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from babel.support import NullTranslations, Translations
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pinmap.mail import MailError, MailSettings, send_mail
from pinmap.models import Notification, NotificationDelivery, NotificationPreference, User
from pinmap.services import notify

log = logging.getLogger("ingest.notify")
MAX_ATTEMPTS: Final = 8
BACKOFF_BASE: Final = 60.0  # seconds before the first retry; doubled each time
BACKOFF_CAP: Final = 6 * 3600.0
SIGNATURE_HEADER: Final = "X-Pinmap-Signature"
TIMESTAMP_HEADER: Final = "X-Pinmap-Timestamp"
TRANSLATIONS: Final = Path(__file__).resolve().parent.parent / "pinmap" / "translations"
# The first key of the two-key advisory locks on a user while their digest is sent (the
# single-key locks of the scheduler and the ingest runs are another key space).
DIGEST_LOCK_CLASS: Final = 0x6E7464  # "ntd"
Gettext = Callable[[str], str]


class DeliveryError(Exception):
    """A channel refused or could not be reached; the message is retried later."""


@dataclass(frozen=True)
class Channels:
    mail: MailSettings | None
    webhook_url: str
    webhook_secret: str
    base_url: str
    backoff_base: float = BACKOFF_BASE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Channels:
        env = os.environ
        return cls(
            mail=MailSettings.from_config(config),
            # The webhook's settings come from the environment when the config lacks them.
            webhook_url=str(config.get("PINMAP_WEBHOOK_URL") or env.get("PINMAP_WEBHOOK_URL", "")),
            webhook_secret=str(
                config.get("PINMAP_WEBHOOK_SECRET") or env.get("PINMAP_WEBHOOK_SECRET", "")
            ),
            base_url=str(config.get("PINMAP_BASE_URL") or "").rstrip("/"),
            backoff_base=float(config.get("PINMAP_NOTIFY_BACKOFF", BACKOFF_BASE)),
        )


def backoff(attempts: int, base: float = BACKOFF_BASE) -> dt.timedelta:
    """The wait after the `attempts`-th failure: base, 2·base, 4·base … capped at 6 hours."""
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), BACKOFF_CAP))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, as sent in X-Pinmap-Signature (sha256=…)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _languages() -> dict[str, Gettext]:
    """gettext per language a user may choose; the messages' ids are English."""
    return {
        "th": Translations.load(str(TRANSLATIONS), ["th"]).gettext,
        "en": NullTranslations().gettext,
    }


def _language(session: Session, user_id: int) -> str:
    pref = session.get(NotificationPreference, user_id)
    return pref.language if pref is not None and pref.language in ("th", "en") else "th"


def _post_webhook(channels: Channels, payload: dict[str, Any]) -> None:
    url = channels.webhook_url
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError("the webhook URL must be http or https")
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(channels.webhook_secret, stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            answer.read(1024)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from the webhook") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from exc


def _mail(channels: Channels, to: str, subject: str, body: str) -> str:
    if channels.mail is None:
        return "skipped"  # mail is off: the inbox still has it
    try:
        send_mail(channels.mail, to, subject, body)
    except MailError as exc:
        raise DeliveryError(str(exc)) from exc
    return "sent"


def _send(
    channels: Channels,
    d: NotificationDelivery,
    n: Notification,
    user: User,
    gettext: Gettext,
    language: str,
) -> str:
    """Send one delivery; returns the final status ("sent" or "skipped") or raises."""
    title, text = notify.render(n, gettext, language)
    link = channels.base_url + n.link if n.link else ""
    if d.channel == "email":
        return _mail(
            channels, user.email, *notify.render_mail(n, gettext, language, channels.base_url)
        )
    if not channels.webhook_url or not channels.webhook_secret:
        return "skipped"
    _post_webhook(
        channels,
        {
            "delivery": d.id,
            "notification": n.id,
            "kind": n.kind,
            "title": title,
            "text": text,
            "link": link,
            "recipient": {"email": user.email, "name": user.name},
            "created_at": n.created_at.isoformat(),
        },
    )
    return "sent"


def deliver_due(
    factory: sessionmaker[Session],
    config: Mapping[str, Any],
    *,
    limit: int = 200,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> dict[str, int]:
    """Send due deliveries, one transaction each (a user's due digest in one transaction and one
    e-mail, see deliver_digests); returns counts of deliveries by outcome."""
    channels = Channels.from_config(config)
    languages = _languages()
    counts = deliver_digests(factory, channels, languages, limit=limit, now=now)
    for _ in range(limit):
        with factory() as session, session.begin():
            row = session.execute(
                select(NotificationDelivery, Notification, User)
                .join(Notification, Notification.id == NotificationDelivery.notification_id)
                .join(User, User.id == Notification.user_id)
                .where(
                    NotificationDelivery.status == "pending",
                    NotificationDelivery.digest.is_(False),
                    NotificationDelivery.next_attempt_at <= now(),
                )
                .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
                .limit(1)
                .with_for_update(of=NotificationDelivery, skip_locked=True)
            ).first()
            if row is None:
                break
            d, n, user = row
            d.attempts += 1
            language = _language(session, user.id)
            try:
                d.status = _send(channels, d, n, user, languages[language], language)
                d.sent_at = now() if d.status == "sent" else None
                d.last_error = "" if d.status == "sent" else "channel not configured"
            except DeliveryError as exc:
                d.last_error = str(exc)[:2000]
                if d.attempts >= MAX_ATTEMPTS:
                    d.status = "failed"
                else:
                    d.next_attempt_at = now() + backoff(d.attempts, channels.backoff_base)
                log.warning("delivery %s (%s) failed: %s", d.id, d.channel, exc)
            key = d.status if d.status != "pending" else "retry"
            counts[key] += 1
    return counts


def deliver_digests(
    factory: sessionmaker[Session],
    channels: Channels,
    languages: Mapping[str, Gettext],
    *,
    limit: int = 200,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> dict[str, int]:
    """Send each user's due digest messages as one e-mail; counts deliveries by outcome."""
    counts = {"sent": 0, "skipped": 0, "retry": 0, "failed": 0}
    due = (
        NotificationDelivery.status == "pending",
        NotificationDelivery.digest.is_(True),
        NotificationDelivery.channel == "email",
        NotificationDelivery.next_attempt_at <= now(),
    )
    with factory() as session:
        users = session.scalars(
            select(Notification.user_id)
            .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
            .where(*due)
            .group_by(Notification.user_id)
            .order_by(Notification.user_id)
            .limit(limit)
        ).all()
    for user_id in users:
        with factory() as session, session.begin():
            # Another run busy with this user's digest: it sends it; this run leaves it alone.
            if not session.scalar(
                select(func.pg_try_advisory_xact_lock(DIGEST_LOCK_CLASS, user_id))
            ):
                continue
            rows = session.execute(
                select(NotificationDelivery, Notification)
                .join(Notification, Notification.id == NotificationDelivery.notification_id)
                .where(Notification.user_id == user_id, *due)
                .order_by(Notification.created_at, Notification.id)
                .with_for_update(of=NotificationDelivery, skip_locked=True)
            ).all()
            user = session.get(User, user_id)
            if not rows or user is None:
                continue
            language = _language(session, user_id)
            subject, body = notify.render_digest(
                [n for _, n in rows], languages[language], language, channels.base_url
            )
            try:
                status = _mail(channels, user.email, subject, body)
                error = ""
            except DeliveryError as exc:
                status, error = "pending", str(exc)[:2000]
                log.warning("digest for user %s failed: %s", user_id, exc)
            for d, _n in rows:
                d.attempts += 1
                if status == "pending":
                    d.last_error = error
                    if d.attempts >= MAX_ATTEMPTS:
                        d.status = "failed"
                    else:
                        d.next_attempt_at = now() + backoff(d.attempts, channels.backoff_base)
                else:
                    d.status = status
                    d.sent_at = now() if status == "sent" else None
                    d.last_error = "" if status == "sent" else "channel not configured"
                counts[d.status if d.status != "pending" else "retry"] += 1
    return counts


def remind(factory: sessionmaker[Session], config: Mapping[str, Any], today: dt.date) -> int:
    days = [
        int(x) for x in str(config.get("PINMAP_REMINDER_DAYS") or "7,1").split(",") if x.strip()
    ]
    with factory() as session, session.begin():
        return notify.remind_windows(session, today, days)


def schedule(scheduler: Any, factory: sessionmaker[Session], config: Mapping[str, Any]) -> None:
    """Add the delivery job (every minute) and the reminders (hourly) to the leader's scheduler."""
    from apscheduler.triggers.interval import IntervalTrigger

    def _deliver() -> None:
        try:
            counts = deliver_due(factory, config)
            if any(counts.values()):
                log.info("notifications: %s", counts)
        except Exception:  # a failing job must not take the scheduler down
            log.exception("notification delivery crashed")

    def _remind() -> None:
        try:
            today = dt.datetime.now(notify.BANGKOK).date()
            log.info("reminders recorded: %s", remind(factory, config, today))
        except Exception:
            log.exception("reminders crashed")

    now = dt.datetime.now(dt.UTC)
    scheduler.add_job(_deliver, IntervalTrigger(seconds=60), id="notify-deliver", next_run_time=now)
    scheduler.add_job(_remind, IntervalTrigger(hours=1), id="notify-remind", next_run_time=now)
