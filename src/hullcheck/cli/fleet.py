"""``hullcheck fleet``: sync every host's inventory."""

from __future__ import annotations

import sys

import typer

from hullcheck.errors import EngineError

fleet_app = typer.Typer(help="Inventory of all hosts at once.", no_args_is_help=True)


@fleet_app.command("sync")
def sync_command(
    host: list[str] = typer.Option([], "--host", help="Only these hosts (repeatable)."),
    no_scan: bool = typer.Option(False, "--no-scan", help="Inventory only; no image SBOMs."),
    db: str | None = typer.Option(
        None, "--db", envvar="HULLCHECK_DB", help="SQLAlchemy URL of the store."
    ),
) -> None:
    """Read containers, images, volumes and networks of every host concurrently; make the
    SBOM of every image ID not stored yet (once fleet-wide). A failing host is reported and
    the others go on; what was stored for it before is kept."""
    from hullcheck import api

    store = api.open_store(db)
    try:
        results = api.sync_fleet(store, host, scan=not no_scan)
    finally:
        store.close()
    failed = []
    for item in results:
        if not item.ok:
            failed.append(item.host)
            print(f"{item.host}: failed: {item.error}", file=sys.stderr)
            continue
        typer.echo(
            f"{item.host}: {item.containers} containers, {item.images} images, "
            f"{item.volumes} volumes, {item.networks} networks, {item.gone} gone, "
            f"{item.scanned} images scanned ({item.seconds:.1f} s)"
        )
    if failed:
        raise EngineError(
            f"{len(failed)} of {len(results)} hosts failed: {', '.join(failed)}",
            hint="the other hosts were synced; `hullcheck hosts list` shows the errors",
        )
