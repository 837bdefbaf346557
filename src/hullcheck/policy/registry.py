"""The explicit list of review rules, one tuple per target; a test fails when a rule exists but
is not listed, or when two share an id or a name."""

from __future__ import annotations

from hullcheck.errors import PolicyError
from hullcheck.model.policy import RuleInfo
from hullcheck.policy.daemon_rules import DAEMON_RULES
from hullcheck.policy.dockerfile_rules import DOCKERFILE_RULES
from hullcheck.policy.image_rules import IMAGE_RULES
from hullcheck.policy.runtime_rules import RUNTIME_RULES

RULE_INFOS: tuple[RuleInfo, ...] = tuple(
    rule.info
    for rules in (DOCKERFILE_RULES, IMAGE_RULES, RUNTIME_RULES, DAEMON_RULES)
    for rule in rules
)
_BY_KEY = {key.lower(): info for info in RULE_INFOS for key in (info.id, info.name)}


def rule_info(key: str, where: str = "") -> RuleInfo:
    """The rule with this id or name (either case); a :class:`PolicyError` naming ``where``
    when there is none."""
    found = _BY_KEY.get(key.strip().lower())
    if found is None:
        prefix = f"{where}: " if where else ""
        raise PolicyError(
            f"{prefix}unknown rule {key[:60]!r}", hint="hullcheck rules lists every rule"
        )
    return found
