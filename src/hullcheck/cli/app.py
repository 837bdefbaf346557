"""The command tree and its global options; running it is ``cli.run``."""

from __future__ import annotations

import functools

import typer
import typer.main

from hullcheck import __version__
from hullcheck.cli.audit import audit_app
from hullcheck.cli.daemon import daemon_app
from hullcheck.cli.db import db_app
from hullcheck.cli.fleet import fleet_app
from hullcheck.cli.hosts import hosts_app
from hullcheck.cli.prune import prune_command
from hullcheck.cli.query import affected_command, packages_command
from hullcheck.cli.review import cis_command, lint_command, review_command, rules_command
from hullcheck.cli.run import STATE, Command, run
from hullcheck.cli.sbom import sbom_command
from hullcheck.cli.scan import scan_command
from hullcheck.cli.signing import generate_key_pair_command, sign_command, verify_command

app = typer.Typer(
    name="hullcheck",
    help="Visibility, audit trail and supply-chain control for fleets of Docker hosts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("sbom")(sbom_command)
app.command("scan")(scan_command)
app.add_typer(db_app, name="db")
app.add_typer(hosts_app, name="hosts")
app.add_typer(fleet_app, name="fleet")
app.add_typer(daemon_app, name="daemon")
app.add_typer(audit_app, name="audit")
app.command("affected")(affected_command)
app.command("packages")(packages_command)
app.command("prune")(prune_command)
app.command("review")(review_command)
app.command("lint")(lint_command)
app.command("cis")(cis_command)
app.command("rules")(rules_command)
app.command("sign")(sign_command)
app.command("verify")(verify_command)
app.command("generate-key-pair")(generate_key_pair_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hullcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    STATE["debug"] = debug


@functools.cache
def command() -> Command:
    """The click command typer builds from ``app`` (8-9 ms): once per process, and once for
    all the workers of a daemon."""
    return typer.main.get_command(app)


def main() -> None:
    """Run the CLI; only hullcheck's own errors are caught and printed as one line."""
    run(command())
