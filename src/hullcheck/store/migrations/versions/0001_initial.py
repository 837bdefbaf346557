"""Layer cache, images, image layers, packages.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "layer_scans",
        sa.Column("diff_id", sa.String(80), primary_key=True),
        sa.Column("scanner_key", sa.String(32), primary_key=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("repo_tags", sa.JSON(), nullable=False),
        sa.Column("repo_digests", sa.JSON(), nullable=False),
        sa.Column("os", sa.String(32)),
        sa.Column("architecture", sa.String(32)),
        sa.Column("created", sa.String(64)),
        sa.Column("distro", sa.String(64)),
        sa.Column("scanner_key", sa.String(32), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sbom", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "image_layers",
        sa.Column(
            "image_id",
            sa.String(80),
            sa.ForeignKey("images.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("diff_id", sa.String(80), nullable=False),
        sa.Column("digest", sa.String(80)),
        sa.Column("size", sa.BigInteger()),
        sa.Column("created_by", sa.Text()),
    )
    op.create_index("ix_image_layers_diff_id", "image_layers", ["diff_id"])
    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "image_id",
            sa.String(80),
            sa.ForeignKey("images.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("purl", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(255)),
        sa.Column("distro", sa.String(64)),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("layer", sa.String(80)),
        sa.Column("introduced_by", sa.String(80)),
    )
    op.create_index("ix_packages_image", "packages", ["image_id"])
    op.create_index("ix_packages_name", "packages", ["name", "type"])
    op.create_index("ix_packages_source", "packages", ["source_name", "distro"])


def downgrade() -> None:
    op.drop_table("packages")
    op.drop_table("image_layers")
    op.drop_table("images")
    op.drop_table("layer_scans")
