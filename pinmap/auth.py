"""Who may do what: the single rule every page, API route and service consults.

Office roles act on their own office only; reviewers and admins act on any office. Admins can
also review, because OBEC's monitoring office runs both. Nobody edits another office's reports.
"""

from __future__ import annotations

from typing import Protocol

# action -> roles allowed; OFFICE_SCOPED actions also need the user's office to match.
RULES: dict[str, frozenset[str]] = {
    # Coaches read every office's work (drafts, evidence, photos) to prepare visits, read-only:
    # they hold no edit, submit or review right below.
    "view_portal": frozenset({"office_editor", "office_director", "reviewer", "admin", "coach"}),
    "edit_entry": frozenset({"office_editor", "office_director"}),
    "submit_entry": frozenset({"office_director"}),
    "review_entry": frozenset({"reviewer", "admin"}),
    "reopen_window": frozenset({"reviewer", "admin"}),
    "manage_catalogue": frozenset({"admin"}),
    "manage_windows": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
    # Coaching year: coaching teams and admins plan and record visits; admins run the rounds.
    "plan_visits": frozenset({"coach", "admin"}),
    "manage_rounds": frozenset({"admin"}),
    "manage_clusters": frozenset({"admin"}),
    "view_dashboard": frozenset({"reviewer", "admin", "coach"}),
    # Profiles, best practices and plans follow the progress rules: the office edits, its
    # director submits, OBEC reviews.
    "edit_profile": frozenset({"office_editor", "office_director"}),
    "submit_profile": frozenset({"office_director"}),
    "review_profile": frozenset({"reviewer", "admin"}),
    # Five-year results are OBEC's own monitoring results, so only OBEC loads them; an office's
    # school list and counts are part of its profile (edit_profile) and go through review.
    "import_results": frozenset({"reviewer", "admin"}),
    "manage_sources": frozenset({"admin"}),
    "view_ingest": frozenset({"reviewer", "admin"}),
    # Reports of the workflow engine (quarterly projects first): the office edits, its director
    # certifies (approval level 1), OBEC reviews (level 2) and, where a kind has a third level,
    # OBEC's monitoring office (admins) accepts. Levels are set per kind in services/workflow.py.
    "edit_report": frozenset({"office_editor", "office_director"}),
    "certify_report": frozenset({"office_director"}),
    "review_report": frozenset({"reviewer", "admin"}),
    "accept_report": frozenset({"admin"}),
    # Which OBEC roles decide each approval level of a kind (the second OBEC level on or off).
    "manage_workflow": frozenset({"admin"}),
    # Work inside an office (seed 001): its director gives each item to a member of its staff
    # with an internal due date and sees who is late; OBEC's admins may do it for an office.
    # Staff see the items given to them ("my items").
    "assign_items": frozenset({"office_director", "admin"}),
    "view_own_items": frozenset({"office_editor", "office_director"}),
    # The help centre: OBEC (reviewers and admins) writes news and keeps the document library;
    # the monitoring office's own contact details are the admins'.
    "manage_help": frozenset({"reviewer", "admin"}),
    "manage_contact": frozenset({"admin"}),
    # Questions and answers (/help/questions): an office asks, OBEC answers and publishes.
    "ask_question": frozenset({"office_editor", "office_director"}),
    "answer_question": frozenset({"reviewer", "admin"}),
}
# The roles an administrator may name as deciding an OBEC approval level (/admin/workflow).
LEVEL_ROLES = ("reviewer", "admin")
OFFICE_ROLES = frozenset({"office_editor", "office_director"})
OFFICE_SCOPED = frozenset(
    {
        "edit_entry",
        "submit_entry",
        "edit_profile",
        "submit_profile",
        "edit_report",
        "certify_report",
        "assign_items",
    }
)
# Reading an office's unapproved work: its own staff, OBEC, and the coaching teams (read-only).
OFFICE_READ_ROLES = frozenset({"reviewer", "admin", "coach"})


class _UserLike(Protocol):
    role: str
    office_id: int | None
    active: bool


def can(user: _UserLike | None, action: str, office_id: int | None = None) -> bool:
    """True if `user` may perform `action` (on `office_id` for office-scoped actions)."""
    if action not in RULES:
        raise KeyError(f"unknown action {action!r}")
    if user is None or not getattr(user, "active", False):
        return False
    if user.role not in RULES[action]:
        return False
    if action in OFFICE_SCOPED and office_id is None:
        return False
    # Office staff act only on their own office, whatever the action.
    if user.role in OFFICE_ROLES and office_id is not None:
        return user.office_id == office_id
    return True


def can_as(user: _UserLike | None, action: str, roles: frozenset[str] | None) -> bool:
    """`can`, for a rule whose roles are configured (an approval level): `roles` replaces the
    action's default roles when given."""
    if roles is None:
        return can(user, action)
    if user is None or not getattr(user, "active", False):
        return False
    return user.role in roles and user.role in LEVEL_ROLES


def can_read_office_work(user: _UserLike | None, office_id: int) -> bool:
    """Drafts and returned reports are visible to the office's own staff and to OBEC."""
    if user is None or not getattr(user, "active", False):
        return False
    return user.role in OFFICE_READ_ROLES or user.office_id == office_id
