"""The policy file: severities, disabled rules, scopes, exceptions that waive until they
expire, and a clear error for every mistake in it."""

from __future__ import annotations

import datetime
import os

import pytest

from hullcheck.api import review as review_api
from hullcheck.errors import PolicyError
from hullcheck.model import Severity
from hullcheck.policy.policyfile import Where, load

CASES = os.path.join(os.path.dirname(__file__), "..", "data", "dockerfiles")
ROOT_USER = os.path.join(CASES, "HC-DF-001.bad")  # also breaks HC-DF-003 and HC-DF-009


def _policy(tmp_path: os.PathLike[str], text: str) -> str:
    path = os.path.join(os.fspath(tmp_path), "policy.yaml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def test_the_built_in_policy_fails_on_high() -> None:
    review = review_api.lint(ROOT_USER)
    assert not review.passed and [v.rule for v in review.blocking] == ["HC-DF-001"]


def test_severities_and_disabled_rules_change_the_verdict(tmp_path: os.PathLike[str]) -> None:
    path = _policy(
        tmp_path,
        "fail-on: low\nrules:\n  disable: [dockerfile-base-undigested]\n"
        "  severity: {HC-DF-001: medium, dockerfile-no-healthcheck: negligible}\n",
    )
    review = review_api.lint(ROOT_USER, policy=path)
    found = {v.rule: v.severity for v in review.violations}
    assert found == {"HC-DF-001": Severity.MEDIUM, "HC-DF-009": Severity.NEGLIGIBLE}
    assert [v.rule for v in review.blocking] == ["HC-DF-001"]


def test_an_exception_waives_until_it_expires(tmp_path: os.PathLike[str]) -> None:
    soon = datetime.date.today() + datetime.timedelta(days=3)
    later = datetime.date.today() + datetime.timedelta(days=90)
    past = datetime.date.today() - datetime.timedelta(days=1)
    entry = (
        "exceptions:\n  - rule: dockerfile-root-user\n    subject: '*/HC-DF-001.bad'\n"
        "    reason: the base image's entrypoint drops privileges\n    owner: team-a\n"
    )
    waived = review_api.lint(ROOT_USER, policy=_policy(tmp_path, entry + f"    expires: {later}\n"))
    assert waived.passed and waived.notes == ()
    (root,) = [v for v in waived.violations if v.rule == "HC-DF-001"]
    assert root.waiver is not None and root.waiver.owner == "team-a"
    warned = review_api.lint(ROOT_USER, policy=_policy(tmp_path, entry + f"    expires: {soon}\n"))
    assert warned.passed and f"expires on {soon}" in warned.notes[0]
    expired = review_api.lint(ROOT_USER, policy=_policy(tmp_path, entry + f"    expires: {past}\n"))
    assert not expired.passed and f"expired on {past}" in expired.notes[0]


def test_scopes_apply_where_they_match(tmp_path: os.PathLike[str]) -> None:
    path = _policy(
        tmp_path,
        "fail-on: critical\nscopes:\n"
        "  - when: {host-label: {env: prod}}\n    fail-on: low\n"
        "  - when: {registry: registry.corp, image: 'registry.corp/legacy/*'}\n"
        "    disable: [runtime-privileged]\n",
    )
    policy = load(path)
    assert policy.for_where(Where({"env": "prod"})).fail_on is Severity.LOW
    assert policy.for_where(Where({"env": "dev"})).fail_on is Severity.CRITICAL
    legacy = policy.for_where(Where({}, "registry.corp/legacy/app:1"))
    assert "HC-RT-001" in legacy.disabled
    assert "HC-RT-001" not in policy.for_where(Where({}, "registry.corp/app:1")).disabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  disable: [HC-XX-999]\n", "rules.disable: unknown rule 'HC-XX-999'"),
        ("fail-on: severe\n", "fail-on: 'severe' is not a severity"),
        ("failon: high\n", "unknown setting 'failon'"),
        ("exceptions:\n  - rule: HC-DF-001\n    reason: x\n    expires: 2027-01-01\n",
         "exceptions[0]: an exception needs its owner"),
        ("exceptions:\n  - {rule: HC-DF-001, reason: x, owner: y, expires: soon}\n",
         "exceptions[0]: expires 'soon' is not a date"),
        ("rules: [1\n", "line 2, column 1: expected ',' or ']', but got '<stream end>'"),
        ("- a list\n", "a policy is a mapping of settings"),
        ("image: {max-age-days: a year}\n", "image.max-age-days: 'a year' is not a number of days"),
        ("enforcement: {on-error: maybe}\n", "enforcement.on-error: 'maybe' is not deny or allow"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_policy_is_named(
    tmp_path: os.PathLike[str], text: str, message: str
) -> None:
    path = _policy(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: {message}"
