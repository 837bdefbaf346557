"""``hullcheck scan`` and ``hullcheck db`` as a user runs them: output, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable

import pytest

from tests.infra.cli import hullcheck
from tests.infra.vulndata import FIXTURES, vuln_path

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def hc(tmp_path: os.PathLike[str]) -> Run:
    db = f"sqlite:///{os.path.join(os.fspath(tmp_path), 'cli.db')}"

    def run(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        return hullcheck(*args, env={"HULLCHECK_DB": db}, cwd=cwd, timeout=300)

    return run


@pytest.fixture
def ubuntu(hc: Run, rootfs: Callable[[str, dict[str, str]], str]) -> str:
    assert hc("db", "import", vuln_path("ubuntu")).returncode == 0
    return rootfs(
        "ubuntu-18.04",
        {"/var/lib/dpkg/status": f"{FIXTURES}/dpkg/ubuntu-18.04_var_lib_dpkg_status"},
    )


def test_gate_exit_codes(hc: Run, ubuntu: str) -> None:
    low = hc("scan", ubuntu, "--fail-on", "low")
    assert low.returncode == 1
    assert (
        "CVE-2023-29383" in low.stdout and "gate failed: 2 findings at or above low" in low.stderr
    )
    assert hc("scan", ubuntu, "--fail-on", "medium").returncode == 0
    assert hc("scan", ubuntu, "--fail-on", "low", "--ignore-unfixed").returncode == 0
    assert hc("scan", ubuntu).returncode == 0  # no gate, no failure


def test_ignore_file_rules_and_expiry(hc: Run, ubuntu: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / ".hullcheckignore"
    rules.write_text(
        '[[ignore]]\nid = "CVE-2023-29383"\npackage = "shadow"\nexpires = 2099-01-01\n'
        'reason = "chfn is not setuid in this image"\n'
    )
    ignored = hc("scan", ubuntu, "--fail-on", "low", cwd=str(tmp_path))  # found in cwd
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    assert "chfn is not setuid" in ignored.stdout
    rules.write_text(
        '[[ignore]]\nid = "UBUNTU-CVE-2023-29383"\nexpires = 2020-01-01\nreason = "old"\n'
    )
    expired = hc("scan", ubuntu, "--fail-on", "low", "--ignore-file", str(rules))
    assert expired.returncode == 1
    assert "expired on 2020-01-01" in expired.stdout


def test_openvex_not_affected_statement(hc: Run, ubuntu: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    vex = tmp_path / "vex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.org/vex/1",
                "author": "platform team",
                "timestamp": "2026-11-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2023-29383"},
                        "products": [
                            {"@id": "pkg:deb/ubuntu/login"},
                            {"@id": "pkg:deb/ubuntu/passwd"},
                        ],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        )
    )
    result = hc("scan", ubuntu, "--fail-on", "low", "--vex", str(vex), "-f", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {f["id"] for f in document["findings"]} == {"CVE-2016-20013"}
    assert {s["package"]["name"] for s in document["suppressed"]} == {"login", "passwd"}
    assert all("vulnerable_code_not_in_execute_path" in s["reason"] for s in document["suppressed"])


def test_sbom_file_is_rescanned_without_the_image(hc: Run, ubuntu: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sbom = tmp_path / "app.cdx.json"
    assert hc("sbom", ubuntu, "-f", "cyclonedx-json", "-o", str(sbom)).returncode == 0
    direct = json.loads(hc("scan", ubuntu, "-f", "json").stdout)
    again = json.loads(hc("scan", str(sbom), "-f", "json").stdout)
    key = [(f["id"], f["package"]["name"]) for f in direct["findings"]]
    assert key and key == [(f["id"], f["package"]["name"]) for f in again["findings"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "severe"], "unknown severity 'severe'"),
        (["--format", "html"], "unknown format 'html'"),
        (["--ignore-file", "/nonexistent/rules.toml"], "/nonexistent/rules.toml: cannot be read"),
        (["--vex", "/nonexistent/vex.json"], "/nonexistent/vex.json: cannot be read"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    hc: Run, ubuntu: str, args: list[str], message: str
) -> None:
    result = hc("scan", ubuntu, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_ignore_rule_without_reason_names_the_file_and_rule(hc: Run, ubuntu: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules.toml"
    rules.write_text('[[ignore]]\nid = "CVE-2023-29383"\n')
    result = hc("scan", ubuntu, "--ignore-file", str(rules))
    assert result.returncode == 2
    assert f"{rules}:1: 'reason' is required" in result.stderr


def test_db_import_of_a_corrupt_zip_keeps_the_database(hc: Run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert hc("db", "import", vuln_path("npm")).returncode == 0
    with open(vuln_path("feeds", "Go-all.zip"), "rb") as handle:
        data = handle.read()
    broken = tmp_path / "Go-all.zip"
    broken.write_bytes(data[: len(data) // 3])
    result = hc("db", "import", str(broken))
    assert result.returncode == 2
    assert result.stderr.startswith(f"hullcheck: error: {broken}: ")
    status = hc("db", "status")
    assert status.returncode == 0
    assert "npm" in status.stdout and "Go " not in status.stdout


def test_db_status_lists_ecosystems(hc: Run) -> None:
    assert "empty" in hc("db", "status").stdout
    imported = hc("db", "import", vuln_path("feeds", "PyPI-all.zip"))
    assert "2649 records imported, 12 skipped (10 withdrawn, 2 invalid version)" in imported.stdout
    lines = hc("db", "status").stdout.splitlines()
    assert lines[0].split() == ["ECOSYSTEM", "RECORDS", "UPDATED", "AGE"]
    assert lines[1].split()[:2] == ["PyPI", "2649"]
