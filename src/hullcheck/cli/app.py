"""Entry point, global options and error handling.

Exit codes: 0 ok, 1 findings over the gate, 2 usage or input error, 3 internal error.
"""

from __future__ import annotations

import sys
import traceback

import typer

from hullcheck import __version__
from hullcheck.cli.db import db_app
from hullcheck.cli.fleet import fleet_app
from hullcheck.cli.hosts import hosts_app
from hullcheck.cli.prune import prune_command
from hullcheck.cli.query import affected_command, packages_command
from hullcheck.cli.sbom import sbom_command
from hullcheck.cli.scan import scan_command
from hullcheck.errors import EXIT_INPUT, HullcheckError

EXIT_INTERNAL = 3

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
app.command("affected")(affected_command)
app.command("packages")(packages_command)
app.command("prune")(prune_command)

_state = {"debug": False}


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
    _state["debug"] = debug


def main() -> None:
    """Run the CLI; only hullcheck's own errors are caught and printed as one line."""
    try:
        code = app(standalone_mode=False)  # click returns Exit codes in this mode
    except HullcheckError as exc:
        if _state["debug"]:
            traceback.print_exc()
        print(f"hullcheck: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("hullcheck: aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors and genuine bugs
        _unexpected(exc)
    else:
        sys.exit(code if isinstance(code, int) else 0)


def _unexpected(exc: Exception) -> None:
    import click

    if isinstance(exc, click.exceptions.ClickException):
        exc.show()
        sys.exit(EXIT_INPUT)
    if isinstance(exc, BrokenPipeError):
        sys.exit(0)
    if _state["debug"]:
        traceback.print_exc()
    print(f"hullcheck: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("hint: run again with --debug and report the traceback", file=sys.stderr)
    sys.exit(EXIT_INTERNAL)
