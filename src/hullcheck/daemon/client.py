"""The first thing every ``hullcheck`` command does: hand itself to a running daemon.

The command goes over the daemon's Unix socket with everything a process of its own would
have had: arguments, working directory, environment, umask, and the terminal or pipes it was
given — its stdin, stdout and stderr file descriptors travel with the request (SCM_RIGHTS), so
the worker writes straight to them, colours and progress bars included. The client waits for
the exit status and exits with it, and forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the
worker, so Ctrl-C stops the command as it would stop a local one.

Without a daemon (none started, ``HULLCHECK_DAEMON=off``, a socket that refuses, a daemon of
another installation or one whose code changed on disk) :func:`forward` returns ``None`` and
the command runs in this process. Imports are kept to what is already loaded at interpreter
start, plus the C modules under ``socket`` and ``signal`` (their Python wrappers cost
3-5 ms, a tenth of what a command through the daemon takes).
"""

from __future__ import annotations

import os
import sys

from hullcheck.daemon import protocol

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5-10 ms at start)
if TYPE_CHECKING:
    from typing import Any

FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
WORKER_LOST = 3
"""Exit status when the worker ends without reporting one (killed, or it crashed)."""


def local_only(argv: list[str]) -> bool:
    """Commands that must run here: the daemon's own management, and every command when the
    user says so."""
    if os.environ.get("HULLCHECK_DAEMON", "").lower() in {"off", "0", "no", "false"}:
        return True
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    return command == "daemon"


def forward(argv: list[str]) -> int | None:
    """Run ``argv`` in the daemon and return its exit status; ``None`` when no daemon takes it."""
    if local_only(argv):
        return None
    try:
        request = _request(argv)
    except OSError:
        return None  # the working directory is gone, a standard stream is closed
    opened = protocol.connect(protocol.socket_path())
    if opened is None:
        return None  # no daemon, or one that is not certainly this user's own
    connection, daemon = opened
    try:
        data = protocol.pack(request)
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))  # C ints
        import _socket

        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)]
        sent = connection.sendmsg([data], rights)
        connection.sendall(data[sent:])
        reply = protocol.receive(connection)
    except (OSError, ValueError):
        connection.close()
        return None  # a stale socket, or a daemon that went away: run here
    if reply is None or "pid" not in reply:
        connection.close()
        return None  # refused: another installation, or code changed since the daemon started
    pid = int(reply["pid"])
    return _wait(connection, pid if protocol.worker_of(pid, daemon) else None)


def _request(argv: list[str]) -> dict[str, Any]:
    umask = os.umask(0o022)
    os.umask(umask)
    streams = []
    for fd, stream in enumerate((sys.stdin, sys.stdout, sys.stderr)):
        os.fstat(fd)  # raises when the descriptor is closed
        streams.append(
            (stream.encoding, stream.errors, stream.line_buffering)
            if stream is not None
            else ("utf-8", "strict", False)
        )
    return {
        "op": "run",
        "installation": protocol.installation(),
        "argv0": sys.argv[0],
        "main_package": getattr(sys.modules.get("__main__"), "__package__", None),  # python -m
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": umask,
        "streams": streams,
    }


def _wait(connection: Any, pid: int | None) -> int:
    """The worker's exit status; signals are relayed to ``pid`` (``None``: a pid that is not
    the daemon's worker of this user, which is never signalled)."""
    import _signal  # type: ignore[import-not-found] # no stub; signal.py would import enum

    def relay(number: int, frame: object) -> None:
        if pid is None:
            return
        try:  # noqa: SIM105 - contextlib is not loaded at interpreter start
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    for name in FORWARDED_SIGNALS:
        _signal.signal(getattr(_signal, name), relay)
    try:
        reply = protocol.receive(connection)
    except (OSError, ValueError):
        reply = None
    finally:
        connection.close()
    if reply is None or "exit" not in reply:
        lost = f"the daemon's worker {pid} ended without an exit status"
        print(f"hullcheck: error: {lost}", file=sys.stderr)
        return WORKER_LOST
    return int(reply["exit"])
