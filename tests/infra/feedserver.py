"""A real HTTP server on loopback serving OSV feeds the way OSV's bucket does.

It answers ``GET /{ecosystem}/all.zip`` with ETag and Last-Modified, honours If-None-Match
(304), Range with If-Range (206), and can be told to cut a response short after N bytes
to test interrupted downloads.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class FeedServer:
    root: str
    """Directory holding ``{ecosystem}/all.zip``."""
    cut_after: int | None = None
    """Close the connection after this many body bytes (once), if set."""
    requests: list[dict[str, str]] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, ecosystem: str, source: str) -> None:
        directory = os.path.join(self.root, ecosystem)
        os.makedirs(directory, exist_ok=True)
        with open(source, "rb") as handle, open(os.path.join(directory, "all.zip"), "wb") as out:
            out.write(handle.read())

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                owner.requests.append({"path": self.path, **dict(self.headers)})
                path = os.path.join(owner.root, urllib.parse.unquote(self.path).lstrip("/"))
                if not os.path.isfile(path):
                    self.send_error(404)
                    return
                with open(path, "rb") as handle:
                    body = handle.read()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                start = 0
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes=") and self.headers.get("If-Range") == etag:
                    start = int(ranged[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sat, 21 Nov 2026 10:00:00 GMT")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if owner.cut_after is not None:
                    payload, owner.cut_after = payload[: owner.cut_after], None
                    self.wfile.write(payload)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
