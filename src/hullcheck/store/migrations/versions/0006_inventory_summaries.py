"""Inventory rows stored before summaries existed (revision 0004) get theirs, from their
inspect documents, so that readers no longer summarise them when reading.

Revision ID: 0006
Revises: 0005
"""

import json
import zlib

import sqlalchemy as sa
from alembic import op

from hullcheck.engine.documents import summary

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    bind = op.get_bind()
    inventory = sa.table(
        "inventory",
        sa.column("host"),
        sa.column("kind"),
        sa.column("object_id"),
        sa.column("summary"),
    )
    documents = sa.table(
        "inventory_documents",
        sa.column("host"),
        sa.column("kind"),
        sa.column("object_id"),
        sa.column("data", sa.LargeBinary()),
    )
    missing = bind.execute(
        sa.select(documents.c.host, documents.c.kind, documents.c.object_id, documents.c.data)
        .select_from(
            documents.join(
                inventory,
                (inventory.c.host == documents.c.host)
                & (inventory.c.kind == documents.c.kind)
                & (inventory.c.object_id == documents.c.object_id),
            )
        )
        .where(inventory.c.summary.is_(None))
    ).all()
    for host, kind, object_id, data in missing:
        document = json.loads(zlib.decompress(data))
        bind.execute(
            inventory.update()
            .where(
                inventory.c.host == host,
                inventory.c.kind == kind,
                inventory.c.object_id == object_id,
            )
            .values(summary=json.dumps(summary(kind, document), separators=(",", ":")))
        )


def downgrade() -> None:
    pass  # summaries of old rows are facts of their documents: nothing to undo
