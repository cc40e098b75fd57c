"""Notifications end to end: the workflow records messages in its own transaction, the outbox is
delivered to a real SMTP server (aiosmtpd) and a real HTTP receiver (signed webhook), exactly once
under two concurrent delivery runs, retried with backoff when the server fails.

Against a database of its own, so each session really commits (as the scheduler's would).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest import notify_jobs, scheduler
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    Office,
    PolicyItem,
    ReportingWindow,
    User,
)
from pinmap.services import notify
from pinmap.services import workflow as wf
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor
from pinmap.services.errors import N_

from ..support.databases import prepared_database
from ..support.mail import Inbox, _free_port
from ..support.portal import PASSWORD

KIND = wf.register(
    wf.KindSpec(
        "notify_two",
        "notify_report",
        (wf.CERTIFY, wf.REVIEW),
        lambda report, data: {"text": str(data.get("text") or "")},
        lambda report, data: [] if data.get("text") else ["text"],
        {"text": N_("Text")},
    )
)
SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="module")
def factory(pg_cluster: Cluster) -> Iterator[sessionmaker[Session]]:
    url = prepared_database(pg_cluster, "pinmap_notify")
    engine = make_engine(url, pool_size=6, max_overflow=2)
    made = sessionmaker(bind=engine, expire_on_commit=False)
    with made.begin() as session:
        for who, role, office in (
            ("editor", "office_editor", "spp-krabi"),
            ("director", "office_director", "spp-krabi"),
            ("reviewer", "reviewer", None),
        ):
            create_user(
                session,
                Actor(None),
                email=f"nt-{who}@example.go.th",
                name=who,
                password=PASSWORD,
                role=role,
                office_code=office,
            )
    yield made
    # The scheduler's jobs are shut down without waiting: let any still running give their
    # connection back, so none is left open when the engine goes (a ResourceWarning at exit).
    deadline = time.monotonic() + 30
    while engine.pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_outbox(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        session.execute(delete(Notification))
        session.execute(delete(NotificationPreference))  # everyone back to the defaults


def _actor(session: Session, who: str) -> Actor:
    user = session.scalars(select(User).filter_by(email=f"nt-{who}@example.go.th")).one()
    return Actor(user, "127.0.0.1")


def _return_report(factory: sessionmaker[Session], subject: str, comment: str) -> int:
    with factory.begin() as session:
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        report = wf.save(
            session, _actor(session, "editor"), KIND.kind, office, 2570, subject, {"text": "x"}, 0
        )
        assert report.current is not None
        report = wf.submit(session, _actor(session, "director"), report, report.current.version)
        assert report.current is not None
        report = wf.decide(
            session, _actor(session, "reviewer"), report, "return", report.current.version, comment
        )
        return report.id


def _deliveries(factory: sessionmaker[Session], channel: str) -> list[NotificationDelivery]:
    with factory() as session:
        return list(
            session.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.channel == channel)
                .order_by(NotificationDelivery.id)
            )
        )


def test_a_return_is_recorded_in_its_transaction_and_mailed_with_the_comment(
    factory: sessionmaker[Session], inbox: Inbox
) -> None:
    comment = "ขาดหลักฐาน <b>ภาพถ่าย</b>"
    report_id = _return_report(factory, "nt:return", comment)
    with factory() as session:
        rows = session.scalars(select(Notification).where(Notification.kind == "report_returned"))
        got = {(n.subject, n.params["comment"]) for n in rows}
        assert got == {(f"report:{report_id}", comment)}
        assert session.scalar(select(func.count()).select_from(Notification)) == 2  # both staff
    counts = notify_jobs.deliver_due(factory, inbox.config())
    assert counts["sent"] == 2 and counts["skipped"] == 2  # no webhook configured
    mails = inbox.wait_for(2)
    assert {str(m["To"]) for m in mails} == {"nt-editor@example.go.th", "nt-director@example.go.th"}
    body = mails[0].get_body(("plain",))
    assert body is not None and comment in body.get_content()
    assert "ส่งคืน" in str(mails[0]["Subject"])  # sent in Thai
    # Running again sends nothing more: each delivery is done once.
    assert notify_jobs.deliver_due(factory, inbox.config())["sent"] == 0
    assert len(inbox.messages) == 2


def test_recording_an_occasion_twice_makes_one_message(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        uid = _actor(session, "editor").user.id  # type: ignore[union-attr]
        first = notify.on_question_answered(session, uid, 7, "คำถาม")
    with factory.begin() as session:
        again = notify.on_question_answered(session, uid, 7, "คำถาม")
        assert notify.unread_count(session, uid) == 1
    assert (first, again) == (1, 0)
    assert len(_deliveries(factory, "email")) == 1


def test_the_action_succeeds_when_smtp_is_down_and_delivery_retries_with_backoff(
    factory: sessionmaker[Session], inbox: Inbox
) -> None:
    down = {**inbox.config(), "PINMAP_SMTP_PORT": _free_port()}  # nothing listens there
    _return_report(factory, "nt:down", "แก้ไข")  # committed although mail cannot go
    t0 = dt.datetime.now(dt.UTC)
    counts = notify_jobs.deliver_due(factory, down, now=lambda: t0)
    assert counts["retry"] == 2 and counts["sent"] == 0
    first = _deliveries(factory, "email")
    assert all(d.status == "pending" and d.attempts == 1 and d.last_error for d in first)
    assert all(d.next_attempt_at == t0 + dt.timedelta(seconds=60) for d in first)
    # Not due yet: nothing is tried before the backoff has passed.
    assert notify_jobs.deliver_due(factory, down, now=lambda: t0 + dt.timedelta(seconds=30)) == {
        "sent": 0,
        "skipped": 0,
        "retry": 0,
        "failed": 0,
    }
    t1 = t0 + dt.timedelta(seconds=61)
    notify_jobs.deliver_due(factory, down, now=lambda: t1)
    second = _deliveries(factory, "email")
    assert all(
        d.attempts == 2 and d.next_attempt_at == t1 + dt.timedelta(seconds=120) for d in second
    )
    with factory() as session:
        assert len(notify.troubled_deliveries(session)) == 2  # what admins see
    # The server is back: the next due run delivers each message once, the error cleared.
    later = t1 + dt.timedelta(seconds=121)
    assert notify_jobs.deliver_due(factory, inbox.config(), now=lambda: later)["sent"] == 2
    assert len(inbox.wait_for(2)) == 2
    assert all(d.status == "sent" and d.last_error == "" for d in _deliveries(factory, "email"))
    assert notify_jobs.backoff(20) == dt.timedelta(hours=6)  # capped


def test_a_delivery_failing_every_time_ends_failed_with_its_error(
    factory: sessionmaker[Session],
) -> None:
    config = {
        "PINMAP_SMTP_HOST": "127.0.0.1",
        "PINMAP_SMTP_PORT": _free_port(),
        "PINMAP_SMTP_SECURITY": "none",
        "PINMAP_SMTP_TIMEOUT": 2,
    }
    with factory.begin() as session:
        uid = _actor(session, "director").user.id  # type: ignore[union-attr]
        notify.on_feedback_published(session, 0, "feedback:1", "ผลการนิเทศ")
        notify.on_question_answered(session, uid, 9, "คำถาม")
    clock = dt.datetime.now(dt.UTC)
    for _ in range(notify_jobs.MAX_ATTEMPTS):
        notify_jobs.deliver_due(factory, config, now=lambda at=clock: at)
        clock += notify_jobs.BACKOFF_CAP * dt.timedelta(seconds=1)
    (d,) = _deliveries(factory, "email")
    assert d.status == "failed" and d.attempts == notify_jobs.MAX_ATTEMPTS and d.last_error
    with factory.begin() as session:
        notify.retry_delivery(session, Actor(None, now=clock), d.id)
    assert _deliveries(factory, "email")[0].status == "pending"


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Condition()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.arrived:
            self.received.append((dict(self.headers), body))
            self.arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_is_a_signed_json_post(factory: sessionmaker[Session], receiver: str) -> None:
    _return_report(factory, "nt:hook", "ความเห็น")
    config = {
        "PINMAP_WEBHOOK_URL": receiver,
        "PINMAP_WEBHOOK_SECRET": SECRET,
        "PINMAP_BASE_URL": "https://pinmap.example",
    }
    counts = notify_jobs.deliver_due(factory, config)
    assert counts["sent"] == 2 and counts["skipped"] == 2  # mail is off
    assert len(_Receiver.received) == 2
    for headers, body in _Receiver.received:
        stamp = headers["X-Pinmap-Timestamp"]
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        assert hmac.compare_digest(headers["X-Pinmap-Signature"], "sha256=" + expected.hexdigest())
        assert abs(int(stamp) - dt.datetime.now(dt.UTC).timestamp()) < 300
        payload = json.loads(body)
        assert payload["kind"] == "report_returned" and "ความเห็น" in payload["text"]
        assert payload["link"].startswith("https://pinmap.example/")
    assert notify_jobs.sign(SECRET, "1", b"{}") != notify_jobs.sign("other", "1", b"{}")


def test_two_concurrent_delivery_runs_send_each_message_exactly_once(
    factory: sessionmaker[Session], inbox: Inbox
) -> None:
    with factory.begin() as session:
        uid = _actor(session, "editor").user.id  # type: ignore[union-attr]
        for q in range(30):
            notify.on_question_answered(session, uid, 1000 + q, f"คำถาม {q}")
    start = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def run() -> None:
        start.wait()
        results.append(notify_jobs.deliver_due(factory, inbox.config()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 30
    assert len(inbox.wait_for(30)) == 30
    subjects = [str(m["Subject"]) for m in inbox.messages]
    assert len(set(subjects)) == 30  # no message twice
    assert all(d.attempts == 1 and d.status == "sent" for d in _deliveries(factory, "email"))


def test_preferences_turn_a_kind_off_and_a_digest_waits_for_the_morning(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        editor = _actor(session, "editor").user.id  # type: ignore[union-attr]
        director = _actor(session, "director").user.id  # type: ignore[union-attr]
        notify.save_preferences(session, _actor(session, "editor"), [], False)  # no e-mail
        notify.save_preferences(session, _actor(session, "director"), ["question_answered"], True)
        notify.on_question_answered(session, editor, 50, "a")
        notify.on_question_answered(session, director, 51, "b")
    emails = _deliveries(factory, "email")
    assert len(emails) == 1  # the editor's is in the inbox only
    local = emails[0].next_attempt_at.astimezone(notify.BANGKOK)
    assert (local.hour, local.minute) == (notify.DIGEST_HOUR, 0)
    with factory() as session:
        assert notify.preferences(session, editor).email_off == frozenset(notify.TEXTS)


def test_window_reminders_are_recorded_once_whatever_runs_them(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        fy = session.scalar(
            select(PolicyItem.fiscal_year).order_by(PolicyItem.fiscal_year.desc()).limit(1)
        )
        assert fy is not None, "the reference catalogue has items"
        today = dt.date(2026, 11, 30)
        window = ReportingWindow(
            fiscal_year=fy,
            round_no=9,
            label_th="รอบทดสอบ",
            label_en="Test round",
            opens_on=today - dt.timedelta(days=10),
            closes_on=today + dt.timedelta(days=5),
        )
        session.add(window)
        session.flush()
        window_id = window.id
    try:
        # Two schedulers (or a restart) running the same day record each message once.
        with factory.begin() as session:
            first = notify.remind_windows(session, today, [7, 1])
        with factory.begin() as session:
            assert notify.remind_windows(session, today, [7, 1]) == 0
            kinds = dict(
                session.execute(
                    select(Notification.kind, func.count())
                    .where(Notification.subject == f"window:{window_id}")
                    .group_by(Notification.kind)
                ).all()
            )
            krabi = set(notify.office_users(session, [_office_id(session)]))
            closing = session.scalars(
                select(Notification).where(Notification.kind == "window_closing")
            ).all()
        assert first == kinds["window_open"] + kinds["window_closing"]
        assert krabi <= {n.user_id for n in closing}  # the office has sent nothing
        mine = next(n for n in closing if n.user_id in krabi)
        assert mine.occasion == "closes-in:7" and mine.params["count"] > 0
        assert mine.params["days"] == 5 and mine.params["missing"]
        # The next reminder (1 day before) is a new occasion; the 7-day one is not repeated.
        with factory.begin() as session:
            later = notify.remind_windows(session, today + dt.timedelta(days=4), [7, 1])
            assert later == len(
                session.scalars(
                    select(Notification.id).where(Notification.occasion == "closes-in:1")
                ).all()
            )
    finally:
        with factory.begin() as session:
            session.execute(delete(ReportingWindow).where(ReportingWindow.id == window_id))


def _office_id(session: Session) -> int:
    return session.scalars(select(Office.id).filter_by(code="spp-krabi")).one()


def test_a_final_approval_tells_the_office_and_nothing_else_does(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        report = wf.save(
            session, _actor(session, "editor"), KIND.kind, office, 2570, "nt:ok", {"text": "x"}, 0
        )
        assert report.current is not None
        report = wf.submit(session, _actor(session, "director"), report, report.current.version)
        assert notify.unread_count(session, _actor(session, "editor").user.id) == 0  # type: ignore[union-attr]
        assert report.current is not None
        wf.decide(session, _actor(session, "reviewer"), report, "approve", report.current.version)
        kinds = session.scalars(select(Notification.kind)).all()
    assert sorted(kinds) == ["report_approved", "report_approved"]


def _digest_user(factory: sessionmaker[Session], who: str, language: str = "th") -> int:
    with factory.begin() as session:
        actor = _actor(session, who)
        notify.save_preferences(session, actor, list(notify.TEXTS), True, language)
        return actor.user.id  # type: ignore[union-attr]


def _morning_after(at: dt.datetime) -> dt.datetime:
    return notify._digest_time(at) + dt.timedelta(minutes=1)


def test_a_daily_digest_is_one_email_in_the_readers_language_listing_every_message(
    factory: sessionmaker[Session], inbox: Inbox
) -> None:
    director = _digest_user(factory, "director", "en")
    recorded = dt.datetime.now(dt.UTC)
    with factory.begin() as session:
        for q in range(3):
            notify.on_question_answered(session, director, 300 + q, f"คำถามที่ {q}")
    _return_report(factory, "nt:digest", "ขาด <หลักฐาน>")  # one more message, to both staff
    config = inbox.config()
    # Before the morning: nothing leaves for the digest reader (the editor's own mail does).
    early = notify_jobs.deliver_due(factory, config)
    assert early["sent"] == 1
    (editors,) = inbox.wait_for(1)
    assert str(editors["To"]) == "nt-editor@example.go.th"
    morning = _morning_after(recorded)
    counts = notify_jobs.deliver_due(factory, config, now=lambda: morning)
    assert counts["sent"] == 4  # four deliveries, in one e-mail
    mails = inbox.wait_for(2)
    digest = mails[1]
    assert str(digest["To"]) == "nt-director@example.go.th"
    assert str(digest["Subject"]) == "Your messages from pinmap (4)"  # English, as chosen
    body = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for q in range(3):
        assert f"Your question was answered: คำถามที่ {q}" in body
        assert f"http://pinmap.test/help/questions/{300 + q}" in body
    assert "Report returned: Report fiscal year 2570" in body and "ขาด <หลักฐาน>" in body
    assert "/portal/offices/spp-krabi" in body  # the report's office page, not /portal/
    # Sent once: a second run (or a second scheduler later) sends nothing.
    again = notify_jobs.deliver_due(factory, config, now=lambda: morning)
    assert again["sent"] == 0 and len(inbox.messages) == 2
    emails = _deliveries(factory, "email")
    assert all(d.status == "sent" and d.attempts == 1 for d in emails)


def test_two_schedulers_send_one_digest_and_a_crash_sends_it_later_once(
    factory: sessionmaker[Session], inbox: Inbox
) -> None:
    editor = _digest_user(factory, "editor")
    director = _digest_user(factory, "director")
    recorded = dt.datetime.now(dt.UTC)
    with factory.begin() as session:
        for q in range(20):
            notify.on_question_answered(session, editor, 400 + q, f"ถาม {q}")
            notify.on_question_answered(session, director, 500 + q, f"ถาม {q}")
    morning = _morning_after(recorded)
    config = inbox.config()
    # A run that claimed the editor's digest and died before its commit (a crash) holds
    # the rows meanwhile: the other run leaves the editor alone and sends the director's.
    crashed = factory()
    crashed.begin()
    crashed.execute(select(func.pg_advisory_xact_lock(notify_jobs.DIGEST_LOCK_CLASS, editor)))
    crashed.execute(
        select(NotificationDelivery.id)
        .join(Notification)
        .where(Notification.user_id == editor, NotificationDelivery.channel == "email")
        .with_for_update(of=NotificationDelivery)
    ).all()
    try:
        start = threading.Barrier(2)
        results: list[dict[str, int]] = []

        def run() -> None:
            start.wait()
            results.append(notify_jobs.deliver_due(factory, config, now=lambda: morning))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r["sent"] for r in results) == 20
        (first,) = inbox.wait_for(1)
        assert str(first["To"]) == "nt-director@example.go.th"
    finally:
        crashed.rollback()  # the crash: nothing it claimed was marked
        crashed.close()
    assert len(inbox.messages) == 1
    assert notify_jobs.deliver_due(factory, config, now=lambda: morning)["sent"] == 20
    mails = inbox.wait_for(2)
    assert str(mails[1]["To"]) == "nt-editor@example.go.th"
    assert str(mails[1]["Subject"]) == "ข้อความของคุณจาก pinmap (20 รายการ)"  # Thai default
    assert notify_jobs.deliver_due(factory, config, now=lambda: morning)["sent"] == 0
    assert len(inbox.messages) == 2
    assert all(d.status == "sent" and d.attempts == 1 for d in _deliveries(factory, "email"))


def test_a_failing_digest_retries_all_its_messages_together(
    factory: sessionmaker[Session], inbox: Inbox
) -> None:
    editor = _digest_user(factory, "editor")
    recorded = dt.datetime.now(dt.UTC)
    with factory.begin() as session:
        for q in range(3):
            notify.on_question_answered(session, editor, 600 + q, f"ถาม {q}")
    morning = _morning_after(recorded)
    down = {**inbox.config(), "PINMAP_SMTP_PORT": _free_port()}
    assert notify_jobs.deliver_due(factory, down, now=lambda: morning)["retry"] == 3
    emails = _deliveries(factory, "email")
    assert {d.next_attempt_at for d in emails} == {morning + dt.timedelta(seconds=60)}
    assert all(d.last_error and d.status == "pending" for d in emails)
    later = morning + dt.timedelta(seconds=61)
    assert notify_jobs.deliver_due(factory, inbox.config(), now=lambda: later)["sent"] == 3
    assert len(inbox.wait_for(1)) == 1 and len(inbox.messages) == 1


def test_each_mail_is_in_its_readers_language(factory: sessionmaker[Session], inbox: Inbox) -> None:
    with factory.begin() as session:
        notify.save_preferences(session, _actor(session, "editor"), list(notify.TEXTS), False, "en")
    _return_report(factory, "nt:lang", "ขอแก้")
    notify_jobs.deliver_due(factory, inbox.config())
    subjects = {str(m["To"]): str(m["Subject"]) for m in inbox.wait_for(2)}
    assert subjects["nt-editor@example.go.th"] == "Report returned: Report fiscal year 2570"
    assert subjects["nt-director@example.go.th"].startswith("ส่งคืนรายงาน")
    assert "ปีงบประมาณ 2570" in subjects["nt-director@example.go.th"]


def test_the_scheduler_leader_delivers_the_outbox(
    factory: sessionmaker[Session], inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in inbox.config().items():
        monkeypatch.setenv(key, str(value))
    with factory.begin() as session:
        uid = _actor(session, "director").user.id  # type: ignore[union-attr]
        notify.on_question_answered(session, uid, 77, "ส่งผ่านตัวจัดตารางงาน")
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    stop = threading.Event()
    thread = threading.Thread(
        target=scheduler.run, args=(factory, dsn), kwargs={"poll": 0.2, "stop": stop}
    )
    thread.start()
    try:
        (mail,) = inbox.wait_for(1, timeout=30)
        assert "ส่งผ่านตัวจัดตารางงาน" in str(mail["Subject"])
        # The job commits after the server took the message: wait for that before stopping,
        # so no job is left holding a connection of the module's engine.
        deadline = time.monotonic() + 30
        while [d.status for d in _deliveries(factory, "email")] != ["sent"]:
            assert time.monotonic() < deadline, "the delivery was never marked sent"
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
