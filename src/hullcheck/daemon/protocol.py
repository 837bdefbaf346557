"""What the client and the daemon share: the socket's place and the framing of messages.

Imported before every command, so it uses only modules the interpreter has loaded at start
(``os``, ``sys``, ``marshal``). A message is a 4-byte big-endian length and a ``marshal`` of
a dict of plain values. marshal is not meant for untrusted bytes; only the daemon's own user
can reach the socket (a 0700 directory owned by that user, the socket 0600), and the daemon
checks the peer's uid before it reads a byte.
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5-10 ms at start)
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Stream(Protocol):
        def recv(self, size: int, /) -> bytes: ...


SOCKET_NAME = "daemon.sock"
MAX_PATH = 107
"""Longest socket path ``sockaddr_un`` holds on Linux (108 bytes with the terminating NUL)."""
MAX_MESSAGE = 16 * 1024 * 1024


def socket_dir() -> str:
    """The directory of the daemon's socket: ``$HULLCHECK_HOME/run`` (so that a test home or a
    second instance has its own daemon), else ``$XDG_RUNTIME_DIR/hullcheck``, else
    ``/tmp/hullcheck-UID`` as tmux does."""
    home = os.environ.get("HULLCHECK_HOME")
    if home:
        return os.path.join(home, "run")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "hullcheck")
    return f"/tmp/hullcheck-{os.getuid()}"


def socket_path() -> str:
    """``HULLCHECK_SOCKET``, or ``daemon.sock`` in :func:`socket_dir`."""
    return os.environ.get("HULLCHECK_SOCKET") or os.path.join(socket_dir(), SOCKET_NAME)


def private_dir(path: str) -> bool:
    """Whether ``path`` is a directory of this user that no one else can enter: a socket in a
    directory another user controls could be theirs."""
    try:
        status = os.stat(path)
    except OSError:
        return False
    return status.st_uid == os.getuid() and not status.st_mode & 0o077


def installation() -> tuple[Any, ...]:
    """What must match between client and daemon for the daemon to run the client's command
    as the client would: the interpreter and the hullcheck it imports."""
    import hullcheck

    return (
        sys.hexversion,
        sys.executable,
        os.path.dirname(hullcheck.__file__),
        hullcheck.__version__,
    )


def pack(message: dict[str, Any]) -> bytes:
    body = marshal.dumps(message)
    return len(body).to_bytes(4, "big") + body


def unpack_length(head: bytes) -> int:
    size = int.from_bytes(head, "big")
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes")
    return size


def read_exactly(stream: Stream, size: int, start: bytes = b"") -> bytes | None:
    """``size`` bytes (of which ``start`` came already), or ``None`` at end of stream."""
    chunks = [start]
    have = len(start)
    while have < size:
        chunk = stream.recv(min(size - have, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


def receive(stream: Stream, start: bytes = b"") -> dict[str, Any] | None:
    """The next message, or ``None`` when the other side closed."""
    head = read_exactly(stream, 4, start[:4])
    if head is None:
        return None
    body = read_exactly(stream, unpack_length(head), start[4:])
    if body is None:
        return None
    message = marshal.loads(body)
    if not isinstance(message, dict):
        raise ValueError("message is not a dict")
    return message
