"""Paths of the real vulnerability data and small real root trees built from it."""

from __future__ import annotations

import os
import shutil

from hullcheck.store import Store
from hullcheck.vulndb.ecosystems import Query
from hullcheck.vulndb.osv import Affected

HERE = os.path.dirname(__file__)
VULN = os.path.join(HERE, "..", "data", "vuln")
FIXTURES = os.path.join(HERE, "..", "data", "fixtures")

# os-release files the image fixtures write to name the release a real database came from
OS_RELEASE = {
    "ubuntu-18.04": 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="18.04"\nVERSION_CODENAME=bionic\n',
    "alpine-3.18": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.0\n',
    "alpine-3.16": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.2\n',
    "debian-12": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
}


def vuln_path(*parts: str) -> str:
    return os.path.join(VULN, *parts)


def make_rootfs(base: str, release: str, files: dict[str, str]) -> str:
    """``dir:`` reference of a root tree with real package databases and an os-release."""
    root = os.path.join(base, f"root-{release}")
    for target, source in files.items():
        full = os.path.join(root, target.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, full)
        else:
            shutil.copyfile(source, full)
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    with open(os.path.join(root, "etc", "os-release"), "w") as handle:
        handle.write(OS_RELEASE[release])
    return f"dir:{root}"


def all_entries(store: Store, ecosystem: str, name: str, scheme: str) -> list[tuple[str, Affected]]:
    """Every affected entry the index holds for a package (a version-less lookup)."""
    query = Query(ecosystem, name, "0", scheme)
    return store.vulns.candidates([query])[query]
