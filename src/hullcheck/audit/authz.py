"""A Docker authorization plugin that records who called the Engine API.

dockerd started with ``--authorization-plugin=NAME`` asks the plugin listening on
``/run/docker/plugins/NAME.sock`` about every API request before serving it (``AuthZReq``)
and again with the response (``AuthZRes``); the request carries the authenticated user —
the subject of a TLS client certificate — or none for the local socket. Given a policy's
``decide``, the plugin denies the requests the policy fails (container creates: see
``policy.admission``), else it allows every request; it records each one in the host's log:
who, method, path, the object the path names, and a summary of the body with secret values
left out (environment variable names only, commands redacted). The collector joins these
records to the events they caused (``actor`` of an ``exec_start``, say).

While the plugin is down dockerd refuses every request the plugin would have been asked
about ("authorization plugin … connection refused"): the engine fails closed. Run the plugin
under a supervisor that restarts it (docs/audit.md).
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import http.server
import logging
import os
import re
import socketserver
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from hullcheck.audit.records import Record, now
from hullcheck.errors import UsageError
from hullcheck.redaction import redact_command

log = logging.getLogger("hullcheck.audit")

PLUGINS_DIR = "/run/docker/plugins"
"""Where dockerd looks for plugin sockets."""
CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"
MAX_BODY = 4 << 20
"""Bytes of a plugin request read at most (dockerd sends bodies under 1 MiB)."""
_OBJECT = re.compile(r"^(?:/v[\d.]+)?/(containers|images|volumes|networks|exec)/([^/?]+)")
_KEEPS_IMAGES = re.compile(r"^(?:/v[\d.]+)?/(?:containers|exec|networks|volumes)(?:/|$)")
LOCAL = "local socket"
DECISIONS_KEPT = 100_000


def caller(request: dict[str, Any]) -> str:
    """Who made the request: the client certificate's subject, dockerd's user name, or the
    local socket (no authentication at all)."""
    for encoded in request.get("RequestPeerCertificates") or []:
        subject = _subject(encoded)
        if subject:
            return subject
    user = request.get("User")
    return str(user) if user else LOCAL


def _subject(encoded: object) -> str | None:
    from cryptography import x509

    try:
        data = base64.b64decode(str(encoded), validate=True)
        # dockerd sends each certificate PEM-encoded, then base64 as JSON does []byte
        if data.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data).subject.rfc4514_string()
        return x509.load_der_x509_certificate(data).subject.rfc4514_string()
    except (ValueError, binascii.Error):
        return None


def summary(body: object) -> dict[str, Any]:
    """What a request asked for, without secret values."""
    if not isinstance(body, dict):
        return {}
    found: dict[str, Any] = {}
    for key in ("Image", "User", "Privileged", "Tty", "WorkingDir"):
        if key in body:
            found[key.lower()] = body[key]
    for key in ("Cmd", "Entrypoint"):
        value = body.get(key)
        if isinstance(value, list):
            found[key.lower()] = redact_command(" ".join(map(str, value)))
        elif isinstance(value, str):
            found[key.lower()] = redact_command(value)
    if isinstance(body.get("Env"), list):
        found["env_names"] = [str(item).split("=", 1)[0] for item in body["Env"]]
    found.update(_host_summary(body.get("HostConfig")))
    found["keys"] = sorted(str(k) for k in body)[:50]
    return found


def _host_summary(host: object) -> dict[str, Any]:
    if not isinstance(host, dict):
        return {}
    found = {
        key.lower(): host[key] for key in ("Privileged", "NetworkMode", "PidMode") if host.get(key)
    }
    if host.get("CapAdd"):
        found["cap_add"] = list(host["CapAdd"])
    if host.get("Binds"):
        found["binds"] = [":".join(str(bind).split(":")[:2]) for bind in host["Binds"]]
    return found


@dataclass(frozen=True, slots=True)
class Request:
    """One API request as dockerd described it to the plugin."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: object
    """The decoded JSON body, or ``None``."""

    @property
    def name(self) -> str | None:
        """The name a create gives its object."""
        named = self.query.get("name")
        return named[0] if named else None


Verdict = tuple[bool, str, tuple[str, ...]]
"""(allowed, what the client is told when denied, the ids of the rules that decided)."""


def read_request(request: dict[str, Any]) -> Request:
    uri = str(request.get("RequestUri") or "")  # (Go's field RequestURI, as JSON names it)
    parsed = urllib.parse.urlsplit(uri)
    body = None
    raw = request.get("RequestBody")
    if raw:
        with contextlib.suppress(ValueError, binascii.Error, orjson.JSONDecodeError):
            body = orjson.loads(base64.b64decode(str(raw)))
    return Request(
        str(request.get("RequestMethod") or ""),
        parsed.path,
        urllib.parse.parse_qs(parsed.query),
        body,
    )


def changes_images(request: dict[str, Any]) -> bool:
    """Whether a request may change what an image name or ID stands for in the engine:
    anything but a read, or a request about containers, execs, networks or volumes (a pull,
    a tag, a load, a build, a commit, a removal, …)."""
    if str(request.get("RequestMethod") or "") in ("GET", "HEAD"):
        return False
    return not _KEEPS_IMAGES.match(str(request.get("RequestUri") or ""))


def request_record(host: str, request: dict[str, Any], verdict: Verdict | None = None) -> Record:
    """The audit record of one API request as dockerd described it to the plugin, with the
    policy's verdict on it when there was one."""
    asked = read_request(request)
    kind, object_id = "api", ""
    found = _OBJECT.match(asked.path)
    if found is not None:
        kind, object_id = found.group(1).rstrip("s"), urllib.parse.unquote(found.group(2))
    context: dict[str, Any] = {
        "method": asked.method,
        "path": asked.path,
        "query": sorted(asked.query),
        "authn": str(request.get("UserAuthNMethod") or "none"),
        "object_kind": kind,
        **summary(asked.body),
    }
    if verdict is not None:
        context["decision"] = "allowed" if verdict[0] else "denied"
        context["rules"] = list(verdict[2])
    return Record(
        -1, now(), host, "api", "request", object_id, asked.name, caller(request), context
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = 30
    """Seconds a connection may sit idle (closing the plugin waits for its handlers)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer({"Allow": False, "Err": "request too large for the audit plugin"})
            return
        try:
            request = orjson.loads(self.rfile.read(length) or b"{}")
        except orjson.JSONDecodeError:
            request = {}
        if self.path == "/Plugin.Activate":
            self._answer({"Implements": ["authz"]})
        elif self.path == "/AuthZPlugin.AuthZReq":
            started = time.perf_counter()
            self.server.images_changed_by(request)
            verdict = self.server.judge(request)
            # recorded before the answer: the request is in the log before dockerd acts on
            # it (the collector joins the events it causes to it), at a few ms a request
            try:
                self.server.record(request_record(self.server.host, request, verdict))
            except Exception as exc:  # noqa: BLE001 - recorded or not, dockerd gets an answer
                log.warning("authz: a request could not be recorded: %s", exc)
            if verdict is None or verdict[0]:
                self._answer({"Allow": True})
            else:
                self._answer({"Allow": False, "Msg": verdict[1]})
            self.server.decisions.append(time.perf_counter() - started)
            if self.server.answered is not None:
                self.server.answered()  # (dockerd has its answer: upkeep falls here)
        elif self.path == "/AuthZPlugin.AuthZRes":
            self.server.images_changed_by(request)  # (and once more, now that it is done)
            self._answer({"Allow": True})
        else:
            self.send_error(404)

    def _answer(self, document: dict[str, Any]) -> None:
        body = orjson.dumps(document)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "dockerd"

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = False
    block_on_close = True
    """Closing waits for the handlers (a record being written is finished)."""
    host: str
    record: Callable[[Record], None]
    decide: Callable[[Request], Verdict | None] | None
    fail_closed: bool
    images_changed: Callable[[], None] | None
    answered: Callable[[], None] | None
    decisions: collections.deque[float]
    """Seconds each of the last requests took, from asked to answered (judged, recorded)."""

    def images_changed_by(self, request: dict[str, Any]) -> None:
        """Tell ``images_changed`` of a request that may change images, when it is asked
        and again with its response (what the policy knew of images may be stale)."""
        if self.images_changed is not None and changes_images(request):
            self.images_changed()

    def judge(self, request: dict[str, Any]) -> Verdict | None:
        """The policy's verdict (``None``: no policy, or a request it does not judge); a
        policy that cannot be applied denies or allows as ``fail_closed`` says."""
        if self.decide is None:
            return None
        try:
            return self.decide(read_request(request))
        except Exception as exc:  # noqa: BLE001 - dockerd gets an answer whatever happened
            log.warning("authz: the policy could not be applied: %s", exc)
            state = "closed" if self.fail_closed else "open"
            return (not self.fail_closed, f"hullcheck policy failed {state}: {exc}", ())


class Plugin:
    """The plugin's server on ``PLUGINS_DIR/NAME.sock`` (0600: only dockerd, as root)."""

    def __init__(
        self,
        name: str,
        host: str,
        record: Callable[[Record], None],
        directory: str = PLUGINS_DIR,
        *,
        decide: Callable[[Request], Verdict | None] | None = None,
        fail_closed: bool = True,
        on_close: Callable[[], None] | None = None,
        images_changed: Callable[[], None] | None = None,
        answered: Callable[[], None] | None = None,
    ) -> None:
        self._on_close = on_close
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}", name):
            raise UsageError(f"--socket-name {name!r}: letters, digits, `.`, `_` and `-` only")
        os.makedirs(directory, mode=0o755, exist_ok=True)
        self.path = os.path.join(directory, f"{name}.sock")
        with contextlib.suppress(FileNotFoundError):
            if not _is_socket(self.path):
                raise UsageError(f"{self.path}: exists and is not a socket; refusing to replace it")
            os.unlink(self.path)
        old = os.umask(0o177)
        try:
            self.server = _Server(self.path, _Handler)
        finally:
            os.umask(old)
        self.server.host = host
        self.server.record = record
        self.server.decide = decide
        self.server.fail_closed = fail_closed
        self.server.images_changed = images_changed
        self.server.answered = answered
        self.server.decisions = collections.deque(maxlen=DECISIONS_KEPT)
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False

    def decision_times(self) -> list[float]:
        """Seconds the last ``DECISIONS_KEPT`` requests took, from asked to answered."""
        return list(self.server.decisions)

    def serve_forever(self) -> None:
        self._serving = True
        self.server.serve_forever()

    def start(self) -> None:
        self._serving = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving, wait for the requests being handled (their records written), remove
        the socket; once."""
        if self._closed:
            return
        self._closed = True
        if self._serving:  # (shutdown waits for a serving loop: one never started never ends)
            self.server.shutdown()
        self.server.server_close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if self._on_close is not None:
            self._on_close()  # (what decide held: after the last request was answered)


def _is_socket(path: str) -> bool:
    return stat.S_ISSOCK(os.lstat(path).st_mode)
