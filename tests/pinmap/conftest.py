"""Fixtures shared by the portal, review and admin tests."""

from .portal_fixtures import cheap_password_hashing, world

__all__ = ["cheap_password_hashing", "world"]
