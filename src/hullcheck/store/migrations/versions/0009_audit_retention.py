"""Audit log: where a log starts once retention removed its oldest records — the size
removed, the frontier of their tree and its signed checkpoint; on PostgreSQL, the record
columns its indexes use compared byte by byte (the ``"C"`` collation: a locale's makes every
insert several times dearer).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


BYTEWISE = {"host": 128, "time": 40, "object_id": 255}


def upgrade() -> None:
    with op.batch_alter_table("audit_heads") as table:
        table.add_column(sa.Column("kept_from", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("kept_frontier", sa.LargeBinary(), nullable=True))
        table.add_column(sa.Column("kept_note", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for column, length in BYTEWISE.items():
            op.alter_column(
                "audit_records",
                column,
                existing_type=sa.String(length),
                type_=sa.String(length, collation="C"),
                existing_nullable=False,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, length in BYTEWISE.items():
            op.alter_column(
                "audit_records",
                column,
                existing_type=sa.String(length, collation="C"),
                type_=sa.String(length),
                existing_nullable=False,
            )
    with op.batch_alter_table("audit_heads") as table:
        table.drop_column("kept_note")
        table.drop_column("kept_frontier")
        table.drop_column("kept_from")
