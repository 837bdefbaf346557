"""Vulnerability database (records, affected entries, feeds) and findings.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "vuln_records",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("modified", sa.String(40)),
        sa.Column("published", sa.String(40)),
        sa.Column("summary", sa.Text()),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("upstream", sa.JSON(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("own_severity", sa.String(16)),
        sa.Column("cvss_score", sa.Float()),
        sa.Column("cvss_vector", sa.Text()),
        sa.Column("url", sa.Text()),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_vuln_records_source", "vuln_records", ["source"])
    op.create_table(
        "vuln_affected",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "record_id",
            sa.String(128),
            sa.ForeignKey("vuln_records.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ecosystem", sa.String(64), nullable=False),
        sa.Column("eco_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("scheme", sa.String(16), nullable=False),
        # byte order, whatever the database's locale: see hullcheck.vulndb.versions.text_key
        sa.Column(
            "fixed_key",
            sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_vuln_affected_record_id", "vuln_affected", ["record_id"])
    op.create_index("ix_vuln_affected_key", "vuln_affected", ["eco_key", "name", "fixed_key"])
    op.create_table(
        "vuln_feeds",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("url", sa.Text()),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.String(64)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.BigInteger()),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "image_id",
            sa.String(80),
            sa.ForeignKey("images.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("vuln_id", sa.String(128), nullable=False),
        sa.Column("advisories", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fixed_version", sa.String(255)),
        sa.Column("ecosystem", sa.String(64), nullable=False),
        sa.Column("package_name", sa.String(255), nullable=False),
        sa.Column("package_version", sa.String(255), nullable=False),
        sa.Column("package_type", sa.String(32), nullable=False),
        sa.Column("purl", sa.Text(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_findings_image", "findings", ["image_id"])
    op.create_index("ix_findings_vuln", "findings", ["vuln_id"])


def downgrade() -> None:
    op.drop_table("findings")
    op.drop_table("vuln_feeds")
    op.drop_table("vuln_affected")
    op.drop_table("vuln_records")
