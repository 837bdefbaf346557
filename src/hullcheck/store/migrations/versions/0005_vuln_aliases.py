"""Vulnerability aliases as rows: ``affected CVE-…`` finds its records through an index
instead of searching every record's alias list.

Revision ID: 0005
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "vuln_aliases",
        sa.Column(
            "record_id",
            sa.String(128),
            sa.ForeignKey("vuln_records.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("alias", sa.String(128), primary_key=True),
    )
    op.create_index("ix_vuln_aliases_alias", "vuln_aliases", ["alias"])
    bind = op.get_bind()
    records = sa.table("vuln_records", sa.column("id"), sa.column("aliases"), sa.column("upstream"))
    aliases = sa.table("vuln_aliases", sa.column("record_id"), sa.column("alias"))
    rows = []
    for record_id, listed, upstream in bind.execute(
        sa.select(records.c.id, records.c.aliases, records.c.upstream)
    ):
        names = set(_list(listed)) | set(_list(upstream))
        rows += [{"record_id": record_id, "alias": name} for name in sorted(names)]
        if len(rows) >= 5000:
            bind.execute(sa.insert(aliases), rows)
            rows = []
    if rows:
        bind.execute(sa.insert(aliases), rows)


def _list(value: object) -> list[str]:
    if isinstance(value, str):  # SQLite hands JSON columns back as text here
        value = json.loads(value)
    return [str(v) for v in value or []] if isinstance(value, list) else []


def downgrade() -> None:
    op.drop_table("vuln_aliases")
