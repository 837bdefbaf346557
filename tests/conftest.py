"""Shared fixtures: a private Docker Engine, cached test images, an isolated hullcheck home."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine, load_archive, matrix
from tests.infra.images import ImageFactory
from tests.infra.postgres import PrivatePostgres
from tests.infra.vulndata import make_rootfs

pytest_plugins = ["tests.infra.webhook"]  # the ``webhook`` fixture

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "data")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files.")


STORE_ON_ONE_ENGINE = (
    "the store does not depend on the engine: tests that take both run on PostgreSQL with the "
    "first engine of the matrix and on SQLite with every engine"
)


class EngineMatrix:
    """Leaves out the tests marked ``not_on(kind, reason=…)`` on that engine kind and says so
    at the end of the run (an engine that cannot do something is named, never passed
    silently), with the time spent per engine kind (setup, call and teardown: the engines'
    own start and stop with them). A test that takes an engine kind and a store is crossed
    with PostgreSQL on the first engine kind only."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}
        self.not_run: dict[tuple[str, str], int] = {}
        self.seconds: dict[str, float] = {}
        self.tests: dict[str, int] = {}

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept, dropped = [], []
        first = matrix()[0]
        for item in items:
            params = item.callspec.params if hasattr(item, "callspec") else {}
            kind = params.get("engine_kind")
            reasons = [
                str(m.kwargs["reason"]) for m in item.iter_markers("not_on") if kind in m.args
            ]
            if kind not in (None, first) and params.get("store") == "postgres":
                reasons.append(STORE_ON_ONE_ENGINE)
            if reasons:
                dropped.append(item)
                key = (str(kind), reasons[0])
                self.not_run[key] = self.not_run.get(key, 0) + 1
            else:
                kept.append(item)
                if kind is not None:
                    self.kinds[item.nodeid] = str(kind)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        kind = self.kinds.get(report.nodeid)
        if kind is not None:
            self.seconds[kind] = self.seconds.get(kind, 0.0) + report.duration
            self.tests[kind] = self.tests.get(kind, 0) + (report.when == "call")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for (kind, reason), count in sorted(self.not_run.items()):
            terminalreporter.write_line(f"not run on {kind} ({count} tests): {reason}")
        for kind, seconds in self.seconds.items():
            terminalreporter.write_line(
                f"engine {kind}: {self.tests[kind]} tests in {seconds:.0f} s"
            )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(EngineMatrix(), "hullcheck-engine-matrix")


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
def builder() -> Iterator[PrivateEngine]:
    """The Docker 20.10 engine the test images are built in (and saved from, once)."""
    private = PrivateEngine("main")
    private.start()
    yield private
    private.stop()


class Images:
    """Test images by name, built on first use in the builder engine and cached in its data
    root; loaded into any other engine from their saved archives."""

    def __init__(self, factory: ImageFactory, builder: PrivateEngine) -> None:
        self.factory = factory
        self.builder = builder

    @functools.cache  # noqa: B019 - one instance per session
    def tag(self, name: str) -> str:
        return str(getattr(self.factory, name.replace("-", "_"))())

    @functools.cache  # noqa: B019
    def archive(self, name: str) -> str:
        return self.factory.save(self.tag(name))

    def oci(self, name: str, kind: str = "oci", compression: str | None = None) -> str:
        return self.factory.oci(self.tag(name), kind, compression)

    def on(self, engine: PrivateEngine, name: str) -> str:
        """The tag of test image ``name`` in ``engine``, loaded there on first use (every
        engine of the matrix resolves the tag: Podman keeps it as ``localhost/…``)."""
        return self._on(engine.name, engine.host, name)

    @functools.cache  # noqa: B019
    def _on(self, engine: str, host: str, name: str) -> str:
        tag = self.tag(name)
        if engine == self.builder.name:
            return tag
        client = docker.DockerClient(base_url=host, timeout=600)
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            load_archive(client, self.archive(name))
        finally:
            client.close()
        return tag


@pytest.fixture(scope="session")
def images(builder: PrivateEngine) -> Images:
    return Images(ImageFactory(builder.client()), builder)


@pytest.fixture(scope="session", params=matrix())
def engine_kind(request: pytest.FixtureRequest) -> str:
    """Each engine kind of the matrix in turn (``tests.infra.engine.KINDS``); every test that
    talks to an engine depends on it, through ``engine`` or the fleet."""
    return str(request.param)


@pytest.fixture(scope="session")
def engine(engine_kind: str, builder: PrivateEngine) -> Iterator[PrivateEngine]:
    """A private engine of the kind under test (the builder itself for Docker 20.10)."""
    if engine_kind == builder.kind:
        yield builder
        return
    private = PrivateEngine(f"main-{engine_kind}", kind=engine_kind)
    private.start()
    yield private
    private.stop()


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
