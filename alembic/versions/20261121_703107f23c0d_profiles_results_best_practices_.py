"""profiles, results, best practices, coaching year, ingestion

Revision ID: 703107f23c0d
Revises: d2440adec750
Create Date: 2026-11-21 05:56:39.353183
"""

from collections.abc import Sequence

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "703107f23c0d"
down_revision: str | None = "d2440adec750"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("credentials_env", sa.String(length=100), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timeout_seconds", sa.Double(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pre_approved", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('progress-json', 'quarterly-json', 'stats-csv')", name="ck_kind_allowed"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('running', 'ok', 'partial', 'failed')", name="ck_outcome_allowed"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ingest_runs_source_id"), "ingest_runs", ["source_id"], unique=False)
    op.create_table(
        "monitoring_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("round_no", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('online_plan_check', 'onsite_coaching', 'online_cluster', "
            "'online_evaluation')",
            name="ck_kind_allowed",
        ),
        sa.ForeignKeyConstraint(["fiscal_year"], ["fiscal_years.year_be"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "round_no"),
    )
    op.create_table(
        "cluster_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("cluster_no", sa.SmallInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_no"],
            ["clusters.no"],
        ),
        sa.ForeignKeyConstraint(["round_id"], ["monitoring_rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "cluster_no"),
    )
    op.create_table(
        "ingest_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["run_id"], ["ingest_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_ingest_quarantine_run_id"), "ingest_quarantine", ["run_id"], unique=False
    )
    op.create_index(
        op.f("ix_ingest_quarantine_source_id"), "ingest_quarantine", ["source_id"], unique=False
    )
    op.create_table(
        "ingest_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=50), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["ingest_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "source_record_id"),
    )
    op.create_table(
        "office_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("ingest_source_id", sa.Integer(), nullable=True),
        sa.Column("schools", sa.Integer(), nullable=True),
        sa.Column("teachers", sa.Integer(), nullable=True),
        sa.Column("students", sa.Integer(), nullable=True),
        sa.Column("staff", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ingest_source_id"],
            ["ingest_sources.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "source", "as_of"),
    )
    op.create_index(op.f("ix_office_stats_office_id"), "office_stats", ["office_id"], unique=False)
    op.create_table(
        "operating_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("approach", sa.Text(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("timeline", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("approved_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'approved')", name="ck_state_allowed"
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "fiscal_year"),
    )
    op.create_index(
        op.f("ix_operating_plans_office_id"), "operating_plans", ["office_id"], unique=False
    )
    op.create_table(
        "quarterly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("points", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("budget_planned", sa.Double(), nullable=True),
        sa.Column("budget_disbursed", sa.Double(), nullable=True),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "source_record_id"),
    )
    op.create_index(
        op.f("ix_quarterly_reports_office_id"), "quarterly_reports", ["office_id"], unique=False
    )
    op.create_table(
        "result_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("indicator", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("office_target", sa.Double(), nullable=True),
        sa.Column("obec_target", sa.Double(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "category IN ('policy', 'action_plan', 'office_standards', 'onet_rt_nt', 'drugs')",
            name="ck_category_allowed",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "fiscal_year", "category", "indicator"),
    )
    op.create_index(
        op.f("ix_result_records_fiscal_year"), "result_records", ["fiscal_year"], unique=False
    )
    op.create_index(
        op.f("ix_result_records_office_id"), "result_records", ["office_id"], unique=False
    )
    op.create_table(
        "round_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(["round_id"], ["monitoring_rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "office_id"),
    )
    op.create_index(
        op.f("ix_round_statuses_office_id"), "round_statuses", ["office_id"], unique=False
    )
    op.create_geospatial_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_th", sa.String(length=300), nullable=False),
        sa.Column("amphoe_th", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=100), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_geospatial_index(
        "idx_schools_geom",
        "schools",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_schools_office_id"), "schools", ["office_id"], unique=False)
    op.create_table(
        "cluster_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("from_cluster", sa.SmallInteger(), nullable=False),
        sa.Column("to_cluster", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["from_cluster"],
            ["clusters.no"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_cluster"],
            ["clusters.no"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_cluster_moves_office_id"), "cluster_moves", ["office_id"], unique=False
    )
    op.create_table(
        "ingest_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["progress_entries.id"],
        ),
        sa.ForeignKeyConstraint(["run_id"], ["ingest_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_ingest_conflicts_source_id"), "ingest_conflicts", ["source_id"], unique=False
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("thumb_name", sa.String(length=100), nullable=False),
        sa.Column("mime", sa.String(length=50), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_photos_office_id"), "photos", ["office_id"], unique=False)
    op.create_geospatial_table(
        "profile_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("revision_no", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'approved')", name="ck_state_allowed"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "revision_no"),
    )
    op.create_geospatial_index(
        "idx_profile_revisions_geom",
        "profile_revisions",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_profile_revisions_office_id"), "profile_revisions", ["office_id"], unique=False
    )
    op.create_table(
        "visit_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("cluster_no", sa.SmallInteger(), nullable=False),
        sa.Column("host_office_id", sa.Integer(), nullable=False),
        sa.Column("radius_km", sa.Double(), nullable=True),
        sa.Column("nearest_k", sa.SmallInteger(), nullable=True),
        sa.Column("visit_date", sa.Date(), nullable=True),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("distance_basis", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('draft', 'published')", name="ck_state_allowed"),
        sa.ForeignKeyConstraint(
            ["cluster_no"],
            ["clusters.no"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["host_office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(["round_id"], ["monitoring_rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_visit_plans_cluster_no"), "visit_plans", ["cluster_no"], unique=False)
    op.create_table(
        "best_practices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=300), nullable=False),
        sa.Column("dimensions", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("background", sa.Text(), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("process", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("success_factors", sa.Text(), nullable=False),
        sa.Column("infographic_photo_id", sa.Integer(), nullable=True),
        sa.Column("attachments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'approved')", name="ck_state_allowed"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["infographic_photo_id"],
            ["photos.id"],
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_best_practices_office_id"), "best_practices", ["office_id"], unique=False
    )
    op.create_table(
        "visit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("follow_ups", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["visit_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_visit_records_plan_id"), "visit_records", ["plan_id"], unique=False)
    op.create_table(
        "visit_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=True),
        sa.Column("distance_km", sa.Double(), nullable=True),
        sa.CheckConstraint("role IN ('host', 'invited', 'visit')", name="ck_role_allowed"),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["visit_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_visit_stops_plan_id"), "visit_stops", ["plan_id"], unique=False)
    op.create_table(
        "best_practice_items",
        sa.Column("best_practice_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["best_practice_id"], ["best_practices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["policy_items.id"],
        ),
        sa.PrimaryKeyConstraint("best_practice_id", "item_id"),
    )
    # Coaching teams are OBEC staff: a new role without an office.
    op.drop_constraint("ck_role_allowed", "users", type_="check")
    op.create_check_constraint(
        "ck_role_allowed",
        "users",
        "role IN ('office_editor', 'office_director', 'reviewer', 'admin', 'coach')",
    )


def downgrade() -> None:
    op.drop_constraint("ck_role_allowed", "users", type_="check")
    op.create_check_constraint(
        "ck_role_allowed",
        "users",
        "role IN ('office_editor', 'office_director', 'reviewer', 'admin')",
    )
    op.drop_table("best_practice_items")
    op.drop_index(op.f("ix_visit_stops_plan_id"), table_name="visit_stops")
    op.drop_table("visit_stops")
    op.drop_index(op.f("ix_visit_records_plan_id"), table_name="visit_records")
    op.drop_table("visit_records")
    op.drop_index(op.f("ix_best_practices_office_id"), table_name="best_practices")
    op.drop_table("best_practices")
    op.drop_index(op.f("ix_visit_plans_cluster_no"), table_name="visit_plans")
    op.drop_table("visit_plans")
    op.drop_index(op.f("ix_profile_revisions_office_id"), table_name="profile_revisions")
    op.drop_geospatial_index(
        "idx_profile_revisions_geom",
        table_name="profile_revisions",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("profile_revisions")
    op.drop_index(op.f("ix_photos_office_id"), table_name="photos")
    op.drop_table("photos")
    op.drop_index(op.f("ix_ingest_conflicts_source_id"), table_name="ingest_conflicts")
    op.drop_table("ingest_conflicts")
    op.drop_index(op.f("ix_cluster_moves_office_id"), table_name="cluster_moves")
    op.drop_table("cluster_moves")
    op.drop_index(op.f("ix_schools_office_id"), table_name="schools")
    op.drop_geospatial_index(
        "idx_schools_geom", table_name="schools", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("schools")
    op.drop_index(op.f("ix_round_statuses_office_id"), table_name="round_statuses")
    op.drop_table("round_statuses")
    op.drop_index(op.f("ix_result_records_office_id"), table_name="result_records")
    op.drop_index(op.f("ix_result_records_fiscal_year"), table_name="result_records")
    op.drop_table("result_records")
    op.drop_index(op.f("ix_quarterly_reports_office_id"), table_name="quarterly_reports")
    op.drop_table("quarterly_reports")
    op.drop_index(op.f("ix_operating_plans_office_id"), table_name="operating_plans")
    op.drop_table("operating_plans")
    op.drop_index(op.f("ix_office_stats_office_id"), table_name="office_stats")
    op.drop_table("office_stats")
    op.drop_table("ingest_records")
    op.drop_index(op.f("ix_ingest_quarantine_source_id"), table_name="ingest_quarantine")
    op.drop_index(op.f("ix_ingest_quarantine_run_id"), table_name="ingest_quarantine")
    op.drop_table("ingest_quarantine")
    op.drop_table("cluster_sessions")
    op.drop_table("monitoring_rounds")
    op.drop_index(op.f("ix_ingest_runs_source_id"), table_name="ingest_runs")
    op.drop_table("ingest_runs")
    op.drop_table("ingest_sources")
