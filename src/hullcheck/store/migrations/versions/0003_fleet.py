"""Fleet: hosts and their inventory (containers, images, volumes, networks).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("tls_ca", sa.Text()),
        sa.Column("tls_cert", sa.Text()),
        sa.Column("tls_key", sa.Text()),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
    )
    op.create_table(
        "inventory",
        sa.Column(
            "host",
            sa.String(128),
            sa.ForeignKey("hosts.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("object_id", sa.String(255), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("image_id", sa.String(80)),
        sa.Column("state", sa.String(32)),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gone_at", sa.DateTime(timezone=True)),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_inventory_image_id", "inventory", ["image_id"])
    op.create_index("ix_inventory_kind", "inventory", ["kind", "gone_at"])


def downgrade() -> None:
    op.drop_table("inventory")
    op.drop_table("hosts")
