"""Fixtures shared by the portal, review, admin and coaching tests (defined in tests/support)."""

from ..support.authz_matrix import ctx
from ..support.coaching import c, capp, w
from ..support.mail import inbox
from ..support.portal import cheap_password_hashing, world

__all__ = ["c", "capp", "cheap_password_hashing", "ctx", "inbox", "w", "world"]
