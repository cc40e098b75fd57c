"""Admin and reviewer pages for ingestion: sources, run log, quarantine, conflicts, consistency."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ingest.clients import redact
from ingest.jobs import resolve_conflict
from ingest.sources import SourceError, upsert

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import SOURCE_KINDS, IngestSource
from ..portal.common import STATUS_LABELS
from ..security import current_actor, require
from ..services import ingest_status as status
from ..services.audit import record
from ..services.errors import ServiceError
from . import bp

SOURCE_FORM = (
    "name",
    "kind",
    "url",
    "credentials_env",
    "interval_seconds",
    "cron",
    "timeout_seconds",
    "options",
    "pre_approved",
    "enabled",
)


# Longest value each field may hold (the column's size); refused with the limit, never cut.
SOURCE_LIMITS = {
    "name": 100,
    "kind": 20,
    "url": 2_000,
    "credentials_env": 100,
    "cron": 100,
    "interval_seconds": 20,
    "timeout_seconds": 20,
    "options": 10_000,
}
MAX_INTERVAL = 366 * 86_400  # a year: any longer is a typing slip
MAX_TIMEOUT = 3_600.0


def _spec_from_form(form: Any) -> dict[str, Any]:
    try:
        forms.check_text(form, SOURCE_LIMITS, default_limit=20)
        interval = forms.whole(form.get("interval_seconds"), "interval_seconds", 1, MAX_INTERVAL)
        timeout = forms.decimal(form.get("timeout_seconds"), "timeout_seconds", 1, MAX_TIMEOUT)
    except ServiceError as err:
        raise SourceError(service_message(err)) from err
    try:
        options = json.loads(form.get("options") or "{}")
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(_("options: not valid JSON (%(error)s)", error=str(exc)[:200])) from exc
    if "\\u0000" in json.dumps(options):  # PostgreSQL's JSON cannot hold a NUL character
        raise SourceError(_("options: a NUL character (\\u0000) is not allowed"))
    return {
        "kind": form.get("kind"),
        "url": form.get("url", "").strip(),
        "credentials_env": form.get("credentials_env", "").strip(),
        "interval_seconds": interval,
        "cron": form.get("cron", "").strip(),
        "timeout_seconds": timeout or 30.0,
        "options": options,
        "pre_approved": form.get("pre_approved") == "on",
        "enabled": form.get("enabled") == "on",
    }


@bp.route("/ingest", methods=["GET", "POST"])
@require("view_ingest")
def ingest_sources() -> Any:
    session = get_session()
    error, typed, code = None, None, 200
    if request.method == "POST":
        if not can(current_actor().user, "manage_sources"):
            abort(403)
        typed = {k: request.form.get(k, "") for k in SOURCE_FORM}
        name = typed["name"].strip()
        try:
            source, created = upsert(session, name, _spec_from_form(request.form))
            record(
                session,
                current_actor(),
                "ingest.source.save",
                "ingest_source",
                source.id,
                after={"name": name, "kind": source.kind, "url": redact(source.url)},
            )
            session.commit()
            flash(_("Source %(name)s saved.", name=name))
            return redirect(url_for("admin.ingest_sources"))
        except SourceError as exc:
            session.rollback()
            error, code = str(exc), 400
    sources = session.scalars(select(IngestSource).order_by(IngestSource.name)).all()
    streaks = status.failing_streaks(session)
    last_runs = {
        s.id: next(iter(status.runs(session, source=s.name, limit=1)), None) for s in sources
    }
    return render_template(
        "admin/ingest_sources.html",
        sources=sources,
        streaks=streaks,
        last_runs=last_runs,
        failing_after=status.FAILING_AFTER,
        kinds=SOURCE_KINDS,
        error=error,
        typed=typed,
    ), code


@bp.route("/ingest/runs")
@require("view_ingest")
def ingest_runs() -> Any:
    session = get_session()
    source = request.args.get("source") or None
    rows = status.runs(session, source=source, limit=200)
    names = dict(session.execute(select(IngestSource.id, IngestSource.name)).all())
    return render_template("admin/ingest_runs.html", runs=rows, names=names, source=source)


@bp.route("/ingest/runs/<int:run_id>/quarantine")
@require("view_ingest")
def ingest_quarantine(run_id: int) -> Any:
    rows = status.quarantine(get_session(), run_id=run_id, limit=1000)
    return render_template("admin/ingest_quarantine.html", rows=rows, run_id=run_id)


@bp.route("/ingest/conflicts", methods=["GET", "POST"])
@require("view_ingest")
def ingest_conflicts() -> Any:
    session = get_session()
    if request.method == "POST":
        decision = request.form.get("decision", "keep")
        try:
            forms.check_text(request.form, {"decision": 20}, default_limit=20)
            conflict_id = forms.whole(
                request.form.get("conflict_id"), "conflict_id", *forms.ID_RANGE, required=True
            )
            resolve_conflict(
                session,
                current_actor(),
                conflict_id,
                decision,
                request.form.get("version", type=int),
            )
        except ServiceError as err:
            session.rollback()
            return render_template(
                "admin/ingest_conflicts.html",
                status_labels=STATUS_LABELS,
                rows=status.open_conflicts(session),
                error=service_message(err),
            ), err.status
        session.commit()
        if decision == "keep":
            flash(_("Conflict resolved: the manual report was kept."))
        else:
            flash(_("Conflict resolved: the source's version is now the report's current one."))
        return redirect(url_for("admin.ingest_conflicts"))
    return render_template(
        "admin/ingest_conflicts.html",
        rows=status.open_conflicts(session),
        status_labels=STATUS_LABELS,
    )


@bp.route("/ingest/consistency")
@require("view_ingest")
def ingest_consistency() -> Any:
    return render_template(
        "admin/ingest_consistency.html", rows=status.disagreements(get_session())
    )
