"""The help-centre migration goes down and up again, and its constraints hold: a version is a
file or a link (never both, never neither), a news item ends on or after its first day, and the
contact details are one row.

Run on a database of its own: down to the revision before, then up to head.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "e5b1c7d9a2f4"
TABLES = {"help_news", "help_documents", "help_document_versions", "help_contact"}


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) & TABLES


def test_down_and_up_with_constraints(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_help_migration")
    engine = make_engine(url)
    try:
        assert _tables(engine) == TABLES
        command.downgrade(_alembic(url), BEFORE)
        engine.dispose()
        assert _tables(engine) == set()
        command.upgrade(_alembic(url), "head")
        engine.dispose()
        assert _tables(engine) == TABLES
        with engine.begin() as conn:
            doc = conn.execute(
                sa.text(
                    "INSERT INTO help_documents (title, description, category, fiscal_year, "
                    "audience) VALUES ('x', '', 'forms', 2569, 'public') RETURNING id"
                )
            ).scalar()
        bad = [
            "INSERT INTO help_document_versions (document_id, version_no, original_name, mime, "
            "size_bytes, sha256, note) VALUES (:d, 1, '', '', 0, '', '')",
            "INSERT INTO help_document_versions (document_id, version_no, url, stored_name, "
            "original_name, mime, size_bytes, sha256, note) "
            "VALUES (:d, 1, 'https://a', 'ab/cd/x.pdf', '', '', 0, '', '')",
            "INSERT INTO help_news (title, body, audience, publish_from, publish_until) "
            "VALUES ('x', '', 'public', '2026-12-02', '2026-12-01')",
            "INSERT INTO help_news (title, body, audience, publish_from) "
            "VALUES ('x', '', 'everyone', '2026-12-02')",
            "INSERT INTO help_contact (id, office_name, address, phone, email, hours, groups) "
            "VALUES (2, '', '', '', '', '', '[]')",
        ]
        for sql in bad:
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(sa.text(sql), {"d": doc})
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
