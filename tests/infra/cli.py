"""hullcheck as a user runs it: ``python -m hullcheck ARGS`` in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence


def hullcheck(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 120,
    prefix: Sequence[str] = (),
    stdin: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run hullcheck (never through a developer's daemon) with ``env`` added to this
    process's environment; ``prefix`` runs it under another program (GNU time); ``stdin``
    (``subprocess.DEVNULL``) keeps it from a terminal that would prompt."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "hullcheck", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HULLCHECK_DAEMON": "off", **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
        stdin=stdin,
    )
