"""Finding one row or answering 404: the one `*_or_404` helper services and views share."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from .errors import ServiceError

T = TypeVar("T")

# An id past PostgreSQL's integer range cannot name a row, and the database would refuse to
# compare it (a 500): such an id is simply not found.
ID_RANGE = (1, 2**31 - 1)


def or_404(found: T | None, msgid: str, **params: Any) -> T:
    """`found`, or a 404 ServiceError with `msgid` % `params` when it is None."""
    if found is None:
        raise ServiceError(404, msgid, **params)
    return found


def get_or_404(session: Session, model: type[T], ident: int, msgid: str, **params: Any) -> T:
    """The `model` row with primary key `ident`, or a 404 ServiceError."""
    if not isinstance(ident, int) or not ID_RANGE[0] <= ident <= ID_RANGE[1]:
        raise ServiceError(404, msgid, **params)
    return or_404(session.get(model, ident), msgid, **params)


def first_or_404(session: Session, stmt: Select[T], msgid: str, **params: Any) -> T:
    """The first row `stmt` selects, or a 404 ServiceError."""
    return or_404(session.scalars(stmt).first(), msgid, **params)
