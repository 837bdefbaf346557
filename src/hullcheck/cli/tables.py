"""The plain tables every command prints: bold headers on a terminal, no box, 160 columns.

Everything printed goes through :func:`hullcheck.report.text.safe`: names and errors come
from engines, images and files that hullcheck does not trust.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from hullcheck.report.text import Cell, render_table, safe


class Out:
    """Standard output, for lines of text and tables."""

    def line(self, text: str = "") -> None:
        sys.stdout.write(f"{safe(text)}\n")


def console() -> Out:
    return Out()


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    headline: str | None = None,
    out: Out | None = None,
    overflow: str = "fold",
    skip_empty: bool = False,
) -> Out:
    """Print ``headline``, then the table (not when empty, if told); ``overflow`` is ``fold``
    or ``ellipsis`` for cells wider than their column."""
    out = out or console()
    rows = list(rows)
    if headline is not None:
        out.line(headline)
    if rows or not skip_empty:
        color = sys.stdout.isatty()
        sys.stdout.write(render_table(headers, rows, color=color, ellipsis=overflow == "ellipsis"))
    return out
