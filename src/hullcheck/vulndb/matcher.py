"""Matching an SBOM's packages against the index: one finding per vulnerability and package.

1. Each package becomes a lookup (:func:`ecosystems.query_for`): distro packages only in their
   own distro release and by source package, language packages in their ecosystem.
2. Every ``affected`` entry under that key is evaluated with the ecosystem's version rules.
   In a distro ecosystem, a record that lists several fixed builds of one package (RPM module
   streams, say) does not apply when the installed version is at or past any of them.
3. Records are merged into findings per package by the CVE they are about: a record *is* about
   one CVE when its id is one (``CVE-…``, ``UBUNTU-CVE-…``), when it has exactly one CVE alias,
   or exactly one upstream id. An advisory about several CVEs (``USN-2363-1``) is listed under
   each of them when those are findings too, and is a finding of its own otherwise.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from hullcheck.model import Description, Finding, FixStatus, Package, Severity
from hullcheck.vulndb import versions
from hullcheck.vulndb.ecosystems import Query, family, query_for
from hullcheck.vulndb.index import RecordInfo, VulnIndex
from hullcheck.vulndb.osv import Affected
from hullcheck.vulndb.ranges import Verdict, evaluate, fixed_at_or_below, highest_fix

_CVE = re.compile(r"^(?:[A-Z]+-)?(CVE-\d{4}-\d+)$")


@dataclass(frozen=True, slots=True)
class Hit:
    """One record found to affect one package."""

    record_id: str
    affected: Affected
    verdict: Verdict


@dataclass
class MatchResult:
    """Findings, and the packages that could not be matched and why."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Matcher:
    """Matches SBOMs against one repository; lookups and verdicts are kept between SBOMs.

    A rematch of many stored SBOMs evaluates each distinct package version once.
    """

    def __init__(self, repository: VulnIndex) -> None:
        self.repository = repository
        self._candidates: dict[Query, list[tuple[str, Affected]]] = {}
        self._hits: dict[Query, list[Hit] | None] = {}
        self._records: dict[str, RecordInfo] = {}
        self._findings: dict[Query, tuple[Package, list[Finding]]] = {}

    def match(self, packages: Sequence[Package]) -> MatchResult:
        """The findings of ``packages``, most severe first."""
        queries = [(package, query_for(package)) for package in packages]
        missing = {q for _, q in queries if q is not None} - self._candidates.keys()
        if missing:
            self._candidates.update(self.repository.candidates(missing))
        result = MatchResult()
        per_package: list[tuple[Package, Query, list[Hit]]] = []
        for package, query in queries:
            if query is None:
                continue
            hits = self._hits_of(query)
            if hits is None:
                result.notes.append(
                    f"{package.name} {package.version}: version cannot be read as "
                    f"{query.scheme}; not matched"
                )
            elif hits:
                per_package.append((package, query, hits))
        wanted = {h.record_id for _, _, hits in per_package for h in hits} - self._records.keys()
        if wanted:
            self._records.update(self.repository.records(wanted))
        for package, query, hits in per_package:
            result.findings.extend(self._merged(package, query, hits))
        result.findings.sort(key=sort_key)
        return result

    def _merged(self, package: Package, query: Query, hits: list[Hit]) -> list[Finding]:
        """Findings of one package; the same version elsewhere reuses them with its package."""
        known = self._findings.get(query)
        if known is None:
            findings = _merge(package, query, hits, self._records)
            self._findings[query] = (package, findings)
            return findings
        if known[0] == package:  # the same layer of a shared base image: same findings
            return known[1]
        return [dataclasses.replace(f, package=package) for f in known[1]]

    def _hits_of(self, query: Query) -> list[Hit] | None:
        if query not in self._hits:
            entries = self._candidates.get(query) or []
            try:
                self._hits[query] = _hits(query, entries) if entries else []
            except versions.InvalidVersion:
                self._hits[query] = None
        return self._hits[query]


def match(packages: Sequence[Package], repository: VulnIndex) -> MatchResult:
    """The findings of ``packages``, most severe first."""
    return Matcher(repository).match(packages)


def sort_key(finding: Finding) -> tuple[int, str, str, str]:
    return (-finding.severity.rank, finding.package.name, finding.package.version, finding.id)


def _hits(query: Query, entries: list[tuple[str, Affected]]) -> list[Hit]:
    known = family(query.ecosystem)
    distro = known is not None and not known.language
    by_record: dict[str, list[tuple[Affected, Verdict | None]]] = {}
    for record_id, affected in entries:
        by_record.setdefault(record_id, []).append((affected, evaluate(affected, query.version)))
    hits = []
    for record_id, results in by_record.items():
        affecting = [(a, v) for a, v in results if v is not None]
        if not affecting:
            continue
        if distro and any(v is None and fixed_at_or_below(a, query.version) for a, v in results):
            continue
        affected, verdict = affecting[0]
        hits.append(Hit(record_id, affected, verdict))
    return hits


def _about(record: RecordInfo) -> str | None:
    """The one CVE a record is about, if it is about exactly one."""
    own = _CVE.match(record.id)
    if own:
        return own.group(1)
    cves = {c for c in record.aliases if c.startswith("CVE-")}
    if len(cves) == 1:
        return cves.pop()
    if len(record.upstream) == 1:
        up = _CVE.match(record.upstream[0])
        return up.group(1) if up else record.upstream[0]
    return None


def _mentions(record: RecordInfo) -> set[str]:
    found = set()
    for item in (*record.aliases, *record.upstream):
        cve = _CVE.match(item)
        if cve:
            found.add(cve.group(1))
    return found


def _merge(
    package: Package, query: Query, hits: list[Hit], records: dict[str, RecordInfo]
) -> list[Finding]:
    groups: dict[str, list[Hit]] = {}
    multi: list[Hit] = []
    for hit in hits:
        record = records.get(hit.record_id)
        if record is None:
            continue
        about = _about(record)
        if about is None:
            multi.append(hit)
        else:
            groups.setdefault(about, []).append(hit)
    for hit in multi:
        mentioned = _mentions(records[hit.record_id])
        if mentioned and mentioned <= groups.keys():
            for cve in mentioned:
                groups[cve].append(hit)
        else:
            groups[hit.record_id] = [hit]
    return [_finding(key, package, query, group, records) for key, group in groups.items()]


def _finding(
    key: str, package: Package, query: Query, group: list[Hit], records: dict[str, RecordInfo]
) -> Finding:
    infos = [records[h.record_id] for h in group]
    ids: set[str] = set()
    for info in infos:
        ids.update((info.id, *info.aliases, *info.upstream))
    advisories = tuple(sorted({i.id for i in infos} - {key}))
    severity = max(
        (h.affected.rating or records[h.record_id].rating.effective for h in group),
        key=lambda s: s.rank,
        default=Severity.UNKNOWN,
    )
    scored = [i for i in infos if i.rating.score is not None]
    best_info = max(scored, key=lambda i: i.rating.score or 0.0, default=None)
    best = best_info.rating if best_info else None
    fixed = highest_fix(query.scheme, (h.verdict.fixed for h in group))
    main = next((i for i in infos if i.id == key), infos[0])
    return Finding(
        id=key,
        package=package,
        ecosystem=group[0].affected.ecosystem,
        severity=severity,
        status=FixStatus.FIXED if fixed else FixStatus.UNFIXED,
        fixed_version=fixed,
        advisories=advisories,
        aliases=tuple(sorted(ids - {key} - set(advisories))),
        cvss_score=best.score if best else None,
        cvss_vector=best.vector if best else None,
        cvss_source=best_info.id if best_info else None,
        summary=main.summary or next((i.summary for i in infos if i.summary), None),
        url=main.url or next((i.url for i in infos if i.url), None),
    )


def described(findings: Sequence[Finding], repository: VulnIndex) -> list[Finding]:
    """``findings`` with the full text, dates, CWEs and references of their records: the
    finding's own record's text, the earliest publication, the latest change, every CWE
    and reference URL of any of them."""
    texts = repository.descriptions(i for f in findings for i in (f.id, *f.advisories))
    result = []
    for finding in findings:
        known = [texts[i] for i in (finding.id, *finding.advisories) if i in texts]
        if not known:
            result.append(finding)
            continue
        published = [d.published for d in known if d.published]
        modified = [d.modified for d in known if d.modified]
        description = Description(
            details=next((d.details for d in known if d.details), None),
            published=min(published) if published else None,
            modified=max(modified) if modified else None,
            cwes=tuple(sorted({c for d in known for c in d.cwes})),
            references=tuple(dict.fromkeys(u for d in known for u in d.references)),
        )
        result.append(dataclasses.replace(finding, description=description))
    return result
