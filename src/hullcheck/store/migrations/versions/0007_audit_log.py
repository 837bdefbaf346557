"""Audit log: each host's records with their Merkle leaf hashes, its signed checkpoints and
where its tree stands.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("host", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("actor", sa.Text()),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("reconstructed", sa.Boolean(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_audit_records_time", "audit_records", ["host", "time"])
    op.create_index("ix_audit_records_object", "audit_records", ["host", "object_id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("host", sa.String(128), primary_key=True),
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_table(
        "audit_heads",
        sa.Column("host", sa.String(128), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("cursor", sa.BigInteger()),
    )


def downgrade() -> None:
    op.drop_table("audit_heads")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_records")
