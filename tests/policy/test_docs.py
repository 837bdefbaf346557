"""docs/rules.md is the rules' own description; the registry lists every rule once."""

from __future__ import annotations

import inspect
import os

from hullcheck.policy import daemon_rules, dockerfile_rules, image_rules, runtime_rules
from hullcheck.policy.interface import Rule
from hullcheck.policy.registry import RULE_INFOS
from hullcheck.report.reviews import rules_markdown

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "rules.md")


def test_docs_rules_md_is_generated_from_the_rules(update_golden: bool) -> None:
    text = rules_markdown(RULE_INFOS)
    if update_golden:
        with open(DOCS, "w") as handle:
            handle.write(text)
    with open(DOCS) as handle:
        assert handle.read() == text, "run pytest --update-golden and review docs/rules.md"


def test_every_rule_is_registered_once_with_its_references() -> None:
    defined = [
        rule.info
        for module in (dockerfile_rules, image_rules, runtime_rules, daemon_rules)
        for _, member in inspect.getmembers(module)
        if isinstance(member, tuple)
        for rule in member
        if isinstance(rule, Rule)
    ]
    assert sorted(i.id for i in defined) == sorted(i.id for i in RULE_INFOS)
    assert len({i.id for i in RULE_INFOS}) == len({i.name for i in RULE_INFOS}) == len(RULE_INFOS)
    for info in RULE_INFOS:
        assert info.title and info.rationale and info.fix, info.id
        assert (info.cis is None) == (info.cis_title is None), info.id
