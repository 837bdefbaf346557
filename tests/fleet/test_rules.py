"""Pure pieces of the fleet report: registry names and durations."""

from __future__ import annotations

import datetime

import pytest

from hullcheck.cli.options import parse_duration
from hullcheck.errors import UsageError
from hullcheck.fleet.hygiene import ROGUE_RULES, Settings, image_registry, rules


@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("nginx:1.25", "docker.io"),
        ("library/nginx", "docker.io"),
        ("bitnami/redis:7", "docker.io"),
        ("registry.example.com/team/app:1", "registry.example.com"),
        ("localhost:5000/app", "localhost:5000"),
        ("localhost/app", "localhost"),
        ("ghcr.io/org/tool@sha256:" + "0" * 64, "ghcr.io"),
    ],
)
def test_image_registry(reference: str, registry: str) -> None:
    assert image_registry(reference) == registry


def test_durations() -> None:
    assert parse_duration("7d") == datetime.timedelta(days=7)
    assert parse_duration("12h") == datetime.timedelta(hours=12)
    with pytest.raises(UsageError):
        parse_duration("7 days")


def test_rogue_rules_have_unique_kebab_names() -> None:
    names = [r.name for r in ROGUE_RULES]
    assert len(set(names)) == len(names)
    assert all(n.replace("-", "").isalpha() and n == n.lower() for n in names)


def test_rules_can_be_skipped_by_name() -> None:
    every = {r.name for r in ROGUE_RULES}
    # the registry rule needs a list of allowed registries to judge by
    assert {r.name for r in rules(Settings())} == every - {"unapproved-registry"}
    allowed = Settings(allowed_registries=("docker.io",), skip_rules=("unmanaged", "no-owner"))
    assert {r.name for r in rules(allowed)} == every - {"unmanaged", "no-owner"}
    with pytest.raises(UsageError, match="unknown rogue rule 'no-label'"):
        rules(Settings(skip_rules=("no-label",)))
