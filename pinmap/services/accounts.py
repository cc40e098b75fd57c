"""Users, passwords (argon2id), sign-in throttling, server-side sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from ..models import (
    OFFICE_ROLES,
    ROLES,
    ApiToken,
    LoginAttempt,
    Office,
    PasswordReset,
    User,
    UserSession,
)
from ..tables import ImportRejected, Problem, Table
from .audit import Actor, record
from .errors import N_, ServiceError
from .lookups import get_or_404
from .offices import office_or_404

_hasher = PasswordHasher()
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 10
# Throttle: this many failures in the window lock the account / the address.
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 30
TOKEN_PREFIX = "pm_"  # noqa: S105 (a marker that makes leaked tokens greppable)
# Every process's live-change broker LISTENs here too: the payload is a user id whose open
# streams must be checked again (signed out, deactivated, new role or office, token revoked).
REVOCATION_CHANNEL = "pinmap_revocations"


def user_or_404(session: Session, user_id: int) -> User:
    return get_or_404(session, User, user_id, N_("No such user."))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            400, N_("The password must have at least %(n)s characters."), n=MIN_PASSWORD
        )
    if password.isdigit() or password.lower() == password and password.isalpha():
        raise ServiceError(400, N_("Use letters with digits or symbols in the password."))


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    office_code: str | None = None,
    one_time: bool = False,
) -> User:
    """A new user; `one_time` (an admin typed the password) makes them choose their own at
    their first sign-in."""
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise ServiceError(400, N_("%(email)s is not an e-mail address."), email=email)
    office = _office_for_role(session, role, office_code)
    if session.scalar(select(func.count()).where(User.email == email)):
        raise ServiceError(409, N_("A user with e-mail %(email)s exists already."), email=email)
    check_password_strength(password)
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password),
        role=role,
        office_id=office.id if office else None,
        must_change_password=one_time,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        after={"email": email, "role": role, "office": office_code},
    )
    return user


def _office_for_role(session: Session, role: str, office_code: str | None) -> Office | None:
    """Office roles belong to exactly one office; OBEC roles to none."""
    if role not in ROLES:
        raise ServiceError(400, N_("Unknown role %(role)s."), role=role)
    if role not in OFFICE_ROLES:
        if office_code:
            raise ServiceError(400, N_("OBEC roles do not belong to an office."))
        return None
    if not office_code:
        raise ServiceError(400, N_("An office role needs an office."))
    return office_or_404(session, office_code)


def update_user(
    session: Session, actor: Actor, user: User, *, name: str, role: str, office_code: str | None
) -> User:
    """Change a user's name, role or office; a change of rights signs the user out everywhere."""
    if actor.user is not None and user.id == actor.user.id and role != user.role:
        raise ServiceError(400, N_("You cannot change your own role; ask another admin."))
    office = _office_for_role(session, role, office_code)
    before = {
        "name": user.name,
        "role": user.role,
        "office": user.office.code if user.office else None,
    }
    rights_change = role != user.role or (office.id if office else None) != user.office_id
    user.name = name.strip() or user.email
    user.role, user.office_id = role, office.id if office else None
    if rights_change:
        user.session_epoch += 1
        end_sessions(session, user, "rights")
    session.flush()
    record(
        session,
        actor,
        "user.update",
        "user",
        user.id,
        before=before,
        office_id=user.office_id,
        after={"name": user.name, "role": role, "office": office_code or None},
    )
    return user


def reset_password(session: Session, actor: Actor, user: User, new: str) -> int:
    """An admin sets a new password (the user forgot theirs); every session and API token of the
    user ends. Returns how many tokens were revoked."""
    check_password_strength(new)
    user.password_hash = hash_password(new)
    # A password someone else chose (and passed on) works once: the user must pick their own.
    user.must_change_password = True
    user.session_epoch += 1
    end_sessions(session, user, "reset")
    revoked = revoke_tokens_of(session, actor, user)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
    session.flush()
    record(
        session,
        actor,
        "user.password_reset",
        "user",
        user.id,
        office_id=user.office_id,
        after={"tokens_revoked": revoked},
    )
    return revoked


def set_active(session: Session, actor: Actor, user: User, active: bool) -> None:
    """Let a user sign in again, or stop them: a deactivation ends their sessions and streams."""
    if actor.user is not None and user.id == actor.user.id and not active:
        raise ServiceError(400, N_("You cannot deactivate your own account."))
    before = {"active": user.active}
    user.active = active
    if not active:
        end_sessions(session, user, "deactivated")
    session.flush()
    record(
        session,
        actor,
        "user.activate" if active else "user.deactivate",
        "user",
        user.id,
        before=before,
        after={"active": active},
        office_id=user.office_id,
    )


def _lock_key(kind: str, value: str) -> int:
    # A signed 64-bit advisory-lock key per throttled name (account or address).
    digest = hashlib.sha256(f"pinmap-sign-in:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def claim_attempt(session: Session, email: str, ip: str) -> None:
    """Count this sign-in attempt as a failure before its password is checked, or refuse (429).

    The count and the insert happen under transaction-scoped advisory locks on the account and
    the address, so parallel attempts are counted one after another: with the limit at 5, the
    sixth of any number of simultaneous guesses is refused unchecked. The caller commits right
    away (before the slow password check), so other requests see the claim; a successful
    sign-in then clears the account's failures, this claim included.
    """
    email = email.strip().lower()
    # Always in the same order, so two attempts never wait on each other's second lock.
    for key in sorted({_lock_key("account", email), _lock_key("ip", ip)}):
        session.execute(select(func.pg_advisory_xact_lock(key)))
    since = func.now() - WINDOW
    by_account = session.execute(
        select(func.count()).where(LoginAttempt.email == email, LoginAttempt.at > since)
    ).scalar_one()
    by_ip = session.execute(
        select(func.count()).where(LoginAttempt.ip == ip, LoginAttempt.at > since)
    ).scalar_one()
    if by_account >= MAX_FAILURES_PER_ACCOUNT or by_ip >= MAX_FAILURES_PER_IP:
        raise ServiceError(
            429,
            N_("Too many failed sign-ins. Wait %(minutes)s minutes and try again."),
            minutes=int(WINDOW.total_seconds() // 60),
        )
    session.add(LoginAttempt(email=email, ip=ip))
    session.flush()


def authenticate(
    session: Session, email: str, password: str, ip: str, *, claimed: bool = False
) -> User:
    """The active user with this e-mail and password, or ServiceError (401, or 429 when throttled).

    The attempt counts as a failure unless it succeeds. A web sign-in claims it first with
    `claim_attempt` and commits (`claimed=True`), so parallel attempts cannot all pass the
    throttle; other callers have it claimed here, in their own transaction.
    """
    email = email.strip().lower()
    if not claimed:
        claim_attempt(session, email, ip)
    user = session.scalars(select(User).filter_by(email=email)).first()
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except InvalidHashError:  # imported, no password yet: the same work as a wrong one
            _hasher.hash(password)
        except VerificationError:
            ok = False
    else:
        # Same work for unknown accounts, so timing does not reveal which e-mails exist.
        _hasher.hash(password)
    if not ok or user is None:
        raise ServiceError(401, N_("Wrong e-mail or password."))
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = func.now()
    session.flush()
    return user


def change_password(
    session: Session, actor: Actor, user: User, old: str, new: str, *, keep: int | None = None
) -> int:
    """Set the user's own new password. Every other session (all but `keep`, the one making the
    change) ends, and so does every API token of the user: whoever learnt the old password may
    have been using them. Returns how many tokens were revoked."""
    try:
        _hasher.verify(user.password_hash, old)
    except (VerificationError, InvalidHashError) as exc:
        raise ServiceError(400, N_("The current password is wrong.")) from exc
    check_password_strength(new)
    if secrets.compare_digest(old.encode(), new.encode()):
        raise ServiceError(400, N_("Choose a new password that differs from the current one."))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_epoch += 1
    end_sessions(session, user, "password", keep=keep)
    revoked = revoke_tokens_of(session, actor, user)
    session.flush()
    record(session, actor, "user.password", "user", user.id, after={"tokens_revoked": revoked})
    return revoked


# --- Password reset by e-mail ----------------------------------------------------------------

RESET_LIFETIME = dt.timedelta(hours=1)
# Reset requests are throttled with the sign-in attempts, under a name no e-mail can have.
_RESET_KEY = "reset:"
RESET_LINK_SPENT = N_(
    "This reset link has expired or was used already. Ask for a new one; a link works once, "
    "for one hour."
)


def request_reset(
    session: Session, email: str, ip: str, now: dt.datetime
) -> tuple[User, str] | None:
    """A new reset token for the active user with this e-mail, or None for any other address.

    Counted like a sign-in attempt (per account and per address, 429 past the limit) whether
    the account exists or not, so the answer tells nobody which e-mails have accounts. Earlier
    unused tokens of the user stop working: only the newest link does. Returns the user and the
    token to put in the link; only its SHA-256 is stored.
    """
    email = email.strip().lower()[:240]
    claim_attempt(session, _RESET_KEY + email, ip)
    user = session.scalars(select(User).filter_by(email=email)).first()
    if user is None or not user.active:
        return None
    _retire_resets(session, user, now)
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            user_id=user.id,
            token_sha256=_key_hash(token),
            expires_at=now + RESET_LIFETIME,
            ip=ip[:45],
        )
    )
    session.flush()
    return user, token


def _retire_resets(session: Session, user: User, now: dt.datetime) -> None:
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )


def reset_for_token(
    session: Session, token: str, now: dt.datetime, *, lock: bool = False
) -> PasswordReset:
    """The unused, unexpired reset this token names (its user active), or a 400 refusal that
    does not say which of those it is not."""
    found = None
    if isinstance(token, str) and 20 <= len(token) <= 100:
        query = select(PasswordReset).where(PasswordReset.token_sha256 == _key_hash(token))
        if lock:  # two uses of one link at the same moment: the second waits, then sees used_at
            query = query.with_for_update()
        found = session.scalars(query).first()
    if (
        found is None
        or found.used_at is not None
        or found.expires_at <= now
        or not found.user.active
    ):
        raise ServiceError(400, RESET_LINK_SPENT)
    return found


def complete_reset(session: Session, actor: Actor, token: str, new: str) -> tuple[User, int]:
    """Set the password chosen through a reset link; the link is spent, every session and API
    token of the user ends. Returns the user and how many tokens were revoked."""
    reset = reset_for_token(session, token, actor.now, lock=True)
    check_password_strength(new)
    user = reset.user
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_epoch += 1
    _retire_resets(session, user, actor.now)
    end_sessions(session, user, "reset")
    revoked = revoke_tokens_of(session, actor, user)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
    session.flush()
    record(
        session,
        actor,
        "user.password_reset_by_mail",
        "user",
        user.id,
        office_id=user.office_id,
        after={"tokens_revoked": revoked},
    )
    return user, revoked


# --- Bulk import -----------------------------------------------------------------------------

IMPORT_COLUMNS = ("email", "name", "role", "office_code")
IMPORT_REQUIRED = ("email", "role")
# No password travels in the file: an imported account has none that works until its user
# resets it by e-mail or an admin sets a one-time password.
NO_PASSWORD = "!"  # noqa: S105 (not a hash argon2 accepts, so no password matches it)


def import_users(session: Session, actor: Actor, table: Table) -> list[User]:
    """Create one user per row of `table`, all or nothing: every row is checked first, and any
    problem (by row and column) refuses the whole file with ImportRejected."""
    problems: list[Problem] = []
    rows = table.rows
    emails = [values.get("email", "").strip().lower() for _, values in rows]
    existing = set(session.scalars(select(User.email).where(User.email.in_(set(emails)))))
    offices: dict[str, int] = {
        code: oid for code, oid in session.execute(select(Office.code, Office.id))
    }
    seen: dict[str, int] = {}
    ready: list[tuple[str, str, str, int | None]] = []
    for (row, values), email in zip(rows, emails, strict=True):
        name = values.get("name", "").strip()
        role = values.get("role", "").strip().lower()
        code = values.get("office_code", "").strip()
        found = len(problems)
        if not EMAIL.fullmatch(email) or len(email) > 254:
            problems.append(Problem(row, "email", N_("Not an e-mail address.")))
        elif email in existing:
            problems.append(Problem(row, "email", N_("A user with this e-mail exists already.")))
        elif email in seen:
            problems.append(
                Problem(row, "email", N_("Same e-mail as row %(row)s."), {"row": seen[email]})
            )
        seen.setdefault(email, row)
        if len(name) > 200:
            problems.append(
                Problem(row, "name", N_("Longer than %(max)s characters."), {"max": 200})
            )
        if role not in ROLES:
            problems.append(
                Problem(
                    row, "role", N_("Must be one of: %(choices)s."), {"choices": ", ".join(ROLES)}
                )
            )
        elif role in OFFICE_ROLES and not code:
            problems.append(Problem(row, "office_code", N_("An office role needs an office.")))
        elif role not in OFFICE_ROLES and code:
            problems.append(
                Problem(row, "office_code", N_("OBEC roles do not belong to an office."))
            )
        elif code and code not in offices:
            problems.append(Problem(row, "office_code", N_("No office has this code.")))
        if len(problems) == found:
            ready.append((email, name or email, role, offices.get(code) if code else None))
    if not rows:
        problems.append(Problem(0, "", N_("The file has no users in it.")))
    if problems:
        raise ImportRejected(table.filename, problems)
    users = [
        User(email=e, name=n, password_hash=NO_PASSWORD, role=r, office_id=o)
        for e, n, r, o in ready
    ]
    session.add_all(users)
    session.flush()
    for user in users:
        record(
            session,
            actor,
            "user.create",
            "user",
            user.id,
            office_id=user.office_id,
            after={"email": user.email, "role": user.role, "imported": table.filename},
        )
    return users


# --- Server-side sessions ---------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(session: Session, user: User, ip: str | None = None) -> str:
    """A new signed-in session for `user`; returns the random key the cookie will carry."""
    key = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, key_sha256=_key_hash(key), ip=ip))
    session.flush()
    return key


def session_for_key(session: Session, key: str) -> UserSession | None:
    """The live session this cookie key names, if its user may still sign in."""
    if not isinstance(key, str) or not key or len(key) > 100:
        return None
    found = session.scalars(
        select(UserSession)
        .options(joinedload(UserSession.user))  # one query per request
        .where(UserSession.key_sha256 == _key_hash(key), UserSession.revoked_at.is_(None))
    ).first()
    if found is None or not found.user.active:
        return None
    return found


def end_session(session: Session, session_id: int, reason: str = "sign-out") -> None:
    """End one session (sign-out) on every host, and its open live streams."""
    ended = (
        session.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_reason=reason)
            .returning(UserSession.user_id)
        )
        .scalars()
        .all()
    )
    for user_id in set(ended):
        notify_revocation(session, user_id)


def end_sessions(session: Session, user: User, reason: str, *, keep: int | None = None) -> None:
    """End every session of `user` (but `keep`) and check their open streams again."""
    stmt = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    session.execute(stmt.values(revoked_at=func.now(), revoked_reason=reason))
    notify_revocation(session, user.id)


def notify_revocation(session: Session, user_id: int) -> None:
    # Delivered at commit, to every process's broker; a rollback sends nothing.
    session.execute(select(func.pg_notify(REVOCATION_CHANNEL, str(user_id))))


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, actor: Actor, user: User, name: str, *, days: int | None = 365
) -> NewToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_sha256=_token_hash(secret),
        prefix=secret[:10],
        expires_at=actor.now + dt.timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor,
        "token.create",
        "api_token",
        token.id,
        after={"user": user.email, "name": name},
    )
    return NewToken(token, secret)


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).filter_by(user_id=user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, actor: Actor, prefix: str) -> ApiToken:
    """Revoke by the token's printed prefix (the secret itself is never stored)."""
    found = session.scalars(select(ApiToken).filter_by(prefix=prefix)).all()
    if len(found) != 1:
        raise ServiceError(404, N_("No token starts with %(prefix)s."), prefix=prefix)
    token = found[0]
    if token.revoked_at is None:
        token.revoked_at = actor.now
        record(
            session,
            actor,
            "token.revoke",
            "api_token",
            token.id,
            after={"user": token.user.email, "name": token.name},
        )
        notify_revocation(session, token.user_id)
    return token


def revoke_tokens_of(session: Session, actor: Actor, user: User) -> int:
    """Revoke every live API token of `user`; returns how many."""
    live = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in live:
        token.revoked_at = actor.now
        record(
            session,
            actor,
            "token.revoke",
            "api_token",
            token.id,
            after={"user": user.email, "name": token.name},
        )
    if live:
        notify_revocation(session, user.id)
    return len(live)


def token_for_secret(session: Session, secret: str, now: dt.datetime) -> ApiToken | None:
    """The live token with this secret whose user is active, marked as used now."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalars(
        select(ApiToken)
        .options(joinedload(ApiToken.user))  # one query per API request, as for sessions
        .filter_by(token_sha256=_token_hash(secret))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    token.last_used_at = now
    return token


def user_for_token(session: Session, secret: str, now: dt.datetime) -> User | None:
    token = token_for_secret(session, secret, now)
    return token.user if token is not None else None
