"""The one door: the CLI, the daemon's workers, the coming server and the tests call these
functions, never what stands behind them (``tests/test_architecture.py`` holds the CLI to it).

``api.sbom`` (bills of materials, the store), scanning and the vulnerability database here,
``api.fleet`` (hosts, syncs, queries, hygiene, prune; its most used functions are
re-exported here) and ``api.vulns``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hullcheck.api import fleet
from hullcheck.api.fleet import (
    add_host,
    affected,
    host_status,
    package_spread,
    remove_host,
    sync_fleet,
)
from hullcheck.api.sbom import generate_sbom, open_store, sbom_of_image
from hullcheck.api.vulns import vulnerability_status
from hullcheck.errors import UsageError
from hullcheck.model import Finding, Host, Sbom, ScanReport, Severity
from hullcheck.sbom.catalogers.registry import default_selector
from hullcheck.sbom.scan import OS_TYPES, Progress
from hullcheck.sbom.walker import Limits
from hullcheck.store import Store
from hullcheck.vulndb import feeds, suppress
from hullcheck.vulndb.ecosystems import family
from hullcheck.vulndb.importer import import_path
from hullcheck.vulndb.matcher import Matcher, described, match

if TYPE_CHECKING:
    from hullcheck.vulndb.feeds import FeedUpdate
    from hullcheck.vulndb.feeds import Progress as FeedProgress
    from hullcheck.vulndb.importer import ImportResult

__all__ = [
    "Gate",
    "Host",
    "Limits",
    "Store",
    "add_host",
    "affected",
    "fleet",
    "host_status",
    "package_spread",
    "remove_host",
    "sync_fleet",
    "generate_sbom",
    "import_vulnerabilities",
    "judge",
    "open_store",
    "rematch_stored",
    "sbom_of_image",
    "scan",
    "update_vulnerabilities",
    "vulnerability_status",
]


# -- vulnerabilities ---------------------------------------------------------------------------
def import_vulnerabilities(store: Store, path: str) -> ImportResult:
    """Import OSV records from a zip, a directory or one JSON/YAML file (one transaction)."""
    return import_path(store.vulns, path)


def update_vulnerabilities(
    store: Store,
    ecosystems: Sequence[str] = (),
    *,
    base_url: str | None = None,
    progress: FeedProgress | None = None,
) -> list[FeedUpdate]:
    """Download and import OSV feeds: the ones named, else those of the stored SBOMs."""
    wanted = list(ecosystems) or store.images.ecosystems_in_use()
    if not wanted:
        raise UsageError(
            "no ecosystem to update: no SBOM is stored yet",
            hint="name them: hullcheck db update --ecosystem Debian --ecosystem PyPI",
        )
    for name in wanted:
        if family(name) is None or ":" in name:
            raise UsageError(f"unknown ecosystem {name!r}", hint="e.g. Debian, Alpine, PyPI, npm")
    return feeds.update(
        store.vulns, wanted, base_url=base_url or feeds.DEFAULT_BASE_URL, progress=progress
    )


@dataclass(frozen=True, slots=True)
class Gate:
    """How findings are filtered and judged."""

    fail_on: Severity | None = None
    """Exit 1 when a counted finding is at or above this."""
    ignore_unfixed: bool = False
    """Leave out findings with no fixed version."""
    ignore_file: str | None = None
    """TOML ignore file (see ``vulndb.suppress``)."""
    vex: tuple[str, ...] = field(default_factory=tuple)
    """OpenVEX documents."""
    allow_incomplete: bool = False
    """Let the gate pass although some packages could not be matched."""


def scan(
    reference: str,
    *,
    store: Store,
    gate: Gate | None = None,
    use_cache: bool = True,
    limits: Limits | None = None,
    progress: Progress | None = None,
    platform: str | None = None,
) -> ScanReport:
    """The vulnerabilities of an image, a directory or an SBOM file, judged by ``gate``."""
    sbom = generate_sbom(
        reference,
        store=store,
        use_cache=use_cache,
        limits=limits,
        progress=progress,
        platform=platform,
    )
    return judge(sbom, store, gate or Gate())


def judge(sbom: Sbom, store: Store, gate: Gate) -> ScanReport:
    """Match an SBOM, keep the findings of a stored image, apply the gate."""
    rules = suppress.read_ignore_file(gate.ignore_file) if gate.ignore_file else []
    statements = [s for path in gate.vex for s in suppress.read_vex(path)]
    repository = store.vulns
    snapshot = repository.snapshot()
    result = match(sbom.packages, repository)
    from_file = sbom.source.kind == "sbom"  # an SBOM file may claim any image ID
    if (
        sbom.image is not None
        and not from_file
        and store.has_image(sbom.image.id, default_selector().key)
    ):
        store.findings.save(sbom.image.id, result.findings)
    kept, left, notes = suppress.apply(
        described(result.findings, repository),
        sbom,
        ignore_unfixed=gate.ignore_unfixed,
        rules=rules,
        vex=statements,
    )
    if snapshot.records == 0:
        notes.insert(0, "the vulnerability database is empty: run `hullcheck db update`")
    unmatched = tuple(p for p in sbom.packages if p.type in OS_TYPES and not p.distro)
    if unmatched:
        kinds = ", ".join(sorted({p.type.value for p in unmatched}))
        release = sbom.distro
        why = (
            f"are of {release.id} {release.version_id or ''}, a release hullcheck has no "
            "advisories for"
            if release is not None and release.ecosystem is None
            else "name no distro release (no purl distro= qualifier, no operating system in "
            "the input)"
        )
        notes.insert(0, f"{len(unmatched)} {kinds} packages {why}: not matched")
    return ScanReport(
        sbom=sbom,
        findings=tuple(kept),
        suppressed=tuple(left),
        db=snapshot,
        fail_on=gate.fail_on,
        notes=tuple(result.notes + notes),
        unmatched=unmatched,
        allow_incomplete=gate.allow_incomplete,
    )


REMATCH_BATCH = 100
"""Stored images whose findings are written per transaction during a rematch."""


@dataclass(frozen=True, slots=True)
class Rematch:
    """``scan --stored``: the new findings of one stored image."""

    image_id: str
    repo_tags: tuple[str, ...]
    counts: dict[str, int]
    """Findings by severity."""


def rematch_stored(store: Store) -> list[Rematch]:
    """Match every stored SBOM against the current database; no image is read again."""
    matcher = Matcher(store.vulns)
    stored = store.findings
    results = []
    pending: dict[str, Sequence[Finding]] = {}
    for image_id in store.image_ids():
        sbom = store.load_sbom(image_id)
        if sbom is None:
            continue
        findings = matcher.match(sbom.packages).findings
        pending[image_id] = findings
        if len(pending) >= REMATCH_BATCH:
            stored.save_many(pending)
            pending = {}
        counts: dict[str, int] = {}
        for finding in findings:
            counts[finding.severity.value] = counts.get(finding.severity.value, 0) + 1
        tags = sbom.image.repo_tags if sbom.image else ()
        results.append(Rematch(image_id, tags, counts))
    if pending:
        stored.save_many(pending)
    return results
