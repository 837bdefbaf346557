"""A TCP front for an engine's unix socket that stops answering mid-conversation.

Bytes are relayed both ways until a client request's first line contains ``stall_on``; from
then on that connection gets nothing back (the socket stays open, as with a host that hangs
or a network that drops packets). Everything before goes through untouched, so the engine
answers the first part of a sync normally — unless ``rewrite`` (a pattern and its
replacement, of the same length) is given: the engine's answers are relayed with it applied
(an engine that says it is older than it is).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading


class StallProxy:
    def __init__(
        self,
        unix_socket: str,
        stall_on: bytes | None,
        rewrite: tuple[bytes, bytes] | None = None,
    ) -> None:
        """``stall_on=None`` relays everything (until ``stall_on`` is set)."""
        self.unix_socket = unix_socket
        self.stall_on = stall_on
        self.rewrite = rewrite
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.unix_socket)
            self._open += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if not data:
                return
            first_line = data.split(b"\r\n", 1)[0]
            if self.stalled.is_set() or (self.stall_on and self.stall_on in first_line):
                self.stalled.set()
                continue  # swallowed: the engine never hears it, the client never hears back
            try:
                upstream.sendall(data)
            except OSError:
                return

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        while True:
            try:
                data = upstream.recv(65536)
                if not data:
                    return
                if self.rewrite is not None:
                    data = re.sub(*self.rewrite, data)
                client.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()
