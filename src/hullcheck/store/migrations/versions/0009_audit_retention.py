"""Audit log: where a log starts once retention removed its oldest records — the size
removed, the frontier of their tree and its signed checkpoint.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("audit_heads") as table:
        table.add_column(sa.Column("kept_from", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("kept_frontier", sa.LargeBinary(), nullable=True))
        table.add_column(sa.Column("kept_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_heads") as table:
        table.drop_column("kept_note")
        table.drop_column("kept_frontier")
        table.drop_column("kept_from")
