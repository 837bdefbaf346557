"""Licences of Debian packages, from ``/usr/share/doc/PACKAGE/copyright``.

dpkg's database records no licence. Each package ships a copyright file: in the
machine-readable DEP-5 format (``Format: https://www.debian.org/doc/packaging-manuals/
copyright-format/1.0/``) its ``License:`` fields name the licences by short name; older
free-form files point at ``/usr/share/common-licenses/NAME``. Both are read, as Syft reads
them; the licences are joined to the package of the directory's name when the SBOM is
assembled, or — the directory being a link (``libstdc++6 -> gcc-12-base``) — to the packages
built from the same source as a package that has one.
"""

from __future__ import annotations

import re

from hullcheck.sbom.catalogers.deb822 import iter_stanzas
from hullcheck.sbom.catalogers.interface import Cataloger, FileResult, ParseContext

DOC = "/usr/share/doc/"
_COMMON = re.compile(r"/usr/share/common-licenses/([A-Za-z0-9][A-Za-z0-9_.+-]*[A-Za-z0-9+])")
_NOT_LICENCES = frozenset({"none", "unknown"})


class DebCopyrightCataloger(Cataloger):
    """Reads the licence names of one Debian package's copyright file."""

    name = "deb-copyright"
    version = "1"
    basenames = frozenset({"copyright"})
    max_bytes = 4 * 1024 * 1024

    def selects(self, path: str) -> bool:
        return path.startswith(DOC) and path.count("/") == 5  # /usr/share/doc/PKG/copyright

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        text = data.decode("utf-8", errors="replace")
        machine_readable = text.startswith("Format:")
        found = _dep5(text) if machine_readable else []
        if not found:
            # a free-form file: the licence texts it points at, whose names do not say
            # whether "or any later version" was granted (no SPDX expression is made)
            machine_readable = False
            found = list(dict.fromkeys(_COMMON.findall(text)))
        result = FileResult(self.name)
        if found:
            result.data = {"package": path.split("/")[4], "licenses": "\n".join(found)}
            if machine_readable:
                result.data["format"] = "dep5"
        return result


def _dep5(text: str) -> list[str]:
    """The licence names of the ``Files`` paragraphs, in order, each once."""
    names: list[str] = []
    for stanza in iter_stanzas(text):
        if "Files" not in stanza or not stanza.get("License"):
            continue
        name = stanza["License"].splitlines()[0].strip()
        if name and name.lower() not in _NOT_LICENCES and name not in names:
            names.append(name)
    return names
