"""Version comparison, one scheme per syntax, each from the well-kept library of its field.

Every scheme turns a version string into an object with a total order; :func:`parse` caches
the result, since the same range bounds are compared again and again during a match.

- ``deb``    dpkg rules (epochs, ``~``, ``+b1``, Ubuntu suffixes) — our own sort key, since
             distro databases are the bulk of every match; proven equal to python-debian's
             ``Version`` by property tests (tests/vulndb/test_versions.py)
- ``apk``    Alpine's apk-tools rules (``_rc``, ``_p``, ``-r``) — univers ``AlpineLinuxVersion``
- ``rpm``    rpmvercmp with ``epoch:version-release`` — univers ``RpmVersion``
- ``pep440`` Python — packaging ``Version``
- ``semver`` npm and Go (a leading ``v`` is dropped) — univers ``SemverVersion``
- ``maven``  Maven's ComparableVersion — univers ``MavenVersion``
"""

from __future__ import annotations

import functools
import re
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


_DEB = re.compile(r"^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$")
_DEB_PARTS = re.compile(r"([^0-9]*)([0-9]*)")


def _deb_order(char: str) -> int:
    if char == "~":
        return -1
    return ord(char) if char.isalpha() else ord(char) + 256


_DEB_PAIRS = 24
_DEB_END = ((0,), 0)


def _deb_part(text: str) -> tuple[object, ...]:
    """dpkg's verrevcmp as a plain tuple, so comparisons run in C.

    A version is a run of pairs (non-digit run, number); the non-digit run becomes the dpkg
    weight of each character followed by 0 (``~`` weighs -1, letters their code, other
    characters their code + 256), the number an int. dpkg treats a string that has run out as
    an endless run of empty pairs, so every key is padded with ``((0,), 0)`` to at least
    24 pairs (versions with more segments than that are compared as Python compares tuples).
    """
    key: list[object] = []
    for letters, digits in _DEB_PARTS.findall(text):
        if letters or digits:
            key.append((*map(_deb_order, letters), 0))
            key.append(int(digits) if digits else 0)
    while len(key) < 2 * _DEB_PAIRS:
        key.extend(_DEB_END)
    return tuple(key)


def _deb(text: str) -> Comparable:
    match = _DEB.match(text.strip())
    if match is None:
        raise ValueError("not a dpkg version")
    epoch, upstream, revision = match.groups()
    return (int(epoch or 0), _deb_part(upstream), _deb_part(revision or ""))


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


_NUMBER_DIGITS = 20


def _text_of(part: tuple[object, ...]) -> str | None:
    items = list(part)
    while len(items) >= 2 and tuple(items[-2:]) == _DEB_END:
        del items[-2:]
    # two end pairs stand for dpkg's endless ones: a longer version's next pair always meets
    # one of them (only a first pair can itself be an end pair: "0")
    items.extend(_DEB_END * 2)
    out = []
    for item in items:
        if isinstance(item, int):
            text = str(item)
            if len(text) > _NUMBER_DIGITS:
                return None
            out.append(text.rjust(_NUMBER_DIGITS, "0"))
        else:
            assert isinstance(item, tuple)
            out.append("".join(f"{weight + 1:03d}" for weight in item))
    return "".join(out)


def text_key(scheme: str, text: str) -> str | None:
    """A string whose byte order is the version order, for filtering inside the database.

    Only for ``deb``, the bulk of every index: the dpkg key's numbers become 20-digit
    zero-padded decimals and each character weight three digits (``~`` is 000, the end of a
    run 001), so comparing two of these strings compares the versions. ``None`` for other
    schemes, and for versions too long for the fixed widths.
    """
    if scheme != "deb":
        return None
    try:
        key = cast(tuple[int, tuple[object, ...], tuple[object, ...]], parse(scheme, text))
    except InvalidVersion:
        return None
    epoch, upstream, revision = key
    parts = [_text_of(upstream), _text_of(revision)]
    if epoch > 10**9 or None in parts:
        return None
    return f"{epoch:010d}!{parts[0]}!{parts[1]}"  # "!" sorts below every digit


def compare(scheme: str, left: str, right: str) -> int:
    """-1, 0 or 1 as ``left`` sorts before, equal to or after ``right``."""
    a, b = parse(scheme, left), parse(scheme, right)
    if a < b:
        return -1
    return 1 if b < a else 0
