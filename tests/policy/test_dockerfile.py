"""The Dockerfile rules, each on a Dockerfile that breaks it (the lines it must name are in
the file's first line, ``# expect: 3, 5``) and on one that does not; the parser's refusals."""

from __future__ import annotations

import os

import pytest

from hullcheck.api import review as review_api
from hullcheck.errors import PolicyError
from hullcheck.policy import dockerfile
from hullcheck.policy.dockerfile_rules import DOCKERFILE_RULES

CASES = os.path.join(os.path.dirname(__file__), "..", "data", "dockerfiles")
IDS = [rule.info.id for rule in DOCKERFILE_RULES]


def _expected(path: str) -> list[int]:
    with open(path) as handle:
        first = handle.readline()
    assert first.startswith("# expect:"), path
    return [int(n) for n in first.split(":", 1)[1].split(",")]


@pytest.mark.parametrize("rule", IDS)
def test_each_rule_names_the_lines_that_break_it(rule: str) -> None:
    path = os.path.join(CASES, f"{rule}.bad")
    review = review_api.lint(path)
    lines = sorted(v.line or 0 for v in review.violations if v.rule == rule)
    assert lines == _expected(path), [v for v in review.violations if v.rule == rule]
    assert all(v.path == path for v in review.violations)


@pytest.mark.parametrize("rule", IDS)
def test_each_rule_passes_a_dockerfile_that_follows_it(rule: str) -> None:
    review = review_api.lint(os.path.join(CASES, f"{rule}.good"))
    assert [v for v in review.violations if v.rule == rule] == []


def test_every_rule_has_its_two_cases() -> None:
    names = set(os.listdir(CASES))
    assert names == {f"{rule}.{kind}" for rule in IDS for kind in ("bad", "good")}


def test_a_heredoc_belongs_to_its_instruction_and_stages_are_known() -> None:
    parsed = dockerfile.read(os.path.join(CASES, "HC-DF-011.good"))
    (heredoc,) = [i for i in parsed.instructions if i.heredocs]
    assert heredoc.line == 7 and "jq=1.6-2.1" in heredoc.heredocs[0]
    assert [i.keyword for i in parsed.instructions].count("RUN") == 4
    staged = dockerfile.read(os.path.join(CASES, "HC-DF-001.good"))
    assert [(s.name, s.from_stage) for s in staged.stages] == [
        ("build", False),
        ("test", True),
        (None, False),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"FROM debian:12\nRUNN make\n", "line 2, column 1: unknown instruction 'RUNN'"),
        (b"# a comment\nRUN make\nFROM debian:12\n", "line 2, column 1: RUN before the first FROM"),
        (b"FROM debian:12\nRUN <<EOF\necho hi\n", "line 2: the heredoc 'EOF' is never closed"),
        (b"ARG X=1\n", "no FROM instruction; not a Dockerfile"),
        (b"FROM debian:12\nRUN echo \xff\n", "line 2, column 10: not UTF-8 text"),
        (b"FROM\n", "line 1, column 6: FROM names no image"),
    ],
)
def test_what_docker_would_refuse_is_refused_with_its_place(
    tmp_path: os.PathLike[str], text: bytes, message: str
) -> None:
    path = os.path.join(os.fspath(tmp_path), "Dockerfile")
    with open(path, "wb") as handle:
        handle.write(text)
    with pytest.raises(PolicyError) as caught:
        review_api.lint(path)
    assert str(caught.value) == f"{path}: {message}"
