"""Parsing of option values shared by commands."""

from __future__ import annotations

import datetime
import re

import typer

from hullcheck.errors import UsageError
from hullcheck.files import write_output

# Options several commands take, declared once.
DB_OPTION = typer.Option(None, "--db", envvar="HULLCHECK_DB", help="SQLAlchemy URL of the store.")
NO_CACHE_OPTION = typer.Option(False, "--no-cache", help="Read every layer again.")
MAX_LAYER_SIZE_OPTION = typer.Option(
    "32G", "--max-layer-size", help="Refuse layers larger than this uncompressed."
)
QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="No progress bar.")
PLATFORM_OPTION = typer.Option(
    None,
    "--platform",
    help="os/arch[/variant] of the image to read from a registry's manifest list "
    "(default: this machine's, linux/amd64 here on x86-64).",
)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """``512M``, ``32G``, ``1024`` → bytes."""
    match = _SIZE.match(text)
    if match is None:
        raise UsageError(f"{text!r} is not a size", hint="use a number with K, M, G or T")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def check_format(name: str, choices: tuple[str, ...] = ("table", "json")) -> str:
    """A ``--format`` value of a command with a fixed list of formats, or a usage error."""
    if name not in choices:
        raise UsageError(f"unknown format {name!r}", hint=f"choose one of: {', '.join(choices)}")
    return name


def emit(text: str, path: str | None) -> None:
    """Write ``text`` to standard output, or to ``path`` (see :mod:`hullcheck.files`)."""
    write_output(path, text)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> datetime.timedelta:
    """``7d``, ``12h``, ``30m`` → a time span."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"{text!r} is not a duration", hint="use a number with s, m, h, d or w")
    return datetime.timedelta(seconds=int(match.group(1)) * _SECONDS[match.group(2)])
