"""Redaction of secret values: history lines of both builders, and one key however many
threads make it at once."""

from __future__ import annotations

import threading

from hullcheck import redaction
from hullcheck.redaction import fingerprint, redact_command, redact_env


def test_history_lines_keep_their_names_and_lose_their_values() -> None:
    # as BuildKit and the legacy builder write them into an image's history
    cases = {
        "RUN |2 TOKEN=s3cret MODE=prod /bin/sh -c make": (
            f"RUN |2 TOKEN={fingerprint('s3cret')} MODE={fingerprint('prod')} /bin/sh -c make"
        ),
        "|1 TOKEN=s3cret /bin/sh -c make": f"|1 TOKEN={fingerprint('s3cret')} /bin/sh -c make",
        "ENV DB_PASSWORD=hunter2 LANG=C.UTF-8": (
            f"ENV DB_PASSWORD={fingerprint('hunter2')} LANG={fingerprint('C.UTF-8')}"
        ),
        "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2": (
            f"/bin/sh -c #(nop)  ENV DB_PASSWORD={fingerprint('hunter2')}"
        ),
        "ARG VERSION=1.2.3": f"ARG VERSION={fingerprint('1.2.3')}",
        "/bin/sh -c apt-get install -y curl": "/bin/sh -c apt-get install -y curl",
        "COPY dir:ded02d862b in /app": "COPY dir:ded02d862b in /app",
    }
    for line, expected in cases.items():
        assert redact_command(line) == expected, line
    assert redact_env(["A=1", "PATH"]) == [f"A={fingerprint('1')}", "PATH"]
    assert fingerprint(fingerprint("x")) == fingerprint("x")  # redacting twice changes nothing


def test_threads_making_the_key_at_once_all_get_the_same_whole_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "data" / "redaction.key")
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        barrier.wait()
        keys.append(redaction._key.__wrapped__(path))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == redaction.KEY_BYTES
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["redaction.key"]
