"""Vulnerabilities, the findings that tie them to packages, and what a scan reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from hullcheck.model.sbom import Package, Sbom


class Severity(StrEnum):
    """Severity of a vulnerability, lowest first; ``UNKNOWN`` sorts below everything."""

    UNKNOWN = "unknown"
    NEGLIGIBLE = "negligible"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ``UNKNOWN`` up to 5 for ``CRITICAL``: severities compare by this."""
        return _RANKS[self]


_RANKS = {severity: index for index, severity in enumerate(Severity)}


class FixStatus(StrEnum):
    """Whether the package's maintainers have shipped a fix."""

    FIXED = "fixed"
    """A fixed version exists: upgrade to it."""
    UNFIXED = "unfixed"
    """Affected, and no fixed version is published yet."""


@dataclass(frozen=True, slots=True)
class Description:
    """What the advisories say about a vulnerability in full, for formats that carry it
    (CycloneDX, SARIF); read from the stored records only when a scan report is made."""

    details: str | None = None
    """The main record's full text (OSV ``details``), untruncated."""
    published: str | None = None
    """Earliest ``published`` time of the records, RFC 3339."""
    modified: str | None = None
    """Latest ``modified`` time of the records, RFC 3339."""
    cwes: tuple[int, ...] = ()
    """CWE numbers the records name (GitHub advisories' ``cwe_ids``)."""
    references: tuple[str, ...] = ()
    """Reference URLs of the records, advisories first, without duplicates."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability in one package of one image (records with the same CVE merged)."""

    id: str
    """The vulnerability: its CVE when one is known, else the advisory id (``GHSA-…``)."""
    package: Package
    """The affected package, as the SBOM lists it."""
    ecosystem: str
    """OSV ecosystem the match was made in (``Debian:7``, ``PyPI``)."""
    severity: Severity
    """Highest severity any merged record gives."""
    status: FixStatus
    """Fixed or unfixed."""
    fixed_version: str | None
    """Version to upgrade to (the highest fix among the merged records), if any."""
    advisories: tuple[str, ...]
    """Ids of the records that reported it (``DSA-3032-1``, ``USN-2362-1``, ``GHSA-…``)."""
    aliases: tuple[str, ...] = ()
    """Every other id the vulnerability is known by (CVE, GHSA, PYSEC …), sorted."""
    cvss_score: float | None = None
    """Base score of the highest-version CVSS vector found (v4, then v3, then v2)."""
    cvss_vector: str | None = None
    """That vector."""
    summary: str | None = None
    """One line about the vulnerability."""
    url: str | None = None
    """An advisory page about it."""
    cvss_source: str | None = None
    """Id of the record the CVSS vector comes from (``GHSA-…``, ``CVE-…``)."""
    description: Description | None = None
    """The full text, dates, CWEs and references, when the report carries them."""

    @property
    def all_ids(self) -> frozenset[str]:
        """The id, the aliases and the advisories: anything an ignore rule may name."""
        return frozenset((self.id, *self.aliases, *self.advisories))


class StoredFinding(NamedTuple):
    """A finding as the store keeps it for an image: what fleet questions read."""

    image_id: str
    vuln_id: str
    package_name: str
    package_version: str
    fixed_version: str | None
    severity: str


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding left out of the gate, and why."""

    finding: Finding
    """The finding."""
    reason: str
    """Why it is left out (``unfixed``, the ignore rule's reason, the VEX justification)."""
    by: str
    """What suppressed it: ``--ignore-unfixed``, ``FILE:LINE``, ``vex:FILE``."""
    vex_status: str | None = None
    """For an OpenVEX statement: its status (``not_affected``, ``fixed``)."""
    vex_justification: str | None = None
    """For an OpenVEX ``not_affected`` statement: its justification, when it gives one."""


@dataclass(frozen=True, slots=True)
class DbSnapshot:
    """What the vulnerability database held when a scan ran."""

    records: int
    """Vulnerability records in the database."""
    updated: str | None
    """Time of the newest import, RFC 3339, if any."""


@dataclass(frozen=True, slots=True)
class ScanReport:
    """The result of ``hullcheck scan``: an SBOM, its findings, and the gate's verdict."""

    sbom: Sbom
    """What was scanned."""
    findings: tuple[Finding, ...]
    """Findings that count, most severe first."""
    suppressed: tuple[Suppressed, ...] = ()
    """Findings left out, with the reason."""
    db: DbSnapshot | None = None
    """The database the findings come from."""
    fail_on: Severity | None = None
    """The gate's threshold, if one was set."""
    notes: tuple[str, ...] = ()
    """Warnings about the scan itself (expired ignore rules, empty database …)."""
    unmatched: tuple[Package, ...] = ()
    """Packages that could not be matched at all: a distro package whose release the input
    does not say (an SBOM file without it, an image without os-release)."""
    allow_incomplete: bool = False
    """Whether the gate may pass although packages are ``unmatched``."""

    @property
    def unmatched_reason(self) -> str:
        """Why ``unmatched`` packages could not be matched: no release named, or a release
        hullcheck has no advisories for (CentOS, a distro OSV does not cover)."""
        distro = self.sbom.distro
        if distro is not None and distro.ecosystem is None:
            return f"no advisories for {distro.id} {distro.version_id or ''}".rstrip()
        return "no distro release"

    @property
    def gate_failed(self) -> bool:
        """Whether a counted finding is at or above ``fail_on`` — or, unless allowed, some
        package could not be matched: a gate does not pass what it could not check."""
        if self.fail_on is None:
            return False
        if self.unmatched and not self.allow_incomplete:
            return True
        return any(f.severity.rank >= self.fail_on.rank for f in self.findings)
