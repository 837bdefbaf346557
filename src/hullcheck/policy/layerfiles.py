"""What an image's layers hold that a review cares about: credentials left in files (named
by path and layer — the value is never read further than needed to recognise it, never
kept), setuid and setgid files, world-writable files and directories.

One streaming pass per layer (the walker's: metered, digest-checked, hostile names refused),
its notes kept in the store's layer cache under their own key, so a second review reads no
layer. A credential stays in the layer that added it even when a later layer deletes it: it
is reported with both layers. Setuid and world-writable files a later layer deletes are not
reported (they are not in the running filesystem).
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hullcheck.model import ImageInfo, LayerInfo
from hullcheck.sbom.tarstream import Entry, TarStream
from hullcheck.sbom.walker import Limits, normalize, walk_entries
from hullcheck.sources.interface import ImageSource

KEY = "policy-layer-files/1"
"""The layer cache key of these notes; bump when what is noted changes."""
READ_AT_MOST = 64 * 1024
"""Bytes of a candidate credential file read to recognise it."""


@dataclass(frozen=True, slots=True)
class Credential:
    pattern: re.Pattern[str]
    """Matched against the file's path."""
    what: str
    """What it is, as reported."""
    content: re.Pattern[bytes] | None = None
    """What the file must hold to count (``None``: its name is enough)."""


CREDENTIALS: tuple[Credential, ...] = (
    Credential(
        re.compile(r"(^|/)\.npmrc$"), "an npm token", re.compile(rb"_auth(Token)?\s*=\s*\S")
    ),
    Credential(
        re.compile(r"(^|/)\.pypirc$"), "a PyPI password or token", re.compile(rb"password\s*[=:]")
    ),
    Credential(
        re.compile(r"(^|/)\.git-credentials$"),
        "git credentials",
        re.compile(rb"://[^/\s:@]+:[^/\s@]+@"),
    ),
    Credential(re.compile(r"(^|/)\.netrc$"), "a .netrc password", re.compile(rb"\bpassword\s+\S")),
    Credential(
        re.compile(r"(^|/)\.aws/credentials$"),
        "AWS credentials",
        re.compile(rb"aws_secret_access_key\s*="),
    ),
    Credential(
        re.compile(r"(^|/)\.docker/config\.json$"),
        "registry credentials",
        re.compile(rb'"auth"\s*:\s*"[^"]+'),
    ),
    Credential(
        re.compile(r"(^|/)(\.ssh/id_[a-z0-9]+|[^/]+\.(pem|key))$"),
        "a private key",
        re.compile(rb"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"),
    ),
)


@dataclass(frozen=True, slots=True)
class FileNote:
    kind: str
    """``credential``, ``setuid``, ``world-writable``."""
    path: str
    layer: int
    """Index of the layer that added it."""
    detail: str
    """What credential, or the file's mode (``4755``)."""
    removed_in: int | None = None
    """The later layer that deletes it (credentials only: still in the earlier layer)."""


class LayerCache(Protocol):
    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None: ...

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None: ...


class AlongTheScan:
    """The notes read along with the SBOM's pass over the layers (``scan_image``'s extra):
    layers the scan reads are not read again here."""

    key = KEY

    def __init__(self) -> None:
        self.read: dict[str, bytes] = {}
        self._reading: dict[str, _Layer] = {}

    def reader(self, layer: LayerInfo, what: str) -> Callable[[TarStream, Entry], None]:
        found = self._reading[layer.diff_id] = _Layer(what)
        return found.visit

    def payload(self, layer: LayerInfo) -> bytes:
        data = json.dumps(self._reading.pop(layer.diff_id).document()).encode()
        self.read[layer.diff_id] = data
        return data


def layer_files(
    source: ImageSource,
    info: ImageInfo,
    cache: LayerCache | None = None,
    limits: Limits | None = None,
    along: AlongTheScan | None = None,
) -> list[FileNote]:
    """The notes of every layer of the image, deletions by later layers applied; layers
    ``along`` read with the scan, or the cache holds, are not read again."""
    per_layer = []
    for layer in info.layers:
        payload = along.read.get(layer.diff_id) if along is not None else None
        if payload is None and cache is not None:
            payload = cache.get_layer(layer.diff_id, KEY)
        if payload is None:
            what = f"{source.reference}: layer {layer.index} ({layer.diff_id[:19]})"
            with source.open_layer(layer) as raw:
                found = _Layer(what)
                walk_entries(
                    raw,
                    what,
                    found.visit,
                    diff_id=layer.diff_id,
                    compressed_size=layer.size,
                    limits=limits or Limits(),
                )
            payload = json.dumps(found.document()).encode()
            if cache is not None:
                cache.put_layer(layer.diff_id, KEY, payload)
        per_layer.append(json.loads(payload))
    return _applied(per_layer)


class _Layer:
    def __init__(self, what: str) -> None:
        self.what = what
        self.notes: list[list[str]] = []
        self.removed: list[str] = []
        """Whited-out paths and opaque directories (``dir/``)."""

    def visit(self, tar: TarStream, member: Entry) -> None:
        path = normalize(member.name, self.what)
        parent, _, base = path.rpartition("/")
        if base == ".wh..wh..opq":
            self.removed.append((parent or "") + "/")
            return
        if base.startswith(".wh."):
            self.removed.append(f"{parent}/{base[4:]}")
            return
        regular = member.isreg()
        directory = member.type == b"5"
        if regular and member.mode & (stat.S_ISUID | stat.S_ISGID):
            self.notes.append(["setuid", path, f"{member.mode & 0o7777:04o}"])
        if (regular and member.mode & stat.S_IWOTH) or (
            directory and member.mode & stat.S_IWOTH and not member.mode & stat.S_ISVTX
        ):
            self.notes.append(["world-writable", path, f"{member.mode & 0o7777:04o}"])
        if regular and not member.sparse:
            self._credential(tar, member, path)

    def _credential(self, tar: TarStream, member: Entry, path: str) -> None:
        for credential in CREDENTIALS:
            if not credential.pattern.search(path):
                continue
            if credential.content is not None:
                head = tar.read(min(member.size, READ_AT_MOST))
                if not credential.content.search(head):
                    return
            self.notes.append(["credential", path, credential.what])
            return

    def document(self) -> dict[str, list[list[str]] | list[str]]:
        return {"notes": self.notes, "removed": self.removed}


def _removes(removed: list[str]) -> Callable[[str], bool]:
    paths = {p for p in removed if not p.endswith("/")}
    directories = tuple(p for p in removed if p.endswith("/"))
    return lambda path: (
        path in paths
        or path.startswith(directories)
        or any(path.startswith(p + "/") for p in paths)
    )


def _applied(per_layer: list[dict[str, list[list[str]]]]) -> list[FileNote]:
    notes: list[FileNote] = []
    for index, layer in enumerate(per_layer):
        gone = _removes([str(p) for p in layer.get("removed", [])])
        kept = []
        for note in notes:
            if not gone(note.path):
                kept.append(note)
            elif note.kind == "credential" and note.removed_in is None:
                kept.append(FileNote(note.kind, note.path, note.layer, note.detail, index))
        notes = kept
        notes.extend(FileNote(kind, path, index, detail) for kind, path, detail in layer["notes"])
    return notes
