"""hullcheck's own directories: the only places it writes besides outputs the user names."""

from __future__ import annotations

import os


def data_dir() -> str:
    """Where the embedded store lives (``HULLCHECK_HOME`` overrides)."""
    home = os.environ.get("HULLCHECK_HOME")
    if home:
        return _ensure(os.path.join(home, "data"))
    import platformdirs

    return _ensure(platformdirs.user_data_dir("hullcheck"))


def cache_dir() -> str:
    """Temporary and re-creatable files (``HULLCHECK_HOME`` overrides)."""
    home = os.environ.get("HULLCHECK_HOME")
    if home:
        return _ensure(os.path.join(home, "cache"))
    import platformdirs

    return _ensure(platformdirs.user_cache_dir("hullcheck"))


def spool_dir() -> str:
    """Engine exports being read."""
    return _ensure(os.path.join(cache_dir(), "spool"))


def default_db_url() -> str:
    """``HULLCHECK_DB`` or the embedded SQLite file in the data directory."""
    return os.environ.get("HULLCHECK_DB") or f"sqlite:///{os.path.join(data_dir(), 'hullcheck.db')}"


def _ensure(path: str) -> str:
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path
