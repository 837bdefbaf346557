"""Registry credentials where Docker keeps them: ``$DOCKER_CONFIG/config.json`` (else
``~/.docker/config.json``): ``auths`` entries, and credential helpers (``credHelpers`` per
registry, ``credsStore`` for all) asked through their ``docker-credential-NAME get`` protocol.

Credentials are read when a registry asks for them and kept in memory only: never stored,
never logged, never put into an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from hullcheck.errors import RegistryError
from hullcheck.registry.reference import DOCKER_HUB, HUB_AUTH_KEY

HELPER_TIMEOUT = 30.0
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password, or an identity (refresh) token; ``repr`` shows neither."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)


def config_path() -> str:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def credentials_for(domain: str, path: str | None = None) -> Credentials | None:
    """What Docker would send to ``domain``; ``None`` for anonymous access."""
    path = path or config_path()
    config = _read_config(path)
    if config is None:
        return None
    key = HUB_AUTH_KEY if domain == DOCKER_HUB else domain
    helpers = config.get("credHelpers")
    helper = helpers.get(domain) if isinstance(helpers, dict) else None
    if isinstance(helper, str) and helper:
        return _from_helper(helper, key)
    auths = config.get("auths")
    entry = _auth_entry(auths, domain, key) if isinstance(auths, dict) else None
    if entry is not None:
        return _from_entry(entry, domain, path)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, key)
    return None


def _read_config(path: str) -> dict[str, object] | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise RegistryError(f"{path}: too large for a Docker client configuration")
    try:
        config = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{path}: not valid JSON ({exc})") from None
    return config if isinstance(config, dict) else None


def _auth_entry(auths: dict[str, object], domain: str, key: str) -> dict[str, object] | None:
    """The entry for ``domain``, under any of the spellings Docker writes and reads."""
    wanted = {key, domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v1/"}
    for name, entry in auths.items():
        if isinstance(entry, dict) and (name in wanted or name.rstrip("/") in wanted):
            return entry
    return None


def _from_entry(entry: dict[str, object], domain: str, path: str) -> Credentials | None:
    token = entry.get("identitytoken")
    encoded = entry.get("auth")
    username, password = entry.get("username"), entry.get("password")
    if isinstance(encoded, str) and encoded:
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(
                f"{path}: the credentials for {domain} are not base64 of user:password"
            ) from None
    if not (isinstance(username, str) and isinstance(password, str)):
        username = password = ""
    identity = token if isinstance(token, str) else ""
    if not (username or password or identity):
        return None
    return Credentials(username, password, identity)


def _from_helper(helper: str, key: str) -> Credentials | None:
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise RegistryError(
            f"credential helper docker-credential-{helper} (named in {config_path()}) is not "
            "installed"
        )
    try:
        answer = subprocess.run(
            [program, "get"],
            input=key.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RegistryError(f"docker-credential-{helper} failed ({type(exc).__name__})") from None
    if answer.returncode != 0:
        # "credentials not found in native keychain": anonymous, as Docker does
        return None
    try:
        found = json.loads(answer.stdout)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryError(f"docker-credential-{helper} answered something not JSON") from None
    if not isinstance(found, dict):
        return None
    username, secret = str(found.get("Username") or ""), str(found.get("Secret") or "")
    if username == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(username, secret) if username or secret else None
