"""Distribution facts: os-release and the older release files used as fallbacks."""

from __future__ import annotations

import shlex

from hullcheck.sbom.catalogers.interface import Cataloger, FileResult, ParseContext, ParseError

OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
FALLBACKS = (
    "/etc/alpine-release",
    "/etc/debian_version",
    "/etc/redhat-release",
    "/etc/lsb-release",
)


class OsReleaseCataloger(Cataloger):
    """Not a package cataloger: records the fields distro detection needs."""

    name = "os-release"
    version = "1"
    exact_paths = frozenset(OS_RELEASE + FALLBACKS)
    max_bytes = 256 * 1024

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        text = data.decode("utf-8", errors="replace")
        if path in OS_RELEASE or path == "/etc/lsb-release":
            return FileResult(self.name, data=_assignments(text))
        first = text.strip().splitlines()[0] if text.strip() else ""
        if not first:
            raise ParseError("empty release file")
        return FileResult(self.name, data={"_line": first})


def _assignments(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        fields[key.strip()] = " ".join(words)
    return fields
