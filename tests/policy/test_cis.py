"""``cis`` on real engines: each runtime rule broken by a container run with the offending
option, a hardened container that breaks none, and the daemon rules on a default engine and
on one configured as the benchmark asks (with hullcheck's authorization plugin and TLS)."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from hullcheck import api
from hullcheck.api import review as review_api
from hullcheck.model.policy import Review
from hullcheck.policy.runtime_rules import RUNTIME_RULES
from tests.conftest import Images
from tests.infra.authz import guard
from tests.infra.cli import hullcheck as hc
from tests.infra.engine import PrivateEngine, free_port

pytestmark = pytest.mark.docker

OFFENDING: dict[str, dict[str, Any]] = {
    "HC-RT-001": {"privileged": True},
    "HC-RT-002": {"cap_add": ["NET_ADMIN"]},
    "HC-RT-003": {"network_mode": "host"},
    "HC-RT-004": {"pid_mode": "host"},
    "HC-RT-005": {"ipc_mode": "host"},
    "HC-RT-006": {"uts_mode": "host"},
    "HC-RT-008": {"volumes": {"/etc": {"bind": "/host-etc", "mode": "ro"}}},
    "HC-RT-014": {"security_opt": ["seccomp=unconfined"]},
    "HC-RT-015": {"security_opt": ["apparmor=unconfined"]},
    "HC-RT-017": {"devices": ["/dev/null:/dev/xnull:rwm"]},
    "HC-RT-019": {"userns_mode": "host"},
}
"""What each runtime rule is broken by (the socket, ports and propagation: below)."""
HARDENED: dict[str, Any] = {
    "read_only": True,
    "security_opt": ["no-new-privileges"],
    "mem_limit": "64m",
    "nano_cpus": 500_000_000,
    "pids_limit": 64,
    "cap_drop": ["ALL"],
}
PODMAN_UNSEEN = {"HC-RT-019"}
"""What Podman's inspect does not show of the options it was given: rootful Podman runs
every container in the host's user namespace unless told otherwise, and its inspect does not
say ``host`` for --userns=host."""
LIMITS = ("HC-RT-009", "HC-RT-010", "HC-RT-011", "HC-RT-012", "HC-RT-013")
"""Broken by every container but the hardened one."""


def _by_subject(review: Review) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for violation in review.violations:
        found.setdefault(violation.subject, set()).add(violation.rule)
    return found


@pytest.fixture(scope="module")
def running(engine: PrivateEngine, images: Images) -> Iterator[dict[str, str]]:
    """One container per offending option, one hardened, on their own network: all running
    but the privileged one."""
    client = engine.client()
    tag = uuid.uuid4().hex[:8]
    network = client.networks.create(f"cis-{tag}")
    image = images.on(engine, "debian")
    made: dict[str, str] = {}
    containers = []
    try:
        cases = {
            **OFFENDING,
            "HC-RT-007": {"volumes": {engine.socket: {"bind": "/var/run/docker.sock"}}},
            "HC-RT-016": {"ports": {"80/tcp": None}, "network": network.name},
            "hardened": {**HARDENED, "ports": {"80/tcp": ("127.0.0.1", None)}},
        }
        for rule, options in cases.items():
            name = f"cis-{rule.lower()}-{tag}"
            options = {"network": network.name, **options}
            if "network_mode" in options:
                del options["network"]
            # (privileged: created only; this machine's own bounding set lacks a capability
            # a privileged container asks for, so it cannot start here)
            create = client.containers.create if rule == "HC-RT-001" else client.containers.run
            extra = {} if rule == "HC-RT-001" else {"detach": True}
            containers.append(create(image, ["sleep", "infinity"], name=name, **options, **extra))
            made[rule] = f"container {name}"
        yield made
    finally:
        for container in containers:
            # killed first: `sleep` ignores SIGTERM, and Podman waits 10 s each before it
            # kills what it is asked to remove
            with contextlib.suppress(docker.errors.APIError):
                container.kill()
            container.remove(force=True)
        network.remove()
        client.close()


def test_each_runtime_rule_names_the_container_that_breaks_it(
    engine: PrivateEngine, running: dict[str, str]
) -> None:
    review = review_api.cis(
        api.Host("h1", engine.host, timeout=60), images=False, all_containers=True
    )
    found = _by_subject(review)
    unseen = {r for r, subject in running.items() if r != "hardened" and r not in found[subject]}
    assert unseen == (PODMAN_UNSEEN if engine.is_podman else set())
    for rule, subject in running.items():
        if rule == "hardened":
            assert found.get(subject, set()) == set(), found.get(subject)
            continue
        # Podman gives every container a process limit (2,048) of its own accord
        limits = set(LIMITS) - ({"HC-RT-011"} if engine.is_podman else set())
        assert limits <= found[subject] and ("HC-RT-011" in found[subject]) != engine.is_podman
    expected = {*OFFENDING, "HC-RT-007", "HC-RT-016", *LIMITS}  # (HC-RT-011: not on Podman)
    ran = {rule.info.id for rule in RUNTIME_RULES}
    # HC-RT-018 (shared propagation) needs a shared host mount to start: compose tests it
    assert ran - expected == {"HC-RT-018"}
    privileged = [v for v in review.violations if v.rule == "HC-RT-001"]
    ours = set(running.values())  # (the engine may hold other tests' containers)
    assert [v.subject for v in privileged if v.subject in ours] == [running["HC-RT-001"]]


def test_cis_on_the_command_line_groups_by_section_and_fails(
    engine: PrivateEngine, running: dict[str, str], tmp_path: os.PathLike[str]
) -> None:
    shown = hc("cis", env={"DOCKER_HOST": engine.host})
    assert shown.returncode == 1, shown.stderr
    assert "5 Container runtime" in shown.stdout and "2 Docker daemon" in shown.stdout
    assert "review failed:" in shown.stderr
    assert running["HC-RT-007"] in shown.stdout  # (the table shows the running ones only)
    assert running["HC-RT-001"] not in shown.stdout
    sarif = os.path.join(os.fspath(tmp_path), "cis.sarif")
    assert hc("cis", "-f", "sarif", "-o", sarif, env={"DOCKER_HOST": engine.host}).returncode == 1
    with open(sarif) as handle:
        document = json.load(handle)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"HC-RT-007", "HC-DM-006"}


@pytest.fixture
def hardened_engine(tmp_path: Any, builder: PrivateEngine) -> Iterator[dict[str, Any]]:
    """A Docker 20.10 engine set up as the benchmark's section 2 asks: live restore, user
    namespaces, remote logging, an authorization plugin, TLS on TCP, default ulimits,
    no-new-privileges (not icc=false: it needs iptables, which test engines leave alone)."""
    with guard(os.fspath(tmp_path), "cis") as guarded_by:
        engine = PrivateEngine(
            "cis-hardened",
            own_data_root=True,
            config={
                "live-restore": True,
                "userns-remap": "default",
                "log-driver": "syslog",
                "authorization-plugins": [guarded_by.name],
                "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 4096, "Soft": 1024}},
                "no-new-privileges": True,
                "labels": ["env=prod"],
            },
            extra_args=guarded_by.tls_listener(),
        )
        engine.start()
        pki = guarded_by.pki
        try:
            host = api.Host(
                "hardened",
                guarded_by.address,
                pki.ca,
                pki.client_cert,
                pki.client_key,
                timeout=60,
            )
            yield {"engine": engine, "host": host}
        finally:
            engine.stop()


def test_the_daemon_rules_fail_a_default_engine_and_pass_a_hardened_one(
    builder: PrivateEngine, hardened_engine: dict[str, Any], tmp_path: os.PathLike[str]
) -> None:
    plain_config = os.path.join(os.fspath(tmp_path), "daemon.json")
    with open(plain_config, "w") as handle:
        handle.write("{}")
    plain = review_api.cis(
        api.Host("plain", builder.host, timeout=60), daemon_config=plain_config, images=False
    )
    daemon = {v.rule for v in plain.violations if v.subject == "engine plain"}
    assert daemon == {f"HC-DM-{n:03d}" for n in (1, 2, 3, 5, 6, 7, 8)}, daemon
    engine = hardened_engine["engine"]
    hardened = review_api.cis(
        hardened_engine["host"], daemon_config=engine.config_file, images=False
    )
    left = [v.rule for v in hardened.violations if v.subject == "engine hardened"]
    assert left == ["HC-DM-003"]
    with open(plain_config, "w") as handle:
        handle.write('{"icc": false}')
    isolated = review_api.cis(
        api.Host("plain", builder.host, timeout=60), daemon_config=plain_config, images=False
    )
    assert "HC-DM-003" not in {v.rule for v in isolated.violations}
    assert {f"HC-DM-{n:03d}" for n in range(1, 11)} <= set(hardened.ran["engine hardened"])
    # the engine's labels pick the policy's scopes (a low violation fails only on prod)
    assert review_api.engine_labels(hardened_engine["host"]) == {"env": "prod"}
    scoped = os.path.join(os.fspath(tmp_path), "policy.yaml")
    with open(scoped, "w") as handle:
        handle.write("fail-on: critical\nscopes:\n  - when: {host-label: {env: prod}}\n"
                     "    fail-on: low\n")  # fmt: skip
    low = os.path.join(os.path.dirname(__file__), "..", "data", "dockerfiles", "HC-DF-003.bad")
    on_prod = review_api.review(dockerfile_path=low, policy=scoped, host=hardened_engine["host"])
    assert not on_prod.passed and on_prod.fail_on.value == "low"
    elsewhere = api.Host("plain", builder.host, timeout=60)
    assert review_api.review(dockerfile_path=low, policy=scoped, host=elsewhere).passed
    # an engine reached over plain TCP is named for it
    unsafe = PrivateEngine("cis-tcp", extra_args=("-H", f"tcp://127.0.0.1:{free_port()}"))
    unsafe.start()
    try:
        address = unsafe.extra_args[1]
        found = review_api.cis(api.Host("tcp", address, timeout=60), images=False)
        tcp = [v for v in found.violations if v.rule == "HC-DM-004"]
        assert [v.message for v in tcp] == [f"the API is served on {address} without TLS"]
    finally:
        unsafe.stop()
