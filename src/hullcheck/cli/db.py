"""``hullcheck db``: update, import and inspect the offline vulnerability database."""

from __future__ import annotations

import datetime
import sys
from typing import TYPE_CHECKING

import typer

from hullcheck import api
from hullcheck.cli.options import DB_OPTION, QUIET_OPTION
from hullcheck.cli.progress import FeedBar
from hullcheck.cli.tables import console, print_table
from hullcheck.errors import FeedError
from hullcheck.report.text import safe

if TYPE_CHECKING:
    from hullcheck.api.vulns import ImportResult

db_app = typer.Typer(
    help="The offline vulnerability database (OSV feeds).",
    no_args_is_help=True,
)


@db_app.command("update")
def update_command(
    ecosystem: list[str] = typer.Option(
        [],
        "--ecosystem",
        "-e",
        help="OSV ecosystem to fetch (Debian, Ubuntu, Alpine, AlmaLinux, PyPI, npm, Go, Maven); "
        "repeat for several. Default: those of the stored SBOMs.",
    ),
    url: str | None = typer.Option(
        None,
        "--url",
        envvar="HULLCHECK_OSV_URL",
        help="Base URL of an OSV mirror serving ECOSYSTEM/all.zip (default: OSV's bucket).",
    ),
    db: str | None = DB_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Download the OSV feeds (conditional, resumable) and import them."""
    bar = None if quiet or not sys.stderr.isatty() else FeedBar()
    try:
        with api.open_store(db) as store:
            updates = api.update_vulnerabilities(store, ecosystem, base_url=url, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    failed = []
    for item in updates:
        if item.status == "failed":
            failed.append(item)
            print(safe(f"{item.ecosystem}: failed: {item.error}"), file=sys.stderr)
        elif item.result is None:
            typer.echo(f"{item.ecosystem}: unchanged")
        else:
            typer.echo(f"{item.ecosystem}: {_imported(item.result)}")
    if failed:
        raise FeedError(
            f"{len(failed)} of {len(updates)} feeds failed: "
            + ", ".join(f.ecosystem for f in failed),
            hint="the database keeps their previous records; run the update again to resume",
        )


@db_app.command("import")
def import_command(
    paths: list[str] = typer.Argument(
        ..., help="all.zip files, directories of records, or single JSON/YAML records."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Import OSV records from files (air-gapped use); each path is one transaction."""
    with api.open_store(db) as store:
        for path in paths:
            result = api.import_vulnerabilities(store, path)
            typer.echo(safe(f"{path}: {_imported(result)}"))
            for example in result.examples:
                print(f"  skipped {safe(example)}", file=sys.stderr)


@db_app.command("status")
def status_command(db: str | None = DB_OPTION) -> None:
    """Records per ecosystem, last update and age; the feeds and files they came from."""
    with api.open_store(db) as store:
        ecosystems, feeds = api.vulnerability_status(store)
    now = datetime.datetime.now(datetime.UTC)
    out = console()
    if not ecosystems:
        out.line("the vulnerability database is empty: run `hullcheck db update`")
        return
    rows = [
        (
            item.ecosystem,
            str(item.records),
            item.updated_at.strftime("%Y-%m-%d %H:%M UTC") if item.updated_at else "",
            _age(now - item.updated_at) if item.updated_at else "",
        )
        for item in ecosystems
    ]
    print_table(("ECOSYSTEM", "RECORDS", "UPDATED", "AGE"), rows, out=out, overflow="ellipsis")
    sources = [
        (feed.name, str(feed.records), str(feed.skipped), (feed.sha256 or "")[:16])
        for feed in feeds
    ]
    out.line()
    print_table(("SOURCE", "RECORDS", "SKIPPED", "SHA256"), sources, out=out, overflow="ellipsis")


def _imported(result: ImportResult) -> str:
    text = f"{result.records} records imported"
    if result.skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in result.reasons.most_common())
        text += f", {result.skipped} skipped ({reasons})"
    if result.dropped_entries:
        text += f", {result.dropped_entries} affected entries left out"
    return text


def _age(delta: datetime.timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        return f"{int(delta.total_seconds() // 60)}m"
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"
