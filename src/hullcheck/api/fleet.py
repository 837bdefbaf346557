"""The fleet: hosts, syncs, who is affected, the hygiene report and pruning.

The store says what it found ("no such host"); this door adds what to do about it.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import socket
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from hullcheck.api import audit
from hullcheck.api.sbom import sbom_of_image
from hullcheck.audit.records import Record, now
from hullcheck.engine.address import checked_host, without_secret
from hullcheck.errors import ExistsError, NotFoundError, UsageError
from hullcheck.fleet import prune, queries
from hullcheck.fleet.hygiene import Item, Settings, report, rules
from hullcheck.fleet.prune import PROTECT_LABEL, Filters, Outcome, Step
from hullcheck.fleet.queries import package_spread as spread
from hullcheck.fleet.sync import sync
from hullcheck.model import Action, Host, HostStatus, HostSync
from hullcheck.sources.daemon import DaemonSource
from hullcheck.store import Store
from hullcheck.vulndb.matcher import match

if TYPE_CHECKING:
    from hullcheck.engine import EngineClient
    from hullcheck.fleet.queries import Affected, VersionSpread

__all__ = ["PROTECT_LABEL", "Filters", "Item", "Outcome", "Settings", "Step"]


@contextlib.contextmanager
def _hosts_named() -> Iterator[None]:
    """A host name that is not registered is a usage error, with where to look."""
    try:
        yield
    except NotFoundError as exc:
        raise UsageError(str(exc), hint="hullcheck hosts list") from None


def add_host(store: Store, host: Host) -> list[str]:
    """Register a Docker host (its address checked, never with a password; its TLS files
    checked and kept by absolute path); warnings about it, such as a TLS key others can
    read."""
    host, warnings = checked_host(host)
    try:
        store.hosts.add(host)
    except ExistsError as exc:
        raise UsageError(str(exc), hint=f"hullcheck hosts remove {host.name} first") from None
    return warnings


def remove_host(store: Store, name: str) -> None:
    """Forget a host and its inventory."""
    with _hosts_named():
        store.hosts.remove(name)


def host_status(store: Store) -> list[HostStatus]:
    """Hosts, their last sync and what it found — their addresses and last errors without
    any secret an address carried."""
    import dataclasses

    return [
        dataclasses.replace(
            item,
            host=dataclasses.replace(item.host, url=without_secret(item.host.url)),
            last_error=without_secret(item.last_error, item.host.url) if item.last_error else None,
        )
        for item in store.hosts.status()
    ]


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
    with _hosts_named():
        hosts = store.hosts.named(names)
    if not hosts:
        raise UsageError("no hosts to sync", hint="hullcheck hosts add NAME URL")
    scanner = functools.partial(_scan_engine_image, store) if scan else None
    return sync(store, hosts, scan=scanner, samples=samples, sizes=sizes)


def _scan_engine_image(store: Store, image_id: str, client: EngineClient) -> None:
    sbom = sbom_of_image(DaemonSource(image_id, client=client), store=store)
    if sbom.image is not None:
        store.findings.save(sbom.image.id, match(sbom.packages, store.vulns).findings)


def affected(
    store: Store,
    vulnerability: str | None = None,
    *,
    package: str | None = None,
    below: str | None = None,
    ecosystem: str | None = None,
) -> list[Affected]:
    """Who carries a vulnerability (by id, alias or advisory), or a package below a version."""
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


def package_spread(store: Store, name: str) -> list[VersionSpread]:
    """Every version of a package in the fleet, and where it runs."""
    return spread(store, name)


def check_hygiene_rules(settings: Settings) -> None:
    """Refuse a settings' unknown rule name — before any store is opened."""
    rules(settings)


def hygiene_report(store: Store, settings: Settings) -> list[Item]:
    """Garbage, sprawl, rogue containers and idle waste, from the stored inventory."""
    return report(store, settings)


def prune_plan(store: Store, filters: Filters) -> list[Step]:
    """What a prune would remove, and why, from the last sync's inventory."""
    with _hosts_named():
        return prune.plan(store, filters)


def prune_apply(store: Store, steps: Sequence[Step], filters: Filters) -> list[Outcome]:
    """Remove what the plan lists, each object re-checked on its engine first; every attempt
    recorded, and written to each host's audit log."""
    with _hosts_named():
        outcomes = prune.apply(store, steps, filters)
    actor = f"{getpass.getuser()}@{socket.gethostname()}"
    by_host: dict[str, list[Record]] = {}
    for outcome in outcomes:
        step = outcome.step
        context = {"command": "prune", "outcome": outcome.outcome, "reason": step.reason}
        if outcome.detail:
            context["detail"] = outcome.detail
        by_host.setdefault(step.host, []).append(
            Record(
                -1,
                now(),
                step.host,
                "hullcheck",
                f"{step.kind}-remove",
                step.object_id,
                step.name,
                actor,
                context,
            )
        )
    for host, records in by_host.items():
        audit.record_events(store, host, records)
    return outcomes


def prune_history(store: Store) -> list[Action]:
    """What earlier prunes did, as recorded."""
    return store.actions.recent()
