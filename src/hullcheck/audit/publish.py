"""Publishing each log's latest signed checkpoint off the host, with a consistency proof
from the one published before, and checking what was published (a witness).

A checkpoint kept only beside the records proves nothing about the newest ones: whoever can
cut records can cut checkpoints. One copied elsewhere — a file on another machine's share, a
webhook — is a commitment the host cannot take back: ``verify`` with it catches a log cut
short. The consistency proof (RFC 9162 §2.1.4) sent with each lets the receiving side check,
holding only the public key and what it was sent, that every new checkpoint extends the one
before it — that the log grew and nothing already published was rewritten — without a
single record.

A publication is one JSON object (a line of the file; the webhook's body)::

    {"log": ORIGIN, "size": N, "checkpoint": NOTE, "consistency": {"from": M, "proof": [HEX]}}

(``consistency`` is absent from a log's first publication to a target). What was published
to each target is remembered (the size and the tree frontier there, in ``audit-published``
in the data directory), so each proof reads only the records appended since.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import orjson

from hullcheck.audit import merkle
from hullcheck.audit.alerts import post_json
from hullcheck.audit.note import Checkpoint, NoteError, VerifierKey, note_text, open_note
from hullcheck.audit.verify import Anchor
from hullcheck.errors import HullcheckError, UsageError
from hullcheck.files import private_file

log = logging.getLogger("hullcheck.audit")

MAX_LINE = 1 << 20
"""Bytes a publication may take when a published file is read back."""


class PublishBook(Protocol):
    """What publishing reads from the store."""

    def checkpoint_at_most(self, host: str, size: int) -> tuple[int, str] | None: ...

    def leaves(self, host: str, start: int, end: int) -> Iterator[bytes]: ...

    def anchor(self, host: str) -> Anchor | None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where checkpoints go: a file (appended to) or a webhook (``http(s)://``)."""

    where: str

    @property
    def webhook(self) -> bool:
        return self.where.startswith(("http://", "https://"))

    @classmethod
    def parse(cls, text: str) -> Target:
        if text.startswith(("http://", "https://")):
            if not urllib.parse.urlsplit(text).hostname:
                raise UsageError(f"--publish {text!r}: not a URL")
            return cls(text)
        path = text.removeprefix("file:")
        directory = os.path.dirname(os.path.abspath(path))
        if not path or not os.path.isdir(directory):
            raise UsageError(f"--publish {text!r}: no directory {directory!r}")
        return cls(os.path.abspath(path))

    def key(self) -> str:
        return hashlib.sha256(self.where.encode()).hexdigest()[:16]

    def shown(self) -> str:
        """The target as a log line may show it: a webhook's URL without what may be a
        secret (user, query)."""
        if not self.webhook:
            return self.where
        parts = urllib.parse.urlsplit(self.where)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def publication(origin: str, size: int, note: str, proof: tuple[int, list[bytes]] | None) -> bytes:
    document: dict[str, Any] = {"log": origin, "size": size, "checkpoint": note}
    if proof is not None:
        document["consistency"] = {"from": proof[0], "proof": [h.hex() for h in proof[1]]}
    return orjson.dumps(document)


class Publisher:
    """Publishes the hosts' newest checkpoints to every target (``publish`` is called by
    one thread at a time: the collector's publishing thread, or ``hullcheck audit
    publish``)."""

    def __init__(self, book: PublishBook, targets: Sequence[Target], directory: str) -> None:
        self.book, self.targets, self.directory = book, list(targets), directory

    def publish(self, host: str, origin: str) -> list[str]:
        """Send the host's newest checkpoint where it was not yet sent; the problems (a
        target unreachable is tried again next time)."""
        newest = self.book.checkpoint_at_most(host, 1 << 62)
        if newest is None:
            return []
        size, note = newest
        problems = []
        for target in self.targets:
            try:
                self._publish(host, origin, target, size, note)
            except (OSError, ValueError, HullcheckError) as exc:
                problems.append(f"{host}: publishing to {target.shown()} failed: {exc}")
        return problems

    def _publish(self, host: str, origin: str, target: Target, size: int, note: str) -> None:
        state = self._state(host, target)
        if state is not None and state.size >= size:
            return
        grown, proof = self._grow(host, state, size)
        if grown.root() != Checkpoint.parse(note_text(note)).root:
            raise ValueError(
                f"the store's records do not hash to its checkpoint of {size}: not published "
                "(run hullcheck audit verify)"
            )
        body = publication(origin, size, note, proof)
        if target.webhook:
            post_json(target.where, body, {}, timeout=10.0, retries=2)
        else:
            _append_line(target.where, body)
        self._save(host, target, grown)

    def _grow(
        self, host: str, state: merkle.Frontier | None, size: int
    ) -> tuple[merkle.Frontier, tuple[int, list[bytes]] | None]:
        """The tree at ``size`` and the proof from ``state`` (``None`` the first time)."""
        anchor = self.book.anchor(host)
        kept = 0 if anchor is None else anchor.frontier.size
        if state is not None and state.size > 0 and state.size >= kept:
            leaves = self.book.leaves(host, state.size, size)
            grown, proof = merkle.extend_with_proof(state, leaves, size)
            return grown, (state.size, proof)
        # first publication (or the records since the last were removed by retention)
        start = merkle.Frontier() if anchor is None else anchor.frontier
        grown = merkle.Frontier(start.size, start.hashes)
        for leaf in self.book.leaves(host, start.size, size):
            grown.append(leaf)
        return grown, None

    def _path(self, host: str, target: Target) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in host)
        return os.path.join(self.directory, f"{safe}.{target.key()}.json")

    def _state(self, host: str, target: Target) -> merkle.Frontier | None:
        try:
            with open(self._path(host, target), "rb") as handle:
                saved = orjson.loads(handle.read(1 << 16))
            hashes = [bytes.fromhex(h) for h in saved["frontier"]]
            return merkle.Frontier(int(saved["size"]), hashes)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            log.warning(
                "%s: what was published to %s is unreadable: starting over", host, target.shown()
            )
            return None

    def _save(self, host: str, target: Target, grown: merkle.Frontier) -> None:
        path = self._path(host, target)
        private_file(path)  # (0600, in a private directory; never through a link)
        hashes = [h.hex() for h in grown.hashes]
        saved = {"target": target.shown(), "size": grown.size, "frontier": hashes}
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(saved))


def _append_line(path: str, body: bytes) -> None:
    """Append one line to the file at ``path`` (made 0600; never through a link, never to
    anything but a regular file), synced before returning."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a regular file")
        os.write(fd, body + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the witness ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Witnessed:
    origin: str
    checkpoints: int
    size: int
    """The largest checkpoint published."""
    problem: str | None = None


def witness(lines: Iterable[tuple[int, bytes]], key: VerifierKey, name: str) -> list[Witnessed]:
    """Check publications (each with its line number) as a third party holding only the
    public key: each checkpoint signed by ``key``, each log's checkpoints never shrinking
    and each proven to extend the one before. Per log, what was found or its first
    problem."""
    logs: dict[str, tuple[int, bytes, int]] = {}  # origin -> (size, root, checkpoints)
    failed: dict[str, str] = {}  # origin -> its first problem
    for number, line in lines:
        where = f"{name}: line {number}"
        try:
            document = orjson.loads(line) if len(line) <= MAX_LINE else None
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("checkpoint"), str):
            raise UsageError(f"{where} is not a published checkpoint")
        try:
            checkpoint = Checkpoint.parse(open_note(document["checkpoint"], key))
        except NoteError as exc:
            failed.setdefault(str(document.get("log")), f"{where}: {exc}")
            continue
        origin = checkpoint.origin
        if origin in failed:
            continue
        before = logs.get(origin)
        count = 1 if before is None else before[2] + 1
        problem = None if before is None else _step(before[0], before[1], checkpoint, document)
        if problem is not None:
            failed[origin] = f"{where}: {problem}"
            continue
        logs[origin] = (checkpoint.size, checkpoint.root, count)
    found = []
    for origin in sorted({*logs, *failed}):
        size, _, count = logs.get(origin, (0, b"", 0))
        found.append(Witnessed(origin, count, size, failed.get(origin)))
    return found


def _step(size: int, root: bytes, checkpoint: Checkpoint, document: dict[str, Any]) -> str | None:
    """Whether ``checkpoint`` provably extends the log's last one (``size``, ``root``)."""
    if checkpoint.size < size:
        return f"the log shrank from {size} to {checkpoint.size} records"
    if checkpoint.size == size:
        return None if checkpoint.root == root else f"two different logs of {size} records"
    consistency = document.get("consistency")
    if not isinstance(consistency, dict) or consistency.get("from") != size:
        return f"no proof that the log of {checkpoint.size} records extends the one of {size}"
    try:
        proof = [bytes.fromhex(str(h)) for h in consistency.get("proof") or []]
    except ValueError:
        return "a proof that is not hexadecimal"
    if not merkle.verify_consistency(size, checkpoint.size, proof, root, checkpoint.root):
        return (
            f"the log of {checkpoint.size} records does not extend the one of {size} "
            "published before: records already published were changed"
        )
    return None
