"""Portal views: sign-in, password, an office's dashboard, the report form, evidence files."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import forms
from ..auth import can, can_read_office_work
from ..db import get_session
from ..downloads import send_download
from ..errors import service_message
from ..models import Evidence, Office, PolicyItem, ProgressEntry, ProgressRevision
from ..security import current_actor, current_session_id, require, safe_next, sign_in, sign_out
from ..services import ingest_status, offices
from ..services import progress as svc
from ..services.accounts import authenticate, change_password, claim_attempt
from ..services.audit import record
from ..services.errors import N_, ServiceError
from ..services.uploads import UploadRejected, clean_upload, resolve, store
from . import bp

STATUS_LABELS = {
    "not_started": "Not started",
    "on_plan": "On plan",
    "plan_adjusted": "Plan adjusted",
    "output_achieved": "Output achieved",
}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    email = ""
    if request.method == "POST":
        session = get_session()
        email = request.form.get("email", "")
        ip = request.remote_addr or "?"
        try:
            claim_attempt(session, email, ip)
            # Committed before the password is checked, so parallel guesses count each other.
            session.commit()
            user = authenticate(session, email, request.form.get("password", ""), ip, claimed=True)
        except ServiceError as err:
            session.commit()  # the failed attempt stays counted
            return render_template(
                "portal/login.html", email=email, error=service_message(err)
            ), err.status
        record(session, current_actor(), "user.login", "user", user.id)
        sign_in(user)
        session.commit()
        return redirect(safe_next(request.args.get("next")))
    return render_template("portal/login.html", email=email, error=None)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        record(get_session(), current_actor(), "user.logout", "user", current_user.id)
    sign_out()
    get_session().commit()
    return redirect(url_for("public.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    if request.method == "POST":
        session = get_session()
        if request.form.get("new", "") != request.form.get("repeat", ""):
            return render_template(
                "portal/password.html", error=_("The two new passwords differ.")
            ), 400
        try:
            revoked = change_password(
                session,
                current_actor(),
                current_user,
                request.form.get("old", ""),
                request.form.get("new", ""),
                keep=current_session_id(),
            )
        except ServiceError as err:
            return render_template("portal/password.html", error=service_message(err)), err.status
        session.commit()
        flash(_("Password changed. Other sessions have been signed out."))
        if revoked:
            flash(
                _(
                    "%(n)s API tokens of yours were revoked; ask an admin for new ones "
                    "(pinmap tokens create).",
                    n=revoked,
                )
            )
        return redirect(url_for("portal.home"))
    return render_template("portal/password.html", error=None)


@bp.route("/")
@require("view_portal")
def home() -> Any:
    if current_user.office_id is not None:
        office = get_session().get(Office, current_user.office_id)
        return redirect(url_for("portal.office", code=office.code))  # type: ignore[union-attr]
    if not can(current_user, "review_entry"):  # a coach: reads offices' work, reviews nothing
        return redirect(url_for("coaching.dashboard"))
    return redirect(url_for("review.queue"))


def _office_or_404(code: str) -> Office:
    if "\x00" in code or len(code) > 60:  # no office code holds these; the database refuses NUL
        abort(404, description=_("No office with code %(code)s.", code=code))
    return offices.office_or_404(get_session(), code)


def _fiscal_year_arg() -> int:
    session = get_session()
    wanted = request.args.get("fiscal_year", type=int)
    if wanted and session.scalar(select(PolicyItem.id).filter_by(fiscal_year=wanted).limit(1)):
        return wanted
    today = current_actor().today_bangkok
    return svc.catalogue_year(session, today) or svc.fiscal_year_of(today)


@bp.route("/offices/<code>")
@require("view_portal")
def office(code: str) -> Any:
    session = get_session()
    office = _office_or_404(code)
    if not can_read_office_work(current_user, office.id):
        abort(403, description=_("You may not see this office's unpublished reports."))
    fiscal_year = _fiscal_year_arg()
    actor = current_actor()
    rounds = svc.windows(session, fiscal_year)
    items = svc.items_of(session, fiscal_year)
    entries = {
        (e.item_id, e.round_no): e for e in svc.office_work(session, actor, office, fiscal_year)
    }
    deadlines = {
        w.round_no: svc.can_submit_now(session, w, office.id, actor.today_bangkok) for w in rounds
    }
    return render_template(
        "portal/office.html",
        office=office,
        fiscal_year=fiscal_year,
        rounds=rounds,
        items=items,
        entries=entries,
        deadlines=deadlines,
        today=actor.today_bangkok,
        missing=svc.missing_for_submission,
        status_labels=STATUS_LABELS,
        can_edit=can(current_user, "edit_entry", office.id),
        disagreements=ingest_status.disagreements(session, office.id),
        conflicts=ingest_status.open_conflicts(session, office.id),
    )


def _item_or_404(fiscal_year: int, kind: str, no: int) -> PolicyItem:
    return svc.item_or_404(get_session(), fiscal_year, kind, no)


ENTRY = "/offices/<code>/entries/<int:fiscal_year>/<int:round_no>/<kind>/<int:no>"
FORM_FIELDS = (
    "status",
    "what",
    "where",
    "how",
    "result",
    "indicator_value",
    "indicator_target",
    "indicator_unit",
    "no_activity_reason",
    "no_activity_when",
)
EVIDENCE_FIELDS = ("link_url", "link_title", "file_title")
# Longest value each field may hold (the column's size, or what the service keeps); refused,
# never cut. Fields not named here get forms.check_text's default.
ENTRY_LIMITS = {
    **dict.fromkeys(svc.NARRATIVE, svc.MAX_NARRATIVE),
    "no_activity_reason": 2_000,
    "no_activity_when": 2_000,
    "link_url": 2_000,
    "link_title": 300,
    "file_title": 300,
    "status": 20,
    "indicator_unit": 10,
    "indicator_value": 50,
    "indicator_target": 50,
}


@bp.route(ENTRY, methods=["GET", "POST"])
@require("view_portal")
def entry(code: str, fiscal_year: int, round_no: int, kind: str, no: int) -> Any:
    for number in (fiscal_year, round_no, no):
        forms.path_in_range(number, 0, forms.SMALLINT[1])
    if "\x00" in kind or len(kind) > 10:
        abort(404)
    session = get_session()
    office = _office_or_404(code)
    if not can_read_office_work(current_user, office.id):
        abort(403, description=_("You may not see this office's unpublished reports."))
    item = _item_or_404(fiscal_year, kind, no)
    window = svc.get_window(session, fiscal_year, round_no)
    if window is None:
        abort(
            404,
            description=_(
                "Fiscal year %(fy)s has no reporting round %(round)s.",
                fy=fiscal_year,
                round=round_no,
            ),
        )
    actor = current_actor()
    error, status, typed, typed_evidence = None, 200, None, {}
    if request.method == "POST":
        action = request.form.get("action", "save")
        version = request.form.get("version", type=int)
        # What was typed into whichever form was sent, shown again if it is refused.
        if any(k in request.form for k in FORM_FIELDS):
            typed = {k: request.form.get(k, "") for k in FORM_FIELDS}
        typed_evidence = {k: request.form.get(k, "") for k in EVIDENCE_FIELDS}
        try:
            forms.check_text(request.form, ENTRY_LIMITS)
            if action == "save" or action == "submit":
                content = typed if typed is not None else dict.fromkeys(FORM_FIELDS, "")
                rev = svc.save_draft(session, actor, office, item, round_no, content, version)
                if action == "submit":
                    found = svc.find_entry(session, office.id, item.id, round_no)
                    svc.submit(session, actor, found, rev.version)  # type: ignore[arg-type]
            elif action == "add_link":
                url = request.form.get("link_url", "").strip()
                if not url.startswith(("http://", "https://")):
                    raise ServiceError(400, N_("A link must start with http:// or https://."))
                link = Evidence(kind="link", url=url, title=typed_evidence["link_title"])
                svc.add_evidence(session, actor, office, item, round_no, version, link)
            elif action == "upload":
                upload = request.files.get("file")
                if upload is None or not upload.filename:
                    raise ServiceError(400, N_("Choose a file to upload."))
                original_name = forms.file_name(upload.filename)
                try:
                    clean = clean_upload(
                        upload.stream,
                        upload.filename,
                        max_bytes=current_app.config["PINMAP_MAX_UPLOAD_BYTES"],
                    )
                except UploadRejected as exc:
                    raise ServiceError(400, exc.message_en) from exc
                evidence = Evidence(
                    kind="file",
                    title=typed_evidence["file_title"],
                    original_name=original_name,
                    mime=clean.mime,
                    size_bytes=len(clean.data),
                    sha256=clean.sha256,
                )
                evidence.stored_name = store(
                    current_app.config["PINMAP_UPLOAD_DIR_PATH"], clean, session
                )
                svc.add_evidence(session, actor, office, item, round_no, version, evidence)
            elif action == "remove_evidence":
                svc.remove_evidence(
                    session,
                    actor,
                    office,
                    item,
                    round_no,
                    version,
                    request.form.get("evidence_id", type=int) or 0,
                )
            else:
                raise forms.unknown_action()
            session.commit()
            flash(_("Submitted for review.") if action == "submit" else _("Saved."))
            return redirect(request.path)
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
    found = svc.find_entry(session, office.id, item.id, round_no)
    history = svc.revisions(session, found) if found else []
    earlier = _earlier_rounds(session, office.id, item.id, round_no)
    is_open, last_day = svc.can_submit_now(session, window, office.id, actor.today_bangkok)
    current = found.current if found else None
    return render_template(
        "portal/entry.html",
        office=office,
        item=item,
        window=window,
        entry=found,
        current=current,
        typed=typed,
        typed_evidence=typed_evidence,
        error=error,
        history=history,
        earlier=earlier,
        is_open=is_open,
        last_day=last_day,
        status_labels=STATUS_LABELS,
        can_edit=can(current_user, "edit_entry", office.id),
        can_submit=can(current_user, "submit_entry", office.id),
        missing=svc.missing_for_submission(current) if current else [],
    ), status


def _earlier_rounds(session: Any, office_id: int, item_id: int, round_no: int) -> list[Any]:
    """Approved revisions of the same item in earlier rounds, for side-by-side reading."""
    return list(
        session.scalars(
            select(ProgressRevision)
            .join(ProgressEntry, ProgressEntry.approved_revision_id == ProgressRevision.id)
            .where(
                ProgressEntry.office_id == office_id,
                ProgressEntry.item_id == item_id,
                ProgressEntry.round_no < round_no,
            )
            .order_by(ProgressEntry.round_no)
        )
    )


@bp.route("/evidence/<int:evidence_id>")
def evidence_file(evidence_id: int) -> Any:
    """An uploaded file: public once its report is approved, else to the office and OBEC."""
    session = get_session()
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.kind != "file" or not ev.stored_name:
        abort(404)
    rev = ev.revision
    entry = rev.entry
    public = entry.approved_revision_id == rev.id
    user = current_user if current_user.is_authenticated else None
    if not public and not can_read_office_work(user, entry.office_id):
        abort(404)  # do not reveal that an unpublished file exists
    path = resolve(current_app.config["PINMAP_UPLOAD_DIR_PATH"], ev.stored_name)
    response = send_download(
        path,
        ev.mime,
        ev.original_name or path.name,
        as_attachment=ev.mime == "application/pdf",
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
