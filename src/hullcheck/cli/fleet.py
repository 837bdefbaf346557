"""``hullcheck fleet``: sync every host's inventory."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from hullcheck import api
from hullcheck.api import fleet as fleet_api
from hullcheck.cli.options import DB_OPTION, check_format, emit, parse_duration
from hullcheck.cli.tables import console, print_table
from hullcheck.errors import EngineError
from hullcheck.report.text import safe

if TYPE_CHECKING:
    from hullcheck.api.fleet import Item

fleet_app = typer.Typer(help="Inventory of all hosts at once.", no_args_is_help=True)


@fleet_app.command("sync")
def sync_command(
    host: list[str] = typer.Option([], "--host", help="Only these hosts (repeatable)."),
    no_scan: bool = typer.Option(False, "--no-scan", help="Inventory only; no image SBOMs."),
    no_samples: bool = typer.Option(
        False, "--no-samples", help="No resource samples (idle waste cannot be judged then)."
    ),
    sizes: bool = typer.Option(
        False,
        "--sizes",
        help="Also measure each container's writable layer and each volume, so the report "
        "gives their reclaimable bytes (the engine walks them: slow on big hosts).",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Read containers, images, volumes and networks of every host concurrently, with a
    one-shot resource sample of every running container; make the SBOM of every image ID not
    stored yet (once fleet-wide). A failing host is reported and the others go on; what was
    stored for it before is kept."""
    with api.open_store(db) as store:
        results = fleet_api.sync_fleet(
            store, host, scan=not no_scan, samples=not no_samples, sizes=sizes
        )
    failed = []
    for item in results:
        if not item.ok:
            failed.append(item.host)
            print(safe(f"{item.host}: failed: {item.error}"), file=sys.stderr)
            continue
        typer.echo(
            f"{item.host}: {item.containers} containers, {item.images} images, "
            f"{item.volumes} volumes, {item.networks} networks, {item.gone} gone, "
            f"{item.samples} sampled, {item.scanned} images scanned ({item.seconds:.1f} s)"
        )
    if failed:
        raise EngineError(
            f"{len(failed)} of {len(results)} hosts failed: {', '.join(failed)}",
            hint="the other hosts were synced; `hullcheck hosts list` shows the errors",
        )


@fleet_app.command("report")
def report_command(
    older_than: str = typer.Option(
        "7d", "--older-than", help="Stopped containers older than this are garbage (7d, 12h)."
    ),
    allowed_registry: list[str] = typer.Option(
        [], "--allowed-registry", help="Registry images may come from (repeatable)."
    ),
    owner_label: str = typer.Option("owner", "--owner-label", help="Label naming the owner."),
    idle_window: str = typer.Option(
        "7d", "--idle-window", help="Judge idleness on the samples of this last stretch."
    ),
    old_image: str = typer.Option("180d", "--old-image", help="Images built before this are old."),
    skip_rule: list[str] = typer.Option(
        [], "--skip-rule", help="Rogue rule not to apply (repeatable): no-owner, unmanaged …"
    ),
    output_format: str = typer.Option("table", "--format", "-f", help="table or json."),
    db: str | None = DB_OPTION,
) -> None:
    """Garbage (with bytes to reclaim), sprawl, rogue containers and idle waste, from the
    stored inventory; no engine is asked. Idleness needs two syncs at least a minute apart."""
    import json

    check_format(output_format)
    settings = fleet_api.Settings(
        older_than=parse_duration(older_than),
        allowed_registries=tuple(allowed_registry),
        owner_label=owner_label,
        idle_window=parse_duration(idle_window),
        old_image=parse_duration(old_image),
        skip_rules=tuple(skip_rule),
    )
    fleet_api.check_hygiene_rules(settings)  # a usage error before the store is opened
    with api.open_store(db) as store:
        items = fleet_api.hygiene_report(store, settings)
    if output_format == "json":
        emit(json.dumps([i._asdict() for i in items], indent=2) + "\n", None)
        return
    _print_report(items)


def _print_report(items: list[Item]) -> None:
    out = console()
    for section in ("garbage", "sprawl", "rogue", "idle"):
        rows = [i for i in items if i.section == section]
        reclaim = sum(i.reclaim_bytes or 0 for i in rows)
        title = f"{section}: {len(rows)}"
        if section == "garbage":
            title += f" · {reclaim / 1024**2:.1f} MiB to reclaim from images"
        elif section == "idle":
            title += f" · {reclaim / 1024**2:.1f} MiB of memory held"
        table = [
            (
                i.host,
                i.kind,
                i.object,
                i.detail,
                "" if i.reclaim_bytes is None else str(i.reclaim_bytes),
            )
            for i in rows
        ]
        print_table(
            ("HOST", "KIND", "OBJECT", "DETAIL", "BYTES"),
            table,
            headline=title,
            out=out,
            skip_empty=True,
        )
