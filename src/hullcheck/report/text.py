"""Text for terminals: untrusted strings made inert, and the plain tables every command prints.

Package names, versions, SBOM fields, feed aliases, container and image names come from
images, files and engines that hullcheck does not trust. Printed raw, an ESC, CSI or OSC
sequence in them sets the terminal's title, clears the screen or hides lines, and a newline
forges a table row. :func:`safe` shows every control character as an escape instead
(``\\x1b``, ``\\n``), and so the direction overrides that reorder what a reader sees.

Tables are laid out here rather than by rich's ``Table``, which measured and wrapped every
cell through its renderables: 149 s and 687 MB for 200,000 packages. The layout is the one
rich gave these tables (no box, two spaces between columns, every cell padded to its
column's width, headers bold on a colour terminal); a test holds the two equal on tables
that fit. A table wider than the page takes width from its widest columns first and folds
their cells, at spaces where it can.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

WIDTH = 160
"""Columns of a table when not told otherwise."""
GAP = "  "

Cell = str | tuple[str, str]
"""A cell's text, or its text and a style: ``bold``, ``red``, ``bold red``, ``yellow``, ``cyan``."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SGR = {"bold": "1", "red": "31", "yellow": "33", "cyan": "36"}


def safe(text: str) -> str:
    """``text`` with every character Python does not call printable — controls, format
    characters such as the direction overrides, separators, unassigned code points — shown
    as an escape."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def width_of(text: str) -> int:
    """Terminal columns ``text`` takes (East Asian wide characters two, combining none)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def render_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    width: int | None = None,
    color: bool = False,
    ellipsis: bool = False,
) -> str:
    """The table as text, one line per row (more where a cell folds), every cell made
    :func:`safe`; ``ellipsis`` cuts a cell that does not fit with ``…`` instead of folding."""
    table = [[(safe(header), "bold") for header in headers]]
    table.extend(
        [(safe(c), "") if isinstance(c, str) else (safe(c[0]), c[1]) for c in row] for row in rows
    )
    widths = [0] * len(headers)
    for row in table:
        for index, (text, _) in enumerate(row):
            size = width_of(text)
            if size > widths[index]:
                widths[index] = size
    widths = _fit(widths, (width or WIDTH) - len(GAP) * (len(headers) - 1))
    lines = []
    for row in table:
        cells = [_lines(text, widths[i], ellipsis) for i, (text, _) in enumerate(row)]
        for line in range(max(len(cell) for cell in cells)):
            parts = []
            for index, cell in enumerate(cells):
                text = cell[line] if line < len(cell) else ""
                padded = text + " " * (widths[index] - width_of(text))
                style = row[index][1]
                parts.append(_styled(padded, style) if color and style else padded)
            lines.append(GAP.join(parts))
    return "".join(f"{line}\n" for line in lines)


def _fit(widths: list[int], room: int) -> list[int]:
    """Column widths within ``room``: the widest columns give way first, down to the width
    of the next widest, until the table fits (each keeps one column at least)."""
    widths = list(widths)
    while sum(widths) > max(room, len(widths)):
        excess = sum(widths) - room
        widest = max(widths)
        below = max((w for w in widths if w < widest), default=0)
        tied = [i for i, w in enumerate(widths) if w == widest]
        cut = min(widest - max(below, 1), -(-excess // len(tied)))
        if cut <= 0:
            break
        for index in tied:
            widths[index] -= cut
    return widths


def _lines(text: str, width: int, ellipsis: bool) -> list[str]:
    """``text`` in lines of at most ``width`` columns: broken at spaces where it can, long
    words folded."""
    if width_of(text) <= width:
        return [text]
    if ellipsis:
        return [_cut(text, width - 1) + "…"]
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if width_of(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while width_of(word) > width:
            head = _cut(word, width)
            lines.append(head)
            word = word[len(head) :]
        line = word
    if line:
        lines.append(line)
    return lines or [""]


def _cut(text: str, width: int) -> str:
    """The longest start of ``text`` within ``width`` columns (one character at least)."""
    if text.isascii():
        return text[: max(width, 1)]
    used = 0
    for index, char in enumerate(text):
        used += _char_width(char)
        if used > width:
            return text[: max(index, 1)]
    return text


def _styled(text: str, style: str) -> str:
    codes = ";".join(_SGR[word] for word in style.split() if word in _SGR)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes else text
