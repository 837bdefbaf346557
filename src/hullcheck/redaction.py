"""Secret values never reach the store, an output or a log: names stay, values become a keyed
hash, so that "this variable changed" is still visible and the value is not.

What counts as secret in what the engine and images tell (docs/security.md):
- environment values: ``Config.Env`` of containers and images (``ContainerConfig.Env`` of
  older engines) — ``API_TOKEN=…``, ``DB_PASSWORD=…``;
- build arguments and ``ENV``/``ARG`` values written into an image's history
  (``RUN |2 TOKEN=… MODE=… /bin/sh -c …``, ``ENV DB_PASSWORD=…``, ``/bin/sh -c #(nop)  ENV …``).

Labels are not secrets and are kept. A value becomes ``<redacted:HMAC>``: the first 16 hex
digits of HMAC-SHA256 under a random key of this installation (``redaction.key`` in the data
directory, 0600; ``HULLCHECK_REDACTION_KEY_FILE`` names a shared one, so that machines that
write one PostgreSQL store hash alike). Without the key, a short password cannot be guessed
back from its hash by trying candidates.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
from typing import Any

from hullcheck import paths
from hullcheck.errors import StoreError
from hullcheck.files import private_dir

KEY_BYTES = 32
_MARK = "<redacted:"
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)=(.*?)(?=\s+[A-Za-z_][A-Za-z0-9_.-]*=|\s*$)")
_INSTRUCTION = re.compile(r"(?:^|#\(nop\)\s+)(ENV|ARG)\s+", re.IGNORECASE)
_BUILD_ARGS = re.compile(r"^(?:RUN\s+)?\|(\d+)\s+")
_ENV_PATHS = (("Config", "Env"), ("ContainerConfig", "Env"))
_COMMAND_PATHS = (("ContainerConfig", "Cmd"), ("Config", "Cmd"))


def key_path() -> str:
    return os.environ.get("HULLCHECK_REDACTION_KEY_FILE") or os.path.join(
        paths.data_dir(), "redaction.key"
    )


@functools.cache
def _key(path: str) -> bytes:
    """The key at ``path``, made when missing: written whole to a private file of its own,
    then linked into place, so that of several threads or processes making it at once one
    wins and none reads a key half written."""
    if not os.path.exists(path):
        private_dir(os.path.dirname(os.path.abspath(path)))
        made = f"{path}.{secrets.token_hex(8)}"
        fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
            with contextlib.suppress(FileExistsError):
                os.link(made, path)
        finally:
            os.unlink(made)
    with open(path, "rb") as handle:
        key = handle.read()
    if len(key) < 16:
        raise StoreError(
            f"{path}: redaction key shorter than 16 bytes",
            hint="remove it and a new one is made (stored fingerprints then change)",
        )
    return key


def fingerprint(value: str) -> str:
    """``<redacted:HMAC>`` of ``value``; already redacted text is left as it is."""
    if value.startswith(_MARK):
        return value
    digest = hmac.new(_key(key_path()), value.encode("utf-8", "replace"), hashlib.sha256)
    return f"{_MARK}{digest.hexdigest()[:16]}>"


def redact_env(entries: Any) -> Any:
    """``["NAME=value", …]`` with every value replaced by its fingerprint."""
    if not isinstance(entries, list):
        return entries
    return [_redact_pair(entry) for entry in entries]


def _redact_pair(word: Any) -> Any:
    """``NAME=<redacted:…>`` for a ``NAME=value`` string; anything else as it is."""
    if not isinstance(word, str) or "=" not in word:
        return word
    name, _, value = word.partition("=")
    return f"{name}={fingerprint(value)}"


def redact_command(text: str | None) -> str | None:
    """A history line (``created_by``) without build-argument and ``ENV``/``ARG`` values."""
    if not text:
        return text
    build_args = _BUILD_ARGS.match(text)
    if build_args is not None:
        head, rest = text[: build_args.end()], text[build_args.end() :]
        words = rest.split(" ")
        count = int(build_args.group(1))
        words[:count] = [_redact_pair(word) for word in words[:count]]
        text = head + " ".join(words)
    instruction = _INSTRUCTION.search(text)
    if instruction is not None:
        head, rest = text[: instruction.end()], text[instruction.end() :]
        text = head + _PAIR.sub(lambda m: f"{m.group(1)}={fingerprint(m.group(2))}", rest)
    return text


def redact_document(document: dict[str, Any]) -> dict[str, Any]:
    """An engine inspect document (container or image) with its secrets redacted; the input
    is left as it was."""
    redacted = dict(document)
    for outer, inner in _ENV_PATHS:
        section = redacted.get(outer)
        if isinstance(section, dict) and inner in section:
            redacted[outer] = {**section, inner: redact_env(section[inner])}
    for outer, inner in _COMMAND_PATHS:
        section = redacted.get(outer)
        command = section.get(inner) if isinstance(section, dict) else None
        if isinstance(section, dict) and isinstance(command, list):
            redacted[outer] = {**section, inner: _redact_words(command)}
    return redacted


def _redact_words(command: list[Any]) -> list[Any]:
    """A command as a list of words: the legacy builder's ``["|2", "A=1", "B=2", "/bin/sh",
    "-c", …]`` loses its argument values, and every word its ``ENV``/``ARG`` values."""
    words = [redact_command(w) if isinstance(w, str) else w for w in command]
    head = words[0] if words else None
    if isinstance(head, str) and re.fullmatch(r"\|\d+", head):
        count = int(head[1:])
        words[1 : count + 1] = [_redact_pair(word) for word in words[1 : count + 1]]
    return words
