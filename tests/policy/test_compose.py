"""Compose services checked by the runtime rules, each named with its line."""

from __future__ import annotations

import os

import pytest

from hullcheck.api import review as review_api
from hullcheck.errors import PolicyError

HERE = os.path.join(os.path.dirname(__file__), "..", "data", "compose", "offending.yaml")
LIMITS = {"HC-RT-009", "HC-RT-010", "HC-RT-011", "HC-RT-012", "HC-RT-013"}


def test_each_service_breaks_what_its_name_says() -> None:
    review = review_api.review(compose_files=[HERE])
    found: dict[str, set[str]] = {}
    lines: dict[str, int | None] = {}
    for violation in review.violations:
        service = violation.subject.rsplit(" ", 1)[1]
        found.setdefault(service, set()).add(violation.rule)
        lines[service] = violation.line
        assert violation.path == HERE
    assert found == {
        "privileged": {"HC-RT-001", *LIMITS},
        "engine-socket": {"HC-RT-007", *LIMITS},
        "host-etc": {"HC-RT-008", *LIMITS},
        "shared-propagation": {"HC-RT-018", *LIMITS},
        "open-port": {"HC-RT-016", *LIMITS},
        "host-namespaces": {"HC-RT-003", "HC-RT-004", "HC-RT-005", *LIMITS},
    }
    assert lines["privileged"] == 3 and lines["host-namespaces"] == 27
    ports = [v.message for v in review.violations if v.rule == "HC-RT-016"]
    assert ports == [
        "publishes 443/tcp on every interface (host port 8443)",
        "publishes 80/tcp on every interface (host port 8080)",
    ]
    assert not review.passed  # privileged and the socket are critical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services:\n  a: [1\n", "line 3, column 1: expected ',' or ']', but got '<stream end>'"),
        ("version: '3'\n", "no services mapping; not a compose file"),
        ("services:\n  a: just-a-string\n", "line 2: service a is not a mapping"),
        (
            "services:\n  web:\n    cpus: lots\n",
            "line 2: service web: could not convert string to float: 'lots'",
        ),
    ],
)
def test_a_broken_compose_file_is_named(
    tmp_path: os.PathLike[str], text: str, message: str
) -> None:
    path = os.path.join(os.fspath(tmp_path), "compose.yaml")
    with open(path, "w") as handle:
        handle.write(text)
    with pytest.raises(PolicyError) as caught:
        review_api.review(compose_files=[path])
    assert str(caught.value) == f"{path}: {message}"
