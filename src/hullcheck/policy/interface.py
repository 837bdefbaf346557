"""The contract of a review rule: its description (:class:`RuleInfo`) and a check that sees
one subject of its target and the policy's settings, and yields a :class:`Hit` per thing
wrong. Rules never print, never raise on bad input (the parsers before them do)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from hullcheck.model.policy import RuleInfo, Target
from hullcheck.model.vuln import Severity

Subject = TypeVar("Subject")


class Hit(NamedTuple):
    """One thing a rule found."""

    message: str
    line: int | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """What the policy tells the rules (the rest of the policy is applied around them)."""

    allowed_registries: tuple[str, ...] = ()
    """Registries images may come from (empty: any)."""
    max_age_days: int = 365
    """Images built longer ago than this are stale."""
    sensitive_paths: tuple[str, ...] = (
        "/",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/proc",
        "/sys",
        "/usr",
        "/var/run",
        "/run",
        "/root",
    )
    """Host paths a container must not mount (CIS 5.6 names most of them)."""
    now: float = 0.0
    """The review's moment (seconds since the epoch)."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule(Generic[Subject]):
    info: RuleInfo
    check: Callable[[Subject, Settings], Iterable[Hit]]


def describer(prefix: str, target: Target) -> Callable[..., RuleInfo]:
    """How a family of rules is described: ``describe(1, "name", severity, title,
    rationale, fix, cis=…)`` gives the :class:`RuleInfo` ``{prefix}-001``."""

    def describe(
        number: int,
        name: str,
        severity: Severity,
        title: str,
        rationale: str,
        fix: str,
        **refs: str,
    ) -> RuleInfo:
        return RuleInfo(
            f"{prefix}-{number:03d}", name, target, severity, title, rationale, fix, **refs
        )

    return describe
