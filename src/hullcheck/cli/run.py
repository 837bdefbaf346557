"""Running a command tree: hullcheck's errors as one line, exit codes.

Exit codes: 0 ok, 1 findings over the gate, 2 usage or input error, 3 internal error.
Kept apart from the tree (``cli.app``) so that what runs commands — this process, or a daemon
worker handed the tree — need not import it.
"""

from __future__ import annotations

import sys
import traceback

import typer

from hullcheck.errors import EXIT_INPUT, HullcheckError
from hullcheck.report.text import safe

try:  # typer 0.28 carries its own copy of click; earlier versions use click itself
    from typer._click import Command
    from typer._click.exceptions import ClickException
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import Command  # type: ignore[assignment] # the same classes, in click
    from click.exceptions import ClickException  # type: ignore[assignment]
    from click.globals import get_current_context  # type: ignore[no-redef]

__all__ = ["STATE", "Command", "run", "running_tree"]

EXIT_INTERNAL = 3
STATE = {"debug": False}
"""Global options the root callback sets (``--debug``)."""


def run(command: Command) -> None:
    """Run ``command`` on ``sys.argv``; only hullcheck's own errors are caught and printed as
    one line."""
    try:
        code = command.main(standalone_mode=False)  # click returns Exit codes in this mode
    except HullcheckError as exc:
        if STATE["debug"]:
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


def running_tree() -> Command:
    """The command tree of the command running now (what a daemon started from it serves)."""
    tree: Command = get_current_context().find_root().command
    return tree


def _unexpected(exc: Exception) -> None:
    if isinstance(exc, ClickException):  # a usage error: click's message, exit 2
        exc.show()
        sys.exit(EXIT_INPUT)
    if isinstance(exc, BrokenPipeError):
        sys.exit(0)
    if STATE["debug"]:
        traceback.print_exc()
    print(f"hullcheck: internal error: {type(exc).__name__}: {safe(str(exc))}", file=sys.stderr)
    print("hint: run again with --debug and report the traceback", file=sys.stderr)
    sys.exit(EXIT_INTERNAL)
