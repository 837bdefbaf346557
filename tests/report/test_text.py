"""Terminal text (finding 5 of the security review): untrusted strings cannot drive the
terminal or forge rows, and the tables are laid out as rich laid them out."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from hullcheck.report.text import render_table, safe
from tests.infra.cli import hullcheck
from tests.infra.vulndata import FIXTURES

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[1A\rcurl\nforged  row\x9b31m\u202eevil"


def test_control_sequences_and_direction_overrides_are_shown_not_obeyed() -> None:
    shown = safe(HOSTILE)
    assert shown == ("\\x1b]0;owned\\x07\\x1b[2J\\x1b[1A\\rcurl\\nforged  row\\x9b31m\\u202eevil")
    assert shown.isprintable()
    assert safe("libc6 2.36-9+deb12u13 ünïcode 漢字") == "libc6 2.36-9+deb12u13 ünïcode 漢字"


@given(st.lists(st.lists(st.text(), min_size=3, max_size=3), max_size=20))
@settings(max_examples=200, deadline=None)
def test_a_table_has_one_line_per_row_and_nothing_a_terminal_obeys(rows: list[list[str]]) -> None:
    text = render_table(("A", "B", "C"), rows, width=10_000)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2  # header, rows, final newline
    assert all(line.isprintable() for line in lines)


def _rich(headers: tuple[str, ...], rows: list[list[str]], width: int) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*[Text(cell) for cell in row])  # as text: rich would read [x] as markup
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(table)
    return buffer.getvalue()


CELLS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12)


@given(st.lists(st.lists(CELLS, min_size=4, max_size=4), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_tables_that_fit_are_laid_out_as_rich_laid_them_out(rows: list[list[str]]) -> None:
    headers = ("NAME", "VERSION", "TYPE", "SOURCE")
    assert render_table(headers, rows, width=160) == _rich(headers, rows, 160)


def test_hostile_names_in_an_sbom_file_reach_the_terminal_inert(
    rootfs: Callable[[str, dict[str, str]], str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = rootfs(
        "alpine-3.18", {"/lib/apk/db/installed": f"{FIXTURES}/apk/alpine-3.18_lib_apk_db_installed"}
    )
    made = hullcheck("sbom", root, "-f", "cyclonedx-json", "--no-store")
    assert made.returncode == 0, made.stderr
    document = json.loads(made.stdout)
    document["components"][0]["name"] = HOSTILE
    document["components"][1]["version"] = "1.0\n" + "forged-package  6.6.6  apk"
    hostile = tmp_path / "hostile.cdx.json"
    hostile.write_text(json.dumps(document))
    shown = hullcheck("sbom", str(hostile))
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "\r" not in shown.stdout
    assert "\\x1b]0;owned\\x07" in shown.stdout
    assert not any(line.startswith("forged-package") for line in shown.stdout.splitlines())
