"""Reading a host's engine events into its audit log, with what will soon be gone captured
on arrival: a new container's configuration (environment variable names, never their
values) and, on Docker, an exec's command, user and privileges.

A collector resumes after the last event its log holds (the log keeps the event's
``timeNano`` as its cursor), so one that was stopped or killed misses nothing the engine
still has: Docker keeps its recent events in memory (lost when dockerd restarts), Podman in
its events file. At every (re)connection it reconciles the engine's listing with the log
(:mod:`hullcheck.audit.reconcile`), so a gap the engine cannot replay is recorded as such.
A stream that breaks is reconnected with backoff; records the store cannot take wait in an
on-disk spool (:mod:`hullcheck.audit.spool`). Health-check execs are counted per container,
not recorded one by one.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from hullcheck.audit import drift, reconcile
from hullcheck.audit.alerts import Alerter
from hullcheck.audit.log import AuditBook, record, seal
from hullcheck.audit.note import SignerKey
from hullcheck.audit.records import Record, event_nanos, from_event, nanos_time, now
from hullcheck.audit.rules import ContainerImages
from hullcheck.audit.spool import Spool
from hullcheck.engine import EngineClient
from hullcheck.engine.client import decode_event
from hullcheck.errors import EngineError, StoreError
from hullcheck.redaction import redact_command

log = logging.getLogger("hullcheck.audit")

BATCH = 1024
"""Events per append when the stream has them waiting (a replay, a storm): fewer, larger
transactions (a commit costs as much as a few hundred records)."""
BATCH_LIMIT = 4 * BATCH
"""Events held at most while the store writes: beyond, taking events waits for it (they
wait in the stream's queue, read all along)."""
HEALTH_EVERY = 100
"""Health-check execs of one container counted before their count is written anyway."""
DRIFT_EVERY = 300.0
"""Seconds between drift checks of every running container (a continuous collector)."""
DRIFT_AFTER = {"exec_die", "extract-to-dir", "copy"}
"""Container events after which that container's drift is checked, ``DRIFT_SETTLE`` later
(``copy``: Podman's word for ``docker cp``)."""
JOIN_WINDOW = 10_000_000_000
"""Nanoseconds before an event in which the API request that caused it is looked for."""
JOIN_RECHECK = 30.0
"""Seconds between looks for an authorization plugin's records in a log without them."""
REPLAY_BEFORE = 2_000_000_000
"""Nanoseconds before its cursor a collector replays from: events sent out of time order
(seen on Podman, and on Docker under concurrent execs) are not lost at a reconnection."""
PODMAN_READ = 2_000_000_000
"""Nanoseconds Podman is given to read its events file: it stops a stream whose ``until``
has passed on its clock, whether or not it has read the events before that moment."""
TAKE_EVERY = 0.05
"""Seconds at most between an event's arrival and its taking (its inspect, while what it
names still exists), when the stream is quiet."""
SEAL_EVERY = 5.0
"""Seconds at least between the checkpoints that seal a write's end (besides the one every
``CHECKPOINT_EVERY`` records, and the last when the collector stops): a quiet host's log
would otherwise sign a checkpoint for every event. Records after the last checkpoint are
said by ``verify`` to be not yet checkpointed."""
FLUSH_EVERY = 0.25
"""Seconds at most between an event's arrival and its record's writing (continuous mode)."""
DRIFT_SETTLE = 1.0
"""Seconds after an exec or a copy before the container's drift is checked (continuous)."""
RETRY = 2.0
"""Seconds between attempts to write to a store that is away (records wait in the spool)."""
BACKOFF = (1.0, 60.0)
"""First and longest wait before reconnecting to an engine whose stream broke."""


def container_config(document: dict[str, Any]) -> dict[str, Any]:
    """What a container was created with, as the audit keeps it: image, command, user,
    privileges, capabilities, mounts, ports, labels and the *names* of its environment."""
    config = document.get("Config") or {}
    host = document.get("HostConfig") or {}
    command = " ".join(str(part) for part in [document.get("Path"), *(document.get("Args") or [])])
    env = [str(item).split("=", 1)[0] for item in config.get("Env") or []]
    mounts = [
        f"{m.get('Type')}:{m.get('Name') or m.get('Source')}:{m.get('Destination')}"
        + ("" if m.get("RW", True) else ":ro")
        for m in document.get("Mounts") or []
        if isinstance(m, dict)
    ]
    ports = sorted((host.get("PortBindings") or {}).keys())
    return {
        "image": document.get("Image"),
        "command": redact_command(command.strip()),
        "user": config.get("User") or "",
        "privileged": bool(host.get("Privileged")),
        "cap_add": list(host.get("CapAdd") or []),
        "network_mode": host.get("NetworkMode"),
        "mounts": mounts,
        "ports": ports,
        "env_names": env,
        "health": health_command(document),
    }


def _exec_detail(document: dict[str, Any]) -> dict[str, Any]:
    process = document.get("ProcessConfig") or {}
    command = " ".join(
        [str(process.get("entrypoint") or ""), *map(str, process.get("arguments") or [])]
    )
    return {
        "command": redact_command(command.strip()),
        "user": process.get("user") or "",
        "privileged": bool(process.get("privileged")),
        "tty": bool(process.get("tty")),
    }


def _image_detail(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "image_id": document.get("Id"),
        "tags": list(document.get("RepoTags") or []),
        "digests": list(document.get("RepoDigests") or []),
    }


def enrich(client: EngineClient, item: Record) -> Record:
    """The record with what the engine can still tell about it, asked at once."""
    context = dict(item.context)
    if item.kind == "container" and item.action in ("create", "present"):
        found = client.inspect("container", item.object_id)
        if found is not None:
            context["config"] = container_config(found)
    elif item.kind == "container" and item.action == "exec_start" and "execID" in context:
        found = client.exec_inspect(str(context["execID"]))
        if found is not None:
            context.update(_exec_detail(found))
    elif item.kind == "image" and item.action in _IMAGE_ARRIVALS:
        found = client.inspect("image", item.name or item.object_id)
        if found is None and item.name:
            found = client.inspect("image", item.object_id)
        if found is not None:
            context.update(_image_detail(found))
    else:
        return item
    return item.but(context)


_IMAGE_ARRIVALS = {"pull", "push", "tag", "load", "import"}
"""Image events whose image is inspected for its ID, tags and digests (an image that
appeared in a gap has them from the listing)."""


def health_command(document: dict[str, Any]) -> str | None:
    """The command an exec runs for the container's health check, as the exec event says
    it (``CMD-SHELL x`` is ``/bin/sh -c x``); ``None`` without a health check."""
    test = ((document.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return redact_command(" ".join(["/bin/sh", "-c", *map(str, test[1:])]))
    return redact_command(" ".join(map(str, test[1:] if test[0] == "CMD" else test)))


@dataclasses.dataclass
class _Health:
    name: str | None
    command: str
    checks: int = 0
    failed: int = 0
    first: str = ""
    last: str = ""


class Collector:
    """One host's events into its log."""

    def __init__(
        self,
        client: EngineClient,
        book: AuditBook,
        log_name: str,
        host: str,
        signer: SignerKey,
        *,
        podman: bool = False,
        spool: Spool | None = None,
        sensitive: Sequence[str] = drift.SENSITIVE,
        drift_every: float = DRIFT_EVERY,
        alerter: Alerter | None = None,
    ) -> None:
        self.client, self.book, self.log_name, self.host = client, book, log_name, host
        self.signer, self.podman, self.spool = signer, podman, spool
        self.sensitive, self.drift_every = tuple(sensitive), drift_every
        self.alerter = alerter
        self._requests = False
        self._requests_checked = -JOIN_RECHECK
        self._images = ContainerImages()
        self._files: dict[str, set[str]] = {}
        self._drift_wanted: dict[str, tuple[str | None, str, float]] = {}
        self._processes: dict[str, set[str]] = {}
        self.pending: list[Record] = []
        self.recorded = 0
        self.cursor: int | None = None
        self.health: dict[str, _Health] = {}
        self._health_commands: dict[str, str | None] = {}
        self._health_execs: set[str] = set()
        self._lock = threading.RLock()
        """Held while an event is taken or a drift checked (they share the pending list
        and the bookkeeping)."""
        self._writing = threading.Lock()
        """Held while a batch is written (one writer at a time, batches in order)."""
        self._ready = threading.Event()
        """Set when a batch waits: the drainer writes it without waiting for its tick."""
        self._seen: set[tuple[str, str, str, str]] = set()
        self._away: float | None = None
        self._sealed = -SEAL_EVERY
        self._unsealed = False
        """Whether the log's end was written without a checkpoint (``SEAL_EVERY``)."""

    # -- the run ----------------------------------------------------------------------------
    def run(self, until: int | None = None, stop: threading.Event | None = None) -> int:
        """Record until ``until`` (nanoseconds since the epoch) and return, or for ever
        (until ``stop`` is set), reconnecting with backoff; the number recorded."""
        if until is not None:
            self.connect(until)
            self.close()
            return self.recorded
        stop = stop or threading.Event()
        done = threading.Event()
        drainer = threading.Thread(target=self._drain, args=(done,), daemon=True)
        drainer.start()
        wait = BACKOFF[0]
        try:
            while not stop.is_set():
                try:
                    if wait > BACKOFF[0]:  # reconnecting: only to an engine that listens
                        self.client.reset()
                    self.connect(None)
                    wait = BACKOFF[0]
                    self._follow(stop)
                except (EngineError, StoreError) as exc:  # the store: at the connection
                    if stop.is_set():
                        break
                    log.warning("%s: %s; reconnecting in %.0f s", self.host, exc, wait)
                    stop.wait(wait)
                    wait = min(wait * 2, BACKOFF[1])
        finally:
            done.set()
            self._ready.set()
            drainer.join()
            self.close()
        return self.recorded

    def _follow(self, stop: threading.Event) -> None:
        """Take the stream's events until ``stop``. A thread of its own only reads them into
        a queue: dockerd drops the events of a subscriber that does not read within 100 ms
        once 1,024 wait, and taking an event (an exec's inspect, a drift check) can take
        longer than that under a storm. The queue holds the lines undecoded (a backlog of
        decoded events would be scanned by every garbage collection), taken a run at a time
        (a lock and a wake-up per event would cost more than taking it)."""
        arrived: collections.deque[bytes | EngineError] = collections.deque()

        def read() -> None:
            failure = EngineError(f"{self.client.host}: the event stream ended")
            try:
                for line in self.client.event_lines(self._since(), None):
                    arrived.append(line)  # undecoded: a backlog of bytes costs little
            except EngineError as exc:
                failure = exc
            finally:
                arrived.append(failure)  # (the last word: the loop below raises it)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            while not stop.is_set():
                if not arrived:
                    # looked at every TAKE_EVERY seconds rather than woken per event: a
                    # quiet host's events cost a wake-up each otherwise
                    stop.wait(TAKE_EVERY)
                    continue
                with self._lock:
                    for _ in range(min(len(arrived), BATCH)):
                        line = arrived.popleft()
                        if isinstance(line, EngineError):
                            raise line
                        self.take(decode_event(line))
                    waiting = len(self.pending)
                if waiting >= BATCH_LIMIT:
                    self.flush()  # the store is behind: wait for it rather than grow
                elif waiting >= BATCH:
                    self._ready.set()  # the drainer writes it while events go on
        finally:
            self.client.interrupt()
            reader.join(timeout=30)

    def _drain(self, stop: threading.Event) -> None:
        """Write what arrived every ``FLUSH_EVERY`` seconds (a storm is written a batch at a
        time, a lone event within that delay); while the store is away, try it again every
        ``RETRY`` seconds; every ``drift_every`` seconds, check every running container."""
        checked = time.monotonic()
        while not stop.is_set():
            self._ready.wait(FLUSH_EVERY)
            self._ready.clear()
            if stop.is_set():
                break
            try:
                if time.monotonic() - checked >= self.drift_every:
                    checked = time.monotonic()
                    self.check_all_drift("schedule")
                else:
                    self.check_wanted_drift()
            except EngineError as exc:
                log.warning("%s: %s; drift checked at the next connection", self.host, exc)
            if self.away or self.pending:
                self.flush()
            self.seal_if_due()

    def connect(self, until: int | None) -> None:
        """Replay what the engine holds since the log's cursor, then reconcile its listing
        with the log; with ``until`` the replay goes on to that moment."""
        self.flush()  # what a broken stream left taken: known to the replay, not taken twice
        self.cursor = self._resume()
        started = self.cursor
        self._remember()
        began = self.client.clock()
        state = reconcile.listing(
            self.client.list_containers(),
            self.client.image_listing(),
            self.client.networks(),
            self.client.volumes(),
        )
        ended = self.client.clock()
        end = ended if until is None else max(until, ended)
        if self.podman:  # Podman's `until` is a deadline on its wall clock, not a filter
            end += PODMAN_READ
        # read whole before any is taken (an inspect each, a write each batch): Podman ends
        # the stream at its deadline whether or not its reader kept up
        replayed = list(self.client.event_lines(self._since(), f"{end / 1e9:.9f}"))
        for line in replayed:
            # the stream that follows starts REPLAY_BEFORE ahead of the cursor again: what
            # the replay took is known to it (without asking the store: it may be away)
            self.take(decode_event(line), remember=True)
            if len(self.pending) >= BATCH:
                self.flush()
        self.flush()
        if self.away:
            log.warning("%s: the store is away: reconciling at the next connection", self.host)
            return
        try:
            self.reconcile(state, began, ended, started)
        except StoreError as exc:  # the baseline stays: the next reconciliation covers this
            log.warning("%s: %s: reconciling at the next connection", self.host, exc)
        self.check_all_drift("connect")
        self.flush()

    def reconcile(
        self, state: reconcile.State, began: int, ended: int, started: int | None
    ) -> None:
        stored = self.book.state(self.host)
        if stored is None:
            seq, taken, baseline, gap_from = 0, "", reconcile.empty(), None
        else:
            seq, taken, baseline = stored
            gap_from = max(taken, nanos_time(started)) if started is not None else taken
        expected = reconcile.Expected(baseline)
        for item, _ in self.book.records(self.host, seq):
            expected.apply(item, nanos_time(began))
        found = reconcile.differences(expected, state, self.host, nanos_time(ended), gap_from)
        size = self.book.head(self.host).size
        if found:
            if gap_from is not None:
                log.warning(
                    "%s: %d changes the engine did not report between %s and %s: recorded "
                    "as reconstructed",
                    self.host,
                    len(found),
                    gap_from,
                    nanos_time(ended),
                )
            size = record(
                self.book,
                self.log_name,
                self.host,
                [enrich(self.client, item) for item in found],
                self.signer,
            )
            self.recorded += len(found)
        self.book.save_state(
            self.host, size, nanos_time(ended), reconcile.baseline(expected, state)
        )

    def close(self) -> None:
        """Write the drift checks asked for, the health-check counts held and whatever
        waits."""
        with contextlib.suppress(EngineError):
            self.check_wanted_drift(0)
        for container in list(self.health):
            self._health_record(container)
        self.flush()
        self.seal_if_due(now=True)

    # -- events -----------------------------------------------------------------------------
    def take(self, event: object, *, remember: bool = False) -> None:
        """Record one event; with ``remember``, a stream sending it again is ignored (the
        replay at a connection: the stream that follows starts a little before it ended)."""
        if not isinstance(event, dict):
            return
        nanos = event_nanos(event)
        item = from_event(self.host, event, podman=self.podman)
        identity = _identity(item)
        if identity in self._seen:
            return  # already in the log: a replay starts a little before the cursor
        if remember:
            self._seen.add(identity)
        if item.kind == "unknown":
            log.warning("%s: an event not understood: recorded whole, as unknown", self.host)
        self.cursor = nanos if self.cursor is None else max(self.cursor, nanos)
        if item.kind == "container" and item.action == "top":
            return  # the drift checks' own: an engine does not say who listed processes
        if item.kind == "container":
            if self._is_health_check(item):
                return
            if item.object_id in self.health and item.action != "exec_create":
                self._health_record(item.object_id)
        item = self._join(enrich(self.client, item))
        if "config" in item.context:  # the health command, known before the container goes
            self._health_commands[item.object_id] = item.context["config"].get("health")
        self.pending.append(item)
        if item.kind == "container":
            self._follow_up(item)

    def _follow_up(self, item: Record) -> None:
        """A container's drift checked after an exec or a copy; all kept of it forgotten
        once it is destroyed."""
        if item.action in DRIFT_AFTER:
            self._drift_wanted.setdefault(
                item.object_id, (item.name, item.action, time.monotonic())
            )
        elif item.action == "destroy":
            self._health_commands.pop(item.object_id, None)
            self._files.pop(item.object_id, None)
            self._processes.pop(item.object_id, None)
            self._drift_wanted.pop(item.object_id, None)

    # -- callers ------------------------------------------------------------------------------
    def _join(self, item: Record) -> Record:
        """The record with the caller of the API request that caused it, where the
        authorization plugin recorded one (:mod:`hullcheck.audit.authz`)."""
        if item.actor is not None or item.kind not in ("container", "image", "volume", "network"):
            return item
        if time.monotonic() - self._requests_checked > JOIN_RECHECK:
            self._requests_checked = time.monotonic()
            with contextlib.suppress(StoreError):
                self._requests = bool(self.book.search(hosts=[self.host], kinds=["api"], newest=1))
        if not self._requests:
            return item
        since = nanos_time(max(0, (self.cursor or 0) - JOIN_WINDOW))
        # a request names its object by ID, 12-character prefix or name (other prefixes are
        # not joined); an exec's start by the exec's ID
        keys = [item.object_id, item.object_id[:12], *([item.name] if item.name else [])]
        if item.action == "exec_start" and item.context.get("execID"):
            keys = [str(item.context["execID"])]
        try:
            recent = self.book.search(
                hosts=[self.host], kinds=["api"], objects=keys, since=since, newest=20
            )
        except StoreError:
            return item  # the store is away: the record is written without its caller
        for request in reversed(recent):
            if request.time <= item.time and _caused(request, item):
                context = {**item.context, "request_seq": request.seq}
                return item.but(context, request.actor)
        return item

    # -- drift ------------------------------------------------------------------------------
    def check_drift(self, container: str, name: str | None, trigger: str) -> None:
        """Record what changed in the container's files and processes since the last check
        (:mod:`hullcheck.audit.drift`)."""
        try:
            changes = self.client.changes(container)
        except EngineError as exc:  # Podman, for a container going away: "layer not known"
            log.info("%s: no drift check of %s: %s", self.host, container[:12], exc)
            return
        if changes is None:
            return  # gone
        after = drift.file_set(changes)
        before = self._files.get(container)
        if before is None and not after:
            before = after
        elif before is None:
            try:
                last = self.book.search(
                    hosts=[self.host], objects=[container], actions=["drift"], newest=1
                )
            except StoreError:
                last = []  # the store is away: every change is drift, as at a first check
            known = last[0].context.get("digest") if last else None
            before = after if known == drift.digest(after) else set()
        self._files[container] = after
        # Podman lists processes by running `ps` in the container: an exec of our own
        running = set() if self.podman else drift.processes(self.client.top(container))
        seen = self._processes.get(container)
        self._processes[container] = running
        started = running - seen if seen is not None else set()
        found = drift.context(before, after, started, self.sensitive)
        if found is not None:
            found["trigger"] = trigger
            self.pending.append(
                Record(-1, now(), self.host, "container", "drift", container, name, context=found)
            )

    def check_wanted_drift(self, settled: float = DRIFT_SETTLE) -> set[str]:
        """Check the containers an exec or a copy changed ``settled`` seconds ago or more:
        under an exec storm a container is checked once a second, not once an exec. The
        containers checked."""
        checked = set()
        with self._lock:
            for container, (name, trigger, at) in list(self._drift_wanted.items()):
                if time.monotonic() - at >= settled:
                    del self._drift_wanted[container]
                    self.check_drift(container, name, trigger)
                    checked.add(container)
        return checked

    def check_all_drift(self, trigger: str) -> None:
        """A drift check of every running container (those an event asked for first, with
        their event as the trigger)."""
        checked = self.check_wanted_drift(0)
        for item in self.client.list_containers():
            if item.get("State") == "running" and item.get("Id") not in checked:
                names = item.get("Names") or []
                name = str(names[0]).lstrip("/") if names else None
                with self._lock:
                    self.check_drift(str(item.get("Id")), name, trigger)

    def _is_health_check(self, item: Record) -> bool:
        """Count a health-check exec instead of recording it (Docker names the exec: its
        create and start carry the health command, its death the exec ID)."""
        exec_id = item.context.get("execID")
        if item.action in ("exec_create", "exec_start") and exec_id:
            command = item.context.get("command")
            if command is None or command != self._health_command(item.object_id):
                return False
            self._health_execs.add(exec_id)
            return True
        if item.action != "exec_die" or exec_id not in self._health_execs:
            return False
        self._health_execs.discard(exec_id)
        count = self.health.setdefault(
            item.object_id, _Health(item.name, self._health_command(item.object_id) or "")
        )
        count.checks += 1
        count.failed += item.context.get("exitCode", "0") != "0"
        count.first = count.first or item.time
        count.last = item.time
        if count.checks >= HEALTH_EVERY:
            self._health_record(item.object_id)
        return True

    def _health_command(self, container: str) -> str | None:
        """The container's health command: from its configuration as the engine or, once it
        is gone, as the log recorded it."""
        if container not in self._health_commands:
            found = self.client.inspect("container", container)
            if found is not None:
                self._health_commands[container] = health_command(found)
            else:
                try:
                    created = self.book.search(
                        hosts=[self.host], objects=[container], actions=["create", "present"]
                    )
                except StoreError:
                    return None  # not cached: asked again at its next exec
                configs = [r.context["config"] for r in created if "config" in r.context]
                self._health_commands[container] = configs[-1].get("health") if configs else None
        return self._health_commands[container]

    def _health_record(self, container: str) -> None:
        count = self.health.pop(container)
        context = {
            "checks": count.checks,
            "failed": count.failed,
            "first": count.first,
            "command": count.command,
        }
        self.pending.append(
            Record(
                -1,
                count.last,
                self.host,
                "container",
                "health_checks",
                container,
                count.name,
                context=context,
            )
        )

    # -- writing ----------------------------------------------------------------------------
    def _resume(self) -> int | None:
        """Where to read from: the log's cursor, the spool's, or this run's, the latest."""
        found = [self.cursor, self.book.cursor(self.host)]
        if self.spool is not None:
            found.append(self.spool.waiting()[1])
        known = [cursor for cursor in found if cursor is not None]
        return max(known) if known else None

    def _since(self) -> str:
        """Where a replay starts: ``REPLAY_BEFORE`` ahead of the cursor, since an engine
        does not always send its events in time order (records already in the log are
        recognised and skipped)."""
        if self.cursor is None:
            return "0"  # a first run takes everything the engine still holds
        seconds, nanos = divmod(max(0, self.cursor - REPLAY_BEFORE), 1_000_000_000)
        return f"{seconds}.{nanos:09d}"

    def _remember(self) -> None:
        """The identities of the records a replay from ``_since`` may send again."""
        self._seen = set()
        if self.cursor is None:
            return
        since = nanos_time(max(0, self.cursor - REPLAY_BEFORE))
        found = self.book.search(hosts=[self.host], since=since)
        if self.spool is not None:
            found += self.spool.waiting()[0]
        self._seen = {_identity(item) for item in found if item.kind != "api"}

    def flush(self) -> None:
        """Append what is pending to the log, after what waits in the spool; when the store
        cannot take it, into the spool (tried again every ``RETRY`` seconds).

        The events keep being taken while a batch is written (the store's own work, in C,
        does not hold the interpreter): one writer at a time, batches in their order."""
        with self._writing:
            with self._lock:
                if not self.pending and self._away is None:
                    return
                batch, self.pending = self.pending, []
                cursor = self.cursor
            self._write(batch, cursor)

    def _write(self, batch: list[Record], cursor: int | None) -> None:
        if self._away is not None and time.monotonic() - self._away < RETRY:
            self._to_spool(batch, cursor)
            return
        waiting = self.spool.waiting()[0] if self.spool is not None else []
        try:
            sealing = time.monotonic() - self._sealed >= SEAL_EVERY
            records = [*waiting, *batch]
            record(self.book, self.log_name, self.host, records, self.signer, cursor, seal=sealing)
            self._unsealed = not sealing
            if sealing:
                self._sealed = time.monotonic()
        except StoreError as exc:
            if self.spool is None:
                with self._lock:
                    self.pending[:0] = batch  # kept for the next attempt, in order
                raise
            if self._away is None:
                log.warning("%s: %s; spooling to %s", self.host, exc, self.spool.path)
            self._away = time.monotonic()
            self._to_spool(batch, cursor)
            return
        if waiting and self.spool is not None:
            self.spool.clear()
            log.warning(
                "%s: the store is back; %d spooled records written", self.host, len(waiting)
            )
        self.recorded += len(waiting) + len(batch)
        if self.alerter is not None:
            self.alerter.consider(map(self._images.shown, [*waiting, *batch]))
        self._away = None

    def seal_if_due(self, now: bool = False) -> None:
        """Sign a checkpoint of the log's end when it has none and ``SEAL_EVERY`` seconds
        passed since the last (or ``now``)."""
        with self._writing:
            if not self._unsealed or (not now and time.monotonic() - self._sealed < SEAL_EVERY):
                return
            try:
                seal(self.book, self.log_name, self.host, self.signer)
            except StoreError:
                return  # the store is away: sealed with the next write
            self._unsealed, self._sealed = False, time.monotonic()

    def _to_spool(self, batch: list[Record], cursor: int | None) -> None:
        assert self.spool is not None
        if batch:
            self.spool.add(batch, cursor)

    @property
    def away(self) -> bool:
        """Whether records wait in the spool for the store."""
        return self._away is not None


def _identity(item: Record) -> tuple[str, str, str, str]:
    """What tells one event's record from another's: its time (nanoseconds), kind, action
    and object."""
    return item.time, item.kind, item.action, item.object_id


def _caused(request: Record, item: Record) -> bool:
    """Whether the API request (an ``api`` record) is the one behind the event's record."""
    path = str(request.context.get("path", ""))
    if item.action == "exec_start":
        return request.object_id == item.context.get("execID") and path.endswith("/start")
    if item.kind == "container" and item.action == "create":
        return path.endswith("/containers/create") and bool(item.name) and request.name == item.name
    if request.context.get("object_kind") != item.kind or not request.object_id:
        return False
    if item.action == "exec_create" and not path.endswith("/exec"):
        return False
    named = request.object_id
    return named == item.name or (len(named) >= 4 and item.object_id.startswith(named))


def collect(
    client: EngineClient,
    book: AuditBook,
    log_name: str,
    host: str,
    signer: SignerKey,
    *,
    until: int | None = None,
    podman: bool = False,
    spool: Spool | None = None,
    stop: threading.Event | None = None,
    sensitive: Sequence[str] = drift.SENSITIVE,
    alerter: Alerter | None = None,
) -> int:
    """Record the host's events from where its log stopped until ``until`` (nanoseconds
    since the epoch) or for ever; the number recorded."""
    collector = Collector(
        client,
        book,
        log_name,
        host,
        signer,
        podman=podman,
        spool=spool,
        sensitive=sensitive,
        alerter=alerter,
    )
    return collector.run(until, stop)
