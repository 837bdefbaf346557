"""The review gate's data: what a rule is, what it found, what a policy waived."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum

from hullcheck.model.vuln import Severity


class Target(StrEnum):
    """What a rule looks at."""

    DOCKERFILE = "dockerfile"
    IMAGE = "image"
    RUNTIME = "runtime"
    """A container's configuration: its inspect document or a compose service."""
    DAEMON = "daemon"
    """An engine: its info and, where readable, its configuration file."""


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule as users see it (``hullcheck rules``, docs/rules.md, SARIF's rule list)."""

    id: str
    """Stable id (``HC-DF-001``); never reused for another check."""
    name: str
    """Stable kebab-case name (``dockerfile-root-user``); a policy may use either."""
    target: Target
    severity: Severity
    """Default severity; a policy may override it."""
    title: str
    """What is wrong, in a few words."""
    rationale: str
    """Why it matters."""
    fix: str
    """What to do instead."""
    cis: str | None = None
    """The CIS Docker Benchmark recommendation it checks (``5.5``)."""
    cis_title: str | None = None
    """That recommendation's short title."""
    hadolint: str | None = None
    """The corresponding hadolint rule (``DL3002``)."""
    dockle: str | None = None
    """The corresponding Dockle checkpoint (``CIS-DI-0001``)."""
    version: str = "1"
    """Bumped when what the rule reports changes."""


@dataclass(frozen=True, slots=True)
class Waiver:
    """A policy's exception that covers a violation: why, who owns it, until when."""

    rule: str
    reason: str
    owner: str
    expires: datetime.date

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken by one subject."""

    rule: str
    """The rule's id."""
    severity: Severity
    """After the policy's overrides."""
    subject: str
    """What was checked: a Dockerfile's path, an image reference, ``container web-1``,
    ``compose.yaml service api``, ``engine prod-1``."""
    message: str
    """What was found; never a secret's value."""
    line: int | None = None
    """1-based line in a Dockerfile or compose file."""
    path: str | None = None
    """The file the line is in (a Dockerfile, a compose file), or a file inside an image."""
    waiver: Waiver | None = None
    """The policy's exception covering it (a waived violation does not fail the review)."""


@dataclass(frozen=True, slots=True)
class Review:
    """A review's verdict and everything that led to it."""

    subjects: tuple[str, ...]
    """What was reviewed, in order."""
    violations: tuple[Violation, ...]
    fail_on: Severity
    """Violations at or above this severity fail the review (unless waived)."""
    rules: tuple[RuleInfo, ...]
    """The rules that ran (SARIF lists them)."""
    notes: tuple[str, ...] = ()
    """What the reviewer should know: exceptions soon to expire, checks that could not run."""
    ran: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per subject, the ids of the rules that ran on it."""

    @property
    def blocking(self) -> tuple[Violation, ...]:
        """The violations that fail the review."""
        return tuple(
            v for v in self.violations if v.waiver is None and v.severity.rank >= self.fail_on.rank
        )

    @property
    def passed(self) -> bool:
        return not self.blocking
