"""A client of the Docker Registry HTTP API v2 (the OCI distribution API) that trusts
nothing a registry says about content: every manifest and blob is checked against its digest.

- HTTPS, verified against the system's CAs and ``/etc/docker/certs.d/HOST/ca.crt`` as Docker
  does; plain HTTP only for loopback registries and those named insecure (``insecure=``,
  ``HULLCHECK_INSECURE_REGISTRIES``), after HTTPS failed — Docker's own rule.
- Authentication as a registry's ``WWW-Authenticate`` challenge asks: Basic, or Bearer
  tokens from its realm (anonymous, or with the credentials Docker would send). A token
  realm on plain HTTP gets no credentials unless it is loopback or insecure too.
- Bounded: manifests and indexes up to 16 MiB, blobs no longer than their descriptor says,
  every request under a timeout.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import ssl
from collections.abc import Collection, Iterator
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit

from hullcheck.digests import mismatch, unmatched
from hullcheck.errors import RegistryError
from hullcheck.registry.credentials import Credentials, credentials_for
from hullcheck.registry.reference import is_loopback

if TYPE_CHECKING:
    import httpx

MAX_MANIFEST_BYTES = 16 * 1024 * 1024
TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
CHUNK = 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
CERTS_D = "/etc/docker/certs.d"
_DIGEST = re.compile(r"(sha256|sha384|sha512):[0-9a-f]{64,128}")
_PARAM = re.compile(r'(\w+)="([^"]*)"|(\w+)=([^\s,]*)')


def insecure_registries() -> frozenset[str]:
    """Registries named in ``HULLCHECK_INSECURE_REGISTRIES`` (comma-separated hosts)."""
    listed = os.environ.get("HULLCHECK_INSECURE_REGISTRIES", "")
    return frozenset(item.strip() for item in listed.split(",") if item.strip())


class Manifest:
    """A manifest's exact bytes, its media type and its (verified) digest."""

    def __init__(self, data: bytes, media_type: str, digest: str, document: dict[str, Any]):
        self.data = data
        self.media_type = media_type
        self.digest = digest
        self.document = document


class RegistryClient:
    """One registry (``domain``, with its port); a ``with`` block closes its connections."""

    def __init__(
        self,
        domain: str,
        *,
        api_host: str | None = None,
        insecure: Collection[str] = (),
        credentials: Credentials | None = None,
    ) -> None:
        self.domain = domain
        self.api_host = api_host or domain
        self._insecure = is_loopback(self.api_host) or bool(
            {domain, self.api_host} & (set(insecure) | insecure_registries())
        )
        self._credentials = credentials
        self._asked_credentials = credentials is not None
        self._base: str | None = None
        self._tokens: dict[str, str] = {}
        self._basic = False
        import httpx  # deferred: ~70 ms of import a command without a registry never needs

        self._http = httpx.Client(
            timeout=httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=True,
            verify=_verify(self.api_host),
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- reading -------------------------------------------------------------------------------
    def manifest(
        self, repository: str, pointer: str, accept: tuple[str, ...] = MANIFEST_TYPES
    ) -> Manifest:
        """The manifest or index ``pointer`` (a tag or a digest) names; a digest-pinned one
        must hash to its digest, a tagged one to the digest the registry names."""
        found = self._manifest(repository, pointer, accept, missing_ok=False)
        assert found is not None  # (a missing one raised)
        return found

    def find_manifest(
        self, repository: str, pointer: str, accept: tuple[str, ...] = MANIFEST_TYPES
    ) -> Manifest | None:
        """As :meth:`manifest`, ``None`` when there is none (a signature tag not written yet)."""
        return self._manifest(repository, pointer, accept, missing_ok=True)

    def _manifest(
        self, repository: str, pointer: str, accept: tuple[str, ...], *, missing_ok: bool
    ) -> Manifest | None:
        what = (
            f"{self.domain}/{repository}@{pointer}"
            if ":" in pointer
            else (f"{self.domain}/{repository}:{pointer}")
        )
        with self._stream(
            "GET",
            repository,
            f"manifests/{pointer}",
            what,
            headers={"Accept": ", ".join(accept)},
            missing_ok=missing_ok,
        ) as response:
            if response.status_code != 200:
                return None  # (404 or 405, missing_ok)
            data = _read_bounded(response, MAX_MANIFEST_BYTES, what)
            header_digest = response.headers.get("Docker-Content-Digest")
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if _DIGEST.fullmatch(pointer):
            digest = _check(data, pointer, what)
        elif header_digest and _DIGEST.fullmatch(header_digest):
            digest = _check(data, header_digest, what)
        document = _json_object(data, what)
        declared = document.get("mediaType")
        if isinstance(declared, str) and declared:
            media_type = declared
        if (
            media_type not in MANIFEST_TYPES
            and not document.get("manifests")
            and not (document.get("layers") is not None)
        ):
            raise RegistryError(f"{what}: the registry answered {media_type!r}, not a manifest")
        return Manifest(data, media_type, digest, document)

    def blob_bytes(self, repository: str, digest: str, size: int | None, what: str) -> bytes:
        """A small blob (a config), read whole and checked against its digest."""
        limit = MAX_MANIFEST_BYTES if size is None else min(size, MAX_MANIFEST_BYTES)
        with self._stream("GET", repository, f"blobs/{digest}", what) as response:
            data = _read_bounded(response, limit, what)
        _check(data, digest, what)
        return data

    def open_blob(self, repository: str, digest: str, size: int | None, what: str) -> IO[bytes]:
        """A blob as a stream hashed as it is read: at its end, a content that is not its
        digest, or longer or shorter than ``size``, raises :class:`RegistryError`."""
        if not _DIGEST.fullmatch(digest):
            raise RegistryError(f"{what}: {digest[:80]!r} is not a digest")
        context = self._stream("GET", repository, f"blobs/{digest}", what)
        response = context.__enter__()
        return _BlobStream(response, context, digest, size, what)  # type: ignore[return-value]  # a binary stream

    def referrers(self, repository: str, digest: str, artifact_type: str) -> list[dict[str, Any]]:
        """Descriptors of the manifests whose ``subject`` is ``digest`` and whose artifact
        type is ``artifact_type``: the referrers API, or its tag schema (an index tagged
        ``sha256-<hex>``) where the registry has no such API."""
        what = f"{self.domain}/{repository}@{digest}"
        with self._stream(
            "GET",
            repository,
            f"referrers/{digest}",
            what,
            params={"artifactType": artifact_type},
            missing_ok=True,
        ) as response:
            if response.status_code == 200:
                index = _json_object(_read_bounded(response, MAX_MANIFEST_BYTES, what), what)
            else:
                index = None
        if index is None:
            tagged = self.find_manifest(repository, referrers_tag(digest), (OCI_INDEX,))
            if tagged is None:
                return []
            index = tagged.document
        listed = index.get("manifests")
        return [
            m
            for m in (listed if isinstance(listed, list) else [])
            if isinstance(m, dict) and m.get("artifactType") == artifact_type
        ]

    def has_referrers_api(self, repository: str, digest: str) -> bool:
        """Whether the registry answers the OCI 1.1 referrers API (distribution 2.8 does not)."""
        with self._stream(
            "GET",
            repository,
            f"referrers/{digest}",
            f"{self.domain}/{repository}@{digest}",
            missing_ok=True,
        ) as response:
            return response.status_code == 200

    # -- writing -------------------------------------------------------------------------------
    def push_blob(self, repository: str, data: bytes, what: str) -> str:
        """Upload ``data`` unless the registry has it; its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._stream(
            "HEAD", repository, f"blobs/{digest}", what, missing_ok=True, push=True
        ) as response:
            if response.status_code == 200:
                return digest
        with self._stream("POST", repository, "blobs/uploads/", what, push=True) as response:
            location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"{what}: the registry started an upload without a Location")
        url = urljoin(self._root() + "/", location)
        if urlsplit(url).netloc != urlsplit(self._root()).netloc:
            raise RegistryError(f"{what}: the registry sent the upload to another host")
        # the upload's own query (its state) is kept: the digest is added to it
        url += ("&" if "?" in url else "?") + urlencode({"digest": digest})
        with self._stream(
            "PUT",
            repository,
            url,
            what,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            push=True,
        ):
            pass
        return digest

    def push_manifest(
        self, repository: str, pointer: str, data: bytes, media_type: str, what: str
    ) -> str:
        """Put a manifest under ``pointer`` (a tag, or its own digest); its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._stream(
            "PUT",
            repository,
            f"manifests/{pointer}",
            what,
            content=data,
            headers={"Content-Type": media_type},
            push=True,
        ) as response:
            named = response.headers.get("Docker-Content-Digest")
        if named and named != digest:
            raise RegistryError(f"{what}: the registry stored {named}, not {digest}")
        return digest

    # -- the exchange --------------------------------------------------------------------------
    def _root(self) -> str:
        if self._base is None:
            self._base = self._probe()
        return self._base

    def _probe(self) -> str:
        """``https://HOST``, or ``http://HOST`` for an insecure registry that has no HTTPS."""
        import httpx

        secure = f"https://{self.api_host}"
        try:
            self._http.get(f"{secure}/v2/").close()
            return secure
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if not self._insecure or not _tls_refused(exc):
                hint = None
                if _tls_refused(exc):
                    hint = (
                        "it does not speak HTTPS: plain HTTP is used only for loopback "
                        "registries and those named in HULLCHECK_INSECURE_REGISTRIES"
                    )
                raise RegistryError(
                    f"{self.domain}: cannot reach the registry ({_why(exc)})", hint=hint
                ) from None
        except httpx.HTTPError as exc:
            raise RegistryError(f"{self.domain}: cannot reach the registry ({_why(exc)})") from None
        return f"http://{self.api_host}"

    def _stream(
        self,
        method: str,
        repository: str,
        path: str,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        missing_ok: bool = False,
        push: bool = False,
    ) -> _Exchange:
        url = (
            path
            if path.startswith(("http://", "https://"))
            else (f"{self._root()}/v2/{repository}/{path}")
        )
        scope = f"repository:{repository}:{'pull,push' if push else 'pull'}"
        return _Exchange(self, method, url, scope, what, headers or {}, params, content, missing_ok)

    def _authorization(self, scope: str) -> dict[str, str]:
        import httpx

        token = self._tokens.get(scope)
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        if self._basic:
            creds = self._creds()
            if creds is not None:
                auth = httpx.BasicAuth(creds.username, creds.password)
                request = httpx.Request("GET", "http://x")
                return {"Authorization": next(auth.auth_flow(request)).headers["Authorization"]}
        return {}

    def _creds(self) -> Credentials | None:
        if not self._asked_credentials:
            self._credentials = credentials_for(self.domain)
            self._asked_credentials = True
        return self._credentials

    def _answer_challenge(self, response: httpx.Response, scope: str, what: str) -> bool:
        """Act on a 401's challenge; whether asking again can succeed."""
        challenge = response.headers.get("WWW-Authenticate", "")
        kind, _, rest = challenge.partition(" ")
        params = {
            (m.group(1) or m.group(3)).lower(): (m.group(2) if m.group(1) else m.group(4))
            for m in _PARAM.finditer(rest)
        }
        if kind.lower() == "basic":
            if self._basic or self._creds() is None:
                return False
            self._basic = True
            return True
        if kind.lower() == "bearer":
            # (asked again when a token held was refused: it expired, or a registry asked a
            # narrower scope for a HEAD than the push that followed needs)
            self._tokens[scope] = self._token(params, scope, what)
            return True
        return False

    def _token(self, params: dict[str, str], scope: str, what: str) -> str:
        import httpx

        realm = params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise RegistryError(f"{what}: the registry names no usable token realm")
        creds = self._creds()
        realm_insecure = is_loopback(parts.netloc) or parts.netloc in insecure_registries()
        if parts.scheme == "http" and not realm_insecure:
            creds = None  # never a password in clear over the network
        # the scope this client needs (pull, or pull and push), and the registry's own when
        # it names another
        scopes = [scope] + ([params["scope"]] if params.get("scope", scope) != scope else [])
        query: dict[str, str | list[str]] = {"scope": scopes}
        if params.get("service"):
            query["service"] = params["service"]
        try:
            if creds is not None and creds.identity_token:
                answer = self._http.post(
                    realm,
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": creds.identity_token,
                        "client_id": "hullcheck",
                        **query,
                    },
                )
            else:
                auth = httpx.BasicAuth(creds.username, creds.password) if creds else None
                answer = self._http.get(realm, params=query, auth=auth)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{what}: the token service failed ({_why(exc)})") from None
        if answer.status_code in (401, 403):
            raise RegistryError(
                f"{what}: the registry's token service refused "
                f"{'the credentials' if creds else 'anonymous access'} ({answer.status_code})",
                hint="docker login " + self.domain,
            )
        if answer.status_code != 200 or len(answer.content) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"{what}: the token service answered {answer.status_code}")
        found = _json_object(answer.content, f"{what}: token")
        token = found.get("token") or found.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{what}: the token service answered no token")
        return token


class _Exchange:
    """One request, answering the registry's challenge once; a context manager around the
    streamed response, whose status is checked."""

    def __init__(
        self,
        client: RegistryClient,
        method: str,
        url: str,
        scope: str,
        what: str,
        headers: dict[str, str],
        params: dict[str, str] | None,
        content: bytes | None,
        missing_ok: bool,
    ) -> None:
        self.client = client
        self.method = method
        self.url = url
        self.scope = scope
        self.what = what
        self.headers = headers
        self.params = params
        self.content = content
        self.missing_ok = missing_ok
        self.response: httpx.Response | None = None

    def __enter__(self) -> httpx.Response:
        for attempt in range(2):
            response = self._send()
            if response.status_code != 401 or attempt == 1:
                break
            if not self.client._answer_challenge(response, self.scope, self.what):
                break
            response.close()  # the challenge answered: ask again
        self.response = response
        status = response.status_code
        if status < 300 or (self.missing_ok and status in (404, 405)):
            return response
        if self.method != "HEAD" and _small(response):
            response.read()  # the registry's error document, named in the message
        response.close()
        raise RegistryError(_refusal(self.what, status, response), hint=_hint(status, self.client))

    def _send(self) -> httpx.Response:
        import httpx

        headers = {**self.headers, **self.client._authorization(self.scope)}
        request = self.client._http.build_request(
            self.method, self.url, headers=headers, params=self.params, content=self.content
        )
        try:
            return self.client._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{self.what}: the registry failed ({_why(exc)})") from None

    def __exit__(self, *exc: object) -> None:
        if self.response is not None:
            self.response.close()


class _BlobStream(io.RawIOBase):
    """A streamed blob, hashed and counted as it is read."""

    def __init__(
        self,
        response: httpx.Response,
        exchange: _Exchange,
        digest: str,
        size: int | None,
        what: str,
    ) -> None:
        super().__init__()
        self._exchange = exchange
        self._chunks: Iterator[bytes] = response.iter_bytes(CHUNK)
        self._pending = b""
        self._digest = digest
        self._hash = hashlib.new(digest.partition(":")[0])
        self._size = size
        self._read = 0
        self._what = what
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import httpx

        if not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                self._finish()
                return 0
            except httpx.HTTPError as exc:
                raise RegistryError(f"{self._what}: the download failed ({_why(exc)})") from None
            self._read += len(self._pending)
            if self._size is not None and self._read > self._size:
                raise RegistryError(
                    f"{self._what}: the registry sends more than the {self._size} bytes its "
                    "manifest names"
                )
            self._hash.update(self._pending)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._size is not None and self._read != self._size:
            raise RegistryError(
                f"{self._what}: the registry sent {self._read} bytes, not the {self._size} its "
                "manifest names (truncated)"
            )
        actual = self._hash.hexdigest()
        if actual != self._digest.partition(":")[2]:
            raise RegistryError(mismatch(self._what, self._digest, actual))

    def close(self) -> None:
        if not self.closed:
            self._exchange.__exit__(None, None, None)
        super().close()


def referrers_tag(digest: str) -> str:
    """The tag the referrers tag schema files ``digest``'s referrers under."""
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}-{hexdigest}"


def _read_bounded(response: httpx.Response, limit: int, what: str) -> bytes:
    import httpx

    data = bytearray()
    try:
        for chunk in response.iter_bytes(CHUNK):
            data += chunk
            if len(data) > limit:
                raise RegistryError(f"{what}: the registry sends more than {limit} bytes")
    except httpx.HTTPError as exc:
        raise RegistryError(f"{what}: the download failed ({_why(exc)})") from None
    return bytes(data)


def _check(data: bytes, digest: str, what: str) -> str:
    wrong = unmatched(data, digest, what)
    if wrong is not None:
        raise RegistryError(wrong)
    return digest


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise RegistryError(f"{what}: expected a JSON object")
    return value


def _small(response: httpx.Response) -> bool:
    length = response.headers.get("Content-Length", "")
    return length.isdigit() and int(length) <= 64 * 1024


def _refusal(what: str, status: int, response: httpx.Response) -> str:
    import httpx

    detail = ""
    try:
        errors = response.json().get("errors") if response.is_stream_consumed else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail = (
                f": {str(errors[0].get('code', ''))[:60]} {str(errors[0].get('message', ''))[:200]}"
            )
    except (ValueError, AttributeError, httpx.HTTPError):
        pass
    meaning = {
        401: "unauthorized",
        403: "forbidden",
        404: "not found",
        429: "too many requests",
    }.get(status, "failed" if status >= 500 else "refused")
    return f"{what}: the registry answered {status} ({meaning}){detail.rstrip()}"


def _hint(status: int, client: RegistryClient) -> str | None:
    if status in (401, 403):
        return f"docker login {client.domain}"
    return None


def _tls_refused(exc: Exception) -> bool:
    """Whether a failed connect was TLS not spoken (as opposed to nobody listening)."""
    text = str(exc).lower()
    return "ssl" in text or "tls" in text or "wrong version" in text or "record layer" in text


def _verify(host: str) -> ssl.SSLContext | bool:
    ca = os.path.join(CERTS_D, host, "ca.crt")
    if os.path.isfile(ca):
        return ssl.create_default_context(cafile=ca)
    return True


def _why(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
