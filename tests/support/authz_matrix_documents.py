"""Who may read each /reports route, per kind of user: the report documents and exports are
reads (no audit record), so they are checked here and not in authz_matrix's write rows.

Each row names the route as in app.url_map (test_every_reports_route_has_a_row walks it), a
sample address, and the answer for each role: 200, 302 (anonymous sent to sign in) or 403.
Without ?drafts=1 every route is public (approved data only)."""

from __future__ import annotations

from dataclasses import dataclass

from .portal import OWN, ROLES

FY = 2567
OBEC = frozenset({"reviewer", "admin"})
OWN_OFFICE = frozenset({"own_editor", "own_director"})


@dataclass(frozen=True)
class ReadRow:
    rule: str
    url: str
    allowed: frozenset[str]

    def expected(self, who: str) -> int:
        if who in self.allowed:
            return 200
        return 302 if who == "anonymous" else 403


EVERYONE = frozenset(ROLES)

ROWS: list[ReadRow] = [
    # Approved data: everyone, signed in or not.
    ReadRow(
        "/reports/offices/<code>.<any(pdf, xlsx):fmt>",
        f"/reports/offices/{OWN}.xlsx?fiscal_year={FY}",
        EVERYONE,
    ),
    ReadRow(
        "/reports/clusters/<int:no>.<any(pdf, xlsx):fmt>",
        f"/reports/clusters/6.xlsx?fiscal_year={FY}",
        EVERYONE,
    ),
    ReadRow(
        "/reports/national/<int:fiscal_year>/<int:round_no>.<any(pdf, xlsx):fmt>",
        f"/reports/national/{FY}/1.xlsx",
        EVERYONE,
    ),
    ReadRow(
        "/reports/progress.<any(csv, xlsx):fmt>",
        f"/reports/progress.csv?fiscal_year={FY}",
        EVERYONE,
    ),
    # Unapproved reports (?drafts=1): OBEC anywhere; an office's own staff on their office only.
    ReadRow(
        "/reports/offices/<code>.<any(pdf, xlsx):fmt>",
        f"/reports/offices/{OWN}.xlsx?fiscal_year={FY}&drafts=1",
        OBEC | OWN_OFFICE,
    ),
    ReadRow(
        "/reports/clusters/<int:no>.<any(pdf, xlsx):fmt>",
        f"/reports/clusters/6.xlsx?fiscal_year={FY}&drafts=1",
        OBEC,
    ),
    ReadRow(
        "/reports/national/<int:fiscal_year>/<int:round_no>.<any(pdf, xlsx):fmt>",
        f"/reports/national/{FY}/1.xlsx?drafts=1",
        OBEC,
    ),
    ReadRow(
        "/reports/progress.<any(csv, xlsx):fmt>",
        f"/reports/progress.csv?fiscal_year={FY}&drafts=1",
        OBEC,
    ),
    ReadRow(
        "/reports/progress.<any(csv, xlsx):fmt>",
        f"/reports/progress.xlsx?fiscal_year={FY}&office={OWN}&drafts=1",
        OBEC | OWN_OFFICE,
    ),
]
