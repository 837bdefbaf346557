"""The database behind an advisory id, and the page about it: for the ``source`` and
``references`` of CycloneDX vulnerabilities and the links of SARIF help."""

from __future__ import annotations

from typing import NamedTuple


class Database(NamedTuple):
    name: str
    """The database, as CycloneDX consumers show it."""
    url: str
    """The page of the one advisory in it."""


_BY_PREFIX = (
    ("CVE-", "NVD", "https://nvd.nist.gov/vuln/detail/{id}"),
    ("GHSA-", "GitHub Advisory Database", "https://github.com/advisories/{id}"),
    ("PYSEC-", "PyPA Advisory Database", "https://osv.dev/vulnerability/{id}"),
    ("GO-", "Go Vulnerability Database", "https://pkg.go.dev/vuln/{id}"),
    ("DSA-", "Debian Security Tracker", "https://security-tracker.debian.org/tracker/{id}"),
    ("DLA-", "Debian Security Tracker", "https://security-tracker.debian.org/tracker/{id}"),
    ("DTSA-", "Debian Security Tracker", "https://security-tracker.debian.org/tracker/{id}"),
    ("DEBIAN-", "Debian Security Tracker", "https://security-tracker.debian.org/tracker/{cve}"),
    ("USN-", "Ubuntu Security Notices", "https://ubuntu.com/security/notices/{id}"),
    ("UBUNTU-", "Ubuntu CVE Tracker", "https://ubuntu.com/security/{cve}"),
    ("ALPINE-", "Alpine Security Tracker", "https://security.alpinelinux.org/vuln/{cve}"),
    ("RUSTSEC-", "RustSec Advisory Database", "https://rustsec.org/advisories/{id}"),
)


def database(advisory: str) -> Database:
    """Where ``advisory`` (``CVE-…``, ``GHSA-…``, ``DSA-…``, ``UBUNTU-CVE-…``) is published;
    OSV.dev, which mirrors them all, for ids of any other database."""
    for prefix, name, template in _BY_PREFIX:
        if advisory.startswith(prefix):
            cve = advisory[advisory.find("CVE-") :] if "CVE-" in advisory else advisory
            return Database(name, template.format(id=advisory, cve=cve))
    return Database("OSV", f"https://osv.dev/vulnerability/{advisory}")
