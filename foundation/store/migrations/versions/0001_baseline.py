"""baseline: the schema of the first release (what create_all made before migrations).

Revision ID: 0001
Revises:
Create Date: 2026-12-01 19:30:51.121291
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "starts_at"),
    )
    op.create_index("ix_alerts_status", "alerts", ["status"], unique=False)

    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=10), nullable=False),
        sa.Column("old", sa.String(length=40), nullable=True),
        sa.Column("new", sa.String(length=40), nullable=False),
        sa.Column("user", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_corrections_document_id"), "corrections", ["document_id"], unique=False
    )

    op.create_table(
        "dead_letters",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sink", sa.String(length=80), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "status", "updated_at", "sink"),
    )
    op.create_table(
        "deliveries",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sink", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "status", "updated_at", "sink"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("tickers", sa.JSON(), nullable=False),
        sa.Column("scored", sa.Boolean(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("sentiment", sa.String(length=10), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("topic_probs", sa.JSON(), nullable=False),
        sa.Column("sentiment_probs", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("skip_reason", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_documents_published", "documents", ["published"], unique=False)
    op.create_index(
        "ix_documents_source_published", "documents", ["source", "published"], unique=False
    )
    op.create_index(
        "ix_documents_topic_published", "documents", ["topic", "published"], unique=False
    )

    op.create_table(
        "source_health",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "window_stats",
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope", "window_start"),
    )
    op.create_index(
        "ix_window_stats_kind_start_cover",
        "window_stats",
        [
            "scope_kind",
            "window_start",
            "scope",
            "count",
            "negative",
            "neutral",
            "positive",
            "score_sum",
        ],
        unique=False,
    )
    op.create_index("ix_window_stats_start", "window_stats", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_window_stats_start", table_name="window_stats")
    op.drop_index("ix_window_stats_kind_start_cover", table_name="window_stats")

    op.drop_table("window_stats")
    op.drop_table("source_health")
    op.drop_index("ix_documents_topic_published", table_name="documents")
    op.drop_index("ix_documents_source_published", table_name="documents")
    op.drop_index("ix_documents_published", table_name="documents")

    op.drop_table("documents")
    op.drop_table("deliveries")
    op.drop_table("dead_letters")
    op.drop_index(op.f("ix_corrections_document_id"), table_name="corrections")

    op.drop_table("corrections")
    op.drop_index("ix_alerts_status", table_name="alerts")

    op.drop_table("alerts")
