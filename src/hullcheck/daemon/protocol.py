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
import stat
import sys

import hullcheck

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
    """Whether ``path`` itself (not a link to it) is a directory of this user that no one else
    can enter: a socket in a directory another user controls could be theirs."""
    try:
        return _private(os.lstat(path))
    except OSError:
        return False


def _private(status: os.stat_result) -> bool:
    return (
        stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and not status.st_mode & 0o077
    )


def connect(path: str) -> tuple[Any, int] | None:
    """A connection to the daemon at ``path`` and the daemon's pid, or ``None`` unless every
    check holds: the socket's directory is this user's own and closed to others, opened
    without following a link and connected *through that opened directory* (a directory
    swapped after the check is not the one connected to); the socket is this user's; and the
    process that listens is this user's (``SO_PEERCRED``)."""
    import _socket

    directory, name = os.path.split(path)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        handle = os.open(directory or ".", flags)
    except OSError:
        return None
    try:
        status = os.stat(name, dir_fd=handle, follow_symlinks=False)
        if not _private(os.fstat(handle)) or not stat.S_ISSOCK(status.st_mode):
            return None
        if status.st_uid != os.getuid():
            return None
        connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            connection.connect(f"/proc/self/fd/{handle}/{name}")
            peer = connection.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        except OSError:
            connection.close()
            return None
    except OSError:
        return None
    finally:
        os.close(handle)
    pid, uid = (int.from_bytes(peer[i : i + 4], sys.byteorder, signed=True) for i in (0, 4))
    if uid != os.getuid():
        connection.close()
        return None
    return connection, pid


def worker_of(pid: int, daemon: int) -> bool:
    """Whether ``pid`` is a process of this user forked by the daemon ``daemon``: only then is
    a pid the daemon named signalled."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        parent = int(fields["PPid"])
        uids = [int(u) for u in fields["Uid"].split()]
    except (OSError, KeyError, ValueError):
        return False
    return parent == daemon and uids[0] == os.getuid()


def installation() -> tuple[Any, ...]:
    """What must match between client and daemon for the daemon to run the client's command
    as the client would: the interpreter and the hullcheck it imports."""
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


def parse(data: bytes | bytearray) -> dict[str, Any] | None:
    """The message ``data`` holds, or ``None`` while it is incomplete."""
    if len(data) < 4:
        return None
    size = unpack_length(bytes(data[:4]))
    if len(data) < 4 + size:
        return None
    if len(data) > 4 + size:
        raise ValueError("bytes after the request")
    return _decode(bytes(data[4:]))


def receive(stream: Stream, start: bytes = b"") -> dict[str, Any] | None:
    """The next message, or ``None`` when the other side closed."""
    head = read_exactly(stream, 4, start[:4])
    if head is None:
        return None
    body = read_exactly(stream, unpack_length(head), start[4:])
    if body is None:
        return None
    return _decode(body)


def _decode(body: bytes) -> dict[str, Any]:
    message = marshal.loads(body)
    if not isinstance(message, dict):
        raise ValueError("message is not a dict")
    return message
