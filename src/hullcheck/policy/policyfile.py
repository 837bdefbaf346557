"""The policy file: which rules apply where, how severe they are, what is allowed, and the
exceptions, each with a reason, an owner and an expiry. One policy drives ``review``, ``cis``
and (later) the engine's authorization plugin. docs/policy.md describes the format.

    fail-on: high                  # violations at or above fail (default high)
    registries: [registry.corp]    # images must come from one of these (default: any)
    vulnerabilities: {fail-on: critical}
    image: {max-age-days: 365}
    rules:
      disable: [HC-DF-003]
      severity: {runtime-writable-rootfs: medium}
    scopes:                        # more settings where they match (all given must match)
      - when: {host-label: {env: prod}, image: "corp/*", registry: registry.corp}
        fail-on: medium
        disable: [...]
        severity: {...}
    exceptions:
      - rule: HC-RT-001
        subject: "container legacy-*"
        reason: vendor appliance needs raw devices
        owner: ops@corp
        expires: 2027-03-31
    enforcement: {on-error: deny}  # the engine's plugin when the policy cannot be applied
    signatures: {keys: [release.pub]}  # images must carry a cosign signature by one of these

An unknown key, an unknown rule, a severity that is not one or an exception without its
reason, owner or expiry is an error naming the file (and the line, for YAML errors).
"""

from __future__ import annotations

import datetime
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from hullcheck.errors import PolicyError
from hullcheck.fleet.hygiene.rules import image_registry
from hullcheck.model.policy import RuleInfo, Waiver
from hullcheck.model.vuln import Severity
from hullcheck.policy.registry import rule_info

SOON = datetime.timedelta(days=14)
"""An exception expiring within this is reported as a warning."""
_TOP = frozenset(
    {
        "fail-on",
        "registries",
        "vulnerabilities",
        "image",
        "rules",
        "scopes",
        "exceptions",
        "enforcement",
        "signatures",
    }
)
_SCOPE = frozenset({"when", "fail-on", "disable", "severity"})
_WHEN = frozenset({"host-label", "image", "registry"})


@dataclass(frozen=True, slots=True)
class Where:
    """What a review is about, for the scopes to match."""

    host_labels: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    host_labels: dict[str, str]
    image: str | None
    registry: str | None
    fail_on: Severity | None
    disabled: frozenset[str]
    severities: dict[str, Severity]

    def matches(self, where: Where) -> bool:
        if any(where.host_labels.get(k) != v for k, v in self.host_labels.items()):
            return False
        if self.image is not None and not (
            where.image and fnmatch.fnmatchcase(where.image, self.image)
        ):
            return False
        return self.registry is None or (
            where.image is not None and image_registry(where.image) == self.registry
        )


@dataclass(frozen=True, slots=True)
class Exception_:
    rule: str
    subject: str
    """A glob over the violation's subject (``*`` by default)."""
    waiver: Waiver


@dataclass(frozen=True, slots=True)
class Policy:
    source: str
    """The file it was read from, or ``built-in``."""
    fail_on: Severity = Severity.HIGH
    registries: tuple[str, ...] = ()
    vuln_fail_on: Severity | None = Severity.CRITICAL
    max_age_days: int = 365
    disabled: frozenset[str] = frozenset()
    severities: dict[str, Severity] = field(default_factory=dict)
    scopes: tuple[Scope, ...] = ()
    exceptions: tuple[Exception_, ...] = ()
    fail_closed: bool = True
    """What the engine's plugin does when the policy cannot be applied to a request."""
    signing_keys: tuple[str, ...] = ()
    """Public keys (paths) one of which must have signed an image (empty: not required)."""

    def for_where(self, where: Where) -> Policy:
        """This policy with the scopes that match applied, in order."""
        fail_on, disabled, severities = self.fail_on, set(self.disabled), dict(self.severities)
        for scope in self.scopes:
            if scope.matches(where):
                fail_on = scope.fail_on or fail_on
                disabled |= scope.disabled
                severities.update(scope.severities)
        return Policy(
            self.source,
            fail_on,
            self.registries,
            self.vuln_fail_on,
            self.max_age_days,
            frozenset(disabled),
            severities,
            (),
            self.exceptions,
            self.fail_closed,
            self.signing_keys,
        )

    def enabled(self, rule: RuleInfo) -> bool:
        return rule.id not in self.disabled

    def severity(self, rule: RuleInfo) -> Severity:
        return self.severities.get(rule.id, rule.severity)

    def waiver(self, rule: RuleInfo, subject: str) -> Waiver | None:
        for exception in self.exceptions:
            if exception.rule == rule.id and fnmatch.fnmatchcase(subject, exception.subject):
                return exception.waiver
        return None


def load(path: str | None) -> Policy:
    """The policy at ``path``, or the built-in default."""
    if path is None:
        return Policy("built-in")
    try:
        with open(path, "rb") as handle:
            data = handle.read(1 << 20)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy ({exc.strerror})") from None
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PolicyError(f"{path}: {where}{getattr(exc, 'problem', None) or 'not YAML'}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: a policy is a mapping of settings")
    return _policy(document, path)


def _policy(document: dict[str, Any], path: str) -> Policy:
    _only(document, _TOP, path)
    vulnerabilities = _mapping(document.get("vulnerabilities"), f"{path}: vulnerabilities")
    image = _mapping(document.get("image"), f"{path}: image")
    rules = _mapping(document.get("rules"), f"{path}: rules")
    _only(rules, frozenset({"disable", "severity"}), f"{path}: rules")
    threshold = vulnerabilities.get("fail-on", "critical")
    enforcement = _mapping(document.get("enforcement"), f"{path}: enforcement")
    _only(enforcement, frozenset({"on-error"}), f"{path}: enforcement")
    on_error = enforcement.get("on-error", "deny")
    if on_error not in ("deny", "allow"):
        raise PolicyError(
            f"{path}: enforcement.on-error: {str(on_error)[:20]!r} is not deny or allow"
        )
    return Policy(
        path,
        _severity(document.get("fail-on", "high"), f"{path}: fail-on"),
        tuple(str(r) for r in _list(document.get("registries"), f"{path}: registries")),
        None if threshold in (None, "none") else _severity(threshold, f"{path}: vulnerabilities"),
        _days(image.get("max-age-days", 365), f"{path}: image.max-age-days"),
        _rule_ids(rules.get("disable"), f"{path}: rules.disable"),
        _severities(rules.get("severity"), f"{path}: rules.severity"),
        tuple(
            _scope(s, f"{path}: scopes[{n}]")
            for n, s in enumerate(_list(document.get("scopes"), f"{path}: scopes"))
        ),
        tuple(
            _exception(e, f"{path}: exceptions[{n}]")
            for n, e in enumerate(_list(document.get("exceptions"), f"{path}: exceptions"))
        ),
        on_error == "deny",
        _signing_keys(document.get("signatures"), path),
    )


def _signing_keys(value: Any, path: str) -> tuple[str, ...]:
    """The keys' paths, relative to the policy file; each must be there."""
    signatures = _mapping(value, f"{path}: signatures")
    _only(signatures, frozenset({"keys"}), f"{path}: signatures")
    keys = []
    for entry in _list(signatures.get("keys"), f"{path}: signatures.keys"):
        if not isinstance(entry, str) or not entry:
            raise PolicyError(f"{path}: signatures.keys: a key is a path to a public key")
        key = os.path.join(os.path.dirname(os.path.abspath(path)), entry)
        if not os.path.isfile(key):
            raise PolicyError(f"{path}: signatures.keys: {entry}: no such file")
        keys.append(key)
    return tuple(keys)


def _only(document: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(map(str, document)) - allowed)
    if unknown:
        raise PolicyError(
            f"{where}: unknown setting {unknown[0]!r}", hint="one of: " + ", ".join(sorted(allowed))
        )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a mapping")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}: expected a list")
    return value


def _severity(value: Any, where: str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise PolicyError(
            f"{where}: {str(value)[:40]!r} is not a severity",
            hint="one of: " + ", ".join(s.value for s in Severity),
        ) from None


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"{where}: {str(value)[:30]!r} is not a number of days")
    return value


def _rule_ids(value: Any, where: str) -> frozenset[str]:
    return frozenset(rule_info(str(key), where).id for key in _list(value, where))


def _severities(value: Any, where: str) -> dict[str, Severity]:
    return {
        rule_info(str(key), where).id: _severity(level, f"{where}.{key}")
        for key, level in _mapping(value, where).items()
    }


def _scope(value: Any, where: str) -> Scope:
    scope = _mapping(value, where)
    _only(scope, _SCOPE, where)
    when = _mapping(scope.get("when"), f"{where}.when")
    _only(when, _WHEN, f"{where}.when")
    labels = _mapping(when.get("host-label"), f"{where}.when.host-label")
    return Scope(
        {str(k): str(v) for k, v in labels.items()},
        None if when.get("image") is None else str(when["image"]),
        None if when.get("registry") is None else str(when["registry"]),
        None if scope.get("fail-on") is None else _severity(scope["fail-on"], where),
        _rule_ids(scope.get("disable"), f"{where}.disable"),
        _severities(scope.get("severity"), f"{where}.severity"),
    )


def _exception(value: Any, where: str) -> Exception_:
    entry = _mapping(value, where)
    _only(entry, frozenset({"rule", "subject", "reason", "owner", "expires"}), where)
    missing = [k for k in ("rule", "reason", "owner", "expires") if not entry.get(k)]
    if missing:
        raise PolicyError(f"{where}: an exception needs its {missing[0]}")
    expires = entry["expires"]
    if not isinstance(expires, datetime.date):
        try:
            expires = datetime.date.fromisoformat(str(expires))
        except ValueError:
            raise PolicyError(f"{where}: expires {str(expires)[:30]!r} is not a date") from None
    rule = rule_info(str(entry["rule"]), where).id
    waiver = Waiver(rule, str(entry["reason"]), str(entry["owner"]), expires)
    return Exception_(rule, str(entry.get("subject") or "*"), waiver)
