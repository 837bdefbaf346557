"""Fleet: resource samples, a compact summary per inventory object (the full inspect document
moves to a table of its own), and hullcheck's own actions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # the fields reports read, as a small JSON projection of the inspect document; rows
    # stored before this revision have none and are summarised from their document when read
    op.add_column("inventory", sa.Column("summary", sa.Text()))
    # the inspect documents (kilobytes each) leave the inventory rows: a report reads 100,000
    # rows, and SQLite walks a large value's overflow pages to reach the columns after it
    op.create_table(
        "inventory_documents",
        sa.Column("host", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("object_id", sa.String(255), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    # no foreign key to ``inventory``: SQLite's batch mode below recreates that table, and
    # dropping the old one would cascade into these rows (the repository deletes both)
    op.execute(
        "INSERT INTO inventory_documents (host, kind, object_id, data) "
        "SELECT host, kind, object_id, data FROM inventory"
    )
    with op.batch_alter_table("inventory") as batch:
        batch.drop_column("data")
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "host", sa.String(128), sa.ForeignKey("hosts.name", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("container_id", sa.String(255), nullable=False),
        # seconds since the epoch (UTC): reports read 100,000s of them, and a float needs no
        # parsing where SQLite stores datetimes as text
        sa.Column("taken_at", sa.Float(), nullable=False),
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
    with op.batch_alter_table("inventory") as batch:
        batch.add_column(sa.Column("data", sa.LargeBinary()))
    op.execute(
        "UPDATE inventory SET data = (SELECT d.data FROM inventory_documents d WHERE "
        "d.host = inventory.host AND d.kind = inventory.kind AND d.object_id = inventory.object_id)"
    )
    op.drop_table("inventory_documents")
    with op.batch_alter_table("inventory") as batch:
        batch.drop_column("summary")
