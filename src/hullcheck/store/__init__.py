"""The store: SQLAlchemy 2 models and Alembic migrations; SQLite or PostgreSQL."""

from hullcheck.store.database import Store

__all__ = ["Store"]
