"""Alert rules: YAML conditions on audit records, each naming what to do when one matches.

```yaml
rules:
  - name: exec-in-prod
    when: {action: exec_start, label.env: prod}
    do: [log, webhook]
  - name: privileged-start
    when: {action: start, context.config.privileged: true}
    do: [syslog]
  - name: drift-under-etc
    when: {action: drift, context.sensitive: "/etc/*"}
    do: [log]
  - name: critical-image-started
    when: {action: start, findings: critical}
    do: [webhook]
outputs:
  webhook: {url: "https://alerts.example/hook", timeout: 5, retries: 5}
  syslog: {address: "127.0.0.1:514", protocol: udp, facility: local0}
```

A condition names a field — ``kind``, ``action``, ``host``, ``object`` (the object's name or
ID), ``actor``, ``reconstructed``, ``image`` (the image a container runs, as the event or its
recorded configuration names it), ``label.KEY`` (a container label), ``context.PATH`` (any
recorded detail, dotted), or ``findings`` (the image's stored findings reach that severity) —
and a value: text is a glob (``nginx*``), a list means any of them, a field that holds a list
matches when one of its items does. Every condition of a rule must hold. A rules file with an
unknown key, field or action is refused with one line naming it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from hullcheck.audit.records import Record
from hullcheck.errors import UsageError
from hullcheck.model.vuln import Severity

ACTIONS = ("log", "webhook", "syslog")
FIELDS = ("kind", "action", "host", "object", "actor", "reconstructed", "image", "findings")
_RULE_KEYS = {"name", "when", "do", "description"}
_OUTPUTS = {
    "webhook": {"url", "timeout", "retries", "headers"},
    "syslog": {"address", "protocol", "facility", "app_name"},
}
MAX_RULES_FILE = 1 << 20

Findings = Callable[[str], dict[str, int]]
"""Severity → count of the stored findings of an image (by ID); ``{}`` when not scanned."""


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict[str, Any]
    do: tuple[str, ...]

    def matches(self, item: Record, findings: Findings | None = None) -> bool:
        return all(_holds(item, key, want, findings) for key, want in self.when.items())


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    outputs: dict[str, dict[str, Any]]

    def matching(self, item: Record, findings: Findings | None = None) -> list[Rule]:
        return [rule for rule in self.rules if rule.matches(item, findings)]


def load(path: str) -> Rules:
    """The rules in ``path``; a :class:`UsageError` naming the first thing wrong."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_RULES_FILE + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the rules ({exc})") from None
    if len(text) > MAX_RULES_FILE:
        raise UsageError(f"{path}: a rules file of more than 1 MiB")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise UsageError(f"{path}: not YAML{line}") from None
    return parse(document, path)


def parse(document: Any, where: str) -> Rules:
    if not isinstance(document, dict):
        raise UsageError(f"{where}: a rules file is a mapping with `rules:`")
    _known(document, {"rules", "outputs"}, where)
    rules = [
        _rule(entry, f"{where}: rule {n + 1}", where)
        for n, entry in enumerate(document.get("rules") or [])
    ]
    outputs = document.get("outputs") or {}
    if not isinstance(outputs, dict):
        raise UsageError(f"{where}: `outputs` is a mapping")
    for output, settings in outputs.items():
        if output not in _OUTPUTS:
            raise UsageError(f"{where}: unknown output {output!r} (use webhook, syslog)")
        if not isinstance(settings, dict):
            raise UsageError(f"{where}: output {output!r} is a mapping")
        _known(settings, _OUTPUTS[output], f"{where}: output {output!r}")
    for rule in rules:
        for action in rule.do:
            if action != "log" and action not in outputs:
                raise UsageError(
                    f"{where}: rule {rule.name!r} sends to {action}, which `outputs` does not set"
                )
    return Rules(tuple(rules), {str(k): dict(v) for k, v in outputs.items()})


def _rule(entry: Any, at: str, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise UsageError(f"{at}: a rule is a mapping (name, when, do)")
    _known(entry, _RULE_KEYS, at)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{at}: a rule needs a name")
    when = entry.get("when")
    if not isinstance(when, dict) or not when:
        raise UsageError(f"{where}: rule {name!r}: `when` needs at least one condition")
    for key, value in when.items():
        _check_field(str(key), value, f"{where}: rule {name!r}")
    do = entry.get("do") or ["log"]
    do = [do] if isinstance(do, str) else do
    for action in do:
        if action not in ACTIONS:
            raise UsageError(
                f"{where}: rule {name!r}: unknown action {action!r} (use {', '.join(ACTIONS)})"
            )
    return Rule(name, {str(k): v for k, v in when.items()}, tuple(do))


def _known(mapping: dict[Any, Any], keys: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in keys)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")


def _check_field(key: str, value: Any, where: str) -> None:
    if key in FIELDS:
        if key == "findings" and value not in [s.value for s in Severity]:
            raise UsageError(f"{where}: `findings` is a severity (low, medium, high, critical)")
        return
    head, _, rest = key.partition(".")
    if head in ("label", "context") and rest:
        return
    raise UsageError(
        f"{where}: unknown field {key!r} (use {', '.join(FIELDS)}, label.KEY or context.PATH)"
    )


def _holds(item: Record, key: str, want: Any, findings: Findings | None) -> bool:
    if key == "findings":
        image = image_of(item)
        if findings is None or image is None:
            return False
        floor = Severity(want).rank
        return any(
            count and Severity(severity).rank >= floor
            for severity, count in findings(image).items()
            if severity in Severity.__members__.values()
        )
    return _matches(_value(item, key), want)


def _value(item: Record, key: str) -> Any:
    if key == "object":
        return [v for v in (item.name, item.object_id) if v]
    if key == "image":
        found = [item.context.get("image"), (item.context.get("config") or {}).get("image")]
        return [v for v in found if v]
    if key in ("kind", "action", "host", "actor", "reconstructed"):
        return getattr(item, key)
    head, _, rest = key.partition(".")
    if head == "label":
        return item.context.get(rest)
    value: Any = item.context
    for part in rest.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class ContainerImages:
    """The image each container runs, learnt from the records that carry its configuration
    (``create``, ``present``), so that its later records (a ``start``) name it for the
    ``findings`` condition."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def shown(self, item: Record) -> Record:
        config = item.context.get("config")
        if isinstance(config, dict) and config.get("image"):
            self.known[item.object_id] = str(config["image"])
        elif item.kind == "container" and item.object_id in self.known:
            context = {**item.context, "image_id": self.known[item.object_id]}
            return item.but(context)
        return item


def image_of(item: Record) -> str | None:
    """The image ID a record names: a container's recorded configuration's (set by the
    collector on every record of a container it knows), an image event's."""
    config = item.context.get("config") or {}
    image = config.get("image") or item.context.get("image_id")
    return str(image) if image else None


def _matches(have: Any, want: Any) -> bool:
    if isinstance(want, list):
        return any(_matches(have, one) for one in want)
    if isinstance(have, list):
        return any(_matches(one, want) for one in have)
    if have is None:
        return False
    if isinstance(want, bool) or isinstance(have, bool):
        return str(have).lower() == str(want).lower()
    if isinstance(want, str):
        return fnmatch.fnmatchcase(str(have), want)
    return bool(have == want) or str(have) == str(want)


def check(
    rules: Rules, records: Sequence[Record], findings: Findings | None = None
) -> list[tuple[Rule, Record]]:
    """Every (rule, record) that matches, in the records' order."""
    return [(rule, item) for item in records for rule in rules.matching(item, findings)]
