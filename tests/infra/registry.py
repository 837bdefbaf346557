"""A real registry for the tests: Debian's ``docker-registry`` (CNCF distribution 2.8) on
loopback, with its own storage, open, behind htpasswd (Basic) or behind a token service
(Bearer): a small issuer here signs the JSON Web Tokens the registry itself verifies against
the issuer's certificate, as Docker Hub's auth.docker.io does for registry-1.docker.io."""

from __future__ import annotations

import base64
import contextlib
import datetime
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.infra.engine import free_port

USER, PASSWORD = "hc-user", "hc-secret-password"
SERVICE = "hullcheck-test-registry"
ISSUER = "hullcheck-test-issuer"


@dataclass
class Registry:
    """One running registry; ``auth`` is ``None``, ``"basic"`` or ``"token"``."""

    directory: str
    auth: str | None = None
    address: str = "127.0.0.1"
    """Where it listens: loopback (plain HTTP allowed), or another address of this machine."""
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    issuer: TokenIssuer | None = None
    tokens_issued: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def storage(self) -> str:
        return os.path.join(self.directory, "storage")

    def start(self) -> None:
        os.makedirs(self.storage, exist_ok=True)
        self.port = free_port()
        auth = ""
        if self.auth == "basic":
            passwords = os.path.join(self.directory, "htpasswd")
            entry = subprocess.run(
                ["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, check=True
            ).stdout
            with open(passwords, "wb") as handle:
                handle.write(entry)
            auth = f"auth:\n  htpasswd:\n    realm: {SERVICE}\n    path: {passwords}\n"
        elif self.auth == "token":
            self.issuer = TokenIssuer(self.directory, self.tokens_issued)
            auth = (
                "auth:\n  token:\n"
                f"    realm: {self.issuer.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.issuer.certificate}\n"
            )
        config = os.path.join(self.directory, "config.yml")
        with open(config, "w") as handle:
            handle.write(
                "version: 0.1\n"
                "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
                "  delete:\n    enabled: true\n"
                f"http:\n  addr: {self.host}\n  secret: {uuid.uuid4().hex}\n" + auth
            )
        log = open(os.path.join(self.directory, "registry.log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["docker-registry", "serve", config], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited; see {self.directory}/registry.log")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://{self.host}/v2/", timeout=2)
                return
            time.sleep(0.1)
        raise RuntimeError("docker-registry did not answer in 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.issuer is not None:
            self.issuer.close()
            self.issuer = None

    def push_archive(self, archive: str, repository: str, tag: str) -> str:
        """Push a docker-archive with skopeo; the reference pushed."""
        reference = f"{self.host}/{repository}:{tag}"
        command = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
        if self.auth is not None:
            command.append(f"--dest-creds={USER}:{PASSWORD}")
        subprocess.run(
            [*command, f"docker-archive:{archive}", f"docker://{reference}"],
            check=True,
            capture_output=True,
        )
        return reference

    def blob_file(self, digest: str) -> str:
        """Where the registry keeps a blob on disk."""
        hexdigest = digest.partition(":")[2]
        return os.path.join(
            self.storage,
            "docker/registry/v2/blobs/sha256",
            hexdigest[:2],
            hexdigest,
            "data",
        )


@contextlib.contextmanager
def running_registry(
    directory: str, auth: str | None = None, address: str = "127.0.0.1"
) -> Iterator[Registry]:
    registry = Registry(directory, auth, address)
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(registry.storage, ignore_errors=True)


def docker_config(directory: str, registry: Registry, password: str = PASSWORD) -> str:
    """A ``config.json`` as ``docker login`` writes it; the directory for ``DOCKER_CONFIG``."""
    os.makedirs(directory, exist_ok=True)
    encoded = base64.b64encode(f"{USER}:{password}".encode()).decode()
    with open(os.path.join(directory, "config.json"), "w") as handle:
        json.dump({"auths": {registry.host: {"auth": encoded}}}, handle)
    return directory


@contextmanager
def pass_helper(credentials: dict[str, tuple[str, str]]) -> Iterator[dict[str, str]]:
    """Docker's real credential helper ``docker-credential-pass`` (Debian's
    golang-docker-credential-helpers) holding ``credentials`` (registry → user, secret) in a
    password store of its own, encrypted to a GnuPG key made for it: the environment that
    points the helper there. The key's agent is stopped and everything removed after."""
    home = tempfile.mkdtemp(prefix="hc-pass-", dir="/tmp")  # (short: the agent's socket)
    env = {
        "GNUPGHOME": os.path.join(home, "gnupg"),
        "PASSWORD_STORE_DIR": os.path.join(home, "store"),
    }
    os.makedirs(env["GNUPGHOME"], mode=0o700)
    run = {**os.environ, **env}
    try:
        key = "\n".join((
            "%no-protection", "Key-Type: EdDSA", "Key-Curve: ed25519", "Subkey-Type: ECDH",
            "Subkey-Curve: cv25519", "Name-Real: hullcheck test", "Expire-Date: 0", "%commit",
        ))  # fmt: skip
        subprocess.run(["gpg", "--batch", "--gen-key"], input=key.encode(), env=run,
                       check=True, capture_output=True)  # fmt: skip
        listed = subprocess.run(["gpg", "--list-keys", "--with-colons"], env=run, check=True,
                                capture_output=True, text=True).stdout  # fmt: skip
        fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line[:3] == "fpr")
        subprocess.run(["pass", "init", fingerprint], env=run, check=True, capture_output=True)
        for server, (user, secret) in credentials.items():
            entry = {"ServerURL": server, "Username": user, "Secret": secret}
            subprocess.run(["docker-credential-pass", "store"], input=json.dumps(entry).encode(),
                           env=run, check=True, capture_output=True)  # fmt: skip
        yield env
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=run, check=False,
                       capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


class TokenIssuer:
    """``GET /token?service=…&scope=…`` with Basic credentials → a JWT (ES256, the signing
    certificate in ``x5c``) granting the scope asked; anonymous or wrong credentials: 401."""

    def __init__(self, directory: str, issued: list[str]) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.certificate = os.path.join(directory, "issuer.pem")
        with open(self.certificate, "wb") as handle:
            handle.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self.issued = issued
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                issuer.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def answer(self, request: http.server.BaseHTTPRequestHandler) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            request.send_response(401)
            request.end_headers()
            return
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        token = self.token(access)
        self.issued.append(token)
        body = json.dumps({"token": token}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def token(self, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{_b64(signature)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
