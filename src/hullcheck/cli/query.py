"""``hullcheck affected`` and ``hullcheck packages``: fleet-wide questions, from the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import typer

from hullcheck import api
from hullcheck.api import fleet as fleet_api
from hullcheck.cli.options import DB_OPTION, check_format, emit
from hullcheck.cli.tables import print_table

if TYPE_CHECKING:
    from hullcheck.api import Store

T = TypeVar("T")

_FORMAT = typer.Option("table", "--format", "-f", help="table or json.")


def affected_command(
    vulnerability: str | None = typer.Argument(
        None, help="CVE, GHSA, DSA, USN … id (a finding's id, alias or advisory)."
    ),
    package: str | None = typer.Option(None, "--package", help="Binary or source package."),
    below: str | None = typer.Option(None, "--below", help="Versions strictly below this."),
    ecosystem: str | None = typer.Option(
        None, "--ecosystem", help="Whose version rules: Debian, Ubuntu, Alpine, PyPI, npm …"
    ),
    output_format: str = _FORMAT,
    db: str | None = DB_OPTION,
) -> None:
    """Hosts, containers and images carrying a vulnerability or a package version."""
    rows = _query(
        db,
        output_format,
        lambda store: fleet_api.affected(
            store, vulnerability, package=package, below=below, ecosystem=ecosystem
        ),
    )
    if rows is None:
        return
    headers = ("HOST", "CONTAINER", "STATE", "IMAGE", "PACKAGE", "INSTALLED", "FIXED", "FROM")
    table = [
        (
            r.host,
            r.container or "(no container)",
            r.state or "",
            r.image,
            r.package,
            r.version,
            r.fixed_version or ("" if vulnerability is None else "unfixed"),
            r.base_image or "",
        )
        for r in rows
    ]
    hosts = len({r.host for r in rows})
    containers = len([r for r in rows if r.container])
    what = vulnerability or f"{package} < {below} ({ecosystem})"
    _print(f"{what}: {containers} containers on {hosts} hosts", headers, table)


def packages_command(
    name: str = typer.Argument(..., help="Package name (binary or source)."),
    output_format: str = _FORMAT,
    db: str | None = DB_OPTION,
) -> None:
    """Every version of a package in the fleet, and where it runs."""
    rows = _query(db, output_format, lambda store: fleet_api.package_spread(store, name))
    if rows is None:
        return
    headers = ("NAME", "VERSION", "TYPE", "DISTRO", "IMAGES", "CONTAINERS", "HOSTS")
    table = [
        (
            r.name,
            r.version,
            r.type,
            r.distro or "",
            str(r.images),
            str(r.containers),
            ", ".join(r.hosts),
        )
        for r in rows
    ]
    _print(f"{name}: {len(rows)} versions", headers, table)


def _query(db: str | None, output_format: str, ask: Callable[[Store], list[T]]) -> list[T] | None:
    """Run a query on the store; print JSON and return ``None`` for ``--format json``."""
    check_format(output_format)
    with api.open_store(db) as store:
        rows = ask(store)
    if output_format == "json":
        emit(json.dumps([dataclasses.asdict(r) for r in rows], indent=2) + "\n", None)  # type: ignore[call-overload]  # rows are dataclasses
        return None
    return rows


def _print(headline: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    print_table(headers, rows, headline=headline, skip_empty=True)
