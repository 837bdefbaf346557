"""The collector against a real engine of every kind: a scripted container life recorded
exactly, environment values never kept, and a collector stopped and started again missing
nothing and repeating nothing."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from hullcheck import api
from hullcheck.api import audit as audit_api
from tests.conftest import Images
from tests.infra.engine import PrivateEngine, run_idle

pytestmark = pytest.mark.docker


def _now() -> int:
    """An ``until`` a moment ahead: the engine stamps events with its own clock."""
    return time.time_ns() + 1_000_000_000


def test_a_container_life_is_recorded_and_a_restarted_collector_misses_nothing(
    engine: PrivateEngine, images: Images, tmp_path: os.PathLike[str]
) -> None:
    secret = f"planted-{uuid.uuid4().hex}"
    name = f"audited-{uuid.uuid4().hex[:8]}"
    client = engine.client()
    store = api.open_store(f"sqlite:///{os.path.join(os.fspath(tmp_path), 'hc.db')}")
    try:
        api.add_host(store, api.Host("h1", engine.host, timeout=30))
        container = run_idle(
            client,
            images.on(engine, "python"),
            name,
            environment={"DB_PASSWORD": secret},
            labels={"owner": "team-a"},
        )
        execution = client.api.exec_create(container.id, ["sh", "-c", "echo x > /etc/x; exit 3"])
        client.api.exec_start(execution["Id"])
        assert audit_api.watch(store, until=_now())["h1"] > 0  # ← the collector, then stopped
        # more work while no collector runs
        container.stop(timeout=1)
        container.remove()
        assert audit_api.watch(store, until=_now())["h1"] > 0
        assert audit_api.watch(store, until=_now())["h1"] == 0  # nothing twice
        life = store.audit.search(hosts=["h1"], objects=[name])
        actions = [r.action for r in life]
        # (Podman adds its own steps: init before a start, cleanup after a stop)
        steps = [a for a in actions if a not in ("init", "cleanup")]
        assert steps[:2] == ["create", "start"] and steps[-1] == "destroy"
        assert actions.index("exec_start") < actions.index("exec_die") < actions.index("destroy")
        # Podman does not always say `stop` for a container stopped by the API (seen: `die`
        # and `cleanup` only, in some runs): the death is what every engine reports
        stopped = {"die"} if engine.is_podman else {"stop", "die"}
        assert stopped <= set(actions), str(actions)
        assert len(actions) == len(set(zip(actions, [r.time for r in life], strict=True)))
        created = life[0].context["config"]
        assert "DB_PASSWORD" in created["env_names"] and created["network_mode"] == "none"
        assert created["command"] == "sleep infinity" and created["privileged"] is False
        (died,) = [r for r in life if r.action == "exec_die"]
        assert died.context["exitCode"] == "3"
        (started,) = [r for r in life if r.action == "exec_start"]
        if engine.is_podman:  # its exec event names no exec: the command is not knowable
            assert started.context["engine_action"] == "exec"
        else:
            assert started.context["command"] == "sh -c echo x > /etc/x; exit 3"
            assert started.context["user"] == "" and started.context["privileged"] is False
        assert secret not in str([r.as_dict() for r in store.audit.search()])
        verdict = audit_api.verify_log(store, "h1", audit_api.verifier_key())
        assert verdict.intact and verdict.covered == verdict.records
    finally:
        store.close()
        client.close()
