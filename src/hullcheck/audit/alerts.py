"""Sending what the alert rules matched: a line on standard error (``log``), a JSON POST
(``webhook``: retried with backoff) and an RFC 5424 message over UDP or TCP (``syslog``).

The collector never waits for an alert: matches go to a bounded queue that one thread
sends from; when the queue is full (an endpoint down under a storm) further alerts are
dropped and counted, never the events — the log has them all.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from hullcheck.audit.records import Record
from hullcheck.audit.rules import Findings, Rule, Rules

log = logging.getLogger("hullcheck.audit")

QUEUE = 10_000
"""Alerts waiting to be sent, at most; more are dropped and counted."""
FACILITIES = {
    "kern": 0, "user": 1, "daemon": 3, "auth": 4, "authpriv": 10,
    "local0": 16, "local1": 17, "local2": 18, "local3": 19,
    "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
WARNING = 4
"""The syslog severity of an alert."""
_NAME = re.compile(r"[^!-~]")


def payload(rule: Rule, item: Record) -> dict[str, Any]:
    return {"rule": rule.name, "record": item.as_dict()}


def syslog_message(rule: Rule, item: Record, settings: dict[str, Any]) -> bytes:
    """The alert as an RFC 5424 message: the record as JSON in MSG, the rule, host, action
    and object as structured data."""
    facility = FACILITIES.get(str(settings.get("facility", "local0")), 16)
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
    host = _NAME.sub("_", item.host)[:255] or "-"
    app = _NAME.sub("_", str(settings.get("app_name", "hullcheck")))[:48] or "-"
    msgid = _NAME.sub("_", rule.name)[:32] or "-"
    fields = {"rule": rule.name, "action": item.action, "object": item.name or item.object_id}
    data = " ".join(f'{k}="{_sd_escape(v)}"' for k, v in fields.items())
    head = f"<{facility * 8 + WARNING}>1 {stamp.replace('+00:00', 'Z')} {host} {app} - {msgid}"
    return f"{head} [hullcheck@32473 {data}] ".encode() + orjson.dumps(payload(rule, item))


def post_json(
    url: str, body: bytes, headers: dict[str, str], timeout: float = 5.0, retries: int = 5
) -> None:
    """POST ``body`` (JSON) to ``url``, retrying with backoff (0.5 s doubling, at most 30 s)
    while the endpoint is unreachable or answers 5xx or 429: an :class:`OSError` once every
    attempt failed, a :class:`ValueError` when it refuses (another 4xx: retrying would not
    help)."""
    import httpx

    wait = 0.5
    for attempt in range(retries + 1):
        try:
            answer = httpx.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", **headers},
                timeout=timeout,
            )
            if answer.status_code < 500 and answer.status_code != 429:
                if answer.status_code >= 400:
                    raise ValueError(f"the webhook answered {answer.status_code}")
                return
            problem = f"the webhook answered {answer.status_code}"
        except httpx.HTTPError as exc:
            problem = str(exc) or type(exc).__name__
        if attempt < retries:
            time.sleep(wait)
            wait = min(wait * 2, 30.0)
    raise OSError(f"{problem} ({retries + 1} attempts)")


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


class Alerter:
    """Sends the matches of ``rules`` from a thread of its own."""

    def __init__(
        self,
        rules: Rules,
        findings: Findings | None = None,
        image_of: Callable[[Record], str | None] | None = None,
    ) -> None:
        self.rules = rules
        self.findings = findings
        self.dropped = 0
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[tuple[Rule, Record] | None] = queue.Queue(QUEUE)
        self._thread = threading.Thread(target=self._send_all, daemon=True)
        self._thread.start()

    def consider(self, records: Iterable[Record]) -> None:
        for item in records:
            for rule in self.rules.matching(item, self.findings):
                if "log" in rule.do:
                    log.warning(
                        "alert %s: %s %s %s %s",
                        rule.name,
                        item.host,
                        item.kind,
                        item.action,
                        item.name or item.object_id[:12],
                    )
                if any(action != "log" for action in rule.do):
                    try:
                        self._queue.put_nowait((rule, item))
                    except queue.Full:
                        self.dropped += 1

    def close(self, timeout: float = 30.0) -> None:
        """Send what waits (for at most ``timeout`` seconds), then stop."""
        with contextlib.suppress(queue.Full):
            self._queue.put((None), timeout=timeout)
        self._thread.join(timeout)
        if self.dropped:
            log.warning("%d alerts dropped: the queue was full", self.dropped)

    def _send_all(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            rule, item = job
            for action in rule.do:
                if action == "log":
                    continue
                settings = self.rules.outputs[action]
                try:
                    if action == "webhook":
                        self._webhook(rule, item, settings)
                    else:
                        self._syslog(rule, item, settings)
                    self.sent += 1
                except (OSError, ValueError) as exc:
                    self.failed += 1
                    log.warning("alert %s: %s failed: %s", rule.name, action, exc)

    def _webhook(self, rule: Rule, item: Record, settings: dict[str, Any]) -> None:
        post_json(
            str(settings["url"]),
            orjson.dumps(payload(rule, item)),
            settings.get("headers") or {},
            float(settings.get("timeout", 5)),
            int(settings.get("retries", 5)),
        )

    def _syslog(self, rule: Rule, item: Record, settings: dict[str, Any]) -> None:
        host, _, port = str(settings.get("address", "127.0.0.1:514")).rpartition(":")
        address = (host.strip("[]") or "127.0.0.1", int(port or 514))
        message = syslog_message(rule, item, settings)
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        if str(settings.get("protocol", "udp")) == "tcp":
            with socket.create_connection(address, timeout=5) as connection:
                connection.sendall(f"{len(message)} ".encode() + message)  # RFC 6587 framing
        else:
            with socket.socket(family, socket.SOCK_DGRAM) as sender:
                sender.sendto(message, address)
