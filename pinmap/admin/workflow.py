"""/admin/workflow: each report kind's approval levels — who decides OBEC's review, and whether
a second OBEC level accepts (and who decides it). The office director always certifies first."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import forms
from ..auth import LEVEL_ROLES
from ..db import get_session
from ..errors import service_message
from ..security import current_actor, require
from ..services import workflow as wf
from ..services.errors import N_, ServiceError
from . import bp

ROLE_LABELS = {"reviewer": N_("Reviewers (OBEC)"), "admin": N_("Administrators (OBEC)")}


def _kinds() -> list[wf.KindSpec]:
    return sorted((s for s in wf.KINDS.values() if s.title), key=lambda s: s.kind)


def _page(error: str | None = None, typed: dict[str, Any] | None = None, status: int = 200) -> Any:
    session = get_session()
    rows = []
    for spec in _kinds():
        levels = wf.kind_levels(session, spec.kind)
        if typed and typed["kind"] == spec.kind:
            levels = wf.KindLevels(
                spec.kind,
                typed["review_roles"],
                typed["accept_enabled"],
                typed["accept_roles"],
                levels.version,
            )
        rows.append((spec, levels))
    return render_template(
        "admin/workflow.html",
        rows=rows,
        roles=LEVEL_ROLES,
        role_labels=ROLE_LABELS,
        error=error,
        error_kind=typed["kind"] if typed else None,
    ), status


@bp.get("/workflow")
@require("manage_workflow")
def workflow_levels() -> Any:
    return _page()


@bp.post("/workflow")
@require("manage_workflow")
def save_workflow_levels() -> Any:
    session = get_session()
    kind = request.form.get("kind", "")[:40]
    review_roles = [r for r in request.form.getlist("review_roles") if r in LEVEL_ROLES]
    accept_enabled = request.form.get("accept_enabled") == "1"
    accept_roles = [r for r in request.form.getlist("accept_roles") if r in LEVEL_ROLES]
    typed = {
        "kind": kind,
        "review_roles": review_roles,
        "accept_enabled": accept_enabled,
        "accept_roles": accept_roles,
    }
    try:
        forms.check_text(request.form, {"kind": 40, "version": 12}, default_limit=20)
        if kind not in {s.kind for s in _kinds()}:
            raise ServiceError(400, N_("No such kind of report."))
        version = forms.whole(request.form.get("version"), "version", 0, 2**31 - 1)
        wf.set_levels(
            session,
            current_actor(),
            kind,
            review_roles,
            accept_enabled,
            accept_roles,
            version,
        )
    except ServiceError as err:
        session.rollback()
        status = err.status if err.status in (403, 409) else 400
        return _page(service_message(err), typed, status)
    session.commit()
    flash(_("Approval levels saved."))
    return redirect(url_for("admin.workflow_levels"))
