"""Rules run on subjects under a policy: violations with the policy's severities, waivers
and the notes a reviewer must see (an exception expired or about to)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from hullcheck.model.policy import Review, RuleInfo, Violation
from hullcheck.policy.interface import Rule, Settings, Subject
from hullcheck.policy.policyfile import SOON, Policy


@dataclass
class Evaluation:
    """Violations gathered over several subjects, then one :class:`Review`."""

    policy: Policy
    settings: Settings
    today: datetime.date
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    ran: dict[str, list[str]] = field(default_factory=dict)
    """Per subject, in the order they were checked, the ids of the rules run on it."""

    def run(
        self, rules: Sequence[Rule[Subject]], subject: Subject, name: str, policy: Policy
    ) -> None:
        """Every rule ``policy`` leaves on, on one subject called ``name``."""
        ran = self.ran.setdefault(name, [])
        for rule in rules:
            info = rule.info
            if not policy.enabled(info):
                continue
            self.rules[info.id] = info
            ran.append(info.id)
            for hit in rule.check(subject, self.settings):
                waiver = policy.waiver(info, name)
                if waiver is not None and waiver.expired(self.today):
                    self.note(
                        f"{info.id} on {name}: the exception owned by {waiver.owner} expired "
                        f"on {waiver.expires}"
                    )
                    waiver = None
                elif waiver is not None and waiver.expires - self.today <= SOON:
                    self.note(
                        f"{info.id} on {name}: the exception owned by {waiver.owner} expires "
                        f"on {waiver.expires}"
                    )
                self.violations.append(
                    Violation(
                        info.id,
                        policy.severity(info),
                        name,
                        hit.message,
                        hit.line,
                        hit.path,
                        waiver,
                    )
                )

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def review(self) -> Review:
        return Review(
            tuple(self.ran),
            tuple(self.violations),
            self.policy.fail_on,
            tuple(sorted(self.rules.values(), key=lambda r: r.id)),
            tuple(self.notes),
            {subject: tuple(ids) for subject, ids in self.ran.items()},
        )
