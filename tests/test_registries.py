"""Every plugin that exists is registered, under a unique kebab-case name."""

from __future__ import annotations

import importlib
import pkgutil
import re

import hullcheck.sbom.catalogers as catalogers_pkg
import hullcheck.sources as sources_pkg
from hullcheck.report import FORMATS
from hullcheck.sbom.catalogers.interface import Cataloger
from hullcheck.sbom.catalogers.registry import CATALOGERS
from hullcheck.sources import SOURCES
from hullcheck.sources.interface import ImageSource, TreeSource

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _subclasses(package: object, base: type) -> set[type]:
    found = set()
    for module in pkgutil.iter_modules(package.__path__):  # type: ignore[attr-defined]
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")  # type: ignore[attr-defined]
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, base)
                and hasattr(value, "name")
                and "name" in vars(value)
            ):
                found.add(value)
    return found


def test_every_cataloger_is_registered() -> None:
    assert _subclasses(catalogers_pkg, Cataloger) == set(CATALOGERS)
    names = [c.name for c in CATALOGERS]
    assert len(set(names)) == len(names) and all(KEBAB.match(n) for n in names)


def test_every_source_is_registered() -> None:
    found = _subclasses(sources_pkg, ImageSource) | _subclasses(sources_pkg, TreeSource)
    assert found == set(SOURCES)


def test_formats_have_unique_names() -> None:
    names = [f.name for f in FORMATS]
    assert len(set(names)) == len(names) and all(KEBAB.match(n) for n in names)


def test_scan_formats_have_unique_names() -> None:
    from hullcheck.report.registry import scan_formats

    names = [f.name for f in scan_formats()]
    assert len(set(names)) == len(names) and all(KEBAB.match(n) for n in names)
    assert set(names) == {"table", "json", "cyclonedx-json", "sarif"}


def test_every_ecosystem_has_a_registered_version_scheme() -> None:
    from hullcheck.vulndb.ecosystems import ECOSYSTEMS
    from hullcheck.vulndb.versions import SCHEMES

    schemes = {s.name for s in SCHEMES}
    assert {e.scheme for e in ECOSYSTEMS} <= schemes
    names = [e.name for e in ECOSYSTEMS]
    assert len(set(names)) == len(names)
