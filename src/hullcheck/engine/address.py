"""Engine addresses as ``hosts add`` takes them: checked, normalised, and never a secret.

A password in a URL (``tcp://admin:hunter2@…``) would be stored in plain text, listed by
``hosts list`` and repeated in every error of every sync: it is refused, with the ways the
Docker Engine really authenticates clients — TLS client certificates, or ssh keys. What the
store already holds from before is shown and reported without it (:func:`without_secret`).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import urllib.parse

from hullcheck.engine.client import tls_files
from hullcheck.errors import UsageError
from hullcheck.model import Host

SCHEMES = ("unix", "tcp", "ssh", "http", "https")
EXAMPLES = "use unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST"


def checked_host(host: Host) -> tuple[Host, list[str]]:
    """``host`` with an address that can work and absolute TLS paths, and warnings (a TLS
    key others can read); a :class:`UsageError` naming what is wrong otherwise."""
    scheme = _checked_url(host.url)
    files = tls_files(host)  # all three or none
    if files is None:
        return host, []
    if scheme in ("unix", "ssh"):
        raise UsageError(f"{host.url}: TLS files are for tcp:// and https:// addresses")
    ca, cert, key = (_tls_file(str(path), host.name) for path in files)
    warnings = []
    if os.stat(key).st_mode & 0o077:
        warnings.append(f"{key}: the TLS key of {host.name} is open to other users (chmod 600 it)")
    return dataclasses.replace(host, tls_ca=ca, tls_cert=cert, tls_key=key), warnings


def _checked_url(url: str) -> str:
    """The scheme of an engine address that can work; :class:`UsageError` otherwise."""
    try:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port
    except ValueError as exc:
        raise UsageError(f"{without_secret(url)}: not an engine address ({exc})") from None
    if parsed.scheme not in SCHEMES:
        raise UsageError(f"{without_secret(url)}: not an engine address", hint=EXAMPLES)
    if parsed.password is not None:
        raise UsageError(
            f"{without_secret(url)}: a password in the address would be stored and shown",
            hint="authenticate with --tls-ca/--tls-cert/--tls-key (tcp) or an ssh key (ssh://)",
        )
    if parsed.scheme == "unix":
        if parsed.netloc or not parsed.path.startswith("/"):
            raise UsageError(f"{url}: a unix address is unix:///ABSOLUTE/PATH", hint=EXAMPLES)
        return parsed.scheme
    if not parsed.hostname:
        raise UsageError(f"{url}: the address names no host", hint=EXAMPLES)
    if parsed.username is not None and parsed.scheme != "ssh":
        raise UsageError(
            f"{url}: a user name belongs to ssh:// addresses only",
            hint="authenticate with --tls-ca/--tls-cert/--tls-key",
        )
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise UsageError(f"{url}: an engine address has no path or query", hint=EXAMPLES)
    if port == 0:
        raise UsageError(f"{url}: port 0 is no port")
    return parsed.scheme


def _tls_file(path: str, host: str) -> str:
    """``path`` made absolute (a later sync may run elsewhere), once it is a regular file."""
    path = os.path.abspath(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise UsageError(f"{path}: {reason} (TLS for {host})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: not a regular file (TLS for {host})")
    return path


def without_secret(text: str, url: str | None = None) -> str:
    """``text`` (an address, or a message that may quote ``url``) with a URL password shown
    as ``***``."""
    try:
        password = urllib.parse.urlsplit(url or text).password
    except ValueError:
        return text
    if not password:
        return text
    return text.replace(f":{password}@", ":***@").replace(password, "***")
