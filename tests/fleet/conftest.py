"""The fleet every real-engine fleet test shares: started once for the package (three
engines), each test leaving it as it found it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Images
from tests.infra.engine import PrivateEngine
from tests.infra.fleet import laid_out


@pytest.fixture(scope="package")
def fleet(images: Images) -> Iterator[dict[str, PrivateEngine]]:
    yield from laid_out(images)
