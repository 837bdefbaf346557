"""The audit trail through the one door: the log's key, appending, verifying, exporting.

The signing key is an Ed25519 key in Go's signed-note form, kept 0600 in hullcheck's data
directory (``audit.key``; ``HULLCHECK_AUDIT_KEY`` names another file) and made on first use;
its public half (``hullcheck audit key``) is what a verifier needs. An export is JSON lines:
a header naming the log and its key, one line per record with its leaf hash, then the signed
checkpoints — everything a third party needs besides the public key and a checkpoint
published off the host.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from hullcheck.api.signing import signature_verdict
from hullcheck.audit import authz, drift, log, merkle
from hullcheck.audit import rules as rules_module
from hullcheck.audit.alerts import Alerter
from hullcheck.audit.collector import SEAL_EVERY, collect
from hullcheck.audit.note import Checkpoint, NoteError, SignerKey, VerifierKey, note_text
from hullcheck.audit.publish import Publisher, Witnessed, witness
from hullcheck.audit.publish import Target as Target  # (for the CLI: parsing --publish)
from hullcheck.audit.records import Record, canonical, nanos_time, now
from hullcheck.audit.rules import Findings, Rule, Rules
from hullcheck.audit.spool import Spool
from hullcheck.audit.verify import Anchor, Problem, Verdict, read_checkpoints, verify
from hullcheck.engine import connect_host
from hullcheck.engine.client import EngineClient
from hullcheck.errors import (
    EngineError,
    HullcheckError,
    NotFoundError,
    SourceError,
    StoreError,
    UsageError,
)
from hullcheck.files import private_file
from hullcheck.model import Host, ImageInfo
from hullcheck.paths import data_dir
from hullcheck.policy import policyfile
from hullcheck.policy.admission import Admission
from hullcheck.policy.image_rules import ImageFacts
from hullcheck.store import Store

LOG_NAME = "hullcheck.audit"
"""The key's name and the prefix of every host log's origin (``hullcheck.audit/HOST``)."""
MAX_EXPORT_LINE = 1 << 20
MAX_NOTE = 1 << 16
"""Bytes a checkpoint note given to ``verify`` may take."""
MAX_IMAGES_KEPT = 4096
"""Image names whose ID and digests the plugin keeps (all forgotten when there are more)."""
PUBLISH_EVERY = 60.0
"""Seconds between publications of each log's newest checkpoint (``watch --publish``)."""
logger = logging.getLogger("hullcheck.audit")


def key_path() -> str:
    return os.environ.get("HULLCHECK_AUDIT_KEY") or os.path.join(data_dir(), "audit.key")


def signing_key() -> SignerKey:
    """The log's signing key, made (0600) on first use."""
    path = key_path()
    if private_file(path):
        key = SignerKey.generate(LOG_NAME)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{key}\n")
        return key
    try:
        with open(path, encoding="utf-8") as handle:
            return SignerKey.parse(handle.read(4096))
    except (OSError, NoteError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not an audit signing key ({exc})") from None


def verifier_key(path: str | None = None) -> VerifierKey:
    """The public key in ``path`` (as ``hullcheck audit key`` prints it), or this machine's
    (never made here: verifying with a new key would prove nothing)."""
    if path is None:
        if not os.path.exists(key_path()):
            raise UsageError(
                f"{key_path()}: no audit key on this machine",
                hint="give the log's public key with --key (hullcheck audit key prints it)",
            )
        return signing_key().verifier()
    try:
        with open(path, encoding="utf-8") as handle:
            return VerifierKey.parse(handle.read(4096))
    except (OSError, NoteError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not an audit verifier key ({exc})") from None


def record_events(store: Store, host: str, records: Iterable[Record]) -> int:
    """Append records to the host's log; its new size."""
    return log.record(store.audit, LOG_NAME, host, records, signing_key())


def watch(
    store: Store,
    names: Sequence[str] = (),
    *,
    until: int | None = None,
    stop: threading.Event | None = None,
    rules: Rules | None = None,
    sensitive: Sequence[str] = drift.SENSITIVE,
    publish_to: Sequence[Target] = (),
    publish_every: float = PUBLISH_EVERY,
) -> dict[str, int | str]:
    """Each named host's events (every host's by default) into its log, from where the log
    stopped until ``until`` (nanoseconds since the epoch), or for ever (until ``stop`` is
    set); per host the number recorded, or the error that stopped it (the other hosts go
    on). Records the store cannot take wait in the spool (``audit-spool`` in the data
    directory). Each log's newest checkpoint is published to ``publish_to`` every
    ``publish_every`` seconds and when the collector stops."""
    signer = signing_key()
    hosts = store.hosts.named(names)
    spools = os.path.join(data_dir(), "audit-spool")
    alerter = None if rules is None else Alerter(rules, findings_of(store))
    stop = stop or threading.Event()
    collected = threading.Event()  # (set once every collector stopped and sealed its log)
    publishing = None
    if publish_to:
        every = publish_every
        publishing = threading.Thread(
            target=_publish_until, args=(store, publish_to, hosts, collected, every), daemon=True
        )
        publishing.start()

    def one(host: Host) -> int | str:
        try:
            client = connect_host(host)
            try:
                podman = client.is_podman()
                return collect(
                    client,
                    store.audit,
                    LOG_NAME,
                    host.name,
                    signer,
                    until=until,
                    podman=podman,
                    spool=Spool(spools, host.name),
                    stop=stop,
                    sensitive=sensitive,
                    alerter=alerter,
                )
            finally:
                client.close()
        except HullcheckError as exc:
            return str(exc)

    pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(hosts))))
    try:
        return dict(zip([h.name for h in hosts], pool.map(one, hosts), strict=True))
    finally:
        stop.set()  # (interrupted: every collector stops, writes what it took and seals)
        pool.shutdown(wait=True)
        if alerter is not None:
            alerter.close()
        if publishing is not None:
            collected.set()
            publishing.join()


def _publish_until(
    store: Store,
    targets: Sequence[Target],
    hosts: Sequence[Host],
    collected: threading.Event,
    every: float,
) -> None:
    """Publish every ``every`` seconds, and once more when ``collected`` is set."""
    while True:
        stopping = collected.wait(every)
        for problem in publish(store, targets, [h.name for h in hosts]):
            logger.warning("%s", problem)
        if stopping:
            return


def publish(store: Store, targets: Sequence[Target], hosts: Sequence[str] = ()) -> list[str]:
    """Publish each host's newest signed checkpoint (every host with a log by default) to
    every target, with the proof that it extends what was published there before; the
    problems (a target that failed is tried again next time)."""
    key = signing_key().verifier()
    publisher = Publisher(store.audit, targets, os.path.join(data_dir(), "audit-published"))
    problems = []
    for host in hosts or store.audit.hosts():
        try:
            problems += publisher.publish(host, log.origin(key.name, host))
        except StoreError as exc:
            problems.append(f"{host}: {exc}")
    return problems


def witness_file(path: str, key: VerifierKey) -> list[Witnessed]:
    """Check a file of published checkpoints (``hullcheck audit watch --publish FILE``)
    with only the public key: each log's checkpoints signed, never shrinking, and each
    proven to extend the one before."""
    try:
        with open(path, "rb") as handle:  # (read a line at a time: it grows for years)
            lines = ((n, line) for n, line in enumerate(handle, start=1) if line.strip())
            return witness(lines, key, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None


@dataclass
class Published:
    """Checkpoints published off the host, given to ``verify``: notes and publication files
    (each log's own are used; a note that names no log is given to each, which refuses it)."""

    notes: list[str] = field(default_factory=list)
    by_log: dict[str, list[str]] = field(default_factory=dict)

    def read(self, path: str) -> None:
        """A note (``--checkpoint NOTE``) or a file of publications (``--publish FILE``:
        each log's last, the largest, is what vouches for the most; ``witness`` checks the
        others)."""
        try:
            with open(path, "rb") as handle:
                first = handle.read(1)
                if first != b"{":
                    data = first + handle.read(MAX_NOTE)
                    try:
                        self.notes.append(data.decode())
                    except UnicodeDecodeError:
                        raise UsageError(f"{path}: not a checkpoint") from None
                    return
                handle.seek(0)
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        item = _line(line, path, number)
                        note, origin = item.get("checkpoint"), item.get("log")
                        if not isinstance(note, str) or not isinstance(origin, str):
                            raise UsageError(f"{path}: line {number} is not a publication")
                        self._keep(origin, note)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the checkpoint ({exc.strerror})") from None

    def _keep(self, origin: str, note: str) -> None:
        """Of a log's publications, the last and the largest it claims (a line appended by
        someone else would otherwise decide which one vouches)."""
        kept = self.by_log.get(origin, [])  # [the largest so far, the last]
        largest = max([*kept[:1], note], key=_claimed_size)
        self.by_log[origin] = [note] if largest is note else [largest, note]

    def of(self, origin: str) -> list[str]:
        mine = [note for note in self.notes if _claimed_origin(note) in (origin, None)]
        return [*mine, *self.by_log.get(origin, [])]

    def strays(self, origins: Iterable[str]) -> list[str]:
        """The logs named by notes given for none of ``origins`` (a note meant for a log
        not verified would otherwise be ignored in silence)."""
        named = {_claimed_origin(note) for note in self.notes} - {None, *origins}
        return sorted(origin for origin in named if origin is not None)


def _claimed_origin(note: str) -> str | None:
    found = _claimed(note)
    return None if found is None else found.origin


def _claimed_size(note: str) -> int:
    found = _claimed(note)
    return -1 if found is None else found.size


def _claimed(note: str) -> Checkpoint | None:
    """The checkpoint a note claims, its signatures not checked (``None``: not one)."""
    try:
        return Checkpoint.parse(note_text(note))
    except NoteError:
        return None


def _published(published: Published | Sequence[str]) -> Published:
    return published if isinstance(published, Published) else Published(list(published))


def authz_plugin(
    store: Store,
    socket_name: str,
    host: str,
    directory: str = authz.PLUGINS_DIR,
    *,
    policy: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> authz.Plugin:
    """The authorization plugin recording every API request to ``host``'s engine into
    that host's log (started by the caller: ``serve_forever`` or ``start``). With a
    ``policy``, container creates the policy fails are denied (``labels``: the engine's, for
    the policy's scopes) and each decision is in the request's record."""
    writer = _RequestWriter(store, host, signing_key())
    if policy is None:
        return authz.Plugin(
            socket_name,
            host,
            writer.write,
            directory,
            on_close=writer.close,
            answered=writer.tend_if_due,
        )
    chosen = policyfile.load(policy)
    gate = _image_gate(store, host, chosen)
    admission = Admission(chosen, labels, gate.facts if gate is not None else None)

    def decide(request: authz.Request) -> authz.Verdict | None:
        decision = admission.decide(request.method, request.path, request.body, request.name)
        return None if decision is None else (decision.allowed, decision.message, decision.rules)

    return authz.Plugin(
        socket_name,
        host,
        writer.write,
        directory,
        decide=decide,
        fail_closed=chosen.fail_closed,
        on_close=writer.close if gate is None else _both(writer.close, gate.close),
        images_changed=gate.forget if gate is not None else None,
        answered=writer.tend_if_due,
    )


def _both(first: Callable[[], None], then: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        try:
            first()
        finally:
            then()

    return both


WAL_EVERY = 0.25
"""Seconds between the plugin's copies of SQLite's write-ahead log into the database, when
it wrote since."""


class _RequestWriter:
    """The plugin's records, each written before its request is answered and nothing more
    on that path: right after a request is answered (or by a thread of its own when the
    engine is quiet), SQLite's write-ahead log is copied into the database every
    ``WAL_EVERY`` seconds when records came (two fsyncs that SQLite would otherwise make
    inside whichever request crossed its threshold) and the log's end sealed with a
    checkpoint every ``SEAL_EVERY`` seconds; closing does both once more."""

    def __init__(self, store: Store, host: str, signer: SignerKey) -> None:
        self.store, self.host, self.signer = store, host, signer
        self._writing = threading.Lock()  # one writer of this process at a time: handlers
        # run in threads of their own, and the log's appends retry a few conflicts only
        self._unsealed = self._unsaved = False
        self._sealed: float | None = None
        self._saved = time.monotonic()
        store.audit.defer_wal_checkpoints()
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="authz-keeper", daemon=True)
        self._keeper.start()

    def write(self, item: Record) -> None:
        with self._writing:
            first = self._sealed is None  # (sealed at once: a log no checkpoint vouches for
            # does not verify)
            log.record(self.store.audit, LOG_NAME, self.host, [item], self.signer, seal=first)
            self._unsealed, self._unsaved = not first, True
            if first:
                self._sealed = time.monotonic()

    def _keep(self) -> None:
        while not self._stop.wait(WAL_EVERY):
            self.tend_if_due()

    def tend_if_due(self) -> None:
        """Copy the write-ahead log if ``WAL_EVERY`` passed since the last copy, and seal if
        ``SEAL_EVERY`` passed since the last seal — called by the plugin right after it
        answered a request (the next is then least likely to wait for it), and by the
        keeper thread for an engine gone quiet."""
        now = time.monotonic()
        if now - self._saved < WAL_EVERY:
            return
        self._saved = now
        sealed = self._sealed
        self._tend(seal=sealed is not None and now - sealed >= SEAL_EVERY)

    def _tend(self, seal: bool) -> None:
        # (the writers wait meanwhile: a checkpoint that writes keep overtaking never lets
        # the write-ahead log start again from its beginning, and it grows)
        with self._writing:
            try:
                if seal and self._unsealed:
                    log.seal(self.store.audit, LOG_NAME, self.host, self.signer)
                    self._unsealed, self._sealed = False, time.monotonic()
                if self._unsaved:
                    self.store.audit.checkpoint_wal()
                    self._unsaved = False
            except HullcheckError as exc:  # (the store away: tried again next time)
                logger.warning("authz: the log's end could not be sealed or saved: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self._keeper.join()
        self._tend(seal=True)


def _image_gate(store: Store, host: str, policy: policyfile.Policy) -> ImageGate | None:
    """The image rules at the engine need the engine's image (its ID, its registry
    digests): the plugin's host must be a configured one for signatures; vulnerabilities
    are judged where it is (from the store's findings), and left out with a warning where
    it is not."""
    if not policy.signing_keys and policy.vuln_fail_on is None:
        return None
    try:
        store.hosts.named([host])
    except NotFoundError:
        if policy.signing_keys:
            raise UsageError(
                f"{host}: not a configured host; the policy requires signatures, which the "
                "plugin checks on the image the engine holds",
                hint=f"hullcheck hosts add {host} ADDRESS",
            ) from None
        logger.warning(
            "%s: not a configured host: image vulnerabilities are not judged at the engine",
            host,
        )
        return None
    return ImageGate(store, host, policy)


class ImageGate:
    """What the image rules need at the engine, per image: its signature verdict (asked of
    its registry once per image ID and registry digests, then kept) and its last scan's
    findings (``findings_of``). The image is looked up in the engine of the configured host
    ``host`` — the plugin's own request goes through the plugin like any other and is
    recorded — and what a name stands for (ID, registry digests) is kept until a request
    that may change images (a pull, tag, load, build, removal, …: every one passes the
    plugin) is asked or answered: a create of a known image costs no request to the engine.
    """

    def __init__(self, store: Store, host: str, policy: policyfile.Policy) -> None:
        self.store = store
        self.host = host
        self.policy = policy
        self.counts = findings_of(store)
        self._verdicts: dict[tuple[str, tuple[str, ...], str], tuple[bool, str]] = {}
        self._lock = threading.Lock()
        self._client: EngineClient | None = None
        self._images: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._generation = 0

    def _engine(self) -> EngineClient:
        with self._lock:
            if self._client is None:
                (target,) = self.store.hosts.named([self.host])
                self._client = connect_host(target)
            return self._client

    def forget(self) -> None:
        """Images may have changed: what names stood for is asked of the engine again
        (an inspect under way when this is called is not kept either)."""
        with self._lock:
            self._images.clear()
            self._generation += 1

    def _image(self, image: str) -> tuple[str, tuple[str, ...]] | None:
        """The image's ID and registry digests (``None``: the engine has no such image)."""
        with self._lock:
            known, generation = self._images.get(image), self._generation
        if known is not None:
            return known
        try:
            document = self._engine().inspect_image(image)
        except EngineError:
            raise
        except SourceError:
            return None  # not pulled yet: the create fails, docker pulls and asks again
        digests = tuple(sorted(str(d) for d in document.get("RepoDigests") or []))
        found = (str(document.get("Id") or ""), digests)
        with self._lock:
            if self._generation == generation:
                if len(self._images) >= MAX_IMAGES_KEPT:
                    self._images.clear()
                self._images[image] = found
        return found

    def facts(self, image: str) -> ImageFacts | None:
        found = self._image(image)
        if found is None:
            return None
        image_id, digests = found
        signed = None
        if self.policy.signing_keys:
            key = (image_id, digests, image)
            with self._lock:
                signed = self._verdicts.get(key)
            if signed is None:
                signed = signature_verdict(digests, self.policy.signing_keys, image)
                with self._lock:
                    self._verdicts[key] = signed
        return ImageFacts(
            image,
            ImageInfo(id=image_id, layers=()),
            {},
            vuln_threshold=self.policy.vuln_fail_on,
            signed=signed,
            finding_counts=self.counts(image_id),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def findings_of(store: Store, every: float = 60.0) -> Findings:
    """An image's stored findings by severity, read again at most every ``every`` seconds."""
    held: dict[str, dict[str, int]] = {}
    read = [-every]
    lock = threading.Lock()

    def counts(image: str) -> dict[str, int]:
        with lock:
            if time.monotonic() - read[0] >= every:
                held.clear()
                held.update(store.findings.counts())
                read[0] = time.monotonic()
            return held.get(image, {})

    return counts


def load_rules(path: str) -> Rules:
    return rules_module.load(path)


def test_rules(
    store: Store, rules: Rules, hosts: Sequence[str] = (), since: str | None = None
) -> list[tuple[Rule, Record]]:
    """What the rules match in the stored log (a dry run: nothing is sent)."""
    found = store.audit.search(hosts=hosts, since=since)
    images = rules_module.ContainerImages()
    shown = [images.shown(item) for item in found]
    return rules_module.check(rules, shown, findings_of(store))


def verify_log(
    store: Store, host: str, key: VerifierKey, published: Published | Sequence[str] = ()
) -> Verdict:
    """The host's log in the store against its checkpoints and any published ones."""
    origin = log.origin(key.name, host)
    notes = [*store.audit.checkpoints(host), *_published(published).of(origin)]
    checkpoints, problem = read_checkpoints(notes, origin)
    if problem is not None:
        return Verdict(0, 0, 0, problem)
    try:
        anchor = store.audit.anchor(host)
    except ValueError as exc:  # a frontier whose hashes do not fit its size
        return Verdict(0, 0, 0, Problem(None, f"the retention anchor is damaged ({exc})"))
    return verify(store.audit.entries(host), checkpoints, key, anchor)


def verify_logs(
    store: Store, hosts: Sequence[str], key: VerifierKey, published: Published
) -> dict[str, Verdict]:
    """Each host's log (every log when none is named), by host; a published checkpoint
    given for a log not verified here is refused rather than ignored."""
    names = list(hosts) or store.audit.hosts()
    _no_strays(published, [log.origin(key.name, host) for host in names])
    return {host: verify_log(store, host, key, published) for host in names}


def _no_strays(published: Published, origins: Iterable[str]) -> None:
    strays = published.strays(origins)
    if strays:
        raise UsageError(
            f"--checkpoint: a checkpoint of log {strays[0]!r}, not of one verified here"
        )


@dataclass(frozen=True, slots=True)
class Retained:
    host: str
    removed: int
    """Records removed now."""
    kept_from: int
    """The log's first record kept (0: nothing was ever removed)."""
    error: str | None = None


def retain(
    store: Store, older_than: float, hosts: Sequence[str] = (), actor: str | None = None
) -> list[Retained]:
    """Remove each log's records older than ``older_than`` seconds, keeping in their place
    the signed checkpoint and the tree frontier that the records kept still verify against.

    A log is cut only at one of its signed checkpoints, never after what its collector
    last reconciled, and only once it verifies (removing records of a log that does not
    would destroy the evidence). The removal is itself a record of the log."""
    signer = signing_key()
    key = signer.verifier()
    cutoff = nanos_time(time.time_ns() - int(older_than * 1e9))
    results = []
    for host in hosts or store.audit.hosts():
        anchor = store.audit.anchor(host)
        start = 0 if anchor is None else anchor.frontier.size
        verdict = verify_log(store, host, key)
        if verdict.problem is not None:
            error = f"the log does not verify ({verdict.problem.message}): nothing removed"
            results.append(Retained(host, 0, start, error))
            continue
        limit = store.audit.first_at(host, cutoff)
        if limit is None:
            limit = verdict.records
        reconciled = store.audit.state(host)
        if reconciled is not None:
            limit = min(limit, reconciled[0])
        found = store.audit.checkpoint_at_most(host, limit)
        if found is None or found[0] <= start:
            results.append(Retained(host, 0, start))
            continue
        size = found[0]
        removed = store.audit.retain(host, _cut(store, host, anchor, *found))
        context = {"removed": removed, "kept_from": size, "older_than": cutoff}
        item = Record(-1, now(), host, "hullcheck", "audit-retain", host, None, actor, context)
        log.record(store.audit, LOG_NAME, host, [item], signer)
        results.append(Retained(host, removed, size))
    return results


def _cut(store: Store, host: str, anchor: Anchor | None, size: int, note: str) -> Anchor:
    """An anchor at the host's signed checkpoint of ``size`` records: its note and the
    frontier of the tree of those records, grown from the log's own ``anchor`` (where
    retention cut it before) with the stored leaf hashes since."""
    frontier = merkle.Frontier() if anchor is None else anchor.frontier
    for leaf in store.audit.leaves(host, frontier.size, size):
        frontier.append(leaf)
    return Anchor(frontier, note)


def export(store: Store, host: str, since: str | None = None) -> Iterator[bytes]:
    """The host's log as JSON lines: a header, the anchor where the export starts after
    the log's first record, each record with its leaf hash, then the signed checkpoints.

    ``since`` (a record time): only the records from the last signed checkpoint before the
    first record at or after that time — the export starts at that checkpoint, with the
    frontier of the tree before it as its anchor, so that it verifies on its own."""
    key = signing_key().verifier()
    yield orjson.dumps({"log": log.origin(key.name, host), "key": str(key)}) + b"\n"
    anchor = store.audit.anchor(host)
    start = 0 if anchor is None else anchor.frontier.size
    if since is not None:
        first = store.audit.first_at(host, since)
        found = store.audit.checkpoint_at_most(
            host, store.audit.head(host).size if first is None else first
        )
        if found is not None and found[0] > start:
            anchor, start = _cut(store, host, anchor, *found), found[0]
    if anchor is not None:
        hashes = [h.hex() for h in anchor.frontier.hashes]
        kept = {"size": anchor.frontier.size, "frontier": hashes, "checkpoint": anchor.note}
        yield orjson.dumps({"anchor": kept}) + b"\n"
    for record, leaf in store.audit.records(host, start):
        yield export_line(record, leaf)
    for note in store.audit.checkpoints(host):
        if not 0 <= _claimed_size(note) < start:  # one that does not parse: verify says so
            yield orjson.dumps({"checkpoint": note}) + b"\n"


_LEAF, _RECORD = b'{"leaf":"', b'","record":'
_AT = len(_LEAF) + 64 + len(_RECORD)
"""Where a record's canonical bytes start in its line of an export."""


def export_line(record: Record, leaf: bytes) -> bytes:
    """One record's line of an export: its leaf hash, then the record in its canonical form
    — the very bytes its leaf hashes, so that a verifier can hash them as they are."""
    return _LEAF + leaf.hex().encode() + _RECORD + record.leaf() + b"}\n"


@dataclass
class _Section:
    """One log's part of an export: from its header line to the next header or the end."""

    origin: str
    line: int
    """The header's line number."""
    begin: int
    """Where the line after the header starts."""
    end: int = -1
    """Where the next log's header starts (-1: at the end of the file)."""
    notes: list[str] = field(default_factory=list)
    anchor: Anchor | None = None


def verify_export(
    path: str, key: VerifierKey, published: Published | Sequence[str] = ()
) -> dict[str, Verdict]:
    """Each log of an export read from ``path`` (one or several, as ``audit export`` of
    every host writes), against ``key`` — not the key the export names — by its origin."""
    published = _published(published)
    sections = _sections(path)
    _no_strays(published, [section.origin for section in sections])
    verdicts = {}
    for section in sections:
        origin = section.origin
        if not origin.startswith(f"{key.name}/"):
            alien = Problem(None, f"the export is of log {origin[:80]!r}, not one of {key.name!r}")
            verdicts[origin] = Verdict(0, 0, 0, alien)
            continue
        checkpoints, problem = read_checkpoints([*published.of(origin), *section.notes], origin)
        if problem is not None:
            verdicts[origin] = Verdict(0, 0, 0, problem)
            continue
        anchor = section.anchor
        start = 0 if anchor is None else anchor.frontier.size
        verdict = verify(_as_written(path, section, start), checkpoints, key, anchor)
        if not verdict.intact:
            # the problem named: each record parsed, its sequence number and hash compared
            verdict = verify(_exported(path, section), checkpoints, key, anchor)
        verdicts[origin] = verdict
    return verdicts


def _sections(path: str) -> list[_Section]:
    """The logs of an export, each with its checkpoints and anchor, read once."""
    sections: list[_Section] = []
    try:
        with open(path, "rb") as handle:
            number, offset = 0, 0
            for number, line in enumerate(handle, start=1):
                offset += len(line)
                if number == 1 or line.startswith(b'{"log"'):
                    origin = _line(line, path, number).get("log")
                    if not isinstance(origin, str):
                        raise UsageError(f"{path}: line {number} is not an audit export header")
                    if any(section.origin == origin for section in sections):
                        # (a second copy could stand in for a doctored first one)
                        raise UsageError(f"{path}: line {number}: log {origin[:80]!r} again")
                    if sections:
                        sections[-1].end = offset - len(line)
                    sections.append(_Section(origin, number, offset))
                elif line.startswith(b'{"leaf"'):
                    continue
                elif line.startswith(b'{"checkpoint"'):
                    note = _line(line, path, number).get("checkpoint")
                    sections[-1].notes.append(note if isinstance(note, str) else "")
                elif line.startswith(b'{"anchor"'):
                    value = _line(line, path, number).get("anchor")
                    sections[-1].anchor = _anchor(value, path, number)
            if number == 0:
                raise UsageError(f"{path}: empty, not an audit export")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    return sections


def _lines(path: str, section: _Section) -> Iterator[bytes]:
    """The lines of one log's section of an export."""
    with open(path, "rb") as handle:
        handle.seek(section.begin)
        offset = section.begin
        for line in handle:
            if 0 <= section.end <= offset:
                return
            offset += len(line)
            yield line


def _as_written(path: str, section: _Section, start: int) -> Iterator[tuple[int, bytes, None]]:
    """Each record's bytes as the export holds them, numbered in order from ``start``.

    Hashing them as they are proves the export intact when every checkpoint's root
    matches: the roots were made over the records' canonical bytes, so matching roots mean
    these are those bytes (SHA-256 does not collide), records, order and numbers included.
    When anything does not match, :func:`_exported` reads the export again, parsing each
    record, to name what does not — a third of the time otherwise spent on every record."""
    position = start
    for line in _lines(path, section):
        if line.startswith(_LEAF):
            yield position, line[_AT:].rstrip(b"\r\n")[:-1], None
            position += 1


def _anchor(value: object, path: str, number: int) -> Anchor:
    """An export's retention anchor (``{"size", "frontier": [hex], "checkpoint"}``)."""
    found = value if isinstance(value, dict) else {}
    size, hashes, note = found.get("size"), found.get("frontier"), found.get("checkpoint")
    if isinstance(size, int) and isinstance(note, str) and isinstance(hashes, list):
        try:
            return Anchor(merkle.Frontier(size, [bytes.fromhex(str(h)) for h in hashes]), note)
        except ValueError:
            pass
    raise UsageError(f"{path}: line {number} is not a retention anchor")


def _exported(path: str, section: _Section) -> Iterator[tuple[int, bytes, bytes | None]]:
    for number, line in enumerate(_lines(path, section), start=section.line + 1):
        if not line.startswith(b'{"leaf"'):
            continue
        item = _line(line, path, number)
        record = item.get("record")
        seq = record.get("seq") if isinstance(record, dict) else None
        if not isinstance(seq, int):
            raise UsageError(f"{path}: line {number} is not an audit record")
        try:
            stored = bytes.fromhex(str(item.get("leaf")))
        except ValueError:
            stored = None
        yield seq, canonical(record), stored  # type: ignore[arg-type]


def _line(line: bytes, path: str, number: int) -> dict[str, object]:
    if len(line) > MAX_EXPORT_LINE:
        raise UsageError(f"{path}: line {number} is too long")
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise UsageError(f"{path}: line {number} is not JSON") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: line {number} is not a JSON object")
    return value
