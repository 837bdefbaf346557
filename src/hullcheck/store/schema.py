"""Facts about the schema that need no SQLAlchemy import."""

SCHEMA_REVISION = "0009"
"""The Alembic head this code expects; a test checks it against the migrations."""
