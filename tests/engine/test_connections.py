"""Connections to an engine: refused ones leave nothing open behind; its event stream is
read whole however it is chunked."""

from __future__ import annotations

import gc
import json
import os
import socket
import warnings

import pytest
import requests

from hullcheck.engine.client import MAX_EVENT, _api_class, decode_event, event_lines

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")


def decode_events(chunks: list[bytes]) -> list[dict[str, object]]:
    """What the collector takes from a stream's raw chunks."""
    return [decode_event(line) for line in event_lines(chunks)]


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


@pytest.mark.parametrize("kind", ["docker26", "podman5"])
def test_an_event_stream_is_read_whole_however_it_is_chunked(kind: str) -> None:
    with open(os.path.join(ENGINE, kind, "events.jsonl"), "rb") as handle:
        raw = handle.read()
    expected = [json.loads(line) for line in raw.splitlines()]
    for size in (1, 7, 100, 4096, len(raw)):
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert decode_events(chunks) == expected, size
    # the last event without its newline (the stream ended there): still read
    assert decode_events([raw.rstrip(b"\n")]) == expected


def test_what_is_not_an_event_is_passed_on_as_malformed_not_dropped() -> None:
    with open(os.path.join(ENGINE, "docker26", "events.jsonl"), "rb") as handle:
        first, second = handle.readline(), handle.readline()
    torn = first[: len(first) // 2]  # an engine that died mid-write
    found = decode_events([first, torn + b"\n", b"[1, 2]\n", second])
    assert found[0] == json.loads(first) and found[3] == json.loads(second)
    assert found[1] == {"malformed": torn.decode()}
    assert found[2] == {"malformed": "[1, 2]"}
    endless = [b"x" * 65536] * (MAX_EVENT // 65536 + 2)  # no newline for a long time: bounded
    found = decode_events([*endless, b"xx\n" + first, second])
    assert len(found[0]["malformed"]) == 4096
    assert found[1:] == [json.loads(first), json.loads(second)]  # the stream goes on
