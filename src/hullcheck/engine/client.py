"""A thin typed wrapper over docker-py's low-level API with error translation."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from hullcheck.errors import EngineError, SourceError, UsageError
from hullcheck.model import Host

DEFAULT_TIMEOUT = 60.0
REQUEST_WORKERS = 8
"""Inspect requests in flight to one engine while reading its inventory."""
STATS_WORKERS = 512
"""Stats requests in flight to one engine. Each one-shot answer waits for the engine's next
collection tick (dockerd collects the counters of every subscribed container, then sleeps a
second), so the requests are cheap but slow: 500 containers 8 at a time took 67 s; 128 at a
time 6.3 s, 256 at a time 4.2 s, 512 at a time 2.9-4.4 s (dockerd 20.10, 2 cores)."""
OPEN_FILES_RESERVE = 256
"""Descriptors left for everything but stats requests (inspect connections, the store, …)."""
MINIMUM_API_VERSION = "1.41"
"""Docker 20.10 and Podman 3 or newer: one-shot stats (1.41) and every inspect field the
inventory reads. Each engine is spoken to in its own version, up to what docker-py knows
(docs/engines.md)."""


class EngineClient:
    """One Docker Engine, reached through ``host`` (``unix://…``, ``tcp://…``, ``ssh://…``).

    ``ssh://`` engines are reached with paramiko (docker-py's own ssh transport), which reads
    ``~/.ssh/config`` (host name, port, user, identity file, proxy command) and
    ``~/.ssh/known_hosts`` and refuses unknown host keys; each request has the host's timeout.
    (docker-py's other way, through the ``ssh`` program, blocks without a timeout and leaves
    an ``ssh`` process behind per connection.)
    """

    def __init__(
        self,
        host: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        tls: tuple[str, str, str] | None = None,
    ) -> None:
        """``tls`` is (CA, client certificate, client key) for ``tcp://`` engines."""
        import docker  # imported here: the CLI starts faster when no engine is needed

        self.host = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        self._ssh_errors = _ssh_errors(self.host)
        self._timeout = timeout
        self._streams: set[Any] = set()
        _preflight(self.host, timeout)
        try:
            tls_config = None
            if tls is not None:
                ca, cert, key = tls
                tls_config = docker.tls.TLSConfig(client_cert=(cert, key), ca_cert=ca, verify=True)
            self._api = _api_class()(
                base_url=self.host,
                timeout=max(1, int(timeout)),
                version="auto",
                tls=tls_config or False,
                use_ssh_client=False,
                max_pool_size=STATS_WORKERS,
            )
        except docker.errors.DockerException as exc:
            raise EngineError(
                f"{self.host}: cannot reach the Docker Engine ({_reason(exc)})",
                hint="set DOCKER_HOST or check that dockerd is running",
            ) from None
        except self._ssh_errors as exc:
            raise EngineError(
                f"{self.host}: cannot reach the Docker Engine over ssh ({_reason(exc)})",
                hint="check ~/.ssh/config, the key and known_hosts (ssh to it once by hand)",
            ) from None
        spoken = str(self._api.api_version)
        try:
            too_old = docker.utils.version_lt(spoken, MINIMUM_API_VERSION)
        except (TypeError, ValueError):
            too_old = True  # not a version at all
        if too_old:
            self._api.close()
            raise EngineError(
                f"{self.host}: the engine speaks Docker API {spoken[:16]}; hullcheck needs "
                f"{MINIMUM_API_VERSION} or newer (Docker 20.10, Podman 3)",
                hint="upgrade the engine",
            )

    def inspect_image(self, ref: str) -> dict[str, Any]:
        """The engine's inspect document for an image name, ID or digest."""
        import docker

        try:
            result: dict[str, Any] = self._api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            raise SourceError(f"{ref}: no such image in the engine at {self.host}") from None
        except docker.errors.DockerException as exc:
            raise EngineError(f"{ref}: the engine at {self.host} failed ({_reason(exc)})") from None
        return result

    def history(self, ref: str) -> list[dict[str, Any]]:
        """Image history, newest first."""
        import docker

        try:
            result: list[dict[str, Any]] = self._api.history(ref)
        except docker.errors.DockerException as exc:
            raise EngineError(f"{ref}: history failed ({_reason(exc)})") from None
        return result

    def export_image(self, ref: str) -> Iterator[bytes]:
        """Stream ``docker save`` of one image."""
        import docker

        try:
            yield from self._api.get_image(ref, chunk_size=1024 * 1024)
        except docker.errors.DockerException as exc:
            raise EngineError(f"{ref}: export failed ({_reason(exc)})") from None

    # -- inventory (fleet sync) ----------------------------------------------------------------
    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        import docker
        import requests

        try:
            return function(*args, **kwargs)
        except docker.errors.NotFound:
            return None  # removed between listing and inspecting
        except (docker.errors.DockerException, requests.RequestException, *self._ssh_errors) as exc:
            raise EngineError(f"{self.host}: {what} failed ({_reason(exc)})") from None

    def containers(self, listed: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Full inspect documents of every container (of ``listed``), running or not."""
        listed = self.list_containers() if listed is None else listed
        return self._each(
            "inspecting a container", self._api.inspect_container, [c["Id"] for c in listed]
        )

    def list_containers(self, *, sizes: bool = False) -> list[dict[str, Any]]:
        """The short listing of every container (``State`` tells which run); with ``sizes``,
        the bytes each one's writable layer holds (``SizeRw``: the engine walks every layer,
        as ``docker ps --size`` does)."""
        listed = self._call("listing containers", self._api.containers, all=True, size=sizes)
        return list(listed or [])

    def volume_sizes(self) -> dict[str, dict[str, Any]]:
        """Volume name → ``UsageData`` (``Size`` in bytes, -1 when unknown; ``RefCount``), as
        ``docker system df -v`` shows them: the engine walks every volume."""

        def measure() -> Any:
            api = self._api
            answer = api._get(api._url("/system/df"), params={"type": "volume"})
            return api._result(answer, True)

        found = self._call("measuring volumes", measure) or {}
        return {v["Name"]: v.get("UsageData") or {} for v in found.get("Volumes") or []}

    def images(self) -> list[dict[str, Any]]:
        """Inspect documents of every image."""
        listed = self._call("listing images", self._api.images) or []
        return self._each("inspecting an image", self._api.inspect_image, [i["Id"] for i in listed])

    def stats(self, container_ids: list[str]) -> list[dict[str, Any]]:
        """One-shot resource counters of running containers, ``STATS_WORKERS`` at a time."""

        slots = _stats_slots()

        def one(container_id: str) -> Any:
            import docker

            with slots:
                try:
                    stats = self._api.stats(container_id, stream=False, one_shot=True)
                except docker.errors.APIError as exc:
                    if not exc.is_server_error():
                        raise
                    # the engine failed on this one container (Podman, whose network
                    # namespace was lost with a reboot): a sample is left out, the inventory
                    # is not (``HostSync.samples`` counts those read)
                    return None
            return {"id": container_id, **stats} if stats else None

        workers = min(STATS_WORKERS, _stats_budget())
        return self._each("reading container stats", one, container_ids, workers)

    def _each(
        self, what: str, function: Any, ids: list[str], workers: int = REQUEST_WORKERS
    ) -> list[dict[str, Any]]:
        """``function`` of every ID, ``workers`` at a time; objects removed meanwhile are left
        out."""
        from concurrent.futures import ThreadPoolExecutor

        if len(ids) < 2:
            found = [self._call(what, function, i) for i in ids]
        else:
            with ThreadPoolExecutor(max_workers=min(workers, len(ids))) as pool:
                found = list(pool.map(lambda i: self._call(what, function, i), ids))
        return [item for item in found if item is not None]

    def changes(self, container_id: str) -> list[dict[str, Any]] | None:
        """The container's file changes against its image (``Path``, ``Kind``: 0 changed,
        1 added, 2 deleted); ``None`` when it is gone."""
        found = self._call(
            f"reading the changes of {container_id[:12]}", self._api.diff, container_id
        )
        return None if found is None else list(found)

    def top(self, container_id: str) -> dict[str, Any] | None:
        """The processes of a running container (``Titles``, ``Processes``); ``None`` when it
        is gone or stopped."""
        try:
            found: dict[str, Any] | None = self._call(
                f"listing the processes of {container_id[:12]}", self._api.top, container_id
            )
        except EngineError:
            return None  # not running (the engine answers 409)
        return found

    def image_listing(self) -> list[dict[str, Any]]:
        """The short listing of the images (``Id``, ``RepoTags``, …), without inspecting."""
        return list(self._call("listing images", self._api.images) or [])

    def clock(self) -> int:
        """The engine's time now, in nanoseconds since the epoch (its ``SystemTime``: events
        are stamped by its clock); this machine's when the engine does not say."""
        import time

        info = self._call("asking the engine's time", self._api.info) or {}
        found = _rfc3339_nanos(str(info.get("SystemTime") or ""))
        return time.time_ns() if found is None else found

    def volumes(self) -> list[dict[str, Any]]:
        result = self._call("listing volumes", self._api.volumes) or {}
        return list(result.get("Volumes") or [])

    def info(self) -> dict[str, Any]:
        """The engine's ``/info``: its settings, plugins, labels and security options."""
        found: dict[str, Any] = self._call("asking for the engine's info", self._api.info) or {}
        return found

    def networks(self) -> list[dict[str, Any]]:
        return list(self._call("listing networks", self._api.networks) or [])

    def inspect(self, kind: str, object_id: str) -> dict[str, Any] | None:
        """The live inspect document of a container, image, volume or network; ``None`` when
        it is gone."""
        function = {
            "container": self._api.inspect_container,
            "image": self._api.inspect_image,
            "volume": self._api.inspect_volume,
            "network": self._api.inspect_network,
        }[kind]
        found: dict[str, Any] | None = self._call(
            f"inspecting {kind} {object_id}", function, object_id
        )
        return found

    def remove(self, kind: str, object_id: str) -> str | None:
        """Remove one object the way ``docker rm``/``rmi``/``volume rm``/``network rm`` do
        without force (anonymous volumes of a container stay); the engine's refusal (in use,
        running) is returned, not raised."""
        function: Any = {
            "container": lambda: self._api.remove_container(object_id),
            "image": lambda: self._api.remove_image(object_id),
            "volume": lambda: self._api.remove_volume(object_id),
            "network": lambda: self._api.remove_network(object_id),
        }[kind]
        try:  # an object removed meanwhile is not an error (``_call`` gives None)
            self._call(f"removing {kind} {object_id}", _raise_refusals(function))
        except _Refused as refused:
            return str(refused)
        return None

    def events(self, since: str, until: str | None = None) -> Iterator[dict[str, Any]]:
        """The engine's events from ``since`` (``SECONDS[.NANOS]``; what it still holds),
        until ``until`` or for ever; decoded, one at a time."""
        return map(decode_event, self.event_lines(since, until))

    def event_lines(self, since: str, until: str | None = None) -> Iterator[bytes]:
        """The engine's events as the lines of JSON it sends (:func:`decode_event` reads
        one): a reader that must keep up with the engine holds them so, undecoded."""
        import docker
        import requests
        import urllib3

        try:
            stream = self._api.events(since=since, until=until, decode=False)
            # the stream's socket, held now: once the stream breaks, the response no longer
            # reaches it and docker-py's close() cannot close it
            held = getattr(getattr(stream._response.raw, "_fp", None), "fp", None)
            sock = getattr(getattr(held, "raw", None), "_sock", None)
            if sock is not None:
                self._streams.add(sock)
            raw = stream._response.raw
            # urllib3's chunk reader, not docker-py's (two reads of the response per event)
            chunks = raw.read_chunked(decode_content=True) if raw.chunked else stream
            finished = False
            try:
                yield from event_lines(chunks)
                finished = True
            finally:
                if sock is not None:
                    self._streams.discard(sock)
                if finished:  # its connection back in the pool, or closed if not taken back
                    with contextlib.suppress(Exception):
                        stream._response.close()
                else:  # interrupted, broken or abandoned: of no more use
                    with contextlib.suppress(Exception):
                        stream.close()
                    if sock is not None:
                        sock.close()
        except (
            docker.errors.DockerException,
            requests.RequestException,
            urllib3.exceptions.HTTPError,  # the chunk reader's own (a connection cut)
            *self._ssh_errors,
        ) as exc:
            raise EngineError(f"{self.host}: the event stream failed ({_reason(exc)})") from None

    def is_podman(self) -> bool:
        """Whether the engine is Podman's Docker API (its events differ: docs/engines.md)."""
        answer = self._call("asking the version", self._api.version) or {}
        return any(
            isinstance(c, dict) and str(c.get("Name", "")).startswith("Podman")
            for c in answer.get("Components") or []
        )

    def exec_inspect(self, exec_id: str) -> dict[str, Any] | None:
        """An exec's inspect document while the engine keeps it; ``None`` once it is gone."""
        found: dict[str, Any] | None = self._call(
            f"inspecting exec {exec_id[:12]}", self._api.exec_inspect, exec_id
        )
        return found

    def close(self) -> None:
        self._api.close()

    def interrupt(self) -> None:
        """End every event stream being read (from another thread): its reader sees the
        stream fail."""
        import socket

        for sock in list(self._streams):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def reset(self) -> None:
        """Drop every kept connection (after the engine restarted, they are dead) and check
        that the engine accepts a new one (an :class:`EngineError` when it does not)."""
        self._api.close()
        _preflight(self.host, self._timeout)


MAX_EVENT = 1 << 20
"""Bytes an engine event may take: a longer line is passed on as malformed."""


def event_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of an engine's raw event stream, however it is chunked: dockerd and Podman
    write each event as one JSON object and a newline. A line longer than ``MAX_EVENT`` is
    cut there (what follows, to its end, is skipped): :func:`decode_event` finds it
    malformed."""
    buffered = b""
    overlong = False  # the rest of a line passed on cut: skipped to its end
    for chunk in chunks:
        if overlong:
            if b"\n" not in chunk:
                continue
            chunk, overlong = chunk.split(b"\n", 1)[1], False
        buffered += chunk
        if b"\n" not in chunk:
            if len(buffered) > MAX_EVENT:
                yield buffered[:MAX_EVENT]
                buffered, overlong = b"", True
            continue
        *lines, buffered = buffered.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if buffered.strip():
        yield buffered


def decode_event(line: bytes) -> dict[str, Any]:
    """One line of the event stream as the event it is, or ``{"malformed": ...}`` when it
    is not a JSON object: recorded as an event not understood, never dropped.

    (docker-py's own decoding joins, strips and re-scans a text buffer per event: under an
    exec storm it cost the collector more than recording the event.)"""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    return {"malformed": line[:4096].decode("utf-8", "replace")}


_API_CLASS: Any = None
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def _rfc3339_nanos(text: str) -> int | None:
    """``2026-12-01T10:05:08.123456789Z`` (or with an offset) in nanoseconds; ``None`` when
    it is not such a time."""
    import datetime

    found = _RFC3339.fullmatch(text.strip())
    if found is None:
        return None
    whole, fraction, zone = found.groups()
    moment = datetime.datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


@functools.cache
def _stats_slots() -> threading.BoundedSemaphore:
    """A process-wide bound on stats requests in flight (each holds a socket), every engine
    together: a fleet sync of sixteen hosts of 500 containers must not run out of file
    descriptors."""
    return threading.BoundedSemaphore(_stats_budget())


@functools.cache
def _stats_budget() -> int:
    """Raises the soft limit on open files to the hard one (as Go programs such as dockerd
    do at start), then gives stats requests half of what is left beyond a reserve."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # some sandboxes refuse it: live with the soft limit
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(4, min(16 * STATS_WORKERS, (soft - OPEN_FILES_RESERVE) // 2))


def _api_class() -> Any:
    """docker-py's ``APIClient``, except that a host's own CA beats ``REQUESTS_CA_BUNDLE``
    and that a refused connection to a Unix socket closes its socket.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify``
    (psf/requests#3829), so on a machine with either set — most corporate ones — every engine
    behind a private CA would fail verification. The CA docker-py put on the session wins.

    docker-py's Unix connection leaves the socket of a failed ``connect`` to the garbage
    collector: a collector that asks an engine being restarted for a drift check would leak
    one descriptor per attempt.
    """
    global _API_CLASS
    if _API_CLASS is None:
        import socket

        import docker
        from docker.transport import unixconn

        class UnixConnection(unixconn.UnixHTTPConnection):  # type: ignore[misc]
            def connect(self) -> None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.settimeout(self.timeout)
                    sock.connect(self.unix_socket)
                except BaseException:
                    sock.close()
                    raise
                self.sock = sock

        class UnixPool(unixconn.UnixHTTPConnectionPool):  # type: ignore[misc]
            def _new_conn(self) -> UnixConnection:
                return UnixConnection(self.base_url, self.socket_path, self.timeout)

        class UnixAdapter(unixconn.UnixHTTPAdapter):  # type: ignore[misc]
            def get_connection(self, url: str, proxies: Any = None) -> UnixPool:
                with self.pools.lock:
                    pool: UnixPool | None = self.pools.get(url)
                    if pool is None:
                        pool = UnixPool(url, self.socket_path, self.timeout, self.max_pool_size)
                        self.pools[url] = pool
                    return pool

        class APIClient(docker.APIClient):  # type: ignore[misc]  # docker-py is untyped
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                found: Any = getattr(self, "_custom_adapter", None)
                if isinstance(found, unixconn.UnixHTTPAdapter):
                    self._custom_adapter = UnixAdapter(
                        "http+unix://" + found.socket_path,
                        found.timeout,
                        pool_connections=found.pools._maxsize,
                        max_pool_size=found.max_pool_size,
                    )
                    self.mount("http+docker://", self._custom_adapter)
                    found.close()

            def merge_environment_settings(self, *args: Any, **kwargs: Any) -> Any:
                settings = super().merge_environment_settings(*args, **kwargs)
                if isinstance(self.verify, str):
                    settings["verify"] = self.verify
                return settings

        _API_CLASS = APIClient
    return _API_CLASS


class _Refused(Exception):
    """The engine answered that it will not (409 Conflict, 403 Forbidden)."""


def _raise_refusals(function: Any) -> Any:
    def call() -> Any:
        import docker

        try:
            return function()
        except docker.errors.APIError as exc:
            if exc.status_code in (403, 409):
                raise _Refused(_reason(exc)) from None
            raise

    return call


def _preflight(host: str, timeout: float) -> None:
    """Refuse an engine that does not even accept a connection, with the socket's own words.

    (docker-py would find out too, but later and in words of its own.)
    """
    import socket
    import urllib.parse

    parsed = urllib.parse.urlparse(host)
    address: str | tuple[str, int]
    if parsed.scheme == "unix":
        family, address = socket.AF_UNIX, parsed.path
    elif parsed.scheme == "tcp" and parsed.hostname:
        family = socket.AF_INET6 if ":" in parsed.hostname else socket.AF_INET
        address = (parsed.hostname, parsed.port or 2375)
    elif parsed.scheme == "ssh" and parsed.hostname:
        # paramiko's connect has no timeout as docker-py calls it: a host that drops packets
        # would hold the sync for minutes
        found = _ssh_address(parsed.hostname, parsed.port)
        if found is None:
            return
        family = socket.AF_INET6 if ":" in found[0] else socket.AF_INET
        address = found
    else:
        return
    probe = socket.socket(family, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        probe.connect(address)
    except OSError as exc:
        raise EngineError(
            f"{host}: cannot reach the Docker Engine ({exc.strerror or exc})",
            hint="check the address and that dockerd is running",
        ) from None
    finally:
        probe.close()


def _ssh_errors(host: str) -> tuple[type[Exception], ...]:
    """What paramiko raises (a refused key, an unknown host key, a dropped connection) for an
    ``ssh://`` host; nothing to add for the others."""
    if not host.startswith("ssh://"):
        return ()
    import paramiko

    return (paramiko.SSHException, OSError, EOFError)


def _ssh_address(hostname: str, port: int | None) -> tuple[str, int] | None:
    """Where docker-py's ssh connection goes: the host and port as ``~/.ssh/config`` maps
    them; ``None`` behind a proxy command (nothing to probe)."""
    config = os.path.expanduser("~/.ssh/config")
    if os.path.exists(config):
        import paramiko

        found = paramiko.SSHConfig.from_path(config).lookup(hostname)
        if "proxycommand" in found:
            return None
        hostname = found.get("hostname", hostname)
        if port is None and "port" in found:
            port = int(found["port"])
    return hostname, port or 22


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return (
        str(explanation or exc).strip().splitlines()[0]
        if str(explanation or exc)
        else type(exc).__name__
    )


def connect(host: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> EngineClient:
    """Open a client for ``host`` or ``DOCKER_HOST``."""
    return EngineClient(host, timeout)


def tls_files(host: Host) -> tuple[str, str, str] | None:
    """(CA, certificate, key) of a host, ``None`` without TLS; all three or none."""
    if not (host.tls_ca or host.tls_cert or host.tls_key):
        return None
    if not (host.tls_ca and host.tls_cert and host.tls_key):
        raise UsageError(f"{host.name}: TLS needs --tls-ca, --tls-cert and --tls-key together")
    return host.tls_ca, host.tls_cert, host.tls_key


def connect_host(host: Host) -> EngineClient:
    """Open a client for a fleet host, with its TLS files and timeout."""
    return EngineClient(host.url, host.timeout, tls=tls_files(host))
