"""Detect the distribution from os-release, with the older release files as fallbacks."""

from __future__ import annotations

import re

from hullcheck.model import Distro
from hullcheck.sbom.catalogers.osrelease import OS_RELEASE
from hullcheck.sbom.squash import View

_REDHAT = re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")
_REDHAT_IDS = {
    "almalinux": "almalinux",
    "rocky": "rocky",
    "red hat": "rhel",
    "centos": "centos",
    "fedora": "fedora",
}


def detect(view: View) -> Distro | None:
    """The distro of the squashed image, or ``None`` when nothing tells."""
    for path in OS_RELEASE:
        found = view.lookup(path)
        if found is not None and found.top[1].data.get("ID"):
            fields = found.top[1].data
            return Distro(
                id=fields["ID"].lower(),
                version_id=fields.get("VERSION_ID"),
                pretty_name=fields.get("PRETTY_NAME"),
                version_codename=fields.get("VERSION_CODENAME"),
                id_like=tuple(fields.get("ID_LIKE", "").split()),
            )
    return _fallback(view)


def _line(view: View, path: str) -> str | None:
    found = view.lookup(path)
    return found.top[1].data.get("_line") if found is not None else None


def _fallback(view: View) -> Distro | None:
    alpine = _line(view, "/etc/alpine-release")
    if alpine:
        return Distro(id="alpine", version_id=alpine.strip())
    debian = _line(view, "/etc/debian_version")
    if debian:
        major = debian.strip().split(".")[0]
        return Distro(id="debian", version_id=major if major.isdigit() else None)
    redhat = _line(view, "/etc/redhat-release")
    if redhat:
        match = _REDHAT.match(redhat)
        if match:
            name = match.group("name").lower()
            for prefix, distro_id in _REDHAT_IDS.items():
                if name.startswith(prefix):
                    return Distro(id=distro_id, version_id=match.group("version"))
    lsb = view.lookup("/etc/lsb-release")
    if lsb is not None and lsb.top[1].data.get("DISTRIB_ID"):
        data = lsb.top[1].data
        return Distro(id=data["DISTRIB_ID"].lower(), version_id=data.get("DISTRIB_RELEASE"))
    return None
