"""``hullcheck audit key / export / verify``: a third party holding only the public key, an
export and a checkpoint published off the host can tell an intact log from a doctored one."""

from __future__ import annotations

import json
import os
from typing import Any

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit.records import from_event
from tests.infra.cli import hullcheck

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")


def _lines(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _write(path: str, lines: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in lines)


def test_a_doctored_export_is_caught_by_someone_with_only_the_public_key(tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path / 'hc.db'}"
    with open(os.path.join(ENGINE, "docker26", "events.jsonl"), encoding="utf-8") as handle:
        records = [from_event("prod-1", json.loads(line)) for line in handle]
    with api.open_store(db) as store:
        audit_api.record_events(store, "prod-1", records[:20])
        audit_api.record_events(store, "prod-1", records[20:])
        published = store.audit.checkpoints("prod-1")[-1]  # copied off the host, at 26
    key = tmp_path / "audit.pub"
    printed = hullcheck("audit", "key")
    assert printed.returncode == 0 and printed.stdout.startswith("hullcheck.audit+")
    key.write_text(printed.stdout)
    (tmp_path / "published.note").write_text(published)

    verified = hullcheck("audit", "verify", "--db", db)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == "prod-1: intact: 26 records, 26 vouched for by a signed checkpoint\n"
    export = str(tmp_path / "prod-1.jsonl")
    assert (
        hullcheck("audit", "export", "--host", "prod-1", "-o", export, "--db", db).returncode == 0
    )
    lines = _lines(export)
    assert lines[0] == {"log": "hullcheck.audit/prod-1", "key": printed.stdout.strip()}
    check = ("audit", "verify", "--key", str(key), "--checkpoint", str(tmp_path / "published.note"))
    assert hullcheck(*check, "--export", export).returncode == 0

    # the exec's exit code changed, its leaf hash recomputed to match
    doctored = json.loads(json.dumps(lines))
    exec_die = next(line for line in doctored if line.get("record", {}).get("action") == "exec_die")
    exec_die["record"]["context"]["exitCode"] = "0"
    seq = exec_die["record"]["seq"]
    _write(export, doctored)
    caught = hullcheck(*check, "--export", export)
    assert caught.returncode == 1
    name = f"{export}: hullcheck.audit/prod-1"
    assert caught.stdout.startswith(f"{name}: NOT INTACT: record {seq} was edited")

    # the newest records and every checkpoint after 20 cut off: the published one remembers
    cut = [line for line in lines if line.get("record", {"seq": 0})["seq"] < 20]
    cut = [line for line in cut if "checkpoint" not in line or "\n20\n" in line["checkpoint"]]
    _write(export, cut)
    assert hullcheck("audit", "verify", "--key", str(key), "--export", export).returncode == 0
    caught = hullcheck(*check, "--export", export)
    assert caught.returncode == 1 and "records 20 to 25 are missing" in caught.stdout

    # another key: nothing it signed vouches for this log
    other = tmp_path / "other-home"
    foreign = hullcheck("audit", "key", env={"HULLCHECK_HOME": str(other)})
    key.write_text(foreign.stdout)
    refused = hullcheck("audit", "verify", "--key", str(key), "--export", export)
    assert refused.returncode == 1 and "not signed by" in refused.stdout


def test_every_hosts_log_since_a_moment_exports_and_verifies_as_one_file(tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path / 'hc.db'}"
    with open(os.path.join(ENGINE, "docker26", "events.jsonl"), encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    with api.open_store(db) as store:
        for host in ("prod-1", "prod-2"):
            audit_api.record_events(store, host, [from_event(host, e) for e in events[:20]])
            audit_api.record_events(store, host, [from_event(host, e) for e in events[20:]])
        note = tmp_path / "prod-1.note"
        note.write_text(store.audit.checkpoints("prod-1")[0])  # published at 20
    export = str(tmp_path / "fleet.jsonl")
    # the recorded events are older than an hour: each log's export starts at its last
    # checkpoint, which vouches for all its records
    done = hullcheck("audit", "export", "--since", "1h", "-o", export, "--db", db)
    assert done.returncode == 0, done.stderr
    assert os.stat(export).st_mode & 0o777 == 0o600
    verified = hullcheck("audit", "verify", "--checkpoint", str(note), "--export", export)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines() == [
        f"{export}: hullcheck.audit/{host}: intact: 26 records (26 before the export's first, "
        "vouched for by its anchor), 26 vouched for by a signed checkpoint"
        for host in ("prod-1", "prod-2")
    ]
    # a log twice in one file (a clean copy after a doctored one) or a file without its
    # header is refused, never judged by one copy
    with open(export, encoding="utf-8") as handle:
        exported = handle.read()
    doubled, headless = str(tmp_path / "doubled.jsonl"), str(tmp_path / "headless.jsonl")
    (tmp_path / "doubled.jsonl").write_text(exported + exported)
    (tmp_path / "headless.jsonl").write_text(exported.split("\n", 1)[1])
    again = hullcheck("audit", "verify", "--export", doubled)
    assert again.returncode == 2 and "log 'hullcheck.audit/prod-1' again" in again.stderr
    bare = hullcheck("audit", "verify", "--export", headless)
    assert bare.returncode == 2 and "line 1 is not an audit export header" in bare.stderr
    # a published checkpoint of a log not verified is refused, not ignored
    stray = hullcheck("audit", "verify", "--host", "prod-2", "--checkpoint", str(note), "--db", db)
    assert stray.returncode == 2
    assert "a checkpoint of log 'hullcheck.audit/prod-1', not of one verified here" in stray.stderr
    whole = hullcheck("audit", "export", "--host", "prod-2", "--db", db)
    assert whole.returncode == 0 and whole.stdout.count('"record"') == 26
    unknown = hullcheck("audit", "export", "--host", "prod-3", "--db", db)
    assert unknown.returncode == 2 and "prod-3: no audit log" in unknown.stderr


def test_verifying_without_a_key_is_refused_not_invented(tmp_path: Any) -> None:
    fresh = hullcheck("audit", "verify", env={"HULLCHECK_HOME": str(tmp_path / "fresh")})
    assert fresh.returncode == 2
    assert "no audit key on this machine" in fresh.stderr
    assert not (tmp_path / "fresh" / "data" / "audit.key").exists()


def test_search_and_timeline_read_every_engines_records_alike(tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path / 'hc.db'}"
    with api.open_store(db) as store:
        for host, kind in (("prod-1", "docker26"), ("prod-2", "podman5")):
            path = os.path.join(ENGINE, kind, "events.jsonl")
            with open(path, encoding="utf-8") as handle:
                events = [json.loads(line) for line in handle]
            podman = kind == "podman5"
            audit_api.record_events(
                store, host, [from_event(host, e, podman=podman) for e in events]
            )
        records = store.audit.search(hosts=["prod-1"])
        since = records[10].time
        assert [r.seq for r in store.audit.search(hosts=["prod-1"], since=since)] == list(
            range(10, 26)
        )
    found = hullcheck("audit", "search", "--action", "exec_die", "-f", "json", "--db", db)
    assert found.returncode == 0, found.stderr
    execs = json.loads(found.stdout)
    assert [(r["host"], r["name"], r["context"]["exitCode"]) for r in execs] == [
        ("prod-1", "recorded", "3"),
        ("prod-2", "recorded", "3"),
    ]
    # the issue's own query: every exec step, of containers of an image matched by a glob
    family = hullcheck(
        "audit", "search", "--action", "exec", "--image", "*hc-test/python:*", "-f", "json",
        "--db", db,
    )  # fmt: skip
    assert family.returncode == 0, family.stderr
    steps = [(r["host"], r["action"]) for r in json.loads(family.stdout)]
    # Podman's containers name their image reference (Docker 26's, run by ID, do not)
    assert steps == [("prod-2", "exec_start"), ("prod-2", "exec_die")], steps
    by_id = hullcheck(
        "audit", "search", "--action", "exec", "--image", "sha256:febfb6b0*", "-f", "json",
        "--db", db,
    )  # fmt: skip
    assert [r["action"] for r in json.loads(by_id.stdout)] == [
        "exec_create", "exec_start", "exec_die",
    ]  # fmt: skip
    none = hullcheck("audit", "search", "--image", "nginx*", "-f", "json", "--db", db)
    assert none.returncode == 0 and json.loads(none.stdout) == []
    life = hullcheck("audit", "timeline", "recorded", "--host", "prod-2", "-f", "json", "--db", db)
    actions = [r["action"] for r in json.loads(life.stdout)]
    assert actions[:3] == ["create", "init", "start"] and actions[-1] == "destroy"
    table = hullcheck("audit", "timeline", "recorded", "--db", db)
    assert table.returncode == 0 and "exitCode=3" in table.stdout and "prod-2" in table.stdout
    assert hullcheck("audit", "timeline", "nobody", "--db", db).returncode == 2
    bad = hullcheck("audit", "search", "--since", "a week", "--db", db)
    assert bad.returncode == 2 and "'a week' is not a duration" in bad.stderr


def test_retention_says_what_went_and_verify_what_vouches_for_it(tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path / 'hc.db'}"
    with open(os.path.join(ENGINE, "docker26", "events.jsonl"), encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    with api.open_store(db) as store:
        audit_api.record_events(store, "prod-1", [from_event("prod-1", e) for e in events])
    bad = hullcheck("audit", "retain", "--older-than", "soon", "--db", db)
    assert bad.returncode == 2 and "'soon' is not a duration" in bad.stderr
    removed = hullcheck("audit", "retain", "--older-than", "1s", "--db", db)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == "prod-1: 26 records removed; the log starts at record 26\n"
    verified = hullcheck("audit", "verify", "--db", db)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == (
        "prod-1: intact: 27 records (26 removed by retention, vouched for by its anchor), "
        "27 vouched for by a signed checkpoint\n"
    )
