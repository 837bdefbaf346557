"""One reader for deb822 stanzas (dpkg ``status``, ``status.d/*``, apt lists, the tracker).

Written for speed over python-debian's general parser; a property test proves both agree
on the fields hullcheck reads.
"""

from __future__ import annotations

from collections.abc import Iterator


def iter_stanzas(text: str) -> Iterator[dict[str, str]]:
    """Yield each paragraph as a dict; continuation lines are joined with newlines."""
    fields: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
                fields = {}
            key = None
            continue
        first = line[0]
        if first in " \t":
            if key is not None:
                fields[key] += "\n" + line[1:]
            continue
        if first == "#":
            continue
        name, sep, value = line.partition(":")
        if not sep:
            key = None
            continue
        key = name.strip()
        fields[key] = value.strip()
    if fields:
        yield fields
