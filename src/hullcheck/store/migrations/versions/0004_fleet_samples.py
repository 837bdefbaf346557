"""Fleet: resource samples, a compact summary per inventory object, and hullcheck's own actions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # the fields reports read, as a small JSON projection of the inspect document; rows
    # stored before this revision have none and are summarised from ``data`` when read
    op.add_column("inventory", sa.Column("summary", sa.Text()))
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "host", sa.String(128), sa.ForeignKey("hosts.name", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("container_id", sa.String(255), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cpu_ns", sa.BigInteger()),
        sa.Column("memory_bytes", sa.BigInteger()),
        sa.Column("memory_limit", sa.BigInteger()),
        sa.Column("net_rx", sa.BigInteger()),
        sa.Column("net_tx", sa.BigInteger()),
        sa.Column("block_read", sa.BigInteger()),
        sa.Column("block_write", sa.BigInteger()),
    )
    op.create_index("ix_samples_container", "samples", ["host", "container_id", "taken_at"])
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("reclaim_bytes", sa.BigInteger()),
    )
    op.create_index("ix_actions_at", "actions", ["at"])


def downgrade() -> None:
    op.drop_table("actions")
    op.drop_table("samples")
    op.drop_column("inventory", "summary")
