"""The fleet every real-engine fleet test shares: started once for the package (three
engines), each test leaving it as it found it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Images
from tests.infra.engine import PrivateEngine
from tests.infra.fleet import laid_out


@pytest.fixture(scope="package")
def fleet(images: Images, engine_kind: str) -> Iterator[dict[str, PrivateEngine]]:
    """Three engines of the kind under test (each kind of the matrix in turn)."""
    yield from laid_out(images, engine_kind)
