"""Each cataloger on real package databases (tests/data/fixtures, see its README)."""

from __future__ import annotations

import os

import pytest
from debian.deb822 import Deb822

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.apk import ApkCataloger
from hullcheck.sbom.catalogers.deb822 import iter_stanzas
from hullcheck.sbom.catalogers.dpkg import DpkgCataloger
from hullcheck.sbom.catalogers.interface import ParseContext, ParseError
from hullcheck.sbom.catalogers.java import JavaArchiveCataloger
from hullcheck.sbom.catalogers.npm import NpmCataloger
from hullcheck.sbom.catalogers.python import PythonCataloger
from hullcheck.sbom.catalogers.registry import default_selector
from hullcheck.sbom.catalogers.rpm import RpmCataloger

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")
CTX = ParseContext(interesting=default_selector().interesting)


def read(*parts: str) -> bytes:
    with open(os.path.join(FIXTURES, *parts), "rb") as handle:
        return handle.read()


def by_name(packages: list, name: str):  # type: ignore[no-untyped-def]
    return next(p for p in packages if p.name == name)


def test_dpkg_status_debian_12_lists_every_installed_package() -> None:
    data = read("dpkg", "debian-12-buildhost_var_lib_dpkg_status")
    result = DpkgCataloger().parse("/var/lib/dpkg/status", data, CTX)
    installed = [
        s
        for s in Deb822.iter_paragraphs(data.decode())
        if s.get("Status", "").endswith(" installed")
    ]
    assert len(result.packages) == len(installed)
    libc = by_name(result.packages, "libc6")
    assert libc.source_name == "glibc"
    assert libc.type is PackageType.DEB


def test_dpkg_depends_and_provides_for_the_graph() -> None:
    data = read("dpkg", "debian-12-buildhost_var_lib_dpkg_status")
    packages = DpkgCataloger().parse("/var/lib/dpkg/status", data, CTX).packages
    apt = by_name(packages, "apt")
    # "Depends: adduser, gpgv | gpgv2 | gpgv1, libapt-pkg6.0 (>= 2.6.1), …"
    assert "gpgv|gpgv2|gpgv1" in apt.requires and "libapt-pkg6.0" in apt.requires
    assert all("(" not in r and ":" not in r for p in packages for r in p.requires)


@pytest.mark.parametrize(
    ("name", "licences", "expression"),
    [
        # DEP-5: the short names of the Files paragraphs, in SPDX terms
        (
            "apt",
            ("GPL-2+", "GPL-2", "BSD-3-clause", "Expat"),
            "GPL-2.0-or-later AND GPL-2.0-only AND BSD-3-Clause AND MIT",
        ),
        # free-form: the common-licenses it points at; "or later" unsaid, so no expression
        ("libc6", ("LGPL-2.1", "GPL-2"), None),
    ],
)
def test_debian_copyright_files(
    name: str, licences: tuple[str, ...], expression: str | None
) -> None:
    from hullcheck.sbom.catalogers.debcopyright import DebCopyrightCataloger
    from hullcheck.sbom.licenses import with_expressions

    path = f"/usr/share/doc/{name}/copyright"
    cataloger = DebCopyrightCataloger()
    assert cataloger.selects(path) and not cataloger.selects("/usr/share/doc/apt/x/copyright")
    result = cataloger.parse(path, read("dpkg", f"debian-12_usr_share_doc_{name}_copyright"), CTX)
    with_expressions(result)
    assert result.data["package"] == name
    assert tuple(result.data["licenses"].splitlines()) == licences
    assert result.data.get("spdx") == expression


def test_dpkg_skips_removed_packages_keeping_config_files() -> None:
    data = read("dpkg", "ubuntu-18.04_var_lib_dpkg_status")
    names = {p.name for p in DpkgCataloger().parse("/var/lib/dpkg/status", data, CTX).packages}
    assert "git" not in names  # Status: deinstall ok config-files
    assert len(names) == 90


def test_dpkg_source_with_version_is_split() -> None:
    data = read("dpkg", "debian-12-buildhost_var_lib_dpkg_status")
    packages = DpkgCataloger().parse("/var/lib/dpkg/status", data, CTX).packages
    with_version = [p for p in packages if p.source_version is not None]
    assert with_version, "the build host has binNMU'd packages with Source: name (version)"
    for package in with_version:
        assert " " not in (package.source_name or "")
        assert package.source_version != package.version


def test_dpkg_distroless_status_d_and_md5sums() -> None:
    cataloger = DpkgCataloger()
    base = "/var/lib/dpkg/status.d/"
    assert cataloger.selects(base + "libsqlite3-0")
    stanza = cataloger.parse(
        base + "libsqlite3-0", read("dpkg", "distroless_status.d", "libsqlite3-0"), CTX
    )
    (package,) = stanza.packages
    assert (package.name, package.version, package.source_name, package.arch) == (
        "libsqlite3-0",
        "3.34.1-3",
        "sqlite3",
        "arm64",
    )


def test_deb822_reader_agrees_with_python_debian() -> None:
    for name in (
        "debian-12-buildhost_var_lib_dpkg_status",
        "ubuntu-18.04_var_lib_dpkg_status",
        "claircore_vcpkg.status",
    ):
        text = read("dpkg", name).decode()
        ours = list(iter_stanzas(text))
        theirs = list(Deb822.iter_paragraphs(text))
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            for key in ("Package", "Version", "Source", "Status", "Architecture"):
                assert mine.get(key) == reference.get(key)


def test_apk_alpine_318() -> None:
    result = ApkCataloger().parse(
        "/lib/apk/db/installed", read("apk", "alpine-3.18_lib_apk_db_installed"), CTX
    )
    assert len(result.packages) == 15
    musl = by_name(result.packages, "musl")
    assert (musl.version, musl.source_name, musl.arch) == ("1.2.4-r0", "musl", "x86_64")
    ssl = by_name(result.packages, "libssl3")
    assert (ssl.version, ssl.source_name) == ("3.1.0-r4", "openssl")


def test_apk_garbage_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        ApkCataloger().parse("/lib/apk/db/installed", b"this is not\nan apk database\n", CTX)


@pytest.mark.parametrize(
    ("name", "count", "package", "version", "source"),
    [
        ("cbl-mariner-2.0_rpmdb.sqlite", 129, "audit-libs", "3.0.6-1.cm2", "audit"),
        ("sle15-bci_Packages.db", 35, "filesystem", "15.0-11.3.2", "filesystem"),
        ("libuuid_Packages.bdb", 1, "libuuid", "2.32.1-42.el8_8", "util-linux"),
    ],
)
def test_rpm_all_three_database_formats(
    name: str, count: int, package: str, version: str, source: str
) -> None:
    result = RpmCataloger().parse("/var/lib/rpm/Packages", read("rpm", name), CTX)
    assert len(result.packages) == count
    found = by_name(result.packages, package)
    assert (found.version, found.source_name) == (version, source)
    assert result.warnings == []


def test_rpm_truncated_database_is_a_parse_error() -> None:
    data = read("rpm", "sle15-bci_Packages.db")
    with pytest.raises(ParseError):
        list(RpmCataloger().parse("/var/lib/rpm/Packages.db", data[: len(data) // 3], CTX).packages)


def test_rpm_owned_python_files_are_reported() -> None:
    selector = default_selector()
    result = RpmCataloger().parse(
        "/var/lib/rpm/rpmdb.sqlite",
        read("rpm", "cbl-mariner-2.0_rpmdb.sqlite"),
        ParseContext(interesting=selector.interesting),
    )
    assert all(selector.interesting(path) for path in result.owned)


@pytest.mark.parametrize(
    ("directory", "name", "version"),
    [
        ("requests-2.34.2.dist-info", "requests", "2.34.2"),
        ("debian-python3-yaml_PyYAML-6.0.dist-info", "PyYAML", "6.0"),
        ("flask-3.1.3.dist-info", "Flask", "3.1.3"),
    ],
)
def test_python_dist_info(directory: str, name: str, version: str) -> None:
    result = PythonCataloger().parse(
        f"/x/{directory}/METADATA", read("python", directory, "METADATA"), CTX
    )
    (package,) = result.packages
    assert (package.name, package.version) == (name, version)


def test_python_egg_info() -> None:
    result = PythonCataloger().parse(
        "/x/setuptools.egg-info/PKG-INFO", read("python", "osv-scalibr_egginfo_PKG-INFO"), CTX
    )
    assert [(p.name, p.version) for p in result.packages] == [("setuptools", "57.4.0")]


def test_python_selects_only_metadata_in_dist_info() -> None:
    cataloger = PythonCataloger()
    assert cataloger.selects("/usr/lib/python3/dist-packages/yaml-6.0.dist-info/METADATA")
    assert not cataloger.selects("/usr/share/doc/METADATA")


def test_npm_installed_package_json() -> None:
    cataloger = NpmCataloger()
    path = "/app/node_modules/semver/package.json"
    assert cataloger.selects(path)
    assert not cataloger.selects("/app/node_modules/semver/lib/package.json")
    assert cataloger.selects("/app/node_modules/@babel/core/package.json")
    (package,) = cataloger.parse(
        path, read("npm", "node_modules", "semver", "package.json"), CTX
    ).packages
    assert package.name == "semver" and package.type is PackageType.NPM


def test_java_archive_reads_pom_properties() -> None:
    jar = "/usr/share/java/commons-lang3.jar"
    if not os.path.exists(jar):
        pytest.fail("CI installs libcommons-lang3-java; run .ci/run or apt-get install it")
    with open(jar, "rb") as handle:
        result = JavaArchiveCataloger().parse("/opt/commons-lang3.jar", handle.read(), CTX)
    (package,) = result.packages
    assert (package.namespace, package.name, package.version) == (
        "org.apache.commons",
        "commons-lang3",
        "3.12.0",
    )


def test_python_requires_dist_names() -> None:
    data = read("python", "flask-3.1.3.dist-info", "METADATA")
    path = "/usr/lib/python3/dist-packages/flask-3.1.3.dist-info/METADATA"
    (flask,) = PythonCataloger().parse(path, data, CTX).packages
    # "Requires-Dist: blinker>=1.9.0", …, "asgiref>=3.2 ; extra == \"async\""
    assert flask.requires[:2] == ["blinker", "click"] and "asgiref" in flask.requires
