"""Record what each engine of the matrix answers, for tests that read recorded documents.

``python -m tests.infra.record [KIND …]`` starts a private engine of each kind, runs the
python test image in it and writes to ``tests/data/engine/KIND/``:

- ``version.json`` — ``GET /version``;
- ``container-running.json`` — the inspect document of a running ``sleep infinity``
  container (``--network none``, a label, an environment variable);
- ``stats-one-shot.json`` — its ``stats?stream=false&one-shot=true``;
- ``exec-inspect.json`` — ``GET /exec/{id}/json`` of an ended ``sh -c 'exit 3'`` exec;
- ``events.jsonl`` — every event of: the container's create and start, the exec, a pause and
  unpause, a stop, a start, a kill, its removal; a volume created and removed; a network
  created and removed; the image tagged, untagged and its tag removed.

Everything is the engine's own answer, unedited.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from tests.infra.engine import KINDS, PrivateEngine, load_archive, run_idle
from tests.infra.images import ImageFactory

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "engine")


def _write(directory: str, name: str, value: Any) -> None:
    with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
        if name.endswith(".jsonl"):
            handle.writelines(json.dumps(item, sort_keys=True) + "\n" for item in value)
        else:
            json.dump(value, handle, indent=1, sort_keys=True)
            handle.write("\n")


def record(kind: str, archive: str) -> None:
    engine = PrivateEngine(f"record-{kind}", kind=kind)
    engine.start()
    try:
        client = engine.client()
        for container in client.containers.list(all=True):
            container.remove(force=True)
        image = load_archive(client, archive)
        directory = os.path.join(DATA, kind)
        os.makedirs(directory, exist_ok=True)
        _write(directory, "version.json", client.api.version())
        since = int(time.time()) - 1
        container = run_idle(
            client,
            image.id,
            "recorded",
            labels={"owner": "team-a"},
            environment={"GREETING": "hello"},
        )
        execution = client.api.exec_create(container.id, ["sh", "-c", "exit 3"], user="root")
        client.api.exec_start(execution["Id"])
        _write(directory, "exec-inspect.json", client.api.exec_inspect(execution["Id"]))
        _write(directory, "container-running.json", client.api.inspect_container(container.id))
        stats = client.api.stats(container.id, stream=False, one_shot=True)
        _write(directory, "stats-one-shot.json", stats)
        container.pause()
        container.unpause()
        container.stop(timeout=1)
        container.start()
        container.kill()
        container.remove()
        volume = client.volumes.create("recorded-data")
        volume.remove()
        network = client.networks.create("recorded-net", driver="bridge")
        network.remove()
        client.api.tag(image.id, "recorded/tagged", "1")
        client.api.remove_image("recorded/tagged:1")
        time.sleep(1)
        until = int(time.time()) + 1
        events = list(client.api.events(since=since, until=until, decode=True))
        _write(directory, "events.jsonl", events)
        client.close()
    finally:
        engine.stop()


def main(kinds: list[str]) -> int:
    builder = PrivateEngine("main")
    builder.start()
    try:
        factory = ImageFactory(builder.client())
        archive = factory.save(factory.python())
    finally:
        builder.stop()
    for kind in kinds or list(KINDS):
        print(f"recording {kind} …", flush=True)
        record(kind, archive)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
