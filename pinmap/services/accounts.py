"""Users, passwords (argon2id), sign-in throttling and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import OFFICE_ROLES, ROLES, ApiToken, LoginAttempt, Office, User
from .audit import Actor, record
from .errors import N_, ServiceError

_hasher = PasswordHasher()
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 10
# Throttle: this many failures in the window lock the account / the address.
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 30
TOKEN_PREFIX = "pm_"  # noqa: S105 (a marker that makes leaked tokens greppable)


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
) -> User:
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
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id,
           after={"email": email, "role": role, "office": office_code})  # fmt: skip
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
    office = session.scalars(select(Office).filter_by(code=office_code)).first()
    if office is None:
        raise ServiceError(404, N_("No office with code %(code)s."), code=office_code)
    return office


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
    session.flush()
    record(session, actor, "user.update", "user", user.id, before=before, office_id=user.office_id,
           after={"name": user.name, "role": role, "office": office_code or None})  # fmt: skip
    return user


def reset_password(session: Session, actor: Actor, user: User, new: str) -> None:
    """An admin sets a new password (the user forgot theirs); every session of the user ends."""
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.session_epoch += 1
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
    session.flush()
    record(session, actor, "user.password_reset", "user", user.id, office_id=user.office_id)


def authenticate(session: Session, email: str, password: str, ip: str) -> User:
    """The active user with this e-mail and password, or ServiceError (401, or 429 when throttled).

    Failures are recorded; the caller commits either way so the count survives a refusal.
    """
    email = email.strip().lower()
    since = func.now() - WINDOW
    by_account = session.scalar(
        select(func.count()).where(LoginAttempt.email == email, LoginAttempt.at > since)
    )
    by_ip = session.scalar(
        select(func.count()).where(LoginAttempt.ip == ip, LoginAttempt.at > since)
    )
    if by_account >= MAX_FAILURES_PER_ACCOUNT or by_ip >= MAX_FAILURES_PER_IP:
        raise ServiceError(
            429, N_("Too many failed sign-ins. Wait %(minutes)s minutes and try again."),
            minutes=int(WINDOW.total_seconds() // 60),
        )  # fmt: skip
    user = session.scalars(select(User).filter_by(email=email)).first()
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Same work for unknown accounts, so timing does not reveal which e-mails exist.
        _hasher.hash(password)
    if not ok or user is None:
        session.add(LoginAttempt(email=email, ip=ip))
        session.flush()
        raise ServiceError(401, N_("Wrong e-mail or password."))
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = func.now()
    session.flush()
    return user


def change_password(session: Session, actor: Actor, user: User, old: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, old)
    except (VerificationError, InvalidHashError) as exc:
        raise ServiceError(400, N_("The current password is wrong.")) from exc
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.session_epoch += 1  # signs out every other session of this user
    session.flush()
    record(session, actor, "user.password", "user", user.id)


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
    record(session, actor, "token.create", "api_token", token.id, after={"user": user.email,
           "name": name})  # fmt: skip
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
        record(session, actor, "token.revoke", "api_token", token.id,
               after={"user": token.user.email, "name": token.name})  # fmt: skip
    return token


def user_for_token(session: Session, secret: str, now: dt.datetime) -> User | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalars(select(ApiToken).filter_by(token_sha256=_token_hash(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    token.last_used_at = now
    return token.user
