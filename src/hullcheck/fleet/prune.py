"""``hullcheck prune``: remove the report's garbage, planned first, re-checked live, recorded.

A plan is computed from the stored inventory (the same garbage ``fleet report`` shows) and
narrowed by host, kind, age and labels. Some objects are never removed: anything carrying a
protect label, images matching a keep pattern, volumes any container mounts (running or not)
and images any container uses. Applying re-checks every object on its engine just before the
removal (it may have started, or gained a protect label, since the sync), lets the engine
refuse what is in use, records every attempt in the store's ``actions`` table and marks
what was removed gone in the inventory.
"""

from __future__ import annotations

import datetime
import fnmatch
import getpass
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hullcheck.engine import connect_host
from hullcheck.errors import HullcheckError, UsageError
from hullcheck.fleet.hygiene import Settings, garbage
from hullcheck.fleet.inventory import FleetStore
from hullcheck.model import Action
from hullcheck.times import parse_time

PROTECT_LABEL = "org.hullcheck.protect"
"""An object with this label (any value but ``false``) is never pruned."""

KINDS = {
    "stopped-container": "container",
    "dangling-image": "image",
    "unused-image": "image",
    "unused-volume": "volume",
    "unused-network": "network",
}
ORDER = ("container", "image", "volume", "network")
"""Removal order: containers first frees what they held."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Which garbage a prune considers."""

    hosts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    """``container``, ``image``, ``volume``, ``network``; empty: all."""
    older_than: datetime.timedelta = datetime.timedelta(days=7)
    """Only objects finished (containers) or created (the rest) longer ago than this."""
    labels: tuple[str, ...] = ()
    """``KEY`` or ``KEY=VALUE`` an object must carry (all of them)."""
    exclude_labels: tuple[str, ...] = ()
    """``KEY`` or ``KEY=VALUE`` that keeps an object out."""
    protect_labels: tuple[str, ...] = (PROTECT_LABEL,)
    keep_images: tuple[str, ...] = ()
    """Image tag patterns (``registry.example.com/base/*``) never removed."""
    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))


@dataclass(frozen=True, slots=True)
class Step:
    """One object a prune removes, or keeps with the reason."""

    host: str
    kind: str
    """``container``, ``image``, ``volume`` or ``network``."""
    object_id: str
    name: str
    reason: str
    """Why it is garbage (``unused-image: no container uses it``)."""
    reclaim_bytes: int | None
    kept: str | None = None
    """Why it stays although it is garbage (a protect label, a keep pattern)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one step did."""

    step: Step
    outcome: str
    """``removed``, ``refused`` (a live re-check or the engine said no), ``gone`` (already
    removed by someone else) or ``failed`` (the engine could not be asked)."""
    detail: str | None = None


def plan(store: FleetStore, filters: Filters) -> list[Step]:
    """What a prune would remove (``kept`` empty) and what it would keep, in removal order."""
    unknown = set(filters.kinds) - set(ORDER)
    if unknown:
        raise UsageError(f"unknown kind {sorted(unknown)[0]!r}", hint="one of: " + ", ".join(ORDER))
    for label in filters.labels + filters.exclude_labels:
        if not label or label.startswith("="):
            raise UsageError(f"--label {label!r}: expected KEY or KEY=VALUE")
    hosts = {h.name for h in store.hosts.named(filters.hosts)}
    objects = {kind: store.fleet.objects(kind) for kind in ORDER}
    summaries = {
        (kind, host, seen.object_id): seen.data
        for kind, found in objects.items()
        for host, seen, _ in found
    }
    settings = Settings(older_than=filters.older_than, now=filters.now)
    items = garbage(
        store,
        settings,
        objects["container"],
        objects["image"],
        objects["volume"],
        objects["network"],
    )
    steps = []
    for item in items:
        kind = KINDS[item.kind]
        if item.host not in hosts or (filters.kinds and kind not in filters.kinds):
            continue
        assert item.object_id is not None
        data = summaries.get((kind, item.host, item.object_id), {})
        if not _old_enough(kind, data, filters) or not _labels_match(_labels(kind, data), filters):
            continue
        steps.append(
            Step(
                item.host,
                kind,
                item.object_id,
                item.object,
                f"{item.kind}: {item.detail}",
                item.reclaim_bytes,
                _kept(kind, data, filters),
            )
        )
    steps.sort(key=lambda s: (ORDER.index(s.kind), s.host, s.name))
    return steps


def _labels(kind: str, data: dict[str, Any]) -> dict[str, str]:
    if kind in ("container", "image"):
        return dict((data.get("Config") or {}).get("Labels") or {})
    return dict(data.get("Labels") or {})


def _has(labels: dict[str, str], wanted: str) -> bool:
    key, equals, value = wanted.partition("=")
    return key in labels and (not equals or labels[key] == value)


def _labels_match(labels: dict[str, str], filters: Filters) -> bool:
    return all(_has(labels, w) for w in filters.labels) and not any(
        _has(labels, w) for w in filters.exclude_labels
    )


def _old_enough(kind: str, data: dict[str, Any], filters: Filters) -> bool:
    if kind == "container":
        state = data.get("State") or {}
        moment = parse_time(state.get("FinishedAt")) or parse_time(data.get("Created"))
    else:
        moment = parse_time(data.get("CreatedAt") or data.get("Created"))
    # an object of unknown age is not known to be old
    return moment is not None and filters.now - moment >= filters.older_than


def _kept(kind: str, data: dict[str, Any], filters: Filters) -> str | None:
    labels = _labels(kind, data)
    for label in filters.protect_labels:
        if label in labels and labels[label].lower() != "false":
            return f"protected by the label {label}"
    if kind == "image":
        for tag in data.get("RepoTags") or []:
            for pattern in filters.keep_images:
                if fnmatch.fnmatchcase(tag, pattern):
                    return f"{tag} matches the keep pattern {pattern}"
    return None


def apply(store: FleetStore, steps: Sequence[Step], filters: Filters) -> list[Outcome]:
    """Remove every step not kept, host by host, in order; each attempt is recorded."""
    actor = f"{getpass.getuser()}@{socket.gethostname()}"
    outcomes: list[Outcome] = []
    todo = [s for s in steps if s.kept is None]
    by_host: dict[str, list[Step]] = {}
    for step in todo:
        by_host.setdefault(step.host, []).append(step)
    hosts = {h.name: h for h in store.hosts.named(tuple(by_host))}
    for name, host_steps in by_host.items():
        try:
            client = connect_host(hosts[name])
        except HullcheckError as exc:
            done = [Outcome(s, "failed", str(exc)) for s in host_steps]
        else:
            try:
                done = [_apply_one(client, step, filters) for step in host_steps]
            finally:
                client.close()
        store.actions.record(
            [
                Action(
                    at=datetime.datetime.now(datetime.UTC),
                    actor=actor,
                    command="prune",
                    host=o.step.host,
                    kind=o.step.kind,
                    object_id=o.step.object_id,
                    name=o.step.name,
                    reason=o.step.reason,
                    outcome=o.outcome,
                    detail=o.detail,
                    reclaim_bytes=o.step.reclaim_bytes if o.outcome == "removed" else None,
                )
                for o in done
            ]
        )
        outcomes += done
    return outcomes


def _apply_one(client: Any, step: Step, filters: Filters) -> Outcome:
    """Re-check one object live, then ask the engine to remove it."""
    current = client.inspect(step.kind, step.object_id)
    if current is None:
        return Outcome(step, "gone", "no longer on the engine")
    if step.kind == "container" and (current.get("State") or {}).get("Running"):
        return Outcome(step, "refused", "running now")
    kept = _kept(step.kind, current, filters)
    if kept is not None:
        return Outcome(step, "refused", kept)
    refusal = client.remove(step.kind, step.object_id)
    if refusal is not None:
        return Outcome(step, "refused", refusal)
    return Outcome(step, "removed")
