"""Fixtures for the vulnerability tests: a store with real records, small real root trees."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from hullcheck import api
from hullcheck.store import Store

HERE = os.path.dirname(__file__)
VULN = os.path.join(HERE, "..", "data", "vuln")
FIXTURES = os.path.join(HERE, "..", "data", "fixtures")

# os-release files the image fixtures write to name the release a real database came from
OS_RELEASE = {
    "ubuntu-18.04": 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="18.04"\nVERSION_CODENAME=bionic\n',
    "alpine-3.18": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.0\n',
    "alpine-3.16": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.16.2\n',
}


def vuln_path(*parts: str) -> str:
    return os.path.join(VULN, *parts)


@pytest.fixture
def store(tmp_path: os.PathLike[str]) -> Iterator[Store]:
    opened = api.open_store(f"sqlite:///{os.path.join(os.fspath(tmp_path), 'hc.db')}")
    yield opened
    opened.close()


@pytest.fixture
def rootfs(tmp_path: os.PathLike[str]) -> Callable[[str, dict[str, str]], str]:
    """A root tree with real package databases copied in, plus an os-release."""

    def make(release: str, files: dict[str, str]) -> str:
        root = os.path.join(os.fspath(tmp_path), f"root-{release}")
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

    return make
