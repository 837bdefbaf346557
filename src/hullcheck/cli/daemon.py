"""``hullcheck daemon``: keep hullcheck loaded so that commands start in milliseconds."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from typing import Any

import typer

from hullcheck.cli.run import run, running_tree
from hullcheck.daemon import protocol
from hullcheck.daemon.server import Daemon, answering, prepare
from hullcheck.errors import DaemonError
from hullcheck.paths import cache_dir

daemon_app = typer.Typer(
    help="A resident hullcheck that runs your commands without Python's start-up cost.",
    no_args_is_help=True,
)

SOCKET_OPTION = typer.Option(
    None, "--socket", envvar="HULLCHECK_SOCKET", help="Socket path (default: see docs/daemon.md)."
)
START_WAIT = 30.0


@daemon_app.command("start")
def start_command(
    socket_path: str | None = SOCKET_OPTION,
    foreground: bool = typer.Option(False, "--foreground", help="Serve in this process."),
    idle_timeout: float = typer.Option(
        3600.0, "--idle-timeout", help="Exit after this many seconds without a command; 0 never."
    ),
) -> None:
    """Start the daemon; later commands of this user (same HULLCHECK_HOME) go through it."""
    path = socket_path or protocol.socket_path()
    prepare(path)  # a path that cannot work is said here, not in the daemon's log
    if foreground:
        import functools

        _log_to_stderr()  # the daemon is handed the tree it serves: it imports no CLI
        entry = functools.partial(run, running_tree())
        Daemon(path, entry=entry, idle_timeout=idle_timeout).serve()
        return
    if os.path.exists(path) and answering(path):
        typer.echo(f"hullcheck daemon: already serving on {path}")
        return
    command = [sys.executable, "-m", "hullcheck", "daemon", "start", "--foreground"]
    command += ["--socket", path, "--idle-timeout", str(idle_timeout)]
    log_path = _log_path()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # survives the shell that started it
        )
    deadline = time.monotonic() + START_WAIT
    while not (os.path.exists(path) and answering(path)):
        if process.poll() is not None or time.monotonic() > deadline:
            raise DaemonError(
                f"{path}: the daemon did not start (exit {process.poll()})", hint=f"see {log_path}"
            )
        time.sleep(0.02)
    pid = _ask(path, "status")["pid"]  # another start may have won the race: its pid
    typer.echo(f"hullcheck daemon: serving on {path} (pid {pid}, log {log_path})")


@daemon_app.command("stop")
def stop_command(socket_path: str | None = SOCKET_OPTION) -> None:
    """Stop the daemon; commands run in their own process again."""
    path = socket_path or protocol.socket_path()
    reply = _ask(path, "stop")
    pid = int(reply["stopping"])
    deadline = time.monotonic() + START_WAIT
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    typer.echo(f"hullcheck daemon: stopped (pid {pid})")


@daemon_app.command("status")
def status_command(
    socket_path: str | None = SOCKET_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Whether a daemon serves, since when, and how many commands it ran."""
    reply = _ask(socket_path or protocol.socket_path(), "status")
    if as_json:
        import json

        typer.echo(json.dumps(reply, indent=2, sort_keys=True))
        return
    started = datetime.datetime.fromtimestamp(reply["started"], datetime.UTC)
    typer.echo(
        f"hullcheck daemon {reply['version']}: pid {reply['pid']} on {reply['socket']}, "
        f"up since {started:%Y-%m-%d %H:%M:%S} UTC, {reply['served']} commands served"
    )


def _ask(path: str, op: str) -> dict[str, Any]:
    opened = protocol.connect(path)
    if opened is None:
        raise DaemonError(
            f"{path}: no daemon answers (none of this user listens there)",
            hint="start one with: hullcheck daemon start",
        )
    connection, _ = opened
    try:
        connection.settimeout(10)
        connection.sendall(protocol.pack({"op": op}))
        reply = protocol.receive(connection)
    except (OSError, ValueError) as exc:
        raise DaemonError(f"{path}: the daemon did not answer ({exc})") from None
    finally:
        connection.close()
    if reply is None:
        raise DaemonError(f"{path}: the daemon closed the connection")
    return reply


def _log_path() -> str:
    return os.path.join(cache_dir(), "daemon.log")


def _log_to_stderr() -> None:
    import logging

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s hullcheck daemon: %(message)s", stream=sys.stderr
    )
