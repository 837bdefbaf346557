"""Connections to an engine that refuses them leave nothing open behind."""

from __future__ import annotations

import gc
import socket
import warnings

import pytest
import requests

from hullcheck.engine.client import _api_class


def test_a_refused_unix_connection_closes_its_socket(tmp_path: pytest.TempPathFactory) -> None:
    """A collector retrying an engine that restarts asks it again and again: docker-py's own
    Unix connection leaves each refused socket to the garbage collector (a descriptor held
    until then, and a ResourceWarning)."""
    path = f"{tmp_path}/engine.sock"
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(path)  # there, but not listening: every connect is refused
    client = _api_class()(base_url=f"unix://{path}", version="1.41", timeout=5)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for _ in range(3):
                with pytest.raises(requests.ConnectionError):
                    client.version()
            gc.collect()
        assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    finally:
        client.close()
        bound.close()
