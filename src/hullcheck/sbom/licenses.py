"""Declared licences as SPDX license expressions, where they are machine-readable.

Packages declare licences in their own words: an SPDX expression (``License-Expression``,
npm's ``license``), an SPDX id (``MIT``), a Debian short name from a DEP-5 copyright file
(``GPL-2+``, ``Expat``), or free text (``Apache License 2.0``, a trove classifier). Those that
license-expression reads as valid SPDX — after the DEP-5 names are translated — become one
expression (several joined by ``AND``); free text stays as declared and is written as a
licence *name*. Parsed once per layer, when the layer is read: the result is cached with it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from hullcheck.sbom.catalogers.interface import FileResult

# DEP-5 short names (copyright-format 1.0, "License specification") → SPDX ids; a version
# follows with "-" and "+" means "or later".
_DEP5 = {
    "apache": "Apache",
    "artistic": "Artistic",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause",
    "isc": "ISC",
    "cc-by": "CC-BY",
    "cc-by-sa": "CC-BY-SA",
    "cc0": "CC0",
    "cddl": "CDDL",
    "cpl": "CPL",
    "efl": "EFL",
    "expat": "MIT",
    "gpl": "GPL",
    "lgpl": "LGPL",
    "gfdl": "GFDL",
    "gfdl-niv": "GFDL-NIV",
    "lppl": "LPPL",
    "mpl": "MPL",
    "perl": "Artistic-1.0-Perl OR GPL-1.0-or-later",
    "python": "Python",
    "qpl": "QPL",
    "w3c": "W3C",
    "zlib": "Zlib",
    "zope": "ZPL",
}
_GNU = ("GPL", "LGPL", "GFDL", "AGPL")
_UNVERSIONED = {"GPL": "GPL-1.0-or-later", "LGPL": "LGPL-2.0-or-later", "Artistic": "Artistic-1.0"}
_DEP5_NAME = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z0-9-]*?)(?:-(?P<version>\d+(?:\.\d+)*))?(?P<plus>\+)?$"
)


@functools.lru_cache(maxsize=1)
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@functools.lru_cache(maxsize=4096)
def _one(declared: str) -> str | None:
    """One declared licence as a valid SPDX expression, or ``None``."""
    text = declared.strip()
    if not text or len(text) > 500:
        return None
    for candidate in (text, _from_dep5(text)):
        if candidate is None:
            continue
        try:
            parsed = _licensing().parse(candidate, validate=True, strict=True)
        except Exception:  # noqa: BLE001 - any refusal of the parser means "not SPDX"
            continue
        if parsed is not None:
            return str(parsed.render())
    return None


def _from_dep5(text: str) -> str | None:
    """A DEP-5 short name (``GPL-2+``, ``LGPL-2.1``, ``Expat``), or an ``or``/``and`` of them,
    in SPDX terms."""
    words = re.split(r"\s+(or|and)\s+", text, flags=re.IGNORECASE)
    out = []
    for index, word in enumerate(words):
        if index % 2:
            out.append(word.upper())
            continue
        match = _DEP5_NAME.match(word.strip().strip(",;"))
        base = _DEP5.get(match.group("name").lower()) if match else None
        if match is None or base is None:
            return None
        version, plus = match.group("version"), match.group("plus")
        if " " in base:  # Perl: a whole expression
            out.append(f"({base})")
        elif not version and base in _UNVERSIONED:
            out.append(_UNVERSIONED[base])
        elif base in _GNU and version:
            version = version if "." in version else f"{version}.0"
            out.append(f"{base}-{version}-{'or-later' if plus else 'only'}")
        elif base == "GFDL-NIV" and version:
            out.append(f"GFDL-{version}-no-invariants-{'or-later' if plus else 'only'}")
        else:
            out.append(f"{base}-{version}{'+' if plus else ''}" if version else base)
    return " ".join(out)


def spdx_expression(declared: Sequence[str]) -> str | None:
    """The SPDX expression of everything a package declares, joined by ``AND``: what SPDX
    cannot name is kept in it as ``LicenseRef-…`` (an expression that dropped it would
    understate the obligations); ``None`` when SPDX can name none of it."""
    parts = [(_one(text), text) for text in declared if text.strip()]
    if not any(expression for expression, _ in parts):
        return None
    found = list(dict.fromkeys(expression or license_ref(text) for expression, text in parts))
    if len(found) == 1:
        return found[0]
    return " AND ".join(f"({e})" if " " in e else e for e in found)


_REF = re.compile(r"[^A-Za-z0-9.]+")


def license_ref(text: str) -> str:
    """The ``LicenseRef-`` id a licence SPDX cannot name goes by (``permissive`` →
    ``LicenseRef-permissive``)."""
    return f"LicenseRef-{_REF.sub('-', text.strip()).strip('-')[:100] or 'unnamed'}"


def with_expressions(result: FileResult) -> None:
    """Fill in the SPDX expression of each package of a cataloger's result, and of the
    licences a machine-readable (DEP-5) Debian copyright file names; once per file, before
    the layer is cached."""
    for package in result.packages:
        if package.licenses and package.spdx is None:
            package.spdx = spdx_expression(package.licenses)
    named = result.data.get("licenses")
    if named and "spdx" not in result.data and result.data.get("format") == "dep5":
        expression = spdx_expression(named.splitlines())
        if expression is not None:
            result.data["spdx"] = expression
