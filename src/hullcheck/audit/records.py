"""Audit records: what one engine event (or one thing hullcheck did) becomes in the log.

Engines say the same things differently (docs/engines.md, recorded in tests/data/engine):
Docker writes ``exec_create: sh -c …`` and ``exec_die`` with ``execID`` and ``exitCode``;
Podman ``exec`` (no command, no exec ID) and ``exec_died`` with ``containerExitCode``; Podman
says ``remove`` where Docker says ``destroy``. A record carries one vocabulary — Docker's —
with the engine's own word kept in ``context["engine_action"]`` where it differed, so that
``audit search --action exec_start`` finds every engine's execs.

A record's leaf in the Merkle tree is its canonical JSON (sorted keys, no spaces, UTF-8):
every field is covered, and the bytes are the same wherever the record is re-encoded.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from typing import Any

import orjson

from hullcheck.redaction import redact_command

PODMAN_ACTIONS = {
    "exec": "exec_start",
    "exec_died": "exec_die",
    "remove": "destroy",
    "loadfromarchive": "load",
}
"""Podman's words for what Docker calls otherwise (its image ``remove`` is Docker's
``delete``, handled by kind)."""

KINDS = frozenset({"container", "image", "volume", "network", "daemon", "plugin", "node"})
"""Event types of the Engine API; anything else is kept raw as ``unknown``."""

_DETAIL_ACTIONS = {"exec_create", "exec_start", "health_status"}
"""Docker actions written ``ACTION: DETAIL``: the detail is a command or a health status."""


@dataclass(slots=True)
class Record:
    """One entry of a host's audit log. A value: never changed once made (not frozen only
    because a frozen dataclass costs five times as much to make, and the collector makes a
    few per event — :meth:`numbered` and :meth:`but` make changed copies)."""

    seq: int
    """Position in the host's log, from 0: the leaf index of the Merkle tree."""
    time: str
    """When it happened, RFC 3339 in UTC with nanoseconds, as the engine stamped it."""
    host: str
    kind: str
    """``container``, ``image``, ``volume``, ``network``, ``daemon``, ``hullcheck`` (what
    hullcheck itself did) or ``unknown`` (an event the engine sent that is not understood)."""
    action: str
    object_id: str
    name: str | None = None
    actor: str | None = None
    """Who, where that is really known (an authorization plugin's user, a ``--actor`` given to
    hullcheck, a Compose project label); never guessed."""
    context: dict[str, Any] = field(default_factory=dict)
    reconstructed: bool = False
    """Not seen as an event: inferred by re-listing the engine after a gap."""

    def numbered(self, seq: int) -> Record:
        """This record at ``seq`` (``dataclasses.replace`` would take four times as long)."""
        return self._copy(seq, self.actor, self.context)

    def but(self, context: dict[str, Any], actor: str | None = None) -> Record:
        """This record with another context (and, if given, an actor)."""
        return self._copy(self.seq, self.actor if actor is None else actor, context)

    def _copy(self, seq: int, actor: str | None, context: dict[str, Any]) -> Record:
        return Record(
            seq,
            self.time,
            self.host,
            self.kind,
            self.action,
            self.object_id,
            self.name,
            actor,
            context,
            self.reconstructed,
        )

    def leaf(self) -> bytes:
        """The bytes the Merkle tree hashes for this record."""
        return canonical(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {  # every field, in order (spelt out: the log's hot path)
            "seq": self.seq,
            "time": self.time,
            "host": self.host,
            "kind": self.kind,
            "action": self.action,
            "object_id": self.object_id,
            "name": self.name,
            "actor": self.actor,
            "context": self.context,
            "reconstructed": self.reconstructed,
        }

    @classmethod
    def from_leaf(cls, data: bytes) -> Record:
        return cls(**orjson.loads(data))


def canonical(record: dict[str, Any]) -> bytes:
    """A record's canonical JSON: sorted keys, no spaces, UTF-8 — what its leaf hashes."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def now() -> str:
    """This moment as a record's time."""
    return stamp(datetime.datetime.now(datetime.UTC))


def stamp(moment: datetime.datetime) -> str:
    """A UTC moment as a record's time: RFC 3339 with nanoseconds."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond * 1000:09d}Z"


def event_nanos(event: dict[str, Any]) -> int:
    """An event's ``timeNano``, or its ``time`` in nanoseconds; 0 when it has neither."""
    nanos = event.get("timeNano")
    if isinstance(nanos, int) and not isinstance(nanos, bool):
        return nanos
    seconds = event.get("time")
    valid = isinstance(seconds, int) and not isinstance(seconds, bool)
    return seconds * 1_000_000_000 if valid else 0  # type: ignore[operator]


def nanos_time(nanos: int) -> str:
    """Nanoseconds since the epoch as a record's time."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return f"{_second(seconds)}.{fraction:09d}Z"


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a second since the epoch (events come many a second:
    formatting a date costs more than everything else a record needs)."""
    return f"{datetime.datetime.fromtimestamp(seconds, datetime.UTC):%Y-%m-%dT%H:%M:%S}"


def event_time(event: dict[str, Any]) -> str:
    """An event's ``timeNano`` (or ``time``) as RFC 3339 UTC with nanoseconds."""
    return nanos_time(event_nanos(event))


def from_event(host: str, event: dict[str, Any], *, podman: bool = False) -> Record:
    """The record of one engine event (``seq`` is given when the log appends it).

    An event whose type or action is missing or not understood is kept whole, as
    ``unknown``, never dropped."""
    kind = event.get("Type")
    action = event.get("Action") or event.get("status")
    found = event.get("Actor")
    actor: dict[str, Any] = found if isinstance(found, dict) else {}
    found = actor.get("Attributes")
    attributes: dict[str, Any] = found if isinstance(found, dict) else {}
    # Podman's volume events have an empty ID and the volume's name as an attribute
    object_id = actor.get("ID") or event.get("id") or attributes.get("name")
    if kind not in KINDS or not isinstance(action, str) or not isinstance(object_id, str):
        moment = event_time(event) if event_nanos(event) else now()  # (a line not even JSON)
        return Record(-1, moment, host, "unknown", "unknown", "", context={"raw": event})
    context: dict[str, Any] = {str(k): str(v) for k, v in attributes.items() if k != "name"}
    word, _, detail = action.partition(": ")
    if word in _DETAIL_ACTIONS and detail:
        key = "status" if word == "health_status" else "command"
        context[key] = redact_command(detail.strip()) if key == "command" else detail
    if podman:
        normal = "delete" if (kind, word) == ("image", "remove") else PODMAN_ACTIONS.get(word)
        if normal is not None:
            context["engine_action"] = word
            word = normal
        if word == "exec_die" and "containerExitCode" in context:
            context["exitCode"] = context.pop("containerExitCode")
    name = attributes.get("name")
    if podman and kind == "network" and word in ("connect", "disconnect") and "network" in context:
        # Podman names the container as the actor and the network as an attribute
        context["container"], context["container_name"] = object_id, str(name or "")
        object_id = name = context.pop("network")
    if not name and kind == "network":
        name = attributes.get("network")  # Podman's network events: an empty name, and this
    if not name and kind == "volume":
        name = object_id  # a volume's ID is its name
    return Record(
        -1,
        event_time(event),
        host,
        kind,
        word,
        object_id,
        str(name) if name else None,
        context=context,
    )
