"""``review`` of images built in the test engine: each image rule broken by one image and
kept by another; the image's vulnerabilities judged by the policy's threshold; the whole
review on the command line, with its exit code and its SARIF checked against the schema."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator

import jsonschema
import pytest
from defusedxml import ElementTree

from hullcheck import api
from hullcheck.api import review as review_api
from hullcheck.model.policy import Review
from tests.conftest import Images
from tests.infra.cli import hullcheck as hc
from tests.infra.engine import PrivateEngine
from tests.infra.vulndata import vuln_path

pytestmark = pytest.mark.docker

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "data", "schemas", "sarif-2.1.0-rtm.5.json")
CASES = os.path.join(os.path.dirname(__file__), "..", "data", "dockerfiles")
SECRET = "hunter2-planted"


def _build(builder: PrivateEngine, tag: str, dockerfile: str) -> str:
    client = builder.client()
    try:
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    finally:
        client.close()
    return tag


@pytest.fixture(scope="module")
def built(builder: PrivateEngine, images: Images) -> Iterator[dict[str, str]]:
    base = images.tag("debian")
    yield {
        "bad": _build(
            builder,
            "hc-review/bad:1",
            f"FROM {base}\nENV DB_PASSWORD={SECRET} MODE=prod\n"
            f"RUN printf '//registry.npmjs.org/:_authToken={SECRET}\\n' > /root/.npmrc"
            " && cp /bin/ls /usr/local/bin/sls && chmod 4755 /usr/local/bin/sls"
            " && touch /srv/shared && chmod 666 /srv/shared\n"
            f"RUN printf 'machine h login u password {SECRET}\\n' > /root/.netrc\n"
            "RUN rm /root/.netrc\n"
            'CMD ["sleep", "1"]\n',
        ),
        "good": _build(
            builder,
            "hc-review/good:1",
            f'FROM {base}\nUSER 10001:10001\nHEALTHCHECK CMD ["true"]\n'
            'ENV DB_PASSWORD_FILE=/run/secrets/db\nCMD ["sleep", "1"]\n',
        ),
    }


def _policy(tmp_path: os.PathLike[str], text: str) -> str:
    path = os.path.join(os.fspath(tmp_path), "policy.yaml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def _rules(review: Review, subject: str) -> set[str]:
    return {v.rule for v in review.violations if v.subject == subject}


def test_each_image_rule_is_broken_by_one_image_and_kept_by_another(
    builder: PrivateEngine,
    built: dict[str, str],
    tmp_path: os.PathLike[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", builder.host)
    strict = _policy(tmp_path, "registries: [registry.corp]\nimage: {max-age-days: 0}\n")
    bad = f"docker:{built['bad']}"
    review = review_api.review(bad, policy=strict)
    assert _rules(review, bad) == {f"HC-IM-00{n}" for n in (1, 2, 3, 4, 5, 7, 8, 9)}
    (secret,) = [v for v in review.violations if v.rule == "HC-IM-002"]
    assert secret.message == "environment variable DB_PASSWORD holds a secret (value not shown)"
    files = sorted(v.message for v in review.violations if v.rule == "HC-IM-007")
    assert files == [
        "/root/.netrc holds a .netrc password, added by layer 2 (deleted by layer 3, still in "
        "layer 2's blob)",
        "/root/.npmrc holds an npm token, added by layer 1",
    ]
    setuid = [v.message for v in review.violations if v.rule == "HC-IM-008"]
    assert setuid == ["/usr/local/bin/sls is setuid/setgid (mode 4755), added by layer 1"]
    writable = [v.message for v in review.violations if v.rule == "HC-IM-009"]
    assert writable == ["/srv/shared is writable by every user (mode 0666), layer 1"]
    assert SECRET not in json.dumps([v.message for v in review.violations])
    assert review.notes == ("vulnerabilities not checked: no store",)
    good = f"docker:{built['good']}"
    allowed = _policy(tmp_path, "registries: [docker.io]\n")
    assert _rules(review_api.review(good, policy=allowed), good) == set()


def test_vulnerabilities_over_the_threshold_break_the_image_rule(
    builder: PrivateEngine, images: Images, tmp_path: os.PathLike[str]
) -> None:
    python = f"docker-archive:{images.archive('python')}"
    with api.open_store(f"sqlite:///{os.fspath(tmp_path)}/hc.db") as store:
        empty = review_api.review(python, store=store)
        assert "vulnerabilities not checked: the database is empty (db update)" in empty.notes
        api.import_vulnerabilities(store, vuln_path("feeds", "PyPI-all.zip"))
        low = _policy(tmp_path, "vulnerabilities: {fail-on: low}\n")
        found = review_api.review(python, store=store, policy=low)
        (vulnerable,) = [v for v in found.violations if v.rule == "HC-IM-006"]
        assert "CVE-2024-3651" in vulnerable.message and not found.passed
        off = _policy(tmp_path, "vulnerabilities: {fail-on: none}\n")
        assert "HC-IM-006" not in _rules(review_api.review(python, store=store, policy=off), python)


def test_review_on_the_command_line_fails_and_writes_valid_sarif_and_junit(
    builder: PrivateEngine, built: dict[str, str], tmp_path: os.PathLike[str]
) -> None:
    env = {"DOCKER_HOST": builder.host}
    sarif = os.path.join(os.fspath(tmp_path), "review.sarif")
    dockerfile = os.path.join(CASES, "HC-DF-008.bad")
    compose = os.path.join(os.path.dirname(__file__), "..", "data", "compose", "offending.yaml")
    failed = hc(
        "review", f"docker:{built['bad']}", "--dockerfile", dockerfile, "--compose", compose,
        "-f", "sarif", "-o", sarif, env=env,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert "review failed:" in failed.stderr
    with open(sarif) as handle:
        document = json.load(handle)
    with open(SCHEMA) as handle:
        jsonschema.validate(document, json.load(handle))
    results = document["runs"][0]["results"]
    located = [r for r in results if r["ruleId"] == "HC-DF-008"]
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in located} == {
        3,
        4,
        5,
    }
    junit = hc("review", f"docker:{built['good']}", "-f", "junit", env=env)
    assert junit.returncode == 0, junit.stderr
    suite = ElementTree.fromstring(junit.stdout).find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert int(suite.get("tests") or 0) == 10  # the image rules
    broken = hc("review", "--dockerfile", os.path.join(CASES, "missing"), env=env)
    assert broken.returncode == 2 and broken.stderr.startswith("hullcheck: error: ")
    assert "Traceback" not in broken.stderr
