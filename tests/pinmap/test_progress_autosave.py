"""The progress form keeps what was typed: its autosave endpoint (the form keeper's contract)
and evidence buttons that save the report's unsaved text in the same submission."""

from __future__ import annotations

import io
import re

from ..support import authz_matrix as m
from ..support.progress_sql import REVISIONS

TYPED = "ข้อความที่ยังไม่ได้บันทึก 17"


def _autosave(c: m.Ctx, who: str, **form: str) -> tuple[int, dict[str, object]]:
    r = c.page(who).post(m._entry_page(c) + "/autosave", data=form)
    assert r.is_json, r.get_data(as_text=True)[:500]
    return r.status_code, r.get_json()


def test_autosave_saves_a_draft_and_answers_the_time_and_version(ctx: m.Ctx) -> None:
    c = ctx
    status, body = _autosave(c, "own_editor", **{**m._form(), "what": TYPED, "version": "0"})
    assert status == 200, body
    assert re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", str(body["saved_at"])), body
    first = int(str(body["version"]))
    assert c.scalar(f"SELECT what FROM {REVISIONS} ORDER BY id DESC LIMIT 1") == TYPED  # noqa: S608 (a fixed row source, no input)
    # The next autosave builds on the version the last one answered.
    status, body = _autosave(c, "own_editor", **{**m._form(), "what": "ต่อ", "version": str(first)})
    assert status == 200 and int(str(body["version"])) > first, body
    assert c.scalar(f"SELECT count(*) FROM {REVISIONS}") == 1  # noqa: S608 (a fixed row source, no input)


def test_autosave_refusals_are_json_and_change_nothing(ctx: m.Ctx) -> None:
    c = ctx
    draft = m.draft(c)
    audit = c.audit_count()
    # A stale version: 409, the reason in Thai, nothing saved.
    status, body = _autosave(
        c, "own_editor", **{**m._form(), "what": TYPED, "version": str(draft["version"] - 1)}
    )
    assert status == 409 and body["error"], body
    # Too long a field: 400 naming the limit.
    status, body = _autosave(
        c,
        "own_editor",
        **{**m._form(), "what": "ก" * 5_001, "version": str(draft["version"])},
    )
    assert status == 400 and "5000" in str(body["error"]), body
    # Nothing of the report's fields: nothing to save.
    status, body = _autosave(c, "own_editor", version=str(draft["version"]))
    assert status == 400 and body["error"], body
    # A reader who may not edit (OBEC's reviewer): 403 in JSON.
    status, body = _autosave(c, "reviewer", **{**m._form(), "version": str(draft["version"])})
    assert status == 403 and body["error"], body
    assert c.audit_count() == audit
    assert c.scalar(f"SELECT count(*) FROM {REVISIONS} WHERE what = :t", t=TYPED) == 0  # noqa: S608 (a fixed row source, no input)


def test_autosave_of_a_report_waiting_for_review_is_refused(ctx: m.Ctx) -> None:
    c = ctx
    sent = m.submitted(c)
    status, body = _autosave(c, "own_editor", **{**m._form(), "version": str(sent["version"])})
    assert status == 409 and body["error"], body


def test_adding_a_link_saves_the_unsaved_text_with_it(ctx: m.Ctx) -> None:
    c = ctx
    draft = m.draft(c)
    r = c.page("own_editor").post(
        m._entry_page(c) + "/links",
        data={
            **m._form(),
            "result": TYPED,
            "action": "add_link",
            "version": str(draft["version"]),
            "link_url": "https://example.go.th/news",
            "link_title": "ข่าว",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    assert c.scalar(f"SELECT result FROM {REVISIONS} ORDER BY id DESC LIMIT 1") == TYPED  # noqa: S608 (a fixed row source, no input)
    assert c.scalar("SELECT count(*) FROM evidence WHERE url = 'https://example.go.th/news'") == 1


def test_uploading_a_file_saves_the_unsaved_text_with_it(ctx: m.Ctx) -> None:
    c = ctx
    draft = m.draft(c)
    r = c.page("own_editor").post(
        m._entry_page(c) + "/files",
        data={
            **m._form(),
            "how": TYPED,
            "action": "upload",
            "version": str(draft["version"]),
            "file": (io.BytesIO(m._png()), "p.png"),
            "file_title": "ภาพ",
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    assert c.scalar(f"SELECT how FROM {REVISIONS} ORDER BY id DESC LIMIT 1") == TYPED  # noqa: S608 (a fixed row source, no input)
    assert c.scalar("SELECT count(*) FROM evidence WHERE kind = 'file'") == 1


def test_removing_evidence_of_an_approved_report_saves_the_text_and_keeps_the_public_one(
    ctx: m.Ctx,
) -> None:
    c = ctx
    version, evidence_id = m.with_link(c)
    r = c.api().put(c.w.entry_url(), json=m.full_report(version), headers=c.h("own_editor"))
    r = c.api().post(
        c.w.entry_url(suffix="/submit"),
        json={"version": m._ok(r, 200).get_json()["version"]},
        headers=c.h("own_director"),
    )
    sent = m.decided(c, m._ok(r, 200).get_json(), "approve")
    r = c.page("own_editor").post(
        m._entry_page(c) + f"/evidence/remove?evidence_id={evidence_id}",
        data={
            **m._form(),
            "what": TYPED,
            "action": "remove_evidence",
            "version": str(sent["version"]),
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    # A new revision holds the text and no evidence; the approved one keeps its link.
    newest = c.scalar(f"SELECT id FROM {REVISIONS} ORDER BY id DESC LIMIT 1")  # noqa: S608 (a fixed row source, no input)
    assert c.scalar(f"SELECT what FROM {REVISIONS} WHERE id = :i", i=newest) == TYPED  # noqa: S608 (a fixed row source, no input)
    assert c.scalar("SELECT count(*) FROM evidence WHERE revision_id = :i", i=newest) == 0
    assert c.scalar("SELECT count(*) FROM evidence WHERE id = :i", i=evidence_id) == 1


def test_the_form_opts_in_to_the_form_keeper(ctx: m.Ctx) -> None:
    c = ctx
    html = c.page("own_editor").get(m._entry_page(c)).get_data(as_text=True)
    form = re.search(r"<form[^>]*entry-form[^>]*>", html)
    assert form is not None
    assert "data-keep" in form.group(0)
    assert f'data-autosave="{m._entry_page(c)}/autosave"' in form.group(0)
    assert "data-autosave-status" in html
    # Evidence buttons live inside the report's form (no nested or separate evidence forms).
    assert 'formaction="' + m._entry_page(c) + '/links"' in html
    assert 'formaction="' + m._entry_page(c) + '/files"' in html
