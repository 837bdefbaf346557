"""The daemon: keeps hullcheck imported and hands each command to a freshly forked worker.

The daemon process itself stays single-threaded and never opens a store or an engine
connection, so forking it is safe (no lock held by a thread that does not exist in the
child, no SQLite handle shared across processes). Per connection it:

1. checks the peer is its own user (``SO_PEERCRED``) before reading anything;
2. reads the request and the client's stdin, stdout and stderr descriptors;
3. refuses a client of another interpreter or hullcheck (the client then runs the command
   itself), and refuses and exits when a loaded module's file changed on disk or a package
   was installed or removed since it started — a daemon never runs stale code;
4. hands the request and the descriptors to the worker it forked after the previous command
   (so no command waits for a fork), and forks the next one. The worker takes the client's
   descriptors as 0, 1 and 2, its directory, environment, umask and locale, runs the command
   through the same ``main`` as a local process, reports the exit status and exits.

Differences from a local process, all documented in docs/daemon.md: resource limits are the
daemon's; ``/dev/fd/N`` paths other than 0-2 do not reach the worker; a command started
after ``daemon start`` sees modules as they were when the daemon started (guarded by 3).
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import gc
import importlib
import io
import locale
import logging
import os
import selectors
import signal
import socket
import struct
import sys
import time
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hullcheck
from hullcheck.daemon import protocol
from hullcheck.errors import EXIT_INPUT, DaemonError

log = logging.getLogger("hullcheck.daemon")

NOT_PRELOADED = ("hullcheck.__main__", "hullcheck.store.migrations")
"""Modules that run something when imported: the CLI, and Alembic's environment."""

PEERCRED = struct.Struct("3i")
REQUEST_TIMEOUT = 10.0
"""Seconds a client has to send its whole request once connected."""
WORKER_FAILED = 3
"""A worker's exit status when hullcheck's own error handling did not give one."""


@dataclass
class Daemon:
    """A listening daemon (see the module docstring).

    It is handed the program it serves, as uvicorn is handed an application: ``entry`` runs
    one command line (``sys.argv``) in a worker, ``warm`` is called once before serving (to
    build what every command would otherwise build). The daemon never imports the CLI."""

    path: str
    entry: Callable[[], object]
    warm: Callable[[], object] | None = None
    idle_timeout: float = 3600.0
    """Seconds without a request after which the daemon exits; 0 never."""
    started: float = field(default_factory=time.time)
    served: int = 0
    listener: socket.socket | None = None
    baseline: dict[str, int] = field(default_factory=dict)
    spare: Spare | None = None
    """The worker forked ahead of the next command, so that no command waits for a fork."""
    lock: int | None = None
    """The descriptor of the lock on ``PATH.lock`` (see :func:`claim`)."""
    pending: dict[int, Pending] = field(default_factory=dict)
    """Connections whose request is still arriving, by descriptor."""

    def serve(self) -> None:
        """Listen until stopped, idle for ``idle_timeout``, or stale."""
        self.lock = claim(self.path)
        preload()
        if self.warm is not None:
            self.warm()
        self.listener = listen(self.path)
        self.baseline = snapshot(os.getcwd())
        os.chdir("/")  # a daemon keeps no directory busy; workers take the caller's
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
        signal.signal(signal.SIGTERM, _stop_on_signal)
        signal.signal(signal.SIGINT, _stop_on_signal)
        gc.freeze()  # what is loaded now is shared with the workers, not copied by the collector
        self.spare = self._fork_spare()
        log.info("serving on %s (pid %d)", self.path, os.getpid())
        try:
            self._loop()
        except _Stop:
            pass
        finally:
            self.close()

    def close(self) -> None:
        for pending in self.pending.values():
            pending.close()
        self.pending.clear()
        if self.spare is not None:
            self.spare.control.close()  # it reads the end of its control socket and exits
            self.spare = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            log.info("stopped after %d commands", self.served)
        if self.lock is not None:
            os.close(self.lock)  # the last: a daemon starting now finds no socket of ours
            self.lock = None

    def _loop(self) -> None:
        """Accept connections and read their requests as their bytes arrive, all at once: a
        client that connects and says nothing holds up no one, and is dropped after
        ``REQUEST_TIMEOUT`` seconds. Returns when idle for ``idle_timeout`` or told to stop."""
        assert self.listener is not None
        self.listener.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        last = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                deadlines = [p.deadline for p in self.pending.values()]
                if self.idle_timeout and not self.pending:
                    if now - last >= self.idle_timeout:
                        log.info("idle for %g s", self.idle_timeout)
                        return
                    deadlines.append(last + self.idle_timeout)
                wait = max(0.0, min(deadlines) - now) if deadlines else None
                for key, _ in selector.select(wait):
                    if key.fileobj is self.listener:
                        self._accept(selector)
                        continue
                    pending = self.pending[key.fd]
                    request = pending.read()
                    if request is None and not pending.closed:
                        continue  # more to come
                    selector.unregister(pending.connection)
                    del self.pending[key.fd]
                    last = time.monotonic()
                    going_on = request is None or self._serve_request(pending, request)
                    pending.close()
                    if not going_on:
                        return
                self._expire(selector)
        finally:
            selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        assert self.listener is not None
        try:
            connection, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        pid, uid, _ = PEERCRED.unpack(
            connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)
        )
        if uid != os.getuid():
            log.warning("refused pid %d of uid %d", pid, uid)
            connection.close()
            return
        connection.setblocking(False)
        pending = Pending(connection, pid, time.monotonic() + REQUEST_TIMEOUT)
        self.pending[connection.fileno()] = pending
        selector.register(connection, selectors.EVENT_READ)

    def _expire(self, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for fd, pending in list(self.pending.items()):
            if pending.deadline <= now:
                log.warning("pid %d sent no request in %g s", pending.pid, REQUEST_TIMEOUT)
                selector.unregister(pending.connection)
                del self.pending[fd]
                pending.close()

    def _serve_request(self, pending: Pending, request: dict[str, Any]) -> bool:
        """Answer one complete request; ``False`` when the daemon should stop."""
        pending.connection.settimeout(10)
        try:
            going_on = self._dispatch(pending.connection, request, pending.fds)
        except (OSError, ValueError, EOFError, TypeError, KeyError) as exc:
            log.warning("bad request from pid %d: %r", pending.pid, exc)
            going_on = True
        pending.close()  # before the next spare is forked: it must not hold the connection
        if going_on and self.spare is None:
            # forked once this command's descriptors are closed here: a spare holding the
            # client's connection would keep it open after the worker died
            self.spare = self._fork_spare()
        return going_on

    def _dispatch(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> bool:
        op = request.get("op")
        if op == "status":
            connection.sendall(protocol.pack(self.status()))
            return True
        if op == "stop":
            connection.sendall(protocol.pack({"stopping": os.getpid()}))
            return False
        if op != "run" or len(fds) != 3:
            connection.sendall(protocol.pack({"refused": f"unknown request {op!r}"}))
            return True
        if tuple(request["installation"]) != protocol.installation():
            connection.sendall(protocol.pack({"refused": "another installation"}))
            return True
        changed = stale(self.baseline)
        if changed:
            log.info("%s changed on disk; exiting", changed)
            connection.sendall(protocol.pack({"refused": f"{changed} changed"}))
            return False
        assert self.spare is not None
        spare, self.spare = self.spare, None
        with spare.control:
            data = protocol.pack(request)
            sent = socket.send_fds(spare.control, [data], [connection.fileno(), *fds])
            spare.control.sendall(data[sent:])
        self.served += 1
        return True

    def _fork_spare(self) -> Spare:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.close()
            for pending in self.pending.values():  # other clients' connections are not its own
                pending.close()
            assert self.listener is not None and self.lock is not None
            self.listener.close()
            os.close(self.lock)  # the daemon's alone: workers outliving it do not hold it
            work(theirs, self.entry)  # never returns
        theirs.close()
        return Spare(pid, ours)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "socket": self.path,
            "version": hullcheck.__version__,
            "started": self.started,
            "served": self.served,
            "idle_timeout": self.idle_timeout,
        }


@dataclass
class Pending:
    """A connection whose request is still arriving."""

    connection: socket.socket
    pid: int
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    fds: list[int] = field(default_factory=list)
    closed: bool = False
    """The client hung up, or sent what is not a request."""

    def read(self) -> dict[str, Any] | None:
        """Take what arrived; the request once it is complete, else ``None``."""
        try:
            data, fds, _, _ = socket.recv_fds(self.connection, 1 << 16, 3)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            self.closed = True
            return None
        self.fds.extend(fds)
        if not data or len(self.fds) > 3:
            self.closed = True
            return None
        self.data += data
        try:
            return protocol.parse(self.data)
        except (ValueError, EOFError, TypeError) as exc:
            log.warning("bad request from pid %d: %r", self.pid, exc)
            self.closed = True
            return None

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []
        self.connection.close()


@dataclass
class Spare:
    """A forked worker waiting for its command on ``control``."""

    pid: int
    control: socket.socket


def work(control: socket.socket, entry: Callable[[], object]) -> None:
    """A worker: wait for a command (the client's connection, its three standard descriptors
    and the request), run it, report the exit status on the connection and exit. It never
    returns; at the end of ``control`` (the daemon stopped) it exits at once."""
    code = WORKER_FAILED
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):  # not the daemon's
        signal.signal(number, signal.SIG_DFL)
    try:
        data, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        request = protocol.receive(control, data) if data else None
        if request is None or len(fds) != 4:
            os._exit(0)
        connection = socket.socket(fileno=fds[0])
    except BaseException:  # noqa: BLE001 - nothing to report to: the daemon went away
        os._exit(0)
    try:
        connection.sendall(protocol.pack({"pid": os.getpid()}))
        code = run_command(request, fds[1:], entry)
    finally:  # a worker reports and exits whatever happened; it never returns to serve
        with contextlib.suppress(BaseException):
            connection.sendall(protocol.pack({"exit": code}))
        os._exit(code)


class _Stop(Exception):
    pass


def _stop_on_signal(number: int, frame: object) -> None:
    raise _Stop


def preload() -> None:
    """Import every hullcheck module and what they import inside functions (deferred for a
    process's start-up; a daemon's workers should find them loaded). An optional dependency
    that is missing stays missing."""
    import pkgutil

    for module in pkgutil.walk_packages(hullcheck.__path__, "hullcheck."):
        if not module.name.startswith(NOT_PRELOADED):
            importlib.import_module(module.name)
    for name in sorted(deferred_imports(hullcheck.__path__)):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def deferred_imports(paths: Iterable[str]) -> set[str]:
    """The modules hullcheck's source imports inside functions, read from the source itself
    (no list to keep by hand); migrations, which run something when imported, left out."""
    found: set[str] = set()
    for root in paths:
        for directory, _, files in os.walk(root):
            if "migrations" in directory:
                continue
            for name in files:
                if not name.endswith(".py"):
                    continue
                try:
                    with open(os.path.join(directory, name), encoding="utf-8") as handle:
                        tree = ast.parse(handle.read())
                except (OSError, SyntaxError, ValueError):
                    continue
                found.update(_inside_functions(tree))
    return found


def _inside_functions(tree: ast.AST) -> Iterator[str]:
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    yield from (alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    yield node.module


def claim(path: str) -> int:
    """An exclusive lock on ``PATH.lock`` (its descriptor), held for as long as the daemon
    serves at ``path``: of two daemons started together, one serves and the other says so,
    instead of the second replacing the first's socket and leaving it to idle unreachable."""
    import fcntl

    prepare(path)
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        raise DaemonError(f"{path}: a daemon is already serving here") from None
    return lock


def listen(path: str) -> socket.socket:
    """A listening socket at ``path``, whose lock the caller holds: a socket file already
    there was left by a daemon that died, and is replaced."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(128)
    return listener


def prepare(path: str) -> None:
    """Create the directory of ``path``, private; a path that cannot hold the daemon's socket
    is a :class:`DaemonError` naming it."""
    if len(path.encode()) > protocol.MAX_PATH:
        raise DaemonError(f"{path}: socket path longer than {protocol.MAX_PATH} bytes")
    directory = os.path.dirname(path) or "."
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise DaemonError(f"{directory}: {exc.strerror}") from None
    if not protocol.private_dir(directory):
        raise DaemonError(f"{directory}: not a directory of this user closed to others")


def answering(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def snapshot(started_in: str) -> dict[str, int]:
    """Modification times of hullcheck's loaded modules and of every import directory (a
    directory's time changes when a package is installed or removed in it) but the one
    ``python -m`` puts first, the directory the daemon was started in: files come and go
    there that have nothing to do with hullcheck."""
    own = os.path.dirname(hullcheck.__file__) + os.sep
    paths = {
        module.__file__
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None) and str(module.__file__).startswith(own)
    }
    paths.update(
        entry
        for entry in sys.path
        if entry and os.path.isdir(entry) and os.path.abspath(entry) != started_in
    )
    times = {}
    for path in paths:
        with contextlib.suppress(OSError):
            times[str(path)] = os.stat(str(path)).st_mtime_ns
    return times


def stale(baseline: dict[str, int]) -> str | None:
    """The first file of ``baseline`` that changed or vanished, or ``None``."""
    for path, mtime in baseline.items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return path
        except OSError:
            return path
    return None


def run_command(request: dict[str, Any], fds: list[int], entry: Callable[[], object]) -> int:
    """In the worker: become the client's process and run its command; its exit status."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    try:
        os.chdir(request["cwd"])
    except OSError as exc:
        print(f"hullcheck: error: {request['cwd']}: {exc.strerror}", file=sys.stderr)
        return EXIT_INPUT
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    sys.stdin, sys.stdout, sys.stderr = (
        _text_stream(fd, *settings) for fd, settings in enumerate(request["streams"])
    )
    for name in ("stdin", "stdout", "stderr"):  # rich sizes the terminal from sys.__stdout__
        setattr(sys, f"__{name}__", getattr(sys, name))  # Final to typeshed, not to Python
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt
    for handler in logging.root.handlers[:]:  # the daemon's log is not the command's
        logging.root.removeHandler(handler)
    sys.argv = [request["argv0"], *request["argv"]]
    sys.modules["__main__"] = _main_module(request["main_package"])  # click names the program
    code = 0
    try:
        entry()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    finally:
        atexit._run_exitfuncs()  # what a local process runs at exit, before the status goes
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    return code


def _main_module(package: str | None) -> types.ModuleType:
    """A ``__main__`` as the client's: in ``hullcheck`` for ``python -m hullcheck``, in no
    package for the ``hullcheck`` script; click words usage messages from it."""
    module = types.ModuleType("__main__")
    module.__package__ = package
    return module


def _text_stream(fd: int, encoding: str, errors: str, line_buffering: bool) -> io.TextIOWrapper:
    mode = "rb" if fd == 0 else "wb"
    raw = open(fd, mode, closefd=False)  # noqa: SIM115 - lives as long as the worker
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, line_buffering=line_buffering)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
