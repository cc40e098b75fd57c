"""Questions and answers: an office asks under a category and sees only its own questions;
OBEC answers (an unchanged answer tells nobody again, a changed one is one new message), the
refusals keep what was typed, the FAQ hides who asked and finds Thai words inside Thai text."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import FaqEntry, Notification, Question
from pinmap.services import questions as svc

from ..signin import sign_in
from ..support.portal import World, no_csrf

EVIL = '<script>alert("q")</script>'


def _ask(
    app: Flask, world: World, session: Session, title: str = "ส่งรายงานรอบสองอย่างไร"
) -> Question:
    client = app.test_client()
    sign_in(client, world.users["own_editor"])
    r = client.post(
        "/help/questions",
        data={"category": "reporting", "title": title, "body": f"บรรทัดแรก {EVIL}\nบรรทัดสอง"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    q = session.scalars(select(Question).order_by(Question.id.desc())).first()
    assert q is not None
    return q


def test_an_office_asks_and_sees_only_its_own_questions_escaped(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    q = _ask(app, world, session)
    own = app.test_client()
    sign_in(own, world.users["own_director"])  # the same office, not the asker
    page = own.get(f"/help/questions/{q.id}").get_data(as_text=True)
    assert "ส่งรายงานรอบสองอย่างไร" in page
    assert EVIL not in page and "&lt;script&gt;" in page
    assert "บรรทัดแรก" in page and "<br>" in page  # line breaks kept, as escaped lines
    assert "ส่งรายงานรอบสองอย่างไร" in own.get("/help/questions").get_data(as_text=True)
    other = app.test_client()
    sign_in(other, world.users["other_editor"])
    assert other.get(f"/help/questions/{q.id}").status_code == 404
    assert "ส่งรายงานรอบสองอย่างไร" not in other.get("/help/questions").get_data(as_text=True)
    reviewer = app.test_client()
    sign_in(reviewer, world.users["reviewer"])
    queue = reviewer.get("/help/questions").get_data(as_text=True)
    assert "ส่งรายงานรอบสองอย่างไร" in queue and EVIL not in queue


def test_refusals_keep_the_typed_text_in_thai(app: Flask, world: World, session: Session) -> None:
    no_csrf(app)
    client = app.test_client()
    sign_in(client, world.users["own_editor"])
    cases = [
        ({"category": "reporting", "title": "หัวข้อที่พิมพ์ไว้", "body": "  "}, "โปรดเขียนคำถาม"),
        ({"category": "nope", "title": "หัวข้อที่พิมพ์ไว้", "body": "เนื้อความ"}, "หมวด"),
        (
            {"category": "reporting", "title": "หัวข้อที่พิมพ์ไว้", "body": "ก" * (svc.MAX_BODY + 1)},
            str(svc.MAX_BODY),
        ),
    ]
    for data, says in cases:
        r = client.post("/help/questions", data=data)
        body = r.get_data(as_text=True)
        assert r.status_code == 400, body[:300]
        assert says in body
        assert 'value="หัวข้อที่พิมพ์ไว้"' in body  # typed text is drawn again
    assert session.scalar(select(func.count()).select_from(Question)) == 0  # nothing half-saved


def test_answers_tell_the_asker_once_per_version_and_the_faq_hides_who_asked(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    q = _ask(app, world, session)
    obec = app.test_client()
    sign_in(obec, world.users["reviewer"])
    url = f"/help/questions/{q.id}"
    # The asker's office cannot answer; OBEC can.
    own = app.test_client()
    sign_in(own, world.users["own_director"])
    assert own.post(url + "/answer", data={"answer": "x"}).status_code == 403
    empty = obec.post(url + "/answer", data={"answer": "   "})
    assert empty.status_code == 400
    assert obec.post(url + "/answer", data={"answer": "ตอบครั้งแรก\nบรรทัดสอง"}).status_code == 302
    assert obec.post(url + "/answer", data={"answer": "ตอบครั้งแรก\nบรรทัดสอง"}).status_code == 302
    assert obec.post(url + "/answer", data={"answer": f"ตอบใหม่ {EVIL}"}).status_code == 302
    asker = world.users["own_editor"].id
    notes = session.scalars(
        select(Notification).where(
            Notification.user_id == asker, Notification.kind == "question_answered"
        )
    ).all()
    assert sorted(n.occasion for n in notes) == ["answer:1", "answer:2"]
    assert {n.link for n in notes} == {url}  # the question's own page
    seen = app.test_client()
    sign_in(seen, world.users["own_editor"])
    page = seen.get(url).get_data(as_text=True)
    assert "ตอบใหม่" in page and EVIL not in page and "&lt;script&gt;" in page
    # Publishing: refused empty (typed kept), then in a public wording.
    bad = obec.post(
        url + "/faq",
        data={"faq_category": "system", "faq_question": "คำถามสาธารณะที่พิมพ์", "faq_answer": ""},
    )
    assert bad.status_code == 400 and "คำถามสาธารณะที่พิมพ์" in bad.get_data(as_text=True)
    ok = obec.post(
        url + "/faq",
        data={
            "faq_category": "system",
            "faq_question": "จะส่งรายงานรอบที่สองได้อย่างไร",
            "faq_answer": f"เข้าสู่ระบบแล้วเลือกรอบที่สอง {EVIL}",
        },
    )
    assert ok.status_code == 302
    assert session.scalar(select(func.count()).select_from(FaqEntry)) == 1
    public = app.test_client()
    faq = public.get("/help/faq").get_data(as_text=True)
    assert "จะส่งรายงานรอบที่สองได้อย่างไร" in faq and EVIL not in faq
    assert world.users["own_editor"].name not in faq
    office = q.office
    assert office.name_th not in faq and "ส่งรายงานรอบสองอย่างไร" not in faq
    # A Thai word in the middle of Thai text is found; another is not.
    assert "จะส่งรายงาน" in public.get("/help/faq?q=รอบที่สอง").get_data(as_text=True)
    miss = public.get("/help/faq?q=งบประมาณ").get_data(as_text=True)
    assert "จะส่งรายงานรอบที่สองได้อย่างไร" not in miss
    assert "จะส่งรายงาน" in public.get("/help/faq?category=system").get_data(as_text=True)
    other_cat = public.get("/help/faq?category=coaching").get_data(as_text=True)
    assert "จะส่งรายงานรอบที่สองได้อย่างไร" not in other_cat
    assert public.get("/help/faq?category=bogus").status_code == 400
    assert public.get("/help/faq?q=" + "ก" * 500).status_code == 400
    assert public.get("/help/faq?page=999999999999999999999").status_code == 200
    # Taken out of the FAQ: gone from the public page, the question and answer kept.
    assert obec.post(url + "/faq/withdraw").status_code == 302
    assert "จะส่งรายงานรอบที่สองได้อย่างไร" not in public.get("/help/faq").get_data(as_text=True)
    assert obec.post(url + "/faq/withdraw").status_code == 404
    assert "ตอบใหม่" in seen.get(url).get_data(as_text=True)


def test_the_faq_pages_and_reads_wildcards_as_separators(world: World, session: Session) -> None:
    for i in range(svc.FAQ_PAGE + 3):
        session.add(
            FaqEntry(
                category="other",
                question=f"คำถามที่ {i}",
                answer="100% ครบ" if i == 0 else "คำตอบ",
                search_text=svc.normalise(f"คำถามที่ {i} {'100% ครบ' if i == 0 else 'คำตอบ'}"),
            )
        )
    session.flush()
    first = svc.faq(session)
    assert (first.total, first.pages, len(first.entries)) == (svc.FAQ_PAGE + 3, 2, svc.FAQ_PAGE)
    assert len(svc.faq(session, page=2).entries) == 3
    assert svc.faq(session, "ครบ").total == 1  # a word inside Thai text
    # Punctuation (LIKE's wildcards among it) separates words and matches nothing by itself.
    assert svc.faq(session, "100%").total == 1 and svc.faq(session, "%_").total == svc.FAQ_PAGE + 3


def test_the_api_reads_the_faq_publicly_and_an_office_its_own_questions(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    q = _ask(app, world, session, title="ถามผ่าน API")
    session.add(
        FaqEntry(
            question_id=q.id,
            category="system",
            question="ใช้ API อย่างไร",
            answer="ขอโทเคนจากผู้ดูแล\nแล้วส่งในส่วนหัว",
            search_text=svc.normalise("ใช้ API อย่างไร ขอโทเคนจากผู้ดูแล แล้วส่งในส่วนหัว"),
        )
    )
    session.commit()
    api = app.test_client()
    page = api.get("/api/v1/faq?q=โทเคน").get_json()
    assert page["total"] == 1 and page["entries"][0]["answer"].endswith("แล้วส่งในส่วนหัว")
    assert "asker" not in str(page) and "office" not in str(page)
    assert api.get("/api/v1/faq?category=bogus").status_code == 400
    assert api.get("/api/v1/faq?q=" + "ก" * 200).status_code == 400
    assert api.get("/api/v1/questions").status_code == 401
    own = api.get("/api/v1/questions", headers=world.headers("own_director")).get_json()
    assert [x["title"] for x in own] == ["ถามผ่าน API"]
    other = api.get("/api/v1/questions", headers=world.headers("other_editor")).get_json()
    assert other == []
    assert api.get("/api/v1/questions", headers=world.headers("reviewer")).status_code == 403
