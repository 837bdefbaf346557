"""``hullcheck affected`` and ``hullcheck packages``: fleet-wide questions, from the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import typer

from hullcheck.cli.options import DB_OPTION, emit

if TYPE_CHECKING:
    from hullcheck.store import Store

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
    from hullcheck import api

    rows = _query(
        db,
        output_format,
        lambda store: api.affected(
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
    from hullcheck.fleet.queries import package_spread

    rows = _query(db, output_format, lambda store: package_spread(store, name))
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
    from hullcheck import api
    from hullcheck.errors import UsageError

    if output_format not in ("table", "json"):
        raise UsageError(f"unknown format {output_format!r}", hint="choose one of: table, json")
    store = api.open_store(db)
    try:
        rows = ask(store)
    finally:
        store.close()
    if output_format == "json":
        emit(json.dumps([dataclasses.asdict(r) for r in rows], indent=2) + "\n", None)  # type: ignore[call-overload]  # rows are dataclasses
        return None
    return rows


def _print(headline: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    from hullcheck.cli.tables import print_table

    print_table(headers, rows, headline=headline, skip_empty=True)
