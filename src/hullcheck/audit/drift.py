"""Drift: what changed inside a running container since its image, and which processes
started, checked when something may have changed it (an exec ended, a file was copied in),
at every connection and on a schedule.

The engine reports a container's file changes against its image (``/containers/{id}/changes``:
changed, added, deleted paths) and its processes (``top``). The collector keeps the last set
it saw per container; a check records what is new since — every change at the first check
of a container (the image is the baseline), unless the log's last drift record of that
container already describes the same set (its ``digest``), as after a collector restart.
Changes under sensitive paths (``/etc``, ``/usr/bin``, ``/root/.ssh``, …) are listed apart.
Processes are compared with the last listing this collector saw; the first is the baseline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from hullcheck.redaction import redact_command

SENSITIVE = (
    "/etc",
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/lib",
    "/usr/lib",
    "/root/.ssh",
    "/var/spool/cron",
)
"""Paths a change beneath which is flagged (``hullcheck audit watch --sensitive`` replaces
them)."""
MAX_LISTED = 200
"""Paths listed per kind of change in one record; the count says how many there were."""
_KINDS = {0: "changed", 1: "added", 2: "deleted"}


def file_set(changes: Iterable[dict[str, Any]]) -> set[str]:
    """``KIND:PATH`` of each change the engine reported."""
    return {
        f"{_KINDS.get(change['Kind'] if isinstance(change.get('Kind'), int) else 0, 'changed')}"
        f":{change.get('Path')}"
        for change in changes
        if isinstance(change, dict) and isinstance(change.get("Path"), str)
    }


def digest(entries: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(entries)).encode("utf-8", "replace")).hexdigest()


def processes(top: dict[str, Any] | None) -> set[str]:
    """The command lines ``top`` listed."""
    if not top:
        return set()
    titles = [str(t) for t in top.get("Titles") or []]
    column = next((titles.index(t) for t in ("CMD", "COMMAND", "ARGS") if t in titles), -1)
    return {
        str(row[column])
        for row in top.get("Processes") or []
        if isinstance(row, list) and len(row) > column >= 0
    }


def under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path.startswith(prefix.rstrip("/") + "/") for prefix in prefixes)


def context(
    before: set[str],
    after: set[str],
    started: set[str],
    prefixes: Sequence[str],
) -> dict[str, Any] | None:
    """What a drift record says, or ``None`` when nothing drifted."""
    new = after - before
    undone = before - after
    if not new and not undone and not started:
        return None
    found: dict[str, Any] = {}
    for kind in _KINDS.values():
        paths = sorted(e.split(":", 1)[1] for e in new if e.startswith(f"{kind}:"))
        if paths:
            found[kind] = paths[:MAX_LISTED]
            if len(paths) > MAX_LISTED:
                found[f"{kind}_count"] = len(paths)
    if undone:
        found["reverted"] = sorted(e.split(":", 1)[1] for e in undone)[:MAX_LISTED]
    flagged = sorted({e.split(":", 1)[1] for e in new if under(e.split(":", 1)[1], prefixes)})
    if flagged:
        found["sensitive"] = flagged[:MAX_LISTED]
    if started:
        found["processes_started"] = sorted(redact_command(p) or "" for p in started)[:MAX_LISTED]
    found["total"] = len(after)
    found["digest"] = digest(after)
    return found
