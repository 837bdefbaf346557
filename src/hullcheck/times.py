"""Times as the inputs write them: RFC 3339 in any of its forms."""

from __future__ import annotations

import datetime
from typing import Any


def parse_time(text: Any) -> datetime.datetime | None:
    """An RFC 3339 time in UTC: the engine's (nanoseconds, which Python 3.11's
    ``fromisoformat`` reads), OSV feeds' (PyPA writes ``2024-07-07 18:15:00+00:00``); ``None``
    for Go's zero time and for what is not a time."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC)
