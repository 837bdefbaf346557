"""Version comparison, one scheme per syntax, each from the well-kept library of its field.

Every scheme turns a version string into an object with a total order; :func:`parse` caches
the result, since the same range bounds are compared again and again during a match.

- ``deb``    dpkg rules (epochs, ``~``, ``+b1``, Ubuntu suffixes) — univers ``DebianVersion``
- ``apk``    Alpine's apk-tools rules (``_rc``, ``_p``, ``-r``) — univers ``AlpineLinuxVersion``
- ``rpm``    rpmvercmp with ``epoch:version-release`` — univers ``RpmVersion``
- ``pep440`` Python — packaging ``Version``
- ``semver`` npm and Go (a leading ``v`` is dropped) — univers ``SemverVersion``
- ``maven``  Maven's ComparableVersion — univers ``MavenVersion``
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast


class Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


class InvalidVersion(ValueError):
    """A version string the scheme cannot read."""


@dataclass(frozen=True, slots=True)
class VersionScheme:
    """One version syntax."""

    name: str
    """Stable name (``deb``, ``rpm`` …)."""
    parse: Callable[[str], Comparable]
    """String → ordered object; raises on strings the syntax does not allow."""


def _deb(text: str) -> Comparable:
    from univers.versions import DebianVersion

    return cast(Comparable, DebianVersion(text))


def _apk(text: str) -> Comparable:
    from univers.versions import AlpineLinuxVersion

    return cast(Comparable, AlpineLinuxVersion(text))


def _rpm(text: str) -> Comparable:
    from univers.versions import RpmVersion

    return cast(Comparable, RpmVersion(text))


def _pep440(text: str) -> Comparable:
    from packaging.version import Version

    return Version(text)


def _semver(text: str) -> Comparable:
    from univers.versions import SemverVersion

    return cast(Comparable, SemverVersion(text.removeprefix("v")))


def _maven(text: str) -> Comparable:
    from univers.versions import MavenVersion

    return cast(Comparable, MavenVersion(text))


SCHEMES: tuple[VersionScheme, ...] = (
    VersionScheme("deb", _deb),
    VersionScheme("apk", _apk),
    VersionScheme("rpm", _rpm),
    VersionScheme("pep440", _pep440),
    VersionScheme("semver", _semver),
    VersionScheme("maven", _maven),
)
_BY_NAME = {scheme.name: scheme for scheme in SCHEMES}


@functools.lru_cache(maxsize=200_000)
def parse(scheme: str, text: str) -> Comparable:
    """``text`` under ``scheme``; :class:`InvalidVersion` when it is not a version there."""
    try:
        value = _BY_NAME[scheme].parse(text)
        value < value  # noqa: B015 - forces lazy parsers to read the string now
    except Exception as exc:  # each library raises its own types, some of them bare
        raise InvalidVersion(f"{text!r} is not a {scheme} version ({exc})") from None
    return value


def compare(scheme: str, left: str, right: str) -> int:
    """-1, 0 or 1 as ``left`` sorts before, equal to or after ``right``."""
    a, b = parse(scheme, left), parse(scheme, right)
    if a < b:
        return -1
    return 1 if b < a else 0
