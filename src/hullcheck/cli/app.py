"""Entry point, global options and error handling.

Exit codes: 0 ok, 1 findings over the gate, 2 usage or input error, 3 internal error.
"""

from __future__ import annotations

import functools
import sys
import traceback

import typer
import typer.main

from hullcheck import __version__
from hullcheck.cli.daemon import daemon_app
from hullcheck.cli.db import db_app
from hullcheck.cli.fleet import fleet_app
from hullcheck.cli.hosts import hosts_app
from hullcheck.cli.prune import prune_command
from hullcheck.cli.query import affected_command, packages_command
from hullcheck.cli.sbom import sbom_command
from hullcheck.cli.scan import scan_command
from hullcheck.errors import EXIT_INPUT, HullcheckError
from hullcheck.report.text import safe

try:  # typer 0.28 carries its own copy of click; earlier versions use click itself
    from typer._click import Command
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import Command  # type: ignore[assignment] # the same classes, in click
    from click.exceptions import ClickException  # type: ignore[assignment]

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
app.add_typer(daemon_app, name="daemon")
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


@functools.cache
def command() -> Command:
    """The click command typer builds from ``app`` (8-9 ms): once per process, and once for
    all the workers of a daemon."""
    return typer.main.get_command(app)


def main() -> None:
    """Run the CLI; only hullcheck's own errors are caught and printed as one line."""
    try:
        code = command().main(standalone_mode=False)  # click returns Exit codes in this mode
    except HullcheckError as exc:
        if _state["debug"]:
            traceback.print_exc()
        print(f"hullcheck: error: {safe(str(exc))}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {safe(exc.hint)}", file=sys.stderr)
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
    if isinstance(exc, ClickException):  # a usage error: click's message, exit 2
        exc.show()
        sys.exit(EXIT_INPUT)
    if isinstance(exc, BrokenPipeError):
        sys.exit(0)
    if _state["debug"]:
        traceback.print_exc()
    print(f"hullcheck: internal error: {type(exc).__name__}: {safe(str(exc))}", file=sys.stderr)
    print("hint: run again with --debug and report the traceback", file=sys.stderr)
    sys.exit(EXIT_INTERNAL)
