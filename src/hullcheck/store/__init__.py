"""The store: SQLAlchemy 2 models and Alembic migrations; SQLite or PostgreSQL."""

from hullcheck.store.facade import Store

__all__ = ["Store"]
