"""Finding what happened while nothing was recording: a gap the engine cannot replay.

Docker keeps its recent events in memory only, so after dockerd restarts (or a collector
stays down past those it holds) the events of the gap are gone. At every (re)connection the
collector lists what the engine holds and compares it with what the log says it should
hold — the listing kept at the last reconciliation, moved forward by every record since.
What differs is written as records marked ``reconstructed``, stamped with the moment it was
seen and carrying the gap's span (``gap_from``, ``gap_to``): a container that appeared
(``create``, its configuration read now), one that is gone (``destroy``), started or
stopped (``start``, ``die``); an image, network or volume that appeared or is gone. What
came and went inside the gap left no trace and cannot be known.

An object with an event inside the listing's own window (between the two clock readings
around it) is left to its events: the listing may have caught it before or after.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hullcheck.audit.records import Record

State = dict[str, dict[str, Any]]
"""Per kind (``containers``, ``images``, ``networks``, ``volumes``), object ID → what the
comparison needs: a container's ``[name, running]``, an image's ``tags`` and ``digests``,
a network's or a volume's name."""

STATE_KINDS = {
    "container": "containers",
    "image": "images",
    "network": "networks",
    "volume": "volumes",
}
_GONE = {"destroy", "delete", "remove"}
_STOPPED = {"die", "stop", "oom"}


def empty() -> State:
    return {kind: {} for kind in STATE_KINDS.values()}


def listing(
    containers: Iterable[dict[str, Any]],
    images: Iterable[dict[str, Any]],
    networks: Iterable[dict[str, Any]],
    volumes: Iterable[dict[str, Any]],
) -> State:
    """The state of the engine's short listings."""
    state = empty()
    for item in containers:
        names = item.get("Names") or []
        name = str(names[0]).lstrip("/") if names else str(item.get("Id", ""))[:12]
        state["containers"][str(item.get("Id"))] = [name, item.get("State") == "running"]
    for item in images:
        tags = [t for t in item.get("RepoTags") or [] if t and t != "<none>:<none>"]
        digests = [d for d in item.get("RepoDigests") or [] if d and "<none>" not in d]
        state["images"][str(item.get("Id"))] = {"tags": sorted(tags), "digests": sorted(digests)}
    for item in networks:
        state["networks"][str(item.get("Id"))] = str(item.get("Name", ""))
    for item in volumes:
        state["volumes"][str(item.get("Name"))] = str(item.get("Name", ""))
    return state


def _key(text: str) -> str:
    return text.removeprefix("sha256:")  # Podman's image events name the ID without it


@dataclass
class Expected:
    """What the log says the engine holds: a past listing moved forward by records."""

    state: State
    mentioned: dict[str, set[str]] = field(default_factory=dict)
    """Per state kind, every ID or name a record since the listing named: such an object's
    appearing or going is explained by a record (an image pulled by name, say), not a gap."""
    recent: set[str] = field(default_factory=set)
    """IDs and names with a record at or after the moment the new listing began."""

    def apply(self, item: Record, listing_began: str | None = None) -> None:
        kind = STATE_KINDS.get(item.kind)
        if kind is None:
            return
        objects = self.state[kind]
        keys = {_key(item.object_id), *([_key(item.name)] if item.name else [])}
        self.mentioned.setdefault(kind, set()).update(keys)
        if listing_began is not None and item.time >= listing_began:
            self.recent.update(keys)
        if item.action in _GONE:
            for object_id in [i for i in objects if _key(i) in keys]:
                del objects[object_id]
            return
        if kind == "containers":
            known = objects.get(item.object_id)
            if item.action in ("create", "present"):
                running = bool(item.context.get("running"))
                objects[item.object_id] = [item.name or item.object_id[:12], running]
            elif known is not None and item.action == "start":
                known[1] = True
            elif known is not None and item.action in _STOPPED:
                known[1] = False
            elif known is not None and item.action == "rename" and item.name:
                known[0] = item.name
        elif item.action in ("create", "present", "appeared") and item.object_id not in objects:
            if kind == "images":
                context = item.context
                objects[item.object_id] = {
                    "tags": list(context.get("tags") or []),
                    "digests": list(context.get("digests") or []),
                }
            else:
                objects[item.object_id] = item.name or item.object_id

    def explained(self, kind: str, object_id: str, value: Any) -> bool:
        """Whether a record since the listing accounts for the object's difference."""
        keys = {_key(k) for k in [object_id, *_aliases(kind, value)]}
        if keys & self.recent:
            return True
        return kind != "containers" and bool(keys & self.mentioned.get(kind, set()))


def _aliases(kind: str, value: Any) -> list[str]:
    """An object's names besides its ID, from its state value."""
    if kind == "images":
        return list(value.get("tags") or []) if isinstance(value, dict) else []
    if kind == "containers":
        return [value[0]]
    return [str(value)]


def differences(
    expected: Expected, actual: State, host: str, at: str, gap_from: str | None
) -> list[Record]:
    """Records of what the listing shows and the log does not explain, seen at ``at``; with
    no earlier listing (``gap_from`` None) what is there is recorded as ``present``."""
    first = gap_from is None
    span = {} if first else {"gap_from": gap_from, "gap_to": at}
    found: list[Record] = []
    for kind, state_kind in STATE_KINDS.items():
        had, has = expected.state[state_kind], actual[state_kind]
        changed = [
            (object_id, value, _change(kind, had.get(object_id), value, first))
            for object_id, value in has.items()
        ] + [
            (object_id, value, ["delete" if kind == "image" else "destroy"])
            for object_id, value in had.items()
            if object_id not in has
        ]
        for object_id, value, actions in changed:
            if not actions or expected.explained(state_kind, object_id, value):
                continue
            name = None if kind == "image" else _aliases(state_kind, value)[0]
            context: dict[str, Any] = {**span}
            if kind == "image":
                context.update(value)
            elif kind == "container" and actions[0] in ("create", "present"):
                context["running"] = value[1]
            found.extend(
                Record(-1, at, host, kind, action, object_id, name, None, context, True)
                for action in actions
            )
    return found


def _change(kind: str, had: Any, has: Any, first: bool) -> list[str]:
    """The actions that lead from what the log says (``had``, ``None``: nothing) to what
    the listing shows."""
    if had is None:
        if first:
            return ["present"]
        if kind == "container":
            return ["create", "start"] if has[1] else ["create"]
        return ["appeared" if kind == "image" else "create"]
    if kind == "container" and had[1] != has[1]:
        return ["start" if has[1] else "die"]
    return []


def baseline(expected: Expected, actual: State) -> State:
    """The next reconciliation's starting point: the listing, except for objects with a
    record inside the listing's window, which follow their records."""
    state = empty()
    for kind in STATE_KINDS.values():
        had, has = expected.state[kind], actual[kind]
        for object_id in {*had, *has}:
            value = has.get(object_id, had.get(object_id))
            keys = {_key(k) for k in [object_id, *_aliases(kind, value)]}
            source = had if keys & expected.recent else has
            if object_id in source:
                state[kind][object_id] = source[object_id]
    return state
