"""Saving, sending and autosaving an office's report form on the workflow engine, written once.

A report page (a quarterly project report, an operating plan) reads what was typed, saves it as
the working revision (version checked) and, for its send button, certifies and sends it, all in
one transaction. Every refusal redraws the form with the typed text; the autosave endpoint
(formkeeper.js, `data-autosave`) saves the same way and answers JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, flash, jsonify, redirect, request
from sqlalchemy.orm import Session

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..fiscal import to_bangkok
from ..models import WorkflowReport
from ..security import current_actor
from ..services.audit import Actor
from ..services.errors import ServiceError

# Saves the typed data (the expected version given) and returns the report.
Save = Callable[[Session, Actor, dict[str, Any], int | None], WorkflowReport]
# Certifies and sends the saved working revision.
Send = Callable[[Session, Actor, WorkflowReport], object]
# Redraws the page: (error message, HTTP status, typed values).
Redraw = Callable[[str, int, dict[str, Any]], Any]


@dataclass(frozen=True)
class ReportForm:
    """What differs between report forms; `press` and `autosave` do the rest."""

    limits: Mapping[str, int]
    save: Save
    send: Send
    redraw: Redraw


def _typed() -> dict[str, Any]:
    return request.form.to_dict()


def press(
    form: ReportForm, button: str, send_button: str, done_url: str, saved: str, sent: str
) -> Any:
    """Save (and for `send_button`, certify and send) what was typed; redraw it on refusal."""
    session = get_session()
    typed = _typed()
    actor = current_actor()
    try:
        forms.same_button(button)
        forms.check_text(request.form, form.limits, default_limit=100)
        report = form.save(session, actor, typed, request.form.get("version", type=int))
        if button == send_button:
            form.send(session, actor, report)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return form.redraw(service_message(err), err.status, typed)
    flash(sent if button == send_button else saved)
    return redirect(done_url)


def autosave(form: ReportForm) -> tuple[Response, int]:
    """Save a draft of what was typed: `{"saved_at": "hh:mm", "version": n}` (Bangkok time),
    or `{"error": "..."}` with the refusal's 4xx status (the page keeps the text)."""
    session = get_session()
    try:
        forms.same_button("save")
        forms.check_text(request.form, form.limits, default_limit=100)
        report = form.save(
            session, current_actor(), _typed(), request.form.get("version", type=int)
        )
        rev = report.current
        assert rev is not None  # noqa: S101 (saving made the working revision)
        answer = {
            "saved_at": to_bangkok(rev.updated_at).strftime("%H:%M"),
            "version": rev.version,
        }
        session.commit()
    except ServiceError as err:
        session.rollback()
        return jsonify(error=service_message(err)), err.status
    return jsonify(answer), 200
