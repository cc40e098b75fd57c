"""Authorization-matrix rows of the questions and answers (/help/questions): an office's staff
ask for their own office, OBEC (reviewers, admins) answers and publishes to the FAQ.
authz_matrix adds these rows to ROWS."""

from __future__ import annotations

from .authz_matrix import OBEC, OFFICE, Ctx, Row

# Every office user asks for their own office (the other office's editor too).
ASKERS = OFFICE | {"other_editor"}


def _question(c: Ctx, answered: bool = False) -> int:
    """A question of the own office, asked by its editor (answered when `answered`)."""
    return int(
        c.scalar(
            "INSERT INTO questions (office_id, asker_id, category, title, body, status, answer, "
            "answer_version, answered_at) SELECT u.office_id, u.id, 'reporting', 'ถาม', "
            "'คำถาม', :status, :answer, :version, CASE WHEN :answered THEN now() END "
            "FROM users u WHERE u.id = :uid RETURNING id",
            uid=c.user_id("own_editor"),
            status="answered" if answered else "open",
            answer="คำตอบ" if answered else "",
            version=1 if answered else 0,
            answered=answered,
        )
    )


def _published(c: Ctx) -> int:
    qid = _question(c, answered=True)
    c.scalar(
        "INSERT INTO faq_entries (question_id, category, question, answer, search_text) "
        "VALUES (:q, 'reporting', 'ถาม', 'ตอบ', 'ถาม ตอบ') RETURNING id",
        q=qid,
    )
    return qid


ROWS: list[Row] = [
    Row(
        "page ask a question",
        "POST",
        "/help/questions",
        ASKERS,
        act=lambda c, who, _: c.page(who).post(
            "/help/questions",
            data={"category": "reporting", "title": "หัวข้อ", "body": "คำถาม"},
        ),
    ),
    Row(
        "page answer a question",
        "POST",
        "/help/questions/<int:question_id>/answer",
        OBEC,
        prepare=_question,
        act=lambda c, who, qid: c.page(who).post(
            f"/help/questions/{qid}/answer", data={"answer": f"คำตอบจาก {who}"}
        ),
    ),
    Row(
        "page publish a question in the FAQ",
        "POST",
        "/help/questions/<int:question_id>/faq",
        OBEC,
        prepare=lambda c: _question(c, answered=True),
        act=lambda c, who, qid: c.page(who).post(
            f"/help/questions/{qid}/faq",
            data={"faq_category": "system", "faq_question": "ถาม", "faq_answer": "ตอบ"},
        ),
    ),
    Row(
        "page take a question out of the FAQ",
        "POST",
        "/help/questions/<int:question_id>/faq/withdraw",
        OBEC,
        prepare=_published,
        act=lambda c, who, qid: c.page(who).post(f"/help/questions/{qid}/faq/withdraw"),
    ),
]
