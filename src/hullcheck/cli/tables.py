"""The plain tables every command prints: bold headers, no box, 160 columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table


def console() -> Console:
    return Console(width=160)


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    headline: str | None = None,
    out: Console | None = None,
    overflow: str = "fold",
    skip_empty: bool = False,
) -> Console:
    """Print ``headline`` (as plain text), then the table (not when empty, if told)."""
    out = out or console()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in headers:
        table.add_column(column, overflow=overflow)  # type: ignore[arg-type]  # rich's Literal
    for row in rows:
        table.add_row(*row)
    if headline is not None:
        out.print(headline, markup=False)
    if table.row_count or not skip_empty:
        out.print(table)
    return out
