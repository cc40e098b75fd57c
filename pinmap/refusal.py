"""A refusal the caller turns into a 4xx: below every layer, so pinmap.tables can raise it too."""

from __future__ import annotations

from typing import Any


def N_(msgid: str) -> str:
    """Marks a message for extraction (pybabel -k N_) without translating it here."""
    return msgid


class ServiceError(Exception):
    """`status` is the HTTP status it maps to; `msgid` % `params` is the English message."""

    def __init__(self, status: int, msgid: str, **params: Any) -> None:
        super().__init__(msgid % params if params else msgid)
        self.status = status
        self.msgid = msgid
        self.params = params
