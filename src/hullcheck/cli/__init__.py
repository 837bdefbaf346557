"""The ``hullcheck`` command line: parses and renders; the work is in ``hullcheck.api``."""

from __future__ import annotations

import sys


def main() -> None:
    """Hand the command to a running daemon (``hullcheck daemon start``), or run it here.

    Only the standard modules loaded at interpreter start are imported before the daemon is
    asked; typer and the rest of hullcheck load only when the command runs in this process.
    """
    from hullcheck.daemon.client import forward

    code = forward(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from hullcheck.cli.app import main as run

    run()


__all__ = ["main"]
