"""What the collector does when it cannot simply read on: an engine restarted while work
happened (Docker forgets its events: the gap is reconstructed and marked), a stream broken
under a running collector (it reconnects), a store that is away (records wait in the spool),
and health checks (counted, not recorded one by one)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import psycopg
import pytest

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit.records import Record
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine, run_idle
from tests.infra.postgres import PrivatePostgres

pytestmark = pytest.mark.docker


def _now() -> int:
    return time.time_ns() + 1_000_000_000


@pytest.fixture
def sqlite_store(tmp_path: os.PathLike[str]) -> Iterator[Store]:
    store = api.open_store(f"sqlite:///{os.path.join(os.fspath(tmp_path), 'hc.db')}")
    yield store
    store.close()


def _life(store: Store, name: str) -> list[Record]:
    return store.audit.search(hosts=["h1"], objects=[name])


def test_an_engine_restarted_while_work_happened_has_its_gap_reconstructed(
    engine: PrivateEngine, images: Images, sqlite_store: Store
) -> None:
    tag = uuid.uuid4().hex[:8]
    store = sqlite_store
    api.add_host(store, api.Host("h1", engine.host, timeout=30))
    client = engine.client()
    image = images.on(engine, "python")
    try:
        kept = run_idle(client, image, f"gap-kept-{tag}")
        doomed = run_idle(client, image, f"gap-doomed-{tag}")
        audit_api.watch(store, until=_now())
        kept_steps = [r.action for r in _life(store, kept.name) if r.action != "init"]
        assert kept_steps[:2] == ["create", "start"]  # (Podman says init between them)
        # work no collector sees, then the engine restarts: Docker's events were in memory
        born = run_idle(client, image, f"gap-born-{tag}", environment={"TOKEN": "hidden"})
        doomed.remove(force=True)
        client.volumes.create(f"gap-volume-{tag}")
        client.close()
        engine.stop()  # every running container dies with it
        engine.start()
        client = engine.client()
        assert audit_api.watch(store, until=_now())["h1"] > 0
        assert audit_api.watch(store, until=_now())["h1"] == 0  # a gap is reconstructed once

        born_life = [r for r in _life(store, born.name) if r.action not in ("init", "cleanup")]
        doomed_life = _life(store, doomed.name)
        kept_life = [r for r in _life(store, kept.name) if r.action not in ("init", "cleanup")]
        volume_life = _life(store, f"gap-volume-{tag}")
        assert born_life[0].action == "create" and doomed_life[-1].action == "destroy"
        assert kept_life[-1].action == "die" and volume_life[0].action == "create"
        config = born_life[0].context["config"]
        assert "TOKEN" in config["env_names"]
        assert "hidden" not in str(born_life[0].as_dict())
        if not engine.is_podman:
            # Docker replays nothing from before its restart: each change is marked, with the
            # span it happened in
            for item in (born_life[0], doomed_life[-1], kept_life[-1], volume_life[0]):
                assert item.reconstructed, item
                assert item.context["gap_from"] < item.context["gap_to"] == item.time
            assert born_life[0].context["running"] is False  # it died with the engine
        # (Podman keeps its events in a file: what it replays is recorded as it was said)
        assert audit_api.verify_log(store, "h1", audit_api.verifier_key()).intact
    finally:
        for name in (f"gap-kept-{tag}", f"gap-born-{tag}", f"gap-doomed-{tag}"):
            with contextlib.suppress(docker.errors.NotFound):
                client.containers.get(name).remove(force=True)
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(f"gap-volume-{tag}").remove()
        client.close()


def _watch_in_background(store: Store) -> tuple[threading.Thread, threading.Event, list[Any]]:
    stop = threading.Event()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(audit_api.watch(store, stop=stop)))
    thread.start()
    return thread, stop, result


def _wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _stop(thread: threading.Thread, stop: threading.Event, engine: PrivateEngine) -> None:
    """Stop a continuous collector."""
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()


def test_a_running_collector_reconnects_after_the_engine_restarts(
    builder: PrivateEngine, images: Images, sqlite_store: Store
) -> None:
    store = sqlite_store
    api.add_host(store, api.Host("h1", builder.host, timeout=30))
    tag = uuid.uuid4().hex[:8]
    thread, stop, result = _watch_in_background(store)
    try:
        client = builder.client()
        client.volumes.create(f"before-{tag}")
        _wait_for(lambda: _life(store, f"before-{tag}"), "the first volume recorded")
        client.close()
        builder.stop()
        builder.start()  # the stream broke: the collector retries with backoff
        client = builder.client()
        client.volumes.create(f"after-{tag}")
        _wait_for(lambda: _life(store, f"after-{tag}"), "the volume made after the restart")
        (after,) = _life(store, f"after-{tag}")
        assert after.action == "create" and not after.reconstructed  # seen as an event
        for name in (f"before-{tag}", f"after-{tag}"):
            client.volumes.get(name).remove()
        client.close()
    finally:
        _stop(thread, stop, builder)
    assert isinstance(result[0]["h1"], int)


def _postgres_away(postgres: PrivatePostgres, url: str, away: bool) -> None:
    """The database refuses connections (and its open ones are cut), or takes them again."""
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres._url("postgres"), autocommit=True) as connection:
        allow = "false" if away else "true"
        connection.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {allow}')
        if away:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


def test_records_wait_in_the_spool_while_the_store_is_away_and_are_written_in_order(
    builder: PrivateEngine, postgres: PrivatePostgres, hc_home: str
) -> None:
    url = postgres.database()
    store = api.open_store(url)
    api.add_host(store, api.Host("h1", builder.host, timeout=30))
    tag = uuid.uuid4().hex[:8]
    thread, stop, _ = _watch_in_background(store)
    client = builder.client()
    spool = os.path.join(hc_home, "data", "audit-spool", "h1.jsonl")
    try:
        client.volumes.create(f"first-{tag}")
        _wait_for(lambda: _life(store, f"first-{tag}"), "the first volume recorded")
        _postgres_away(postgres, url, away=True)
        names = [f"while-away-{tag}-{n}" for n in range(5)]
        for name in names:
            client.volumes.create(name)
        _wait_for(lambda: os.path.exists(spool) and os.path.getsize(spool) > 0, "the spool")
        assert os.stat(spool).st_mode & 0o077 == 0
        _postgres_away(postgres, url, away=False)
        _wait_for(lambda: not os.path.exists(spool), "the spool written to the store", 30)
        created = [
            r.name for r in store.audit.search(hosts=["h1"], actions=["create"], kinds=["volume"])
        ]
        assert created[-5:] == names  # every one, in order, once
        for name in [f"first-{tag}", *names]:
            client.volumes.get(name).remove()
    finally:
        _postgres_away(postgres, url, away=False)
        _stop(thread, stop, builder)
        client.close()
    assert audit_api.verify_log(store, "h1", audit_api.verifier_key()).intact
    store.close()


@pytest.mark.not_on("podman5", reason="Podman runs health checks from systemd timers")
def test_health_checks_are_counted_not_recorded_one_by_one(
    engine: PrivateEngine, images: Images, sqlite_store: Store
) -> None:
    store = sqlite_store
    api.add_host(store, api.Host("h1", engine.host, timeout=30))
    client = engine.client()
    name = f"healthy-{uuid.uuid4().hex[:8]}"
    container = run_idle(
        client,
        images.on(engine, "python"),
        name,
        healthcheck={"test": ["CMD-SHELL", "test -d /"], "interval": 300_000_000},
    )
    try:
        _wait_for(
            lambda: (
                client.api.inspect_container(container.id)["State"]["Health"]["Status"] == "healthy"
                and len(client.api.inspect_container(container.id)["State"]["Health"]["Log"]) >= 4
            ),
            "health checks",
        )
        audit_api.watch(store, until=_now())  # (a collector captures the health command)
        client.api.exec_start(client.api.exec_create(container.id, ["true"])["Id"])
        container.remove(force=True)
        audit_api.watch(store, until=_now())
        life = _life(store, name)
        actions = [r.action for r in life]
        counts = [r for r in life if r.action == "health_checks"]
        assert sum(r.context["checks"] for r in counts) >= 4, [(r.action, r.context) for r in life]
        assert counts[0].context["command"] == "/bin/sh -c test -d /"
        assert counts[0].context["failed"] == 0
        assert "health_status" in actions
        # the one exec a person ran is recorded; none of the health checks' execs is
        (ran,) = [r for r in life if r.action == "exec_start"]
        assert ran.context["command"] == "true"
    finally:
        client.close()


def test_an_exec_storm_is_recorded_whole(
    builder: PrivateEngine, images: Images, sqlite_store: Store
) -> None:
    """1,000 short execs as fast as the engine runs them (about a minute on two cores), with
    a collector running: every one recorded with its command and exit code (Docker replays
    only its last 256 events: a collector that fell behind would lose them for good)."""
    store = sqlite_store
    api.add_host(store, api.Host("h1", builder.host, timeout=30))
    client = builder.client()
    container = run_idle(client, images.on(builder, "python"), f"storm-{uuid.uuid4().hex[:8]}")
    thread, stop, _ = _watch_in_background(store)
    try:
        _wait_for(lambda: _life(store, container.name), "the collector to start")

        def storm(numbers: range) -> None:
            for number in numbers:
                command = ["sh", "-c", f"exit {number % 7}"]
                client.api.exec_start(client.api.exec_create(container.id, command)["Id"])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(storm, [range(n, 1000, 4) for n in range(4)]))
        _wait_for(
            lambda: len(store.audit.search(hosts=["h1"], actions=["exec_die"])) >= 1000,
            "every exec recorded",
            timeout=180,
        )
    finally:
        _stop(thread, stop, builder)
        container.remove(force=True)
        client.close()
    started_ = store.audit.search(hosts=["h1"], actions=["exec_start"])
    died = store.audit.search(hosts=["h1"], actions=["exec_die"])
    assert len(started_) == len(died) == 1000
    assert sorted(r.context["command"] for r in started_) == sorted(
        f"sh -c exit {n % 7}" for n in range(1000)
    )
    assert sorted(int(r.context["exitCode"]) for r in died) == sorted(n % 7 for n in range(1000))
    assert audit_api.verify_log(store, "h1", audit_api.verifier_key()).intact


def test_a_running_collector_publishes_its_newest_checkpoint_off_the_host(
    builder: PrivateEngine, sqlite_store: Store, tmp_path: Any
) -> None:
    """`audit watch --publish FILE`: every `--publish-every` seconds and when it stops, the
    newest checkpoint goes to the file, each proven to extend the one before."""
    store = sqlite_store
    api.add_host(store, api.Host("h1", builder.host, timeout=30))
    published = os.path.join(tmp_path, "published.jsonl")
    stop = threading.Event()
    target = [audit_api.Target.parse(published)]
    thread = threading.Thread(
        target=audit_api.watch,
        args=(store,),
        kwargs={"stop": stop, "publish_to": target, "publish_every": 1.0},
    )
    thread.start()
    client = builder.client()
    tag = uuid.uuid4().hex[:8]
    try:
        for n in range(3):
            client.volumes.create(f"published-{tag}-{n}").remove()
            time.sleep(1.5)  # a publication between each
    finally:
        _stop(thread, stop, builder)
        client.close()
    with open(published, encoding="utf-8") as handle:
        assert len(handle.readlines()) >= 2
    (found,) = audit_api.witness_file(published, audit_api.verifier_key())
    assert found.problem is None and found.size == store.audit.head("h1").size
    given = audit_api.Published()
    given.read(published)
    assert audit_api.verify_log(store, "h1", audit_api.verifier_key(), given).intact


def test_what_the_connection_replayed_is_not_recorded_again_by_the_stream(
    builder: PrivateEngine, sqlite_store: Store
) -> None:
    """A collector replays what the engine holds, then follows its stream from a little
    before the last event (the engine does not always send in time order): the events of
    that span are in both, and recorded once."""
    store = sqlite_store
    api.add_host(store, api.Host("h1", builder.host, timeout=30))
    client = builder.client()
    name = f"just-before-{uuid.uuid4().hex[:8]}"
    client.volumes.create(name)  # within REPLAY_BEFORE of the collector's start
    thread, stop, _ = _watch_in_background(store)
    try:
        _wait_for(lambda: _life(store, name), "the volume recorded")
        time.sleep(1.0)  # the stream, started after the replay, has sent what it holds
    finally:
        _stop(thread, stop, builder)
        client.volumes.get(name).remove()
        client.close()
    assert [r.action for r in _life(store, name)] == ["create"]
