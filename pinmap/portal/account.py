"""Signing in and out, changing one's password, resetting it by e-mail, and the portal's front
door (where each role starts)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..db import get_session
from ..errors import service_message
from ..mail import MailError, MailSettings, send_mail
from ..models import Office
from ..security import current_actor, current_session_id, require, safe_next, sign_in, sign_out
from ..services.accounts import (
    RESET_LIFETIME,
    RESET_LINK_SPENT,
    authenticate,
    change_password,
    claim_attempt,
    complete_reset,
    request_reset,
    reset_for_token,
)
from ..services.audit import record
from ..services.errors import ServiceError
from . import bp

log = logging.getLogger(__name__)
MAX_EMAIL = 254
# Pages a user who must choose a new password may still reach (and what those pages load).
_OPEN_WHILE_MUST_CHANGE = frozenset(
    {"portal.password", "portal.logout", "static", "public.set_language"}
)


def mail_settings() -> MailSettings | None:
    """The SMTP settings when reset links can be mailed: a server and the site's own address
    (links are never built from the request's Host header, which a caller chooses)."""
    if not current_app.config.get("PINMAP_BASE_URL"):
        return None
    return MailSettings.from_config(current_app.config)


@bp.app_context_processor
def _mail_flag() -> dict[str, Any]:
    return {"reset_by_mail": lambda: mail_settings() is not None}


@bp.before_app_request
def _must_change_password() -> Any:
    """After an admin set a one-time password, every page but this one asks for a new one."""
    if request.path.startswith("/api/") or request.endpoint in _OPEN_WHILE_MUST_CHANGE:
        return None
    if current_user.is_authenticated and getattr(current_user, "must_change_password", False):
        flash(_("Your password was set by an admin; choose your own before going on."), "error")
        return redirect(url_for("portal.password"))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    email = ""
    if request.method == "POST":
        session = get_session()
        email = request.form.get("email", "")[:MAX_EMAIL]
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


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password() -> Any:
    """Ask for a reset link. The answer is the same whether the e-mail has an account or not."""
    settings = mail_settings()
    email = request.form.get("email", "").strip()[:MAX_EMAIL] if request.method == "POST" else ""
    if request.method == "GET" or settings is None:
        return render_template("portal/forgot.html", email=email, sent=False, error=None)
    session = get_session()
    try:
        found = request_reset(session, email, request.remote_addr or "?", current_actor().now)
    except ServiceError as err:
        session.commit()  # the refused request stays counted
        return render_template(
            "portal/forgot.html", email=email, sent=False, error=service_message(err)
        ), err.status
    session.commit()
    if found is not None:
        user, token = found
        link = current_app.config["PINMAP_BASE_URL"] + url_for("portal.reset_password", token=token)
        minutes = int(RESET_LIFETIME.total_seconds() // 60)
        text = _(
            "Someone (we hope you) asked to reset the password of %(email)s on the OBEC ESA "
            "monitoring pin-board.\n\nOpen this link within %(minutes)s minutes to choose a new "
            "password; it works once:\n\n%(link)s\n\nIf you did not ask, ignore this e-mail: "
            "your password stays as it is.",
            email=user.email,
            minutes=minutes,
            link=link,
        )
        try:
            send_mail(settings, user.email, _("Reset your pinmap password"), text)
        except MailError as exc:
            # Said to nobody but the log: the page must read the same for every address.
            log.warning("reset mail to user %s not sent: %s", user.id, exc)
    return render_template("portal/forgot.html", email=email, sent=True, error=None)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    session = get_session()
    if request.method == "GET":
        try:
            reset_for_token(session, token, current_actor().now)
        except ServiceError as err:
            return render_template(
                "portal/reset.html", token=token, error=service_message(err), spent=True
            ), err.status
        return render_template("portal/reset.html", token=token, error=None, spent=False)
    if request.form.get("new", "") != request.form.get("repeat", ""):
        return render_template(
            "portal/reset.html", token=token, error=_("The two new passwords differ."), spent=False
        ), 400
    try:
        user, revoked = complete_reset(session, current_actor(), token, request.form.get("new", ""))
    except ServiceError as err:
        session.rollback()
        spent = err.msgid == RESET_LINK_SPENT
        return render_template(
            "portal/reset.html", token=token, error=service_message(err), spent=spent
        ), err.status
    session.commit()
    flash(_("Your new password is set. Sign in with it."))
    if revoked:
        flash(_("%(n)s API tokens of yours were revoked; ask an admin for new ones.", n=revoked))
    return redirect(url_for("portal.login"))


@bp.route("/")
@require("view_portal")
def home() -> Any:
    """Each role's own desk: office staff their office, reviewers the review desk, coaches the
    visit plans, admins the admin home (what needs attention)."""
    if current_user.office_id is not None:
        office = get_session().get_one(Office, current_user.office_id)
        return redirect(url_for("portal.office", code=office.code))
    if current_user.role == "admin":
        return redirect(url_for("admin.home"))
    if current_user.role == "coach":
        return redirect(url_for("coaching.plans"))
    return redirect(url_for("review.queue"))
