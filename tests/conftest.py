"""Shared fixtures: a private Docker Engine, cached test images, an isolated hullcheck home."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator

import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine
from tests.infra.images import ImageFactory
from tests.infra.postgres import PrivatePostgres
from tests.infra.vulndata import make_rootfs

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "data")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def hc_home(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test gets its own hullcheck home (store, cache) under its tmp dir."""
    home = os.path.join(os.fspath(tmp_path), "hc-home")
    monkeypatch.setenv("HULLCHECK_HOME", home)
    monkeypatch.delenv("HULLCHECK_DB", raising=False)
    monkeypatch.delenv("HULLCHECK_SOCKET", raising=False)  # a developer's daemon stays out
    return home


@pytest.fixture(scope="session")
def engine() -> Iterator[PrivateEngine]:
    private = PrivateEngine("main")
    private.start()
    yield private
    private.stop()


class Images:
    """Test images by name, built on first use and cached in the engine's data root."""

    def __init__(self, factory: ImageFactory) -> None:
        self.factory = factory

    @functools.cache  # noqa: B019 - one instance per session
    def tag(self, name: str) -> str:
        return str(getattr(self.factory, name.replace("-", "_"))())

    @functools.cache  # noqa: B019
    def archive(self, name: str) -> str:
        return self.factory.save(self.tag(name))

    def oci(self, name: str, kind: str = "oci", compression: str | None = None) -> str:
        return self.factory.oci(self.tag(name), kind, compression)


@pytest.fixture(scope="session")
def images(engine: PrivateEngine) -> Images:
    return Images(ImageFactory(engine.client()))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[Store]:
    """A fresh store: an SQLite file in the test's directory, or a new PostgreSQL database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres").database()
    else:
        url = f"sqlite:///{os.path.join(os.fspath(tmp_path), 'hc.db')}"
    opened = api.open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def rootfs(tmp_path: os.PathLike[str]) -> Callable[[str, dict[str, str]], str]:
    """Builds ``dir:`` root trees from real package databases (see ``infra.vulndata``)."""
    return functools.partial(make_rootfs, os.fspath(tmp_path))
