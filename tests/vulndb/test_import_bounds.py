"""``db import`` of hostile inputs (finding 7 of the security review): a FIFO, a zip of large
records, a link loop in a feed directory — each a clear answer, in bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import zipfile

from hullcheck import api
from hullcheck.store import Store
from tests.infra.cli import hullcheck
from tests.infra.vulndata import vuln_path


def _real(name: str) -> dict[str, object]:
    with open(vuln_path("npm", name)) as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def timed(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """hullcheck under GNU time, which prints its peak memory last on stderr."""
    return hullcheck(*args, timeout=timeout, prefix=("/usr/bin/time", "-f", "peak-kb %M"))


def peak_mb(done: subprocess.CompletedProcess[str]) -> float:
    line = next(line for line in done.stderr.splitlines() if line.startswith("peak-kb "))
    return int(line.split()[1]) / 1024


def test_a_fifo_is_refused_at_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fifo = str(tmp_path / "feed.zip")
    os.mkfifo(fifo)  # no writer: reading it would block for ever
    done = timed("db", "import", fifo, "--db", f"sqlite:///{tmp_path}/hc.db", timeout=60)
    assert done.returncode == 2
    assert f"{fifo}: not a regular file" in done.stderr


def test_large_records_are_imported_in_bounded_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """40 records of 15 MiB each (600 MiB of JSON, 2 MiB zipped): stored in batches of
    bounded bytes, not all held until the transaction ends (it took 1.65 GB for 100)."""
    record = _real("GHSA-35jh-r3h4-6jhm.json")
    archive = tmp_path / "large.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for index in range(40):
            large = {**record, "id": f"HC-LARGE-{index}", "details": "A" * (15 * 1024**2)}
            out.writestr(f"large-{index}.json", json.dumps(large))
    assert archive.stat().st_size < 3 * 1024**2
    done = timed("db", "import", str(archive), "--db", f"sqlite:///{tmp_path}/hc.db")
    assert done.returncode == 0, done.stderr
    assert "40 records imported" in done.stdout
    assert peak_mb(done) < 450, done.stderr


def test_a_link_loop_in_a_feed_directory_is_one_skipped_record(store: Store) -> None:
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "good.json"), "w") as handle:
            json.dump(_real("GHSA-35jh-r3h4-6jhm.json"), handle)
        os.symlink("loop.json", os.path.join(directory, "loop.json"))
        os.symlink(directory, os.path.join(directory, "again"))  # a directory loop too
        fifo = os.path.join(directory, "pipe.json")
        os.mkfifo(fifo)
        result = api.import_vulnerabilities(store, directory)
    assert result.records == 1
    assert result.skipped == 2
    assert sorted(example.split(":")[0] for example in result.examples) == [
        "loop.json",
        "pipe.json",
    ]
