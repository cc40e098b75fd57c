"""Signing in and out, changing one's password, and the portal's front door."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import Office
from ..security import current_actor, current_session_id, require, safe_next, sign_in, sign_out
from ..services.accounts import authenticate, change_password, claim_attempt
from ..services.audit import record
from ..services.errors import ServiceError
from . import bp


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
        office = get_session().get_one(Office, current_user.office_id)
        return redirect(url_for("portal.office", code=office.code))
    if not can(current_user, "review_entry"):  # a coach: reads offices' work, reviews nothing
        return redirect(url_for("coaching.dashboard"))
    return redirect(url_for("review.queue"))
