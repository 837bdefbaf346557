"""The library facade: the CLI, the server and the tests all call these functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hullcheck.model import Finding, Host, HostSync, Sbom, ScanReport, Severity
from hullcheck.paths import default_db_url
from hullcheck.report import read_sbom
from hullcheck.sbom.catalogers.registry import default_selector
from hullcheck.sbom.scan import OS_TYPES, Progress, scan_image, scan_tree
from hullcheck.sbom.walker import Limits
from hullcheck.sources import SbomFile, TreeSource, open_source
from hullcheck.sources.interface import ImageSource
from hullcheck.store import Store

if TYPE_CHECKING:
    from hullcheck.engine import EngineClient
    from hullcheck.fleet.queries import Affected
    from hullcheck.vulndb.feeds import FeedUpdate
    from hullcheck.vulndb.feeds import Progress as FeedProgress
    from hullcheck.vulndb.importer import ImportResult

__all__ = [
    "Gate",
    "Host",
    "add_host",
    "affected",
    "sync_fleet",
    "Limits",
    "Store",
    "generate_sbom",
    "import_vulnerabilities",
    "open_store",
    "rematch_stored",
    "scan",
    "update_vulnerabilities",
]


def open_store(url: str | None = None) -> Store:
    """The store at ``url``, ``HULLCHECK_DB`` or the embedded SQLite file; migrated on open."""
    return Store(url or default_db_url())


def generate_sbom(
    reference: str,
    *,
    store: Store | None = None,
    use_cache: bool = True,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> Sbom:
    """The SBOM of an image, a directory or an SBOM file (see ``sources.open_source``).

    Layers are read only when ``store`` holds no result for their diffID; an image's SBOM
    is kept in the store under its image ID.
    """
    source = open_source(reference)
    if isinstance(source, SbomFile):
        return read_sbom(source.path)
    if isinstance(source, TreeSource):
        return scan_tree(source, selector=default_selector())
    return sbom_of_image(source, store=store, use_cache=use_cache, limits=limits, progress=progress)


def sbom_of_image(
    source: ImageSource,
    *,
    store: Store | None = None,
    use_cache: bool = True,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> Sbom:
    """The SBOM of an opened image source; kept in ``store`` under its image ID."""
    selector = default_selector()
    with source:
        sbom = scan_image(
            source,
            cache=store if use_cache else None,
            selector=selector,
            limits=limits or Limits(),
            progress=progress,
        )
    if (
        store is not None
        and sbom.image is not None
        and not store.has_image(sbom.image.id, selector.key)
    ):
        store.save_sbom(sbom, selector.key)
    return sbom


# -- vulnerabilities ---------------------------------------------------------------------------
def import_vulnerabilities(store: Store, path: str) -> ImportResult:
    """Import OSV records from a zip, a directory or one JSON/YAML file (one transaction)."""
    from hullcheck.vulndb.importer import import_path

    return import_path(store.vulns, path)


def update_vulnerabilities(
    store: Store,
    ecosystems: Sequence[str] = (),
    *,
    base_url: str | None = None,
    progress: FeedProgress | None = None,
) -> list[FeedUpdate]:
    """Download and import OSV feeds: the ones named, else those of the stored SBOMs."""
    from hullcheck.errors import UsageError
    from hullcheck.vulndb import feeds
    from hullcheck.vulndb.ecosystems import family

    wanted = list(ecosystems) or store.vulns.ecosystems_in_use()
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
) -> ScanReport:
    """The vulnerabilities of an image, a directory or an SBOM file, judged by ``gate``."""
    sbom = generate_sbom(
        reference, store=store, use_cache=use_cache, limits=limits, progress=progress
    )
    return judge(sbom, store, gate or Gate())


def judge(sbom: Sbom, store: Store, gate: Gate) -> ScanReport:
    """Match an SBOM, keep the findings of a stored image, apply the gate."""
    from hullcheck.vulndb import suppress
    from hullcheck.vulndb.matcher import described, match

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
        repository.save_findings(sbom.image.id, result.findings)
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
    from hullcheck.vulndb.matcher import Matcher

    repository = store.vulns
    matcher = Matcher(repository)
    results = []
    pending: dict[str, Sequence[Finding]] = {}
    for image_id in store.image_ids():
        sbom = store.load_sbom(image_id)
        if sbom is None:
            continue
        findings = matcher.match(sbom.packages).findings
        pending[image_id] = findings
        if len(pending) >= REMATCH_BATCH:
            repository.save_many(pending)
            pending = {}
        counts: dict[str, int] = {}
        for finding in findings:
            counts[finding.severity.value] = counts.get(finding.severity.value, 0) + 1
        tags = sbom.image.repo_tags if sbom.image else ()
        results.append(Rematch(image_id, tags, counts))
    if pending:
        repository.save_many(pending)
    return results


# -- fleet -------------------------------------------------------------------------------------
def add_host(store: Store, host: Host) -> list[str]:
    """Register a Docker host (its address checked, never with a password; its TLS files
    checked and kept by absolute path); warnings about it, such as a TLS key others can
    read."""
    from hullcheck.engine.address import checked_host

    host, warnings = checked_host(host)
    store.fleet.add_host(host)
    return warnings


def sync_fleet(
    store: Store,
    names: Sequence[str] = (),
    *,
    scan: bool = True,
    samples: bool = True,
    sizes: bool = False,
) -> list[HostSync]:
    """Sync the named hosts (all when none): inventory and resource samples, then every new
    image's SBOM; with ``sizes``, what every container's writable layer and every volume
    hold (the engines walk them)."""
    from hullcheck.errors import UsageError
    from hullcheck.fleet.sync import sync

    hosts = store.fleet.hosts(names)
    if not hosts:
        raise UsageError("no hosts to sync", hint="hullcheck hosts add NAME URL")
    return sync(
        store, hosts, scan=_scan_engine_image if scan else None, samples=samples, sizes=sizes
    )


def _scan_engine_image(store: Store, image_id: str, client: EngineClient) -> None:
    from hullcheck.sources.daemon import DaemonSource
    from hullcheck.vulndb.matcher import match

    sbom = sbom_of_image(DaemonSource(image_id, client=client), store=store)
    if sbom.image is not None:
        store.vulns.save_findings(sbom.image.id, match(sbom.packages, store.vulns).findings)


def affected(
    store: Store,
    vulnerability: str | None = None,
    *,
    package: str | None = None,
    below: str | None = None,
    ecosystem: str | None = None,
) -> list[Affected]:
    """Who carries a vulnerability (by id, alias or advisory), or a package below a version."""
    from hullcheck.errors import UsageError
    from hullcheck.fleet import queries

    if vulnerability is not None:
        if package or below or ecosystem:
            raise UsageError("give a vulnerability id, or --package with --below and --ecosystem")
        return queries.affected_by_vulnerability(store, vulnerability)
    if not (package and below and ecosystem):
        raise UsageError(
            "missing what to look for",
            hint="hullcheck affected CVE-…, or --package NAME --below VERSION --ecosystem NAME",
        )
    return queries.affected_by_range(store, package, below, ecosystem)
