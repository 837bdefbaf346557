"""Registries for the tests: one of each kind (open, htpasswd, token) for the session, each
holding the Python test image; tests that spoil a registry make their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Images
from tests.infra.registry import Registry, running_registry

AUTH_KINDS = (None, "basic", "token")


@pytest.fixture(scope="session", params=AUTH_KINDS, ids=["open", "basic", "token"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, images: Images
) -> Iterator[Registry]:
    """A registry of each kind in turn, with ``corp/python:1`` pushed (by skopeo)."""
    directory = tmp_path_factory.mktemp(f"registry-{request.param or 'open'}")
    with running_registry(str(directory), request.param) as started:
        started.push_archive(images.archive("python"), "corp/python", "1")
        yield started


@pytest.fixture
def spoilable(tmp_path_factory: pytest.TempPathFactory, images: Images) -> Iterator[Registry]:
    """An open registry of the test's own, ``corp/python:1`` in it."""
    with running_registry(str(tmp_path_factory.mktemp("registry-own"))) as started:
        started.push_archive(images.archive("python"), "corp/python", "1")
        yield started
