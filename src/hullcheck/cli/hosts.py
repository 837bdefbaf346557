"""``hullcheck hosts``: the Docker Engines of the fleet."""

from __future__ import annotations

import sys

import typer

from hullcheck import api
from hullcheck.api import fleet as fleet_api
from hullcheck.cli.options import DB_OPTION
from hullcheck.cli.tables import print_table
from hullcheck.report.text import safe

hosts_app = typer.Typer(help="The Docker hosts hullcheck watches.", no_args_is_help=True)


@hosts_app.command("add")
def add_command(
    name: str = typer.Argument(..., help="Short name of the host (prod-1)."),
    url: str = typer.Argument(
        ..., help="unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST."
    ),
    tls_ca: str | None = typer.Option(None, "--tls-ca", help="CA certificate (tcp with TLS)."),
    tls_cert: str | None = typer.Option(None, "--tls-cert", help="Client certificate."),
    tls_key: str | None = typer.Option(None, "--tls-key", help="Client key."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds per engine request."),
    db: str | None = DB_OPTION,
) -> None:
    """Register a Docker host."""
    with api.open_store(db) as store:
        warnings = fleet_api.add_host(
            store, api.Host(name, url, tls_ca, tls_cert, tls_key, timeout)
        )
    typer.echo(safe(f"{name}: added ({url})"))
    for warning in warnings:
        print(safe(f"hullcheck: warning: {warning}"), file=sys.stderr)


@hosts_app.command("remove")
def remove_command(name: str = typer.Argument(...), db: str | None = DB_OPTION) -> None:
    """Forget a host and its inventory."""
    with api.open_store(db) as store:
        fleet_api.remove_host(store, name)
    typer.echo(f"{name}: removed")


@hosts_app.command("list")
def list_command(db: str | None = DB_OPTION) -> None:
    """Hosts, their last sync and what it found."""
    with api.open_store(db) as store:
        status = fleet_api.host_status(store)  # addresses and errors without their secrets
    rows = []
    for item in status:
        synced = item.synced_at.strftime("%Y-%m-%d %H:%M") if item.synced_at else "never"
        counts = [str(item.counts.get(k, 0)) for k in ("container", "image", "volume", "network")]
        ok = "error" if item.last_error else ("yes" if item.synced_at else "")
        rows.append((item.host.name, item.host.url, synced, *counts, ok))
    headers = ("HOST", "URL", "SYNCED", "CONTAINERS", "IMAGES", "VOLUMES", "NETWORKS", "OK")
    console = print_table(headers, rows)
    for item in status:
        if item.last_error:
            console.line(f"{item.host.name}: last error: {item.last_error}")
