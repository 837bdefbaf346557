"""``lint`` and ``rules`` as a user runs them: verdicts as exit codes, every format readable
by what reads it, one line for every mistake."""

from __future__ import annotations

import json
import os

from defusedxml import ElementTree

from tests.infra.cli import hullcheck as hc

CASES = os.path.join(os.path.dirname(__file__), "..", "data", "dockerfiles")
CLEAN = """\
FROM debian:12.8@sha256:b877a1a3fdf02469440f1768cf69c9771338a875b7add5e80c45b756c92ac20a
RUN apt-get update \\
    && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 \\
    && rm -rf /var/lib/apt/lists/*
COPY app /app
USER 10001
HEALTHCHECK CMD ["/app", "--health"]
CMD ["/app"]
"""


def test_lint_passes_a_clean_dockerfile_and_fails_a_bad_one(tmp_path: os.PathLike[str]) -> None:
    clean = os.path.join(os.fspath(tmp_path), "Dockerfile")
    with open(clean, "w") as handle:
        handle.write(CLEAN)
    passed = hc("lint", clean)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "review passed: 0 violations at or above high, 0 in all" in passed.stdout
    bad = os.path.join(CASES, "HC-DF-008.bad")
    failed = hc("lint", bad, "-f", "json")
    assert failed.returncode == 1
    document = json.loads(failed.stdout)
    assert document["schema"] == "hullcheck-review/1" and document["passed"] is False
    secrets = [v for v in document["violations"] if v["rule"] == "HC-DF-008"]
    assert [(v["line"], v["blocking"]) for v in secrets] == [(3, True), (4, True), (5, True)]
    assert "hunter2" not in failed.stdout and "AKIAIOSFODNN7EXAMPLE" not in failed.stdout
    junit = ElementTree.fromstring(hc("lint", bad, "-f", "junit").stdout)
    (suite,) = junit.findall("testsuite")
    assert suite.get("tests") == "13" and suite.get("failures") == "2"  # no USER too
    (case,) = [c for c in suite.iter("testcase") if c.get("name") == "HC-DF-008 dockerfile-secret"]
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert "4: critical: ENV DB_PASSWORD sets a secret" in (failure.text or "")


def test_mistakes_are_one_line_with_exit_2(tmp_path: os.PathLike[str]) -> None:
    missing = hc("lint", os.path.join(os.fspath(tmp_path), "Dockerfile"))
    assert missing.returncode == 2
    assert (
        missing.stderr.startswith("hullcheck: error: ")
        and "cannot read the Dockerfile" in missing.stderr
    )
    policy = os.path.join(os.fspath(tmp_path), "policy.yaml")
    with open(policy, "w") as handle:
        handle.write("rules:\n  disable: [HC-NOPE]\n")
    unknown = hc("lint", os.path.join(CASES, "HC-DF-001.bad"), "--policy", policy)
    assert unknown.returncode == 2 and "unknown rule 'HC-NOPE'" in unknown.stderr
    assert "hint: hullcheck rules lists every rule" in unknown.stderr
    assert hc("lint", os.path.join(CASES, "HC-DF-001.bad"), "-f", "xml").returncode == 2
    assert hc("rules", "HC-NOPE").returncode == 2


def test_rules_describes_each_rule() -> None:
    one = hc("rules", "runtime-privileged")
    assert one.returncode == 0
    assert one.stdout.splitlines()[0] == "HC-RT-001 runtime-privileged (runtime, critical)"
    assert "CIS Docker Benchmark 5.5: Ensure that privileged containers are not used" in one.stdout
    listed = json.loads(hc("rules", "-f", "json").stdout)
    assert len(listed) == 52 and listed[0]["id"] == "HC-DF-001"
    assert {r["target"] for r in listed} == {"dockerfile", "image", "runtime", "daemon"}
