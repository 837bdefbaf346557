"""Alert rules: a dry run over the stored log, a rules file with a mistake refused in one
line, and alerts delivered to a real HTTP listener (retried while it fails) and to real
syslog listeners over UDP and TCP, without holding the collector back."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any

import pytest

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit.alerts import Alerter
from hullcheck.audit.records import from_event
from hullcheck.audit.rules import Rules, parse
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.cli import hullcheck
from tests.infra.engine import PrivateEngine, run_idle
from tests.infra.webhook import Hook

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
RULES = """
rules:
  - name: failed-exec
    when: {action: exec_die, context.exitCode: "3"}
    do: log
  - name: team-a-life
    when: {kind: container, action: [create, destroy], label.owner: "team-*"}
    do: [log]
"""


def _recorded(host: str) -> list[Any]:
    with open(os.path.join(ENGINE, "docker26", "events.jsonl"), encoding="utf-8") as handle:
        return [from_event(host, json.loads(line)) for line in handle]


def test_a_dry_run_lists_what_the_rules_match_in_the_stored_log(tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path / 'hc.db'}"
    with api.open_store(db) as store:
        audit_api.record_events(store, "prod-1", _recorded("prod-1"))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    done = hullcheck("audit", "rules", "test", str(rules), "--db", db, "-f", "json")
    assert done.returncode == 0, done.stderr
    matched = [(m["rule"], m["action"], m["name"]) for m in json.loads(done.stdout)]
    assert matched == [
        ("team-a-life", "create", "recorded"),
        ("failed-exec", "exec_die", "recorded"),
        ("team-a-life", "destroy", "recorded"),
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("rules: [{name: a, when: {action: start}, do: [page]}]", "unknown action 'page'"),
        ("rules: [{name: a, when: {colour: red}}]", "unknown field 'colour'"),
        ("rules: [{name: a, when: {action: start}, severity: 3}]", "unknown key 'severity'"),
        ("rules: [{name: a, when: {action: start}, do: webhook}]", "which `outputs` does not set"),
        ("rules: [{name: a, when: {findings: awful}}]", "`findings` is a severity"),
        ("outputs: {pager: {}}", "unknown output 'pager'"),
        ("rules: [{name: a, when: {action: start}}]\n  - : [", "not YAML (line 2)"),
    ],
)
def test_a_rules_file_with_a_mistake_is_refused_in_one_line(
    tmp_path: Any, text: str, said: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    done = hullcheck("audit", "rules", "test", str(rules), "--db", f"sqlite:///{tmp_path}/h.db")
    assert done.returncode == 2
    assert said in done.stderr and len(done.stderr.strip().splitlines()) <= 2, done.stderr
    assert "Traceback" not in done.stderr


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_an_alert_reaches_a_webhook_that_failed_twice_first(
    webhook: tuple[str, type[Hook]],
) -> None:
    url, hook = webhook
    rules = parse(
        {
            "rules": [{"name": "failed-exec", "when": {"context.exitCode": "3"}, "do": "webhook"}],
            "outputs": {"webhook": {"url": url, "retries": 3}},
        },
        "test",
    )
    alerter = Alerter(rules)
    records = _recorded("prod-1")
    started = time.monotonic()
    alerter.consider(records)
    assert time.monotonic() - started < 1  # the collector does not wait for the endpoint
    alerter.close()
    (alert,) = hook.received
    assert alert["rule"] == "failed-exec" and alert["record"]["action"] == "exec_die"
    assert alerter.sent == 1 and alerter.failed == 0


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_an_alert_reaches_a_syslog_listener_as_rfc5424(protocol: str) -> None:
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    listener = socket.socket(socket.AF_INET, kind)
    listener.bind(("127.0.0.1", 0))
    if protocol == "tcp":
        listener.listen(1)
    listener.settimeout(30)
    port = listener.getsockname()[1]
    rules = parse(
        {
            "rules": [{"name": "exec in prod", "when": {"action": "exec_start"}, "do": "syslog"}],
            "outputs": {"syslog": {"address": f"127.0.0.1:{port}", "protocol": protocol}},
        },
        "test",
    )
    alerter = Alerter(rules)
    alerter.consider(_recorded('prod-1"]'))
    alerter.close()
    if protocol == "udp":
        message = listener.recv(65536)
    else:
        connection, _ = listener.accept()
        with connection:
            framed = connection.recv(65536)
        length, _, message = framed.partition(b" ")
        assert int(length) == len(message)  # RFC 6587 octet counting
    listener.close()
    header, _, rest = message.partition(b" [")
    version, stamp, host, app, procid, msgid = header.decode().split(" ")
    # local0 (16) * 8 + warning (4); version 1
    assert (version, app, procid, msgid) == ("<132>1", "hullcheck", "-", "exec_in_prod")
    assert host == 'prod-1"]' and stamp.endswith("Z")  # printable ASCII: kept as it is
    data, _, body = rest.partition(b"] ")
    assert data.startswith(b"hullcheck@32473 rule=") and b'object="recorded"' in data
    assert json.loads(body)["record"]["context"]["command"] == "sh -c exit 3"


def test_the_collector_alerts_on_an_exec_into_a_prod_container(
    builder: PrivateEngine,
    images: Images,
    webhook: tuple[str, type[Hook]],
    tmp_path: Any,
) -> None:
    url, hook = webhook
    hook.failures = 0
    store: Store = api.open_store(f"sqlite:///{tmp_path / 'hc.db'}")
    api.add_host(store, api.Host("h1", builder.host, timeout=30))
    client = builder.client()
    name = f"prod-{uuid.uuid4().hex[:8]}"
    rules: Rules = parse(
        {
            "rules": [
                {
                    "name": "exec-in-prod",
                    "when": {"action": "exec_start", "label.env": "prod"},
                    "do": ["log", "webhook"],
                }
            ],
            "outputs": {"webhook": {"url": url}},
        },
        "test",
    )
    try:
        prod = run_idle(client, images.on(builder, "python"), name, labels={"env": "prod"})
        other = run_idle(client, images.on(builder, "python"), f"dev-{name}")
        for container in (prod, other):
            client.api.exec_start(client.api.exec_create(container.id, ["id"])["Id"])
        audit_api.watch(store, until=time.time_ns() + 1_000_000_000, rules=rules)
        (alert,) = hook.received
        assert alert["record"]["name"] == name and alert["record"]["context"]["command"] == "id"
        for container in (prod, other):
            container.remove(force=True)
    finally:
        client.close()
        store.close()
